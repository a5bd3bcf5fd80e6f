"""mg.Value and the engine, bullet by bullet against API.md's *Engine* section."""

from __future__ import annotations

import asyncio
import gc
import math
import operator
import sys
import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import micrograd_tw as mg
from micrograd_tw import Value, engine, ops

INF, NAN = math.inf, math.nan


# ------------------------------------------------------------- constructor


@pytest.mark.parametrize(
    "data, expected",
    [
        (2, 2.0),
        (-3.5, -3.5),
        (Fraction(1, 3), 1 / 3),
        (np.float64(0.25), 0.25),
        (np.float32(0.1), 0.10000000149011612),  # the float32 value, widened exactly
        (np.int64(7), 7.0),
        (np.int8(-4), -4.0),
        (2**1023, 2.0**1023),
    ],
)
def test_data_is_stored_as_builtin_float(data: Any, expected: float) -> None:
    x = Value(data, label="x")
    assert type(x.data) is float and x.data == expected
    assert type(x.grad) is float and x.grad == 0.0
    assert x.label == "x" and x.op == ""


def test_label_defaults_to_empty_and_must_be_a_str() -> None:
    assert Value(1.0).label == ""
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, label=3)  # type: ignore[arg-type]


def test_label_and_op_of_nodes_and_leaves_are_independent() -> None:
    """op and label share a slot inside; to the user they are two attributes."""
    x = Value(2.0, label="x")
    y = (x * 3.0).tanh()
    assert (y.op, y.label) == ("tanh", "")
    y.label = "y"
    assert (y.op, y.label) == ("tanh", "y")
    y.label = "ŷ (輸出)"
    assert (y.op, y.label) == ("tanh", "ŷ (輸出)")
    y.label = ""
    assert (y.op, y.label) == ("tanh", "")
    x.label = "x₁"
    assert (x.op, x.label) == ("", "x₁")
    with pytest.raises(TypeError, match="label must be a str, got int"):
        y.label = 3  # type: ignore[assignment]
    with pytest.raises(TypeError, match="label must be a str, got NoneType"):
        x.label = None  # type: ignore[assignment]
    assert (y.op, y.label, x.op, x.label) == ("tanh", "", "", "x₁")  # unchanged by the refusals
    with pytest.raises(AttributeError):
        y.op = "+"  # type: ignore[misc]
    assert y.op == "tanh"
    with mg.no_grad():
        z = x * 2.0
    assert (z.op, z.label) == ("", "")  # a leaf


@pytest.mark.parametrize(
    "data, type_name",
    [
        (True, "bool"),
        (np.bool_(False), "bool"),
        (1 + 2j, "complex"),
        ("1.0", "str"),
        (None, "NoneType"),
        (Decimal("1.5"), "Decimal"),
        ([1.0], "list"),
        (np.array(1.0), "ndarray"),
        (np.array([1.0, 2.0]), "ndarray"),
        (Value(1.0), "Value"),
    ],
)
def test_constructor_refuses_non_reals_naming_the_type(data: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=rf"got {type_name}\b"):
        Value(data)


def test_int_too_large_for_a_float_is_an_overflow_error_that_says_so() -> None:
    with pytest.raises(OverflowError, match="too large for a float"):
        Value(10**400)
    with pytest.raises(OverflowError, match="too large for a float"):
        Value(1.0) + 10**400
    with pytest.raises(OverflowError, match="too large for a float"):
        10**400 * Value(1.0)


