"""Optimisers: gradient descent  θ ← θ − η ∇L(θ)  and its refinements.

    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(100):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

``step()`` works on the floats ``p.data`` and ``p.grad``, never on Values: an
update never becomes part of a graph, so parameters stay leaves and memory
stays flat however long training runs.  The update rules are PyTorch's.

A model may have thousands of parameters, so a step reads every parameter's
data and grad once into numpy float64 arrays, updates the arrays and writes
the data back once (``engine.data_of`` / ``engine.set_data``); the
per-parameter state (momentum buffers, Adam's moments) lives in arrays too.
Plain SGD (θ ← θ − η·g) is ``engine.descend`` instead, one pass over the
Values' floats, which measures 1.5× faster than the round trip through arrays
(benchmarks/optim.py).  Each formula is written in the order of the
per-parameter float rule, and numpy's +, −, ×, ÷ and √ on float64 round as
Python's floats do, so the results are the floats that rule gives, bit for
bit, with inf and NaN gradients too.  numpy is imported when an optimiser
first needs it, not by ``import micrograd_tw`` (plain SGD never needs it).

``state_dict()`` holds the hyperparameters and the per-parameter state (by
position, as plain JSON-ready lists), so ``load_state_dict`` into an optimiser
over a fresh model of the same architecture resumes training identically.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .engine import Value, data_of, descend, set_data, to_float

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Optimizer", "SGD", "Adam"]


def _in_range(x: Any, what: str, low: float, high: float, high_open: bool = True) -> float:
    """x as a float in [low, high) (or [low, high]); ValueError naming what otherwise (NaN too)."""
    f = to_float(x, what)
    inside = low <= f < high if high_open else low <= f <= high
    if not inside:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{what} must be in [{low:g}, {high:g}{bracket}, got {f!r}")
    return f


def _non_negative(x: Any, what: str) -> float:
    """x as a finite float >= 0 (NaN and inf refused)."""
    return _in_range(x, what, 0.0, math.inf)


def _grads(params: list[Value], who: str) -> list[float]:
    """Every parameter's grad as a float; a grad that is not a real number is a TypeError naming it.

    Checked before anything changes: numpy would read None put in ``grad`` by
    mistake as NaN, and a Value as its data.
    """
    grads = [p.grad for p in params]
    if list(map(type, grads)).count(float) != len(grads):  # an int or numpy scalar set by hand, or a mistake
        grads = [to_float(g, f"{who}.step: params[{i}].grad") for i, g in enumerate(grads)]
    return grads


def _arrays(params: list[Value], grads: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The parameters' data and their grads as float64 arrays."""
    import numpy as np  # here, not at the top: `import micrograd_tw` does not load numpy

    n = len(params)
    return np.fromiter(data_of(params), np.float64, n), np.fromiter(grads, np.float64, n)


class Optimizer:
    """What SGD and Adam share: the parameter list, ``lr``, ``zero_grad`` and state checks."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        if isinstance(params, Value) or not isinstance(params, Iterable):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Values such as "
                f"model.parameters(), got {type(params).__name__}"
            )
        self.params: list[Value] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: the parameter list is empty")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, not a Value")
            if id(p) in seen:  # it would be updated twice per step
                raise ValueError(f"{type(self).__name__}: params[{i}] appears more than once")
            seen.add(id(p))
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate η; may be changed between steps (schedules)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _non_negative(value, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _check_state(self, state: Any, keys: tuple[str, ...]) -> list[str]:
        """Problems with a state dict's shape: its type tag and its keys."""
        if not isinstance(state, Mapping):
            return [f"expected a dict, got {type(state).__name__}"]
        problems = []
        if state.get("type") != type(self).__name__:
            problems.append(f"type is {state.get('type')!r}, expected {type(self).__name__!r}")
        missing = [k for k in keys if k not in state]
        extra = [k for k in state if k not in keys and k != "type"]
        if missing:
            problems.append(f"missing key(s): {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected key(s): {', '.join(map(repr, extra))}")
        return problems

    def _floats(self, x: Any, what: str, problems: list[str], allow_none: bool = False) -> list[Any]:
        """A per-parameter list of finite floats (or None where allowed), or [] and a problem."""
        n = len(self.params)
        if not isinstance(x, (list, tuple)) or len(x) != n:
            got = f"{len(x)} entries" if isinstance(x, (list, tuple)) else type(x).__name__
            problems.append(f"{what}: expected a list of {n} entries (one per parameter), got {got}")
            return []
        out: list[Any] = []
        for i, v in enumerate(x):
            if v is None and allow_none:
                out.append(None)
            else:
                try:
                    f = to_float(v, f"{what}[{i}]")
                except (TypeError, OverflowError) as e:
                    problems.append(str(e))
                    continue
                if not math.isfinite(f):
                    problems.append(f"{what}[{i}]: expected a finite number, got {v!r}")
                else:
                    out.append(f)
        return out

    def _refuse(self, problems: list[str]) -> None:
        if problems:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state was refused and nothing changed:\n"
                + "\n".join(f"  - {p}" for p in problems)
            )


