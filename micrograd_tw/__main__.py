"""The command line: ``python -m micrograd_tw`` (or ``micrograd-tw``).

    micrograd-tw demo                                   # train the course's function learner
    micrograd-tw graph "tanh(x*w + b)" x=1 w=-2 b=0.5 -o graph.svg
    micrograd-tw gradcheck "x**y + log(x)" x=2 y=3

Errors are one line on stderr.  Exit codes: 0 success, 1 a gradient
mismatch (gradcheck) or a picture that could not be rendered, 2 a usage or
formula error.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import micrograd_tw as mg

from .formula import Formula, FormulaError, parse, parse_assignments
from .gradcheck import check_tolerances, close

GRAPHVIZ_HINT = (
    "install Graphviz's dot program: apt install graphviz (Debian/Ubuntu), brew install graphviz "
    "(macOS), winget install graphviz (Windows), or conda install graphviz"
)
GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


class _Exit(Exception):
    """Stop with a one-line message and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (its default prints the usage too)."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "unrecognized arguments: -" in message or "required: formula" in message:
            hint = "; a formula that starts with '-' goes after --, e.g. -- \"-x*w\""
        message = " ".join(message.split())
        if len(message) > 300:  # an unrecognised argument can be any length
            message = message[:297] + "..."
        self.exit(2, f"{self.prog}: error: {message}{hint} (see {self.prog} --help)\n")


# ------------------------------------------------------------------ formulas


