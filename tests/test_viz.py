"""Pictures: draw_dot and draw_network.

Most tests read the DOT source (node and edge counts, labels, escaping,
clusters, determinism, the cap).  Tests marked ``needs_dot`` render with the
real ``dot`` program; they run wherever it is installed and always in CI
(where a missing ``dot`` is a failure, not a skip).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

import micrograd_tw as mg
from micrograd_tw import viz
from micrograd_tw.ops import OPS

ROOT = Path(__file__).resolve().parents[1]
SVG_TEXT = "{http://www.w3.org/2000/svg}text"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it)",
)


# ------------------------------------------------------------------ helpers


def value_nodes(src: str) -> list[str]:
    return re.findall(r"^\s*(n\d+) \[", src, re.M)


def op_nodes(src: str) -> list[str]:
    return re.findall(r"^\s*(op\d+) \[", src, re.M)


def edges(src: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", src, re.M)


def node_line(src: str, needle: str) -> str:
    """The one node statement whose label holds ``needle``."""
    lines = [ln for ln in src.splitlines() if needle in ln and " [label=" in ln]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def node_id(src: str, needle: str) -> str:
    return node_line(src, needle).split()[0]


def op_label(src: str, op_id: str) -> str:
    (label,) = re.findall(rf"^\s*{op_id} \[label=<(.*?)> ", src, re.M)
    return label


def clusters(src: str) -> dict[str, dict]:
    """Each cluster: its label, its parent cluster, and the node ids declared directly in it."""
    found: dict[str, dict] = {}
    stack: list[str] = []
    for line in src.splitlines():
        s = line.strip()
        m = re.match(r"subgraph (cluster\w+) \{", s)
        if m:
            found[m.group(1)] = {"parent": stack[-1] if stack else None, "nodes": set(), "label": None}
            stack.append(m.group(1))
        elif s == "}" and stack:
            stack.pop()
        elif stack:
            lab = re.search(r'\blabel=(?:"([^"]*)"|(\w+))', s)
            if lab and found[stack[-1]]["label"] is None:
                found[stack[-1]]["label"] = lab.group(1) or lab.group(2)
            nid = re.match(r"(\w+) \[label=", s)
            if nid:
                found[stack[-1]]["nodes"].add(nid.group(1))
    return found


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # raises if the SVG is not well-formed XML
    return [t.text or "" for t in root.iter(SVG_TEXT)]


def neuron_graph():
    """The course's neuron: y = tanh(w1·x1 + w2·x2 + b), after backward."""
    x1, x2 = mg.Value(2.0, label="x1"), mg.Value(0.0, label="x2")
    w1, w2 = mg.Value(-3.0, label="w1"), mg.Value(1.0, label="w2")
    b = mg.Value(6.8813735870195432, label="b")
    z = mg.dot([w1, w2], [x1, x2])
    z.label = "z"
    y = (z + b).tanh()
    y.label = "y"
    y.backward()
    return y, (x1, x2, w1, w2, b)


# Stand-ins with the attributes nn promises (MLP.layers, Layer.neurons,
# Neuron.w/.b/.activation); the forward is exactly act(dot(w, x) + b).
def stand_in_neuron(ws, b, activation):
    return SimpleNamespace(
        w=[mg.Value(w, label=f"w{k + 1}") for k, w in enumerate(ws)],
        b=mg.Value(b, label="b"),
        activation=activation,
    )


def stand_in_forward(neuron, xs):
    s = mg.dot(neuron.w, xs) + neuron.b
    return s if neuron.activation == "linear" else getattr(s, neuron.activation)()


def stand_in_mlp():
    """A 2-2-1 network: tanh hidden layer, linear output."""
    hidden = SimpleNamespace(neurons=[
        stand_in_neuron([0.5, -1.0], 0.1, "tanh"),
        stand_in_neuron([2.0, 0.25], -0.3, "tanh"),
    ])
    out = SimpleNamespace(neurons=[stand_in_neuron([-1.5, 0.75], 0.2, "linear")])
    model = SimpleNamespace(layers=[hidden, out])

    def call(xs):
        for layer in model.layers:
            xs = [stand_in_forward(n, xs) for n in layer.neurons]
        return xs[0]

    return model, call


# ------------------------------------------------------------- draw_dot: shape


def test_neuron_graph_has_one_box_per_value_and_one_node_per_op():
    y, _ = neuron_graph()
    src = mg.draw_dot(y).source
    # values: x1 x2 w1 w2 b z (z+b) y; ops: dot, +, tanh
    assert len(value_nodes(src)) == 8
    assert len(op_nodes(src)) == 3
    # dot: 4 in + 1 out; +: 2 in + 1 out; tanh: 1 in + 1 out
    assert len(edges(src)) == 10
    for text in ("x1", "w2", "data 0.7071", "grad 1", "data -6", "grad 0.5", "grad -1.5"):
        assert text in src
    labels = {op_label(src, o) for o in op_nodes(src)}
    assert labels == {OPS["dot"].symbol, OPS["+"].symbol, OPS["tanh"].symbol}


