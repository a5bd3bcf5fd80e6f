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
place from the first frame to the last.  Rendering all frames lays the graph
out once and pins every position (``neato -n2``), in one Graphviz run.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import steps as st
from . import viz
from .engine import Value, parents

__all__ = ["draw_frame", "render_frames", "play_backward", "play_forward", "save_steps_html"]

HIGHLIGHT = "#dc2626"  # the node and edges of the current step (red)
SENT = "#9ca3af"  # products already sent (grey)
UNSEEN = "transparent"  # products not sent yet: drawn, so that they take their place, but not seen
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


def _grad_texts(f: Film) -> list[list[str]]:
    """For each frame, each node's grad cell text (nodes in forward order)."""
    n = len(f.nodes)
    consumers = [0] * n  # how many edges will bring an amount to each node
    for s in f.backward_steps:
        for c in s.contributions:
            consumers[f.index[c.parent]] += 1
    received = [0] * n
    pending: dict[int, float] = {f.index[f.nodes[-1]]: 1.0}
    frames = []
    for k in range(n + 1):
        texts = []
        for i in range(n):
            if i not in pending:
                texts.append("grad ?")
            elif received[i] < consumers[i]:
                texts.append(f"grad {st.num(pending[i])} + …")
            else:
                texts.append(f"grad {st.num(pending[i])}")
        frames.append(texts)
        if k < n:  # step k sends its amounts: visible from frame k + 1
            s = f.backward_steps[k]
            for c in s.contributions:
                j = f.index[c.parent]
                pending[j] = pending[j] + c.amount if j in pending else c.amount
                received[j] += 1
    return frames


def _current(f: Film, step: int) -> Value | None:
    """The node processed at ``step`` (None at the last frame: all done)."""
    if step >= len(f.nodes):
        return None
    return f.forward_steps[step].node if f.forward else f.backward_steps[step].node


def _width(texts: list[str]) -> int:
    return round(max(len(t) for t in texts) * CHAR_WIDTH + CELL_PAD)


def _cell(text: str, width: int, bg: str = "") -> str:
    fill = f' BGCOLOR="{bg}"' if bg else ""
    return f'<TD WIDTH="{width}" HEIGHT="22" FIXEDSIZE="TRUE" COLOR="black"{fill}>{html.escape(text)}</TD>'


class _Frames:
    """Builds frame k of a film as a Digraph; the texts of every frame are worked out once."""

    def __init__(self, f: Film, rankdir: str) -> None:
        self.f = f
        self.rankdir = rankdir
        n = len(f.nodes)
        self.grads = None if f.forward else _grad_texts(f)
        datas = [f"data {st.num(v.data)}" for v in f.nodes]
        self.data_width = [_width([d, "data ?"]) for d in datas]
        self.datas = datas
        if self.grads is not None:
            self.grad_width = [_width([frame[i] for frame in self.grads]) for i in range(n)]
        self.name_width = [_width([f.names[v]]) for v in f.nodes]
        # The chain-rule product of every parent edge, and the step that sends it.
        self.edge_label: dict[tuple[int, int], tuple[str, int]] = {}
        if not f.forward:
            r = f.names[f.nodes[-1]]
            for k, s in enumerate(f.backward_steps):
                for slot, c in enumerate(s.contributions):
                    text = st.edge_text(r, f.names[c.parent], c, s.grad)
                    self.edge_label[(f.index[s.node], slot)] = (text, k)
        self.order = {s.node: k for k, s in enumerate(f.forward_steps if f.forward else f.backward_steps)}

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
            cells = [_cell(f.names[v], self.name_width[i]).replace(">", "><B>", 1).replace("</TD>", "</B></TD>")]
            if f.forward:
                known = self.order[v] <= step
                cells.append(_cell(self.datas[i] if known else "data ?", self.data_width[i],
                                   "#fef3c7" if here else ""))
            else:
                cells.append(_cell(self.datas[i], self.data_width[i]))
                assert self.grads is not None
                cells.append(_cell(self.grads[step][i], self.grad_width[i], "#fef3c7" if here else ""))
            kind = "output" if v is root else "value" if v.op else "input"
            label = (
                f'<<TABLE BORDER="2" COLOR="{HIGHLIGHT if here else UNSEEN}" CELLBORDER="1" '
                f'CELLSPACING="0" CELLPADDING="2" BGCOLOR="{viz.COLORS[kind]}"><TR>{"".join(cells)}</TR></TABLE>>'
            )
            g.node(f"n{i}", label, shape="none", margin="0")
            if v.op:
                g.node(f"op{i}", f"<{html.escape(st.symbol(v.op))}>", shape="ellipse", style="filled",
                       fillcolor="#fecaca" if here else viz.COLORS["op"],
                       color=HIGHLIGHT if here else "black", margin="0.05,0.02", height="0.3")
        for i, v in enumerate(f.nodes):
            if not v.op:
                continue
            for slot, p in enumerate(parents(v)):
                attrs: dict[str, str] = {}
                if not f.forward:
                    text, k = self.edge_label[(i, slot)]
                    ink = HIGHLIGHT if k == step else SENT if k < step else UNSEEN
                    attrs = {"label": text, "fontcolor": ink}
                    if k == step:
                        attrs.update(color=HIGHLIGHT, penwidth="2")
                elif v is current:
                    attrs = {"color": HIGHLIGHT, "penwidth": "2"}
                g.edge(f"n{f.index[p]}", f"op{i}", **attrs)
            g.edge(f"op{i}", f"n{i}", **({"color": HIGHLIGHT, "penwidth": "2"} if v is current else {}))
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
    if rankdir not in viz.RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(viz.RANKDIRS)}, got {rankdir!r}")
    return _Frames(f, rankdir).graph(step)