def _build(formula_text: str, assignments: list[str]) -> tuple[Formula, dict[str, mg.Value], mg.Value]:
    """Parse the formula, read its values, and build its graph (labelled leaves, root 'f')."""
    formula = parse(formula_text)
    numbers = parse_assignments(assignments, formula)
    leaves = {name: mg.Value(numbers[name], label=name) for name in formula.names}
    root = formula.evaluate(leaves)
    root.label = "f"
    return formula, leaves, root


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Print each input's analytic and numeric derivative; exit 1 on a mismatch."""
    try:
        check_tolerances(args.atol, args.rtol)
    except ValueError as e:
        raise _Exit(f"--{e}", 2) from None
    formula, leaves, root = _build(args.formula, args.values)
    if not formula.names:
        raise FormulaError("the formula has no variables to differentiate")
    inputs = [leaves[n] for n in formula.names]
    analytic = mg.grad(root, inputs)
    point = [v.data for v in inputs]
    try:
        numeric = mg.numerical_grad(formula, point, eps=args.eps)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        # e.g. sqrt(x) at x=0: the formula is not defined on both sides of the point
        raise _Exit(f"cannot take central differences with eps={args.eps:g}: {e}", 2) from None

    print(f"f = {formula.source}    at " + ", ".join(f"{n}={_fmt(v)}" for n, v in zip(formula.names, point)))
    print(f"f = {_fmt(root.data)}")
    print("df/d(input): analytic by backward(), numeric by central differences")
    rows = [("input", "value", "analytic", "numeric", "|difference|", "")]
    failed = []
    for name, x, a, n in zip(formula.names, point, analytic, numeric):
        ok = close(a, n, args.atol, args.rtol)  # mg.gradcheck's rule; NaN fails
        if not ok:
            failed.append(name)
        rows.append((name, _fmt(x), _fmt(a), _fmt(n), f"{abs(a - n):.2e}", "ok" if ok else "MISMATCH"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    tolerance = f"eps={args.eps:g}, atol={args.atol:g}, rtol={args.rtol:g}"
    if failed:
        print(f"MISMATCH for {', '.join(failed)} ({tolerance})")
        return 1
    print(f"all {len(rows) - 1} derivatives match ({tolerance})")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the formula's graph after backward."""
    if args.steps:
        return _write_steps(args)
    out = Path(args.output)
    fmt = out.suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in GRAPH_FORMATS:
        raise _Exit(f"-o {out}: the file must end in .{', .'.join(GRAPH_FORMATS)}", 2)
    formula, leaves, root = _build(args.formula, args.values)
    root.backward()
    dot = mg.draw_dot(root, rankdir=args.rankdir)
    if fmt != "dot" and shutil.which("dot") is None:
        raise _Exit(f"cannot write {out}: {GRAPHVIZ_HINT}; or write the DOT source with -o {out.stem}.dot", 1)
    _write_graph(dot, out, fmt)
    print(f"f = {formula.source} = {_fmt(root.data)}")
    for name, leaf in leaves.items():
        print(f"  df/d{name} = {_fmt(leaf.grad)}    ({name} = {_fmt(leaf.data)})")
    print(f"wrote {out}")
    return 0


def _write_steps(args: argparse.Namespace) -> int:
    """``graph ... --steps -o f.html``: an HTML page stepping through backward, one node at a time."""
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise _Exit(f"-o {out}: --steps writes an HTML page; give a file ending in .html, "
                    f"e.g. -o backward.html", 2)
    formula, _, root = _build(args.formula, args.values)
    try:
        text = mg.viz.steps_html(root, rankdir=args.rankdir, who="graph --steps")
    except ValueError as e:  # a graph above the step limit
        raise _Exit(str(e), 2) from None
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:  # no Graphviz
        raise _Exit(f"cannot draw {out}: {' '.join(str(e).split())[:200]}", 1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"f = {formula.source} = {_fmt(root.data)}: {len(mg.toposort(root))} backward steps")
    print(f"wrote {out} (open it in a browser: ← → step, space plays)")
    return 0


def _write_graph(dot: Any, out: Path, fmt: str) -> None:
    """Write a graphviz.Digraph as DOT source or render it with Graphviz."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(dot.source, encoding="utf-8")
        return
    try:
        data = dot.pipe(format=fmt)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:  # ExecutableNotFound: RuntimeError
        raise _Exit(f"cannot render {out}: {' '.join(str(e).split())[:200]}", 1) from None
    out.write_bytes(data)


# ---------------------------------------------------------------------- demo


def _progress(step: int, steps: int, loss: float, start: float, tty: bool) -> None:
    """A progress bar: redrawn in place on a terminal, a line every 10% otherwise."""
    width = 30
    done = int(width * step / steps)
    line = f"[{'#' * done}{'.' * (width - done)}] {step:>{len(str(steps))}}/{steps}  loss {loss:.6f}"
    if tty:
        end = "\n" if step == steps else ""
        print(f"\r{line}  {time.perf_counter() - start:5.1f}s", end=end, flush=True)
    elif step == steps or step % max(1, steps // 10) == 0:
        print(line, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    """Train the notes' 函數學習機 (2 inputs → 3 neurons → 1 output) and draw it."""
    import numpy as np

    if args.steps < 1:
        raise _Exit(f"--steps must be at least 1, got {args.steps}", 2)
    if args.samples < 1:
        raise _Exit(f"--samples (k) must be at least 1, got {args.samples}", 2)
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise _Exit(f"--lr (η) must be a positive number, got {args.lr}", 2)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    # k samples of the function to learn, y = x1 · x2 on [-1, 1]²
    rng = np.random.default_rng(args.seed)
    X = rng.uniform(-1.0, 1.0, size=(args.samples, 2))
    Y = X[:, 0] * X[:, 1]
    model = mg.nn.MLP(2, [3, 1], activation="tanh", seed=args.seed)
    opt = mg.optim.SGD(model.parameters(), lr=args.lr)  # w ← w − η ∂L/∂w
    print(f"training {model} on y = x1 * x2, k = {len(X)} samples, η = {args.lr:g}, {args.steps} steps")

    losses = []
    start, tty = time.perf_counter(), sys.stdout.isatty()
    for step in range(1, args.steps + 1):
        preds = [model(list(x)) for x in X]
        loss = mg.functional.mse_loss(preds, list(Y), reduction="half")  # L(θ) = 1/(2k) Σ ||y − f(x)||²
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
        _progress(step, args.steps, loss.data, start, tty)
    print(f"loss {losses[0]:.6f} → {losses[-1]:.6f}")

    # One sample through the trained network, after backward: every node shows data and grad.
    x = [mg.Value(float(v), label=f"x{i + 1}") for i, v in enumerate(X[0])]
    y = model(x)
    assert isinstance(y, mg.Value)  # one output neuron: MLP returns a Value
    y.label = "f(x)"
    model.zero_grad()
    y.backward()
    pictures = {"graph": mg.draw_dot(y, model=model), "network": mg.draw_network(model)}
    written = []
    have_dot = shutil.which("dot") is not None
    for name, dot in pictures.items():
        path = out_dir / f"{name}.{'svg' if have_dot else 'dot'}"
        _write_graph(dot, path, path.suffix[1:])
        written.append(path)
    written.append(_loss_curve(losses, out_dir))
    print("wrote:")
    for path in written:
        print(f"  {path}")
    if not have_dot:
        print(f"hint: the graphs are DOT source; to get SVG pictures, {GRAPHVIZ_HINT}")
    return 0


def _loss_curve(losses: list[float], out_dir: Path) -> Path:
    """loss.png with matplotlib; loss.csv (and a hint) without it."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, works headless
        import matplotlib.pyplot as plt
    except ImportError:
        path = out_dir / "loss.csv"
        path.write_text("step,loss\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(losses, 1)))
        print("hint: pip install matplotlib (or the [examples] extra) to get loss.png", file=sys.stderr)
        return path
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_xlabel("step")
    ax.set_ylabel("L(θ)")
    ax.set_yscale("log")
    ax.set_title("function learner: L(θ) = 1/(2k) Σ ||y − f(x)||²")
    fig.tight_layout()
    path = out_dir / "loss.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# -------------------------------------------------------------------- parser


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="micrograd_tw: a scalar autograd engine with a computation graph.",
        epilog="Formulas use numbers, names, + - * / **, unary minus and the functions "
        "exp log sqrt relu sigmoid tanh gaussian abs; nothing else is evaluated.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {mg.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="train the course's function learner and draw it",
                          description="Train the notes' 函數學習機 (2 inputs → 3 neurons → 1 output) "
                          "on y = x1·x2 with L(θ) = 1/(2k) Σ ||y − f(x)||² and w ← w − η ∂L/∂w; write "
                          "its graph, its network diagram and its loss curve.")
    demo.add_argument("--steps", type=int, default=300, help="training steps (default: 300)")
    demo.add_argument("--lr", type=float, default=0.5, help="learning rate η (default: 0.5)")
    demo.add_argument("--samples", type=int, default=40, help="number of samples k (default: 40)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--out", default="micrograd-tw-demo", help="output folder (default: micrograd-tw-demo)")
    demo.set_defaults(run=cmd_demo)

    value_help = "a value for each variable of the formula: x=1 w=-2.5 b=1e-3"
    graph = sub.add_parser("graph", help="draw a formula's computation graph after backward",
                           description="Build the formula's graph, run backward(), and draw every "
                           "node with its data and grad.",
                           epilog='example: graph "tanh(x*w + b)" x=1 w=-2 b=0.5 -o graph.svg')
    graph.add_argument("formula", help='e.g. "tanh(x*w + b)"')
    graph.add_argument("values", nargs="*", metavar="NAME=NUMBER", help=value_help)
    graph.add_argument("-o", "--output", default="graph.svg",
                       help="graph.svg, .png, .pdf (need Graphviz) or .dot (default: graph.svg)")
    graph.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                       help="layout direction (default: LR, left to right)")
    graph.add_argument("--steps", action="store_true",
                       help="write an HTML page that steps through backward one node at a time "
                       "(-o must end in .html)")
    graph.set_defaults(run=cmd_graph)

    check = sub.add_parser("gradcheck", help="compare a formula's derivatives with central differences",
                           description="Print each input's analytic derivative (backward) and numeric "
                           "one ((f(x+eps) − f(x−eps)) / 2eps); exit 1 if any differ by more than "
                           "atol + rtol·|numeric|.",
                           epilog='example: gradcheck "x**y + log(x)" x=2 y=3')
    check.add_argument("formula", help='e.g. "x**y + log(x)"')
    check.add_argument("values", nargs="*", metavar="NAME=NUMBER", help=value_help)
    check.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (default: 1e-6)")
    check.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default: 1e-5)")
    check.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (default: 1e-3)")
    check.set_defaults(run=cmd_gradcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        # A console that cannot show θ or → (cp950, ascii) gets an escape, not a crash.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    prog = "micrograd-tw"
    if argv is None and Path(sys.argv[0]).name == "__main__.py":
        prog = "python -m micrograd_tw"
    args = _parser(prog).parse_args(argv)
    try:
        return int(args.run(args))
    except FormulaError as e:
        code, message = 2, str(e)
    except _Exit as e:
        code, message = e.code, str(e)
    except OSError as e:  # a folder that cannot be made, a file that cannot be written
        code, message = 1, f"cannot write {e.filename}: {e.strerror}" if e.filename else str(e)
    except KeyboardInterrupt:
        code, message = 130, "interrupted"
    print(f"{prog} {args.command}: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
