"""The op table: for each operation, its forward on floats and its local partials.

The chain rule is  ∂L/∂parent += ∂node/∂parent × ∂L/∂node.  A node stores the
local partials ∂node/∂parent as floats when it is made, so backward is one loop
with no per-node closure.  Adding an op is adding one row to ``OPS``.

A row has one partial rule per operand, ∂out/∂a (and ∂out/∂b), so that a node
with a constant operand computes only the partial it keeps (``x ** 2`` never
needs ln x).  Partial rules take the operands and the output.  They are written with plain
arithmetic and the helpers below so that they evaluate on floats (at forward
time) and on ``Value``s (for ``mg.grad(..., create_graph=True)``).  On floats
they never raise: where a derivative is singular they give inf or NaN, as
PyTorch does.

This module knows nothing of ``Value``; the engine builds methods from the rows.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INF = math.inf
NAN = math.nan


# ---------------------------------------------------------------- float numerics
# Pure-float helpers, stable for every finite input.  One place for numerics.


def sigmoid(x: float) -> float:
    """Logistic function; never calls exp on a positive argument."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def gaussian(x: float) -> float:
    """exp(-x²), the notes' Gaussian activation.

    Never overflows: -x·x is at most 0, and for huge |x| it is -inf, whose exp is 0.
    """
    return math.exp(-x * x)


def relu(x: float) -> float:
    """max(0, x) that keeps NaN as NaN."""
    return 0.0 if x <= 0.0 else x


def float_pow(a: float, b: float) -> float:
    """a ** b on floats with IEEE results (inf, NaN) instead of exceptions.

    Used inside partials, which must never raise once the forward has succeeded.
    """
    try:
        r = a**b
    except ZeroDivisionError:  # 0.0 ** negative
        return INF
    except OverflowError:
        odd_power = float(b).is_integer() and b % 2 == 1
        return -INF if a < 0.0 and odd_power else INF
    return r if isinstance(r, float) else NAN  # a complex result means NaN


def float_log(a: float) -> float:
    """Natural log with IEEE results: log(0) = -inf, log(negative) = NaN."""
    if a > 0.0:
        return math.log(a)
    if a == 0.0:
        return -INF
    return NAN  # negative or NaN


# --------------------------------------------------------------- domain checks
# Forward functions raise where the op is made, naming the op and its operand.


def _fmt(x: float) -> str:
    return repr(float(x))