def test_nan_and_inf_are_allowed_and_propagate() -> None:
    assert math.isnan(Value(NAN).data) and Value(INF).data == INF and Value(-INF).data == -INF
    x, y = Value(NAN), Value(2.0)
    z = (x * y + 1.0).tanh()
    z.backward()
    assert math.isnan(z.data) and math.isnan(x.grad) and math.isnan(y.grad)
    assert (Value(INF) * 2).data == INF
    assert (Value(INF) - Value(INF)).data != (Value(INF) - Value(INF)).data  # NaN
    assert Value(INF).exp().data == INF and Value(-INF).exp().data == 0.0
    assert Value(INF).log().data == INF and Value(INF).sqrt().data == INF
    assert Value(INF).sigmoid().data == 1.0 and Value(-INF).tanh().data == -1.0
    for name in ("exp", "log", "sqrt", "relu", "sigmoid", "tanh", "gaussian"):
        assert math.isnan(getattr(Value(NAN), name)().data), name
    assert math.isnan(abs(Value(NAN)).data) and math.isnan((Value(2.0) ** NAN).data)


# ------------------------------------------------------------ arithmetic


@pytest.mark.parametrize(
    "fn, value, grad",
    [
        # y(x) at x = 3, by hand
        (lambda x: x + 2, 5.0, 1.0),
        (lambda x: 2 + x, 5.0, 1.0),
        (lambda x: x - 2, 1.0, 1.0),
        (lambda x: 1 - x, -2.0, -1.0),
        (lambda x: x * 2, 6.0, 2.0),
        (lambda x: 2 * x, 6.0, 2.0),
        (lambda x: x / 2, 1.5, 0.5),
        (lambda x: 1 / x, 1 / 3, -1 / 9),
        (lambda x: x**2, 9.0, 6.0),
        (lambda x: 2**x, 8.0, 8.0 * math.log(2.0)),
        (lambda x: -x, -3.0, -1.0),
        (lambda x: +x, 3.0, 1.0),
        (lambda x: abs(-x), 3.0, 1.0),
        (lambda x: x * x * x, 27.0, 27.0),
        (lambda x: x / x, 1.0, 0.0),
        (lambda x: x - x, 0.0, 0.0),
    ],
)
def test_binary_and_unary_operators_with_numbers_on_either_side(fn: Any, value: float, grad: float) -> None:
    x = Value(3.0)
    y = fn(x)
    y.backward()
    assert isinstance(y, Value)
    assert y.data == pytest.approx(value, rel=1e-15) and x.grad == pytest.approx(grad, rel=1e-15)


def test_value_exponent() -> None:
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0 and z.op == "**"
    assert x.grad == 12.0  # y·x^(y−1)
    assert y.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)  # x^y·ln x


def test_methods_and_op_names() -> None:
    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    y = (x * w + 1).tanh()
    y.label = "y"
    y.backward()
    assert (y.op, y.label, x.op, w.op) == ("tanh", "y", "", "")
    d = 1.0 - math.tanh(-5.0) ** 2
    assert x.grad == pytest.approx(d * -3.0, rel=1e-12) and w.grad == pytest.approx(d * 2.0, rel=1e-12)
    assert Value(0.5).gaussian().data == math.exp(-0.25)


def test_relu_and_abs_have_derivative_zero_at_zero() -> None:
    for fn in (lambda v: v.relu(), abs):
        x = Value(0.0)
        fn(x).backward()
        assert x.grad == 0.0
    x = Value(0.0)
    assert mg.grad(x.relu(), [x], create_graph=True)[0].data == 0.0


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
        (lambda: Value(-2.0).log(), ValueError, ["log", "-2.0"]),
        (lambda: Value(-1.5).sqrt(), ValueError, ["sqrt", "-1.5"]),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, ["pow", "-8.0", "0.333"]),
        (lambda: Value(-8.0) ** Value(0.5), ValueError, ["pow", "-8.0", "0.5"]),
        (lambda: (-2.0) ** Value(1.5), ValueError, ["pow", "-2.0", "1.5"]),
        (lambda: Value(3.0) / 0, ZeroDivisionError, ["division", "3.0", "0.0"]),
        (lambda: 3 / Value(0.0), ZeroDivisionError, ["division", "3.0", "0.0"]),
        (lambda: Value(3.0) / Value(-0.0), ZeroDivisionError, ["division", "3.0", "-0.0"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["pow", "0.0", "-1.0"]),
        (lambda: 0 ** Value(-0.5), ZeroDivisionError, ["pow", "0.0", "-0.5"]),
        (lambda: Value(710.0).exp(), OverflowError, ["exp", "710.0"]),
        (lambda: mg.functional.exp(1000), OverflowError, ["exp", "1000.0"]),
        (lambda: Value(10.0) ** 400, OverflowError, ["pow", "10.0", "400.0"]),
        (lambda: 2 ** Value(2000.0), OverflowError, ["pow", "2.0", "2000.0"]),
    ],
)
def test_domain_errors_name_the_operation_and_the_operand(make: Any, error: type, words: list[str]) -> None:
    with pytest.raises(error) as info:
        make()
    assert type(info.value) is error
    message = str(info.value)
    assert "math domain error" not in message
    for word in words:
        assert word in message, f"{word!r} missing from {message!r}"


