"""The op table as the one owner of each op: complete rows, the rows added last
(sin, cos, max, min), users' own ops (mg.ops.define), and mg.compile's kernels
against the eager formulas at extreme inputs."""

from __future__ import annotations

import dataclasses
import fractions
import itertools
import math
import operator
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import micrograd_tw as mg
from micrograd_tw import engine, formula, ops
from micrograd_tw.engine import Value
from micrograd_tw.testing import assert_gradients_match, assert_second_derivatives_match, expressions

# ---------------------------------------------------------------- complete rows


def check_row(row: ops.Op) -> None:
    """Every field of a row says something: the table is the only place an op is described."""
    assert isinstance(row.name, str) and row.name, row
    assert isinstance(row.symbol, str) and row.symbol, f"{row.name}: no symbol for pictures"
    assert row.arity in (1, 2, ops.NARY) or (isinstance(row.arity, int) and row.arity > 2), row.name
    assert callable(row.forward), f"{row.name}: no forward"
    n_rules = 1 if row.arity is ops.NARY else row.arity
    assert len(row.partials) == n_rules and all(map(callable, row.partials)), f"{row.name}: partial rules"
    kernel = row.numpy_kernel()
    assert callable(kernel.forward) and callable(kernel.partials), f"{row.name}: no numpy kernel"
    assert isinstance(row.python_name, str) and row.python_name, f"{row.name}: no Python name"
    if row.arity is ops.NARY:
        assert callable(getattr(mg, row.python_name, None)), f"{row.name}: mg.{row.python_name} missing"
    else:
        assert callable(getattr(Value, row.python_name, None)), f"{row.name}: Value.{row.python_name} missing"
    assert len(row.domain) == n_rules, f"{row.name}: one domain per operand"
    assert all(d is None or isinstance(d, ops.Domain) for d in row.domain), row.name
    assert row.formula is None or formula.FUNCTIONS.get(row.formula) is not None, f"{row.name}: formula name"
    assert isinstance(row.doc, str) and row.doc, f"{row.name}: no description"


@pytest.mark.parametrize("name", sorted(ops.OPS))
def test_every_row_has_every_field(name: str) -> None:
    check_row(ops.OPS[name])


@pytest.mark.parametrize(
    "field, empty",
    [("symbol", ""), ("partials", ()), ("domain", ()), ("python_name", "no_such_method"), ("doc", ""),
     ("formula", "no_such_function")],
)
def test_a_row_missing_a_field_fails_the_check(field: str, empty: Any) -> None:
    broken = dataclasses.replace(ops.OPS["tanh"], **{field: empty})
    with pytest.raises(AssertionError):
        check_row(broken)


def test_ops_row_names_the_known_ops() -> None:
    assert ops.row("tanh") is ops.OPS["tanh"]
    with pytest.raises(ValueError, match="unknown op 'sinh'.*'tanh'"):
        ops.row("sinh")


def test_the_docs_table_is_made_from_the_rows() -> None:
    path = ops.__file__.replace("micrograd_tw/ops.py", "docs/ops.md")
    with open(path, encoding="utf-8") as f:
        assert f.read() == ops.markdown_table(), "run python docs/make_ops_table.py"


