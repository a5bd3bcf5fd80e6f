"""Every example runs (with tiny STEPS) and writes valid pictures; the notebook executes headless."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd_tw.viz import find_renderer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 300  # a guard against a hang, not a speed check
HAVE_RENDERER = find_renderer() is not None  # Graphviz's dot, or graphviz-pure
# Run a script with neither Graphviz's dot (the PATH it gets) nor graphviz-pure.
WITHOUT_RENDERER = (
    "import runpy, sys; from micrograd_tw import viz; viz.PURE_PROGRAM = 'no-such-graphviz-pure'; "
    "sys.argv = sys.argv[1:]; "
)

# example -> (STEPS for the test, the pictures it writes)
RUNS = {
    "function_learner": (5, ["function_learner.png"]),
    "gradient_descent": (3, ["gradient_descent.png"]),
    "activations": (11, ["activations.png"]),
    "softmax_classifier": (3, ["softmax_classifier.png"]),
    "moons": (3, ["moons.png"]),
    "graph_tour": (1, ["graph_before", "graph_after", "network"]),  # .svg, or .dot without Graphviz
    "define_op": (3, ["define_op"]),
    "names_generator": (20, ["names_bigram.png", "names_loss.png"]),
    "digit_generator": (20, ["digits_reconstructed.png", "digits_generated.png"]),
}


def run_example(name: str, steps: int, out: Path, env: dict | None = None,
                renderer: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "STEPS": str(steps), "OUT": str(out), "MPLBACKEND": "Agg", **(env or {})}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    script = str(EXAMPLES / f"{name}.py")
    no_renderer = ["-c", WITHOUT_RENDERER + "runpy.run_path(sys.argv[0], run_name='__main__')"]
    return subprocess.run(
        [sys.executable, *([] if renderer else no_renderer), script],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=TIMEOUT,
    )


def assert_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    pixels = matplotlib.image.imread(path)  # decodes the whole file
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.01, f"{path} is blank"


def assert_svg(path: Path) -> None:
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 10, f"{path} draws almost nothing"


def listed_examples(root: Path) -> set[str]:
    """The example files that a README's table links to, in both READMEs."""
    names = set()
    for readme in ("README.md", "README.zh-TW.md"):
        text = (root / readme).read_text(encoding="utf-8")
        names |= set(re.findall(r"\(examples/([^)/]+\.(?:py|ipynb))\)", text))
    return names


def check_listed_examples(root: Path) -> None:
    """What the READMEs list exists and is run here; other files in examples/ are the user's."""
    listed = listed_examples(root)
    assert {f"{name}.py" for name in RUNS} | {"interactive.ipynb"} == listed
    for name in listed:
        assert (root / "examples" / name).is_file(), name


def test_every_listed_example_exists_and_is_run():
    check_listed_examples(ROOT)


