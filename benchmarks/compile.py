"""mg.compile on the W3 step: eager, compiled, micrograd 0.1.0 and batched PyTorch, in one run.

    python benchmarks/compile.py            # --quick (or BENCH_QUICK=1) for a short run

W3 is one training step of micrograd's demo notebook: an MLP 2-16-16-1 (ReLU),
100 moons points, the mean hinge loss max(0, 1 − y·f(x)) plus α·Σθ², backward,
and an SGD update.  Every engine starts from the same parameters and data, so
their losses must agree step by step; the script checks that before it
reports times.  PyTorch is optional: without it that column is skipped.

Targets (issue 7): compiled ≥ 600× faster than micrograd, and at most 1.5×
the time of batched PyTorch tensors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # micrograd_tw from this checkout

import common  # noqa: E402

import micrograd_tw as mg  # noqa: E402

N = 100  # moons points
NOUTS = [16, 16, 1]  # MLP 2-16-16-1
LR = 0.05  # η in θ ← θ − η ∂L/∂θ
ALPHA = 1e-4  # weight of the L2 penalty α·Σθ²
SEED = 0
CHECK_STEPS = 4  # steps from the same start whose losses every engine must reproduce
QUICK = common.quick_mode()
ROUNDS = 2 if QUICK else 5  # the fast engines run in interleaved rounds: load changes hit all alike
STEPS = {"micrograd": 3 if QUICK else 10, "eager": 3 if QUICK else 10, "compiled": 100 if QUICK else 400,
         "torch": 100 if QUICK else 400}


def fresh_model(init: list[float]) -> Any:
    model = mg.nn.MLP(2, NOUTS, seed=SEED)
    for p, value in zip(model.parameters(), init):
        p.data = value
    return model


def eager_step(X: np.ndarray, y: np.ndarray, init: list[float]) -> Any:
    """micrograd_tw, one scalar graph for the whole batch (as micrograd's demo)."""
    model = fresh_model(init)
    params = model.parameters()
    rows = X.tolist()
    targets = y.tolist()

    def step() -> float:
        scores = [model([mg.Value(a), mg.Value(b)]) for a, b in rows]
        losses = [(1 + -t * s).relu() for t, s in zip(targets, scores)]
        total = mg.sum(losses) * (1.0 / len(losses)) + ALPHA * mg.sum(p * p for p in params)
        mg.zero_grad(params)
        total.backward()
        for p in params:
            p.data -= LR * p.grad
        return total.data

    return step


def compiled_step(X: np.ndarray, y: np.ndarray, init: list[float]) -> Any:
    """micrograd_tw with mg.compile: the per-sample loss traced once, replayed over the batch."""
    model = fresh_model(init)
    params = model.parameters()

    def loss_fn(x1: mg.Value, x2: mg.Value, t: mg.Value) -> mg.Value:
        # The mean over rows of hinge + penalty is the demo's mean hinge + penalty.
        return (1 + -t * model([x1, x2])).relu() + ALPHA * mg.sum(p * p for p in params)

    fast = mg.compile(loss_fn)
    columns = (X[:, 0], X[:, 1], y)

    def step() -> float:
        # The parameter list is made once, as torch's optimisers hold theirs: model.zero_grad()
        # walks the module tree on every call, which costs about as much as the whole replay.
        mg.zero_grad(params)
        loss = fast.backward(*columns)
        for p in params:
            p.data -= LR * p.grad
        return loss

    return step


def torch_step(X: np.ndarray, y: np.ndarray, init: list[float]) -> Any:
    """Batched PyTorch tensors (float64), the same model and update."""
    import torch

    # One thread: times are CPU time of this process (common.timed), and a pool of
    # threads waiting for work would count against torch; numpy here uses one thread too.
    torch.set_num_threads(1)
    model = fresh_model(init)  # its parameters, layer by layer, as weight matrices and bias vectors
    tensors = []
    for layer in model.layers:
        tensors.append(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
        tensors.append(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
    for t in tensors:
        t.requires_grad_(True)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def step() -> float:
        h = Xt
        for i in range(0, len(tensors), 2):
            h = h @ tensors[i].T + tensors[i + 1]
            if i + 2 < len(tensors):
                h = h.relu()
        penalty = sum((t * t).sum() for t in tensors)
        total = (1 - yt * h[:, 0]).relu().mean() + ALPHA * penalty
        for t in tensors:
            t.grad = None
        total.backward()
        with torch.no_grad():
            for t in tensors:
                t -= LR * t.grad
        return float(total.item())

    return step


def main() -> None:
    X, y = common.moons(N, seed=SEED)
    init = [p.data for p in mg.nn.MLP(2, NOUTS, seed=SEED).parameters()]
    makers = {"eager": eager_step, "compiled": compiled_step}
    try:
        import torch

        torch_version = torch.__version__
        makers["torch"] = torch_step
    except ImportError:
        torch_version = None

    # Every engine, from the same start, must follow the same losses.
    check_losses: dict[str, list[float]] = {}
    for name, make in makers.items():
        step = make(X, y, init)
        check_losses[name] = [step() for _ in range(CHECK_STEPS)]
    # micrograd's first 1 + STEPS losses (warmup, then timed steps) start from the same parameters.
    mg_run = common.run_micrograd(
        "mlp_step", X=X.tolist(), y=y.tolist(), params=init, nouts=NOUTS,
        steps=STEPS["micrograd"], warmup=1, lr=LR, alpha=ALPHA,
    )
    check_losses["micrograd"] = mg_run["losses"][:CHECK_STEPS]
    base = np.array(check_losses["eager"])
    print(f"W3 step: MLP 2-{'-'.join(map(str, NOUTS))}, {N} moons points, hinge + {ALPHA}·Σθ², SGD η={LR}")
    print(f"losses of the first {CHECK_STEPS} steps, largest relative difference from eager:")
    for name, losses in check_losses.items():
        diff = float(np.max(np.abs(np.array(losses) - base) / np.abs(base)))
        print(f"  {name:10s} {diff:.1e}")
        if diff > 1e-9:
            raise SystemExit(f"{name} does not follow the eager losses: {losses} vs {list(base)}")

    # Timing: micrograd in its own process; the others interleaved, round by round.
    times: dict[str, list[float]] = {"micrograd": list(mg_run["times"])}
    steps = {name: make(X, y, init) for name, make in makers.items()}
    for name in steps:
        times[name] = []
    for _ in range(ROUNDS):
        for name, step in steps.items():
            times[name] += common.time_steps(step, max(1, STEPS[name] // ROUNDS), warmup=2)["times"]

    med = {name: common.median(ts) for name, ts in times.items()}
    rows = []
    for name in ("micrograd", "eager", "compiled", "torch"):
        if name not in med:
            rows.append([name, "skipped (torch is not installed)", "", ""])
            continue
        vs_torch = f"{med[name] / med['torch']:.2f}" if "torch" in med else "-"
        rows.append([name, common.fmt_time(med[name]), f"{med['micrograd'] / med[name]:.0f}×", vs_torch])
    print()
    common.print_table(["engine", "median step", "faster than micrograd", "time / torch"], rows)
    print()
    speedup = med["micrograd"] / med["compiled"]
    print(f"compiled vs micrograd: {speedup:.0f}× faster (target ≥ 600×)")
    if "torch" in med:
        ratio = med["compiled"] / med["torch"]
        print(f"compiled / torch (PyTorch {torch_version}): {ratio:.2f} of its time (target ≤ 1.5)")
    print(f"compiled vs eager micrograd_tw: {med['eager'] / med['compiled']:.0f}× faster")


if __name__ == "__main__":
    main()
