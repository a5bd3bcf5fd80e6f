"""Watching backprop: one picture per step, a Jupyter player and a self-contained HTML player.

    mg.draw_dot(y, step=3)                    # the graph after 3 steps of backward
    mg.draw_dot(y, step=3, forward=True)      # ... of the forward pass
    mg.viz.play_backward(y)                   # ipywidgets: play, slider, frame, the step's arithmetic
    mg.viz.save_steps_html(y, "backward.html")   # the same in one HTML file, for any browser

Frame k shows the graph while step k is processed (``mg.backward_steps``): the
node of step k is outlined in red, its grad is final, and each edge to a parent
carries its chain-rule product ``∂y/∂w += 0.5 × −2 = −1`` in red.  Grads not
reached yet read ``grad ?``; a grad still waiting for amounts reads ``grad 0.5 + …``.
Products already sent stay on their edges in grey.  The last frame (k = number
of steps) is the finished backward: every grad as ``y.backward()`` leaves it.

Every frame of a graph has the same nodes, edges, and label sizes (a cell's
width is fixed from the longest text it shows in any frame; a product not sent
yet is drawn in transparent ink), so Graphviz places every node in the same
place from the first frame to the last (a test compares the coordinates).
The HTML player draws the graph once and restyles that one drawing for each
step; the Jupyter player draws each frame when it is first shown.

The players' words (buttons, help line, counter, the lines' "is a leaf",
"done") are in the language of ``micrograd_tw.i18n`` when they are built:
繁體中文 with ``--lang zh-TW``, ``MICROGRAD_TW_LANG=zh-TW`` or a zh_TW locale.
Numbers, ∂ notation and the ``data``/``grad`` cells (the Value's attributes)
are the same in every language.
"""

from __future__ import annotations

import bisect
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import steps as st
from . import viz
from .engine import Value
from .i18n import _, language

__all__ = ["draw_frame", "play_backward", "play_forward", "save_steps_html", "steps_html"]

HIGHLIGHT = "#dc2626"  # the node and edges of the current step (red)
SENT = "#9ca3af"  # products already sent (grey)
UNSEEN = "transparent"  # products not sent yet: drawn, so that they take their place, but not seen
OP_HIGHLIGHT = "#fecaca"
CHAR_WIDTH = 8.0  # points per character at 12 pt: wider than any common sans-serif's digits
CELL_PAD = 10.0


@dataclass(frozen=True)
class Film:
    """Everything the frames of one graph share: its nodes, their names, the steps and lines."""

    nodes: list[Value]  # forward order, root last
    index: dict[Value, int]
    names: dict[Value, str]
    forward: bool
    backward_steps: list[st.BackwardStep]
    forward_steps: list[st.ForwardStep]
    lines: list[str]  # one per frame

    @property
    def frames(self) -> int:
        return len(self.nodes) + 1

    @property
    def order(self) -> list[Value]:
        """The node of each step: forward order going forward, backward's order going backward."""
        return [s.node for s in self.forward_steps] if self.forward else [s.node for s in self.backward_steps]


def film(root: Any, forward: bool = False, max_steps: int = st.STEP_LIMIT, who: str = "draw_dot") -> Film:
    nodes = st.graph_nodes(root, max_steps, who)
    names = st.display_names(nodes)
    back = st.backward_steps(root, max_steps=max_steps)
    fwd = st.forward_steps(root, max_steps=max_steps)
    lines = st.forward_lines(fwd, names) if forward else st.backward_lines(back, names)
    return Film(nodes, {v: i for i, v in enumerate(nodes)}, names, forward, back, fwd, lines)


def _check_step(step: Any, frames: int, who: str) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f"{who}: step must be an int, got {type(step).__name__}")
    if not 0 <= step < frames:
        raise ValueError(
            f"{who}: step={step} is out of range: this graph has {frames - 1} steps, "
            f"so step goes from 0 (before the first) to {frames - 1} (all done)"
        )
    return step


# ------------------------------------------------------------- what each frame shows


