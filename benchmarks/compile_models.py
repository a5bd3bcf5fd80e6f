"""The generation workloads of benchmarks/compile.py: a character-level language model, a digit autoencoder.

Each model is built twice from the same initial parameters: once from Values
(one sample's graph, for ``mg.compile``), once as batched PyTorch float64
tensors.  ``*_compiled_step`` and ``*_torch_step`` return a function that
runs one training step (forward, backward, plain SGD) and returns the loss.

- LM: the makemore MLP. 3 context characters, each looked up in a 27 × 10
  embedding table, a hidden layer of 64 tanh neurons, 27 logits, the cross
  entropy of the next character; batch 1024.  Until ``mg.nn.Embedding``
  exists, a lookup is written as one-hot columns dotted with the table's
  columns (a one-hot row picks one table row), and the target as a one-hot
  column: cross entropy = logsumexp(logits) − Σ onehotᵢ·logitᵢ.  PyTorch
  does what a PyTorch user writes: ``C[idx]`` and ``F.cross_entropy``.
- AE: 64 → 32 (tanh) → 2 → 32 (tanh) → 64 (sigmoid), the mean squared
  error against the input; batch 256 of 8×8 images in [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

import micrograd_tw as mg

VOCAB, CONTEXT, EMBED, HIDDEN = 27, 3, 10, 64
LM_BATCH = 1024
AE_SIZES = [64, 32, 2, 32, 64]
AE_ACTS = ["tanh", "linear", "tanh", "sigmoid"]
AE_BATCH = 256
LR = 0.1


# ------------------------------------------------------------------ data


def lm_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(contexts (batch, 3) of token ids, next tokens (batch,)): from mg.data.names() when it exists."""
    rng = np.random.default_rng(seed)
    names = getattr(mg.data, "names", None)
    if names is None:  # the timing does not depend on which ids they are
        ids = rng.integers(0, VOCAB, size=(LM_BATCH, CONTEXT + 1))
        return ids[:, :CONTEXT], ids[:, CONTEXT]
    rows = []
    for name in names():
        chars = [0] * CONTEXT + [ord(c) - ord("a") + 1 for c in name] + [0]
        rows += [chars[i : i + CONTEXT + 1] for i in range(len(chars) - CONTEXT)]
    table = np.array(rows)[rng.choice(len(rows), LM_BATCH, replace=False)]
    return table[:, :CONTEXT], table[:, CONTEXT]


def ae_data(seed: int = 0) -> np.ndarray:
    """(batch, 64) images in [0, 1]: mg.data.digits() when it exists, else smooth random blobs."""
    digits = getattr(mg.data, "digits", None)
    rng = np.random.default_rng(seed)
    if digits is not None:
        X = digits()[0]
        return X[rng.choice(len(X), AE_BATCH, replace=False)]
    yy, xx = np.mgrid[0:8, 0:8]
    centres = rng.uniform(1, 6, size=(AE_BATCH, 2, 1, 1))
    blobs = np.exp(-((yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2) / 4.0)
    return blobs.reshape(AE_BATCH, 64)


def one_hot_columns(ids: np.ndarray, width: int) -> list[np.ndarray]:
    """For each id column, ``width`` 0/1 columns: the one-hot code, column by column."""
    ids = np.atleast_2d(ids.T).T
    return [(ids[:, j] == t).astype(float) for j in range(ids.shape[1]) for t in range(width)]


# ------------------------------------------------------ initial parameters


def lm_init(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "C": rng.normal(size=(VOCAB, EMBED)),
        "W1": rng.normal(size=(HIDDEN, CONTEXT * EMBED)) * (5 / 3) / np.sqrt(CONTEXT * EMBED),
        "b1": rng.normal(size=HIDDEN) * 0.01,
        "W2": rng.normal(size=(VOCAB, HIDDEN)) * 0.1,
        "b2": np.zeros(VOCAB),
    }


def ae_init(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(-1, 1, size=(nout, nin)) * np.sqrt(3 / nin), np.zeros(nout))
        for nin, nout in zip(AE_SIZES[:-1], AE_SIZES[1:])
    ]


def _set_layer(layer: mg.nn.Layer, W: np.ndarray, b: np.ndarray) -> None:
    for neuron, row, bias in zip(layer.neurons, W.tolist(), b.tolist()):
        for w, v in zip(neuron.w, row):
            w.data = v
        neuron.b.data = bias


