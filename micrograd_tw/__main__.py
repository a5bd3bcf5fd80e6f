"""The command line: ``python -m micrograd_tw`` (or ``micrograd-tw``).

    micrograd-tw demo                                   # train the course's function learner
    micrograd-tw graph "tanh(x*w + b)" x=1 w=-2 b=0.5 -o graph.svg
    micrograd-tw gradcheck "x**y + log(x)" x=2 y=3

Errors are one line on stderr (a formula error then shows the formula with a
caret under the place it names), never a traceback.  Exit codes: 0 success;
1 a gradient mismatch (gradcheck), a training run that diverged (demo), or a
picture that could not be rendered; 2 a usage or formula error, a value or
derivative beyond the float range, a point where the derivative cannot be
checked (a kink, 不可微點), or a request beyond the limits below.

Limits of ``demo`` (each step builds one scalar graph per sample, so the
time grows with their product): ``--samples`` 1..10,000, ``--steps``
1..100,000, ``--seed`` 0..2**32-1.

``--lang zh-TW`` (before or after the command; or ``MICROGRAD_TW_LANG=zh-TW``,
or a zh_TW locale) prints help, messages and results in 繁體中文: the
language is chosen before the parser is built, so its help texts are translated
too.  argparse's own words ("usage:", "options:", its error reasons) stay English.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import micrograd_tw as mg

from .formula import FUNCTIONS, Formula, FormulaError, parse, parse_assignments
from .gradcheck import check_eps, check_tolerances, close
from .i18n import LANGUAGES, _, use_language
from .steps import STEP_LIMIT


def graphviz_hint() -> str:
    """How to get pictures drawn, in the user's language."""
    return _(
        "pip install graphviz-pure (a dependency of micrograd-tw), or install Graphviz's dot program: "
        "apt install graphviz (Debian/Ubuntu), brew install graphviz (macOS), winget install graphviz "
        "(Windows), or conda install graphviz"
    )


GRAPH_FORMATS = ("svg", "png", "pdf", "dot")
GRAPH_MAX_NODES = 500  # draw_dot's cap for a picture (DOT source has none)
MAX_SAMPLES = 10_000
MAX_STEPS = 100_000
MAX_SEED = 2**32 - 1


class _Exit(Exception):
    """Stop with a one-line message and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with lines measured in terminal columns (a Chinese character takes two).

    argparse wraps help with textwrap, which counts characters and splits
    words at hyphens ("zh-" / "TW"); these two methods are the ones argparse's
    own RawTextHelpFormatter overrides to change the wrapping.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        return _wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in _wrap(text, width - len(indent)))


# Punctuation that must not begin a line: it stays with the character before it.
_CLOSING = "，。、；：！？）」』】,.;:!?)"


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken at spaces or between Chinese characters.

    A word longer than a line (a path, a URL) gets a line of its own and is not cut.
    """
    tokens: list[str] = []
    for c in " ".join(text.split()):
        joins = tokens and tokens[-1] != " " and c != " " and (
            c in _CLOSING or (_width(c) == 1 and _width(tokens[-1][-1]) == 1))
        if joins:
            tokens[-1] += c
        else:
            tokens.append(c)
    lines, line = [], ""
    for token in tokens:
        if line.strip() and _width(line.rstrip() + token) > width:
            lines.append(line.rstrip())
            line = "" if token == " " else token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (its default prints the usage too), and help wrapped for CJK."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)  # subcommands' parsers too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "unrecognized arguments: -" in message or "required: formula" in message:
            hint = _("; a formula that starts with '-' goes after --, e.g. -- \"-x*w\"")
        message = " ".join(message.split())
        if len(message) > 300:  # an unrecognised argument can be any length
            message = message[:297] + "..."
        line = _("{prog}: error: {message}{hint} (see {prog} --help)")
        self.exit(2, line.format(prog=self.prog, message=message, hint=hint) + "\n")


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