def test_show_grad_false_leaves_grad_out():
    y, _ = neuron_graph()
    src = mg.draw_dot(y, show_grad=False).source
    assert "grad" not in src
    assert "data 0.7071" in src


def test_x_times_x_draws_an_edge_per_parent_slot():
    x = mg.Value(3.0, label="x")
    y = x * x
    src = mg.draw_dot(y).source
    xid = node_id(src, "<B>x</B>")
    assert edges(src).count((xid, "op1")) == 2
    assert len(value_nodes(src)) == 2


def test_repeated_parents_in_dot_and_sum():
    x, w = mg.Value(1.0, label="x"), mg.Value(2.0, label="w")
    y = mg.dot([w, w], [x, x]) + mg.sum([x, x, x])
    src = mg.draw_dot(y).source
    xid, wid = node_id(src, "<B>x</B>"), node_id(src, "<B>w</B>")
    e = edges(src)
    assert sum(1 for a, _ in e if a == xid) == 5  # twice into dot, three times into sum
    assert sum(1 for a, _ in e if a == wid) == 2


X = 2.5


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x: x * 2, f"{OPS['*'].symbol} 2"),
        (lambda x: 2 * x, f"{OPS['*'].symbol} 2"),
        (lambda x: x + 1, f"{OPS['+'].symbol} 1"),
        (lambda x: 1 + x, f"{OPS['+'].symbol} 1"),
        (lambda x: x + 0.1, f"{OPS['+'].symbol} 0.1"),
        (lambda x: x - 1, f"{OPS['-'].symbol} 1"),
        (lambda x: 1 - x, f"1 {OPS['-'].symbol}"),
        (lambda x: x / 4, f"{OPS['/'].symbol} 4"),
        (lambda x: 4 / x, f"4 {OPS['/'].symbol}"),
        (lambda x: x ** 3, f"{OPS['**'].symbol} 3"),
        (lambda x: 2 ** x, f"2 {OPS['**'].symbol}"),
        (lambda x: x * -0.5, f"{OPS['*'].symbol} -0.5"),
        (lambda x: -x, OPS["neg"].symbol),
        (lambda x: mg.sum([x, 1.0, 2.0]), f"{OPS['sum'].symbol} + 3"),
        (lambda x: mg.sum([x, x]), OPS["sum"].symbol),
    ],
)
def test_constant_operand_shows_in_the_op_node(make, expected):
    x = mg.Value(X, label="x")
    src = mg.draw_dot(make(x)).source
    assert len(value_nodes(src)) == 2  # x and the result: the constant is no box
    (op,) = op_nodes(src)
    assert op_label(src, op) == expected


@pytest.mark.parametrize("x, y, label", [
    (float("inf"), lambda x: x + 1, "+ 1"),          # a non-finite parent: nothing to derive from
    (1e16, lambda x: x + 1.0, "+ 1"),                # 1e16 + 1 rounds to 1e16: the data hides the 1
    (1e-5, lambda x: x / 1e-310, "÷ 1e-310"),        # 1/d overflows: the partial hides the constant
])
def test_constants_are_read_from_the_node_not_derived(x, y, label):
    src = mg.draw_dot(y(mg.Value(x, label="x"))).source
    sym, c = label.split(" ")
    assert op_label(src, op_nodes(src)[0]) == f"{OPS[{'+': '+', '÷': '/'}[sym]].symbol} {c}"


def test_dot_with_constant_operands_lists_them():
    w1, w2 = mg.Value(0.5, label="w1"), mg.Value(-1.0, label="w2")
    y = mg.dot([w1, w2], [1.5, 2.0])
    src = mg.draw_dot(y).source
    assert len(value_nodes(src)) == 3
    assert op_label(src, "op2") == f"{OPS['dot'].symbol}<BR/>x = (1.5, 2)"
    z = mg.dot([w1, 3.0], [1.0, w2])  # constants on both sides, · for a Value
    assert op_label(mg.draw_dot(z).source, "op2") == f"{OPS['dot'].symbol}<BR/>w = (·, 3)<BR/>x = (1, ·)"


def test_noncommutative_binary_ops_label_their_operands():
    a, b = mg.Value(5.0, label="a"), mg.Value(2.0, label="bb")
    for op, y in (("-", a - b), ("/", a / b), ("**", a**b)):
        src = mg.draw_dot(y).source
        aid, bid = node_id(src, "<B>a</B>"), node_id(src, "<B>bb</B>")
        assert f"{aid} -> op2 [label=a]" in src
        assert f"{bid} -> op2 [label=b]" in src
        assert op_label(src, "op2") == f"a {OPS[op].symbol} b"
    # b - a reverses the roles
    src = mg.draw_dot(b - a).source
    assert f"{node_id(src, '<B>bb</B>')} -> op2 [label=a]" in src