def test_the_cli_lists_the_table_functions() -> None:
    out = subprocess.run([sys.executable, "-m", "micrograd_tw", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for name in ("sin", "cos", "max", "min", "gaussian"):
        assert name in out


# ---------------------------------------------------------------- sin and cos


@pytest.mark.parametrize("a", [-2.5, 0.0, 0.7, 3.0])
def test_sin_and_cos_with_their_derivatives(a: float) -> None:
    x = Value(a)
    y = x.sin() * 2 + x.cos()
    y.backward()
    assert y.data == pytest.approx(2 * math.sin(a) + math.cos(a), rel=1e-15, abs=1e-15)
    assert x.grad == pytest.approx(2 * math.cos(a) - math.sin(a), rel=1e-15, abs=1e-15)
    (g,) = mg.grad(y, [x], create_graph=True)
    assert mg.grad(g, [x]) == pytest.approx([-2 * math.sin(a) - math.cos(a)], rel=1e-14, abs=1e-15)
    assert mg.functional.sin(a).data == math.sin(a) and mg.functional.cos(a).data == math.cos(a)
    assert mg.functional.sin(x).op == "sin"


def test_sin_and_cos_of_infinity_are_nan_as_in_pytorch() -> None:
    for v in (math.inf, -math.inf, math.nan):
        assert math.isnan(Value(v).sin().data) and math.isnan(Value(v).cos().data)


# ---------------------------------------------------------------- max and min


def test_max_sends_the_gradient_to_the_first_largest_item() -> None:
    a, b, c = Value(1.0), Value(3.0), Value(3.0)
    m = mg.max([a, b, 2.0, c])
    m.backward()
    assert (m.data, m.op, a.grad, b.grad, c.grad) == (3.0, "max", 0.0, 1.0, 0.0)
    assert engine.parents(m) == (a, b, c) and engine.operands(m) == (a, b, 2.0, c)
    n = mg.min([c, a, b, a])
    n.backward()
    assert (n.data, engine.local_partials(n)) == (1.0, (0.0, 1.0, 0.0, 0.0))


def test_max_of_a_constant_and_a_value_is_relu() -> None:
    for v in (-1.5, 2.0):
        x = Value(v)
        y = mg.max([0, x])
        y.backward()
        assert (y.data, x.grad) == (max(0.0, v), 1.0 if v > 0 else 0.0)
    x = Value(0.0)
    mg.max([0, x]).backward()
    assert x.grad == 0.0  # a tie goes to the first item, the constant: relu'(0) = 0


def test_max_and_min_follow_torch_with_nan_and_ties() -> None:
    torch = pytest.importorskip("torch")
    cases = ([1.0, math.nan, 3.0], [3.0, 1.0, 3.0, 1.0], [math.nan, math.nan], [-math.inf, -math.inf, 2.0])
    for items in cases:
        for ours, theirs in ((mg.max, torch.max), (mg.min, torch.min)):
            xs = [Value(v) for v in items]
            out = ours(xs)
            out.backward()
            t = torch.tensor(items, dtype=torch.float64, requires_grad=True)
            tv, _ = theirs(t, dim=0)
            tv.backward()
            assert out.data == tv.item() or (math.isnan(out.data) and math.isnan(tv.item()))
            assert [x.grad for x in xs] == t.grad.tolist(), (items, ours)


def test_max_and_min_refuse_an_empty_list_and_a_set() -> None:
    with pytest.raises(ValueError, match="max: the list is empty"):
        mg.max([])
    with pytest.raises(ValueError, match="min: the list is empty"):
        mg.min(iter([]))
    with pytest.raises(TypeError, match="max must be a list.*got set"):
        mg.max({1.0, 2.0})


def test_second_derivatives_through_max() -> None:
    x, y = Value(2.0), Value(-1.0)
    out = mg.max([x * x, y]) * x  # x³ near x = 2
    gx, gy = mg.grad(out, [x, y], create_graph=True)
    assert (gx.data, gy.data) == (12.0, 0.0)
    assert mg.grad(gx, [x, y]) == [12.0, 0.0]


def test_formulas_accept_sin_cos_max_and_min() -> None:
    f = formula.parse("max(0, x) + min(a, b) * sin(x) + cos(a)")
    assert f.names == ("x", "a", "b")
    x, a, b = Value(0.5), Value(2.0), Value(-1.0)
    out = f.evaluate({"x": x, "a": a, "b": b})
    assert out.data == pytest.approx(0.5 - math.sin(0.5) + math.cos(2.0))
    assert mg.grad(out, [x, a, b]) == pytest.approx([1 - math.cos(0.5), -math.sin(2.0), math.sin(0.5)])
    assert formula.parse("max(1, 2, 3)").evaluate({}).data == 3.0
    with pytest.raises(formula.FormulaError, match=r"max\(\) takes one or more arguments"):
        formula.parse("max()")
    with pytest.raises(formula.FormulaError, match=r"sin\(\) takes exactly one argument"):
        formula.parse("sin(x, y)")


def test_softmax_shifts_per_row_through_compile() -> None:
    # Traced on [0, 0], where the largest score is 0; the row [-740, -745] needs a shift of -740.
    fast = mg.compile(lambda a, b: mg.functional.softmax([a, b])[1])
    out = fast([0.0, -740.0], [0.0, -745.0])
    assert out[0] == 0.5
    assert out[1] == pytest.approx(1.0 / (1.0 + math.exp(5.0)), rel=1e-12)  # 0.0067, not 0.0116
    lse = mg.compile(lambda a, b: mg.functional.logsumexp([a, b]))
    assert lse([0.0, -740.0], [0.0, -745.0])[1] == pytest.approx(-740.0 + math.log1p(math.exp(-5.0)))
    p = mg.Value(1.0)
    ce = mg.compile(lambda a, b: mg.functional.cross_entropy([a * p, b], 1))
    loss = ce.backward([0.0, -740.0], [0.0, -745.0], reduction="sum")
    rows = ((0.0, 0.0), (-740.0, -745.0))
    eager = [mg.functional.cross_entropy([Value(a) * p, Value(b)], 1) for a, b in rows]
    assert loss == pytest.approx(sum(e.data for e in eager), rel=1e-12)
    assert p.grad == pytest.approx(sum(mg.grad(e, [p])[0] for e in eager), rel=1e-12)


# ---------------------------------------------------------------- users' own ops


@pytest.fixture
def cube(restore_op_table: None) -> Any:
    return ops.define("cube", lambda a: a**3, lambda a, out: 3 * a * a)


def test_a_defined_op_works_in_backward_grad_and_on_numbers(cube: Any) -> None:
    x = Value(2.0)
    y = cube(x)
    assert (y.data, y.op) == (8.0, "cube") and engine.parents(y) == (x,)
    y.backward()
    assert x.grad == 12.0
    (g,) = mg.grad(y, [x], create_graph=True)
    assert (g.data, mg.grad(g, [x])) == (12.0, [12.0])  # d²/dx² x³ = 6x
    assert cube(3).data == 27.0 and isinstance(cube(3), Value)
    assert ops.row("cube").symbol == "cube"
    assert mg.gradcheck(lambda a: cube(a.tanh()) * a, [0.7])


def test_a_defined_op_is_labelled_by_its_name_in_pictures(cube: Any) -> None:
    y = cube(Value(1.5, label="x"))
    assert "label=<cube>" in mg.draw_dot(y).source


def test_a_defined_binary_op_with_constants_on_either_side(restore_op_table: None) -> None:
    hyp = ops.define("hypot", lambda a, b: (a * a + b * b) ** 0.5,
                     lambda a, b, out: (a / out, b / out))
    x = Value(3.0)
    for out, operands in ((hyp(x, 4.0), (x, 4.0)), (hyp(4, x), (4.0, x)), (hyp(x, x), (x, x))):
        assert engine.operands(out) == operands
    assert mg.grad(hyp(x, 4.0), [x]) == [0.6] and mg.grad(hyp(4.0, x), [x]) == [0.6]
    assert mg.grad(hyp(x, x), [x]) == pytest.approx([2 ** 0.5])
    (g,) = mg.grad(hyp(x, 4.0), [x], create_graph=True)  # a/out: d/da = b²/out³
    assert mg.grad(g, [x]) == pytest.approx([16 / 125])
    triple = ops.define("weighted", lambda a, b, c: a + 2 * b + 3 * c, lambda a, b, c, out: (1, 2, 3))
    y, z = Value(1.0), Value(-1.0)
    w = triple(x, 5.0, z)
    w.backward()
    assert (w.data, x.grad, z.grad, engine.operands(w)) == (10.0, 1.0, 3.0, (x, 5.0, z))
    assert y.grad == 0.0


def test_a_defined_op_of_three_operands_compiles(restore_op_table: None) -> None:
    w3 = ops.define("w3", lambda a, b, c: a + 2 * b + 3 * c * a, lambda a, b, c, out: (1 + 3 * c, 2.0, 3 * a))
    p = Value(0.5)

    def f(x: Value, y: Value) -> Value:
        return w3(x * p, 2.0, y)

    fast = mg.compile(f)
    assert fast.backward([1.0, 2.0], [3.0, 4.0], reduction="sum") == 26.0  # 9 + 17, by hand
    assert p.grad == 36.0  # Σ (1 + 3y)·x = 10 + 26


def test_defining_a_name_that_exists_is_refused(cube: Any) -> None:
    for name in ("cube", "tanh", "+", "max"):
        with pytest.raises(ValueError, match="exists already|must be an identifier"):
            ops.define(name, lambda a: a, lambda a, out: 1.0)
    with pytest.raises(ValueError, match="domain needs a Domain or None for each of 1"):
        ops.define("twice", lambda a: 2 * a, lambda a, out: 2.0, domain=(None, None))
    with pytest.raises(TypeError, match="takes 1 operand, got 2"):
        cube(1.0, 2.0)


def test_a_defined_op_compiles_when_it_runs_on_arrays(restore_op_table: None) -> None:
    softplus = ops.define("softplus", lambda a: np.logaddexp(0.0, a), lambda a, out: 1.0 / (1.0 + np.exp(-a)))
    p = Value(0.5)
    fast = mg.compile(lambda a: softplus(a * p))
    xs = [-3.0, 0.0, 2.0]
    loss = fast.backward(xs)
    eager = [softplus(Value(a) * p) for a in xs]
    assert fast(xs) == pytest.approx([e.data for e in eager], rel=1e-14)
    assert loss == pytest.approx(sum(e.data for e in eager) / 3, rel=1e-14)
    assert p.grad == pytest.approx(sum(mg.grad(e, [p])[0] for e in eager) / 3, rel=1e-14)


def test_a_defined_op_with_a_domain_is_drawn_by_expressions(restore_op_table: None) -> None:
    ops.define(
        "softplus",
        lambda a: math.log1p(math.exp(a)),
        lambda a, out: mg.functional.sigmoid(a),  # on floats and on Values: second derivatives work
        domain=ops.Domain(-2.0, 2.0),
    )

    @settings(max_examples=25, database=None)
    @given(expressions(max_ops=4, ops=["softplus", "*", "+", "max"]))
    def check(expr: Any) -> None:
        assert expr.ops <= {"softplus", "*", "+", "max", "/"}  # "/": the guard that bounds values
        for node in expr.nodes:  # its operand inside its domain
            if node.op == "softplus":
                assert -2.01 <= expr_slots(expr)[node.args[0]] <= 2.01
        assert_gradients_match(expr, expr.inputs)
        assert_second_derivatives_match(expr, expr.inputs)

    check()


def expr_slots(expr: Any) -> list[float]:
    """Every slot's value at the expression's point."""
    slots = [Value(x) for x in expr.inputs]
    for k in range(1, len(expr.nodes) + 1):
        slots.append(type(expr)(expr.inputs, expr.nodes[:k])(*expr.inputs))
    return [v.data for v in slots]


# ---------------------------------------------------------------- .data assigned later


@pytest.mark.parametrize("value", [2, np.float32(2.0), np.int64(2), fractions.Fraction(2, 1), 2.0])
def test_data_assigned_later_works_in_every_op(value: Any) -> None:
    b = Value(1.0)
    b.data = value
    assert type(b.data) is float and b.data == 2.0
    assert (b ** Value(3.0)).data == 8.0
    assert mg.grad(b ** Value(3.0), [b]) == [12.0]
    k = Value(0.0)
    k.data = 3
    assert (Value(-2.0) ** k).data == -8.0
    for row in ops.OPS.values():
        if row.arity == 1:
            getattr(b, row.python_name)()
        elif row.arity == 2:
            getattr(b, row.python_name)(b)
    assert mg.dot([b], [b]).data == 4.0 and mg.max([b, 1]).data == 2.0


@pytest.mark.parametrize("bad", ["2", None, 1j, True, [2.0], np.array([2.0])])
def test_data_that_is_not_a_real_number_is_refused_at_assignment(bad: Any) -> None:
    b = Value(1.5)
    with pytest.raises(TypeError, match="Value data must be a real number"):
        b.data = bad
    assert b.data == 1.5


def test_optimisers_keep_data_a_float() -> None:
    p = Value(1.0)
    p.data -= np.float64(0.5) * 1  # a micrograd user's update with a numpy scalar
    assert type(p.data) is float and p.data == 0.5


# ---------------------------------------------------------------- messages


def test_detect_anomaly_inside_no_grad_names_the_op() -> None:
    big = Value(1e200)
    with mg.no_grad(), mg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"operation '\*' produced the non-finite value inf"):
            big * 1e200
        with pytest.raises(FloatingPointError, match="operation 'max'"):
            mg.max([big * 1e100 / 1e100, 1.0, float("inf")])


def test_zero_grad_of_none_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="zero_grad: expected a list of Values, got NoneType"):
        mg.zero_grad(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- many parameters at once


def test_data_of_set_data_and_add_to_grads() -> None:
    a, b = Value(1.5), Value(-2.0)
    assert engine.data_of([a, b]) == [1.5, -2.0]
    engine.set_data([a, b], np.array([0.25, 3.0]).tolist())
    assert (a.data, b.data, type(a.data)) == (0.25, 3.0, float)
    assert (a * b).data == 0.75
    a.grad, b.grad = 1.0, 2.0
    engine.add_to_grads([a, b], [0.5, -2.0])
    assert (a.grad, b.grad) == (1.5, 0.0)
    engine.descend([a, b], [2.0, -4.0], 0.5)  # θ ← θ − η·g
    assert (a.data, b.data) == (0.25 - 1.0, 3.0 + 2.0)
    with pytest.raises(ValueError):  # a list of another length is a mistake, not a shorter update
        engine.set_data([a, b], [1.0])


def test_zero_grad_refuses_a_non_value_before_changing_any_grad() -> None:
    class Param(Value):
        pass

    a, b = Value(1.0), Param(2.0)
    a.grad, b.grad = 3.0, 4.0
    with pytest.raises(TypeError, match="zero_grad: item 1 is a float, not a Value"):
        mg.zero_grad([a, 2.0, b])
    assert (a.grad, b.grad) == (3.0, 4.0)
    mg.zero_grad([a, b])  # a subclass of Value is a Value
    assert (a.grad, b.grad) == (0.0, 0.0)


# ---------------------------------------------------------------- compiled kernels at extremes

EXTREMES = [math.inf, -math.inf, math.nan, 0.0, -0.0, 1e308, -1e308, 5e-324, 1.0, -2.0]


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-12)


