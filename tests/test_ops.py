"""Every row of the op table, enrolled automatically and checked on hypothesis-drawn inputs.

For each row of ``ops.UNARY`` and ``ops.BINARY`` (and for binary rows each of
``x op y``, ``x op c``, ``c op x`` and ``x op x``):

- the forward equals an independent closed form written here;
- the first partials equal central differences of that closed form;
- the partials evaluated on Values (``mg.grad(..., create_graph=True)``)
  equal the float partials stored at forward time;
- second derivatives equal central differences of the first derivatives.

A new row fails ``test_every_row_is_enrolled`` until it gets a domain and a
closed form below.  Domains are shifted, not filtered, so that inputs stay off
kinks and singularities (relu and abs away from 0, log and sqrt positive, a
positive base for ``**``, a bounded ``exp``).
"""

from __future__ import annotations

import cmath
import math
import operator
from collections.abc import Callable
from operator import methodcaller
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import micrograd_tw as mg
from micrograd_tw import Value, engine, ops

# ------------------------------------------------------------------ domains


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def away_from_zero(gap: float, hi: float) -> st.SearchStrategy[float]:
    """Floats in [-hi, -gap] ∪ [gap, hi]: draw around 0 and shift away from it.

    Shifting (not filtering) keeps every draw valid, and hypothesis's favourite
    value 0.0 lands on ±gap instead of on the kink.
    """
    return floats(-(hi - gap), hi - gap).map(lambda a: a + gap if a >= 0.0 else a - gap)


# Independent closed forms (not the engine's helpers) and input domains.
UNARY_REFERENCE: dict[str, tuple[Callable[[float], float], st.SearchStrategy[float]]] = {
    "neg": (lambda a: 0.0 - a, floats(-10, 10)),
    "abs": (lambda a: a if a > 0 else -a, away_from_zero(0.1, 10)),
    "exp": (lambda a: math.e**a, floats(-20, 20)),
    "log": (lambda a: math.log2(a) / math.log2(math.e), floats(0.1, 50)),
    "sqrt": (lambda a: a**0.5, floats(0.1, 50)),
    "relu": (lambda a: max(a, 0.0), away_from_zero(0.1, 10)),
    "sigmoid": (lambda a: 1.0 / (1.0 + math.exp(-a)), floats(-15, 15)),
    "tanh": (lambda a: math.sinh(a) / math.cosh(a), floats(-8, 8)),
    "gaussian": (lambda a: math.exp(-(a**2)), floats(-4, 4)),
    "sin": (lambda a: cmath.exp(1j * a).imag, floats(-10, 10)),  # Euler: e^(ia) = cos a + i sin a
    "cos": (lambda a: cmath.exp(1j * a).real, floats(-10, 10)),
}

# (closed form, domain of a, domain of b, domain of x in `x op x`)
Domain = st.SearchStrategy[float]
BINARY_REFERENCE: dict[str, tuple[Callable[[float, float], float], Domain, Domain, Domain]] = {
    "+": (lambda a, b: a + b, floats(-10, 10), floats(-10, 10), floats(-10, 10)),
    "-": (lambda a, b: a - b, floats(-10, 10), floats(-10, 10), floats(-10, 10)),
    "*": (lambda a, b: a * b, floats(-10, 10), floats(-10, 10), floats(-10, 10)),
    "/": (lambda a, b: a / b, floats(-10, 10), away_from_zero(0.5, 10), away_from_zero(0.5, 10)),
    "**": (lambda a, b: math.exp(b * math.log(a)), floats(0.1, 5), floats(-3, 3), floats(0.1, 5)),
}

BINARY_OPERATOR = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def apply_unary(name: str, x: Value) -> Value:
    """The op as a user writes it: -x, abs(x), or the method x.name()."""
    return {"neg": operator.neg, "abs": abs}.get(name, methodcaller(name))(x)


# ------------------------------------------------------------ derivatives


def central(f: Callable[[float], float], a: float) -> float:
    """Central difference with a step scaled to a."""
    h = 1e-6 * max(1.0, abs(a))
    return (f(a + h) - f(a - h)) / (2.0 * h)