def test_several_roots_share_their_graph():
    x = mg.Value(1.0, label="x")
    y1, y2 = x * 2, x + 1
    y1.label, y2.label = "y1", "y2"
    src = mg.draw_dot([y1, y2]).source
    assert len(value_nodes(src)) == 3
    assert viz.COLORS["output"] in node_line(src, "<B>y1</B>")
    assert viz.COLORS["output"] in node_line(src, "<B>y2</B>")


# ----------------------------------------------------------- determinism


def test_same_graph_built_twice_gives_the_same_source():
    y1, _ = neuron_graph()
    y2, _ = neuron_graph()
    first = mg.draw_dot(y1, shade_grad=True).source
    assert first == mg.draw_dot(y2, shade_grad=True).source
    # drawing the same graph again, after other walks of it, gives the same source
    mg.toposort(y1)
    mg.grad(y1, [])
    assert mg.draw_dot(y1, shade_grad=True).source == first
    assert not re.search(r"\d{7,}", first)  # no memory addresses (id()) in names


def test_clustered_source_is_deterministic():
    def build():
        model, call = stand_in_mlp()
        y = call([1.0, -2.0])
        y.backward()
        return mg.draw_dot(y, model=model).source

    assert build() == build()


# ------------------------------------------------------------------ escaping


TRICKY = ['say "hi"', "{braces}", "a|b", "<b>bold</b>", "權重 w", "x\\", "\\N", "&amp;", "w\nb"]


def test_labels_are_escaped_in_the_source():
    vals = [mg.Value(float(i), label=lab) for i, lab in enumerate(TRICKY)]
    src = mg.draw_dot(mg.sum(vals)).source
    assert "<B>say &quot;hi&quot;</B>" in src
    assert "<B>{braces}</B>" in src and "<B>a|b</B>" in src
    assert "<B>&lt;b&gt;bold&lt;/b&gt;</B>" in src
    assert "<B>權重 w</B>" in src
    assert "<B>x\\\\</B>" in src and "<B>\\\\N</B>" in src
    assert "<B>&amp;amp;</B>" in src
    assert "<B>w<BR/>b</B>" in src


def test_long_labels_are_cut():
    v = mg.Value(1.0, label="α" * 500)
    src = mg.draw_dot(v).source
    assert "α" * (viz.MAX_LABEL - 1) + "…" in src
    assert "α" * viz.MAX_LABEL not in src


@needs_dot
def test_tricky_labels_render_unchanged(tmp_path):
    vals = [mg.Value(float(i), label=lab) for i, lab in enumerate(TRICKY)]
    g = mg.draw_dot(mg.sum(vals))
    texts = svg_texts(Path(g.render(tmp_path / "tricky", format="svg")).read_text(encoding="utf-8"))
    for lab in TRICKY:
        for line in lab.split("\n"):  # a newline in a label is a line break
            assert line in texts, (line, texts)


# Characters XML (so Graphviz's label parser) does not allow, and what is drawn instead:
# the Control Pictures symbol for C0 controls and DEL, U+FFFD for U+FFFE and a lone surrogate.
UNDRAWABLE = [
    ("nul\x00", "nul\u2400"), ("bell\x07", "bell\u2407"), ("\x1b[31mred", "\u241b[31mred"),
    ("page\x0c", "page\u240c"), ("del\x7f", "del\u2421"), ("x\ufffe", "x\ufffd"),
    ("\ud800lone", "\ufffdlone"),
]


@needs_dot
def test_labels_with_characters_xml_forbids_render(tmp_path):
    # issue 11 #10: these made Graphviz fail ("not well-formed"); a lone surrogate made
    # the DOT file unwritable (UnicodeEncodeError).  Each is drawn as a visible stand-in.
    vals = [mg.Value(float(i), label=lab) for i, (lab, _) in enumerate(UNDRAWABLE)]
    y = mg.sum(vals)
    y.label = "sum\x00"
    y.backward()
    g = mg.draw_dot(y)
    texts = svg_texts(Path(g.render(tmp_path / "controls", format="svg")).read_text(encoding="utf-8"))
    for _, drawn in UNDRAWABLE:
        assert drawn in texts, (drawn, texts)
    assert "sum\u2400" in texts
    png = Path(g.render(tmp_path / "controls", format="png")).read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    # the labels themselves are not changed, only their picture
    assert [v.label for v in vals] == [lab for lab, _ in UNDRAWABLE]


