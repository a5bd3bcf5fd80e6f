"""The micrograd_tw side of the engine benchmark; each workload runs in a fresh process.

    python micrograd_tw_workloads.py WORKLOAD  < args.json  > result.json

The twin of ``micrograd_workloads.py``, with the same workloads and the same
arguments, measured on this checkout's micrograd_tw:

- ``mlp_step``: args X, y, params (initial values in ``model.parameters()``
  order), nouts, steps, warmup, lr, alpha.
- ``mixed``: args n_ops, repeats.
- ``mixed_floor``: args n_ops, repeats.  The same build with ``common.BareNode``,
  in a process that has imported micrograd_tw as the ``mixed`` one has.
- ``chain``: args n.  Runs at Python's default recursion limit.
- ``chain_traced``: args n.  tracemalloc's peak over build + backward.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # measure this checkout

import common  # noqa: E402 - this file's folder is on sys.path when it runs as a script

import micrograd_tw as mg  # noqa: E402


def make_mlp(nouts: list[int], params: list[float] | None = None) -> Any:
    """``MLP(2, nouts, seed=0)``, its parameters set to ``params`` when given."""
    from micrograd_tw.nn import MLP

    model = MLP(2, nouts, seed=0)
    if params is not None:
        ps = model.parameters()
        if len(ps) != len(params):
            raise ValueError(f"make_mlp: the model has {len(ps)} parameters, got {len(params)}")
        for p, value in zip(ps, params):
            p.data = value
    return model


def mlp_step_fn(model: Any, X: list[list[float]], y: list[float], lr: float, alpha: float) -> Any:
    """One training step of ``model`` on (X, y), as a function returning the loss.

    The same step as micrograd's demo notebook, written with micrograd_tw's
    n-ary sum (one node for Σ, where Python's sum makes a chain of +).
    """
    params = model.parameters()

    def step() -> float:
        scores = [model(x) for x in X]
        losses = [(1 - yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = mg.sum(losses) * (1.0 / len(losses))
        reg_loss = alpha * mg.sum([p * p for p in params])
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return total_loss.data

    return step


def mlp_step(args: dict[str, Any]) -> dict[str, Any]:
    model = make_mlp(args["nouts"], args["params"])
    step = mlp_step_fn(model, args["X"], args["y"], args["lr"], args["alpha"])
    return common.time_steps(step, args["steps"], args["warmup"])


def mixed(args: dict[str, Any]) -> dict[str, Any]:
    return common.mixed_workload(mg.Value, args["n_ops"], args["repeats"])


def mixed_floor(args: dict[str, Any]) -> dict[str, Any]:
    return common.mixed_floor(args["n_ops"], args["repeats"])


def chain(args: dict[str, Any]) -> dict[str, Any]:
    return {**common.chain_run(mg.Value, args["n"]), "recursion_limit": sys.getrecursionlimit()}


def chain_traced(args: dict[str, Any]) -> dict[str, Any]:
    return common.chain_traced(mg.Value, args["n"])


WORKLOADS = {
    "mlp_step": mlp_step, "mixed": mixed, "mixed_floor": mixed_floor,
    "chain": chain, "chain_traced": chain_traced,
}


if __name__ == "__main__":
    common.serve(WORKLOADS)
