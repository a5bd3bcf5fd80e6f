"""The READMEs as a new student reads them: their snippets run as pasted, their commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from micrograd_tw.__main__ import main
from micrograd_tw.viz import find_renderer

ROOT = Path(__file__).resolve().parents[1]
READMES = ["README.md", "README.zh-TW.md"]
ZH_DOCS = ["README.zh-TW.md", "docs/property-testing.zh-TW.md"]
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is Python 3.11+


def extra(name: str) -> str:
    """The line of pyproject.toml that lists the extra ``name``."""
    return next(line for line in PYPROJECT.splitlines() if line.startswith(f"{name} = ["))


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.parametrize("readme", READMES)
def test_python_snippets_run_as_pasted(readme, tmp_path, monkeypatch, capsys):
    # A snippet that starts with an import stands alone, in a fresh namespace, as pasted
    # into a new file; any other one goes on from the snippets before it, as in one notebook.
    pytest.importorskip("hypothesis")  # the property-testing snippet imports it
    if find_renderer() is None:
        pytest.skip("neither Graphviz's dot nor graphviz-pure is installed")
    monkeypatch.chdir(tmp_path)
    snippets = blocks((ROOT / readme).read_text(encoding="utf-8"), "python")
    assert len(snippets) >= 4
    namespace: dict = {}
    for code in snippets:
        if re.match(r"(import|from) ", code):
            namespace = {"__name__": "__readme__"}
        exec(compile(code, f"{readme} snippet", "exec"), namespace)  # noqa: S102 - our own README
    capsys.readouterr()
    assert (tmp_path / "graph.svg").read_text(encoding="utf-8").count("<svg") == 1  # how to save a picture
    assert not (tmp_path / "graph").exists()  # cleanup=True removed the DOT source


@pytest.mark.parametrize("readme", READMES)
def test_quick_start_makes_a_virtual_environment_and_opens_the_notebooks(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    start = text.index("```bash\npython3 -m venv .venv\nsource .venv/bin/activate")
    assert start < text.index('pip install -e ".[notebook]" && jupyter lab notebooks/')
    assert start < text.index('pip install -e ".[examples]"')
    oldest = re.search(r'^requires-python = ">=([\d.]+)"', PYPROJECT, flags=re.M).group(1)
    assert f"Python {oldest}" in text
    for package in ("jupyterlab", "ipywidgets", "matplotlib"):
        assert f'"{package}>=' in extra("notebook")


def test_the_testing_extra_is_installed_the_same_way_everywhere():
    assert '"hypothesis>=' in extra("testing")
    for doc in [*READMES, "docs/property-testing.md", "docs/property-testing.zh-TW.md"]:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert 'pip install -e ".[testing]"' in text, doc
        assert "pip install hypothesis" not in text and '"micrograd-tw[testing]"' not in text, doc


def help_options(capsys, *args: str) -> list[list[str]]:
    """Each option of ``micrograd-tw ARGS --help`` as its aliases, -h/--help left out."""
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    text = capsys.readouterr().out
    options = []
    for line in text.split("options:", 1)[1].splitlines():
        names = re.findall(r"(?:^|, )(-{1,2}[a-z][\w-]*)", line.strip())
        if line.startswith("  -") and names and "--help" not in names:
            options.append(names)
    return options


@pytest.mark.parametrize("readme", READMES)
def test_cli_synopsis_lists_every_option(readme, capsys):
    text = (ROOT / readme).read_text(encoding="utf-8")
    section = text.split("```\npython -m micrograd_tw demo", 1)[1].split("```", 1)[0]
    lines = ("python -m micrograd_tw demo" + section).splitlines()
    commands = {"": "\n".join(lines)}
    for command in ("demo", "graph", "gradcheck"):
        prefix = f"python -m micrograd_tw {command} "
        commands[command] = next(line for line in lines if line.startswith(prefix))
        for aliases in help_options(capsys, command):
            assert any(re.search(rf"\[{a}\b", commands[command]) for a in aliases), (command, aliases)
    for aliases in help_options(capsys):  # options before the command: --version
        assert any(a in commands[""] for a in aliases), aliases


def test_zh_tw_texts_use_the_course_terms():
    for doc in ZH_DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for wrong in ("拉桿", "折點", "repository 的 clone", "exit code 為", "Exit code",
                      "不帶 closure", "靠 reference counting", "− 數值|"):
            assert wrong not in text, (doc, wrong)
    readme = (ROOT / "README.zh-TW.md").read_text(encoding="utf-8")
    assert "學習率" in readme and "均方誤差" in readme and "滑桿" in readme
    first = blocks(readme, "python")[0]
    comments = [line.split("# ", 1)[1] for line in first.splitlines() if "# " in line]
    assert all(re.search(r"[\u4e00-\u9fff]", c) or re.fullmatch(r"[\w/ =.-]+", c) for c in comments), comments


def test_english_texts_say_the_course_terms_and_sqrt_right():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "learning rate η" in readme and "mean squared error (MSE)" in readme
    assert "shade_grad=True" in readme and "white to red by |grad|" in readme
    guide = (ROOT / "docs/property-testing.md").read_text(encoding="utf-8")
    assert "`log`, `sqrt` and `1/x` blow up" not in guide and "`sqrt(0)` itself is 0" in guide
