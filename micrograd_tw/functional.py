"""Functions of Values: activations, softmax, and the losses of the course.

Everything here is a composite of engine ops, so gradients (and second
derivatives) come from the op table.  Softmax-like functions subtract the
largest score first, as the graph op ``mg.max`` (so ``mg.compile`` computes
the shift per row): the shift leaves the result and its gradient unchanged
and keeps exp() from overflowing.
"""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Sequence
from typing import Any

from . import engine
from .engine import Value, to_float

__all__ = [
    "relu", "sigmoid", "tanh", "gaussian", "exp", "log", "sin", "cos",
    "logsumexp", "softmax", "log_softmax", "mse_loss", "cross_entropy",
]


def _value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def relu(x: Any) -> Value:
    """max(0, x); relu'(0) = 0, as in PyTorch."""
    return _value(x).relu()


def sigmoid(x: Any) -> Value:
    """1 / (1 + e^(−x)), stable for every finite x."""
    return _value(x).sigmoid()


def tanh(x: Any) -> Value:
    """Hyperbolic tangent."""
    return _value(x).tanh()


def gaussian(x: Any) -> Value:
    """exp(−x²), the notes' Gaussian activation."""
    return _value(x).gaussian()


def exp(x: Any) -> Value:
    """e^x; OverflowError beyond the float range."""
    return _value(x).exp()


def log(x: Any) -> Value:
    """Natural logarithm; ValueError for x ≤ 0."""
    return _value(x).log()


def sin(x: Any) -> Value:
    """Sine (radians)."""
    return _value(x).sin()


def cos(x: Any) -> Value:
    """Cosine (radians)."""
    return _value(x).cos()


# ------------------------------------------------------------------ softmax


def _scores(xs: Any, name: str) -> list[Value]:
    if getattr(xs, "ndim", None) == 0:
        raise TypeError(f"{name}: expected a list of scores, got a 0-d array (one number)")
    if isinstance(xs, (Value, numbers.Number)):
        raise TypeError(f"{name}: expected a list of scores, got {type(xs).__name__}")
    # The check mg.sum and mg.dot make: a dict or set has no order to give the scores.
    values = [_value(x) for x in engine.as_list(xs, f"{name} scores")]
    if not values:
        raise ValueError(f"{name}: the list of scores is empty")
    return values


def logsumexp(xs: Sequence[Any]) -> Value:
    """log Σ e^(xᵢ), computed as m + log Σ e^(xᵢ − m) with m = max xᵢ."""
    values = _scores(xs, "logsumexp")
    return _logsumexp(values)


def _logsumexp(values: list[Value]) -> Value:
    shift = engine.max(values)  # its gradient cancels: ∂/∂shift = 1 − Σ softmax = 0
    return engine.sum([(v - shift).exp() for v in values]).log() + shift


def softmax(xs: Sequence[Any]) -> list[Value]:
    """e^(xᵢ) / Σⱼ e^(xⱼ): scores to probabilities that keep their order and sum to 1."""
    values = _scores(xs, "softmax")
    shift = engine.max(values)  # the shift's gradient cancels
    exps = [(v - shift).exp() for v in values]
    total = engine.sum(exps)
    return [e / total for e in exps]


def log_softmax(xs: Sequence[Any]) -> list[Value]:
    """log softmax(x)ᵢ = xᵢ − logsumexp(x), without forming the probabilities."""
    values = _scores(xs, "log_softmax")
    lse = _logsumexp(values)
    return [v - lse for v in values]


# ------------------------------------------------------------------- losses

_REDUCTIONS = ("mean", "sum", "half")


def _is_number(x: Any) -> bool:
    """One number (a 0-d numpy array is one), as opposed to a list of them."""
    return isinstance(x, (Value, numbers.Number)) or getattr(x, "ndim", None) == 0


def _is_row(x: Any) -> bool:
    """A sample given as a list of outputs (vector output) rather than one number."""
    return not _is_number(x) and not isinstance(x, (str, bytes)) and hasattr(x, "__iter__")