@needs_dot
def test_activation_named_with_control_characters_renders(tmp_path):
    def act(x):
        return x.tanh()

    act.__name__ = "my\x07act"
    model = mg.nn.MLP(2, [2, 1], activation=act, seed=0)
    g = mg.draw_network(model)
    texts = svg_texts(Path(g.render(tmp_path / "net", format="svg")).read_text(encoding="utf-8"))
    assert "my\u2407act" in texts


# ------------------------------------------------------------------- colours


def test_inputs_parameters_and_output_are_told_apart():
    y, (x1, x2, w1, w2, b) = neuron_graph()
    src = mg.draw_dot(y, params=[w1, w2, b]).source
    for lab in ("x1", "x2"):
        assert viz.COLORS["input"] in node_line(src, f"<B>{lab}</B>")
    for lab in ("w1", "w2", "b"):
        assert viz.COLORS["parameter"] in node_line(src, f"<B>{lab}</B>")
    assert viz.COLORS["output"] in node_line(src, "<B>y</B>")
    assert viz.COLORS["value"] in node_line(src, "<B>z</B>")
    # without params= the weights are plain leaves
    assert viz.COLORS["parameter"] not in mg.draw_dot(y).source


def test_shade_grad_colours_grad_cells_by_magnitude():
    y, _ = neuron_graph()  # |grad| is 1.5 at x1 (the largest), 0.5 at x2, 0 at w2
    src = mg.draw_dot(y, shade_grad=True).source
    # by hand: t = 0.85 * |g| / 1.5; channel = round(255 + (c - 255) t) for (239, 68, 68)
    assert '<TD BGCOLOR="#f16060">grad -1.5</TD>' in src  # t = 0.85
    assert '<TD BGCOLOR="#facaca">grad 0.5</TD>' in node_line(src, "<B>x2</B>")  # t = 0.2833
    assert "<TD>grad 0</TD>" in node_line(src, "<B>w2</B>")  # zero: no shade
    assert "BGCOLOR=\"#f16060\"" not in mg.draw_dot(y).source  # off by default


def test_shade_grad_marks_non_finite_gradients():
    x = mg.Value(0.0, label="x")
    y = x.sqrt()
    y.backward()  # sqrt'(0) = inf
    src = mg.draw_dot(y, shade_grad=True).source
    assert f'BGCOLOR="{viz.GRAD_NONFINITE}">grad inf' in node_line(src, "<B>x</B>")


# ------------------------------------------------------------------ clusters


def test_model_groups_each_neuron_in_its_layer():
    model, call = stand_in_mlp()
    y = call([1.0, -2.0])
    y.backward()
    src = mg.draw_dot(y, model=model).source
    cl = clusters(src)
    assert set(cl) == {
        "cluster_layer1", "cluster_layer1_neuron1", "cluster_layer1_neuron2",
        "cluster_layer2", "cluster_layer2_neuron1",
    }
    assert cl["cluster_layer1"]["label"] == "Layer 1"
    assert cl["cluster_layer1_neuron2"]["label"] == "Layer 1 · Neuron 2"
    assert cl["cluster_layer1_neuron2"]["parent"] == "cluster_layer1"
    assert cl["cluster_layer2_neuron1"]["parent"] == "cluster_layer2"
    # the topological order numbers x-free leaves first; find nodes by their op and parents instead
    order = mg.toposort(y)
    idx = {v: i for i, v in enumerate(order)}
    for li, layer in enumerate(model.layers):
        for nj, neuron in enumerate(layer.neurons):
            d = next(v for v in order if v.op == "dot" and mg.engine.parents(v)[0] is neuron.w[0])
            s = next(v for v in order if v.op == "+" and d in mg.engine.parents(v))
            expect = {f"n{idx[p]}" for p in (*neuron.w, neuron.b)}
            expect |= {f"n{idx[d]}", f"op{idx[d]}", f"n{idx[s]}", f"op{idx[s]}"}
            acts = [v for v in order if v.op == neuron.activation and mg.engine.parents(v) == (s,)]
            assert len(acts) == (0 if neuron.activation == "linear" else 1)
            expect |= {f"n{idx[a]}" for a in acts} | {f"op{idx[a]}" for a in acts}
            assert cl[f"cluster_layer{li + 1}_neuron{nj + 1}"]["nodes"] == expect
    # model parameters are coloured as parameters
    assert viz.COLORS["parameter"] in node_line(src, "data 0.5</TD>")


def test_clusters_collect_every_sample_of_a_batch():
    model, call = stand_in_mlp()
    loss = mg.sum([call([1.0, 2.0]), call([-1.0, 0.5])])
    cl = clusters(mg.draw_dot(loss, model=model).source)
    # neuron 1 of layer 1: 2 weights + bias, and (dot, +, tanh) x 2 samples, each box and op node
    assert len(cl["cluster_layer1_neuron1"]["nodes"]) == 3 + 2 * 3 * 2


