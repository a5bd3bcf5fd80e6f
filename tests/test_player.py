"""Step-through pictures: draw_dot(step=, forward=), the Jupyter player, the HTML page, the CLI.

Frames are checked through their DOT source and, where Graphviz is installed
(always in CI), through dot's own layout: every node at the same coordinates
in every frame.  The page is opened in a real browser in test_player_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd_tw as mg
from micrograd_tw import player
from micrograd_tw.steps import num

ROOT = Path(__file__).resolve().parents[1]

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it)",
)


def neuron():
    x, w, b = mg.Value(1.0, label="x"), mg.Value(-2.0, label="w"), mg.Value(0.5, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return x, w, b, y


def box_texts(src: str) -> dict[str, list[str]]:
    """Each value box's cell texts, by the box's name cell."""
    boxes = {}
    for m in re.finditer(r"^\s*n\d+ \[label=<<TABLE.*$", src, re.M):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<TD[^>]*>(.*?)</TD>", m.group(0))]
        boxes[cells[0]] = cells[1:]
    return boxes


def edge_labels(src: str) -> dict[str, str]:
    """Each chain-rule product on an edge, and its ink."""
    labels = {}
    for line in src.splitlines():
        label = re.search(r'label="([^"]*)"', line)
        if "->" in line and label:
            labels[label[1]] = re.search(r'fontcolor="?([^" \]]+)', line)[1]
    return labels


# ------------------------------------------------------------------ frames


def test_step_zero_knows_only_the_roots_grad():
    x, w, b, y = neuron()
    src = mg.draw_dot(y, step=0).source
    boxes = box_texts(src)
    assert boxes["y"] == ["data −0.9051", "grad 1"]
    for name in ("x", "w", "b", "v1", "v2"):
        assert boxes[name][1] == "grad ?", name
    # the root is outlined, and its one edge carries its product in red
    assert re.search(r'n5 \[label=<<TABLE BORDER="2" COLOR="#dc2626"', src)
    labels = edge_labels(src)
    assert labels["∂y/∂v2 += 0.1807 × 1 = 0.1807"] == "#dc2626"
    assert labels["∂y/∂x += −2 × 0.1807 = −0.3614"] == "transparent"  # not sent yet


def test_middle_frame_shows_sent_products_and_partial_grads():
    x, w, b, y = neuron()
    src = mg.draw_dot(y, step=2).source  # the product x·w is being processed
    boxes = box_texts(src)
    assert boxes["v1"][1] == "grad 0.1807"
    assert boxes["x"][1] == "grad ?" and boxes["w"][1] == "grad ?"
    labels = edge_labels(src)
    assert labels["∂y/∂x += −2 × 0.1807 = −0.3614"] == "#dc2626"
    assert labels["∂y/∂w += 1 × 0.1807 = 0.1807"] == "#dc2626"
    assert labels["∂y/∂v2 += 0.1807 × 1 = 0.1807"] == "#9ca3af"  # sent earlier: grey


def test_a_grad_waiting_for_more_amounts_says_so():
    x = mg.Value(3.0, label="x")
    y = x * x + x  # x gets amounts from two nodes
    y.label = "y"
    frames = [box_texts(mg.draw_dot(y, step=k).source)["x"][1] for k in range(4)]
    assert frames == ["grad ?", "grad 1 + …", "grad 7", "grad 7"]


def test_last_frame_grads_equal_backward():
    x, w, b, y = neuron()
    last = len(mg.toposort(y))
    boxes = box_texts(mg.draw_dot(y, step=last).source)
    y.backward()
    for v in (x, w, b):
        assert boxes[v.label][1] == f"grad {num(v.grad)}"


def test_forward_frames_show_values_in_order():
    x, w, b, y = neuron()
    steps = mg.forward_steps(y)
    names = {x: "x", w: "w", b: "b", y: "y", steps[3].node: "v1", steps[4].node: "v2"}
    for k in range(len(steps) + 1):
        boxes = box_texts(mg.draw_dot(y, step=k, forward=True).source)
        for i, s in enumerate(steps):
            expected = f"data {num(s.value)}" if i <= k else "data ?"
            assert boxes[names[s.node]] == [expected], (k, names[s.node])
    # forward=True without a step: everything computed
    assert "data ?" not in mg.draw_dot(y, forward=True).source


def test_x_times_x_draws_two_labelled_edges():
    x = mg.Value(3.0, label="x")
    y = x * x
    y.label = "y"
    src = mg.draw_dot(y, step=0).source
    assert len(re.findall(r"n0 -> op1", src)) == 2
    assert src.count('label="∂y/∂x += 3 × 1 = 3"') == 2


def test_sum_and_dot_frames():
    a, c = mg.Value(1.5, label="a"), mg.Value(0.25, label="c")
    y = mg.sum([mg.dot([a, 3.0], [c, a]), c, 1.0])
    src = mg.draw_dot(y, step=1).source
    assert "Σ wᵢxᵢ" in src and "Σ" in src
    assert 'label="∂out/∂a += 0.25 × 1 = 0.25"' in src  # ∂dot/∂w = x
    assert 'label="∂out/∂a += 3 × 1 = 3"' in src  # ∂dot/∂x = w


def test_labels_are_escaped():
    x = mg.Value(1.0, label='<b>&"x"\\N')
    y = x * 2.0
    src = mg.draw_dot(y, step=0).source
    assert "&lt;b&gt;&amp;&quot;x&quot;\\\\N" in src


@needs_dot
def test_every_frame_places_every_node_alike():
    """dot's own layout of each frame: the same coordinates for every node and edge."""
    a, b = mg.Value(0.5, label="a"), mg.Value(-1.5, label="b")
    h = (a * b + a).tanh()
    y = mg.sum([h * h, mg.dot([a, b], [h, 2.0]), b.exp()])
    y.label = "y"
    n = len(mg.toposort(y))
    for forward in (False, True):
        layouts = []
        for k in range(n + 1):
            out = json.loads(mg.draw_dot(y, step=k, forward=forward).pipe(format="json"))
            nodes = {o["name"]: (o["pos"], o["width"], o["height"]) for o in out["objects"]}
            edges = [(e["tail"], e["head"], e["pos"], e.get("lp")) for e in out["edges"]]
            layouts.append((out["bb"], nodes, edges))
        assert len(layouts[0][1]) == 2 * n - 2  # value boxes and op nodes (2 leaves)
        for k, layout in enumerate(layouts):
            assert layout == layouts[0], f"frame {k} (forward={forward}) moved"


