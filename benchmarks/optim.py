"""mg.optim: one optimiser step on the parameter counts of the generation examples.

    python benchmarks/optim.py            # --quick (or BENCH_QUICK=1) for a short run

A compiled training step of the examples takes a few milliseconds, and the
optimiser's ``step()`` comes on top of it, once per step, over every parameter.
This times ``step()`` of plain SGD, SGD with momentum 0.9 and Adam on 12,740
parameters (the digits VAE of examples/digit_generator.py) and 4,009 (the
names MLP of examples/names_generator.py), against the per-parameter float
loops mg.optim used before (copied below as the baseline, measured in the
same run), and ``zero_grad()``.  Before timing, it checks that both give the
same floats, bit for bit, for a few steps from the same start.

mg.optim's plain SGD (no momentum, no weight decay) is ``engine.descend``, one
pass over the Values' floats; momentum, weight decay and Adam go through numpy
arrays.  Also timed, for plain SGD: the round trip
through numpy arrays (after the same check of the grads' types that mg.optim
makes), the other way to write it with the engine's public helpers.

numpy's OpenBLAS is limited to one thread (``OPENBLAS_NUM_THREADS=1``, set
before numpy loads, unless already set), as in benchmarks/compile.py: times
are CPU time of this process (``common.timed``), medians over rounds in which
every variant runs in turn, so that load changes on a shared machine hit all
of them alike.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # before numpy loads OpenBLAS, whose thread count is fixed then
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # common.py
sys.path.insert(0, str(HERE.parent))  # micrograd_tw from this checkout

import common  # noqa: E402

import micrograd_tw as mg  # noqa: E402
from micrograd_tw.engine import data_of, set_data  # noqa: E402

SIZES = {"digits VAE": 12_740, "names MLP": 4_009}  # parameters of the two generation examples
LR = 0.01
QUICK = common.quick_mode()
ROUNDS = 3 if QUICK else 9
STEPS = 20 if QUICK else 50  # steps per timed batch
CHECK_STEPS = 5  # steps whose floats the new and the old loops must agree on


# ------------------------------------------- the baseline: the loops mg.optim had


def old_sgd(params: list[mg.Value], lr: float, momentum: float = 0.0) -> Callable[[], None]:
    """SGD.step as a loop over the parameters (weight decay 0, no nesterov)."""
    buffers: list[float | None] = [None] * len(params)

    def step() -> None:
        with mg.no_grad():
            for i, p in enumerate(params):
                g = p.grad
                if momentum:
                    b = buffers[i]
                    b = g if b is None else momentum * b + g
                    buffers[i] = b
                    g = b
                p.data -= lr * g

    return step


def old_adam(params: list[mg.Value], lr: float, b1: float = 0.9, b2: float = 0.999,
             eps: float = 1e-8) -> Callable[[], None]:
    """Adam.step as a loop over the parameters (weight decay 0)."""
    m_list, v_list = [0.0] * len(params), [0.0] * len(params)
    t = [0]

    def step() -> None:
        t[0] += 1
        step_size = lr / (1.0 - b1 ** t[0])
        root_bc2 = math.sqrt(1.0 - b2 ** t[0])
        with mg.no_grad():
            for i, p in enumerate(params):
                g = p.grad
                m = m_list[i] = b1 * m_list[i] + (1.0 - b1) * g
                v = v_list[i] = b2 * v_list[i] + (1.0 - b2) * g * g
                denom = math.sqrt(v) / root_bc2 + eps
                if denom:
                    p.data -= step_size * (m / denom)

    return step


def numpy_sgd(params: list[mg.Value], lr: float) -> Callable[[], None]:
    """Plain SGD as a round trip through numpy arrays, grads checked as mg.optim does."""
    n = len(params)

    def step() -> None:
        grads = [p.grad for p in params]
        if list(map(type, grads)).count(float) != n:
            raise TypeError("a grad is not a float")
        data = np.fromiter(data_of(params), np.float64, n)
        set_data(params, (data - lr * np.fromiter(grads, np.float64, n)).tolist())

    return step


# ------------------------------------------------------------------ variants


def parameters(n: int, seed: int = 0) -> list[mg.Value]:
    """n parameters with data and grads drawn once (the grads stay: step() does not change them)."""
    rng = np.random.default_rng(seed)
    params = [mg.Value(x) for x in rng.normal(size=n).tolist()]
    for p, g in zip(params, rng.normal(size=n).tolist()):
        p.grad = g
    return params


# name -> (new step, old step, ...): each builds its step over its own copy of the parameters
RULES: dict[str, tuple[Callable[[list[mg.Value]], Callable[[], None]], ...]] = {
    "SGD": (lambda ps: mg.optim.SGD(ps, lr=LR).step, lambda ps: old_sgd(ps, LR),
            lambda ps: numpy_sgd(ps, LR)),
    "SGD momentum 0.9": (lambda ps: mg.optim.SGD(ps, lr=LR, momentum=0.9).step,
                         lambda ps: old_sgd(ps, LR, momentum=0.9)),
    "Adam": (lambda ps: mg.optim.Adam(ps, lr=LR).step, lambda ps: old_adam(ps, LR)),
}
KINDS = ("mg.optim", "old loop", "numpy arrays")


def check_same_floats(n: int) -> None:
    """Every variant of a rule gives the same floats (bit for bit) for CHECK_STEPS steps."""
    for rule, makers in RULES.items():
        results = []
        for make in makers:
            params = parameters(n)
            step = make(params)
            for _ in range(CHECK_STEPS):
                step()
            results.append([p.data.hex() for p in params])
        if any(r != results[0] for r in results[1:]):
            raise SystemExit(f"{rule} on {n} parameters: the variants disagree; nothing timed")


def per_step(step: Callable[[], None]) -> float:
    """CPU seconds per call, over one batch of STEPS calls."""

    def batch() -> None:
        for _ in range(STEPS):
            step()

    seconds, _ = common.timed(batch)
    return seconds / STEPS


def measure(n: int) -> dict[tuple[str, str], float]:
    """(rule, kind) -> median seconds per step, rounds interleaved; plus zero_grad."""
    steps: dict[tuple[str, str], Callable[[], None]] = {}
    for rule, makers in RULES.items():
        for kind, make in zip(KINDS, makers):
            steps[rule, kind] = make(parameters(n))
    params = parameters(n)
    opt = mg.optim.SGD(params, lr=LR)
    steps["zero_grad", "opt.zero_grad()"] = opt.zero_grad
    steps["zero_grad", "mg.zero_grad(params)"] = lambda: mg.zero_grad(params)
    for step in steps.values():
        step()  # warm up: imports, first allocations
    times: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    for _ in range(ROUNDS):
        for key, step in steps.items():
            times[key].append(per_step(step))
    return {key: common.median(t) for key, t in times.items()}


def report(name: str, n: int, medians: dict[tuple[str, str], float]) -> None:
    print(f"\n{name}: {n:,} parameters, time per call (median of {ROUNDS} rounds of {STEPS} calls)")
    rows = []
    for rule in RULES:
        new, old = medians[rule, "mg.optim"], medians[rule, "old loop"]
        rows.append([rule, common.fmt_time(new), common.fmt_time(old), f"{old / new:.1f}×"])
    print()
    common.print_table(["step()", "mg.optim", "old loop", "old / new"], rows)
    arrays = medians["SGD", "numpy arrays"]
    print(f"\nplain SGD through numpy arrays instead of engine.descend: {common.fmt_time(arrays)}"
          f" = {arrays / medians['SGD', 'mg.optim']:.2f}× mg.optim's step")
    print(f"opt.zero_grad(): {common.fmt_time(medians['zero_grad', 'opt.zero_grad()'])}, "
          f"mg.zero_grad(params): {common.fmt_time(medians['zero_grad', 'mg.zero_grad(params)'])}")


def main() -> None:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")
    print(f"mg.optim step() against the per-parameter float loops it replaced; CPU time, "
          f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={threads} (set before numpy loads)"
          + (", --quick" if QUICK else ""))
    results: dict[str, Any] = {}
    for name, n in SIZES.items():
        check_same_floats(n)
        results[name] = measure(n)
        report(name, n, results[name])


if __name__ == "__main__":
    main()
