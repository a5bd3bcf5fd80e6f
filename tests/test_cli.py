"""The command line, driven in subprocesses as a user would, and the formula parser.

Expected derivatives are worked out by hand in the comments.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import micrograd_tw as mg
from micrograd_tw.__main__ import main
from micrograd_tw.formula import MAX_DEPTH, MAX_LENGTH, FormulaError, parse, parse_assignments, parse_number

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # a guard against a hang, not a speed check


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """python -m micrograd_tw ARGS, importing the package from this checkout."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "micrograd_tw", *args],
        capture_output=True, text=True, encoding="utf-8", cwd=cwd or ROOT, env=env, timeout=TIMEOUT,
    )


# ------------------------------------------------------------------ refusals
# (id, arguments, a fragment the one-line message must contain)

REFUSALS = [
    ("attribute", ["gradcheck", "x.real", "x=1"], "an attribute is not allowed at column 1: 'x.real'"),
    ("attribute-call", ["gradcheck", "os.system('ls')"], "an attribute is not allowed at column 1: 'os.sys"),
    # 權重 is two characters but six UTF-8 bytes: columns count characters
    ("attribute-after-cjk", ["gradcheck", "權重 + x.real", "權重=1", "x=1"], "at column 6: 'x.real'"),
    ("dunder-import", ["gradcheck", "__import__('os').system('echo hacked')"], "not allowed"),
    ("subscript", ["gradcheck", "x[0] + 1", "x=1"], "a subscript is not allowed at column 1: 'x[0]'"),
    ("string", ["gradcheck", "x + 'a'", "x=1"], "a string is not allowed at column 5: \"'a'\""),
    ("lambda", ["gradcheck", "(lambda: 1)()"], "a lambda is not allowed"),
    ("comparison", ["gradcheck", "x < 1", "x=1"], "a comparison is not allowed"),
    ("floor-div", ["gradcheck", "x // 2", "x=1"], "the operator // is not allowed"),
    ("list", ["gradcheck", "[x, 1]", "x=1"], "a list is not allowed"),
    ("f-string", ["gradcheck", "f'{x}'", "x=1"], "an f-string is not allowed"),
    ("walrus", ["gradcheck", "(y := 2) * x", "x=1"], "an assignment expression is not allowed"),
    ("unknown-function", ["gradcheck", "2 * foo(x)", "x=1"], "unknown function 'foo'"),
    ("function-as-name", ["gradcheck", "exp + x", "x=1"], "exp is a function"),
    ("two-arguments", ["gradcheck", "log(x, 2)", "x=1"], "log() takes exactly one argument"),
    ("keyword-argument", ["gradcheck", "exp(x=1)"], "exp() takes exactly one argument"),
    ("bool-constant", ["gradcheck", "x * True", "x=1"], "the constant True is not allowed"),
    ("complex-constant", ["gradcheck", "x * 1j", "x=1"], "the constant 1j is not allowed"),
    ("syntax", ["gradcheck", "x +", "x=1"], "not a formula"),
    ("empty", ["gradcheck", "  ", "x=1"], "the formula is empty"),
    ("unknown-name", ["gradcheck", "x + z", "x=1"], "no value for z"),
    ("missing-value", ["gradcheck", "x * w", "x=", "w=1"], "x= needs a number"),
    ("malformed-value", ["gradcheck", "x * w", "x=abc", "w=1"], "x= needs a number such as x=1"),
    ("underscore-value", ["gradcheck", "x", "x=1_000"], "x= needs a number"),
    ("nan-value", ["gradcheck", "x", "x=nan"], "nan and inf are refused"),
    ("inf-value", ["gradcheck", "x", "x=-inf"], "nan and inf are refused"),
    ("overflowing-value", ["gradcheck", "x", "x=1e999"], "beyond the float range"),
    ("no-equals", ["gradcheck", "x", "x"], "expected NAME=NUMBER"),
    ("bad-name", ["gradcheck", "x", "x=1", "1x=2"], "is not a variable name"),
    ("duplicate", ["gradcheck", "x * w", "x=1", "w=2", "x=3"], "x is given twice"),
    ("not-in-formula", ["gradcheck", "x * w", "x=1", "w=2", "z=3"], "z is not in the formula"),
    ("too-long", ["gradcheck", "x" + "+x" * MAX_LENGTH, "x=1"], f"the limit is {MAX_LENGTH}"),
    ("too-deep", ["gradcheck", "x" + "+x" * 240, "x=0"], f"more than {MAX_DEPTH} levels"),
    ("unary-chain", ["gradcheck", "--", "-" * 450 + "x", "x=1"], f"more than {MAX_DEPTH} levels"),
    ("too-many-parentheses", ["gradcheck", "(" * 210 + "x" + ")" * 210, "x=1"], "not a formula"),
    ("exponent-overflow", ["gradcheck", "2 ** 10 ** 10"], "in '2 ** 10 ** 10': pow"),
    ("exponent-overflow-var", ["gradcheck", "x ** 10 ** 10", "x=2"], "beyond the float range"),
    ("int-too-large", ["gradcheck", "x * " + "9" * 400, "x=1"], "a number too large for a float"),
    ("log-domain", ["gradcheck", "log(x - 3)", "x=1"], "in 'log(x - 3)': log: the operand must be positive"),
    ("division-by-zero", ["gradcheck", "x / (w - 1)", "x=1", "w=1"], "division by zero"),
    ("no-variables", ["gradcheck", "1 + 2"], "no variables"),
    # log at 1e-7 is defined, at 1e-7 - eps = -9e-7 it is not
    ("central-difference-outside-domain", ["gradcheck", "log(x)", "x=1e-7"],
     "cannot take central differences"),
    ("infinite-derivative", ["gradcheck", "sqrt(x)", "x=0"], "df/dx = inf at x=0: the derivative is beyond"),
    ("bad-eps", ["gradcheck", "x", "x=1", "--eps", "0"], "eps must be a positive"),
    ("bad-eps-text", ["gradcheck", "x", "x=1", "--eps", "abc"], "invalid float value"),
    ("bad-atol", ["gradcheck", "x", "x=1", "--atol", "-1"], "--atol must be a finite number >= 0"),
    ("leading-minus", ["gradcheck", "-x*w", "x=1", "w=2"], "goes after --"),
    ("graph-attribute", ["graph", "x.__class__", "x=1", "-o", "g.dot"], "an attribute is not allowed"),
    ("graph-extension", ["graph", "x", "x=1", "-o", "graph.txt"], "must end in .svg"),
    ("graph-missing-value", ["graph", "x * w", "x=1", "-o", "g.dot"], "no value for w"),
    ("no-command", [], "required: COMMAND"),
    ("unknown-command", ["train"], "invalid choice: 'train'"),
    ("demo-bad-steps", ["demo", "--steps", "0"], "--steps must be from 1 to 100,000"),
    # issue 11 #7: limits instead of numpy's _ArrayMemoryError
    ("demo-huge-samples", ["demo", "--samples", "100000000000"], "--samples (k) must be from 1 to 10,000"),
    ("demo-negative-seed", ["demo", "--seed", "-1"], "--seed must be from 0 to 4294967295"),
    # issue 11 #7: draw_dot's layout guard, as one line (x used 120 times)
    ("graph-too-wide-to-lay-out", ["graph", "*".join(["x"] * 120), "x=1", "-o", "g.svg"],
     "cannot draw this formula: Graphviz would take very long to lay out"),
    # issue 11 #8: a literal beyond the float range is refused as x=1e999 is
    ("overflowing-literal", ["gradcheck", "1e999*x", "x=1"],
     "a number beyond the float range at column 1: '1e999'"),
    ("overflowing-literal-graph", ["graph", "x + 1e999", "x=1", "-o", "g.dot"],
     "a number beyond the float range"),
    # ... and a value that overflows at the point is said to, not called a MISMATCH
    ("overflowing-value-gradcheck", ["gradcheck", "x*1e308*10", "x=1"],
     "in 'x*1e308*10': the value inf is beyond the float range"),
    ("overflowing-value-graph", ["graph", "x*1e308*10", "x=1", "-o", "g.dot"],
     "the value inf is beyond the float"),
    ("overflowing-folded-constant", ["graph", "1e308*10*x", "x=1", "-o", "g.dot"],
     "in '1e308*10': the value inf"),
    # d(1/x)/dx = -1/x² = -1e400 at x = 1e-200: the value is finite, the derivative is not
    ("overflowing-derivative", ["gradcheck", "1/x", "x=1e-200"],
     "df/dx = -inf at x=1e-200: the derivative is beyond"),
    ("overflowing-derivative-graph", ["graph", "1/x", "x=1e-200", "-o", "g.dot"], "df/dx = -inf"),
    # issue 11, messages: the column of a syntax error, and ^ pointed at with the ** hint
    ("syntax-end", ["graph", "x*", "x=1", "-o", "g.dot"], "not a formula: nothing follows '*' at column 3"),
    ("syntax-middle", ["gradcheck", "x y", "x=1"], "not a formula: invalid syntax at 'y' at column 3"),
    ("caret-power", ["graph", "x^2", "x=1", "-o", "g.dot"],
     "^ is not allowed (powers are written **: x**2) at column 2"),
    ("caret-power-after-paren", ["gradcheck", "2 + (x+1) ^ 2", "x=1"],
     "powers are written **: 2 + (x+1)**2) at column 11"),
    ("caret-power-after-cjk", ["gradcheck", "權重^2", "權重=1"],
     "(powers are written **: 權重**2) at column 3"),
    # relu at 0: central differences give 0.5, halfway between its one-sided derivatives 0 and 1
    ("kink-relu", ["gradcheck", "relu(x)", "x=0"],
     "relu(x) is at a kink (不可微點) of relu at this point: its one-sided derivatives at 0 differ "
     "(0 from the left, 1 from the right), so central differences cannot check"),
    ("kink-inside", ["gradcheck", "x * relu(2*x - 2)", "x=1"],
     "relu(2*x - 2) is at a kink (不可微點) of relu"),
]