def _grad_changes(f: Film) -> list[list[tuple[int, str]]]:
    """For each node (forward order), its grad cell's text from each frame on where it changes.

    ``[(0, "grad ?"), (3, "grad 0.5 + …"), (5, "grad 0.7")]``: the text at frame k
    is the last entry whose frame is at most k.  A node's text changes only
    when an amount reaches it, so this is one entry per edge, not per frame.
    """
    n = len(f.nodes)
    consumers = [0] * n  # how many edges will bring an amount to each node
    for s in f.backward_steps:
        for c in s.contributions:
            consumers[f.index[c.parent]] += 1
    changes: list[list[tuple[int, str]]] = [[(0, "grad ?")] for _ in range(n)]
    changes[n - 1] = [(0, "grad 1")]
    received = [0] * n
    pending: dict[int, float] = {}
    for k, s in enumerate(f.backward_steps):  # step k's amounts show from frame k + 1
        for c in s.contributions:
            j = f.index[c.parent]
            pending[j] = pending[j] + c.amount if j in pending else c.amount
            received[j] += 1
            more = " + …" if received[j] < consumers[j] else ""
            text = f"grad {st.num(pending[j])}{more}"
            if changes[j][-1][0] == k + 1:  # x * x: two amounts in one step
                changes[j][-1] = (k + 1, text)
            else:
                changes[j].append((k + 1, text))
    return changes


def _at(changes: list[tuple[int, str]], frame: int) -> str:
    return changes[bisect.bisect_right(changes, (frame, "\uffff")) - 1][1]


def _current(f: Film, step: int) -> Value | None:
    """The node processed at ``step`` (None at the last frame: all done)."""
    return f.order[step] if step < len(f.nodes) else None


def _width(texts: list[str]) -> int:
    return round(max(len(t) for t in texts) * CHAR_WIDTH + CELL_PAD)


def _escape(text: str) -> str:
    """Text for an HTML-like label: cut as draw_dot cuts, escaped (Graphviz expands \\N even there)."""
    if len(text) > viz.MAX_LABEL:
        text = text[: viz.MAX_LABEL - 1] + "…"
    return html.escape(text.replace("\\", "\\\\"))


def _cell(text: str, width: int, bg: str = "", bold: bool = False) -> str:
    # Left-aligned in a cell of fixed size: the text may change, the cell never moves.
    fill = f' BGCOLOR="{bg}"' if bg else ""
    inner = f"<B>{_escape(text)}</B>" if bold else _escape(text)
    return f'<TD WIDTH="{width}" HEIGHT="22" FIXEDSIZE="TRUE" ALIGN="LEFT" COLOR="black"{fill}>{inner}</TD>'