def _check_finite(formula: Formula, point: dict[str, float], derivatives: Sequence[float]) -> None:
    """Refuse a derivative that is inf or NaN at the point: there is nothing to check or draw."""
    for name, d in zip(formula.names, derivatives):
        if not math.isfinite(d):
            at = ", ".join(f"{n}={_fmt(v)}" for n, v in point.items())
            raise _Exit(_("df/d{name} = {value} at {point}: the derivative is beyond the float range "
                          "(or infinite) at this point; choose another point").format(
                              name=name, value=d, point=at), 2)


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Print each input's analytic and numeric derivative; exit 1 on a mismatch."""
    # The rules are gradcheck's own; the messages are the command line's (its options, its language).
    for name, atol, rtol in (("atol", args.atol, 0.0), ("rtol", 0.0, args.rtol)):
        try:
            check_tolerances(atol, rtol)
        except ValueError:
            value = getattr(args, name)
            raise _Exit(_("--{name} must be a finite number >= 0, got {value}").format(
                name=name, value=value), 2) from None
    try:
        check_eps(args.eps)
    except ValueError:
        message = _("--eps must be a positive finite number, got {value}")
        raise _Exit(message.format(value=args.eps), 2) from None
    formula, leaves, root = _build(args.formula, args.values)
    if not formula.names:
        raise FormulaError(_("the formula has no variables to differentiate"))
    inputs = [leaves[n] for n in formula.names]
    analytic = mg.grad(root, inputs)
    point = [v.data for v in inputs]
    values = dict(zip(formula.names, point))
    _check_finite(formula, values, analytic)
    kinks = formula.kinks(values, args.eps)
    try:
        numeric = mg.numerical_grad(formula, point, eps=args.eps)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        # e.g. sqrt(x) at x=0: the formula is not defined on both sides of the point
        raise _Exit(_("cannot take central differences with eps={eps}: {reason}").format(
            eps=f"{args.eps:g}", reason=e), 2) from None

    at = ", ".join(f"{n}={_fmt(v)}" for n, v in zip(formula.names, point))
    print(_("f = {formula}    at {point}").format(formula=formula.source, point=at))
    print(f"f = {_fmt(root.data)}")
    print(_("df/d(input): analytic by backward(), numeric by central differences"))
    rows = [(_("input"), _("value"), _("analytic"), _("numeric"), _("|difference|"), "")]
    failed = []
    for name, x, a, n in zip(formula.names, point, analytic, numeric):
        ok = close(a, n, args.atol, args.rtol)  # mg.gradcheck's rule; NaN fails
        if not ok:
            failed.append(name)
        status = _("ok") if ok else _("at a kink") if kinks else _("MISMATCH")
        rows.append((name, _fmt(x), _fmt(a), _fmt(n), f"{abs(a - n):.2e}", status))
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths)).rstrip())
    tolerance = f"eps={args.eps:g}, atol={args.atol:g}, rtol={args.rtol:g}"
    said = [_kink_note(k) for k in kinks]
    if failed and kinks:
        # Not a wrong backward: central differences straddle the kink and measure neither side.
        raise _Exit(_("{kink}, so central differences cannot check the derivative here; "
                      "choose a point away from the kink").format(kink=said[0]), 2)
    for note in said:
        print(_("note: {kink}; backward uses the derivative shown, as PyTorch does").format(kink=note))
    if failed:
        print(_("MISMATCH for {names} ({tolerance})").format(names=", ".join(failed), tolerance=tolerance))
        return 1
    count = len(rows) - 1
    print(_("all {count} derivatives match ({tolerance})").format(count=count, tolerance=tolerance))
    return 0


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _kink_note(kink: Any) -> str:
    return _("{part} is at a kink (不可微點) of {function} at this point: its one-sided "
             "derivatives at {at} differ ({left} from the left, {right} from the right)").format(
                 part=kink.part, function=kink.function, at=_fmt(kink.at), left=_fmt(kink.left),
                 right=_fmt(kink.right))


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw the formula's graph after backward."""
    if args.steps:
        return _write_steps(args)
    out = Path(args.output)
    fmt = out.suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in GRAPH_FORMATS:
        raise _Exit(_("-o {path}: the file must end in {suffixes}").format(
            path=out, suffixes=", ".join(f".{f}" for f in GRAPH_FORMATS)), 2)
    formula, leaves, root = _build(args.formula, args.values)
    root.backward()
    _check_finite(formula, {n: v.data for n, v in leaves.items()}, [v.grad for v in leaves.values()])
    try:
        # DOT source costs nothing to write; only Graphviz's layout needs the caps.
        dot = mg.draw_dot(root, rankdir=args.rankdir, max_nodes=None if fmt == "dot" else GRAPH_MAX_NODES)
    except ValueError as e:
        # Its advice is for Python callers; keep the reason and say what works here.
        reason = " ".join(str(e).removeprefix("draw_dot: ").split()).split(". Pass ")[0].split(". Raise ")[0]
        raise _Exit(_("cannot draw this formula: {reason}; write its DOT source with -o {name}.dot "
                      "or use a variable fewer times").format(reason=reason, name=out.stem), 2) from None
    if fmt != "dot" and mg.viz.find_renderer() is None:
        raise _Exit(_("cannot write {path}: {hint}; or write the DOT source with -o {name}.dot").format(
            path=out, hint=graphviz_hint(), name=out.stem), 1)
    _write_graph(dot, out, fmt)
    print(f"f = {formula.source} = {_fmt(root.data)}")
    for name, leaf in leaves.items():
        print(f"  df/d{name} = {_fmt(leaf.grad)}    ({name} = {_fmt(leaf.data)})")
    print(_("wrote {path}").format(path=out))
    return 0