# Each refusal runs in-process (fast); these run also as real processes, to see
# the exit code and stderr a user sees: one of each kind of error.
IN_SUBPROCESS = [
    "attribute-call", "dunder-import", "unknown-function", "malformed-value", "nan-value", "duplicate",
    "too-long", "unary-chain", "exponent-overflow", "int-too-large", "leading-minus", "no-command",
    "demo-huge-samples", "graph-too-wide-to-lay-out", "overflowing-literal", "caret-power", "kink-relu",
]


def check_refusal(code: int, err: str, out: str, fragment: str) -> None:
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.endswith("\n")
    (message,) = err.splitlines()  # every failure is one line
    assert fragment in message
    if "kink" not in fragment:  # gradcheck prints its table before saying why it cannot check
        assert out == ""


@pytest.mark.parametrize("name, args, fragment", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusal_is_one_line_and_exit_2(name, args, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors exit from inside parse_args
        code = e.code
    captured = capsys.readouterr()
    check_refusal(code, captured.err, captured.out, fragment)


@pytest.fixture(scope="module")
def refusal_processes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """The IN_SUBPROCESS refusals, run concurrently (each is a separate Python process)."""
    cwd = tmp_path_factory.mktemp("refusals")
    cases = {name: args for name, args, _ in REFUSALS if name in IN_SUBPROCESS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, *args, cwd=cwd) for name, args in cases.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", IN_SUBPROCESS)
def test_refusal_in_a_real_process(refusal_processes, name):
    r = refusal_processes[name]
    fragment = next(f for n, _, f in REFUSALS if n == name)
    check_refusal(r.returncode, r.stderr, r.stdout, fragment)


def test_refusals_execute_nothing(refusal_processes):
    """The __import__ formula would print 'hacked' if anything evaluated it."""
    assert "hacked" not in refusal_processes["dunder-import"].stdout


# ------------------------------------------------------------------ gradcheck


def test_gradcheck_prints_both_derivatives_and_exits_0():
    r = run("gradcheck", "x**y + log(x)", "x=2", "y=3")
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines() if line[:2] in ("x ", "y ")}
    # d/dx = y x^(y-1) + 1/x = 12 + 0.5; d/dy = x^y ln x = 8 ln 2
    assert float(rows["x"][2]) == pytest.approx(12.5, rel=1e-9)
    assert float(rows["x"][3]) == pytest.approx(12.5, rel=1e-6)
    assert float(rows["y"][2]) == pytest.approx(8 * math.log(2), rel=1e-9)
    assert float(rows["y"][3]) == pytest.approx(8 * math.log(2), rel=1e-6)
    assert rows["x"][-1] == rows["y"][-1] == "ok"
    assert f"f = {8 + math.log(2):.10g}" in r.stdout
    assert "all 2 derivatives match" in r.stdout


def test_gradcheck_mismatch_exits_1():
    # exp at 0 with a step of 1: backward gives 1, the central difference (e - 1/e) / 2 = sinh 1.
    r = run("gradcheck", "exp(x)", "x=0", "--eps", "1")
    assert r.returncode == 1
    assert "MISMATCH for x" in r.stdout and r.stderr == ""
    row = next(line.split() for line in r.stdout.splitlines() if line.startswith("x "))
    assert [float(row[2]), float(row[3])] == [1.0, pytest.approx(math.sinh(1.0))]


def test_gradcheck_at_relu_kink_is_not_called_a_mismatch():
    # relu at its kink: backward gives relu'(0) = 0, the central difference gives 1/2,
    # halfway between the one-sided derivatives 0 and 1: neither is wrong.
    r = run("gradcheck", "relu(x)", "x=0")
    assert r.returncode == 2
    assert "MISMATCH" not in r.stdout and "Traceback" not in r.stderr
    row = next(line.split() for line in r.stdout.splitlines() if line.startswith("x "))
    assert [float(row[2]), float(row[3])] == [0.0, pytest.approx(0.5)]
    assert row[-3:] == ["at", "a", "kink"]
    assert r.stderr.count("\n") == 1 and "kink (不可微點) of relu" in r.stderr


def test_gradcheck_at_a_kink_that_central_differences_agree_with_notes_it(capsys):
    # abs at 0: one-sided derivatives -1 and 1; the central difference (|e| - |-e|) / 2e = 0
    # and backward's abs'(0) = 0 agree, so the check passes, with a word about the kink.
    assert main(["gradcheck", "abs(x)", "x=0"]) == 0
    out = capsys.readouterr().out
    assert "note: abs(x) is at a kink (不可微點) of abs at this point" in out
    assert "(-1 from the left, 1 from the right)" in out
    assert "all 1 derivatives match" in out


def test_gradcheck_away_from_kinks_says_nothing_of_them(capsys):
    # relu(x + 1) at x = 0.5 is at 1.5, far from relu's kink; tanh, gaussian and exp are smooth
    # even where a one-sided difference quotient changes fastest (gaussian at 0, exp at 5)
    assert main(["gradcheck", "tanh(x) * relu(x + 1) + gaussian(x - 0.5) + exp(x + 4.5)", "x=0.5"]) == 0
    assert "kink" not in capsys.readouterr().out


def test_kinks_come_from_the_functions_called():
    # the formula's calls are tested by their own derivative's jump, not by their names
    f = parse("relu(x - 1) + abs(2 * x) + tanh(x)")
    assert f.kinks({"x": 1.0}, 1e-6) == [mg.formula.Kink("relu(x - 1)", "relu", 0.0, 0.0, 1.0)]
    (kink,) = f.kinks({"x": 0.0}, 1e-6)
    assert (kink.part, kink.function, kink.left, kink.right) == ("abs(2 * x)", "abs", -1.0, 1.0)
    assert f.kinks({"x": 0.5}, 1e-6) == []
    # within the step of the kink counts: central differences straddle it
    assert [k.function for k in parse("relu(x)").kinks({"x": 1e-9}, 1e-6)] == ["relu"]


def test_demo_that_diverges_says_so_in_one_line_and_exits_1(tmp_path, capsys):
    # η = 1e10 makes the loss grow without bound until it overflows
    code = main(["demo", "--lr", "1e10", "--steps", "20", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "training diverged at step " in err and "overflowed; try a smaller --lr" in err


def test_demo_that_diverges_in_a_real_process(tmp_path):
    r = run("demo", "--lr", "1e10", "--steps", "20", "--out", str(tmp_path / "d"))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "training diverged at step" in r.stderr, r.stderr


def test_an_unexpected_error_is_one_line_not_a_traceback(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(mg, "grad", broken)
    assert main(["gradcheck", "x", "x=1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected KeyError" in err and "please report" in err


def test_graph_dot_source_has_no_layout_cap(tmp_path, capsys):
    # DOT source is cheap to write; only a layout by Graphviz needs draw_dot's guard
    out = tmp_path / "g.dot"
    assert main(["graph", "*".join(["x"] * 120), "x=1", "-o", str(out)]) == 0
    # x*x*...*x: 119 products, each with two edges in (both operands) and one out
    assert out.read_text(encoding="utf-8").count("->") == 3 * 119


@pytest.mark.parametrize("value", ["1", "-2.5", "1e-3", "+4", ".5", "3.", "-1E+2"])
def test_gradcheck_accepts_plain_numbers(value, capsys):
    # f = x·x + tanh(x): f' = 2x + 1 − tanh²x
    assert main(["gradcheck", "x*x + tanh(x)", f"x={value}"]) == 0
    x = float(value)
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("x "))
    assert float(row[2]) == pytest.approx(2 * x + 1 - math.tanh(x) ** 2, rel=1e-9)


def test_gradcheck_unicode_names(capsys):
    # The notes' notation: θ and η are names like any other.  ∂(θ·η)/∂θ = η.
    assert main(["gradcheck", "θ * η", "θ=2", "η=0.1"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith("θ "))
    assert float(row[2]) == pytest.approx(0.1)


def test_gradcheck_formula_after_double_dash():
    r = run("gradcheck", "--", "-x*w", "x=3", "w=2")
    assert r.returncode == 0, r.stderr
    row = next(line.split() for line in r.stdout.splitlines() if line.startswith("x "))
    assert float(row[2]) == -2.0  # ∂(−x·w)/∂x = −w


def test_null_byte_is_refused_in_process(capsys):
    # A NUL cannot travel in argv, but main() can be given one.
    assert main(["gradcheck", "x\x00+1", "x=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a formula" in err


# ------------------------------------------------------------------ help


@pytest.mark.parametrize("command", [[], ["demo"], ["graph"], ["gradcheck"]])
def test_help(command):
    r = run(*command, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage:")
    if command:
        assert command[0] in r.stdout.splitlines()[0]


def test_console_script_entry_point_is_main():
    """pyproject's micrograd-tw script names this main(); an installed script runs it."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is 3.11+
    scripts = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert 'micrograd-tw = "micrograd_tw.__main__:main"' in scripts
    script = shutil.which("micrograd-tw")
    if script is None:
        pytest.skip("micrograd-tw is not installed (pip install -e .)")
    r = subprocess.run([script, "gradcheck", "x*x", "x=3"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "all 1 derivatives match" in r.stdout


# ------------------------------------------------------------------ graph


def test_graph_writes_dot_source_without_graphviz(tmp_path):
    r = run("graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "-o", "g.dot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    source = (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert source.lstrip().startswith("digraph")
    for label in ("x", "w", "b", "tanh"):
        assert label in source
    # f = tanh(−1.5); df/dw = x·(1 − f²) = 1 − tanh²(1.5)
    dfdw = 1 - math.tanh(-1.5) ** 2
    line = next(s for s in r.stdout.splitlines() if "df/dw" in s)
    assert float(line.split("=")[1].split()[0]) == pytest.approx(dfdw, rel=1e-9)
    assert "wrote g.dot" in r.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("ext, magic", [("svg", b"<svg"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_graph_renders_pictures(tmp_path, ext, magic):
    out = tmp_path / "pics" / f"graph.{ext}"
    r = run("graph", "x**y + log(x)", "x=2", "y=3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert magic in data[:400]
    if ext == "svg":
        text = data.decode("utf-8")
        assert "12.5" in text  # x.grad = y x^(y-1) + 1/x, shown in x's box


def test_graph_without_graphviz_says_how_to_install(tmp_path, monkeypatch, capsys):
    # Neither Graphviz's dot on PATH nor graphviz-pure anywhere (tests/test_rendering.py uses it).
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mg.viz, "PURE_PROGRAM", "no-such-graphviz-pure")
    assert main(["graph", "x*w", "x=1", "w=2", "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Graphviz" in err and "graphviz-pure" in err and "-o g.dot" in err
    assert not (tmp_path / "g.svg").exists()


# ------------------------------------------------------------------ formula parser


def test_parse_names_in_order_of_appearance():
    assert parse("y * log(x) + x ** y + b").names == ("y", "x", "b")


def test_formula_matches_python_arithmetic():
    f = parse("(x - 2*y) / (1 + x**2) ** 0.5 - -y")
    x, y = 1.7, -0.3
    assert f(mg.Value(x), mg.Value(y)).data == pytest.approx((x - 2 * y) / (1 + x**2) ** 0.5 + y, rel=1e-15)


def test_every_function_is_the_engine_op():
    x = 0.7
    expected = {
        "exp": math.exp(x), "log": math.log(x), "sqrt": math.sqrt(x), "relu": x,
        "sigmoid": 1 / (1 + math.exp(-x)), "tanh": math.tanh(x), "gaussian": math.exp(-x * x), "abs": x,
    }
    for name, value in expected.items():
        out = parse(f"{name}(x)").evaluate({"x": mg.Value(x)})
        assert out.op == name and out.data == pytest.approx(value, rel=1e-15)


def test_constants_are_folded_not_nodes():
    x = mg.Value(3.0, label="x")
    out = parse("x * (2 + exp(0))").evaluate({"x": x})
    assert out.data == 9.0 and mg.engine.parents(out) == (x,)  # one parent: the constant 3 is not a node


def test_parse_number():
    assert parse_number("x", "-2.5") == -2.5 and parse_number("x", "1e-3") == 0.001
    for bad in ["", "abc", "nan", "inf", "0x10", "1_0", "1e999", "--1", "1..2"]:
        with pytest.raises(FormulaError):
            parse_number("x", bad)


def test_parse_assignments_normalises_names_as_python_does():
    # Python reads the full-width ｘ of a formula as x (NFKC); so must x= values.
    f = parse("ｘ + 1")
    assert f.names == ("x",)
    assert parse_assignments(["ｘ=2"], f) == {"x": 2.0}


def test_unwritable_output_is_one_line_exit_1(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["demo", "--steps", "1", "--out", str(blocker)]) == 1
    assert main(["graph", "x", "x=1", "-o", str(blocker / "g.dot")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("cannot write" in line for line in err)
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("readme", ["README.md", "README.zh-TW.md"])
def test_readme_gradcheck_transcript_is_what_the_command_prints(readme, capsys):
    text = (ROOT / readme).read_text(encoding="utf-8")
    block = text.split("```console\n$ python -m micrograd_tw ", 1)[1].split("```", 1)[0]
    command, printed = block.split("\n", 1)
    args = command.split(" ", 1)[0], *command.split('"')[1:2], *command.rsplit('"', 1)[1].split()
    assert main(list(args)) == 0
    assert capsys.readouterr().out == printed

