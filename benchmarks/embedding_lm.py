"""The character language model's training step: mg.nn.Embedding with integer columns.

    python benchmarks/embedding_lm.py            # --quick (or BENCH_QUICK=1) for a short run

The MLP of examples/names_generator.py (issue 15): the previous 3 characters
(27 symbols) are looked up in an embedding table of 10 numbers each, a hidden
layer of 64 tanh neurons reads the 30 numbers, 27 linear neurons give the
logits, and the loss is cross_entropy against the next character; one step
is the compiled forward and backward over a batch of 1,024 examples plus an
SGD update.  Three ways, from the same start, in the same run:

- ``embedding``: ``mg.nn.Embedding`` looked up by integer columns (a gather
  per row, a scatter-add backward) and ``cross_entropy`` with an integer target;
- ``one-hot dots``: the lookup as ``mg.dot(table column, one-hot)`` over
  27 one-hot columns per character, and the target as a one-hot dot (the
  stand-in the example used before Embedding existed);
- ``torch``: the same model in batched PyTorch (float64, one thread).

The first steps' losses of all three must agree; times are CPU time, the
median over interleaved rounds, with ratios against torch.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

import micrograd_tw as mg  # noqa: E402

QUICK = common.quick_mode()
VOCAB, CONTEXT, DIM, HIDDEN, BATCH = 27, 3, 10, 64, 1024
LR = 0.1
ROUNDS = 2 if QUICK else 5
STEPS = 10 if QUICK else 40  # per round and way
CHECK_STEPS = 3


class LanguageModel(mg.nn.Module):
    def __init__(self, seed: int = 0) -> None:
        self.emb = mg.nn.Embedding(VOCAB, DIM, seed=seed)
        self.hidden = mg.nn.Layer(CONTEXT * DIM, HIDDEN, activation="tanh", seed=seed + 1)
        self.out = mg.nn.Layer(HIDDEN, VOCAB, activation="linear", seed=seed + 2)

    def logits(self, vectors: list[mg.Value]) -> list[mg.Value]:
        return self.out(self.hidden(vectors))


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random ids (the timing does not depend on the names): X (BATCH, CONTEXT), Y (BATCH,)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (BATCH, CONTEXT)), rng.integers(0, VOCAB, BATCH)


def sgd_step(params: list[mg.Value], fast: Any, columns: list[Any]) -> float:
    mg.zero_grad(params)
    loss = fast.backward(*columns)
    for p in params:
        p.data -= LR * p.grad
    return loss


def embedding_step(X: np.ndarray, Y: np.ndarray) -> tuple[Any, float]:
    """(step, seconds to trace and compile): Embedding and cross_entropy read integer columns."""
    model = LanguageModel()
    params = model.parameters()

    def loss(*ids: mg.Value) -> mg.Value:
        vectors = [x for t in ids[:CONTEXT] for x in model.emb(t)]
        return mg.functional.cross_entropy(model.logits(vectors), ids[CONTEXT])

    fast = mg.compile(loss)
    columns = [*X.T, Y]
    start = time.perf_counter()
    fast(*[c[:1] for c in columns])  # traces
    return (lambda: sgd_step(params, fast, columns)), time.perf_counter() - start


def one_hot_step(X: np.ndarray, Y: np.ndarray) -> tuple[Any, float]:
    """(step, seconds to trace and compile): the lookup and the target as dots with one-hot columns."""
    model = LanguageModel()
    params = model.parameters()
    table = model.emb.weight

    def loss(*columns: mg.Value) -> mg.Value:
        hots = [list(columns[i * VOCAB : (i + 1) * VOCAB]) for i in range(CONTEXT + 1)]
        vectors = [mg.dot([row[d] for row in table], hots[i]) for i in range(CONTEXT) for d in range(DIM)]
        logits = model.logits(vectors)
        return mg.functional.logsumexp(logits) - mg.dot(hots[CONTEXT], logits)

    fast = mg.compile(loss)
    eye = np.eye(VOCAB)
    columns = [c for ids in [*X.T, Y] for c in eye[ids].T]
    start = time.perf_counter()
    fast(*[c[:1] for c in columns])
    return (lambda: sgd_step(params, fast, columns)), time.perf_counter() - start


def torch_step(X: np.ndarray, Y: np.ndarray) -> Any:
    import torch

    torch.set_num_threads(1)
    model = LanguageModel()
    f64 = torch.float64
    E = torch.tensor([[v.data for v in row] for row in model.emb.weight], dtype=f64, requires_grad=True)
    tensors = [E]
    for layer in (model.hidden, model.out):
        weights = [[w.data for w in n.w] for n in layer.neurons]
        tensors.append(torch.tensor(weights, dtype=f64, requires_grad=True))
        tensors.append(torch.tensor([n.b.data for n in layer.neurons], dtype=f64, requires_grad=True))
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def step() -> float:
        _, W1, b1, W2, b2 = tensors
        h = torch.tanh(E[Xt].reshape(BATCH, -1) @ W1.T + b1)
        loss = torch.nn.functional.cross_entropy(h @ W2.T + b2, Yt)
        for t in tensors:
            t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= LR * t.grad
        return float(loss.item())

    return step


def main() -> None:
    X, Y = data()
    makers: dict[str, Any] = {}
    trace_seconds: dict[str, float] = {}
    for name, make in (("embedding", embedding_step), ("one-hot dots", one_hot_step)):
        makers[name] = make
    try:
        import torch

        torch_version = torch.__version__
        makers["torch"] = lambda X, Y: (torch_step(X, Y), 0.0)
    except ImportError:
        torch_version = None

    # The same start: the first steps' losses must agree.
    losses = {}
    for name, make in makers.items():
        step, trace_seconds[name] = make(X, Y)
        losses[name] = [step() for _ in range(CHECK_STEPS)]
    for name, ls in losses.items():
        assert np.allclose(ls, losses["embedding"], rtol=1e-9), (name, ls, losses["embedding"])

    steps = {}
    for name, make in makers.items():  # made again: the trace times of the first ones include warming up
        steps[name], trace_seconds[name] = make(X, Y)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            times[name] += common.time_steps(step, STEPS)["times"]
    med = {name: common.median(t) for name, t in times.items()}

    print(f"language-model step: context {CONTEXT}, embedding {DIM}, hidden {HIDDEN} tanh, "
          f"vocabulary {VOCAB}, batch {BATCH}; the losses of the first {CHECK_STEPS} steps agree "
          f"({losses['embedding'][0]:.4f} ...)")
    rows = []
    for name in steps:
        vs_torch = f"{med[name] / med['torch']:.2f}" if "torch" in med else "-"
        trace = common.fmt_time(trace_seconds[name]) if name != "torch" else "-"
        rows.append([name, common.fmt_time(med[name]), vs_torch, trace])
    common.print_table(["lookup", "median step (CPU)", "time / torch", "trace + compile"], rows)
    if "torch" not in med:
        print("torch is not installed: no ratio against PyTorch")
    else:
        ratio = med["embedding"] / med["torch"]
        print(f"embedding / torch (PyTorch {torch_version}, float64, one thread): {ratio:.2f}")


if __name__ == "__main__":
    main()