@pytest.mark.parametrize(
    "fn, point, expected",
    [
        # PyTorch's values where a derivative is singular or underflows.
        (lambda x: x**0.5, 0.0, [INF]),
        (lambda x: x.sqrt(), 0.0, [INF]),
        (lambda x: x.sigmoid(), -1000.0, [0.0]),
        (lambda x: x.sigmoid(), 1000.0, [0.0]),
        (lambda x: x.tanh(), 1000.0, [0.0]),
        (lambda x: x.gaussian(), 1e200, [0.0]),
        (lambda x: x.exp(), -1000.0, [0.0]),
        (lambda x: x**3, 0.0, [0.0]),
        (lambda x: x**1, 0.0, [1.0]),
        (lambda x: x**0, 0.0, [0.0]),
        (lambda x: 0.0**x, 2.0, [0.0]),  # the exponent's gradient at base 0 is 0
        (lambda x: 0.0**x, 0.0, [0.0]),
        (lambda x, y: x**y, (0.0, 0.5), [INF, 0.0]),
        (lambda x, y: x**y, (0.0, 2.0), [0.0, 0.0]),
        (lambda x, y: x**y, (-2.0, 3.0), [12.0, NAN]),  # ln of a negative base
        (lambda x: x.log(), 5e-324, [INF]),
        (lambda x: 1.0 / x, 5e-324, [-INF]),
        (lambda x: x * 1e308 * 10.0, 1.0, [INF]),
    ],
)
def test_backward_never_raises_after_a_successful_forward(fn: Any, point: Any, expected: list[float]) -> None:
    args = [Value(p) for p in (point if isinstance(point, tuple) else (point,))]
    out = fn(*args)
    out.backward()
    got = [a.grad for a in args]
    assert got == pytest.approx(expected, nan_ok=True), got
    assert mg.grad(out, args) == pytest.approx(expected, nan_ok=True)
    second = mg.grad(out, args, create_graph=True)  # building the partials as Values must not raise either
    assert [g.data for g in second] == pytest.approx(expected, nan_ok=True)


def test_sigmoid_at_minus_1000_is_zero_with_gradient_zero() -> None:
    x = Value(-1000)
    y = x.sigmoid()
    y.backward()
    assert y.data == 0.0 and x.grad == 0.0


def _all_floats() -> st.SearchStrategy[float]:
    return st.floats(allow_subnormal=False) | st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 1e300])


_ALLOWED_FORWARD_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


@pytest.mark.parametrize("name", sorted(ops.UNARY))
@given(a=_all_floats())
def test_unary_backward_never_raises(name: str, a: float) -> None:
    x = Value(a)
    try:
        y = {"neg": operator.neg, "abs": abs}.get(name, operator.methodcaller(name))(x)
    except _ALLOWED_FORWARD_ERRORS:
        return
    y.backward()
    (g,) = mg.grad(y, [x], create_graph=True)
    mg.grad(g, [x])