class _Frames:
    """Builds frame k of a film as a Digraph; the texts of every frame are worked out once.

    Every frame has the same nodes, edges and cell sizes, in the same order;
    only texts and colours differ, so dot lays every frame out alike.
    Element ids (``n3``, ``op3``, ``e3_0`` for node 3's first parent edge,
    ``r3`` from its op to it) let the HTML player restyle one drawing.
    """

    def __init__(self, f: Film, rankdir: str) -> None:
        if rankdir not in viz.RANKDIRS:
            raise ValueError(f"rankdir must be one of {', '.join(viz.RANKDIRS)}, got {rankdir!r}")
        self.f = f
        self.rankdir = rankdir
        n = len(f.nodes)
        self.grads = [] if f.forward else _grad_changes(f)
        self.datas = [f"data {st.num(v.data)}" for v in f.nodes]
        self.data_width = [_width([d, "data ?"]) for d in self.datas]
        self.grad_width = [_width([t for _, t in changes]) for changes in self.grads] or [0] * n
        self.name_width = [_width([f.names[v][: viz.MAX_LABEL]]) for v in f.nodes]
        # The step at which each node is processed (and, forward, its value appears).
        self.step_of = [0] * n
        for k, v in enumerate(f.order):
            self.step_of[f.index[v]] = k
        # Every parent edge: its id, its chain-rule product, and the step that sends it.
        self.edges: list[tuple[str, int, int, str]] = []  # (id, parent index, node index, text)
        r = f.names[f.nodes[-1]]
        grad_of = {s.node: s for s in f.backward_steps}
        for i, v in enumerate(f.nodes):
            s = grad_of[v]
            for slot, c in enumerate(s.contributions):
                text = st.edge_text(r, f.names[c.parent], c, s.grad)
                self.edges.append((f"e{i}_{slot}", f.index[c.parent], i, text))

    def graph(self, step: int) -> Any:
        f = self.f
        current = _current(f, step)
        g = viz.digraph(
            name="forward_steps" if f.forward else "backward_steps",
            format="svg",
            graph_attr={"rankdir": self.rankdir, "fontname": viz.FONT, "nodesep": "0.25",
                        "ranksep": "0.35", "bgcolor": "white"},
            node_attr={"fontname": viz.FONT, "fontsize": "12"},
            edge_attr={"fontname": viz.FONT, "fontsize": "10", "arrowsize": "0.7"},
        )
        root = f.nodes[-1]
        # Root first, as draw_dot declares: dot then stacks parents in slot order.
        for i in reversed(range(len(f.nodes))):
            v = f.nodes[i]
            here = v is current
            mark = "#fef3c7" if here else ""
            cells = [_cell(f.names[v], self.name_width[i], bold=True)]
            if f.forward:
                known = self.step_of[i] <= step
                cells.append(_cell(self.datas[i] if known else "data ?", self.data_width[i], mark))
            else:
                cells.append(_cell(self.datas[i], self.data_width[i]))
                cells.append(_cell(_at(self.grads[i], step), self.grad_width[i], mark))
            kind = "output" if v is root else "value" if v.op else "input"
            label = (
                f'<<TABLE BORDER="2" COLOR="{HIGHLIGHT if here else UNSEEN}" CELLBORDER="1" '
                f'CELLSPACING="0" CELLPADDING="2" BGCOLOR="{viz.COLORS[kind]}">'
                f'<TR>{"".join(cells)}</TR></TABLE>>'
            )
            g.node(f"n{i}", label, id=f"n{i}", shape="none", margin="0")
            if v.op:
                g.node(f"op{i}", f"<{_escape(st.symbol(v.op))}>", id=f"op{i}", shape="ellipse",
                       style="filled", fillcolor=OP_HIGHLIGHT if here else viz.COLORS["op"],
                       color=HIGHLIGHT if here else "black", margin="0.05,0.02", height="0.3")
        hot = {"color": HIGHLIGHT, "penwidth": "2"}
        for edge_id, p, i, text in self.edges:
            k = self.step_of[i]
            attrs: dict[str, str] = {"id": edge_id}
            if not f.forward:  # the product is drawn in every frame, so that it keeps its place
                attrs.update(label=text, fontcolor=HIGHLIGHT if k == step else SENT if k < step else UNSEEN)
            if k == step:
                attrs.update(hot)
            g.edge(f"n{p}", f"op{i}", **attrs)
        for i, v in enumerate(f.nodes):
            if v.op:
                g.edge(f"op{i}", f"n{i}", id=f"r{i}", **(hot if v is current else {}))
        return g


def draw_frame(
    root: Any, step: int | None, *, forward: bool = False, rankdir: str = "LR",
    max_steps: int = st.STEP_LIMIT,
) -> Any:
    """``draw_dot(root, step=k)``: the graph at step k of backward (or of the forward pass).

    ``step=None``: the last frame (everything computed).
    """
    f = film(root, forward, max_steps)
    step = f.frames - 1 if step is None else _check_step(step, f.frames, "draw_dot")
    return _Frames(f, rankdir).graph(step)


def _svg(graph: Any) -> str:
    """The frame as an inline <svg> element (no XML prolog, doctype or comments)."""
    svg = graph.pipe(format="svg").decode("utf-8")
    svg = svg[svg.find("<svg"):]
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S).strip()


