"""The micrograd 0.1.0 side of the benchmarks; run by ``common.run_micrograd``.

    python micrograd_workloads.py WORKLOAD  < args.json  > result.json

Runs under the python of ``benchmarks/.venv-micrograd`` (see
``common.ensure_micrograd_python``), which has micrograd and no micrograd_tw.
Workloads:

- ``mlp_step``: args X (list of rows), y (list of -1/+1), params (initial
  values in ``model.parameters()`` order), nouts, steps, warmup, lr, alpha.
  The training step of micrograd's own demo notebook.
- ``mixed``: args n_ops, repeats.  Build and backward of ``common.mixed_plan``.
- ``chain``: args n.  ``common.chain_run``: build, backward and peak memory
  growth of an n-deep chain, once (run each repeat in a fresh process).
  micrograd's recursive topological sort needs a raised recursion limit (and,
  before Python 3.11, a big C stack) to survive it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import common  # this file's folder is on sys.path when it runs as a script
from micrograd.engine import Value
from micrograd.nn import MLP


def mlp_step(args: dict[str, Any]) -> dict[str, Any]:
    """Time the training step of micrograd's demo.ipynb (SVM hinge loss + L2) on args' data."""
    X, y, lr, alpha = args["X"], args["y"], args["lr"], args["alpha"]
    model = MLP(len(X[0]), args["nouts"])
    params = model.parameters()
    if len(params) != len(args["params"]):
        raise ValueError(f"mlp_step: the model has {len(params)} parameters, got {len(args['params'])}")
    for p, value in zip(params, args["params"]):
        p.data = value

    def step() -> float:
        # As in the demo's loss(): inputs wrapped as Values, the mean hinge loss and alpha * Σ p².
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        return float(total_loss.data)

    return common.time_steps(step, args["steps"], args["warmup"])


def mixed(args: dict[str, Any]) -> dict[str, Any]:
    return common.mixed_workload(Value, args["n_ops"], args["repeats"])


def chain(args: dict[str, Any]) -> dict[str, Any]:
    """``common.chain_run`` in a thread with a big stack and a recursion limit above the depth.

    micrograd's ``backward`` sorts the graph with a recursive function, one
    Python frame per node of the chain.  Python 3.11+ keeps those frames off
    the C stack, but older versions do not; the 1 GiB thread stack covers them.
    """
    limit = args["n"] + 10_000
    stack = 1 << 30
    result: dict[str, Any] = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.update(common.chain_run(Value, args["n"]))
        except BaseException as e:  # reported by the main thread
            failure.append(e)

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    threading.stack_size(stack)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if failure:
        raise failure[0]
    return {**result, "recursion_limit": limit, "thread_stack_bytes": stack}


WORKLOADS = {"mlp_step": mlp_step, "mixed": mixed, "chain": chain}


if __name__ == "__main__":
    common.serve(WORKLOADS)