def test_single_neuron_model_gets_one_cluster():
    neuron = stand_in_neuron([1.0, -1.0], 0.5, "relu")
    y = stand_in_forward(neuron, [2.0, 1.0])
    cl = clusters(mg.draw_dot(y, model=neuron).source)
    assert list(cl) == ["cluster_layer1_neuron1"]
    assert cl["cluster_layer1_neuron1"]["label"] == "Neuron"
    assert len(cl["cluster_layer1_neuron1"]["nodes"]) == 3 + 3 * 2


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gaussian"])
def test_real_mlp_groups_each_neuron_with_its_three_steps(activation):
    model = mg.nn.MLP(2, [3, 2, 1], activation=activation, seed=0)
    y = model([mg.Value(1.0, label="x1"), mg.Value(-2.0, label="x2")])
    y.backward()
    src = mg.draw_dot(y, model=model).source
    cl = clusters(src)
    layer_sizes = [(2, 3), (3, 2), (2, 1)]  # (inputs, neurons) per layer
    assert sorted(cl) == sorted(
        [f"cluster_layer{i + 1}" for i in range(3)]
        + [f"cluster_layer{i + 1}_neuron{j + 1}" for i, (_, n) in enumerate(layer_sizes) for j in range(n)]
    )
    for i, (nin, n) in enumerate(layer_sizes):
        steps = 3 if i < 2 else 2  # dot, +, activation; the output layer is linear
        for j in range(n):
            c = cl[f"cluster_layer{i + 1}_neuron{j + 1}"]
            assert c["label"] == f"Layer {i + 1} · Neuron {j + 1}"
            assert c["parent"] == f"cluster_layer{i + 1}"
            assert len(c["nodes"]) == nin + 1 + 2 * steps  # weights, bias, a box and an op node per step
            ops = {op_label(src, nid) for nid in c["nodes"] if nid.startswith("op")}
            expected = {OPS["dot"].symbol, OPS["+"].symbol} | ({OPS[activation].symbol} if i < 2 else set())
            assert ops == expected
    # every parameter is drawn as a parameter, the inputs as inputs
    assert src.count(f'BGCOLOR="{viz.COLORS["parameter"]}"') == len(model.parameters()) == 20
    assert src.count(f'BGCOLOR="{viz.COLORS["input"]}"') == 2


def test_the_lectures_mlp_fits_under_the_default_cap():
    model = mg.nn.MLP(2, [16, 16, 1], seed=0)
    y = model([1.0, -2.0])
    y.backward()
    src = mg.draw_dot(y, model=model).source
    params = len(model.parameters())
    # 33 neurons of three steps, the last one linear; the inputs are numbers, not boxes
    assert len(value_nodes(src)) == params + 33 * 3 - 1 == 435
    assert len([c for c in clusters(src) if "neuron" in c]) == 33


def test_callable_activation_keeps_dot_and_bias_in_the_cluster():
    def swish(v):
        return v * v.sigmoid()

    neuron = mg.nn.Neuron(2, activation=swish, seed=0)
    y = neuron([1.0, 2.0])
    cl = clusters(mg.draw_dot(y, model=neuron).source)
    assert len(cl["cluster_layer1_neuron1"]["nodes"]) == 3 + 2 * 2  # w1 w2 b, dot and +


def test_model_that_is_not_a_model_is_refused():
    x = mg.Value(1.0)
    with pytest.raises(TypeError, match="model must be an nn.MLP.*got int"):
        mg.draw_dot(x, model=3)


# ----------------------------------------------------------------------- cap


def chain(n):
    """A graph of exactly n Values: a leaf and n - 1 additions."""
    y = mg.Value(0.0)
    for _ in range(n - 1):
        y = y + 1.0
    return y


def test_cap_allows_max_nodes_and_refuses_one_more():
    assert len(value_nodes(mg.draw_dot(chain(500)).source)) == 500
    with pytest.raises(ValueError, match=r"has 501 values, above max_nodes=500.*max_nodes=1000"):
        mg.draw_dot(chain(501))
    assert len(value_nodes(mg.draw_dot(chain(501), max_nodes=501).source)) == 501
    assert len(value_nodes(mg.draw_dot(chain(600), max_nodes=None).source)) == 600


def test_huge_graph_is_refused_before_any_walk_or_layout(monkeypatch):
    def no_toposort(root):
        raise AssertionError("draw_dot walked the whole graph before refusing it")

    monkeypatch.setattr(viz, "toposort", no_toposort)
    y = chain(viz.EXACT_COUNT + 50_000)
    with pytest.raises(ValueError, match=r"more than 100,000 values.*max_nodes=None"):
        mg.draw_dot(y)


def horner(n):
    """y = y·x + c, n times: x is used by n operations spread along the whole chain."""
    x = mg.Value(0.5, label="x")
    y = mg.Value(1.0)
    for i in range(n):
        y = y * x + i
    return y