# ------------------------------------------------------------ micrograd_tw


def lm_model(init: dict[str, np.ndarray]) -> tuple[Any, list[mg.Value]]:
    """loss_fn(*one-hot context columns, *one-hot target columns) for one sample, and its parameters."""
    table = [[mg.Value(v) for v in row] for row in init["C"].tolist()]  # VOCAB rows of EMBED
    columns = [[row[d] for row in table] for d in range(EMBED)]  # the table's columns
    hidden = mg.nn.Layer(CONTEXT * EMBED, HIDDEN, activation="tanh", seed=0)
    output = mg.nn.Layer(HIDDEN, VOCAB, activation="linear", seed=0)
    _set_layer(hidden, init["W1"], init["b1"])
    _set_layer(output, init["W2"], init["b2"])

    def loss_fn(*cols: mg.Value) -> mg.Value:
        context, target = cols[: CONTEXT * VOCAB], cols[CONTEXT * VOCAB :]
        # The embedding of character i: its one-hot code dotted with each column of the table.
        embedded = [
            mg.dot(context[i * VOCAB : (i + 1) * VOCAB], columns[d])
            for i in range(CONTEXT)
            for d in range(EMBED)
        ]
        logits = output(hidden(embedded))
        return mg.functional.logsumexp(logits) - mg.dot(list(target), logits)

    params = [v for row in table for v in row] + hidden.parameters() + output.parameters()
    return loss_fn, params


def ae_model(init: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Any, list[mg.Value]]:
    layers = [
        mg.nn.Layer(nin, nout, activation=act, seed=0)
        for nin, nout, act in zip(AE_SIZES[:-1], AE_SIZES[1:], AE_ACTS)
    ]
    for layer, (W, b) in zip(layers, init):
        _set_layer(layer, W, b)

    def loss_fn(*pixels: mg.Value) -> mg.Value:
        h: list[Any] = list(pixels)
        for layer in layers:
            h = layer(h)
        return mg.functional.mse_loss(h, list(pixels))

    return loss_fn, [p for layer in layers for p in layer.parameters()]


def _sgd_step(fast: Any, params: list[mg.Value], columns: list[np.ndarray]) -> Any:
    def step() -> float:
        mg.zero_grad(params)
        loss = fast.backward(*columns)
        for p in params:
            p.data -= LR * p.grad
        return loss

    return step


def lm_compiled_step(contexts: np.ndarray, targets: np.ndarray, init: dict[str, np.ndarray]) -> Any:
    loss_fn, params = lm_model(init)
    columns = one_hot_columns(contexts, VOCAB) + one_hot_columns(targets, VOCAB)
    return _sgd_step(mg.compile(loss_fn), params, columns)


def ae_compiled_step(X: np.ndarray, init: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    loss_fn, params = ae_model(init)
    return _sgd_step(mg.compile(loss_fn), params, list(X.T))


# ------------------------------------------------------------------ PyTorch


def _torch_sgd(tensors: list[Any], loss_of: Any) -> Any:
    import torch

    def step() -> float:
        for t in tensors:
            t.grad = None
        loss = loss_of()
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= LR * t.grad
        return float(loss.item())

    return step


def lm_torch_step(contexts: np.ndarray, targets: np.ndarray, init: dict[str, np.ndarray]) -> Any:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    C, W1, b1, W2, b2 = (
        torch.tensor(init[k], dtype=torch.float64, requires_grad=True) for k in ("C", "W1", "b1", "W2", "b2")
    )
    idx = torch.tensor(contexts, dtype=torch.long)
    y = torch.tensor(targets, dtype=torch.long)

    def loss_of() -> Any:
        h = torch.tanh(C[idx].view(len(idx), -1) @ W1.T + b1)
        return F.cross_entropy(h @ W2.T + b2, y)

    return _torch_sgd([C, W1, b1, W2, b2], loss_of)


def ae_torch_step(X: np.ndarray, init: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for W, b in init for a in (W, b)]
    Xt = torch.tensor(X, dtype=torch.float64)
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda h: h}

    def loss_of() -> Any:
        h = Xt
        for (W, b), act in zip(zip(tensors[::2], tensors[1::2]), AE_ACTS):
            h = acts[act](h @ W.T + b)
        return F.mse_loss(h, Xt)

    return _torch_sgd(tensors, loss_of)