# ------------------------------------------------------------- every frame at once


_POINTS = 72.0


def render_frames(
    root: Any, *, forward: bool = False, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT,
    who: str = "render_frames",
) -> tuple[list[str], list[str]]:
    """Every frame as SVG text, and each frame's line: ``(svgs, lines)``.

    The graph is laid out once by dot; every frame is then drawn at those
    positions by ``neato -n2``, all frames in one Graphviz run.
    """
    if rankdir not in viz.RANKDIRS:
        raise ValueError(f"{who}: rankdir must be one of {', '.join(viz.RANKDIRS)}, got {rankdir!r}")
    f = film(root, forward, max_steps, who)
    frames = _Frames(f, rankdir)
    graphs = [frames.graph(k) for k in range(f.frames)]
    layout = json.loads(_pipe(graphs[-1].source, "dot", "json"))
    pinned = "\n".join(_pin(g.source, layout) for g in graphs)
    out = _pipe(pinned, "neato", "svg", "-n2")
    svgs = [_strip_prolog(s) for s in re.split(r"(?=<\?xml )", out) if s.strip()]
    if len(svgs) != len(graphs):
        raise RuntimeError(f"{who}: Graphviz drew {len(svgs)} frames for {len(graphs)} graphs")
    return svgs, f.lines