def _write_steps(args: argparse.Namespace) -> int:
    """``graph ... --steps -o f.html``: an HTML page stepping through backward, one node at a time."""
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise _Exit(_("-o {path}: --steps writes an HTML page; give a file ending in .html, "
                      "e.g. -o backward.html").format(path=out), 2)
    formula, _leaves, root = _build(args.formula, args.values)
    count = len(mg.toposort(root))
    if count > STEP_LIMIT:  # steps_html's own message speaks of max_steps=, which is Python's
        try:  # what graph without --steps can do with it: a picture, or (always) DOT source
            mg.draw_dot(root, rankdir=args.rankdir, max_nodes=GRAPH_MAX_NODES)
            whole = _("draw the whole graph without --steps: -o {name}.svg")
        except ValueError:
            whole = _("write the whole graph's DOT source without --steps: -o {name}.dot")
        message = _("the formula's graph has {count} nodes, more than the {limit} that --steps shows "
                    "one at a time; step through a smaller formula (a part of this one), or {whole}")
        whole = whole.format(name=out.stem)
        raise _Exit(message.format(count=f"{count:,}", limit=STEP_LIMIT, whole=whole), 2)
    if mg.viz.find_renderer() is None:
        raise _Exit(_("cannot write {path}: its drawing needs Graphviz: {hint}").format(
            path=out, hint=graphviz_hint()), 1)
    try:
        text = mg.viz.steps_html(root, rankdir=args.rankdir, who="graph --steps")
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:  # Graphviz failed
        raise _Exit(_("cannot draw {path}: {reason}").format(
            path=out, reason=" ".join(str(e).split())[:200]), 1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(_("f = {formula} = {value}: {count} backward steps").format(
        formula=formula.source, value=_fmt(root.data), count=count))
    print(_("wrote {path} (open it in a browser: ← → step, space plays)").format(path=out))
    return 0


def _write_graph(dot: Any, out: Path, fmt: str) -> None:
    """Write a graphviz.Digraph as DOT source or render it with Graphviz."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(dot.source, encoding="utf-8")
        return
    try:
        with warnings.catch_warnings(record=True) as caught:  # graphviz-pure's PNG has no CJK glyphs
            warnings.simplefilter("always")
            data = dot.pipe(format=fmt)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:  # ExecutableNotFound: RuntimeError
        raise _Exit(_("cannot render {path}: {reason}").format(
            path=out, reason=" ".join(str(e).split())[:300]), 1) from None
    for w in caught:
        print(_("warning: {message}").format(message=w.message), file=sys.stderr)
    out.write_bytes(data)


# ---------------------------------------------------------------------- demo


def _progress(step: int, steps: int, loss: float, start: float, tty: bool) -> None:
    """A progress bar: redrawn in place on a terminal, a line every 10% otherwise."""
    width = 30
    done = int(width * step / steps)
    shown = f"{loss:.6f}" if loss < 1e6 else f"{loss:.6g}"  # 1e300 is not 301 digits
    bar = f"[{'#' * done}{'.' * (width - done)}] {step:>{len(str(steps))}}/{steps}"
    line = f"{bar}  " + _("loss {value}").format(value=shown)
    if tty:
        end = "\n" if step == steps else ""
        print(f"\r{line}  {time.perf_counter() - start:5.1f}s", end=end, flush=True)
    elif step == steps or step % max(1, steps // 10) == 0:
        print(line, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    """Train the notes' 函數學習機 (2 inputs → 3 neurons → 1 output) and draw it."""
    import numpy as np

    if not 1 <= args.steps <= MAX_STEPS:
        raise _Exit(_("--steps must be from 1 to {most}, got {value}").format(
            most=f"{MAX_STEPS:,}", value=args.steps), 2)
    if not 1 <= args.samples <= MAX_SAMPLES:
        raise _Exit(_("--samples (k) must be from 1 to {most}, got {value}").format(
            most=f"{MAX_SAMPLES:,}", value=args.samples), 2)
    if not 0 <= args.seed <= MAX_SEED:
        message = _("--seed must be from 0 to {most}, got {value}")
        raise _Exit(message.format(most=MAX_SEED, value=args.seed), 2)
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise _Exit(_("--lr (η) must be a positive number, got {value}").format(value=args.lr), 2)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    # k samples of the function to learn, y = x1 · x2 on [-1, 1]²
    rng = np.random.default_rng(args.seed)
    X = rng.uniform(-1.0, 1.0, size=(args.samples, 2))
    Y = X[:, 0] * X[:, 1]
    model = mg.nn.MLP(2, [3, 1], activation="tanh", seed=args.seed)
    opt = mg.optim.SGD(model.parameters(), lr=args.lr)  # w ← w − η ∂L/∂w
    print(_("training {model} on y = x1 * x2, k = {samples} samples, η = {lr}, {steps} steps").format(
        model=model, samples=len(X), lr=f"{args.lr:g}", steps=args.steps))

    losses = []
    start, tty = time.perf_counter(), sys.stdout.isatty()
    for step in range(1, args.steps + 1):
        try:
            preds = [model(list(x)) for x in X]
            loss = mg.functional.mse_loss(preds, list(Y), reduction="half")  # L(θ) = 1/(2k) Σ ||y − f(x)||²
        except OverflowError:
            loss = mg.Value(math.inf)
        if not math.isfinite(loss.data):
            if tty:
                print()
            message = _("training diverged at step {step}: the loss overflowed; try a smaller --lr")
            raise _Exit(message.format(step=step), 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not all(math.isfinite(p.data) for p in model.parameters()):
            if tty:
                print()
            message = _("training diverged at step {step}: the weights overflowed; try a smaller --lr")
            raise _Exit(message.format(step=step), 1)
        losses.append(loss.data)
        _progress(step, args.steps, loss.data, start, tty)
    print(_("loss {value}").format(value=f"{losses[0]:.6f} → {losses[-1]:.6f}"))

    # One sample through the trained network, after backward: every node shows data and grad.
    x = [mg.Value(float(v), label=f"x{i + 1}") for i, v in enumerate(X[0])]
    y = model(x)
    assert isinstance(y, mg.Value)  # one output neuron: MLP returns a Value
    y.label = "f(x)"
    model.zero_grad()
    y.backward()
    pictures = {"graph": mg.draw_dot(y, model=model), "network": mg.draw_network(model)}
    written = []
    have_dot = mg.viz.find_renderer() is not None
    for name, dot in pictures.items():
        path = out_dir / f"{name}.{'svg' if have_dot else 'dot'}"
        _write_graph(dot, path, path.suffix[1:])
        written.append(path)
    written.append(_loss_curve(losses, out_dir))
    print(_("wrote:"))
    for path in written:
        print(f"  {path}")
    if not have_dot:
        print(_("hint: the graphs are DOT source; to get SVG pictures, {hint}").format(hint=graphviz_hint()))
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
        print(_("hint: pip install matplotlib (or the [examples] extra) to get loss.png"), file=sys.stderr)
        return path
    path = out_dir / "loss.png"
    with matplotlib.rc_context():  # the Chinese font is for this picture: main() may run inside a program
        mg.plotting.use_language_font()
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(range(1, len(losses) + 1), losses)
        ax.set_xlabel(_("step"))
        ax.set_ylabel("L(θ)")
        ax.set_yscale("log")
        ax.set_title(_("function learner: L(θ) = 1/(2k) Σ ||y − f(x)||²"))
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return path


# -------------------------------------------------------------------- parser


def _lang_option(parser: argparse.ArgumentParser, default: Any) -> None:
    # The value is read before parsing (see _wanted_language); argparse checks and documents it.
    parser.add_argument("--lang", choices=LANGUAGES, default=default,
                        help=_("language of help, messages and pictures: en or zh-TW "
                               "(default: MICROGRAD_TW_LANG, else the locale, else en)"))


def _parser(prog: str) -> argparse.ArgumentParser:
    """The command line's parser, in the language in use now (build it after choosing one)."""
    parser = _Parser(
        prog=prog,
        description=_("micrograd_tw: a scalar autograd engine with a computation graph."),
        epilog=_("Formulas use numbers, names, + - * / **, unary minus and the functions "
                 "{functions}; nothing else is evaluated.").format(functions=" ".join(FUNCTIONS)),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {mg.__version__}",
                        help=_("show the version and exit"))
    _lang_option(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # A subcommand's default must not undo a --lang given before the command.
    after = argparse.SUPPRESS

    demo = sub.add_parser("demo", help=_("train the course's function learner and draw it"),
                          description=_("Train the notes' 函數學習機 (2 inputs → 3 neurons → 1 output) "
                          "on y = x1·x2 with L(θ) = 1/(2k) Σ ||y − f(x)||² and w ← w − η ∂L/∂w; write "
                          "its graph, its network diagram and its loss curve."))
    demo.add_argument("--steps", type=int, default=300,
                      help=_("training steps, 1 to {most} (default: 300)").format(most=f"{MAX_STEPS:,}"))
    demo.add_argument("--lr", type=float, default=0.5,
                      help=_("learning rate η, a positive number (default: 0.5); "
                             "too large and training diverges"))
    demo.add_argument("--samples", type=int, default=40,
                      help=_("number of samples k, 1 to {most} (default: 40)").format(
                          most=f"{MAX_SAMPLES:,}"))
    demo.add_argument("--seed", type=int, default=0,
                      help=_("random seed, 0 to {most} (default: 0)").format(most=MAX_SEED))
    demo.add_argument("--out", default="micrograd-tw-demo",
                      help=_("output folder (default: micrograd-tw-demo)"))
    _lang_option(demo, after)
    demo.set_defaults(run=cmd_demo)

    value_help = _("a value for each variable of the formula: x=1 w=-2.5 b=1e-3")
    graph = sub.add_parser("graph", help=_("draw a formula's computation graph after backward"),
                           description=_("Build the formula's graph, run backward(), and draw every "
                                         "node with its data and grad."),
                           epilog=_("example: {example}").format(
                               example='graph "tanh(x*w + b)" x=1 w=-2 b=0.5 -o graph.svg'))
    graph.add_argument("formula", help=_("e.g. {example}").format(example='"tanh(x*w + b)"'))
    graph.add_argument("values", nargs="*", metavar="NAME=NUMBER", help=value_help)
    graph.add_argument("-o", "--output", default="graph.svg",
                       help=_("graph.svg, .png, .pdf (need Graphviz) or .dot (default: graph.svg)"))
    graph.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                       help=_("layout direction (default: LR, left to right)"))
    graph.add_argument("--steps", action="store_true",
                       help=_("write an HTML page that steps through backward one node at a time "
                              "(-o must end in .html)"))
    _lang_option(graph, after)
    graph.set_defaults(run=cmd_graph)

    check = sub.add_parser("gradcheck", help=_("compare a formula's derivatives with central differences"),
                           description=_("Print each input's analytic derivative (backward) and numeric "
                                         "one ((f(x+eps) − f(x−eps)) / 2eps); exit 1 if any differ by more "
                                         "than atol + rtol·|numeric|."),
                           epilog=_("example: {example}").format(example='gradcheck "x**y + log(x)" x=2 y=3'))
    check.add_argument("formula", help=_("e.g. {example}").format(example='"x**y + log(x)"'))
    check.add_argument("values", nargs="*", metavar="NAME=NUMBER", help=value_help)
    check.add_argument("--eps", type=float, default=1e-6, help=_("finite-difference step (default: 1e-6)"))
    check.add_argument("--atol", type=float, default=1e-5, help=_("absolute tolerance (default: 1e-5)"))
    check.add_argument("--rtol", type=float, default=1e-3, help=_("relative tolerance (default: 1e-3)"))
    _lang_option(check, after)
    check.set_defaults(run=cmd_gradcheck)
    return parser


def _wanted_language(argv: Sequence[str]) -> str | None:
    """The --lang given on the command line (anywhere before a lone --), if it is one we speak.

    Read before argparse runs, so that the parser's help texts are built in that
    language; an unknown value is left for argparse to refuse.
    """
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg.partition("=")[2]
        if (arg == "--lang" or arg.startswith("--lang=")) and value in LANGUAGES:
            return value
    return None


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
    argv = list(sys.argv[1:] if argv is None else argv)
    # --lang holds for this run only: a caller's (or a test's) language is back afterwards.
    with use_language(_wanted_language(argv)):
        return _run(prog, argv)


def _run(prog: str, argv: list[str]) -> int:
    args = _parser(prog).parse_args(argv)
    try:
        return int(args.run(args))
    except FormulaError as e:
        code, message = 2, str(e)
    except _Exit as e:
        code, message = e.code, str(e)
    except OSError as e:  # a folder that cannot be made, a file that cannot be written
        code = 1
        if e.filename:
            message = _("cannot write {path}: {reason}").format(path=e.filename, reason=e.strerror)
        else:
            message = str(e)
    except KeyboardInterrupt:
        code, message = 130, _("interrupted")
    except MemoryError:
        code, message = 2, _("out of memory; ask for less (see --help for the limits)")
    except Exception as e:  # a bug: still one line, and what to report
        detail = " ".join(str(e).split())[:300]
        code, message = 1, _("unexpected {error}: {detail} (please report this)").format(
            error=type(e).__name__, detail=detail)
    print(_("{prog} {command}: error: {message}").format(prog=prog, command=args.command, message=message),
          file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
