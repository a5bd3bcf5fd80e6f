"""numerical_grad and gradcheck against API.md: central differences, PyTorch's tolerances, NaN fails."""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

import numpy as np
import pytest

import micrograd_tw as mg
from micrograd_tw import Value
from micrograd_tw import functional as F

NAN = math.nan


# ----------------------------------------------------------- numerical_grad


def test_numerical_grad_is_the_central_difference() -> None:
    eps = 1e-3
    # Written out by hand: (f(x + eps) − f(x − eps)) / (2 eps), not a one-sided difference.
    expected = ((2.0 + eps) ** 3 - (2.0 - eps) ** 3) / (2 * eps)  # 12 + eps², where forward gives 12.006
    assert mg.numerical_grad(lambda x: x**3, [2.0], eps=eps) == [expected]


def test_numerical_grad_of_several_inputs() -> None:
    g = mg.numerical_grad(lambda x, y: x * y + y**2, [3, np.float64(2.0)])
    assert g == pytest.approx([2.0, 7.0], rel=1e-8)  # ∂/∂x = y, ∂/∂y = x + 2y
    assert all(type(v) is float for v in g)


def test_numerical_grad_accepts_a_function_returning_a_number() -> None:
    assert mg.numerical_grad(lambda x: x.data**2, [3.0], eps=1e-4) == [pytest.approx(6.0, rel=1e-9)]


def test_defaults_are_pytorchs() -> None:
    assert inspect.signature(mg.numerical_grad).parameters["eps"].default == 1e-6
    params = inspect.signature(mg.gradcheck).parameters
    assert (params["eps"].default, params["atol"].default, params["rtol"].default) == (1e-6, 1e-5, 1e-3)


@pytest.mark.parametrize("eps", [0.0, -1e-6, -0.0, NAN, math.inf])
def test_eps_must_be_positive(eps: float) -> None:
    with pytest.raises(ValueError, match="eps must be a positive"):
        mg.numerical_grad(lambda x: x, [1.0], eps=eps)
    with pytest.raises(ValueError, match="eps must be a positive"):
        mg.gradcheck(lambda x: x, [1.0], eps=eps)


def test_bad_inputs_are_type_errors_naming_the_type() -> None:
    with pytest.raises(TypeError, match="eps.*bool"):
        mg.numerical_grad(lambda x: x, [1.0], eps=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"inputs\[1\].*str"):
        mg.numerical_grad(lambda x, y: x, [1.0, "2"])
    with pytest.raises(TypeError, match="fn must return a Value, got float"):
        mg.gradcheck(lambda x: 1.0, [1.0])


def test_inputs_are_left_as_they_were() -> None:
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    x.grad, y.grad = 5.0, -5.0
    w = Value(0.5)  # a parameter that fn reads from outside
    inputs = [x, y]

    def fn(a: Value, b: Value) -> Value:
        return (a * b * w).tanh()

    assert mg.gradcheck(fn, inputs)
    mg.numerical_grad(fn, inputs)
    assert inputs == [x, y]
    assert (x.data, x.grad, x.label, y.data, y.grad, y.label) == (2.0, 5.0, "x", 3.0, -5.0, "y")
    assert (w.data, w.grad) == (0.5, 0.0)
    floats = [2.0, 3.0]
    mg.gradcheck(fn, floats)
    assert floats == [2.0, 3.0]


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize(
    "fn, inputs",
    [
        (lambda x, y: x**y + x.log(), [2.0, 3.0]),
        (lambda x: x.sigmoid() * x.tanh() / (1 + x.gaussian()), [0.3]),
        (lambda w1, w2, b: (mg.dot([w1, w2], [1.5, -2.0]) + b).relu(), [0.7, -0.4, 0.1]),
        (lambda a, b, c: F.cross_entropy([a, b, c], 1), [0.2, -1.0, 3.0]),
        (lambda a, b: F.mse_loss([a, b], [1.0, -1.0], reduction="half"), [0.5, 2.0]),
        (lambda a, b, c: F.logsumexp([a, b, c]), [1000.0, 999.0, -1000.0]),
    ],
)
def test_gradcheck_passes_correct_gradients(fn: Any, inputs: list[float]) -> None:
    assert mg.gradcheck(fn, inputs) is True


def test_gradcheck_fails_naming_the_input_and_both_values() -> None:
    # y is cut from the graph: its analytic gradient is 0 but f changes with it.
    with pytest.raises(AssertionError) as info:
        mg.gradcheck(lambda x, y: x * y.detach(), [3.0, 2.0])
    message = str(info.value)
    assert "input 1" in message and "x = 2.0" in message
    assert "analytic 0.0" in message
    numeric = float(re.search(r"numeric ([-\d.e]+)", message).group(1))  # type: ignore[union-attr]
    assert numeric == pytest.approx(3.0, rel=1e-6)


