"""Pictures after `pip install` alone: rendering with graphviz-pure when Graphviz's `dot` is not on PATH.

The "neither is installed" message is tested in tests/test_viz.py and tests/test_cli.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import micrograd_tw as mg
from micrograd_tw import viz

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"

PURE_INSTALLED = bool(shutil.which("graphviz-pure")) or any(
    Path(sysconfig.get_path("scripts"), name).is_file() for name in ("graphviz-pure", "graphviz-pure.exe")
)
needs_pure = pytest.mark.skipif(
    not PURE_INSTALLED and not os.environ.get("CI"),  # CI installs it: there it must be found
    reason="the graphviz-pure package is not installed",
)


@pytest.fixture
def without_dot(tmp_path, monkeypatch):
    """A PATH on which there is no `dot` (nor anything else)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return tmp_path


def neuron(label: str = "w") -> mg.Value:
    x, w, b = mg.Value(1.0, label="x"), mg.Value(-2.0, label=label), mg.Value(0.5, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    y.backward()
    return y


def svg_texts(svg: str | bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def assert_picture_png(data: bytes) -> None:
    import io

    import matplotlib.image

    assert data[:8] == PNG
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 50 and pixels.shape[1] > 200 and pixels.std() > 0.05


@needs_pure
def test_find_renderer_prefers_dot_and_falls_back_to_graphviz_pure(without_dot, monkeypatch):
    assert Path(viz.find_renderer()).name.startswith("graphviz-pure")
    fake = without_dot / "bin" / "dot"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert viz.find_renderer() == str(fake)
    monkeypatch.setattr(viz, "PURE_PROGRAM", "no-such-graphviz-pure")
    fake.unlink()
    assert viz.find_renderer() is None


@needs_pure
def test_render_pipe_and_jupyter_display_without_dot(without_dot, monkeypatch):
    monkeypatch.chdir(without_dot)
    g = mg.draw_dot(neuron(), shade_grad=True)

    # The README's way to save a picture: the source file is removed, the SVG stays.
    assert g.render("graph", format="svg", cleanup=True) == "graph.svg"
    assert sorted(p.name for p in without_dot.iterdir()) == ["bin", "graph.svg"]
    svg = (without_dot / "graph.svg").read_text(encoding="utf-8")
    assert "graphviz-pure" in svg  # drawn by it, not by a dot somewhere
    texts = svg_texts(svg)
    assert {"x", "w", "b", "y", "tanh", "grad 1", "data -1.5"} <= set(texts)

    # outfile= names the picture; the format comes from its suffix.
    assert g.render(outfile="pics/neuron.png") == os.path.join("pics", "neuron.png")
    assert_picture_png((without_dot / "pics" / "neuron.png").read_bytes())

    assert_picture_png(g.pipe(format="png"))
    assert g.pipe(format="svg", encoding="utf-8").lstrip().startswith("<?xml")

    bundle = g._repr_mimebundle_()  # what Jupyter calls to draw the graph inline
    assert "data -1.5" in svg_texts(bundle["image/svg+xml"])

    network = mg.draw_network(mg.nn.MLP(2, [3, 1], seed=0))
    assert {"x1", "x2", "y"} <= set(svg_texts(network.pipe(format="svg")))


@needs_pure
def test_png_with_chinese_labels_warns_and_suggests_svg(without_dot):
    g = mg.draw_dot(neuron("權重 w"))
    with pytest.warns(UserWarning, match=r"權重.*SVG"):
        assert g.pipe(format="png")[:8] == PNG
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: SVG text is drawn by the viewer, with its fonts
        assert "權重 w" in svg_texts(g.pipe(format="svg"))
        mg.draw_dot(neuron()).pipe(format="png")  # nothing to warn about without CJK text


@needs_pure
def test_formats_and_options_graphviz_pure_lacks_say_so(without_dot):
    g = mg.draw_dot(neuron())
    with pytest.raises(viz.GraphvizNotFoundError, match=r"Writing pdf needs Graphviz.*svg or png"):
        g.pipe(format="pdf")
    with pytest.raises(viz.GraphvizNotFoundError, match="renderer need Graphviz"):
        g.pipe(format="png", renderer="cairo")


@needs_pure
@pytest.mark.parametrize("ext", ["svg", "png"])
def test_cli_draws_without_dot(tmp_path, ext):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / f"graph.{ext}"
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT)}  # the interpreter by its full path
    args = ["graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "-o", str(out)]
    r = subprocess.run([sys.executable, "-m", "micrograd_tw", *args],
                       capture_output=True, text=True, encoding="utf-8", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # graphviz-pure's notes about font metrics are not shown
    assert f"wrote {out}" in r.stdout
    if ext == "png":
        assert_picture_png(out.read_bytes())
    else:
        assert "0.1807" in " ".join(svg_texts(out.read_bytes()))  # dw = (1 − tanh²(−1.5))·x


# ------------------------------------------------------------ draw_network's captions


def _points(d: str) -> list[tuple[float, float]]:
    """Points along an SVG path of M and C commands (Graphviz's edges), 20 per Bézier segment."""
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    pts = list(zip(nums[::2], nums[1::2]))
    out = [pts[0]]
    for i in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(1, 21):
            t = k / 20
            out.append(tuple(  # type: ignore[arg-type]
                (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * c + t**3 * e
                for a, b, c, e in zip(p0, p1, p2, p3)
            ))
    return out


def edges_over_captions(svg: bytes) -> list[str]:
    """The edges (tail->head) that pass through a layer caption's text box."""
    root = ET.fromstring(svg)
    boxes = {}
    for g in root.iter(f"{SVG_NS}g"):
        title = g.find(f"{SVG_NS}title")
        if g.get("class") == "cluster" and title is not None and title.text.startswith("cluster_layer"):
            t = g.find(f"{SVG_NS}text")
            x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
            half = 0.3 * size * len("".join(t.itertext()))  # Arial averages about 0.6 em a character
            boxes[title.text] = (x - half, x + half, y - 0.8 * size, y + 0.2 * size)
    assert len(boxes) >= 2
    crossing = []
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") != "edge":
            continue
        d = g.find(f"{SVG_NS}path").get("d")
        for x0, x1, y0, y1 in boxes.values():
            if any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in _points(d)):
                crossing.append(g.find(f"{SVG_NS}title").text)
    return crossing


@pytest.mark.skipif(viz.find_renderer() is None and not os.environ.get("CI"), reason="no renderer")
@pytest.mark.parametrize("show_weights", [True, False])
def test_network_edges_stay_off_the_layer_captions(show_weights):
    # The README's picture: before edges entered by the flow ports, 0.84 looped over "Layer 2".
    model = mg.nn.MLP(2, [3, 3, 1], activation="tanh", seed=0)
    svg = mg.draw_network(model, show_weights=show_weights).pipe(format="svg")
    assert edges_over_captions(svg) == []


def test_the_caption_check_sees_an_edge_over_a_caption():
    # edges_over_captions on a hand-made picture: one edge through the caption, one beside it.
    svg = b"""<svg xmlns="http://www.w3.org/2000/svg"><g class="graph">
    <g class="cluster"><title>cluster_layer1</title><text x="100" y="-200" font-size="14">Layer 1</text></g>
    <g class="cluster"><title>cluster_layer2</title><text x="300" y="-200" font-size="14">Layer 2</text></g>
    <g class="edge"><title>a&#45;&gt;b</title><path d="M250,-150C280,-220 320,-220 350,-150"/></g>
    <g class="edge"><title>c&#45;&gt;d</title><path d="M250,-100C280,-120 320,-120 350,-100"/></g>
    </g></svg>"""
    assert edges_over_captions(svg) == ["a->b"]


@needs_pure
@pytest.mark.skipif(os.name == "nt", reason="the kernel's PATH is made of shell scripts")
def test_jupyter_kernel_without_dot_displays_graphs_inline(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):  # the kernel's interpreter (a venv's too), and no dot beside it
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import shutil, micrograd_tw as mg\nprint('dot:', shutil.which('dot'))"),
        nbformat.v4.new_code_cell("x = mg.Value(2.0, label='x')\ny = (x * 3).tanh(); y.backward()\n"
                                  "mg.draw_dot(y, shade_grad=True)"),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    (which,), (graph,) = (cell.outputs for cell in nb.cells)
    assert which["text"].strip() == "dot: None"
    svg = graph["data"]["image/svg+xml"]
    assert "graphviz-pure" in svg and {"x", "tanh"} <= set(svg_texts(svg))