def test_a_users_copy_of_an_example_or_a_notebook_run_breaks_no_test(tmp_path):
    # Natural actions: copy an example to try changes, run the notebook with nbconvert.
    for readme in ("README.md", "README.zh-TW.md"):
        shutil.copy(ROOT / readme, tmp_path / readme)
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("out", "__pycache__"))
    shutil.copy(EXAMPLES / "moons.py", tmp_path / "examples" / "my_moons.py")
    shutil.copy(EXAMPLES / "interactive.ipynb", tmp_path / "examples" / "interactive.nbconvert.ipynb")
    check_listed_examples(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_generated_files_are_ignored_by_git():
    for generated in ("examples/interactive.nbconvert.ipynb", "examples/out/moons.png"):
        r = subprocess.run(["git", "check-ignore", "-q", generated], cwd=ROOT, capture_output=True)
        assert r.returncode == 0, f"{generated} is not ignored"


@pytest.mark.parametrize("name", list(RUNS))
def test_example_runs_and_writes_pictures(name, tmp_path):
    steps, pictures = RUNS[name]
    r = run_example(name, steps, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrote" in r.stdout
    for picture in pictures:
        if picture.endswith(".png"):
            assert_png(tmp_path / picture)
        elif HAVE_RENDERER:
            assert_svg(tmp_path / f"{picture}.svg")
        else:
            assert (tmp_path / f"{picture}.dot").read_text(encoding="utf-8").lstrip().startswith("digraph")


def test_example_docstrings_say_how_to_run():
    for name in RUNS:
        doc = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8").split('"""')[1]
        assert f"python examples/{name}.py" in doc, name


def test_graph_tour_without_graphviz_writes_dot(tmp_path):
    # A PATH without Graphviz; the interpreter is called by its full path.
    r = run_example("graph_tour", 1, tmp_path, env={"PATH": str(tmp_path)}, renderer=False)
    assert r.returncode == 0, r.stderr
    assert "install Graphviz" in r.stdout
    for picture in RUNS["graph_tour"][1]:
        assert (tmp_path / f"{picture}.dot").read_text(encoding="utf-8").lstrip().startswith("digraph")


def test_notebook_executes_headless():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXAMPLES / "interactive.ipynb", as_version=4)
    # The kernel starts in the checkout, so it imports this micrograd_tw.
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell (the notebook asserts its results)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # the neuron and two descents, drawn by the direct calls
    texts = "".join(o.get("text", "") for o in outputs)
    assert "∂y/∂w" in texts


# ---------------------------------------------------------------- demo


def run_demo(out: Path, *args: str, env: dict | None = None,
             renderer: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    no_renderer = ["-c", WITHOUT_RENDERER + "runpy.run_module('micrograd_tw', run_name='__main__')", "-"]
    return subprocess.run(
        [sys.executable, *(no_renderer if not renderer else ["-m", "micrograd_tw"]),
         "demo", "--steps", "5", "--out", str(out), *args],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=TIMEOUT,
    )


@pytest.mark.skipif(not HAVE_RENDERER, reason="neither Graphviz's dot nor graphviz-pure is installed")
def test_demo_writes_graph_network_and_loss_curve(tmp_path):
    r = run_demo(tmp_path / "demo")
    assert r.returncode == 0, r.stderr
    for name in ("graph.svg", "network.svg"):
        assert_svg(tmp_path / "demo" / name)
        assert str(tmp_path / "demo" / name) in r.stdout  # it says where they are
    assert_png(tmp_path / "demo" / "loss.png")
    summary = next(line for line in r.stdout.splitlines() if " → " in line)  # "loss 0.1088 → 0.0674"
    first, last = summary.removeprefix("loss ").split(" → ")
    assert float(last) < float(first)  # five steps of gradient descent lowered L(θ)


def test_demo_without_graphviz_writes_dot_with_a_hint(tmp_path):
    r = run_demo(tmp_path / "demo", env={"PATH": str(tmp_path)}, renderer=False)
    assert r.returncode == 0, r.stderr
    for name in ("graph.dot", "network.dot"):
        assert (tmp_path / "demo" / name).read_text(encoding="utf-8").lstrip().startswith("digraph")
    assert "install Graphviz" in r.stdout


def test_demo_without_matplotlib_writes_csv(tmp_path, monkeypatch, capsys):
    from micrograd_tw.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["demo", "--steps", "3", "--out", str(tmp_path)]) == 0
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss" and len(rows) == 4
    assert "pip install matplotlib" in capsys.readouterr().err


# ---------------------------------------------------------------- READMEs


@pytest.mark.parametrize("readme", ["README.md", "README.zh-TW.md"])
def test_readme_quick_start_and_usage_example(readme, capsys):
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert 'pip install -e ".[dev]" && pytest' in text  # CI runs this exact command
    assert 'pip install -e ".[examples]" && python -m micrograd_tw demo' in text
    # The usage example prints what its comments say.
    code = text.split("```python\nimport micrograd_tw as mg\n", 1)[1].split("```", 1)[0]
    exec("import micrograd_tw as mg\n" + code, {})  # noqa: S102 - our own README
    printed = capsys.readouterr().out.splitlines()
    promised = [line.split("# ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert printed == promised and len(promised) == 3


@pytest.mark.parametrize("readme", ["README.md", "README.zh-TW.md"])
def test_readme_links_every_example(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    for example in [*(f"{name}.py" for name in RUNS), "interactive.ipynb"]:
        assert f"(examples/{example})" in text


@pytest.mark.parametrize("readme", ["README.md", "README.zh-TW.md"])
def test_readme_pictures_exist(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(pictures) >= 3  # a graph after backward, a network diagram, a decision boundary
    for path in pictures:
        assert (ROOT / path).is_file(), path