def test_long_edges_that_would_stall_the_layout_are_refused():
    # Each step adds two boxes and two op nodes, so the k-th product's box is at
    # rank 4k - 2 and x sits at rank 0, just before the first product's op node:
    # its k-th edge gets 4(k - 1) points, and Σ 4(k - 1) for k = 1..n is 2n(n - 1).
    assert viz._long_edges(mg.toposort(horner(50)))[:1] == (2 * 50 * 49,)
    points, worst, uses = viz._long_edges(mg.toposort(horner(100)))
    assert (points, worst.label, uses) == (2 * 100 * 99, "x", 100)
    assert len(value_nodes(mg.draw_dot(horner(50)).source)) == 2 + 2 * 50  # 4,900 points: drawn
    with pytest.raises(ValueError, match=r"of 202 values: 'x' is used by 100 operations far apart.*"
                                         r"about 19,800 layout points.*max_nodes=None"):
        mg.draw_dot(horner(100))
    assert len(value_nodes(mg.draw_dot(horner(100), max_nodes=None).source)) == 202


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "500"])
def test_bad_max_nodes_is_refused(bad):
    with pytest.raises(ValueError, match="max_nodes must be a positive int or None"):
        mg.draw_dot(mg.Value(1.0), max_nodes=bad)


# ------------------------------------------------------------ bad arguments


def test_bad_root_and_rankdir_are_refused():
    with pytest.raises(TypeError, match="root must be a Value or a list of Values, got float"):
        mg.draw_dot(1.0)
    with pytest.raises(TypeError, match=r"root\[1\] must be a Value, got str"):
        mg.draw_dot([mg.Value(1.0), "y"])
    with pytest.raises(ValueError, match="root is an empty list"):
        mg.draw_dot([])
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT, got 'XY'"):
        mg.draw_dot(mg.Value(1.0), rankdir="XY")
    with pytest.raises(TypeError, match="params must be Values, got float"):
        mg.draw_dot(mg.Value(1.0), params=[1.0])
    with pytest.raises(TypeError, match="params must be Values, got list"):
        mg.draw_dot(mg.Value(1.0), params=[[mg.Value(1.0)]])


def test_rankdir_reaches_the_graph():
    assert "rankdir=TB" in mg.draw_dot(mg.Value(1.0), rankdir="TB").source


# -------------------------------------------------------------- draw_network


def test_network_has_a_node_per_input_neuron_output_and_an_edge_per_weight():
    model, _ = stand_in_mlp()
    src = mg.draw_network(model).source
    ids = re.findall(r"^\s*(\w+) \[label=", src, re.M)
    assert ids == ["x1", "x2", "L1N1", "L1N2", "L2N1", "y"]
    e = edges(src)
    assert len(e) == 2 * 2 + 2 * 1 + 1  # weights, and the output's edge
    assert e.count(("x2", "L1N1")) == 1 and e.count(("L1N2", "L2N1")) == 1
    # activations and biases in the neuron nodes
    assert re.search(r'L1N1 \[label=<tanh<BR/><FONT POINT-SIZE="9">b = 0.1</FONT>>', src)
    assert re.search(r"L2N1 \[label=<linear<BR/>", src)


def test_network_edges_by_sign_and_magnitude():
    model, _ = stand_in_mlp()  # largest |w| is 2.0 (layer 1 neuron 2, from x1)
    src = mg.draw_network(model).source
    edge = {(a, b): rest for a, b, rest in re.findall(r"^\s*(\w+) -> (\w+) \[(.*)\]", src, re.M)}
    assert f'color="{viz.WEIGHT_COLORS["+"]}"' in edge[("x1", "L1N2")]
    assert "penwidth=4.00" in edge[("x1", "L1N2")] and "label=2.00" in edge[("x1", "L1N2")]
    assert f'color="{viz.WEIGHT_COLORS["-"]}"' in edge[("x2", "L1N1")]  # w = -1.0
    assert "penwidth=2.25" in edge[("x2", "L1N1")] and "label=-1.00" in edge[("x2", "L1N1")]
    assert "penwidth=0.94" in edge[("x2", "L1N2")]  # w = 0.25: 0.5 + 3.5/8
    bare = mg.draw_network(model, show_weights=False).source
    assert "label=2.00" not in bare and "b = " not in bare


def test_network_with_several_outputs_and_relu():
    layer = SimpleNamespace(neurons=[
        stand_in_neuron([1.0], 0.0, "relu"),
        stand_in_neuron([-1.0], 0.0, "sigmoid"),
    ])
    src = mg.draw_network(layer).source
    assert re.findall(r"^\s*(y\d*) \[", src, re.M) == ["y1", "y2"]
    assert f"L1N1 [label=<{OPS['relu'].symbol}<BR/>" in src
    assert f"L1N2 [label=<{OPS['sigmoid'].symbol}<BR/>" in src