@pytest.mark.parametrize("name", sorted(ops.BINARY))
@given(a=_all_floats(), b=_all_floats())
@example(a=1e-5, b=-61.0)  # a ** b fits, a ** (b − 1) in its partial does not
@example(a=-1e-5, b=-61.0)
def test_binary_backward_never_raises(name: str, a: float, b: float) -> None:
    op = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "**": operator.pow}[name]
    for make in (lambda: (Value(a), Value(b)), lambda: (Value(a), b), lambda: (a, Value(b))):
        x, y = make()
        try:
            out = op(x, y)
        except _ALLOWED_FORWARD_ERRORS:
            continue
        out.backward()
        leaves = [v for v in (x, y) if isinstance(v, Value)]
        for g in mg.grad(out, leaves, create_graph=True):
            mg.grad(g, leaves)


# ----------------------------------------------------------------- backward


def test_shared_subexpression_accumulates() -> None:
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_backward_twice_doubles_every_grad_exactly() -> None:
    x = Value(1.0)
    y = (x * 2) * 3
    y.backward()
    assert x.grad == 6.0
    y.backward()
    assert x.grad == 12.0  # micrograd's second call gives 18

    a, b = Value(0.3), Value(-1.7)
    h = (a * b).tanh()
    out = h * h + (h + a).sigmoid() * b / 3 + (a**2 + 1).log()
    nodes = mg.toposort(out)
    out.backward()
    once = [n.grad for n in nodes]
    out.backward()
    assert [n.grad for n in nodes] == [2.0 * g for g in once]


def test_backward_fills_intermediates() -> None:
    x = Value(3.0)
    h = x * x  # dy/dh = 2
    y = h * 2.0
    y.backward()
    assert (y.grad, h.grad, x.grad) == (1.0, 2.0, 12.0)


def test_a_chain_of_a_million_nodes_needs_no_recursion() -> None:
    x = Value(0.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert y.data == 1_000_000.0 and x.grad == 1.0
    del y  # freeing the chain must not overflow the C stack either


def test_deep_chain_create_graph() -> None:
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y + x * x  # y = x + n·x², so y' = 1 + 2n·x and y'' = 2n
    (g,) = mg.grad(y, [x], create_graph=True)
    assert g.data == 20_001.0
    assert mg.grad(g, [x]) == [40_000.0]


def test_a_graph_is_freed_without_the_cycle_collector() -> None:
    """No closures, no reference cycles: reference counting frees a whole graph."""
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        y = x
        for _ in range(1000):
            y = (y * x).tanh() + y.sigmoid()
        y.backward()
        mg.grad(y, [x], create_graph=True)
        del y
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_toposort_puts_each_node_after_its_parents_once() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c + mg.sum([a, b, c, d])
    order = mg.toposort(e)
    assert len(order) == len(set(order)) == 7 and order[-1] is e
    index = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in mg.engine.parents(n):
            assert index[id(p)] < index[id(n)]
    assert mg.toposort(a) == [a]
    assert mg.toposort(e) == order  # a second walk gives the same order


# ---------------------------------------------------- zero_grad and detach


def test_zero_grad() -> None:
    a, b = Value(1.0), Value(2.0)
    (a * b).backward()
    a.zero_grad()
    assert (a.grad, b.grad) == (0.0, 1.0)
    (a * b).backward()
    mg.zero_grad([a, b])
    assert (a.grad, b.grad) == (0.0, 0.0)
    (a * b).backward()
    mg.zero_grad(v for v in (a, b))
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_detach_is_a_new_leaf_with_the_same_data() -> None:
    x = Value(3.0)
    h = x * 2
    d = h.detach()
    assert d is not h and d.data == 6.0 and d.op == "" and mg.toposort(d) == [d]
    y = d * x  # only the direct use of x carries gradient
    y.backward()
    assert x.grad == 6.0 and h.grad == 0.0


# ------------------------------------------------------------------ no_grad


def test_no_grad_records_no_parents() -> None:
    x = Value(2.0)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 3).exp() + mg.sum([x, x]) + mg.dot([x], [x])
        with mg.enable_grad():
            z = x * 3
    assert mg.is_grad_enabled()
    assert y.op == "" and mg.toposort(y) == [y]
    assert y.data == pytest.approx(math.exp(6) + 4 + 4)
    assert z.op == "*" and mg.toposort(z) == [x, z]
    y.backward()
    assert x.grad == 0.0