@needs_dot
def test_frames_differ_where_they_should():
    x, w, b, y = neuron()
    svgs = [mg.draw_dot(y, step=k).pipe(format="svg").decode() for k in range(7)]
    assert len(set(svgs)) == 7
    assert "grad ?" in svgs[0] and "grad ?" not in svgs[6]


@pytest.mark.parametrize("step", [-1, 8, 100])
def test_step_out_of_range(step):
    x, w, b, y = neuron()
    with pytest.raises(ValueError, match=rf"step={step} is out of range: this graph has 6 steps"):
        mg.draw_dot(y, step=step)


def test_bad_step_type_and_root():
    x, w, b, y = neuron()
    with pytest.raises(TypeError, match="step must be an int, got float"):
        mg.draw_dot(y, step=1.0)
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        mg.draw_dot(2.0, step=0)
    with pytest.raises(TypeError, match="root must be a Value"):
        mg.viz.save_steps_html("y", "x.html")
    with pytest.raises(ValueError, match="rankdir must be one of"):
        mg.draw_dot(y, step=0, rankdir="XY")


def test_frames_of_a_big_graph_are_refused():
    x = mg.Value(1.0)
    y = x
    for _ in range(110):
        y = y * 1.01 + 0.5
    with pytest.raises(ValueError, match=r"221 nodes, above the step limit max_steps=200"):
        mg.draw_dot(y, step=0)
    assert "grad 1" in mg.draw_dot(y, step=0, max_steps=221).source
    with pytest.raises(ValueError, match="221 nodes"):
        mg.viz.play_backward(y)


def test_draw_dot_without_step_is_unchanged():
    x, w, b, y = neuron()
    src = mg.draw_dot(y).source
    assert "grad ?" not in src and "∂y" not in src


# ------------------------------------------------------------------ the Jupyter player


@needs_dot
def test_widget_slider_drives_frame_and_line():
    pytest.importorskip("ipywidgets")
    x, w, b, y = neuron()
    lines = player.film(y).lines
    wdg = mg.viz.play_backward(y)
    assert wdg.slider.max == 6 and wdg.play.max == 6
    first = wdg.frame.value
    assert first.startswith("<svg") and "grad ?" in first
    assert lines[0].replace("; ", "\n") in html_unescape(wdg.line.value)  # a product per line
    wdg.slider.value = 2
    assert wdg.frame.value != first
    assert "∂y/∂x += −2 × 0.1807 = −0.3614" in wdg.frame.value
    assert lines[2].replace("; ", "\n") in html_unescape(wdg.line.value)
    assert "∂y/∂x += ∂v1/∂x" in lines[2]
    wdg.slider.value = 6
    y.backward()
    assert f"grad {num(w.grad)}" in wdg.frame.value and "grad ?" not in wdg.frame.value
    assert "done" in wdg.line.value
    fwd = mg.viz.play_forward(y)
    assert "data ?" in fwd.frame.value
    fwd.slider.value = 6
    assert "data ?" not in fwd.frame.value