def _pipe(source: str, engine: str, fmt: str, *flags: str) -> str:
    import subprocess

    try:
        done = subprocess.run(
            [engine, f"-T{fmt}", *flags], input=source.encode("utf-8"), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise viz.GraphvizNotFoundError() from None
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz's {engine} failed: {done.stderr.decode('utf-8', 'replace')[:500]}")
    return done.stdout.decode("utf-8")


def _pin(source: str, layout: dict[str, Any]) -> str:
    """The frame's DOT source with every node, edge and edge label at the layout's place."""
    objects = layout.get("objects", [])
    node_pos = {o["name"]: o["pos"] for o in objects if "pos" in o}
    name_of = {o["_gvid"]: o["name"] for o in objects}
    edges: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for edge in layout.get("edges", []):  # parallel edges (x * x) carry the same text
        edges.setdefault((name_of[edge["tail"]], name_of[edge["head"]]), []).append(edge)
    used: dict[tuple[str, str], int] = {}
    out = [f'\tgraph [bb="{layout.get("bb", "")}"]']
    for line in source.rstrip().rstrip("}").splitlines()[1:]:
        edge_match = re.match(r"^\t(\w+) -> (\w+)", line)
        node_match = re.match(r"^\t(\w+)(?: \[|$)", line)
        if edge_match:
            key = (edge_match.group(1), edge_match.group(2))
            k = used.get(key, 0)
            used[key] = k + 1
            edge = edges[key][k]
            extra = f'pos="{edge["pos"]}"' + (f' lp="{edge["lp"]}"' if "lp" in edge else "")
            line = _add_attr(line, extra)
        elif node_match and node_match.group(1) in node_pos:
            line = _add_attr(line, f'pos="{node_pos[node_match.group(1)]}"')
        out.append(line)
    return source.splitlines()[0] + "\n" + "\n".join(out) + "\n}\n"


def _add_attr(line: str, attr: str) -> str:
    if line.endswith("]"):
        return line[:-1] + f" {attr}]"
    return f"{line} [{attr}]"


def _strip_prolog(svg: str) -> str:
    """The <svg> element alone: inline SVG needs no XML prolog, doctype or comments."""
    start = svg.find("<svg")
    return svg[start:].strip() if start >= 0 else svg.strip()


# ------------------------------------------------------------------ the players


def _widget(root: Any, forward: bool, rankdir: str, max_steps: int, interval: int, who: str) -> Any:
    try:
        import ipywidgets as widgets
    except ImportError as exc:
        raise ImportError(f"{who} needs ipywidgets: pip install ipywidgets (or micrograd-tw[examples])") from exc
    svgs, lines = render_frames(root, forward=forward, rankdir=rankdir, max_steps=max_steps, who=who)
    last = len(svgs) - 1
    play = widgets.Play(value=0, min=0, max=last, step=1, interval=interval, description="Play")
    slider = widgets.IntSlider(value=0, min=0, max=last, step=1, description="step",
                               continuous_update=True)
    widgets.jslink((play, "value"), (slider, "value"))
    frame = widgets.HTML(value=svgs[0])
    line = widgets.HTML(value=_line_html(lines[0]))

    def show(change: dict[str, Any]) -> None:
        k = change["new"]
        frame.value = svgs[k]
        line.value = _line_html(lines[k])

    slider.observe(show, names="value")
    box = widgets.VBox([widgets.HBox([play, slider]), frame, line])
    box.frames, box.lines, box.slider, box.play, box.frame, box.line = svgs, lines, slider, play, frame, line
    return box


def _line_html(line: str) -> str:
    return f'<div style="font-family: monospace; white-space: pre-wrap">{html.escape(line)}</div>'


def play_backward(root: Any, *, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT, interval: int = 900) -> Any:
    """A Jupyter player of ``root.backward()``: Play/Pause, a step slider, the frame, the step's arithmetic.

    Returns an ipywidgets ``VBox``; its ``.slider`` drives the frame shown
    (``.frame``) and the chain-rule line under it (``.line``).  ``interval``:
    milliseconds per step when playing.  No ``.grad`` is changed.
    """
    return _widget(root, False, rankdir, max_steps, interval, "play_backward")


def play_forward(root: Any, *, rankdir: str = "LR", max_steps: int = st.STEP_LIMIT, interval: int = 900) -> Any:
    """A Jupyter player of the forward pass: values appear in the order they were computed."""
    return _widget(root, True, rankdir, max_steps, interval, "play_forward")


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
#controls {{ display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.5em; }}
#line {{ font-family: monospace; white-space: pre-wrap; margin-top: 0.5em; min-height: 2.5em; }}
.frame {{ display: none; overflow: auto; }}
.frame.shown {{ display: block; }}
</style>
</head>
<body>
<h1 style="font-size: 1.2em">{title}</h1>
<div id="controls">
<button id="first" title="first step">⏮</button>
<button id="prev" title="previous step (←)">◀</button>
<button id="play" title="play / pause (space)">▶ play</button>
<button id="next" title="next step (→)">▶▶</button>
<button id="last" title="last step">⏭</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<span id="counter"></span>
</div>
{frames}
<div id="line"></div>
<script>
(function () {{
  var lines = {lines};
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var k = 0, timer = null;
  function show(i) {{
    k = Math.max(0, Math.min(frames.length - 1, i));
    for (var j = 0; j < frames.length; j++) frames[j].classList.toggle("shown", j === k);
    slider.value = k;
    document.getElementById("counter").textContent = "step " + k + " / " + (frames.length - 1);
    document.getElementById("line").textContent = lines[k];
  }}
  function stop() {{ if (timer) {{ clearInterval(timer); timer = null; }}
    document.getElementById("play").textContent = "▶ play"; }}
  function play() {{
    if (timer) {{ stop(); return; }}
    if (k === frames.length - 1) show(0);
    document.getElementById("play").textContent = "⏸ pause";
    timer = setInterval(function () {{ if (k >= frames.length - 1) stop(); else show(k + 1); }}, {interval});
  }}
  document.getElementById("first").onclick = function () {{ stop(); show(0); }};
  document.getElementById("prev").onclick = function () {{ stop(); show(k - 1); }};
  document.getElementById("next").onclick = function () {{ stop(); show(k + 1); }};
  document.getElementById("last").onclick = function () {{ stop(); show(frames.length - 1); }};
  document.getElementById("play").onclick = play;
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
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"{who}: interval must be a positive number of milliseconds, got {interval!r}")
    svgs, lines = render_frames(root, forward=forward, rankdir=rankdir, max_steps=max_steps, who=who)
    frames = "\n".join(
        f'<div class="frame" data-step="{k}">{svg}</div>' for k, svg in enumerate(svgs)
    )
    if title is None:
        title = "The forward pass, step by step" if forward else "Backprop, step by step"
    # </ inside a script string would end the script: JSON with "<" escaped is safe.
    lines_js = json.dumps(lines, ensure_ascii=False).replace("<", "\\u003c")
    return PAGE.format(title=html.escape(title), last=len(svgs) - 1, frames=frames,
                       lines=lines_js, interval=interval)


def save_steps_html(
    root: Any, path: str | Path, *, forward: bool = False, rankdir: str = "LR",
    max_steps: int = st.STEP_LIMIT, interval: int = 900, title: str | None = None,
) -> Path:
    """Write one self-contained HTML file that steps through ``root``'s backward (or forward) pass.

    Every frame is inline SVG; the page loads nothing (no network, no external
    scripts or fonts).  Buttons, a slider, ← → keys and space to play.
    Returns the path written.  No ``.grad`` is changed.
    """
    text = steps_html(root, forward=forward, rankdir=rankdir, max_steps=max_steps, interval=interval,
                      title=title)
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
