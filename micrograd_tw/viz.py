"""Pictures: ``draw_dot`` for computation graphs, ``draw_network`` for networks.

    g = mg.draw_dot(y)                  # displays inline in Jupyter
    g.render("graph", format="svg")     # or "png", "pdf"

Both return a ``graphviz.Digraph``.  Building one and reading its ``.source``
needs only the Python package ``graphviz``.  Rendering (``render``, ``pipe``,
Jupyter's inline display) uses Graphviz's ``dot`` program when it is on PATH,
and otherwise the ``graphviz-pure`` package (a dependency: a self-contained
port of Graphviz) for SVG, PNG and JPEG; with neither it raises
``GraphvizNotFoundError`` saying how to install one.  graphviz-pure's PNGs have
no Chinese, Japanese or Korean glyphs, so a PNG of such text warns and
suggests SVG.  ``graphviz`` is imported inside the functions, so
``import micrograd_tw`` never needs it.

Labels are Graphviz HTML-like labels: every user text goes through
``html.escape`` (and backslashes are doubled, since Graphviz expands ``\\N``
and friends even there), so quotes, braces, ``|``, ``<``, ``>`` and CJK text
come through unchanged.  Record labels were tried first: Graphviz drops the
space in ``權重 w`` there.
"""

from __future__ import annotations

import functools
import html
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ops
from .engine import Value, operands, parents, toposort
from .i18n import _, ngettext
from .steps import STEP_LIMIT

__all__ = [
    "draw_dot", "draw_network", "GraphvizNotFoundError", "find_renderer",
    "play_backward", "play_forward", "save_steps_html", "steps_html",
]

# The step-through players live in micrograd_tw.player, loaded on first use (PEP 562).
if TYPE_CHECKING:
    from .player import play_backward, play_forward, save_steps_html, steps_html
_PLAYER = ("play_backward", "play_forward", "save_steps_html", "steps_html")


