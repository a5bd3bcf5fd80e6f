"""The course notebooks run top to bottom and still print what is stored in them.

Each notebook is re-executed in a fresh kernel (notebooks/build.py does the work) and
its text outputs are compared with the stored ones, so a change in the library that
changes what a student reads fails here until `python notebooks/build.py` is run again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

_spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
assert _spec and _spec.loader
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

# One notebook per chapter of the course notes, in the notes' order, then the two generators.
CHAPTERS = [
    "01_jupyter_plotting", "02_softmax", "03_neuron", "04_function_learner",
    "05_gradient_descent", "06_backprop", "07_classifier",
    "08_names_generator", "09_digit_generator",
]


def outputs(nb) -> list:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def test_one_notebook_per_chapter():
    assert [p.stem for p in build.notebooks()] == CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_is_stored_with_its_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "stored without running every cell"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "not run top to bottom"
    pictures = [o for o in outputs(nb) if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
    assert pictures, "the pictures should show where the notebook is browsed"
    # Written in Traditional Chinese: the title and the printouts.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in nb.cells[0].source)
    assert any("\u4e00" <= ch <= "\u9fff" for o in outputs(nb) for ch in o.get("text", ""))


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_reexecutes_to_its_stored_outputs(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    fresh = build.execute(path)  # raises on any failing cell (the notebooks assert their own results)
    diff = build.differences(nbformat.read(path, as_version=4), fresh)
    hint = f"{name}: run `python notebooks/build.py {name}` if this change is intended"
    assert not diff, hint + "\n" + "\n".join(diff)
    for out in outputs(fresh):
        assert out.output_type != "error"
        text = out.get("text", "")
        assert "missing from font" not in text, text  # Chinese (and ₁ ∂ η) render without tofu boxes


def widget_states(nb) -> list[dict]:
    """The stored state of every widget the notebook displayed (what nbviewer draws)."""
    stored = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = stored.get("state", {}).values()
    return [model["state"] | {"model_name": model["model_name"]} for model in models]


@pytest.mark.parametrize(("name", "sliders"), [
    ("06_backprop", {"步數"}),  # the step-through player (in zh-TW, as the notebooks set): its slider
    ("08_names_generator", {"溫度 T"}),
    ("09_digit_generator", {"z₁", "z₂"}),
])
def test_widgets_are_stored_with_what_they_show(name, sliders):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    states = widget_states(nb)
    slider_models = ("IntSliderModel", "FloatSliderModel")
    described = {s.get("description") for s in states if s["model_name"] in slider_models}
    assert sliders <= described, described
    if name == "06_backprop":
        assert any(s["model_name"] == "PlayModel" for s in states)
        assert any("<svg" in s.get("value", "") for s in states if s["model_name"] == "HTMLModel"), "no frame"
    else:  # interact's output: the names written, or the digit drawn at (z₁, z₂)
        shown = [o for s in states if s["model_name"] == "OutputModel" for o in s.get("outputs", [])]
        kind = "image/png" if name == "09_digit_generator" else "text"
        assert any(kind in o.get("data", {}) or kind in o for o in shown), shown


def test_check_catches_a_changed_output_and_ignores_addresses_and_timings():
    def notebook(*texts: str, tags: tuple[str, ...] = ()):
        nb = nbformat.v4.new_notebook()
        for text in texts:
            cell = nbformat.v4.new_code_cell("print(...)")
            cell.metadata["tags"] = list(tags)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=piece)
                            for piece in text.split("|")]  # "|" splits a stream the way flushes do
            nb.cells.append(cell)
        return nb

    same = ["<graphviz.graphs.Digraph at 0x7f3a2c1d5e10>",
            "559 ns ± 13 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)", "ab|c"]
    again = ["<micrograd_tw.viz.Digraph at 0x7f00000000aa>",
             "The slowest run took 5.31 times longer than the fastest. This could mean that an intermediate "
             "result is being cached.\n"
             "1.2 µs ± 40 ns per loop (mean ± std. dev. of 3 runs, 10,000 loops each)",
             "a|bc"]
    assert build.differences(notebook(*same), notebook(*again)) == []
    changed = build.differences(notebook("L(θ) = 0.1330"), notebook("L(θ) = 0.1331"))
    assert changed and any("-[stdout] L(θ) = 0.1330" in line for line in changed)
    varies = (build.VARIES,)
    assert build.differences(notebook("pip 23", tags=varies), notebook("pip 24", tags=varies)) == []


SETUP_RUNNER = textwrap.dedent("""
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell

    sys.modules["micrograd_tw"] = None  # as if the package were not installed
    shell = InteractiveShell.instance()
    installs = []

    def fake_pip(line):  # records the install instead of running pip; the package then imports
        installs.append(line)
        del sys.modules["micrograd_tw"]

    shell.register_magic_function(fake_pip, "line", "pip")
    # no inline backend outside a kernel
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    result = shell.run_cell(sys.stdin.read())
    where = shell.user_ns["mg"].__file__ if "mg" in shell.user_ns else None
    print(json.dumps({"installs": installs, "error": type(result.error_in_exec).__name__, "from": where}))
""")


@pytest.mark.parametrize("where", ["clone", "elsewhere"])
def test_first_cell_installs_from_the_clone_or_says_how(where, tmp_path):
    nb = nbformat.read(NOTEBOOKS / f"{CHAPTERS[0]}.ipynb", as_version=4)
    setup = next(cell.source for cell in nb.cells if cell.cell_type == "code")
    for other in build.notebooks():  # every notebook starts with the same first cell
        first = next(c for c in nbformat.read(other, as_version=4).cells if c.cell_type == "code")
        assert first.source == setup, other.name
    cwd = NOTEBOOKS if where == "clone" else tmp_path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", SETUP_RUNNER], input=setup, cwd=cwd, capture_output=True,
                       text=True, encoding="utf-8", timeout=120, env=env)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    if where == "clone":
        # installed from the clone (with matplotlib and ipywidgets) and imported from it at once
        expected = {"installs": ['install -q -e "..[examples]"'], "error": "NoneType",
                    "from": str(ROOT / "micrograd_tw" / "__init__.py")}
        assert report == expected, r.stdout + r.stderr
    else:
        assert report == {"installs": [], "error": "ModuleNotFoundError", "from": None}
        assert "找不到 micrograd_tw" in r.stdout and 'pip install -e ".[examples]"' in r.stdout


@pytest.mark.parametrize("readme", ["README.md", "README.zh-TW.md"])
def test_readme_lists_every_notebook(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    heading = "## Notebooks" if readme == "README.md" else "## 筆記本（Notebooks）"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    for name in CHAPTERS:
        assert f"(notebooks/{name}.ipynb)" in section, name