def _hyper(problems: list[str], check: Any, *args: Any) -> Any:
    """check(*args), with its error recorded in problems instead of raised."""
    try:
        return check(*args)
    except (TypeError, ValueError, OverflowError) as e:
        problems.append(str(e))
        return None


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum rule (no dampening).

    With g = ∂L/∂θ + weight_decay·θ and a buffer b per parameter:

        b ← g on the first step, then b ← momentum·b + g
        θ ← θ − η·b                      (or θ − η·(g + momentum·b) with nesterov)

    Without momentum this is the notes' θ ← θ − η ∂L/∂θ.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0)
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.nesterov = nesterov
        # b, one per parameter, once a step has set it; None before the first step.
        # A loaded state may hold None for some parameters: _unset marks them.
        self._buffer: np.ndarray | None = None
        self._unset: np.ndarray | None = None

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        grads = _grads(self.params, "SGD")
        if not (mu or wd):  # θ ← θ − η·g: one pass over the Values, faster than a round trip through arrays
            descend(self.params, grads, lr)
            return
        import numpy as np  # only here: plain SGD does not load numpy

        data, g = _arrays(self.params, grads)
        with np.errstate(all="ignore"):  # inf and NaN grads give what the float rule gives, silently
            if wd:
                g = g + wd * data
            if mu:
                b = self._buffer
                if b is None:
                    b = g
                elif self._unset is None:
                    b = mu * b + g
                else:
                    b = np.where(self._unset, g, mu * b + g)
                self._buffer, self._unset = b, None
                g = g + mu * b if self.nesterov else b
            data = data - lr * g
        set_data(self.params, data.tolist())

    @property
    def momentum_buffer(self) -> tuple[float | None, ...]:
        """The buffers b, one per parameter (None before its first step); read-only: see load_state_dict."""
        if self._buffer is None:
            return (None,) * len(self.params)
        buffers: list[float | None] = self._buffer.tolist()
        if self._unset is not None:
            for i in self._unset.nonzero()[0].tolist():
                buffers[i] = None
        return tuple(buffers)

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and momentum buffers (None before the first step), JSON-ready."""
        return {
            "type": "SGD",
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
            "momentum_buffer": list(self.momentum_buffer),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters and buffers; everything is checked before anything changes."""
        keys = ("lr", "momentum", "weight_decay", "nesterov", "momentum_buffer")
        problems = self._check_state(state, keys)
        if problems:
            self._refuse(problems)
        lr = _hyper(problems, _non_negative, state["lr"], "lr")
        mu = _hyper(problems, _in_range, state["momentum"], "momentum", 0.0, 1.0)
        wd = _hyper(problems, _non_negative, state["weight_decay"], "weight_decay")
        nesterov = state["nesterov"]
        if not isinstance(nesterov, bool):
            problems.append(f"nesterov must be a bool, got {nesterov!r}")
        elif nesterov and mu == 0.0:
            problems.append("nesterov momentum needs momentum > 0")
        buffers = self._floats(state["momentum_buffer"], "momentum_buffer", problems, allow_none=True)
        self._refuse(problems)
        self.lr, self.momentum, self.weight_decay, self.nesterov = lr, mu, wd, nesterov
        self._buffer, self._unset = _buffer_arrays(buffers)


