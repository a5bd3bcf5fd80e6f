"""The op table: one row owns one operation.

The chain rule is  ∂L/∂parent += ∂node/∂parent × ∂L/∂node.  A node stores the
local partials ∂node/∂parent as floats when it is made, so backward is one loop
with no per-node closure.  Each row of ``OPS`` says everything about its op:

- ``forward``: the value from floats; it raises where the op is undefined,
  naming the op and its operand;
- ``partials``: ∂out/∂operand, from the operands and the output.  The rules
  are written with arithmetic and the helpers below, so that they evaluate on
  floats (at forward time) and on ``Value``s (for ``mg.grad(...,
  create_graph=True)``).  On floats they never raise: where a derivative is
  singular they give inf or NaN, as PyTorch does;
- ``kernel``: the same forward and partials on numpy arrays, for
  ``mg.compile`` (``None``: ``forward`` and ``partials`` work on arrays as written);
- ``symbol`` for pictures, ``python_name`` (the ``Value`` method or the
  ``micrograd_tw`` function it becomes), ``domain`` for property tests, and
  ``formula`` (the function name the formula CLI offers, if any).

Everything else (``Value``'s methods, backward, second derivatives, pictures,
``mg.compile``, ``testing.expressions``, the CLI's function list) is read from
the rows, so adding an op is adding a row, or calling ``define``.

This module knows nothing of ``Value`` (``define`` asks the engine to make the function).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce
from typing import Any, NamedTuple

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


def float_sin(a: float) -> float:
    """sin with NaN at ±inf (as PyTorch) instead of math's ValueError."""
    return math.sin(a) if math.isfinite(a) else NAN


def float_cos(a: float) -> float:
    """cos with NaN at ±inf (as PyTorch) instead of math's ValueError."""
    return math.cos(a) if math.isfinite(a) else NAN


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


def _first_extreme(xs: tuple[float, ...], better: Callable[[float, float], bool]) -> int:
    """The index of the first item that no later item beats; a NaN beats everything (PyTorch)."""
    best = 0
    for i in range(1, len(xs)):
        if xs[best] != xs[best] or xs[i] != xs[i]:  # NaN: the first NaN wins
            if xs[best] == xs[best]:
                best = i
        elif better(xs[i], xs[best]):
            best = i
    return best


def max_forward(*xs: float) -> float:
    return xs[_first_extreme(xs, operator.gt)]


def min_forward(*xs: float) -> float:
    return xs[_first_extreme(xs, operator.lt)]


def sum_in_order(xs: Iterable[float]) -> float:
    """x1 + x2 + ... from the left, on every Python.

    builtins.sum compensates float rounding from Python 3.12 on; a plain sum
    keeps results identical across versions and equal to mg.compile's replay.
    """
    return reduce(operator.add, xs, 0.0)


def sum_forward(*xs: float) -> float:
    return sum_in_order(xs)


def dot_forward(*ws_then_xs: float) -> float:
    n = len(ws_then_xs) // 2
    return sum_in_order(map(operator.mul, ws_then_xs[:n], ws_then_xs[n:]))


def gather_index(index: float, n: int) -> int:
    """A gather's index as an int; IndexError naming it unless it is a whole number in [0, n)."""
    if not float(index).is_integer():  # NaN and ±inf are not whole numbers either
        raise IndexError(f"gather: index {index!r} is not a whole number; the {n} items are 0 to {n - 1}")
    if not 0 <= index < n:
        raise IndexError(f"gather: index {int(index)} is out of range for {n} items (0 to {n - 1})")
    return int(index)


def gather_forward(*xs_then_index: float) -> float:
    """xs[index]: the operands are the n items, then the index."""
    return xs_then_index[gather_index(xs_then_index[-1], len(xs_then_index) - 1)]


# ------------------------------------------------ helpers for partial rules
# Each works on floats and on Values (duck typed: a Value has .log(), .data).


def _data(x: Any) -> float:
    return x if isinstance(x, float) else float(x)


def _log(x: Any) -> Any:
    return x.log() if hasattr(x, "log") else float_log(float(x))


def _cos(x: Any) -> Any:
    return x.cos() if hasattr(x, "cos") else float_cos(float(x))


def _sin(x: Any) -> Any:
    return x.sin() if hasattr(x, "sin") else float_sin(float(x))


def _pow(a: Any, b: Any) -> Any:
    if not hasattr(a, "log") and not hasattr(b, "log"):
        return float_pow(float(a), float(b))
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