def assert_close(actual: float, expected: float, what: str, rel: float = 1e-5, abs_: float = 1e-6) -> None:
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_), (
        f"{what}: got {actual!r}, expected {expected!r}"
    )


def first(fn: Callable[..., Value], args: list[float], i: int) -> float:
    """∂fn/∂args[i] from the engine, at fresh leaves."""
    xs = [Value(a) for a in args]
    return mg.grad(fn(*xs), [xs[i]])[0]


def check_function(fn: Callable[..., Value], ref: Callable[..., float], args: list[float], what: str) -> None:
    """Forward, first partials, partials on Values, and every second partial of fn at args."""
    xs = [Value(a) for a in args]
    out = fn(*xs)
    assert type(out.data) is float
    assert_close(out.data, ref(*args), f"{what}: forward", rel=1e-12, abs_=1e-300)

    floats_ = mg.grad(out, xs)
    values = mg.grad(out, xs, create_graph=True)
    for i, (g, gv) in enumerate(zip(floats_, values)):
        numeric = central(lambda t, i=i: ref(*args[:i], t, *args[i + 1 :]), args[i])
        assert_close(g, numeric, f"{what}: ∂/∂arg{i}")
        assert isinstance(gv, Value)
        assert_close(gv.data, g, f"{what}: ∂/∂arg{i} on Values vs floats", rel=1e-12, abs_=1e-300)

        # Row i of the Hessian: differentiate the Value-valued partial again,
        # and compare with central differences of the float partial.
        second = mg.grad(gv, xs)
        for j in range(len(args)):
            numeric2 = central(
                lambda t, i=i, j=j: first(fn, args[:j] + [t] + args[j + 1 :], i), args[j]
            )
            assert_close(second[j], numeric2, f"{what}: ∂²/∂arg{i}∂arg{j}")


# ------------------------------------------------------------------- tests


def test_every_row_is_enrolled() -> None:
    assert set(UNARY_REFERENCE) == set(ops.UNARY), "give every unary row a closed form and a domain"
    assert set(BINARY_REFERENCE) == set(ops.BINARY), "give every binary row a closed form and domains"
    assert set(ops.OPS) == set(ops.UNARY) | set(ops.BINARY) | {"sum", "dot", "max", "min"}
    for name, row in ops.UNARY.items():
        assert row.name == name and row.arity == 1
    for name, row in ops.BINARY.items():
        assert row.name == name and row.arity == 2


@pytest.mark.parametrize("name", sorted(ops.UNARY))
@given(data=st.data())
def test_unary_row(name: str, data: st.DataObject) -> None:
    ref, domain = UNARY_REFERENCE[name]
    a = data.draw(domain, label="a")
    check_function(lambda x: apply_unary(name, x), ref, [a], f"{name}({a!r})")

    x = Value(a)
    y = apply_unary(name, x)
    assert y.op == name
    assert mg.toposort(y) == [x, y]


def nth_derivative(fn: Callable[[Value], Value], a: float, n: int) -> float:
    """dⁿfn/dxⁿ at a by differentiating the created graph n times."""
    x = Value(a)
    g = fn(x)
    for _ in range(n - 1):
        (g,) = mg.grad(g, [x], create_graph=True)
    return mg.grad(g, [x])[0]


@pytest.mark.parametrize("name", sorted(ops.UNARY))
@given(data=st.data())
def test_unary_row_third_derivative(name: str, data: st.DataObject) -> None:
    """Graphs made by create_graph can be differentiated again: third vs differences of second."""
    a = data.draw(UNARY_REFERENCE[name][1], label="a")

    def fn(x: Value) -> Value:
        return apply_unary(name, x)

    third = nth_derivative(fn, a, 3)
    numeric = central(lambda t: nth_derivative(fn, t, 2), a)
    assert_close(third, numeric, f"third derivative of {name} at {a!r}", rel=1e-4, abs_=1e-5)


@pytest.mark.parametrize("name", sorted(ops.BINARY))
@given(data=st.data())
def test_binary_row_two_values(name: str, data: st.DataObject) -> None:
    ref, dom_a, dom_b, _ = BINARY_REFERENCE[name]
    a, b = data.draw(dom_a, label="a"), data.draw(dom_b, label="b")
    check_function(BINARY_OPERATOR[name], ref, [a, b], f"x {name} y at ({a!r}, {b!r})")