def test_no_grad_is_restored_after_an_exception_and_works_as_a_decorator() -> None:
    with pytest.raises(ZeroDivisionError), mg.no_grad():
        Value(1.0) / 0
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def evaluate(v: Value) -> Value:
        return v * 2

    assert evaluate(Value(1.0)).op == "" and mg.is_grad_enabled()


def test_no_grad_is_per_thread() -> None:
    """One thread inside no_grad, one not, interleaved: each sees its own mode."""
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, tuple[bool, str]] = {}

    def inside() -> None:
        with mg.no_grad():
            barrier.wait()  # 1: both threads are running, this one is inside no_grad
            barrier.wait()  # 2: the other thread has recorded its node
            seen["inside"] = (mg.is_grad_enabled(), (Value(1.0) * 2).op)
            barrier.wait()  # 3

    def outside() -> None:
        barrier.wait()  # 1
        seen["outside"] = (mg.is_grad_enabled(), (Value(1.0) * 2).op)
        barrier.wait()  # 2
        barrier.wait()  # 3: the other thread has recorded nothing, and we still record
        seen["outside after"] = (mg.is_grad_enabled(), (Value(1.0) * 2).op)

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"inside": (False, ""), "outside": (True, "*"), "outside after": (True, "*")}
    assert mg.is_grad_enabled()


def test_no_grad_is_per_asyncio_task() -> None:
    async def inside(started: asyncio.Event, done: asyncio.Event) -> str:
        with mg.no_grad():
            started.set()
            await done.wait()
            return (Value(1.0) * 2).op

    async def outside(started: asyncio.Event, done: asyncio.Event) -> str:
        await started.wait()
        op = (Value(1.0) * 2).op
        done.set()
        return op

    async def main() -> list[str]:
        started, done = asyncio.Event(), asyncio.Event()
        return list(await asyncio.gather(inside(started, done), outside(started, done)))

    assert asyncio.run(main()) == ["", "*"]


# -------------------------------------------------------- Python protocol


def test_float_bool_and_comparisons() -> None:
    x, y = Value(2.5), Value(-1.0)
    assert float(x) == 2.5 and type(float(x)) is float
    assert bool(x) and not bool(Value(0.0)) and bool(Value(NAN))
    results = [x > y, x >= 2.5, x < 3, x <= y, 3 > x, 2.5 <= x, np.float64(3.0) > x, x < np.float64(3.0)]
    assert results == [True, True, True, False, True, True, True, True]
    assert all(type(r) is bool for r in results)
    assert [v.data for v in sorted([x, y, Value(0.0)])] == [-1.0, 0.0, 2.5]
    with pytest.raises(TypeError):
        x < "3"  # noqa: B015
    with pytest.raises(TypeError):
        x < None  # type: ignore[operator]  # noqa: B015


def test_equality_and_hashing_are_identity_based() -> None:
    a, b = Value(1.0), Value(1.0)
    assert len({Value(1.0), Value(1.0)}) == 2
    assert a == a and a != b and not (a == 1.0)
    assert {a: "a", b: "b"}[b] == "b"
    assert a in {a} and b not in {a}


def test_repr_is_short_and_bounded() -> None:
    x = Value(2.0)
    x.grad = 7.0
    assert repr(x) == "Value(data=2.0, grad=7.0)"
    long = Value(1.0, label="x" * 10_000)
    assert len(repr(long)) < 100 and repr(long).startswith("Value(data=1.0, grad=0.0")
    assert len(repr(Value(-1.2345678901234567e-300))) < 100


