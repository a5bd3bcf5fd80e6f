"""Training end to end: networks that learn, as in the micrograd demo and the course notes."""

from __future__ import annotations

import micrograd_tw as mg
from micrograd_tw.functional import cross_entropy, mse_loss
from micrograd_tw.nn import MLP
from micrograd_tw.optim import SGD, Adam


def test_moons_reach_97_percent_within_100_sgd_steps():
    # micrograd's demo: hinge loss + L2, SGD with lr = 1.0 − 0.9·k/100.
    X, y = mg.data.make_moons(100, noise=0.1, seed=0)
    X, Y = X.tolist(), [2 * int(t) - 1 for t in y]  # labels −1 / +1
    model = MLP(2, [16, 16, 1], seed=1)
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    accuracy = 0.0
    for k in range(100):
        scores = [model(x) for x in X]
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, Y)) / len(Y)
        if accuracy >= 0.97:
            break
        data_loss = mg.sum([(1 - t * s).relu() for s, t in zip(scores, Y)]) / len(Y)
        loss = data_loss + 1e-4 * mg.sum([p * p for p in params])
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
    assert accuracy >= 0.97, f"training accuracy {accuracy:.0%} after {k} steps"


def test_spiral_reaches_90_percent_with_cross_entropy_and_adam():
    X, y = mg.data.make_spiral(90, classes=3, seed=0)
    X, Y = X.tolist(), y.tolist()
    model = MLP(2, [16, 16, 3], seed=0)
    opt = Adam(model.parameters(), lr=0.05)
    accuracy = 0.0
    for _ in range(150):
        logits = [model(x) for x in X]
        accuracy = sum(max(range(3), key=lambda c: out[c].data) == t for out, t in zip(logits, Y)) / len(Y)
        if accuracy >= 0.9:
            break
        loss = cross_entropy(logits, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert accuracy >= 0.9, f"training accuracy {accuracy:.0%}"
    # A linear model cannot separate the arms: the network is doing the work.
    linear = MLP(2, [3], seed=0)
    opt = Adam(linear.parameters(), lr=0.05)
    for _ in range(40):
        logits = [linear(x) for x in X]
        loss = cross_entropy(logits, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    linear_accuracy = sum(max(range(3), key=lambda c: out[c].data) == t for out, t in zip(logits, Y)) / len(Y)
    assert linear_accuracy < 0.7


def test_notes_2_3_1_function_learner_cuts_its_loss_by_90_percent():
    # The notes' 函數學習機: inputs x1, x2, 3 neurons, 1 output, learning y = x1·x2
    # with L(θ) = 1/(2k) Σ (yᵢ − f_θ(xᵢ))² and plain gradient descent θ ← θ − η ∇L(θ).
    grid = [-1.0, -0.5, 0.0, 0.5, 1.0]
    X = [[a, b] for a in grid for b in grid]
    Y = [a * b for a, b in X]
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(500):
        loss = mse_loss([model(x) for x in X], Y, reduction="half")
        losses.append(loss.data)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] <= 0.1 * losses[0], f"loss {losses[0]:.4f} -> {losses[-1]:.4f}"