def _skewed(delta: float) -> Any:
    """f(x) = (1 + delta)·x whose analytic derivative is 1: off by exactly delta."""
    return lambda x: x + delta * x.detach()


def test_tolerance_is_atol_plus_rtol_times_the_numeric_value() -> None:
    # |analytic − numeric| = δ must be ≤ atol + rtol·|numeric| = atol + rtol·(1 + δ).
    assert mg.gradcheck(_skewed(1.0005e-3), [1.0], atol=0.0, rtol=1e-3)  # 1.0005e-3 ≤ 1.0010005e-3
    with pytest.raises(AssertionError):
        mg.gradcheck(_skewed(1.0015e-3), [1.0], atol=0.0, rtol=1e-3)  # 1.0015e-3 > 1.0010015e-3
    assert mg.gradcheck(_skewed(1e-5), [1.0], atol=1e-5 * 1.1, rtol=0.0)
    with pytest.raises(AssertionError):
        mg.gradcheck(_skewed(1e-5), [1.0], atol=1e-5 * 0.9, rtol=0.0)
    assert mg.gradcheck(_skewed(1.005e-3), [1.0])  # the defaults: 1e-5 + 1e-3·1.001
    with pytest.raises(AssertionError):
        mg.gradcheck(_skewed(1.02e-3), [1.0])


def _nan_beside(center: float) -> Any:
    """f(x) = x, except NaN at every point but the centre."""
    return lambda x: x if x.data == center else x * NAN


@pytest.mark.parametrize(
    "fn, point",
    [
        (_nan_beside(2.0), 2.0),  # numeric NaN, analytic 1
        (lambda x: x * NAN, 2.0),  # both NaN
        # analytic NaN (inf·0 in backward: sqrt'(0) times the 0 from `* 0.0`), numeric 1
        (lambda x: x + abs(x - x.data).sqrt() * 0.0, 2.0),
        # NaN only at the centre, where the gradient is probed; 1 everywhere else
        (lambda x: x + Value(NAN) if x.data == 2.0 else x, 2.0),
    ],
)
def test_a_nan_at_any_probe_is_a_failure(fn: Any, point: float) -> None:
    with pytest.raises(AssertionError, match="NaN|nan"):
        mg.gradcheck(fn, [point])


def test_an_error_at_a_probe_is_raised_not_passed() -> None:
    with pytest.raises(ValueError, match="log"):
        mg.gradcheck(lambda x: x.log(), [1e-7])  # x − eps < 0


def test_second_derivatives_by_gradcheck_of_first_derivatives() -> None:
    """gradcheck of a function that itself differentiates: fn must run with grad recording on."""

    def dx(x: Value, y: Value) -> Value:
        return mg.grad(x**y * x.tanh(), [x], create_graph=True)[0]

    assert mg.gradcheck(dx, [1.3, 2.5])

    def dlse(a: Value, b: Value, c: Value) -> Value:
        return mg.grad(F.logsumexp([a, b, c]), [b], create_graph=True)[0]

    assert mg.gradcheck(dlse, [0.3, -1.0, 2.0])
    with mg.no_grad():  # still checks, inside no_grad
        assert mg.gradcheck(dx, [1.3, 2.5])
        assert mg.numerical_grad(dx, [1.3, 2.5]) == pytest.approx(mg.numerical_grad(dx, [1.3, 2.5]))


def test_gradcheck_with_numpy_and_value_inputs() -> None:
    assert mg.gradcheck(lambda x, y: x / y, [np.float32(1.5), Value(-2.0)])


def test_numerical_grad_matches_torch_gradcheck_on_the_same_function() -> None:
    torch = pytest.importorskip("torch")

    def f_torch(x: Any, y: Any) -> Any:
        return torch.tanh(x * y) + torch.log(x) * y

    def f(x: Value, y: Value) -> Value:
        return (x * y).tanh() + x.log() * y

    args = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.8, -1.3)]
    assert torch.autograd.gradcheck(f_torch, args)
    ours = mg.numerical_grad(f, [0.8, -1.3])
    theirs = torch.autograd.grad(f_torch(*args), args)
    assert ours == pytest.approx([t.item() for t in theirs], rel=1e-8)
    assert mg.gradcheck(f, [0.8, -1.3])


@pytest.mark.parametrize("bad", [{"atol": float("nan")}, {"rtol": -1.0}, {"atol": float("inf")}])
def test_gradcheck_refuses_bad_tolerances(bad: dict) -> None:
    """A NaN, negative or infinite tolerance is a ValueError naming it, not a false mismatch."""
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"{name} must be a finite number >= 0"):
        mg.gradcheck(lambda x: x * 2, [1.0], **bad)