def test_numpy_scalars_on_either_side() -> None:
    x = Value(3.0)
    cases = [
        np.float64(2) * x, x * np.float64(2), np.float32(2) + x, x - np.int64(1), np.int32(1) - x,
        np.float64(6) / x, x / np.float64(2), x ** np.float64(2), np.float64(2) ** x,
    ]
    expected = [6.0, 6.0, 5.0, 2.0, -2.0, 2.0, 1.5, 9.0, 8.0]
    for v, e in zip(cases, expected):
        assert isinstance(v, Value) and type(v.data) is float and v.data == e
    y = mg.sum(cases)
    y.backward()
    assert type(x.grad) is float
    assert x.grad == pytest.approx(2 + 2 + 1 + 1 - 1 - 6 / 9 + 0.5 + 6 + 8 * math.log(2))


@pytest.mark.parametrize("other", ["2", None, [1.0], True, 1j, Decimal(1), np.array([1.0, 2.0])])
def test_operands_that_are_not_real_numbers_are_refused(other: Any) -> None:
    x = Value(1.0)
    for op in (operator.add, operator.mul, operator.pow):
        with pytest.raises(TypeError):
            op(x, other)
        with pytest.raises(TypeError):
            op(other, x)


# ------------------------------------------------------------- sum and dot


def test_sum_is_one_flat_node() -> None:
    xs = [Value(float(i)) for i in range(100_000)]
    s = mg.sum(xs)
    assert s.op == "sum" and s.data == sum(range(100_000))
    assert len(mg.toposort(s)) == 100_001  # flat: every input is a parent of the one node
    s.backward()
    assert all(x.grad == 1.0 for x in xs)


def test_sum_with_numbers_and_repeats() -> None:
    x = Value(2.0)
    s = mg.sum([x, 3, x, np.float64(0.5), Fraction(1, 2)])
    s.backward()
    assert s.data == 8.0 and x.grad == 2.0 and mg.toposort(s) == [x, s]
    assert mg.sum([]).data == 0.0
    assert mg.sum(v for v in [x, x]).data == 4.0
    with pytest.raises(TypeError, match=r"sum.*got str"):
        mg.sum([x, "a"])


def test_dot_is_one_node_with_the_products_partials() -> None:
    ws = [Value(w) for w in (0.5, -1.0, 2.0)]
    xs = [Value(x) for x in (3.0, 4.0, -5.0)]
    d = mg.dot(ws, xs)
    assert d.op == "dot" and d.data == 0.5 * 3 - 4 - 10
    assert len(mg.toposort(d)) == 7
    d.backward()
    assert [w.grad for w in ws] == [3.0, 4.0, -5.0]
    assert [x.grad for x in xs] == [0.5, -1.0, 2.0]


def test_dot_with_numbers_and_second_derivatives() -> None:
    w, x = Value(2.0), Value(3.0)
    d = mg.dot([w, 1.5], [x, 4])  # 2·3 + 1.5·4
    assert d.data == 12.0 and len(mg.toposort(d)) == 3
    gw, gx = mg.grad(d**2, [w, x], create_graph=True)  # 2d·x, 2d·w
    assert (gw.data, gx.data) == (72.0, 48.0)
    # ∂²(d²)/∂w² = 2x², ∂²/∂w∂x = 2(x·w + d)
    assert mg.grad(gw, [w, x]) == [18.0, 2 * (6.0 + 12.0)]
    s = mg.dot([x], [x])  # the same Value on both sides: x²
    assert mg.grad(s, [x]) == [6.0]
    (g,) = mg.grad(s, [x], create_graph=True)
    assert mg.grad(g, [x]) == [2.0]