def _one_hot(n: int, i: int) -> tuple[float, ...]:
    return (0.0,) * i + (1.0,) + (0.0,) * (n - i - 1)


def _max_partials(*xs_and_out: Any) -> tuple[float, ...]:
    """1 for the first maximal item, 0 for the others (as torch.max(x, dim=0))."""
    xs = tuple(map(_data, xs_and_out[:-1]))
    return _one_hot(len(xs), _first_extreme(xs, operator.gt))


def _min_partials(*xs_and_out: Any) -> tuple[float, ...]:
    xs = tuple(map(_data, xs_and_out[:-1]))
    return _one_hot(len(xs), _first_extreme(xs, operator.lt))


def _gather_partials(*xs_index_and_out: Any) -> tuple[float, ...]:
    """1 for the item picked, 0 for the others; 0 for the index (a whole number has no slope)."""
    n = len(xs_index_and_out) - 2
    return (*_one_hot(n, gather_index(_data(xs_index_and_out[-2]), n)), 0.0)


def _dot_partials(*ws_xs_and_out: Any) -> tuple[Any, ...]:
    """∂/∂wᵢ = xᵢ and ∂/∂xᵢ = wᵢ."""
    n = (len(ws_xs_and_out) - 1) // 2
    ws, xs = ws_xs_and_out[:n], ws_xs_and_out[n : 2 * n]
    return (*xs, *ws)


# ------------------------------------------------------------ numpy kernels
# The rows' formulas on arrays, for mg.compile.  Where a float rule branches,
# these use np.where, to the same results at ±0, ±inf, NaN and the extremes.


class _Numpy:
    """numpy, imported when a kernel first runs: ``import micrograd_tw`` does not load it."""

    def __getattr__(self, name: str) -> Any:
        import numpy

        return getattr(numpy, name)


np: Any = _Numpy()


