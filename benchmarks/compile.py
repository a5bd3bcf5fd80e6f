"""mg.compile on training steps: the W3 step and two generative models, against batched PyTorch.

    python benchmarks/compile.py            # --quick (or BENCH_QUICK=1) for a short run

Part 1, the W3 step: eager, compiled, micrograd 0.1.0 and batched PyTorch.
Part 2, the generation workloads of issue 15 (``compile_models.py``): the
models of the two generation examples, imported from them: the names MLP
(Embedding 27 × 10 over 3 characters looked up by integer columns, 64 tanh,
27 logits, cross_entropy with the integer target column; batch 1024) and the
digits VAE (64-64-32-2 encoder, 2-32-64-64 decoder, pixel cross-entropy +
β·KL; batch 128), each compiled and in batched PyTorch (float64, one
thread), one SGD step each; targets: compiled ≤ 1.5× PyTorch's time per
step, and tracing plus compiling (the first call) ≤ 1 s.

numpy's OpenBLAS is limited to one thread here (``OPENBLAS_NUM_THREADS=1``,
set before numpy loads, unless already set), as PyTorch is
(``torch.set_num_threads(1)``): times are CPU time of this process, in which
a second BLAS thread would count against numpy.  OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are left as the environment has them; the script prints them
and, with threadpoolctl installed, the OpenBLAS kernel in use.

W3 is one training step of micrograd's demo notebook: an MLP 2-16-16-1 (ReLU),
100 moons points, the mean hinge loss max(0, 1 − y·f(x)) plus α·Σθ², backward,
and an SGD update.  Every engine starts from the same parameters and data, so
their losses must agree step by step; the script checks that before it
reports times.  micrograd and eager micrograd_tw run their own W3 step of
``benchmarks/engine.py``, each in a fresh process; compiled and torch run
here, in interleaved rounds.  Times are CPU time (``common.timed``).
PyTorch is optional: without it that row is skipped.

Targets (issue 7): compiled ≥ 600× faster than micrograd, and at most 1.5×
the time of batched PyTorch tensors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # before numpy loads OpenBLAS, whose thread count is fixed then
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # common.py and the workload scripts
sys.path.insert(0, str(HERE.parent))  # micrograd_tw from this checkout

import common  # noqa: E402
import compile_models as models  # noqa: E402
import micrograd_tw_workloads as tw_side  # noqa: E402
from compile_models import digit_generator as tw_digits  # noqa: E402
from compile_models import names_generator as tw_names  # noqa: E402

import micrograd_tw as mg  # noqa: E402

N = 100  # moons points
NOUTS = [16, 16, 1]  # MLP 2-16-16-1: relu hidden layers, linear output, as micrograd's
LR = 0.05  # η in θ ← θ − η ∂L/∂θ
ALPHA = 1e-4  # weight of the L2 penalty α·Σθ²
SEED = 0
QUICK = common.quick_mode()
CHECK_STEPS = 4  # steps from the same start whose losses every engine must reproduce
ROUNDS = 2 if QUICK else 5  # compiled and torch run in interleaved rounds: load changes hit both alike
STEPS = {
    "micrograd": 3 if QUICK else 7,
    "eager": 5 if QUICK else 15,
    "compiled": 100 if QUICK else 500,
    "torch": 100 if QUICK else 500,
}


def compiled_step(X: np.ndarray, y: np.ndarray, init: list[float]) -> Any:
    """micrograd_tw with mg.compile: the per-sample loss traced once, replayed over the batch."""
    model = tw_side.make_mlp(NOUTS, init)
    params = model.parameters()

    def loss_fn(x1: mg.Value, x2: mg.Value, t: mg.Value) -> mg.Value:
        # The mean over rows of hinge + penalty is the demo's mean hinge + penalty.
        return (1 - t * model([x1, x2])).relu() + ALPHA * mg.sum([p * p for p in params])

    return models.sgd_step(mg.compile(loss_fn), params, (X[:, 0], X[:, 1], y), LR)


def torch_step(X: np.ndarray, y: np.ndarray, init: list[float]) -> Any:
    """Batched PyTorch tensors (float64), the same model and update."""
    import torch

    model = tw_side.make_mlp(NOUTS, init)
    tensors = [t for layer in model.layers for t in models.torch_layer(layer)]  # W, b of each layer
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def loss_of() -> Any:
        h = Xt
        for i in range(0, len(tensors), 2):
            h = h @ tensors[i].T + tensors[i + 1]
            if i + 2 < len(tensors):
                h = h.relu()
        penalty = sum((t * t).sum() for t in tensors)
        return (1 - yt * h[:, 0]).relu().mean() + ALPHA * penalty

    return models.torch_sgd(tensors, loss_of, LR)


def w3() -> None:
    X, y = common.moons(N, seed=SEED)
    init = [p.data for p in tw_side.make_mlp(NOUTS).parameters()]
    makers = {"compiled": compiled_step}
    try:
        import torch

        torch_version = torch.__version__
        makers["torch"] = torch_step
    except ImportError:
        torch_version = None

    # The eager engines run their own W3 step (micrograd_workloads.py, micrograd_tw_workloads.py),
    # each in a fresh process, as benchmarks/engine.py measures them.
    args = {
        "X": X.tolist(),
        "y": y.tolist(),
        "params": init,
        "nouts": NOUTS,
        "warmup": 1,
        "lr": LR,
        "alpha": ALPHA,
    }
    runs = {
        "micrograd": common.run_micrograd("mlp_step", **args, steps=STEPS["micrograd"]),
        "eager": common.run_workload(
            sys.executable, HERE / "micrograd_tw_workloads.py", "mlp_step", {**args, "steps": STEPS["eager"]}
        ),
    }

    # Every engine, from the same start, must follow the same losses: they did the same work.
    losses = {name: list(run["losses"][:CHECK_STEPS]) for name, run in runs.items()}
    for name, make in makers.items():
        step = make(X, y, init)
        losses[name] = [step() for _ in range(CHECK_STEPS)]
    base = np.array(losses["eager"])
    print(f"W3 step: MLP 2-{'-'.join(map(str, NOUTS))}, {N} moons points, hinge + {ALPHA}·Σθ², SGD η={LR}")
    print(f"losses of the first {CHECK_STEPS} steps, largest relative difference from eager micrograd_tw:")
    for name, ls in losses.items():
        diff = float(np.max(np.abs(np.array(ls) - base) / np.abs(base)))
        print(f"  {name:10s} {diff:.1e}")
        if not diff <= 1e-9:
            raise SystemExit(f"{name} does not follow the eager losses: {ls} vs {list(base)}")

    # Compiled and torch in this process, round by round.
    times: dict[str, list[float]] = {name: list(run["times"]) for name, run in runs.items()}
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
            rows.append([name, "skipped: torch is not installed", "", ""])
            continue
        vs_torch = f"{med[name] / med['torch']:.2f}" if "torch" in med else "-"
        rows.append([name, common.fmt_time(med[name]), f"{med['micrograd'] / med[name]:.0f}×", vs_torch])
    print()
    common.print_table(["engine", "median step (CPU)", "faster than micrograd", "time / torch"], rows)
    print()
    print(f"compiled vs micrograd: {med['micrograd'] / med['compiled']:.0f}× faster (target ≥ 600×)")
    if "torch" in med:
        ratio = med["compiled"] / med["torch"]
        print(f"compiled / torch (PyTorch {torch_version}): {ratio:.2f} of its time (target ≤ 1.5)")
    print(f"compiled vs eager micrograd_tw: {med['eager'] / med['compiled']:.0f}× faster")


# ----------------------------------------------------------- the generation workloads

# Steps per engine.  The engines take turns step by step: on a shared machine the speed drifts
# over seconds, and a ratio of two steps taken a millisecond apart is steadier than a ratio of
# two separate runs.
GEN_STEPS = 40 if QUICK else 300
GEN_CHECK_STEPS = 3
GEN_RTOL = 1e-9  # compiled and torch add in different orders: losses agree to rounding, not bit for bit


def how_run() -> str:
    """How numpy and torch were run: BLAS library, kernel and threads."""
    env = {
        k: os.environ.get(k, "unset")
        for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    blas = "OpenBLAS"
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
        if info:
            lib = info[0]
            blas = f"OpenBLAS {lib['version']} ({lib['architecture']} kernel, {lib['num_threads']} thread(s))"
    except ImportError:
        blas += " (install threadpoolctl to see its kernel)"
    lines = [f"numpy {np.__version__}: {blas}; " + ", ".join(f"{k}={v}" for k, v in env.items())]
    try:
        import torch

        lines.append(f"torch {torch.__version__}: float64, torch.set_num_threads(1)")
    except ImportError:
        lines.append("torch: not installed, its rows are skipped")
    return "\n".join(lines)


def generation_workloads() -> dict[str, dict[str, Any]]:
    """name -> {engine: step factory, first_call: () -> seconds of tracing, compiling and one call}."""
    vocab, contexts, targets = models.lm_data()
    X, eps = models.vae_data()

    def lm_first_call() -> float:
        fast = models.lm_compiled(models.lm_model(vocab))
        return common.timed(lambda: fast.backward(*tw_names.columns(contexts, targets)))[0]

    def vae_first_call() -> float:
        fast = models.vae_compiled(tw_digits.VAE(seed=0))
        return common.timed(lambda: fast.backward(*X.T, *eps.T))[0]

    return {
        f"LM (names_generator MLP, batch {models.LM_BATCH})": {
            "compiled": lambda: models.lm_compiled_step(vocab, contexts, targets),
            "replay": lambda: models.lm_compiled_replay(vocab, contexts, targets),
            "torch": lambda: models.lm_torch_step(vocab, contexts, targets),
            "parameters": lambda: models.parameter_traffic(models.lm_model(vocab).parameters()),
            "arrays": lambda: models.lm_arrays_step(vocab, contexts, targets),
            "first_call": lm_first_call,
        },
        f"VAE (digit_generator, batch {models.VAE_BATCH})": {
            "compiled": lambda: models.vae_compiled_step(X, eps),
            "replay": lambda: models.vae_compiled_replay(X, eps),
            "torch": lambda: models.vae_torch_step(X, eps),
            "parameters": lambda: models.parameter_traffic(tw_digits.VAE(seed=0).parameters()),
            "arrays": lambda: models.vae_arrays_step(X, eps),
            "first_call": vae_first_call,
        },
    }


def taking_turns(steps: dict[str, Any], turns: int, warmup: int = 3) -> dict[str, list[float]]:
    """CPU time of each engine's step, the engines taking turns one step at a time.

    Each turn runs the engines in a new (seeded) order: a step finds the caches
    as the step before it left them, and a fixed order would always put one
    engine after the same other one.
    """
    import random

    for step in steps.values():
        for _ in range(warmup):
            step()
    order = list(steps)
    shuffle = random.Random(0).shuffle
    times: dict[str, list[float]] = {e: [] for e in steps}
    for _ in range(turns):
        shuffle(order)
        for e in order:
            times[e].append(common.timed(steps[e])[0])
    return times


def generation() -> None:
    print(how_run())
    try:
        import torch  # noqa: F401

        engines = ["compiled", "torch"]
    except ImportError:
        engines = ["compiled"]
    rows = []
    for name, work in generation_workloads().items():
        # Both engines start from the same parameters and data: their losses must agree step by step.
        losses = {
            e: [step() for step in [work[e]()] for _ in range(GEN_CHECK_STEPS)] for e in [*engines, "arrays"]
        }
        if losses["arrays"] != losses["compiled"]:  # the same floats, only kept elsewhere
            raise SystemExit(f"{name}: with parameters in arrays the losses {losses['arrays']} differ")
        if "torch" in losses:
            diff = max(abs(a - b) / abs(b) for a, b in zip(losses["compiled"], losses["torch"]))
            if not diff <= GEN_RTOL:
                raise SystemExit(
                    f"{name}: compiled losses {losses['compiled']} differ from torch's {losses['torch']}"
                )
        first = min(work["first_call"]() for _ in range(2 if QUICK else 3))
        steps = {e: work[e]() for e in ["compiled", "replay", "parameters", "arrays", *engines[1:]]}
        times = taking_turns(steps, GEN_STEPS)
        med = {e: common.median(ts) for e, ts in times.items()}
        # Each ratio is the median over the turns of (this engine's step / torch's step in the same turn).
        over_torch = {
            e: common.median([a / b for a, b in zip(ts, times["torch"])]) for e, ts in times.items()
        } if "torch" in times else {}
        ratio = f"{over_torch['compiled']:.2f}" if over_torch else "-"
        torch_time = common.fmt_time(med["torch"]) if "torch" in med else "skipped"
        replay = common.fmt_time(med["replay"]) + (f" ({over_torch['replay']:.2f})" if over_torch else "")
        traffic, arrays = (
            common.fmt_time(med[e]) + (f" ({over_torch[e]:.2f})" if over_torch else "")
            for e in ("parameters", "arrays")
        )
        compiled = common.fmt_time(med["compiled"])
        rows.append([name, compiled, replay, traffic, arrays, torch_time, ratio, f"{first:.2f} s"])
    print()
    common.print_table(
        ["training step", "compiled (CPU)", "its fast.backward (/ torch)", "parameter traffic (/ torch)",
         "parameters in arrays (/ torch)", "torch (CPU)", "compiled / torch", "first call"],
        rows,
    )
    print(f"medians of {GEN_STEPS} steps each, the engines taking turns step by step; a ratio is the median")
    print("over the turns of the step's time over torch's step in the same turn.")
    print("compiled: opt.zero_grad(), fast.backward, opt.step() with mg.optim.SGD; torch: the same step on")
    print("tensors.  Parameter traffic: the part of the compiled step that touches every parameter Value")
    print("(zero its grad, read its data, add its gradient, update it) with no arithmetic: it grows with the")
    print("parameter count, not the batch.  Parameters in arrays: the compiled step's arithmetic with the")
    print("parameters kept in one numpy array, no Value touched (not a user API: it measures what that")
    print("design would save).  Targets: compiled / torch ≤ 1.5; first call (trace, compile, one step) ≤ 1 s")


def agreement(cases: int = 100, seed: int = 1) -> float:
    """The largest |compiled − eager| / (n·ε·Σ|tᵢ|) over neurons whose sums cancel, ε = 2⁻⁵².

    Weights and inputs of both signs over 24 orders of magnitude, batch sizes
    from 1 to 256 (the batch is one matrix product); each row against the
    eager neuron, tᵢ = wᵢxᵢ and the bias.  The contract (README, mg.compile)
    allows 2γₙ/(n·ε) ≈ 1.
    """
    import math

    rng = np.random.default_rng(seed)
    eps = 2.0**-52
    worst = 0.0
    for _ in range(cases):
        nin = int(rng.integers(2, 48))
        batch = int(rng.choice([1, 2, 7, 64, 256]))
        last = mg.nn.Neuron(nin, activation="linear", seed=0)
        for w, v in zip(last.w, rng.normal(size=nin) * 10.0 ** rng.integers(-8, 16, size=nin)):
            w.data = float(v)
        X = rng.normal(size=(batch, nin)) * 10.0 ** rng.integers(-8, 16, size=(batch, nin))
        outs = mg.compile(lambda *xs, neuron=last: neuron(list(xs)))(*X.T)
        for r in range(batch):
            terms = [w.data * x for w, x in zip(last.w, X[r].tolist())] + [last.b.data]
            eager = last(X[r].tolist()).data
            worst = max(worst, abs(outs[r] - eager) / (len(terms) * eps * math.fsum(map(abs, terms))))
    return worst


def main() -> None:
    w3()
    print()
    generation()
    print()
    worst = agreement(20 if QUICK else 100)
    print(
        f"agreement: largest |compiled − eager| of a neuron = {worst:.2f} · (n + 1)·2⁻⁵²·Σ|tᵢ|, "
        "tᵢ its n products and bias (the contract allows about 1.00 of it per node)"
    )


if __name__ == "__main__":
    main()