@pytest.mark.parametrize("layout", ["all Values", "Value weights", "Value inputs", "mixed", "empty"])
def test_dot_operands_in_every_layout(layout: str) -> None:
    """A neuron's layouts keep no copies of ws and xs; every layout still gives them back exactly."""
    w1, w2, x1, x2 = Value(0.5), Value(-2.0), Value(3.0), Value(1.5)
    ws, xs = {
        "all Values": ([w1, w2], [x1, x2]),
        "Value weights": ([w1, w2], [3, 1.5]),
        "Value inputs": ([0.5, -2], [x1, x2]),
        "mixed": ([w1, -2.0], [3.0, x2]),
        "empty": ([], []),
    }[layout]
    d = mg.dot(ws, xs)
    d.label = "z"  # a label must not hide the operands
    got = engine.operands(d)
    assert len(got) == len(ws) + len(xs)
    for g, original in zip(got, (*ws, *xs)):
        assert g is original if isinstance(original, Value) else (type(g) is float and g == original)
    assert engine.parents(d) == tuple(v for v in got if isinstance(v, Value))
    assert d.data == (0.0 if layout == "empty" else 0.5 * 3.0 - 2.0 * 1.5)
    if layout == "empty":
        return
    # d = w1·x1 + w2·x2 whatever is a Value: ∂²(d²)/∂a∂b = 2(∂d/∂a·∂d/∂b + d·∂²d/∂a∂b)
    values = [v for v in (*ws, *xs) if isinstance(v, Value)]
    partner = {w1: 3.0, w2: 1.5, x1: 0.5, x2: -2.0}
    cross = {frozenset((w1, x1)), frozenset((w2, x2))}
    first = mg.grad(d * d, values, create_graph=True)
    for a, g in zip(values, first):
        assert g.data == 2 * d.data * partner[a]
        for b, second in zip(values, mg.grad(g, values)):
            expected = 2 * (partner[a] * partner[b] + d.data * (frozenset((a, b)) in cross))
            assert second == expected, (layout, a.data, b.data)


def test_dot_errors() -> None:
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        mg.dot([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="bool"):
        mg.dot([Value(1.0)], [True])


# --------------------------------------------------------------------- grad


def test_grad_returns_derivatives_without_touching_dot_grad() -> None:
    x, y, unused = Value(2.0), Value(3.0), Value(5.0)
    x.grad = y.grad = unused.grad = 42.0
    out = x * y * y
    assert mg.grad(out, [x, y, unused]) == [9.0, 12.0, 0.0]
    gx, gy, gu = mg.grad(out, [x, y, unused], create_graph=True)
    assert all(isinstance(g, Value) for g in (gx, gy, gu)) and (gx.data, gy.data, gu.data) == (9.0, 12.0, 0.0)
    assert mg.grad(gx, [x, y]) == [0.0, 6.0]  # ∂²/∂x², ∂²/∂x∂y = 2y
    assert mg.grad(gy, [x, y]) == [6.0, 4.0]  # 2y, 2x
    assert (x.grad, y.grad, unused.grad, out.grad) == (42.0, 42.0, 42.0, 0.0)


def test_grad_of_an_intermediate_and_of_the_output_itself() -> None:
    x = Value(2.0)
    h = x.exp()
    out = h * h
    assert mg.grad(out, [h, out]) == [2 * math.exp(2.0), 1.0]


def test_second_derivative_by_backward_on_a_created_graph() -> None:
    x = Value(0.7)
    y = x.tanh()
    (g,) = mg.grad(y, [x], create_graph=True)  # 1 − tanh²
    g.backward()
    t = math.tanh(0.7)
    assert g.data == pytest.approx(1 - t * t, rel=1e-15)
    assert x.grad == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)


def test_grad_inside_no_grad_still_differentiates_when_creating_a_graph() -> None:
    x = Value(1.5)
    y = x**3
    with mg.no_grad():
        assert mg.grad(y, [x]) == [pytest.approx(6.75)]
        (g,) = mg.grad(y, [x], create_graph=True)
    assert mg.grad(g, [x]) == [pytest.approx(9.0)]