class _Ufunc:
    """A numpy ufunc named here and looked up when first called (numpy loads late, as above).

    mg.compile reads ``.ufunc`` to write a result straight into its rows (out=).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def ufunc(self) -> Any:
        return getattr(np, self.name)

    def __call__(self, *xs: Any) -> Any:
        return self.ufunc(*xs)


class Kernel(NamedTuple):
    """An op on numpy arrays (elementwise; an n-ary op reduces a (k, n, batch) block along axis 1).

    ``partials(*xs, out)`` gives ∂out/∂x for every operand; ``domain(*xs, out)``
    marks where the float forward raises (its error is then raised by the
    float forward, with the engine's message).  An n-ary op whose partial is
    1 at one item and 0 at the others (max, min) gives that item's index
    along axis 1, an integer array, instead of a block of partials.
    """

    forward: Callable[..., Any]
    partials: Callable[..., tuple[Any, ...]]
    domain: Callable[..., Any] | None = None


def _np_relu(a: Any) -> Any:
    return np.where(a <= 0.0, 0.0, a)  # as relu: NaN stays NaN, -0.0 becomes 0.0


def _np_sigmoid(a: Any) -> Any:
    """As sigmoid: exp is only called on -|a|."""
    z = np.exp(-np.abs(a))
    t = 1.0 + z
    return np.where(a >= 0.0, 1.0 / t, z / t)


def _np_pow_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    """As _pow_da and _pow_db."""
    da = np.where((a == 0.0) & (b < 1.0), np.where(b == 0.0, 0.0, INF), b * np.power(a, b - 1.0))
    db = np.where(a == 0.0, 0.0, np.where(a < 0.0, NAN, out * np.log(a)))
    return da, db


def _np_pow_domain(a: Any, b: Any, out: Any) -> Any:
    """Where pow_forward raises: 0 ** negative, negative ** fraction, overflow."""
    finite_b = np.isfinite(b)
    return (
        ((a == 0.0) & (b < 0.0))
        | ((a < 0.0) & finite_b & (np.floor(b) != b))
        | (np.isinf(out) & np.isfinite(a) & finite_b)
    )


def _np_gaussian_partial(a: Any, out: Any) -> tuple[Any]:
    # -2·(a·out), grouped as the float rule: a·out is 0 where out underflows, never inf·0.
    return (-2.0 * (a * out),)


def _np_first_extreme(x: Any, pick: str) -> Any:
    """Along axis 1 of x: the index of the first maximal (pick="max") or minimal item; the first NaN wins.

    np.argmax along an inner axis copies the block to move that axis last;
    comparing with the extreme (a fast reduction) and finding the first hit
    costs half as much.
    """
    extreme = getattr(np, pick)(x, axis=1)  # NaN where the item list has a NaN
    first = np.argmax(x == extreme[:, None], axis=1)
    nan = np.isnan(extreme)
    return np.where(nan, np.argmax(np.isnan(x), axis=1), first) if nan.any() else first


def _np_extreme_forward(pick: str) -> Callable[[Any], Any]:
    """max or min along axis 1: the first extreme item (NaN if there is one, as eager).

    The reduction gives it, except that of 0.0 and -0.0 the eager op keeps the
    first and numpy either: where the extreme is a zero, the first one is looked up.
    """
    def forward(x: Any) -> Any:
        extreme = getattr(np, pick)(x, axis=1)
        zero = extreme == 0.0
        if zero.any():
            first = np.take_along_axis(x, _np_first_extreme(x, pick)[:, None], axis=1)[:, 0]
            extreme = np.where(zero, first, extreme)
        return extreme

    return forward


def _np_extreme_partials(pick: str) -> Callable[..., tuple[Any]]:
    """The index of the item picked, per node (and row): its partial is 1, every other item's 0."""
    def partials(x: Any, out: Any) -> tuple[Any]:
        return (_np_first_extreme(x, pick),)

    return partials


def _np_gather_at(table: Any, index: Any) -> Any:
    """The index as positions along axis 1: (k, 1, batch) for a (k, n, batch) table, (k, 1) for (k, n)."""
    return index.astype(np.intp)[:, None]


def _np_gather_forward(table: Any, index: Any) -> Any:
    """Per row, table[:, index]: index (k, batch) picks from table (k, n, batch or 1); (k,) from (k, n).

    One table for every row (parameters, (k, n, 1)) is read by a flat np.take,
    several times faster than np.take_along_axis broadcasting it over the batch.
    """
    if table.ndim == 3 and table.shape[2] == 1:
        m, n = table.shape[:2]
        return np.take(table.reshape(m * n), index.astype(np.intp) + (np.arange(m) * n)[:, None])
    return np.take_along_axis(table, _np_gather_at(table, index), axis=1)[:, 0]


def _np_gather_partials(table: Any, index: Any, out: Any) -> tuple[Any, float]:
    """The item picked (its partial is 1, every other item's 0), as an index; 0 for the index operand.

    mg.compile adds a batch's gradients into a table of parameters by a
    scatter-add over the rows that picked each item.
    """
    return index.astype(np.intp), 0.0


def _np_gather_outside(table: Any, index: Any, out: Any = None) -> Any:
    """Where the index is not a whole number in [0, n) (gather_index raises); called before the forward."""
    return ~((index >= 0) & (index < table.shape[1]) & (np.floor(index) == index))


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Domain:
    """Where an operand is safe for finite differences: ``[lo, hi]``, also ``[-hi, -lo]`` if ``symmetric``."""

    lo: float
    hi: float
    symmetric: bool = False

    def __post_init__(self) -> None:
        if not self.lo < self.hi:
            raise ValueError(f"Domain: lo must be below hi, got [{self.lo}, {self.hi}]")
        if self.symmetric and self.lo < 0.0:
            raise ValueError(f"Domain: a symmetric domain needs lo >= 0, got lo = {self.lo}")

    def __contains__(self, v: float) -> bool:
        return self.lo <= (abs(v) if self.symmetric else v) <= self.hi


NARY = None  # the arity of an op that takes any number of operands


@dataclass(frozen=True)
class Op:
    """One row of the table: everything about one operation.

    ``partials`` has one rule per operand, ``rule(*operands, out) = ∂out/∂operand``,
    so that a node with a constant operand computes only the partial it keeps
    (``x ** 2`` never needs ln x).  An n-ary op (``arity`` is ``NARY``) has one
    rule giving every operand's partial at once.  ``domain`` has one entry per
    operand (``None``: no restriction), one for every item of an n-ary op.
    """

    name: str  # node.op
    symbol: str  # the op node's text in pictures
    arity: int | None  # 1, 2, or NARY
    forward: Callable[..., float]
    partials: tuple[Callable[..., Any], ...]
    kernel: Kernel | None  # None: forward and partials work on numpy arrays as written
    python_name: str  # the Value method it becomes (binary: "__add__", and "__radd__"), or mg.<name>
    domain: tuple[Domain | None, ...]  # for property tests (testing.expressions)
    formula: str | None  # the function name formulas offer (the CLI), or None
    doc: str = ""

    def all_partials(self, *operands_and_out: Any) -> tuple[Any, ...]:
        """Every local partial: ``(∂out/∂a, ∂out/∂b)`` from ``(a, b, out)``."""
        if self.arity is NARY:
            return tuple(self.partials[0](*operands_and_out))
        return tuple([rule(*operands_and_out) for rule in self.partials])

    def numpy_kernel(self) -> Kernel:
        """The kernel for mg.compile: the row's own, or its forward and partials as written."""
        if self.kernel is not None:
            return self.kernel
        return Kernel(self.forward, self.all_partials)


def _row(name: str, symbol: str, arity: int | None, forward: Callable[..., float],
         partials: tuple[Callable[..., Any], ...], kernel: Kernel | None, python_name: str,
         domain: tuple[Domain | None, ...], formula: str | None, doc: str) -> Op:
    return Op(name, symbol, arity, forward, partials, kernel, python_name, domain, formula, doc)


_OFF_ZERO = Domain(0.25, 3.0, symmetric=True)  # relu, abs: 0.25 away from their kink at 0
_POSITIVE = Domain(0.25, 4.0)  # log and sqrt: their derivatives blow up at 0

OPS: dict[str, Op] = {
    r.name: r
    for r in (
        # ---- unary: x.method(), or -x, abs(x)
        _row("neg", "-", 1, operator.neg, (lambda a, out: -1.0,), None,
             "__neg__", (None,), None, "−x"),
        _row("abs", "abs", 1, abs, (lambda a, out: _sign(a),),
             Kernel(_Ufunc("abs"), lambda a, out: (np.sign(a),)),  # sign(0) = 0, sign(NaN) = NaN
             "__abs__", (_OFF_ZERO,), "abs", "|x|; abs'(0) = 0"),
        _row("exp", "exp", 1, exp_forward, (lambda a, out: out,),
             Kernel(_Ufunc("exp"), lambda a, out: (out,),
                    lambda a, out: np.isinf(out) & np.isfinite(a)),
             "exp", (Domain(-3.0, 3.0),), "exp", "e^x"),
        _row("log", "log", 1, log_forward, (lambda a, out: 1.0 / a,),
             Kernel(_Ufunc("log"), lambda a, out: (1.0 / a,), lambda a, out: a <= 0.0),
             "log", (_POSITIVE,), "log", "natural log, x > 0"),
        _row("sqrt", "√", 1, sqrt_forward, (lambda a, out: _safe_half_over(out),),
             Kernel(_Ufunc("sqrt"), lambda a, out: (np.where(out != 0.0, 0.5 / out, INF),),
                    lambda a, out: a < 0.0),
             "sqrt", (_POSITIVE,), "sqrt", "√x, x ≥ 0"),
        _row("relu", "ReLU", 1, relu, (lambda a, out: _step(a),),
             Kernel(_np_relu, lambda a, out: (np.where(a > 0.0, 1.0, np.where(a <= 0.0, 0.0, NAN)),)),
             "relu", (_OFF_ZERO,), "relu", "max(0, x); relu'(0) = 0"),
        _row("sigmoid", "σ", 1, sigmoid, (lambda a, out: out * (1.0 - out),),
             Kernel(_np_sigmoid, lambda a, out: (out * (1.0 - out),)),
             "sigmoid", (None,), "sigmoid", "1 / (1 + e^(−x))"),
        _row("tanh", "tanh", 1, math.tanh, (lambda a, out: 1.0 - out * out,),
             Kernel(_Ufunc("tanh"), lambda a, out: (1.0 - out * out,)),
             "tanh", (None,), "tanh", "hyperbolic tangent"),
        _row("gaussian", "exp(-x²)", 1, gaussian, (lambda a, out: -2.0 * (a * out),),  # a·out never overflows
             Kernel(lambda a: np.exp(-a * a), _np_gaussian_partial),
             "gaussian", (None,), "gaussian", "exp(−x²), the notes' Gaussian activation"),
        _row("sin", "sin", 1, float_sin, (lambda a, out: _cos(a),),
             Kernel(_Ufunc("sin"), lambda a, out: (np.cos(a),)),
             "sin", (None,), "sin", "sine"),
        _row("cos", "cos", 1, float_cos, (lambda a, out: -_sin(a),),
             Kernel(_Ufunc("cos"), lambda a, out: (-np.sin(a),)),
             "cos", (None,), "cos", "cosine"),
        # ---- binary: x op y, x op 2, 2 op x
        _row("+", "+", 2, operator.add, (lambda a, b, out: 1.0, lambda a, b, out: 1.0), None,
             "__add__", (None, None), None, "x + y"),
        _row("-", "−", 2, operator.sub, (lambda a, b, out: 1.0, lambda a, b, out: -1.0), None,
             "__sub__", (None, None), None, "x − y"),
        _row("*", "*", 2, operator.mul, (lambda a, b, out: b, lambda a, b, out: a), None,
             "__mul__", (None, None), None, "x · y"),
        _row("/", "÷", 2, div_forward, (lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b),
             Kernel(_Ufunc("divide"), lambda a, b, out: (1.0 / b, -out / b),
                    lambda a, b, out: b == 0.0),
             "__truediv__", (None, Domain(0.5, 3.0, symmetric=True)), None, "x / y, y ≠ 0"),
        _row("**", "^", 2, pow_forward, (_pow_da, _pow_db),
             Kernel(_Ufunc("power"), _np_pow_partials, _np_pow_domain),
             "__pow__", (Domain(0.5, 2.0), Domain(-2.0, 2.0)), None, "x ** y; d/dy = x**y · ln x"),
        # ---- n-ary: one node for a whole list, mg.sum(xs), mg.dot(ws, xs), mg.max(xs), mg.min(xs)
        _row("sum", "Σ", NARY, sum_forward, (lambda *xs_and_out: (1.0,) * (len(xs_and_out) - 1),),
             Kernel(lambda x: x.sum(axis=1), lambda x, out: (1.0,)),
             "sum", (None,), None, "Σ xᵢ (the notes' Σ)"),
        _row("dot", "Σ wᵢxᵢ", NARY, dot_forward, (_dot_partials,),
             Kernel(lambda w, x: (w * x).sum(axis=1), lambda w, x, out: (x, w)),
             "dot", (None,), None, "Σ wᵢxᵢ, the notes' 總刺激; operands w1..wn, x1..xn"),
        _row("max", "max", NARY, max_forward, (_max_partials,),
             Kernel(_np_extreme_forward("max"), _np_extreme_partials("max")),
             "max", (None,), "max", "the largest item; ∂ = 1 for the first largest (NaN wins), else 0"),
        _row("min", "min", NARY, min_forward, (_min_partials,),
             Kernel(_np_extreme_forward("min"), _np_extreme_partials("min")),
             "min", (None,), "min", "the smallest item; ∂ = 1 for the first smallest (NaN wins), else 0"),
        _row("gather", "gather", NARY, gather_forward, (_gather_partials,),
             Kernel(_np_gather_forward, _np_gather_partials, _np_gather_outside),
             "gather", (None,), None,
             "xs[i], a lookup (mg.nn.Embedding, cross_entropy's target); operands x1..xn, i; "
             "gradient 1 to the item picked, 0 to the others and to i"),
    )
}


def _by_arity(arity: int | None) -> dict[str, Op]:
    return {name: r for name, r in OPS.items() if r.arity == arity}


# Indexes of OPS by arity (kept in step by define).
UNARY: dict[str, Op] = _by_arity(1)
BINARY: dict[str, Op] = _by_arity(2)
NARY_OPS: dict[str, Op] = _by_arity(NARY)


def row(name: str) -> Op:
    """The row of the op called ``name`` (``node.op``); ValueError naming the known ops."""
    try:
        return OPS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown op {name!r}; the op table has {', '.join(map(repr, OPS))}") from None


# ------------------------------------------------------------- users' own ops


def define(
    name: str,
    forward: Callable[..., Any],
    partials: Callable[..., Any],
    *,
    domain: tuple[Domain | None, ...] | Domain | None = None,
) -> Callable[..., Any]:
    """Add an op to the table; returns the function that makes its nodes.

        cube = mg.ops.define("cube", lambda a: a ** 3, lambda a, out: 3 * a * a)
        cube(mg.Value(2.0))        # Value(data=8.0), with ∂/∂a = 12.0

    ``forward(*xs)`` computes the value from floats (its number of parameters
    is the op's arity); ``partials(*xs, out)`` returns ∂out/∂x for each
    operand (a number for a unary op, a tuple otherwise).  Written with
    operators and micrograd_tw functions, the partials also work on Values
    (second derivatives); written so that they work on numpy arrays, the op
    also runs in ``mg.compile``.  ``domain``: a ``Domain`` (or ``None``) per
    operand, where ``testing.expressions`` draws it.  A name that exists is a ValueError.
    """
    import inspect

    from . import engine  # the engine makes the function (this module knows nothing of Value)

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define: the name must be an identifier such as 'softplus', got {name!r}")
    if name in OPS:
        raise ValueError(f"define: an op called {name!r} exists already; choose another name")
    if not callable(forward) or not callable(partials):
        raise TypeError(f"define {name!r}: forward and partials must be callables")
    try:
        params = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"define {name!r}: cannot read forward's parameters; write it with def") from None
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) or not params:
        raise TypeError(f"define {name!r}: forward must take a fixed number (at least one) of operands")
    arity = len(params)
    if domain is None:
        domains: tuple[Domain | None, ...] = ()  # none given: testing.expressions uses its default
    elif isinstance(domain, Domain):
        domains = (domain,) * arity
    else:
        domains = tuple(domain)
        if len(domains) != arity or not all(d is None or isinstance(d, Domain) for d in domains):
            raise ValueError(f"define {name!r}: domain needs a Domain or None for each of {arity} operands")

    def checked_forward(*xs: Any) -> Any:
        out = forward(*xs)
        return _as_float(out, name, "forward") if isinstance(xs[0], float) else out

    def rule(i: int) -> Callable[..., Any]:
        def partial(*xs_and_out: Any) -> Any:
            result = partials(*xs_and_out)
            if arity != 1:
                if not isinstance(result, (tuple, list)) or len(result) != arity:
                    raise TypeError(f"{name}: partials must return a tuple of {arity}, got {result!r}")
                result = result[i]
            # At forward time (a float out) a node keeps floats.
            return _as_float(result, name, "partials") if isinstance(xs_and_out[-1], float) else result

        return partial

    new = Op(name, name, arity, checked_forward, tuple(rule(i) for i in range(arity)), None,
             name, domains, None, "defined with mg.ops.define")
    OPS[name] = new
    (UNARY if arity == 1 else BINARY if arity == 2 else {})[name] = new
    return engine.function_from_row(new)