# ------------------------------------------------------------------ the players


def _widget(root: Any, forward: bool, rankdir: str, max_steps: int, interval: int, who: str) -> Any:
    try:
        import ipywidgets as widgets
    except ImportError as exc:
        raise ImportError(
            f"{who} needs ipywidgets: pip install ipywidgets (or micrograd-tw[examples])"
        ) from exc
    _check_interval(interval, who)
    f = film(root, forward, max_steps, who)
    frames = _Frames(f, rankdir)
    svgs: dict[int, str] = {}  # drawn when first shown: a step is one dot run

    def svg(k: int) -> str:
        if k not in svgs:
            svgs[k] = _svg(frames.graph(k))
        return svgs[k]

    last = f.frames - 1
    play = widgets.Play(value=0, min=0, max=last, step=1, interval=interval, description=_("Play"))
    slider = widgets.IntSlider(value=0, min=0, max=last, step=1, description=_("step"))
    widgets.jslink((play, "value"), (slider, "value"))
    frame = widgets.HTML(value=svg(0))
    line = widgets.HTML(value=_line_html(f.lines[0]))

    def show(change: dict[str, Any]) -> None:
        k = change["new"]
        frame.value = svg(k)
        line.value = _line_html(f.lines[k])

    slider.observe(show, names="value")
    box = widgets.VBox([widgets.HBox([play, slider]), frame, line])
    # The parts, for code (and tests) that drive the player without a browser.
    box.slider, box.play, box.frame, box.line = slider, play, frame, line
    return box


def _check_interval(interval: Any, who: str) -> None:
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"{who}: interval must be a positive number of milliseconds, got {interval!r}")


def _line_html(line: str) -> str:
    # one chain-rule product per line
    text = html.escape(line.replace("; ", "\n"))
    return f'<div style="font-family: monospace; white-space: pre-wrap">{text}</div>'


def play_backward(
    root: Any, *, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT, interval: int = 900
) -> Any:
    """A Jupyter player of ``root.backward()``: Play/Pause, a step slider, the frame, the step's arithmetic.

    Returns an ipywidgets ``VBox``; its ``.slider`` drives the frame shown
    (``.frame``, an HTML widget holding the SVG) and the chain-rule line under
    it (``.line``).  ``interval``: milliseconds per step when playing.  Each
    frame is drawn by Graphviz when first shown.  No ``.grad`` is changed.
    """
    return _widget(root, False, rankdir, max_steps, interval, "play_backward")


def play_forward(
    root: Any, *, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT, interval: int = 900
) -> Any:
    """A Jupyter player of the forward pass: values appear in the order they were computed."""
    return _widget(root, True, rankdir, max_steps, interval, "play_forward")


# The page: one drawing (the last frame, laid out by dot) that a small script
# restyles for each step from the data below it: texts of the grad (or data)
# cells, which node is current, which products are sent.  A frame per step as
# a separate SVG would make a 100-node graph's page 24 MB and take seconds.
PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, "Noto Sans CJK TC", "Microsoft JhengHei", "PingFang TC", sans-serif;
  margin: 1em; }}