def test_real_mlp_network():
    model = mg.nn.MLP(2, [16, 16, 1], seed=0)
    src = mg.draw_network(model).source
    e = edges(src)
    assert len(e) == 2 * 16 + 16 * 16 + 16 * 1 + 1
    ids = re.findall(r"^\s*(\w+) \[label=", src, re.M)
    assert len(ids) == 2 + 16 + 16 + 1 + 1
    assert src.count(f"[label=<{OPS['relu'].symbol}<BR/>") == 32
    assert src.count("[label=<linear<BR/>") == 1
    # a weight's label is its value
    w = model.layers[1].neurons[4].w[7]
    assert re.search(rf'L1N8 -> L2N5 \[label="?{re.escape(f"{w.data:.2f}")}"? ', src)


def test_real_layer_and_neuron_networks():
    src = mg.draw_network(mg.nn.Layer(3, 2, activation="sigmoid", seed=1)).source
    assert re.findall(r"^\s*(x\d|y\d?) \[", src, re.M) == ["x1", "x2", "x3", "y1", "y2"]
    assert src.count(f"[label=<{OPS['sigmoid'].symbol}<BR/>") == 2
    src = mg.draw_network(mg.nn.Neuron(4, activation="gaussian", seed=1), show_weights=False).source
    assert len(edges(src)) == 4 + 1 and f"[label=<{OPS['gaussian'].symbol}>" in src


def test_network_refuses_bad_models():
    with pytest.raises(TypeError, match="draw_network: model must be"):
        mg.draw_network(object())
    broken = SimpleNamespace(layers=[
        SimpleNamespace(neurons=[stand_in_neuron([1.0, 2.0], 0.0, "tanh")]),
        SimpleNamespace(neurons=[stand_in_neuron([1.0, 2.0], 0.0, "tanh")]),
    ])
    with pytest.raises(ValueError, match="layer 2 neuron 1 has 2 weights but its layer gets 1 inputs"):
        mg.draw_network(broken)
    model, _ = stand_in_mlp()
    with pytest.raises(ValueError, match="6 weights, above max_edges=5"):
        mg.draw_network(model, max_edges=5)


def test_draw_network_max_edges_none_is_no_limit_and_bad_values_say_so():
    # None means no limit, as draw_dot's max_nodes=None; 3 inputs x 40 neurons = 120 weights
    model = mg.nn.Layer(3, 40, seed=0)
    src = mg.draw_network(model, max_edges=None).source
    assert src.count("->") == 120 + 40  # one edge per weight, one from each neuron to its output
    bad_values = (("10", TypeError), (2.5, TypeError), (True, TypeError), (0, ValueError), (-1, ValueError))
    for bad, kind in bad_values:
        with pytest.raises(kind, match="draw_network: max_edges must be"):
            mg.draw_network(model, max_edges=bad)


# --------------------------------------------------------- rendering with dot


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_writes_svg_and_png(tmp_path, fmt):
    y, _ = neuron_graph()
    model, call = stand_in_mlp()
    for name, g in (("neuron", mg.draw_dot(y)), ("mlp", mg.draw_dot(call([1.0, 2.0]), model=model)),
                    ("net", mg.draw_network(model))):
        out = Path(g.render(tmp_path / name, format=fmt))
        assert out.suffix == f".{fmt}"
        data = out.read_bytes()
        if fmt == "png":
            assert data.startswith(PNG_SIGNATURE)
        else:
            texts = svg_texts(data.decode("utf-8"))
            expected = {"neuron": ["w1", "data 0.7071", "grad -1.5", "tanh"],
                        "mlp": ["Layer 1 · Neuron 2", "Layer 2", "tanh", "w2"],
                        "net": ["x1", "y", "tanh", "2.00", "-1.00", "Input layer", "Output layer"]}[name]
            for text in expected:
                assert text in texts, (name, text, texts)


@needs_dot
def test_displays_inline_in_jupyter():
    IPython = pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter

    y, _ = neuron_graph()
    data, _ = DisplayFormatter().format(mg.draw_dot(y))
    assert "w1" in svg_texts(data["image/svg+xml"])
    model, _ = stand_in_mlp()
    data, _ = DisplayFormatter().format(mg.draw_network(model))
    assert "x1" in svg_texts(data["image/svg+xml"])
    assert IPython


@needs_dot
def test_displays_inline_in_a_real_notebook(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports the checkout
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import micrograd_tw as mg\n"
            "x = mg.Value(2.0, label='x')\n"
            "y = (x * 3).tanh(); y.backward()\n"
            "mg.draw_dot(y)"
        ),
        nbformat.v4.new_code_cell("mg.draw_network(mg.nn.MLP(2, [3, 1], seed=0))"),
    ]
    nbclient.NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(ROOT)}}).execute()
    (graph,), (network,) = (c.outputs for c in nb.cells)
    assert "x" in svg_texts(graph["data"]["image/svg+xml"])
    assert "tanh" in svg_texts(graph["data"]["image/svg+xml"])
    assert "x2" in svg_texts(network["data"]["image/svg+xml"])


