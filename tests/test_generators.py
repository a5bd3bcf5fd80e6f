"""The models of examples/names_generator.py and examples/digit_generator.py, checked piece by piece.

(The examples' quick runs are in test_examples.py.)
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import micrograd_tw as mg
from micrograd_tw.charlm import Vocabulary, sample

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name):
    """Import examples/<name>.py as a module (the examples folder is not a package)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def names_generator():
    return _example("names_generator")


@pytest.fixture(scope="module")
def digit_generator():
    return _example("digit_generator")


AB = Vocabulary(".ab")
WORDS = ["ab", "b", "ba", "aab"]


# ------------------------------------------------------------------- names


def test_compiled_lookup_is_the_tables_row_for_every_row(names_generator):
    """The ids go in as integer columns: each row of the batch gets its own token's embedding."""
    model = names_generator.MLPModel(AB, context=2, dim=3, hidden=4, seed=0)
    for t, row in enumerate(model.emb.weight):
        for d, v in enumerate(row):
            v.data = 10.0 * t + d
    tokens = np.array([2, 0, 1, 2, 1])
    for d in range(3):
        picked = mg.compile(lambda t, d=d: model.emb(t)[d])(tokens)
        assert picked.tolist() == [10.0 * t + d for t in tokens.tolist()]


def test_compiled_loss_names_a_token_out_of_range(names_generator):
    ng = names_generator
    fast = ng.compiled_loss(ng.MLPModel(AB, context=2, dim=3, hidden=4, seed=0))
    X, Y = np.array([[0, 1], [1, 2]]), np.array([1, 0])
    assert [c.tolist() for c in ng.columns(X, Y)] == [[0, 1], [1, 2], [1, 0]]
    with pytest.raises(IndexError, match="index 5 is out of range for 3 items"):
        fast(*ng.columns(np.array([[0, 1], [1, 5]]), Y))
    with pytest.raises(IndexError, match="index 3 is out of range for 3 items"):
        fast(*ng.columns(X, np.array([1, 3])))


def test_count_bigram_by_hand(names_generator):
    # "ab", "b", "ba", "aab" as pairs: .a ab b.  .b b.  .b ba a.  .a aa ab b.
    # row '.': a 2, b 2; row 'a': . 1, a 1, b 2; row 'b': . 3, a 1.
    model = names_generator.CountBigram(AB)
    model.fit(*AB.examples(WORDS, context=1))
    assert model.counts.tolist() == [[0, 2, 2], [1, 1, 2], [3, 1, 0]]
    assert model.probabilities([0]) == pytest.approx([1 / 7, 3 / 7, 3 / 7])  # (count + 1) / (4 + 3)
    assert model.probabilities([2]) == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    X, Y = AB.examples(["b"], context=1)  # .b then b.
    assert model.loss(X, Y) == pytest.approx(-(math.log(3 / 7) + math.log(4 / 7)) / 2)


def test_neural_bigram_reaches_the_counting_minimum(names_generator):
    # Without smoothing, the lowest possible loss of a bigram is the entropy of the pair counts.
    ng = names_generator
    X, Y = AB.examples(WORDS, context=1)
    counts = np.array([[0, 2, 2], [1, 1, 2], [3, 1, 0]], dtype=float)
    P = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        best = -np.sum(counts * np.where(counts > 0, np.log(P), 0.0)) / counts.sum()
    model = ng.NeuralBigram(AB)
    fast = ng.compiled_loss(model)
    opt = mg.optim.SGD(model.parameters(), lr=5.0)
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = fast.backward(*ng.columns(X, Y))
        first = first if first is not None else loss
        opt.step()
    assert first == pytest.approx(math.log(3))  # all weights 0: every symbol 1/3
    assert best < loss < best + 0.02


def test_compiled_mlp_loss_is_the_cross_entropy(names_generator):
    ng = names_generator
    vocab = Vocabulary.from_words(WORDS)
    model = ng.MLPModel(vocab, context=2, dim=3, hidden=5, seed=1)
    X, Y = vocab.examples(WORDS, context=2)
    fast = ng.compiled_loss(model)
    replayed = fast(*ng.columns(X, Y))
    for x, y, r in zip(X, Y, replayed):
        eager = mg.functional.cross_entropy(model.logits(list(x)), int(y))  # the int-target version
        assert r == pytest.approx(eager.data, rel=1e-12)
    assert fast.verify(*ng.columns(X, Y))


def test_mlp_model_is_sampled_only_after_training(names_generator):
    model = names_generator.MLPModel(AB, context=3, dim=2, hidden=4, seed=0)
    with pytest.raises(ValueError, match="not been trained"):
        sample(model)
    model.trained = True
    names = sample(model, n=5, seed=0, max_length=8)
    assert len(names) == 5 and all(set(w) <= {"a", "b"} for w in names)
    with pytest.raises(ValueError, match="the context has 4 symbols, but MLPModel reads the previous 3"):
        model.probabilities([1, 1, 2, 1])
    with pytest.raises(IndexError, match="token id 3"):
        model.probabilities([3])


# ------------------------------------------------------------------- digits


@pytest.mark.parametrize("logit", [-800.0, -3.0, -0.5, 0.0, 0.7, 4.0, 800.0])
@pytest.mark.parametrize("x", [0.0, 0.25, 1.0])
def test_pixel_cross_entropy(digit_generator, logit, x):
    got = digit_generator.bce_with_logits(mg.Value(logit), x).data
    assert math.isfinite(got)
    if abs(logit) < 30:
        p = 1 / (1 + math.exp(-logit))
        assert got == pytest.approx(-x * math.log(p) - (1 - x) * math.log(1 - p), rel=1e-12)
    else:  # far out, σ saturates: the loss is the distance to the wrong side, |s| · (1 − x or x)
        assert got == pytest.approx(logit * (1 - x) if logit > 0 else -logit * x)


def test_vae_loss_by_hand_at_the_origin(digit_generator):
    # Zero the last layers: μ = log σ² = 0 (KL = 0) and every pixel logit 0 (σ = 1/2): L = 64 log 2.
    vae = digit_generator.VAE(seed=0)
    for p in [*vae.mu.parameters(), *vae.log_var.parameters(), *vae.decoder.layers[-1].parameters()]:
        p.data = 0.0
    X, _ = mg.data.digits()
    assert vae.loss(list(X[0]), [0.3, -1.2]).data == pytest.approx(64 * math.log(2))
    assert vae.generate([1.0, -2.0]).tolist() == [0.5] * 64


def test_vae_compiles_and_matches_the_eager_engine(digit_generator):
    vae = digit_generator.VAE(seed=1)
    X, _ = mg.data.digits()
    eps = np.random.default_rng(0).normal(size=(20, 2))
    fast = mg.compile(lambda *columns: vae.loss(columns[:64], columns[64:]))
    replayed = fast(*X[:20].T, *eps.T)
    for i in (0, 7, 19):
        assert replayed[i] == pytest.approx(vae.loss(list(X[i]), list(eps[i])).data, rel=1e-12)
    assert fast.verify(*X[:20].T, *eps.T)


def test_latent_grid_spans_the_plane_row_by_row(digit_generator):
    dg = digit_generator
    grid = dg.latent_grid()
    assert len(grid) == dg.GRID**2
    assert grid[0] == pytest.approx((-dg.SPAN, dg.SPAN))  # top left: z₁ smallest, z₂ largest
    assert grid[-1] == pytest.approx((dg.SPAN, -dg.SPAN))