@pytest.mark.parametrize("name", sorted(ops.BINARY))
@given(data=st.data())
def test_binary_row_value_and_constant(name: str, data: st.DataObject) -> None:
    """x op c and c op x: the constant is not a node, and both partials are still right."""
    ref, dom_a, dom_b, _ = BINARY_REFERENCE[name]
    a, b = data.draw(dom_a, label="a"), data.draw(dom_b, label="b")
    op = BINARY_OPERATOR[name]
    check_function(lambda x: op(x, b), lambda t: ref(t, b), [a], f"x {name} {b!r} at x={a!r}")
    check_function(lambda x: op(a, x), lambda t: ref(a, t), [b], f"{a!r} {name} x at x={b!r}")

    x = Value(a)
    y = op(x, b)
    assert y.op == name and mg.toposort(y) == [x, y], "a constant operand is not a node"


@pytest.mark.parametrize("name", sorted(ops.BINARY))
@given(data=st.data())
def test_binary_row_same_value_twice(name: str, data: st.DataObject) -> None:
    """x op x: the parent appears twice and both partials reach it."""
    ref, _, _, dom = BINARY_REFERENCE[name]
    a = data.draw(dom, label="a")
    check_function(lambda x: BINARY_OPERATOR[name](x, x), lambda t: ref(t, t), [a], f"x {name} x at {a!r}")


def same_float(x: float, y: float) -> bool:
    """Equal bit for bit, as far as Python can tell: NaN is NaN, -0.0 is not 0.0."""
    return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1.0, x) == math.copysign(1.0, y))


@pytest.mark.parametrize(("name", "written_out", "from_table"), [
    ("+", engine._add_values, engine._add_from_table),
    ("*", engine._mul_values, engine._mul_from_table),
])
@given(a=st.floats(), b=st.floats())
@example(a=-0.0, b=0.0)
@example(a=math.inf, b=0.0)
@example(a=1e308, b=10.0)
def test_written_out_add_and_mul_agree_with_their_rows(
    name: str, written_out: Any, from_table: Any, a: float, b: float
) -> None:
    """Value + Value and Value * Value are written out in the engine; they must make the table's node."""
    assert getattr(Value, {"+": "__add__", "*": "__mul__"}[name]) is written_out
    x, y = Value(a), Value(b)
    fast, slow = written_out(x, y), from_table(x, y)
    assert fast.op == slow.op == name
    assert mg.engine.parents(fast) == mg.engine.parents(slow) == (x, y)
    for got, want in zip((fast.data, *mg.engine.local_partials(fast)), (slow.data, *mg.engine.local_partials(slow))):
        assert same_float(got, want), f"{a!r} {name} {b!r}: {got!r} != {want!r}"


@pytest.mark.parametrize("n", [-3, -2, -1, 0, 1, 2, 3])
@given(a=away_from_zero(0.2, 4))
@example(a=-1.5)
def test_pow_integer_exponent_on_negative_base(n: int, a: float) -> None:
    """x ** n for every sign of x: n·xⁿ⁻¹ and n(n−1)·xⁿ⁻² by hand."""
    x = Value(a)
    (g,) = mg.grad(x**n, [x], create_graph=True)
    assert_close(g.data, n * a ** (n - 1) if n else 0.0, f"d/dx x**{n}", rel=1e-12, abs_=0)
    (g2,) = mg.grad(g, [x])
    expected2 = n * (n - 1) * a ** (n - 2) if n not in (0, 1) else 0.0
    assert_close(g2, expected2, f"d²/dx² x**{n}", rel=1e-12, abs_=0)


# ---------------------------------------------------------------- PyTorch