def exp_forward(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(
            f"exp: exp({_fmt(a)}) is beyond the float range (the largest allowed input is about 709.78)"
        ) from None


def log_forward(a: float) -> float:
    if a <= 0.0:
        raise ValueError(f"log: the operand must be positive, got log({_fmt(a)})")
    return math.log(a)  # NaN and inf pass through: log(nan) is nan, log(inf) is inf


def sqrt_forward(a: float) -> float:
    if a < 0.0:
        raise ValueError(f"sqrt: the operand must be non-negative, got sqrt({_fmt(a)})")
    return math.sqrt(a)


def div_forward(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero: {_fmt(a)} / {_fmt(b)}")
    return a / b


def pow_forward(a: float, b: float) -> float:
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(f"pow: zero to a negative power: {_fmt(a)} ** {_fmt(b)}")
    if a < 0.0 and math.isfinite(b) and not b.is_integer():
        raise ValueError(
            f"pow: a negative base with a fractional exponent has no real value: "
            f"{_fmt(a)} ** {_fmt(b)}"
        )
    try:
        return a**b
    except OverflowError:
        raise OverflowError(f"pow: {_fmt(a)} ** {_fmt(b)} is beyond the float range") from None


# ------------------------------------------------ helpers for partial rules
# Each works on floats and on Values (duck typed: a Value has .log(), .data).


def _data(x: Any) -> float:
    return x if isinstance(x, float) else float(x)


def _log(x: Any) -> Any:
    return float_log(x) if isinstance(x, float) else x.log()


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, float):
        return float_pow(a, b)
    try:
        return a**b
    except OverflowError:
        # 1e-5 ** -61 fits but 1e-5 ** -62 in its partial does not: under
        # create_graph the partial is then the constant ±inf, as on floats.
        return float_pow(_data(a), _data(b))


def _pow_da(a: Any, b: Any, out: Any) -> Any:
    """∂(a**b)/∂a = b·a^(b−1); at a = 0: 0 for b = 0 (PyTorch), inf for 0 < b < 1.

    Only a = 0 is special-cased: elsewhere b = 0 must stay in the formula, or
    ∂²(a**b)/∂a∂b = 1/a at b = 0 would be lost under create_graph.
    """
    bd = _data(b)
    if _data(a) == 0.0 and bd < 1.0:
        return 0.0 if bd == 0.0 else INF  # forward succeeded, so b >= 0 here
    return b * _pow(a, b - 1.0)


def _pow_db(a: Any, b: Any, out: Any) -> Any:
    """∂(a**b)/∂b = a**b · ln a; 0 at a = 0 (PyTorch's convention)."""
    ad = _data(a)
    if ad == 0.0:
        return 0.0
    if ad < 0.0:
        return NAN  # ln of a negative base: PyTorch gives NaN too
    return out * _log(a)


def _sign(a: Any) -> float:
    ad = _data(a)
    return 1.0 if ad > 0.0 else -1.0 if ad < 0.0 else 0.0 if ad == 0.0 else NAN


def _step(a: Any) -> float:
    """relu'(a): 1 above 0, 0 at and below 0 (PyTorch), NaN for NaN."""
    ad = _data(a)
    return 1.0 if ad > 0.0 else 0.0 if ad <= 0.0 else NAN


def _safe_half_over(out: Any) -> Any:
    """sqrt'(a) = 1 / (2·sqrt a); inf at a = 0."""
    return 0.5 / out if _data(out) != 0.0 else INF


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Op:
    """One row: how to compute an op, and one rule per operand for its local partial.

    ``linear[i]`` says that the op is linear in operand i alone (its partial
    with respect to operand i does not depend on operand i).  A node whose
    Value operand is a linear one keeps just the constant: its side follows
    from the op and the partial (see ``engine.binary_operands``).  Otherwise
    it keeps the constant's position too (``x ** 3`` against ``3 ** x``).
    """

    name: str
    symbol: str
    forward: Callable[..., float]
    partials: tuple[Callable[..., Any], ...]  # partials[i](*operands, out) = ∂out/∂operand i
    linear: tuple[bool, ...] = ()

    @property
    def arity(self) -> int:
        return len(self.partials)

    def all_partials(self, *operands_and_out: Any) -> tuple[Any, ...]:
        """Every local partial at once: ``(∂out/∂a, ∂out/∂b)`` from ``(a, b, out)``."""
        return tuple([rule(*operands_and_out) for rule in self.partials])


UNARY: dict[str, Op] = {
    op.name: op
    for op in (
        Op("neg", "-", operator.neg, (lambda a, out: -1.0,)),
        Op("abs", "abs", abs, (lambda a, out: _sign(a),)),
        Op("exp", "exp", exp_forward, (lambda a, out: out,)),
        Op("log", "log", log_forward, (lambda a, out: 1.0 / a,)),
        Op("sqrt", "√", sqrt_forward, (lambda a, out: _safe_half_over(out),)),
        Op("relu", "ReLU", relu, (lambda a, out: _step(a),)),
        Op("sigmoid", "σ", sigmoid, (lambda a, out: out * (1.0 - out),)),
        Op("tanh", "tanh", math.tanh, (lambda a, out: 1.0 - out * out,)),
        Op("gaussian", "exp(-x²)", gaussian, (lambda a, out: -2.0 * (a * out),)),  # a·out never overflows
    )
}

BINARY: dict[str, Op] = {
    op.name: op
    for op in (
        Op("+", "+", operator.add, (lambda a, b, out: 1.0, lambda a, b, out: 1.0), (True, True)),
        Op("-", "−", operator.sub, (lambda a, b, out: 1.0, lambda a, b, out: -1.0), (True, True)),
        Op("*", "*", operator.mul, (lambda a, b, out: b, lambda a, b, out: a), (True, True)),
        Op("/", "÷", div_forward, (lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b), (True, False)),
        Op("**", "^", pow_forward, (_pow_da, _pow_db), (False, False)),
    )
}

OPS: dict[str, Op] = {**UNARY, **BINARY}

# n-ary nodes (not rows: their arity varies).  Σ xᵢ has every partial 1;
# Σ wᵢxᵢ has ∂/∂wᵢ = xᵢ and ∂/∂xᵢ = wᵢ.
NARY_SYMBOLS = {"sum": "Σ", "dot": "Σ wᵢxᵢ"}