#help {{ color: #4b5563; font-size: 0.9em; margin: 0 0 0.5em 0; }}
#controls {{ display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.5em; }}
#slider {{ width: 20em; }}
#line {{ font-family: monospace; white-space: pre-wrap; margin-top: 0.5em; min-height: 2.5em; }}
#frame {{ overflow: auto; }}
#frame.fit svg {{ max-width: 100%; height: auto; }}
.hot path {{ stroke: {hot}; stroke-width: 2; }}
.hot polygon {{ stroke: {hot}; fill: {hot}; }}
.hot ellipse {{ stroke: {hot}; fill: {op_hot}; }}
</style>
</head>
<body>
<h1 style="font-size: 1.2em">{title}</h1>
<div id="controls">
<button id="first" title="{t[first_tip]}">{t[first]}</button>
<button id="prev" title="{t[prev_tip]}">{t[prev]}</button>
<button id="play" title="{t[play_tip]}">{t[play]}</button>
<button id="next" title="{t[next_tip]}">{t[next]}</button>
<button id="last" title="{t[last_tip]}">{t[last]}</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="{t[slider]}">
<label><input id="fit" type="checkbox" checked> {t[fit]}</label>
<span id="counter"></span>
</div>
<p id="help">{t[help]}</p>
<div id="frame" class="fit">
{svg}
</div>
<div id="line"></div>
<script id="steps" type="application/json">{data}</script>
<script>
(function () {{
  var D = JSON.parse(document.getElementById("steps").textContent);
  var last = D.lines.length - 1, k = 0, timer = null;
  var slider = document.getElementById("slider");
  var svg = document.querySelector("#frame svg");
  var ns = "http://www.w3.org/2000/svg";
  var box = document.createElementNS(ns, "rect");  // the outline of the current node
  box.setAttribute("fill", "none"); box.setAttribute("stroke", "{hot}");
  box.setAttribute("stroke-width", "3");
  svg.querySelector("g.graph").appendChild(box);
  // Each node's changing cell: its last text (grad going backward, data going forward).
  var cells = D.names.map(function (_, i) {{
    var texts = document.getElementById("n" + i).getElementsByTagName("text");
    return texts[texts.length - 1];
  }});
  function gradAt(j, k) {{  // the last change of node j's grad text at or before frame k
    var c = D.grads[j], t = c[0][1];
    for (var m = 0; m < c.length && c[m][0] <= k; m++) t = c[m][1];
    return t;
  }}
  function show(i) {{
    k = Math.max(0, Math.min(last, i));
    for (var j = 0; j < cells.length; j++) {{
      cells[j].textContent = D.forward ? (D.step[j] <= k ? D.data[j] : "data ?") : gradAt(j, k);
    }}
    var cur = k < last ? D.order[k] : -1;
    D.edges.forEach(function (e) {{  // [id, node, text]
      var g = document.getElementById(e[0]), sent = D.step[e[1]];
      g.classList.toggle("hot", sent === k);
      var t = g.getElementsByTagName("text")[0];
      if (t) t.setAttribute("fill", sent === k ? "{hot}" : sent < k ? "{sent}" : "transparent");
    }});
    for (var j = 0; j < cells.length; j++) {{
      var r = document.getElementById("r" + j), op = document.getElementById("op" + j);
      if (r) r.classList.toggle("hot", j === cur);
      if (op) op.classList.toggle("hot", j === cur);
    }}
    if (cur >= 0) {{
      var b = document.getElementById("n" + cur).getBBox();
      box.setAttribute("x", b.x - 1); box.setAttribute("y", b.y - 1);
      box.setAttribute("width", b.width + 2); box.setAttribute("height", b.height + 2);
      box.setAttribute("visibility", "visible");
    }} else box.setAttribute("visibility", "hidden");
    slider.value = k;
    document.getElementById("counter").textContent =
      D.text.counter.replace("{{k}}", k).replace("{{last}}", last);
    document.getElementById("line").textContent = D.lines[k].split("; ").join("\\n");
  }}
  function stop() {{
    if (timer) {{ clearInterval(timer); timer = null; }}
    document.getElementById("play").textContent = D.text.play;
  }}
  function play() {{
    if (timer) {{ stop(); return; }}
    if (k === last) show(0);
    document.getElementById("play").textContent = D.text.pause;
    // Stop on the tick that shows the last frame, so the button reads "play" with it.
    timer = setInterval(function () {{ show(k + 1); if (k >= last) stop(); }}, {interval});
  }}
  document.getElementById("first").onclick = function () {{ stop(); show(0); }};
  document.getElementById("prev").onclick = function () {{ stop(); show(k - 1); }};
  document.getElementById("next").onclick = function () {{ stop(); show(k + 1); }};
  document.getElementById("last").onclick = function () {{ stop(); show(last); }};
  document.getElementById("play").onclick = play;
  document.getElementById("fit").onchange = function (e) {{
    document.getElementById("frame").classList.toggle("fit", e.target.checked);
  }};
  slider.oninput = function () {{ stop(); show(parseInt(slider.value, 10)); }};
  document.addEventListener("keydown", function (e) {{
    if (e.target === slider) return;  // the slider moves itself with the arrow keys
    if (e.key === "ArrowRight") {{ stop(); show(k + 1); e.preventDefault(); }}
    else if (e.key === "ArrowLeft") {{ stop(); show(k - 1); e.preventDefault(); }}
    else if (e.key === " ") {{ play(); e.preventDefault(); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""


def steps_html(
    root: Any, *, forward: bool = False, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT,
    interval: int = 900, title: str | None = None, who: str = "save_steps_html",
) -> str:
    """The HTML player as text (see ``save_steps_html``)."""
    _check_interval(interval, who)
    f = film(root, forward, max_steps, who)
    frames = _Frames(f, rankdir)
    data = {
        "forward": f.forward,
        "names": [f.names[v] for v in f.nodes],
        "lines": f.lines,
        "order": [f.index[v] for v in f.order],  # the current node of each step
        "step": frames.step_of,  # the step of each node
        "data": frames.datas,
        "grads": frames.grads,
        "edges": [] if f.forward else [[edge_id, i] for edge_id, _p, i, _t in frames.edges],
        "text": {"counter": _("step {k} / {last}"), "play": _("▶ play"), "pause": _("⏸ pause")},
    }
    # "</" inside a script element would end it: JSON with "<" escaped is inert.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    if title is None:
        title = _("The forward pass, step by step") if forward else _("Backprop, step by step")
    return PAGE.format(title=html.escape(title), last=f.frames - 1, svg=_svg(frames.graph(f.frames - 1)),
                       data=text, interval=interval, hot=HIGHLIGHT, op_hot=OP_HIGHLIGHT, sent=SENT,
                       lang="zh-Hant-TW" if language() == "zh-TW" else "en", t=_page_words(f))


def _page_words(f: Film) -> dict[str, str]:
    """The page's buttons, tooltips and help line, in the user's language (HTML-escaped)."""
    root = f.names[f.nodes[-1]]
    if f.forward:
        help_line = _("← → one step back or forward, space plays and pauses. At each step the node "
                      "outlined in red computes its value from its inputs; data ? is a value not "
                      "computed yet.")
    else:
        parent, node = _("parent"), _("node")
        rule = (f"{st.partial_name(root, parent)} += {st.partial_name(node, parent)} × "
                f"{st.partial_name(root, node)}")
        help_line = _("← → one step back or forward, space plays and pauses. At each step the node "
                      "outlined in red sends {rule} (the chain rule) along each edge to a parent; "
                      "grad ? is a gradient not reached yet.").format(rule=rule)
    words = {
        "first": _("« first"), "first_tip": _("first step"),
        "prev": _("◀ back"), "prev_tip": _("previous step (←)"),
        "play": _("▶ play"), "play_tip": _("play / pause (space)"),
        "next": _("next ▶"), "next_tip": _("next step (→)"),
        "last": _("last »"), "last_tip": _("last step"),
        "slider": _("step"), "fit": _("fit the width"), "help": help_line,
    }
    return {key: html.escape(text) for key, text in words.items()}


def save_steps_html(
    root: Any, path: str | Path, *, forward: bool = False, rankdir: str = "LR",
    max_steps: int = st.STEP_LIMIT, interval: int = 900, title: str | None = None,
) -> Path:
    """Write one self-contained HTML file that steps through ``root``'s backward (or forward) pass.

    The drawing is inline SVG and the page loads nothing (no network, no
    external scripts or fonts).  Buttons, a slider, ← → keys, space to play.
    Returns the path written.  No ``.grad`` is changed.
    """
    text = steps_html(root, forward=forward, rankdir=rankdir, max_steps=max_steps, interval=interval,
                      title=title)
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