def compare(fn: Any, rows: list[tuple[float, ...]], params: list[Value], warm: tuple[float, ...]) -> None:
    """fn compiled (traced on ``warm``) against the eager engine, one row at a time: value and grads."""
    fast = mg.compile(fn)
    fast(*[[w] for w in warm])
    for row in rows:
        columns = [[v] for v in row]
        try:
            out = fn(*[Value(v) for v in row])
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            with pytest.raises(type(e)):
                fast.backward(*columns)
            continue
        want = [out.data, *mg.grad(out, params)]
        for p in params:
            p.grad = 0.0
        with np.errstate(all="ignore"):
            value = float(fast(*columns)[0])
            fast.backward(*columns, reduction="sum")
        got = [value, *[p.grad for p in params]]
        assert all(map(same, got, want)), f"{row}: compiled {got}, eager {want}"


@pytest.mark.parametrize("name", sorted(ops.UNARY))
def test_compiled_unary_rows_follow_eager_at_extremes(name: str) -> None:
    method = getattr(Value, ops.OPS[name].python_name)
    p = Value(1.0)
    compare(lambda a: method(a * p), [(v,) for v in EXTREMES], [p], (0.5,))


@pytest.mark.parametrize("name", sorted(ops.BINARY))
def test_compiled_binary_rows_follow_eager_at_extremes(name: str) -> None:
    method = getattr(operator, ops.OPS[name].python_name.strip("_"))  # x + y, 3.0 + y, ...
    p, q = Value(1.0), Value(1.0)
    rows = list(itertools.product(EXTREMES, repeat=2))
    compare(lambda a, b: method(a * p, b * q), rows, [p, q], (1.5, 0.5))
    compare(lambda a, b: method(a * p, 2.0) + method(3.0, b * q), rows, [p, q], (1.5, 0.5))


@pytest.mark.parametrize("name", sorted(ops.NARY_OPS))
def test_compiled_nary_rows_follow_eager_at_extremes(name: str) -> None:
    p, q = Value(1.0), Value(-1.0)
    if name == "dot":
        def fn(a: Value, b: Value) -> Value:
            return mg.dot([a * p, q, 2.0], [b, a, b * q])
    elif name == "gather":  # the index is an operand too: a constant here, the items extreme
        def fn(a: Value, b: Value) -> Value:
            return mg.gather([a * p, b * q, 0.5, b], 1) + mg.gather([a * p, b], 0)
    else:
        f = getattr(mg, name)

        def fn(a: Value, b: Value) -> Value:
            return f([a * p, b * q, 0.5, b])

    compare(fn, list(itertools.product(EXTREMES, repeat=2)), [p, q], (1.5, 0.5))


def test_compiled_gaussian_gradient_at_1e308_is_zero_as_eager() -> None:
    w = Value(1.0)
    fast = mg.compile(lambda x: (x * w).gaussian())
    fast.backward([1e308])
    assert w.grad == 0.0
    x = Value(1e308)
    (x * w).gaussian().backward()
    assert w.grad == 0.0