def mse_loss(preds: Any, targets: Any, reduction: str = "mean") -> Value:
    """Squared error between predictions and targets.

    ``preds`` and ``targets`` are lists of numbers/Values (one output per
    sample) or lists of such lists (vector outputs).  ``reduction``:

    - ``"mean"``: the mean over every element, as PyTorch;
    - ``"sum"``: the sum over every element;
    - ``"half"``: the course's  L(θ) = 1/(2k) Σᵢ ||yᵢ − f_θ(xᵢ)||²  over k samples.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: unknown reduction {reduction!r}; choose one of {_REDUCTIONS}")
    preds_rows = _as_rows(preds, "preds")
    target_rows = _as_rows(targets, "targets")
    if len(preds_rows) != len(target_rows):
        raise ValueError(
            f"mse_loss: {len(preds_rows)} predictions but {len(target_rows)} targets; they must match"
        )
    squares = []
    for i, (p_row, t_row) in enumerate(zip(preds_rows, target_rows)):
        if len(p_row) != len(t_row):
            raise ValueError(
                f"mse_loss: sample {i} has {len(p_row)} outputs but its target has {len(t_row)}"
            )
        if not p_row:
            raise ValueError(f"mse_loss: sample {i} is empty (no outputs)")
        for p, t in zip(p_row, t_row):
            p, t = _operand(p, "preds", i), _operand(t, "targets", i)
            try:
                squares.append((p - t) ** 2)
            except OverflowError:
                raise OverflowError(
                    f"mse_loss: the squared error of sample {i} overflows a float: "
                    f"prediction {float(p):g}, target {float(t):g}"
                ) from None
    total = engine.sum(squares)
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / len(squares)
    return total / (2 * len(preds_rows))


def _as_rows(xs: Any, name: str) -> list[list[Any]]:
    """Samples as rows: a scalar-output list becomes rows of one element.

    A generator is read once; a dict or set is refused, as by mg.sum.
    """
    items = [xs] if _is_number(xs) else engine.as_list(xs, f"mse_loss {name}")
    rows = [engine.as_list(x, f"mse_loss {name}[{i}]") if _is_row(x) else [x] for i, x in enumerate(items)]
    if not rows:
        raise ValueError(f"mse_loss: {name} is empty")
    return rows


def _operand(x: Any, name: str, i: int) -> Any:
    if isinstance(x, Value):
        return x
    return to_float(x, f"mse_loss: {name}[{i}]")


def cross_entropy(logits: Any, target: Any) -> Value:
    """−log softmax(logits)[target], from scores (logits) and a class index.

    For a batch, pass a list of logit lists and a list of class indices; the
    result is the mean over the batch.  Computed as logsumexp(logits) −
    logits[target], which stays finite for every finite input.
    """
    if _is_row(target):
        targets = engine.as_list(target, "cross_entropy targets")
        rows = engine.as_list(logits, "cross_entropy logits") if _is_row(logits) else []
        if not targets:
            raise ValueError("cross_entropy: the batch is empty")
        if not all(_is_row(r) for r in rows):
            raise ValueError(
                f"cross_entropy: a list of {len(targets)} targets is a batch and needs one list of logits "
                f"per sample, but logits is one list of scores; for one sample, pass one int target"
            )
        if len(rows) != len(targets):
            raise ValueError(
                f"cross_entropy: a batch needs one list of logits per target; "
                f"got {len(targets)} targets and {len(rows)} logit lists"
            )
        losses = [_one_cross_entropy(r, t) for r, t in zip(rows, targets)]
        return engine.sum(losses) / len(losses)
    return _one_cross_entropy(logits, target)


def _one_cross_entropy(logits: Any, target: Any) -> Value:
    values = _scores(logits, "cross_entropy")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"cross_entropy: the target must be an int class index, got {type(target).__name__} "
            f"{reprlib.repr(target)}"
        )
    index = int(target)
    if not 0 <= index < len(values):
        raise IndexError(
            f"cross_entropy: target class {reprlib.repr(index)} is out of range for {len(values)} classes "
            f"(0 to {len(values) - 1})"
        )
    return _logsumexp(values) - values[index]