def _buffer_arrays(buffers: list[Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Loaded buffers (floats, or None where unset) as SGD keeps them: (values, unset mask)."""
    unset = [b is None for b in buffers]
    if all(unset):
        return None, None
    import numpy as np

    values = np.array([0.0 if b is None else b for b in buffers], dtype=np.float64)
    return values, (np.array(unset) if any(unset) else None)


class Adam(Optimizer):
    """Adam (Kingma & Ba), with bias correction, as PyTorch computes it.

    With g = ∂L/∂θ + weight_decay·θ (L2 decay, as torch.optim.Adam) at step t:

        m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²
        θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)

    With eps = 0, a parameter whose gradient has always been 0 is left alone.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        import numpy as np

        super().__init__(params, lr)
        self.betas = _betas(betas)
        self.eps = _non_negative(eps, "eps")
        self.weight_decay = _non_negative(weight_decay, "weight_decay")
        self.t = 0  # steps taken, for the bias correction
        self._exp_avg = np.zeros(len(self.params))  # m: running mean of gradients
        self._exp_avg_sq = np.zeros(len(self.params))  # v: running mean of squared gradients

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        import numpy as np

        lr, (b1, b2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        data, g = _arrays(self.params, _grads(self.params, "Adam"))
        t = self.t + 1
        step_size = lr / (1.0 - b1**t)
        root_bc2 = math.sqrt(1.0 - b2**t)
        with np.errstate(all="ignore"):  # inf and NaN grads give what the float rule gives, silently
            if wd:
                g = g + wd * data
            m = b1 * self._exp_avg + (1.0 - b1) * g
            v = b2 * self._exp_avg_sq + (1.0 - b2) * g * g
            denom = np.sqrt(v) / root_bc2 + eps
            # With eps = 0 a parameter whose gradients were all 0 has denom 0: it is left alone.
            data = np.where(denom != 0.0, data - step_size * (m / denom), data)
        self.t, self._exp_avg, self._exp_avg_sq = t, m, v
        set_data(self.params, data.tolist())

    @property
    def exp_avg(self) -> tuple[float, ...]:
        """m, one per parameter, read-only (``load_state_dict`` sets it)."""
        return tuple(self._exp_avg.tolist())

    @property
    def exp_avg_sq(self) -> tuple[float, ...]:
        """v, one per parameter, read-only (``load_state_dict`` sets it)."""
        return tuple(self._exp_avg_sq.tolist())

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and moment estimates, JSON-ready."""
        return {
            "type": "Adam",
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "step": self.t,
            "exp_avg": list(self.exp_avg),
            "exp_avg_sq": list(self.exp_avg_sq),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters and moments; everything is checked before anything changes."""
        import numpy as np

        keys = ("lr", "betas", "eps", "weight_decay", "step", "exp_avg", "exp_avg_sq")
        problems = self._check_state(state, keys)
        if problems:
            self._refuse(problems)
        lr = _hyper(problems, _non_negative, state["lr"], "lr")
        betas = _hyper(problems, _betas, state["betas"])
        eps = _hyper(problems, _non_negative, state["eps"], "eps")
        wd = _hyper(problems, _non_negative, state["weight_decay"], "weight_decay")
        t = state["step"]
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 0 <= int(t) <= _MAX_STEP:
            problems.append(f"step must be an int from 0 to 2**53 (steps taken), got {reprlib.repr(t)}")
        m = self._floats(state["exp_avg"], "exp_avg", problems)
        v = self._floats(state["exp_avg_sq"], "exp_avg_sq", problems)
        if any(x < 0.0 for x in v):
            problems.append("exp_avg_sq: a running mean of squares cannot be negative")
        self._refuse(problems)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, wd
        self.t = int(t)
        self._exp_avg, self._exp_avg_sq = np.array(m, dtype=np.float64), np.array(v, dtype=np.float64)


_MAX_STEP = 2**53  # the step count is an exponent of a float (β₁ᵗ): counted exactly up to here


def _betas(betas: Any) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return (_in_range(betas[0], "betas[0]", 0.0, 1.0), _in_range(betas[1], "betas[1]", 0.0, 1.0))
