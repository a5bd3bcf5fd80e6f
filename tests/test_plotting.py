"""mg.plotting: Chinese in matplotlib, and example scripts in a notebook (%run) and on any console."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import micrograd_tw as mg
from micrograd_tw import plotting

matplotlib = pytest.importorskip("matplotlib")
from matplotlib import font_manager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 300  # a guard against a hang, not a speed check


def glyph_warnings(title: str) -> list[str]:
    """The missing-glyph warnings matplotlib gives when it draws ``title``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        ax.set_title(title)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
    finally:
        plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def has_cjk_font() -> bool:
    return any("CJK" in e.name or e.name in plotting.CJK_FONTS for e in font_manager.fontManager.ttflist)


@pytest.fixture
def rc():
    with matplotlib.rc_context():  # every rcParam use_cjk_font sets is put back after the test
        matplotlib.use("Agg")
        yield matplotlib.rcParams


@pytest.mark.skipif(not has_cjk_font() and not os.environ.get("CI"), reason="no CJK font installed")
def test_use_cjk_font_draws_chinese_titles_without_missing_glyphs(rc):
    title = "損失函數 L(θ)"
    assert glyph_warnings(title)  # matplotlib's default font has no 損: the check can fail
    name = mg.plotting.use_cjk_font()
    assert name is not None and name in font_manager.get_font_names()
    assert rc["font.sans-serif"][0] == name and "DejaVu Sans" in rc["font.sans-serif"]  # fallbacks kept
    assert glyph_warnings(title) == []
    assert glyph_warnings("學習率 η、隱藏層、均方誤差、∂L/∂w") == []


def test_use_cjk_font_prefers_traditional_chinese_fonts():
    # The ranking: a listed Traditional Chinese font beats any other font that covers the sample.
    assert plotting.CJK_FONTS.index("Noto Sans CJK TC") < plotting.CJK_FONTS.index("Noto Sans CJK JP")
    assert all(ch in plotting.SAMPLE for ch in "損失函數")
    if any(e.name == "Noto Sans CJK TC" for e in font_manager.fontManager.ttflist):
        with matplotlib.rc_context():
            assert mg.plotting.use_cjk_font() == "Noto Sans CJK TC"


def test_use_cjk_font_without_one_warns_once_and_returns_none(rc, monkeypatch):
    latin = [e for e in font_manager.fontManager.ttflist if e.name.startswith("DejaVu")]
    assert latin
    monkeypatch.setattr(font_manager.fontManager, "ttflist", latin)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.setattr(plotting, "_warned", False)
    monkeypatch.setattr(sys, "platform", "linux")
    before = list(rc["font.sans-serif"])
    hint = r"no installed font covers Traditional Chinese.*apt-get install fonts-noto-cjk"
    with pytest.warns(UserWarning, match=hint):
        assert mg.plotting.use_cjk_font() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second call is silent
        assert mg.plotting.use_cjk_font() is None
    assert rc["font.sans-serif"] == before  # nothing changed


def test_install_hints_cover_the_students_platforms():
    assert "fonts-noto-cjk" in plotting.INSTALL_HINTS["linux"]
    assert "PingFang TC" in plotting.INSTALL_HINTS["darwin"]
    assert "Microsoft JhengHei" in plotting.INSTALL_HINTS["win32"]


def test_not_in_ipython_under_pytest():
    assert mg.plotting.in_ipython() is False


# ------------------------------------------------------------------ example scripts


def test_examples_print_on_a_cp950_console(tmp_path):
    # Windows' Traditional Chinese code page has no − (U+2212) or ∂: they come out as escapes.
    env = {**os.environ, "PYTHONIOENCODING": "cp950", "STEPS": "3", "OUT": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    env.pop("MPLBACKEND", None)
    for name, expected in [("activations", "\\u2212"), ("graph_tour", "\\u2202y/\\u2202w1")]:
        r = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True, env=env,
                           timeout=TIMEOUT)
        out = r.stdout.decode("cp950")
        assert r.returncode == 0, r.stderr.decode("cp950", "replace")
        assert expected in out and "wrote" in out
    assert (tmp_path / "activations.png").read_bytes()[:4] == b"\x89PNG"


def test_example_scripts_set_up_through_the_shared_helper():
    # One place for the backend and the console: no example picks a backend itself.
    for script in EXAMPLES.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        assert "mg.plotting.setup_script()" in text, script.name
        assert "matplotlib.use(" not in text and "reconfigure(" not in text, script.name


def test_run_in_a_jupyter_kernel_draws_inline_and_keeps_the_backend(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout
    monkeypatch.setenv("STEPS", "3")
    monkeypatch.setenv("OUT", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import matplotlib\nbefore = matplotlib.get_backend()"),
        nbformat.v4.new_code_cell(f"%run {EXAMPLES / 'gradient_descent.py'}"),
        nbformat.v4.new_code_cell(f"%run {EXAMPLES / 'graph_tour.py'}"),
        nbformat.v4.new_code_cell("print(before, '->', matplotlib.get_backend())"),
    ]
    nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3").execute()
    _, descent, tour, backend = (cell.outputs for cell in nb.cells)
    assert any("image/png" in o.get("data", {}) for o in descent)  # the picture, inline
    assert "wrote" in "".join(o.get("text", "") for o in descent)  # and the file, as outside
    assert (tmp_path / "gradient_descent.png").exists()
    assert sum("image/svg+xml" in o.get("data", {}) for o in tour) == 3  # before, after, network
    before, after = backend[0]["text"].strip().split(" -> ")
    assert after == before and "inline" in after.lower()


def test_run_in_the_ipython_shell_writes_files(tmp_path):
    pytest.importorskip("IPython")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPS": "3", "OUT": str(tmp_path)}
    env.pop("MPLBACKEND", None)
    code = (f"%run {EXAMPLES / 'activations.py'}\n"
            "import matplotlib; print('backend', matplotlib.get_backend())")
    r = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", code],
                       capture_output=True, text=True, encoding="utf-8", env=env, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and (tmp_path / "activations.png").read_bytes()[:4] == b"\x89PNG"