# --------------------------------------------------------- without graphviz


def run_python(code: str, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_without_dot_source_works_and_rendering_says_how_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()  # a PATH with no dot program on it
    # ... and no graphviz-pure either (tests/test_rendering.py renders with it)
    code = r"""
import graphviz, micrograd_tw as mg
from micrograd_tw import viz
viz.PURE_PROGRAM = "no-such-graphviz-pure"
from micrograd_tw.viz import GraphvizNotFoundError
x = mg.Value(2.0, label="x"); y = (x * 3).tanh(); y.backward()
g = mg.draw_dot(y)
assert "data 2" in g.source
for name, attempt in [("render", lambda: g.render(r"OUT/g", format="svg")),
                      ("pipe", lambda: g.pipe(format="png")),
                      ("jupyter", lambda: g._repr_mimebundle_())]:
    try:
        attempt()
    except GraphvizNotFoundError as exc:
        assert isinstance(exc, graphviz.ExecutableNotFound) and isinstance(exc, RuntimeError)
        print(name, "::", exc)
    else:
        raise SystemExit(name + " did not raise")
""".replace("OUT", str(tmp_path))
    proc = run_python(code, str(empty))
    assert proc.returncode == 0, proc.stderr
    for name in ("render", "pipe", "jupyter"):
        assert f"{name} ::" in proc.stdout
    for hint in ("pip install graphviz-pure", "apt-get install graphviz", "brew install graphviz",
                 "conda install -c conda-forge graphviz", "winget install graphviz", "graphviz.org/download"):
        assert proc.stdout.count(hint) == 3, hint


def test_import_does_not_import_graphviz():
    proc = run_python("import sys, micrograd_tw\nassert 'graphviz' not in sys.modules", os.environ["PATH"])
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------ the README's pictures


@needs_dot
def test_make_pictures_writes_well_formed_svgs(tmp_path):
    import runpy

    script = runpy.run_path(str(ROOT / "docs" / "make_pictures.py"))
    written = script["main"](["--out", str(tmp_path)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "backprop_steps.gif", "backward_after.svg", "backward_before.svg", "mlp_graph.svg",
        "mlp_network.svg", "neuron_graph.svg",
    ]
    assert sorted(written) == sorted(tmp_path.iterdir())
    texts = {p.stem: svg_texts(p.read_text(encoding="utf-8")) for p in written if p.suffix == ".svg"}
    # the neuron after backward: dy/dx1 = w1 (1 - y²) = -3 · 0.5
    for text in ("w1", "data 0.7071", "grad -1.5", "tanh"):
        assert text in texts["neuron_graph"]
    for text in ("Layer 1 · Neuron 2", "Layer 2 · Neuron 1", "L", "grad 1"):
        assert text in texts["mlp_graph"]
    for text in ("x1", "x2", "y", "Input layer", "Hidden layer 2", "Output layer", "linear"):
        assert text in texts["mlp_network"]
    # L = (w·x + b − 1)² at x = 2, w = −1, b = 0.5: z = −1.5, ∂L/∂z = 2(z − 1) = −5,
    # ∂L/∂w = −5·x = −10, ∂L/∂b = −5, ∂L/∂x = −5·w = 5; before backward every grad is 0
    assert {"data 6.25", "grad 0"} <= set(texts["backward_before"])
    assert not any(t.startswith("grad") and t != "grad 0" for t in texts["backward_before"])
    for text in ("data 6.25", "grad 1", "grad -5", "grad -10", "grad 5"):
        assert text in texts["backward_after"]


@pytest.mark.parametrize("doc", ["how-backward-works.md", "how-backward-works.zh-TW.md"])
def test_how_backward_works_quotes_the_engine_and_shows_its_pictures(doc):
    # The page reads mg.grad's loop line by line: if the engine changes, the page must too.
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    quoted = text.split("<!-- quoted from micrograd_tw/engine.py, mg.grad", 1)[1]
    quoted = quoted.split("```python\n", 1)[1].split("```", 1)[0]
    engine = {line.strip() for line in (ROOT / "micrograd_tw" / "engine.py").read_text().splitlines()}
    lines = [line.strip() for line in quoted.splitlines() if line.strip()]
    assert len(lines) >= 8
    assert [line for line in lines if line not in engine] == []
    for picture in ("images/backward_before.svg", "images/backward_after.svg"):
        assert f"]({picture})" in text
        assert (ROOT / "docs" / picture).is_file()