UNARY_POINTS = {
    # (points for values and first derivatives, including the special ones,
    #  points for second derivatives: off the special ones)
    "neg": ([-2.0, 0.0, 3.5], [-2.0, 3.5]),
    "abs": ([-2.0, 0.0, 3.5], [-2.0, 3.5]),
    "exp": ([-745.0, -2.0, 0.0, 3.5, 709.0], [-2.0, 0.0, 3.5]),
    "log": ([1e-300, 0.3, 1.0, 3.5, 1e300], [0.3, 1.0, 3.5]),
    "sqrt": ([0.0, 1e-300, 0.3, 3.5], [0.3, 3.5]),
    "relu": ([-2.0, 0.0, 3.5], [-2.0, 3.5]),
    "sigmoid": ([-1000.0, -40.0, -2.0, 0.0, 3.5, 40.0, 1000.0], [-40.0, -2.0, 0.0, 3.5, 40.0]),
    "tanh": ([-1000.0, -20.0, -2.0, 0.0, 3.5, 20.0, 1000.0], [-20.0, -2.0, 0.0, 3.5, 20.0]),
    "gaussian": ([-1e200, -30.0, -2.0, 0.0, 0.5, 30.0, 1e200], [-2.0, 0.0, 0.5, 3.0]),
    "sin": ([-math.inf, -1e300, -2.0, 0.0, 3.5, 1e300, math.inf, math.nan], [-2.0, 0.0, 3.5]),
    "cos": ([-math.inf, -1e300, -2.0, 0.0, 3.5, 1e300, math.inf, math.nan], [-2.0, 0.0, 3.5]),
}


def _same(ours: float, theirs: float) -> bool:
    """Equal to 1e-12 relative, or both the same inf, or both NaN."""
    if math.isnan(theirs) or math.isinf(theirs):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-300)


def _torch_unary(torch: Any, name: str) -> Any:
    return {
        "neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
        "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "gaussian": lambda t: torch.exp(-t * t), "sin": torch.sin, "cos": torch.cos,
    }[name]


@pytest.mark.parametrize("name", sorted(ops.UNARY))
def test_unary_row_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    tfn = _torch_unary(torch, name)
    points, smooth = UNARY_POINTS[name]
    for a in points:
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        ty = tfn(t)
        (tg,) = torch.autograd.grad(ty, t, create_graph=True)
        x = Value(a)
        y = apply_unary(name, x)
        y.backward()
        assert _same(y.data, ty.item()), f"{name}({a}): {y.data} vs torch {ty.item()}"
        assert _same(x.grad, tg.item()), f"{name}'({a}): {x.grad} vs torch {tg.item()}"
        if a in smooth:
            # A constant first derivative (neg, relu, abs) has no graph in torch: its derivative is 0.
            tg2 = torch.autograd.grad(tg, t)[0] if tg.requires_grad else torch.tensor(0.0)
            (g,) = mg.grad(y, [x], create_graph=True)
            (g2,) = mg.grad(g, [x])
            assert math.isclose(g2, tg2.item(), rel_tol=1e-10, abs_tol=1e-300), (
                f"{name}''({a}): {g2} vs torch {tg2.item()}"
            )


BINARY_POINTS = [(2.0, 3.0), (0.5, -1.5), (-1.5, 2.0), (-2.0, 3.0), (0.0, 2.0), (0.0, 0.5), (0.0, 0.0),
                 (3.0, 0.0), (-0.0, 3.0)]


@pytest.mark.parametrize("name", sorted(ops.BINARY))
def test_binary_row_matches_torch(name: str) -> None:
    """Values and gradients of x op y, with PyTorch's conventions at the edges (0 ** 0.5, 0 ** y)."""
    torch = pytest.importorskip("torch")
    op = BINARY_OPERATOR[name]
    for a, b in BINARY_POINTS:
        if name == "/" and b == 0.0:
            continue
        ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        ty = op(ta, tb)
        tga, tgb = torch.autograd.grad(ty, (ta, tb))
        x, y = Value(a), Value(b)
        out = op(x, y)
        out.backward()
        where = f"{a!r} {name} {b!r}"
        assert _same(out.data, ty.item()), f"{where}: {out.data} vs torch {ty.item()}"
        assert _same(x.grad, tga.item()), f"∂({where})/∂x: {x.grad} vs torch {tga.item()}"
        assert _same(y.grad, tgb.item()), f"∂({where})/∂y: {y.grad} vs torch {tgb.item()}"
