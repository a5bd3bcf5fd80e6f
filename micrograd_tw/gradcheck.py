"""Check analytic gradients against central finite differences.

    mg.gradcheck(lambda x, y: x ** y + x.log(), [2.0, 3.0])   # True, or AssertionError

The defaults are PyTorch's (eps 1e-6, atol 1e-5, rtol 1e-3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Value, to_float, enable_grad, grad

__all__ = ["numerical_grad", "gradcheck", "close", "check_tolerances", "check_eps", "as_floats"]


def as_floats(inputs: Sequence[Any]) -> list[float]:
    """The inputs as floats; a Value gives its data (and is never modified)."""
    return [x.data if isinstance(x, Value) else to_float(x, f"inputs[{i}]") for i, x in enumerate(inputs)]


def _evaluate(fn: Callable[..., Any], xs: list[float]) -> float:
    # Recording stays on: fn may differentiate itself (mg.grad(..., create_graph=True)),
    # as when second derivatives are checked against differences of first ones.
    with enable_grad():
        out = fn(*[Value(x) for x in xs])
    if isinstance(out, Value):
        return out.data
    return to_float(out, "the result of fn")


def check_eps(eps: float) -> float:
    eps = to_float(eps, "eps")
    if not eps > 0.0 or math.isinf(eps):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return eps


def check_tolerances(atol: float, rtol: float) -> None:
    """ValueError unless atol and rtol are finite numbers >= 0 (NaN is refused)."""
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not 0.0 <= to_float(tol, name) < math.inf:
            raise ValueError(f"{name} must be a finite number >= 0, got {tol!r}")


def close(analytic: float, numeric: float, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """The gradcheck rule |analytic − numeric| ≤ atol + rtol·|numeric|; NaN is never close."""
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def numerical_grad(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6) -> list[float]:
    """Central differences (f(x + eps) − f(x − eps)) / (2 eps), one per input.

    ``fn(*values)`` takes one Value per input and returns a Value.
    """
    eps = check_eps(eps)
    xs = as_floats(inputs)
    result = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += eps
        down[i] -= eps
        result.append((_evaluate(fn, up) - _evaluate(fn, down)) / (2.0 * eps))
    return result


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True when every analytic gradient of ``fn`` matches central differences.

    Passes when |analytic − numeric| ≤ atol + rtol·|numeric| for every input;
    otherwise raises AssertionError naming the input and both values.  A NaN
    at any probe (fn's value, either side) is a failure, never a pass.  fn runs
    with recording on, even inside ``no_grad``, so it may call ``mg.grad`` itself.
    """
    check_tolerances(atol, rtol)
    xs = as_floats(inputs)
    numeric = numerical_grad(fn, xs, eps)
    values = [Value(x) for x in xs]
    with enable_grad():
        out = fn(*values)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    if math.isnan(out.data):
        raise AssertionError(f"gradcheck: fn gives NaN at the inputs {xs!r}")
    analytic = grad(out, values)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if not close(a, n, atol, rtol):
            raise AssertionError(
                f"gradcheck: the gradient for input {i} (x = {xs[i]!r}) does not match: "
                f"analytic {a!r}, numeric {n!r} (atol={atol}, rtol={rtol})"
            )
    return True