def _as_float(x: Any, name: str, what: str) -> float:
    if type(x) is float:
        return x
    if hasattr(x, "log") and hasattr(x, "grad"):  # a Value from micrograd_tw functions: its number
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "__float__"):
        raise TypeError(f"{name}: {what} must give a real number, got {type(x).__name__}")
    return float(x)


# ------------------------------------------------------------------ docs


def _spelling(r: Op) -> str:
    """How Python code writes the op."""
    if r.arity is NARY:
        operands = {"dot": "ws, xs", "gather": "xs, i"}.get(r.name, "xs")
        return f"`mg.{r.python_name}({operands})`"
    if r.arity == 1:
        special = {"__neg__": "-x", "__abs__": "abs(x)"}
        return f"`{special.get(r.python_name, f'x.{r.python_name}()')}`"
    if r.python_name.startswith("__"):
        return f"`x {r.name} y`"
    return f"`{r.python_name}(...)`"


def markdown_table() -> str:
    """The op table as Markdown (docs/ops.md is made from it by docs/make_ops_table.py)."""

    def domain(r: Op) -> str:
        parts = []
        for d in r.domain:
            if d is None:
                parts.append("any")
            else:
                parts.append(f"±[{d.lo:g}, {d.hi:g}]" if d.symmetric else f"[{d.lo:g}, {d.hi:g}]")
        return ", ".join(parts)

    lines = [
        "# The op table",
        "",
        "Made from `micrograd_tw/ops.py` by `python docs/make_ops_table.py`; a test checks it is current.",
        "Each row is one op: how Python writes it, its node's text in pictures (`draw_dot`), the",
        "function name formulas offer (`python -m micrograd_tw graph ...`), and where property tests",
        "draw its operands (`micrograd_tw.testing.expressions`, away from kinks and singularities).",
        "",
        "| op | Python | in pictures | in formulas | operands drawn from | what |",
        "|----|--------|-------------|-------------|---------------------|------|",
    ]
    for r in OPS.values():
        formula = f"`{r.formula}`" if r.formula else "—"
        what = r.doc.replace("|", "∣")
        lines.append(f"| `{r.name}` | {_spelling(r)} | {r.symbol} | {formula} | {domain(r)} | {what} |")
    return "\n".join(lines) + "\n"
