"""The generation workloads of benchmarks/compile.py: the two models of the generation examples.

Each model is the example's own, imported from ``examples/``, so the
benchmark times the step the example takes:

- LM: ``MLPModel`` and ``compiled_loss`` of examples/names_generator.py, the
  makemore MLP: 3 context characters looked up in an ``mg.nn.Embedding`` of
  27 × 10, a hidden layer of 64 tanh neurons, 27 logits and
  ``mg.functional.cross_entropy``; the ids go in as integer columns (the
  context's and the target's); batch 1024 training examples of the names.
- VAE: ``VAE`` of examples/digit_generator.py (encoder 64 → 64 → 32 ReLU,
  μ and log σ² of 2, decoder 2 → 32 → 64 → 64 logits, pixel cross-entropy
  plus β·KL), at the example's batch (128 digits and their noise ε).

``*_compiled_step`` and ``*_torch_step`` return a function that runs one
training step (forward, backward, plain SGD) and returns the loss; the
PyTorch side is the same model, batched, in float64, with the parameters
copied from the Values, so both start from the same point and must take the
same steps.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import micrograd_tw as mg
from micrograd_tw import engine
from micrograd_tw.charlm import Vocabulary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import digit_generator  # noqa: E402
import names_generator  # noqa: E402

LM_BATCH = names_generator.BATCH  # 1024
VAE_BATCH = digit_generator.BATCH  # 128
LR = 0.05


# ------------------------------------------------------------------ data


def lm_data(seed: int = 0) -> tuple[Vocabulary, np.ndarray, np.ndarray]:
    """(vocabulary, contexts (batch, 3) of ids, next ids (batch,)): a batch of the names' examples."""
    words = mg.data.names()
    vocab = Vocabulary.from_words(words)
    X, Y = vocab.examples(words, context=names_generator.CONTEXT)
    rows = np.random.default_rng(seed).choice(len(Y), LM_BATCH, replace=False)
    return vocab, X[rows], Y[rows]


def vae_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(digits (batch, 64) in [0, 1], the noise ε (batch, 2) that draws z = μ + σ·ε)."""
    rng = np.random.default_rng(seed)
    X = mg.data.digits()[0]
    return X[rng.choice(len(X), VAE_BATCH, replace=False)], rng.normal(size=(VAE_BATCH, 2))


# ------------------------------------------------------------ micrograd_tw


def lm_model(vocab: Vocabulary) -> Any:
    return names_generator.MLPModel(vocab, seed=0)


def lm_compiled(model: Any) -> Any:
    """The example's compiled loss: columns are the 3 context ids and the target id."""
    return names_generator.compiled_loss(model)


def vae_compiled(vae: Any) -> Any:
    """The example's compiled loss: 64 pixel columns, then the 2 noise columns."""
    return mg.compile(lambda *columns: vae.loss(columns[:64], columns[64:]))


def sgd_step(fast: Any, params: list[mg.Value], columns: Any, lr: float = LR) -> Any:
    """One training step as the examples take it: ``opt.zero_grad()``, ``fast.backward``, ``opt.step()``.

    ``mg.optim.SGD`` is θ ← θ − η ∂L/∂θ; like torch's optimisers, it holds the
    parameter list, made once.
    """
    opt = mg.optim.SGD(params, lr=lr)

    def step() -> float:
        opt.zero_grad()
        loss = fast.backward(*columns)
        opt.step()
        return loss

    return step


def parameter_traffic(params: list[mg.Value], lr: float = LR) -> Any:
    """The per-parameter work of a compiled SGD step without its arithmetic: what the step cannot avoid.

    Every step zeroes each parameter's grad, reads its ``.data`` into the
    replay, adds its gradient into ``.grad`` and updates ``.data``: four
    passes over the Values, whose cost grows with the parameter count and not
    with the batch (PyTorch keeps a layer's parameters in one tensor).
    """
    opt = mg.optim.SGD(params, lr=lr)
    zeros = [0.0] * len(params)

    def step() -> float:
        opt.zero_grad()
        engine.data_of(params)
        engine.add_to_grads(params, zeros)
        opt.step()
        return 0.0

    return step


def arrays_step(fast: Any, columns: Any, lr: float = LR) -> Any:
    """The compiled SGD step's arithmetic with the parameters kept in one array: no Value is touched.

    Users cannot take this step: it drives ``mg.compile``'s tape (private) to
    measure what storing parameters in arrays, shared by ``mg.compile`` and
    ``mg.optim``, would save over ``sgd_step`` (the parameter traffic). Its
    losses equal ``sgd_step``'s from the same start.
    """
    cols = [np.asarray(c, dtype=float) for c in columns]
    batch = len(cols[0])
    fast(*[c[:1] for c in cols])  # traces fn; the parameters are untouched
    tape = fast._tape
    theta = np.fromiter(engine.data_of(tape.params), float, len(tape.params))
    V, GV = np.empty((tape.n_v, batch)), np.empty((tape.n_v, batch))

    def step() -> float:
        nonlocal theta
        with np.errstate(all="ignore"):
            _, U, saved = tape.forward(cols, batch, V, theta)
            loss = float(tape.outputs(V, U).sum()) / batch
            theta = theta - lr * tape.param_grads(V, U, saved, 1.0 / batch, GV)
        return loss

    return step