def html_unescape(s: str) -> str:
    import html

    return html.unescape(s)


# ------------------------------------------------------------------ the HTML page


@needs_dot
def test_page_is_self_contained(tmp_path):
    x, w, b, y = neuron()
    path = mg.viz.save_steps_html(y, tmp_path / "backward.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 1
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", text)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/(?!2000/svg|1999/xlink|Graphics)", text)
    assert "@import" not in text and "url(" not in text
    data = json.loads(re.search(r'<script id="steps" type="application/json">(.*?)</script>', text, re.S)[1])
    assert len(data["lines"]) == 7 and len(data["grads"]) == 6  # a line per frame, changes per node
    y.backward()
    last = dict(zip(data["names"], (changes[-1][1] for changes in data["grads"])))
    assert last["w"] == f"grad {num(w.grad)}" and last["x"] == f"grad {num(x.grad)}"
    assert w.grad != 0.0  # (backward above; the page itself changed nothing)


def test_page_data_cannot_end_its_script(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed")
    x = mg.Value(1.0, label="</script><script>alert(1)</script>")
    text = mg.viz.steps_html(x * 2.0)
    assert text.count("</script>") == 2  # the data's and the code's, nothing from the label


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_interval_must_be_positive_ms(bad, tmp_path):
    x, w, b, y = neuron()
    with pytest.raises(ValueError, match="interval must be a positive number of milliseconds"):
        mg.viz.save_steps_html(y, tmp_path / "p.html", interval=bad)
    assert not (tmp_path / "p.html").exists()


# ------------------------------------------------------------------ the command line


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "micrograd_tw", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@needs_dot
def test_cli_steps_writes_the_page(tmp_path):
    r = cli("graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--steps", "-o", "backward.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "6 backward steps" in r.stdout
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert "∂f/∂w += 1 × " in text and "<svg" in text


def test_cli_steps_errors_are_one_line(tmp_path):
    r = cli("graph", "x*w", "x=1", "w=2", "--steps", "-o", "g.svg", cwd=tmp_path)
    assert r.returncode == 2 and "ending in .html" in r.stderr and len(r.stderr.splitlines()) == 1
    big = "+".join(["x*x"] * 110)
    r = cli("graph", big, "x=1", "--steps", "-o", "big.html", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "220 nodes, above the step limit" in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "big.html").exists()


# ------------------------------------------------------------------ the README's animation


@needs_dot
def test_readme_animation_has_a_frame_per_step(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    import runpy

    script = runpy.run_path(str(ROOT / "docs" / "make_pictures.py"))
    path = script["backprop_steps"](tmp_path / "steps.gif")
    y = script["neuron"]()
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.info.get("loop") == 0
        assert gif.n_frames == len(mg.toposort(y)) + 1  # 8 nodes: 9 frames
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB").tobytes())
    assert len(set(frames)) == len(frames)  # every step changes the picture


@needs_dot
def test_graph_tour_writes_the_step_through(tmp_path):
    env = {**os.environ, "STEPS": "1", "OUT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "graph_tour.py")], capture_output=True,
                       text=True, encoding="utf-8", env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "y sends ∂y/∂(+) += " in r.stdout and "(dot) sends ∂y/∂w1 += " in r.stdout
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert text.count("<svg") == 1 and "∂y/∂w1 += " in text


# ------------------------------------------------------------------ the READMEs


@needs_dot
@pytest.mark.parametrize(("readme", "heading"), [("README.md", "## Watch backprop step by step"),
                                                 ("README.zh-TW.md", "## 一步一步看反向傳播")])
def test_readme_section_runs(readme, heading, tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    text = (ROOT / readme).read_text(encoding="utf-8")
    section = text[text.index(heading):]
    section = section[: section.index("\n## ", 1)]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    assert "(docs/images/backprop_steps.gif)" in section
    assert (ROOT / "docs" / "images" / "backprop_steps.gif").exists()
    monkeypatch.chdir(tmp_path)
    exec("import micrograd_tw as mg\n" + code, {})  # noqa: S102 - our own README
    assert (tmp_path / "backward.html").read_text(encoding="utf-8").count("<svg") == 1
    cmd = re.search(r"python -m micrograd_tw (graph .*--steps -o backward.html)", section)[1]
    assert cmd == 'graph "tanh(x*w + b)" x=1 w=-2 b=0.5 --steps -o backward.html'