def __getattr__(name: str) -> Any:
    if name in _PLAYER:
        from . import player

        return getattr(player, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

INSTALL_HELP = """\
Rendering needs Graphviz's `dot` program, which was not found on PATH, or the
graphviz-pure package, which was not found either (it is a dependency of
micrograd-tw: pip install graphviz-pure). Building the graph and reading its
.source work without them. Or install Graphviz:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz  (or the installer from https://graphviz.org/download/),
                  then add its bin folder to PATH
and restart Python (or the Jupyter kernel)."""

# Fill colours: who is who in the graph.
COLORS = {
    "input": "#dbeafe",  # a leaf that is not a parameter: data (blue)
    "parameter": "#fde68a",  # a weight or bias, to be learnt (amber)
    "output": "#bbf7d0",  # the root: what backward starts from (green)
    "value": "#ffffff",  # an intermediate result
    "op": "#f3f4f6",  # an operation node
}
GRAD_HOT = (239, 68, 68)  # the |grad| shade at its largest (red)
GRAD_NONFINITE = "#c084fc"  # inf or NaN gradient (purple)
WEIGHT_COLORS = {"+": "#2563eb", "-": "#dc2626", "0": "#9ca3af"}  # by the weight's sign
# One name that both renderers know: Graphviz finds Arial or its look-alike
# through fontconfig, and graphviz-pure has Arial's metrics built in (it takes
# a list such as "Helvetica,Arial" for one unknown name and lays out with Times').
FONT = "Arial"
RANKDIRS = ("LR", "TB", "RL", "BT")
# draw_network's edges leave a node on its downstream side and enter the next on its
# upstream side: free to leave anywhere, dot loops some over a column's caption.
FLOW_PORTS = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"), "BT": ("n", "s")}
# draw_network's column captions ("Hidden layer 2", 隱藏層 2): a size smaller than Graphviz's
# 14 keeps a caption no wider than its column, so edges arcing past the column miss it.
CAPTION_SIZE = "11"
EXACT_COUNT = 100_000  # the cap's message counts a graph exactly up to this size
MAX_LONG_EDGE_POINTS = 5_000  # beyond this, dot's layout takes seconds to minutes (see _long_edges)
MAX_LABEL = 40  # longer labels are cut, so one label cannot blow up a picture
NONCOMMUTATIVE = ("-", "/", "**")  # their two operands are told apart on the edges


# ------------------------------------------------------------ graphviz glue


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is missing: the message says how to install it.

    Raised instances are also ``graphviz.ExecutableNotFound``, so code written
    for plain graphviz catches them too.
    """

    def __init__(self, message: str = INSTALL_HELP) -> None:
        # Not super().__init__: ExecutableNotFound's __init__ would reformat the message.
        RuntimeError.__init__(self, message)


@functools.cache
def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as exc:  # a dependency, but say what to do if it is missing
        raise ImportError(
            "micrograd_tw's pictures need the Python package graphviz: pip install graphviz"
        ) from exc
    return graphviz


@functools.cache
def _not_found_class() -> Any:
    graphviz = _graphviz()
    return type("GraphvizNotFoundError", (GraphvizNotFoundError, graphviz.ExecutableNotFound), {})


# ------------------------------------------------- rendering without Graphviz

PURE_PROGRAM = "graphviz-pure"  # the program the graphviz-pure package installs
PURE_FORMATS = ("svg", "png", "jpeg", "jpg", "jpe", "dot", "gv", "xdot", "canon", "plain", "json")
BITMAP_FORMATS = ("png", "jpeg", "jpg", "jpe")
# Hangul, CJK radicals and punctuation, kana, CJK ideographs, compatibility forms, full-width forms.
CJK = re.compile("[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
# graphviz-pure notes every character it has no width for; the layout is fine, the notes are noise.
PURE_NOISE = re.compile(r"^Warning: (Warning: )?(no hard-coded metrics|no value for width)")


def find_renderer() -> str | None:
    """The program that renders pictures: Graphviz's ``dot`` if it is on PATH,
    else graphviz-pure's, else None (then rendering raises GraphvizNotFoundError).
    """
    return shutil.which("dot") or _graphviz_pure()


def _graphviz_pure() -> str | None:
    """graphviz-pure's program: beside this Python's scripts (also when that folder
    is not on PATH, as in a Jupyter kernel of a virtual environment that is not
    activated), in the user's scripts folder, or on PATH.
    """
    name = PURE_PROGRAM + (".exe" if os.name == "nt" else "")
    for scheme in (None, sysconfig.get_preferred_scheme("user")):
        try:
            folder = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        path = Path(folder, name)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return shutil.which(PURE_PROGRAM)


def _pure_program() -> str | None:
    """None when Graphviz's dot is on PATH (graphviz renders as usual); else graphviz-pure's program.

    Raises GraphvizNotFoundError when neither is there.
    """
    if shutil.which("dot"):
        return None
    program = _graphviz_pure()
    if program is None:
        raise _not_found_class()()
    return program


def _run_pure(program: str, graph: Any, fmt: str, engine: str, quiet: bool) -> bytes:
    """Lay out and draw ``graph`` with graphviz-pure: the bytes of the picture."""
    graphviz = _graphviz()
    fmt = fmt.lower()
    if fmt not in PURE_FORMATS:
        raise _not_found_class()(
            f"Writing {fmt} needs Graphviz's `dot` program, which was not found on PATH; "
            f"graphviz-pure, used without it, writes {', '.join(PURE_FORMATS)}. "
            f"Choose svg or png, or install Graphviz:\n" + INSTALL_HELP.split("Or install Graphviz:\n", 1)[1]
        )
    found = CJK.findall(graph.source)
    if fmt in BITMAP_FORMATS and found:
        warnings.warn(
            f"graphviz-pure, which draws pictures when Graphviz's dot is not installed, has no "
            f"Chinese, Japanese or Korean glyphs for {fmt.upper()}: {''.join(dict.fromkeys(found))[:10]} "
            f"will show as empty boxes. Write SVG instead (format='svg', or -o graph.svg), "
            f"whose text your browser draws, or install Graphviz.",
            UserWarning,
            stacklevel=3,
        )
    cmd = [program, f"-K{engine}", f"-T{fmt}"]
    proc = subprocess.run(cmd, input=graph.source.encode(graph.encoding), capture_output=True, check=False)
    if proc.returncode != 0:
        raise graphviz.CalledProcessError(proc.returncode, cmd, output=proc.stdout, stderr=proc.stderr)
    stderr = proc.stderr.decode("utf-8", "replace")
    notes = [line for line in stderr.splitlines() if not PURE_NOISE.match(line)]
    if notes and not quiet:
        print("\n".join(notes), file=sys.stderr)
    return bytes(proc.stdout)


def _only_dot(**options: Any) -> None:
    given = [name for name, value in options.items() if value]
    if given:
        raise _not_found_class()(
            f"{', '.join(given)} need Graphviz's `dot` program, which was not found on PATH "
            f"(graphviz-pure, used without it, has no such options).\n{INSTALL_HELP}"
        )


@functools.cache
def _digraph_class() -> Any:
    """A graphviz.Digraph that renders with graphviz-pure when Graphviz's ``dot`` is missing,
    and explains how to install one when both are.

    Jupyter's display (``_repr_mimebundle_``) goes through ``pipe``, so it
    does both too; everything else is graphviz's own.
    """
    graphviz = _graphviz()

    def translated(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                if isinstance(exc, GraphvizNotFoundError):
                    raise
                raise _not_found_class()(f"{INSTALL_HELP}\n(graphviz said: {exc})") from exc

        return wrapper

    base: Any = graphviz.Digraph
    base_render = translated(base.render)
    base_pipe = translated(base.pipe)

    class Digraph(base):
        unflatten = translated(base.unflatten)

        @functools.wraps(base.pipe)
        def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,
                 neato_no_op: bool | int | None = None, quiet: bool = False, *,
                 engine: str | None = None, encoding: str | None = None) -> Any:
            program = _pure_program()
            if program is None:
                return base_pipe(self, format=format, renderer=renderer, formatter=formatter,
                                 neato_no_op=neato_no_op, quiet=quiet, engine=engine, encoding=encoding)
            _only_dot(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
            data = _run_pure(program, self, format or self.format, engine or self.engine, quiet)
            return data.decode(encoding) if encoding is not None else data

        @functools.wraps(base.render)
        def render(self, filename: Any = None, directory: Any = None, view: bool = False,
                   cleanup: bool = False, format: str | None = None, renderer: str | None = None,
                   formatter: str | None = None, neato_no_op: bool | int | None = None,
                   quiet: bool = False, quiet_view: bool = False, *, outfile: Any = None,
                   engine: str | None = None, raise_if_result_exists: bool = False,
                   overwrite_source: bool = False) -> str:
            program = _pure_program()
            if program is None:
                return str(base_render(
                    self, filename, directory=directory, view=view, cleanup=cleanup, format=format,
                    renderer=renderer, formatter=formatter, neato_no_op=neato_no_op, quiet=quiet,
                    quiet_view=quiet_view, outfile=outfile, engine=engine,
                    raise_if_result_exists=raise_if_result_exists, overwrite_source=overwrite_source,
                ))
            _only_dot(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
            # The files are named as graphviz names them: the source "name.gv" (or
            # outfile's name with .gv) and the picture "name.gv.svg" (or outfile).
            if outfile is not None:
                outfile = Path(outfile)
                if format is None:
                    format = outfile.suffix[1:].lower()
                    if not format:
                        raise ValueError(f"cannot tell the format from outfile {os.fspath(outfile)!r}: "
                                         f"give it a suffix such as .svg, or pass format=")
                if directory is None:
                    outfile = Path(self.directory, outfile)
                if filename is None:
                    filename = outfile.with_suffix(".gv")
            fmt = format or self.format
            source = Path(self.save(filename, directory=directory))
            out = outfile if outfile is not None else source.with_suffix(f"{source.suffix}.{fmt}")
            if raise_if_result_exists and out.exists():
                raise graphviz.FileExistsError(f"output file exists: {os.fspath(out)!r}")
            if not overwrite_source and out.resolve() == source.resolve():
                raise ValueError(
                    f"outfile {os.fspath(out)!r} is the DOT source file; pass overwrite_source=True"
                )
            out.write_bytes(_run_pure(program, self, fmt, engine or self.engine, quiet))
            if cleanup:
                os.remove(source)
            if view or quiet_view:
                graphviz.view(out, quiet=quiet_view)
            return os.fspath(out)

    Digraph.__module__ = __name__
    return Digraph


def digraph(**kwargs: Any) -> Any:
    """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz when ``dot`` is missing."""
    return _digraph_class()(**kwargs)


def _new_graph(name: str, rankdir: str, graph_attr: dict[str, str]) -> Any:
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    return _digraph_class()(
        name=name,
        format="svg",
        graph_attr={"rankdir": rankdir, "fontname": FONT, **graph_attr},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "arrowsize": "0.7"},
    )


# ------------------------------------------------------------------- text


def _text(s: str, limit: int = MAX_LABEL) -> str:
    """User text for an HTML-like label: cut to ``limit`` characters, made drawable, escaped."""
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = "".join(_drawable(c) for c in s)
    # Graphviz expands \N, \G, ... even in HTML labels; a doubled backslash is one.
    return html.escape(s.replace("\\", "\\\\")).replace("\n", "<BR/>")


def _drawable(c: str) -> str:
    """A character Graphviz's XML label parser accepts: itself, or a visible stand-in.

    XML allows tab, line breaks and most of Unicode, but not the other control
    characters (drawn as their Control Pictures symbol: BEL, 0x07, as ␇), nor lone
    surrogates or U+FFFE/U+FFFF (drawn as U+FFFD, the replacement character).
    """
    code = ord(c)
    if c in "\t\n":
        return c
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "\ufffd"
    return c


def _num(x: float) -> str:
    return f"{x:.4g}"


def _html(inner: str) -> str:
    return f"<{inner}>"


# ------------------------------------------------------------- the graph walk


def _roots(root: Any) -> list[Value]:
    if isinstance(root, Value):
        return [root]
    if isinstance(root, (str, bytes)) or not isinstance(root, Iterable):
        raise TypeError(f"draw_dot: root must be a Value or a list of Values, got {type(root).__name__}")
    roots = list(root)
    for i, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"draw_dot: root[{i}] must be a Value, got {type(r).__name__}")
    if not roots:
        raise ValueError("draw_dot: root is an empty list; give a Value or a list of Values")
    return roots


def _count_values(roots: list[Value], limit: int) -> int:
    """How many Values the graph has, counting no further than ``limit + 1``.

    Stops early so that a graph of a million nodes is refused at once.
    """
    seen: set[Value] = set()  # Values hash by identity
    stack = list(roots)
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if len(seen) > limit:
            break
        stack.extend(parents(v))
    return len(seen)


def _check_cap(roots: list[Value], max_nodes: int | None) -> None:
    if max_nodes is None:
        return
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")
    count = _count_values(roots, max(max_nodes, EXACT_COUNT))
    if count > max_nodes:
        size = f"more than {EXACT_COUNT:,}" if count > EXACT_COUNT else f"{count:,}"
        raise ValueError(
            f"draw_dot: the graph has {size} values, above max_nodes={max_nodes}; laying out "
            f"a graph this big would take very long and the picture would be unreadable. "
            f"Raise the cap with draw_dot(root, max_nodes={max(2 * max_nodes, min(count, EXACT_COUNT))}) "
            f"(or max_nodes=None for no cap), or draw a smaller part of the graph."
        )


def _long_edges(order: list[Value]) -> tuple[int, Value | None, int]:
    """Estimate how many points Graphviz's dot adds along edges that skip ranks.

    dot lays a graph out in ranks and threads every edge through one extra
    point per rank it skips; their positions are then solved together, which
    grows much faster than linearly.  A value used by operations far apart
    (``x`` in a loop ``y = y * x + c``) makes a few hundred values cost minutes.
    Ranks are estimated as dot assigns them: each op node one rank after its
    latest parent, its result one more, and a leaf just before its first user.
    Returns the count, the value whose edges add most, and its number of uses.
    """
    rank: dict[Value, int] = {}
    for v in order:  # results: one rank for the op node, one for the box
        rank[v] = 2 + max((rank[p] for p in parents(v)), default=-2) if v.op else 0
    leaf_rank: dict[Value, int] = {}
    for v in order:  # leaves: just before the op node of their first user
        for p in parents(v):
            if not p.op:
                leaf_rank[p] = min(leaf_rank.get(p, rank[v] - 2), rank[v] - 2)
    rank.update(leaf_rank)
    extra: dict[Value, int] = {}
    uses: dict[Value, int] = {}
    for v in order:
        for p in parents(v):
            extra[p] = extra.get(p, 0) + rank[v] - rank[p] - 2
            uses[p] = uses.get(p, 0) + 1
    worst = max(extra, key=extra.__getitem__, default=None)
    return sum(extra.values()), worst, uses.get(worst, 0) if worst is not None else 0


def _check_layout(order: list[Value]) -> None:
    points, worst, uses = _long_edges(order)
    if points <= MAX_LONG_EDGE_POINTS or worst is None:
        return
    name = repr(worst.label) if worst.label else f"a value (data {_num(worst.data)})"
    raise ValueError(
        f"draw_dot: Graphviz would take very long to lay out this graph of {len(order)} values: "
        f"{name} is used by {uses} operations far apart, and edges skipping that many ranks "
        f"need about {points:,} layout points (the limit is {MAX_LONG_EDGE_POINTS:,}). "
        f"Pass max_nodes=None to draw it anyway, or draw a smaller part of the graph."
    )


def _in_order(roots: list[Value]) -> list[Value]:
    """The nodes of every root's graph, each after its parents, each once.

    engine.toposort's order depends only on the graph's structure, so the same
    graph built twice gets the same numbering and the same DOT source.
    """
    if len(roots) == 1:
        return toposort(roots[0])
    order: dict[Value, None] = {}
    for r in roots:
        order.update(dict.fromkeys(toposort(r)))
    return list(order)


# ------------------------------------------------------------ op node labels


def _binary_constant(node: Value) -> tuple[float, bool]:
    """The constant operand of a binary node with one Value parent, and whether it is on the left."""
    a, b = operands(node)
    return (a, True) if isinstance(b, Value) else (b, False)


def _dot_weights(node: Value) -> tuple[Any, ...]:
    """A dot node's weights (its operands are w1..wn, x1..xn)."""
    xs = operands(node)
    return xs[: len(xs) // 2]


def _dot_constants(node: Value) -> str:
    """For a dot node with constant operands: the lines ``w = (…)`` / ``x = (…)``, ``·`` for a Value."""
    both = operands(node)
    ws, xs = both[: len(both) // 2], both[len(both) // 2 :]
    lines = []
    for name, items in (("w", ws), ("x", xs)):
        if all(isinstance(v, Value) for v in items):
            continue
        shown = ["·" if isinstance(v, Value) else _num(v) for v in items[:6]]
        more = ", …" if len(items) > 6 else ""
        lines.append(f"{name} = ({', '.join(shown)}{more})")
    return "<BR/>".join(html.escape(line) for line in lines)


def _op_label(node: Value) -> str:
    """The op node's text: the op table's symbol, with any constant operand."""
    op, prev = node.op, parents(node)
    row = ops.row(op)
    sym = row.symbol
    if op == "dot":
        consts = _dot_constants(node)
        return html.escape(sym) + (f"<BR/>{consts}" if consts else "")
    if op == "sum":
        # A sum with constant items: show the constants' total.
        constants = [x for x in operands(node) if not isinstance(x, Value)]
        total = math.fsum(constants)
        return html.escape(sym + (f" + {_num(total)}" if constants else ""))
    if row.arity != 2:  # unary, n-ary (max, min) and users' own ops
        constants = [x for x in operands(node) if not isinstance(x, Value)] if row.arity != 1 else []
        shown = "".join(f", {_num(c)}" for c in constants[:6])
        return _text(sym) if not shown else _text(f"{sym}(·{shown})")
    if len(prev) == 2:
        return html.escape(f"a {sym} b" if op in NONCOMMUTATIVE else sym)
    c, left = _binary_constant(node)
    left = left and op in NONCOMMUTATIVE  # 2 * x reads as x * 2
    return html.escape(f"{_num(c)} {sym}" if left else f"{sym} {_num(c)}")


# -------------------------------------------------------------- value boxes


def _shade(g: float, gmax: float) -> str | None:
    """Background of a grad cell: white to red by |grad| / max |grad|."""
    if not math.isfinite(g):
        return GRAD_NONFINITE
    if gmax <= 0.0 or g == 0.0:
        return None
    t = 0.85 * abs(g) / gmax  # never fully saturated: the text stays readable
    r, gg, b = (round(255 + (c - 255) * t) for c in GRAD_HOT)
    return f"#{r:02x}{gg:02x}{b:02x}"


def _value_label(v: Value, kind: str, show_grad: bool, shade: str | None) -> str:
    cells = []
    if v.label:
        cells.append(f"<TD><B>{_text(v.label)}</B></TD>")
    cells.append(f"<TD>data {_num(v.data)}</TD>")
    if show_grad:
        bg = f' BGCOLOR="{shade}"' if shade else ""
        cells.append(f"<TD{bg}>grad {_num(v.grad)}</TD>")
    return _html(
        f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" '
        f'BGCOLOR="{COLORS[kind]}"><TR>{"".join(cells)}</TR></TABLE>'
    )


# ------------------------------------------------------------------ models


def _model_layers(model: Any, who: str) -> tuple[list[list[Any]], bool]:
    """An nn model as layers of neurons, and whether it has layers (an MLP) at all.

    Accepts an MLP (``.layers``), a Layer (``.neurons``) or a Neuron (``.w``, ``.b``).
    """
    if hasattr(model, "layers"):
        return [list(layer.neurons) for layer in model.layers], True
    if hasattr(model, "neurons"):
        return [list(model.neurons)], False
    if hasattr(model, "w") and hasattr(model, "b"):
        return [[model]], False
    raise TypeError(
        f"{who}: model must be an nn.MLP, nn.Layer or nn.Neuron (with .layers, .neurons, "
        f"or .w and .b), got {type(model).__name__}"
    )


def _model_parameters(layers: list[list[Any]]) -> list[Value]:
    return [p for neurons in layers for n in neurons for p in (*n.w, n.b)]


def _activation_name(neuron: Any) -> str | None:
    act = getattr(neuron, "activation", None)
    if isinstance(act, str):
        return act
    return getattr(act, "__name__", None)


def _neuron_members(
    layers: list[list[Any]], order: list[Value], index: dict[Value, int]
) -> dict[tuple[int, int], list[Value]]:
    """For each neuron (layer i, neuron j): the drawn Values that are its work.

    A neuron's forward is ``act(dot(w, x) + b)``: its dot node is the one whose
    weights are exactly ``w``, its "+" node adds its bias to that dot, and its
    activation node applies ``act`` to that sum.  Its parameters belong to it
    too.  Each Value goes to one neuron at most (the first that claims it).
    """
    children: dict[Value, list[Value]] = {}
    by_weights: dict[tuple[int, ...], list[Value]] = {}
    for node in order:
        for p in parents(node):
            children.setdefault(p, []).append(node)
        if node.op == "dot":
            ws = _dot_weights(node)
            by_weights.setdefault(tuple(id(w) for w in ws), []).append(node)

    members: dict[tuple[int, int], list[Value]] = {}
    claimed: set[Value] = set()

    def claim(key: tuple[int, int], v: Value) -> None:
        if v not in claimed:
            claimed.add(v)
            members.setdefault(key, []).append(v)

    for i, neurons in enumerate(layers):
        for j, neuron in enumerate(neurons):
            key = (i, j)
            for p in (*neuron.w, neuron.b):
                if p in index:
                    claim(key, p)
            if not neuron.w:
                continue
            act = _activation_name(neuron)
            b = neuron.b
            for d in by_weights.get(tuple(id(w) for w in neuron.w), []):
                claim(key, d)
                for s in children.get(d, []):
                    if s.op != "+" or len(parents(s)) != 2 or not any(p is b for p in parents(s)):
                        continue
                    claim(key, s)
                    for a in children.get(s, []):
                        if a.op == act and parents(a) == (s,):
                            claim(key, a)
    for vs in members.values():
        vs.sort(key=index.__getitem__, reverse=True)  # root first, as draw_dot declares
    return members


# ------------------------------------------------------------------ draw_dot


def draw_dot(
    root: Value | Iterable[Value],
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = 500,
    *,
    model: Any = None,
    params: Iterable[Value] | None = None,
    shade_grad: bool = False,
    step: int | None = None,
    forward: bool = False,
    max_steps: int = STEP_LIMIT,
) -> Any:
    """The computation graph behind ``root`` as a ``graphviz.Digraph``.

    One box per Value (label, data, grad) and one node per operation, showing
    the op's symbol and any constant operand (``* 2``); an edge for every
    parent slot, so ``x * x`` has two edges from ``x``.

    - ``root``: a Value, or a list of Values (several outputs).
    - ``rankdir``: "LR" (left to right, as in the micrograd lecture), "TB", "RL", "BT".
    - ``show_grad=False`` leaves the grad out of the boxes.
    - ``max_nodes``: the most Values drawn; a bigger graph is refused, before
      any layout, with a ValueError.  So is a graph whose layout would stall
      Graphviz: a value used by many operations far apart (see ``_long_edges``).
      ``None`` for no cap at all.
    - ``model``: an nn MLP, Layer or Neuron whose forward built the graph: its
      neurons are drawn in boxes ("Layer 1 · Neuron 2"), and its parameters
      coloured as parameters.
    - ``params``: Values to colour as parameters (default: the model's).
    - ``shade_grad=True`` shades each grad cell by |grad| (red at the largest;
      purple for inf or NaN): where the gradient is large, at a glance.

    - ``step=k``: the graph while step k of backward is processed (see
      ``mg.backward_steps``): grads not reached yet read ``grad ?``, the node
      of step k is outlined in red and its edges carry the chain-rule product
      (``∂y/∂w += 0.5 × −2 = −1``); ``step=0`` is the start, the last step
      the finished backward.  ``forward=True``: the forward pass instead (values
      appear in the order they are computed; ``step`` defaults to the last).
      Every frame places every node in the same place.  A graph of more than
      ``max_steps`` nodes is refused; ``model``, ``params``, ``shade_grad`` and
      ``max_nodes`` do not apply to frames.  See ``micrograd_tw.player``.

    Colours: inputs (leaves that are not parameters) blue, parameters amber,
    the output green.  Displays inline in Jupyter;
    ``.render("graph", format="png")`` writes a file.
    """
    if step is not None or forward:
        from .player import draw_frame

        return draw_frame(root, step, forward=forward, rankdir=rankdir, max_steps=max_steps)
    roots = _roots(root)
    _check_cap(roots, max_nodes)
    layers, has_layers = _model_layers(model, "draw_dot") if model is not None else ([], False)
    if params is None:
        param_set = set(_model_parameters(layers))
    else:
        param_list = list(params)
        for p in param_list:
            if not isinstance(p, Value):
                raise TypeError(f"draw_dot: params must be Values, got {type(p).__name__}")
        param_set = set(param_list)

    order = _in_order(roots)
    if max_nodes is not None:
        _check_layout(order)
    index = {v: i for i, v in enumerate(order)}
    root_set = set(roots)
    gmax = max((abs(v.grad) for v in order if math.isfinite(v.grad)), default=0.0)

    # Each Value's node statements: its box, and its op node if it has an op.
    nodes: dict[Value, list[tuple[str, str, dict[str, str]]]] = {}
    for i, v in enumerate(order):
        if v in root_set:
            kind = "output"
        elif v in param_set:
            kind = "parameter"
        elif not v.op:
            kind = "input"
        else:
            kind = "value"
        shade = _shade(v.grad, gmax) if shade_grad and show_grad else None
        stmts = [(f"n{i}", _value_label(v, kind, show_grad, shade), {"shape": "none", "margin": "0"})]
        if v.op:
            stmts.append((f"op{i}", _html(_op_label(v)), {
                "shape": "ellipse", "style": "filled", "fillcolor": COLORS["op"],
                "margin": "0.05,0.02", "height": "0.3",
            }))
        nodes[v] = stmts

    g = _new_graph("computation_graph", rankdir, {"nodesep": "0.25", "ranksep": "0.35"})

    def declare(graph: Any, v: Value) -> None:
        for name, label, attrs in nodes.pop(v):
            graph.node(name, label, **attrs)

    if layers:
        members = _neuron_members(layers, order, index)
        for i, neurons in enumerate(layers):
            keys = [(i, j) for j in range(len(neurons)) if (i, j) in members]
            if not keys:
                continue
            if has_layers:
                with g.subgraph(name=f"cluster_layer{i + 1}") as lg:
                    lg.attr(label=_("Layer {k}").format(k=i + 1), style="rounded", color="#6b7280",
                            fontname=FONT)
                    for key in keys:
                        label = _("Layer {k} · Neuron {j}").format(k=i + 1, j=key[1] + 1)
                        _neuron_cluster(lg, key, label, members, declare)
            else:
                for key in keys:
                    label = _("Neuron {j}").format(j=key[1] + 1) if len(neurons) > 1 else _("Neuron")
                    _neuron_cluster(g, key, label, members, declare)

    # Declared root first: dot then stacks each node's parents top to bottom in
    # slot order (w1 above w2, z above b), as they are written.
    for v in reversed(order):
        if v in nodes:
            declare(g, v)
    for i, v in enumerate(order):
        if not v.op:
            continue
        ordered = v.op in NONCOMMUTATIVE and len(parents(v)) == 2
        for slot, p in enumerate(parents(v)):
            g.edge(f"n{index[p]}", f"op{i}", **({"label": "ab"[slot]} if ordered else {}))
        g.edge(f"op{i}", f"n{i}")
    return g


def _neuron_cluster(
    parent: Any, key: tuple[int, int], label: str, members: dict[tuple[int, int], list[Value]], declare: Any
) -> None:
    i, j = key
    with parent.subgraph(name=f"cluster_layer{i + 1}_neuron{j + 1}") as ng:
        ng.attr(label=label, style="rounded,dashed", color="#9ca3af", fontname=FONT)
        for v in members[key]:  # already root first
            declare(ng, v)


# -------------------------------------------------------------- draw_network


def draw_network(
    model: Any, show_weights: bool = True, rankdir: str = "LR", max_edges: int | None = 2000
) -> Any:
    """The network as the course draws it: inputs → neurons → outputs, as a ``graphviz.Digraph``.

    The columns are captioned as the notes name them, in the user's language:
    "Input layer" (輸入層), "Hidden layer k" (隱藏層 k), "Output layer" (輸出層,
    the last layer of neurons) and "Output" (輸出, the values y it gives).

    One node per input, one per neuron (its activation, and its bias b with
    ``show_weights``), one per output; one edge per weight, blue for a
    positive weight and red for a negative one, wider the larger |w|, and
    labelled with its value unless ``show_weights=False``.  ``model`` is an
    nn MLP, Layer or Neuron.  A network with more than ``max_edges`` weights
    is refused with a ValueError (the picture would be a solid block);
    ``max_edges=None`` draws any size, as ``draw_dot(..., max_nodes=None)``.
    """
    if max_edges is not None and (isinstance(max_edges, bool) or not isinstance(max_edges, int)):
        raise TypeError(
            f"draw_network: max_edges must be an int (the most weights to draw) or None for no limit, "
            f"got {type(max_edges).__name__}"
        )
    if max_edges is not None and max_edges < 1:
        raise ValueError(f"draw_network: max_edges must be at least 1 (None for no limit), got {max_edges}")
    layers = _model_layers(model, "draw_network")[0]
    if not layers or not layers[0]:
        raise ValueError("draw_network: the model has no neurons to draw")
    nin = len(layers[0][0].w)
    width = nin
    for i, neurons in enumerate(layers):
        if not neurons:
            raise ValueError(f"draw_network: layer {i + 1} has no neurons")
        for j, n in enumerate(neurons):
            if len(n.w) != width:
                raise ValueError(
                    f"draw_network: layer {i + 1} neuron {j + 1} has {len(n.w)} weights but "
                    f"its layer gets {width} inputs"
                )
        width = len(neurons)
    n_edges = sum(len(n.w) for neurons in layers for n in neurons)
    if max_edges is not None and n_edges > max_edges:
        raise ValueError(
            f"draw_network: the model has {n_edges:,} weights, above max_edges={max_edges}; "
            f"raise it with draw_network(model, max_edges={n_edges}) if you really want this picture"
        )

    weights = [w.data for neurons in layers for n in neurons for w in n.w]
    wmax = max((abs(w) for w in weights if math.isfinite(w)), default=0.0)

    # Straight edges look like the notes' drawings; labelled edges need dot's
    # default splines, which route each edge through its own label.
    look = {"ranksep": "1.1", "nodesep": "0.2", **({} if show_weights else {"splines": "line"})}
    g = _new_graph("network", rankdir, look)
    ports = FLOW_PORTS[rankdir]
    circle = {"shape": "circle", "style": "filled", "margin": "0.02"}

    def column(name: str, label: str, ids_labels: list[tuple[str, str, str]]) -> None:
        with g.subgraph(name=name) as c:
            c.attr(label=label, style="rounded", color="#d1d5db", fontname=FONT, fontsize=CAPTION_SIZE)
            for node_id, text, fill in ids_labels:
                c.node(node_id, _html(text), fillcolor=fill, **circle)

    inputs = [(f"x{k + 1}", f"x{k + 1}", COLORS["input"]) for k in range(nin)]
    column("cluster_inputs", _("Input layer"), inputs)
    prev_ids = [f"x{k + 1}" for k in range(nin)]
    for i, neurons in enumerate(layers):
        ids = [f"L{i + 1}N{j + 1}" for j in range(len(neurons))]
        texts = []
        for n in neurons:
            act = _activation_name(n)
            text = html.escape(ops.OPS[act].symbol) if act in ops.OPS else _text(act or "φ")
            if show_weights:
                text += f'<BR/><FONT POINT-SIZE="9">b = {_num(n.b.data)}</FONT>'
            texts.append(text)
        caption = _("Output layer") if i == len(layers) - 1 else _("Hidden layer {k}").format(k=i + 1)
        column(f"cluster_layer{i + 1}", caption,
               [(nid, t, COLORS["parameter"]) for nid, t in zip(ids, texts)])
        for nid, n in zip(ids, neurons):
            for src, w in zip(prev_ids, n.w):
                g.edge(src, nid, tailport=ports[0], headport=ports[1],
                       **_weight_edge(w.data, wmax, show_weights))
        prev_ids = ids
    outs = [("y", "y")] if len(prev_ids) == 1 else [(f"y{k + 1}", f"y{k + 1}") for k in range(len(prev_ids))]
    column("cluster_outputs", ngettext("Output", "Outputs", len(outs)),
           [(oid, text, COLORS["output"]) for oid, text in outs])
    for src, (oid, _label) in zip(prev_ids, outs):
        g.edge(src, oid, tailport=ports[0], headport=ports[1], color=WEIGHT_COLORS["0"])
    return g


def _weight_edge(w: float, wmax: float, show_weights: bool) -> dict[str, str]:
    """An edge's look: colour by the weight's sign, width by |w| / max |w|."""
    sign = "+" if w > 0.0 else "-" if w < 0.0 else "0"  # NaN counts as 0: grey
    t = 1.0 if math.isinf(w) else abs(w) / wmax if wmax > 0.0 and math.isfinite(w) else 0.0
    attrs = {"color": WEIGHT_COLORS[sign], "penwidth": f"{0.5 + 3.5 * t:.2f}", "arrowsize": "0.5"}
    if show_weights:
        attrs["label"] = f"{w:.2f}"
        attrs["fontcolor"] = WEIGHT_COLORS[sign]
    return attrs