def lm_arrays_step(vocab: Vocabulary, X: np.ndarray, Y: np.ndarray) -> Any:
    return arrays_step(lm_compiled(lm_model(vocab)), names_generator.columns(X, Y))


def vae_arrays_step(X: np.ndarray, eps: np.ndarray) -> Any:
    return arrays_step(vae_compiled(digit_generator.VAE(seed=0)), [*X.T, *eps.T])


def lm_compiled_step(vocab: Vocabulary, X: np.ndarray, Y: np.ndarray) -> Any:
    model = lm_model(vocab)
    return sgd_step(lm_compiled(model), model.parameters(), names_generator.columns(X, Y))


def vae_compiled_step(X: np.ndarray, eps: np.ndarray) -> Any:
    vae = digit_generator.VAE(seed=0)
    return sgd_step(vae_compiled(vae), vae.parameters(), [*X.T, *eps.T])


def lm_compiled_replay(vocab: Vocabulary, X: np.ndarray, Y: np.ndarray) -> Any:
    """The replay alone (``fast.backward``): the step without zeroing and updating 4,009 parameters."""
    return partial(lm_compiled(lm_model(vocab)).backward, *names_generator.columns(X, Y))


def vae_compiled_replay(X: np.ndarray, eps: np.ndarray) -> Any:
    """The replay alone (``fast.backward``): the step without zeroing and updating 12,740 parameters."""
    return partial(vae_compiled(digit_generator.VAE(seed=0)).backward, *X.T, *eps.T)


# ------------------------------------------------------------------ PyTorch


def _tensor(values: Any, **kwargs: Any) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.float64, requires_grad=True, **kwargs)


def torch_layer(layer: mg.nn.Layer) -> list[Any]:
    """A Layer's weights (nout, nin) and biases (nout,) as tensors."""
    weights = [[w.data for w in n.w] for n in layer.neurons]
    return [_tensor(weights), _tensor([n.b.data for n in layer.neurons])]


def torch_sgd(tensors: list[Any], loss_of: Any, lr: float = LR) -> Any:
    """One PyTorch training step on ``tensors`` (one thread): ``loss_of()``, backward, t ← t − lr·∂L/∂t."""
    import torch

    torch.set_num_threads(1)

    def step() -> float:
        for t in tensors:
            t.grad = None
        loss = loss_of()
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= lr * t.grad
        return float(loss.item())

    return step


def lm_torch_step(vocab: Vocabulary, X: np.ndarray, Y: np.ndarray) -> Any:
    """The same MLP as a PyTorch user writes it: ``C[idx]`` and ``F.cross_entropy``."""
    import torch
    import torch.nn.functional as F

    model = lm_model(vocab)
    C = _tensor([[v.data for v in row] for row in model.emb.weight])
    W1, b1 = torch_layer(model.hidden)
    W2, b2 = torch_layer(model.out)
    idx, y = torch.tensor(X, dtype=torch.long), torch.tensor(Y, dtype=torch.long)

    def loss_of() -> Any:
        h = torch.tanh(C[idx].view(len(idx), -1) @ W1.T + b1)
        return F.cross_entropy(h @ W2.T + b2, y)

    return torch_sgd([C, W1, b1, W2, b2], loss_of)


def vae_torch_step(X: np.ndarray, eps: np.ndarray) -> Any:
    """The example's VAE in batched PyTorch: the same layers, the same loss, the mean over the batch."""
    import torch
    import torch.nn.functional as F

    vae = digit_generator.VAE(seed=0)
    encoder = [t for layer in vae.encoder.layers for t in torch_layer(layer)]
    mu, log_var = torch_layer(vae.mu), torch_layer(vae.log_var)
    decoder = [t for layer in vae.decoder.layers for t in torch_layer(layer)]
    Xt, Et = torch.tensor(X, dtype=torch.float64), torch.tensor(eps, dtype=torch.float64)

    def mlp(h: Any, tensors: list[Any], last: Any) -> Any:
        for i in range(0, len(tensors), 2):
            h = h @ tensors[i].T + tensors[i + 1]
            h = torch.relu(h) if i + 2 < len(tensors) else last(h)
        return h

    def loss_of() -> Any:
        h = mlp(Xt, encoder, torch.relu)
        m, lv = h @ mu[0].T + mu[1], h @ log_var[0].T + log_var[1]
        z = m + torch.exp(0.5 * lv) * Et
        logits = mlp(z, decoder, lambda s: s)
        reconstruction = F.binary_cross_entropy_with_logits(logits, Xt, reduction="none").sum(dim=1)
        kl = -0.5 * (1 + lv - m * m - lv.exp()).sum(dim=1)
        return (reconstruction + digit_generator.β * kl).mean()

    return torch_sgd([*encoder, *mu, *log_var, *decoder], loss_of)