def test_grad_input_errors() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="output must be a Value, got float"):
        mg.grad(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value, got float"):
        mg.grad(x * 2, [x, 2.0])  # type: ignore[list-item]


# ----------------------------------------------------------- detect_anomaly


def test_detect_anomaly_names_the_operation_in_forward() -> None:
    big, inf = Value(1e308), Value(INF)
    with mg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"'\*'.*inf"):
            big * 10
        with pytest.raises(FloatingPointError, match=r"'-'.*nan"):
            inf - inf
        with pytest.raises(FloatingPointError, match=r"'sum'"):
            mg.sum([big, big])
        with pytest.raises(FloatingPointError, match="leaf"):
            Value(NAN)
        ok = (Value(2.0) * 3).tanh()  # finite values pass
    assert ok.data == math.tanh(6.0)
    assert (Value(1e308) * 10).data == INF  # off again outside, and off by default


def test_detect_anomaly_names_the_operation_in_backward() -> None:
    with mg.detect_anomaly():
        x = Value(0.0)
        y = x.sqrt() + 1.0
        with pytest.raises(FloatingPointError, match="'sqrt'"):
            y.backward()
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == INF


def test_public_names_of_the_engine_functions_and_gradcheck_sections() -> None:
    import micrograd_tw.functional

    assert mg.functional is micrograd_tw.functional
    for name in ("Value", "no_grad", "detect_anomaly", "grad", "sum", "dot", "zero_grad",
                 "functional", "gradcheck", "numerical_grad"):
        assert name in mg.__all__ and hasattr(mg, name), name
    for name in ("relu", "sigmoid", "tanh", "gaussian", "exp", "log", "softmax", "log_softmax",
                 "logsumexp", "mse_loss", "cross_entropy"):
        assert callable(getattr(mg.functional, name)), name


def test_import_does_not_load_numpy_until_data_or_compile_is_used() -> None:
    import subprocess

    probe = (
        "import sys, micrograd_tw as mg\n"
        "print('numpy' in sys.modules)\n"
        "print(mg.data.make_moons(4, seed=0)[0].shape, callable(mg.compile), 'numpy' in sys.modules)\n"
        "print('data' in dir(mg), 'compile' in dir(mg))\n"
        "from micrograd_tw import compile, data\n"
        "print(compile is mg.compile, data is mg.data)\n"
        "try:\n    mg.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "False",
        "(4, 2) True True",
        "True True",
        "True True",
        "module 'micrograd_tw' has no attribute 'no_such_name'",
    ]


def test_backward_after_an_interrupted_backward_is_exact() -> None:
    """A backward stopped by detect_anomaly leaves no state that changes the next one."""
    x, z = Value(0.0), Value(2.0)
    y = (x.sqrt() + z * z) * z  # sqrt'(0) = inf stops the anomaly check mid-graph
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="sqrt"):
        y.backward()
    mg.zero_grad(mg.toposort(y))
    y.backward()
    assert (x.grad, z.grad, y.grad) == (INF, 3 * 4.0, 1.0)  # ∂/∂z (z³ + √x·z) = 3z² + √x
    assert len(mg.toposort(y)) == 6


def test_concurrent_backward_on_graphs_that_share_parameters():
    """Two threads backpropagating through graphs with shared leaves both get exact gradients."""

    ws = [Value(0.1 * i) for i in range(20)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(20):
                # d/dw of Σ w·w over 5 copies is 10·w, accumulated 20 times per thread
                mg.sum([w * w for w in ws for _ in range(5)]).backward()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    for w in ws:
        assert w.grad == pytest.approx(2 * 20 * 10 * w.data, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("x", [1e308, -1e308, 1e160])
def test_gaussian_gradient_is_finite_far_out(x: float) -> None:
    """exp(-x²) underflows to 0 and so does its derivative -2x·exp(-x²): no inf·0 = NaN."""
    v = Value(x)
    y = v.gaussian()
    y.backward()
    assert y.data == 0.0
    assert v.grad == 0.0


@pytest.mark.parametrize("bad", [{1.0: 2.0, 3.0: 4.0}, {1.0, 2.0}, "ab"])
def test_dot_and_sum_refuse_unordered_or_text_operands(bad: Any) -> None:
    """A dict would give its keys, a set an arbitrary order: a TypeError naming the type."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        mg.dot([Value(1.0), Value(2.0)], bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        mg.sum(bad)
