"""Optimisers: updates against sequences worked out by hand, errors, state round trips."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import micrograd_tw as mg
from micrograd_tw.nn import MLP
from micrograd_tw.optim import SGD, Adam


def run(opt, p, grads):
    """Step opt with p.grad set to each gradient in turn; p's data after each step."""
    out = []
    for g in grads:
        p.grad = g
        opt.step()
        out.append(p.data)
    return out


# ---------------------------------------------------------------------- SGD


def test_sgd_is_the_notes_rule():
    # w ← w − η ∂L/∂w with η = 0.1 and ∂L/∂w = 2: 1 → 0.8 → 0.6.
    p = mg.Value(1.0)
    assert run(SGD([p], lr=0.1), p, [2.0, 2.0]) == pytest.approx([0.8, 0.6], abs=1e-15)


def test_sgd_momentum_by_hand():
    # b₁ = 1, p = 1 − 0.1 = 0.9;  b₂ = 0.9 + 1 = 1.9, p = 0.9 − 0.19 = 0.71;
    # b₃ = 1.71 + 1 = 2.71, p = 0.71 − 0.271 = 0.439.
    p = mg.Value(1.0)
    assert run(SGD([p], lr=0.1, momentum=0.9), p, [1.0] * 3) == pytest.approx([0.9, 0.71, 0.439], abs=1e-14)


def test_sgd_nesterov_by_hand():
    # b₁ = 1, step g + 0.9 b₁ = 1.9: p = 0.81;  b₂ = 1.9, step 1 + 1.71 = 2.71: p = 0.539.
    p = mg.Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    assert run(opt, p, [1.0, 1.0]) == pytest.approx([0.81, 0.539], abs=1e-14)


def test_sgd_weight_decay_by_hand():
    # g = 0 + 0.1 p: p = 1 − 0.1·0.1 = 0.99, then 0.99 − 0.1·0.099 = 0.9801.
    p = mg.Value(1.0)
    opt = SGD([p], lr=0.1, weight_decay=0.1)
    assert run(opt, p, [0.0, 0.0]) == pytest.approx([0.99, 0.9801], abs=1e-14)


def test_sgd_momentum_with_weight_decay_by_hand():
    # g₁ = 1 + 0.5·1 = 1.5, b₁ = 1.5, p = 1 − 0.15 = 0.85;
    # g₂ = 1 + 0.425 = 1.425, b₂ = 0.9·1.5 + 1.425 = 2.775, p = 0.85 − 0.2775 = 0.5725.
    p = mg.Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    assert run(opt, p, [1.0, 1.0]) == pytest.approx([0.85, 0.5725], abs=1e-14)


def test_lr_can_change_between_steps():
    p = mg.Value(1.0)
    opt = SGD([p], lr=0.1)
    run(opt, p, [1.0])
    opt.lr = 0.5
    assert run(opt, p, [1.0]) == pytest.approx([0.4], abs=1e-15)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    assert opt.lr == 0.5


# --------------------------------------------------------------------- Adam


def adam_reference(grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, p=1.0, wd=0.0):
    """Kingma & Ba's algorithm 1 as printed: bias-corrected m̂ and v̂."""
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p -= lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(p)
    return out


def test_adam_constant_gradient_moves_lr_per_step():
    # With bias correction m̂ = g and v̂ = g², so each step is lr·g/(|g| + eps) ≈ lr.
    p = mg.Value(1.0)
    assert run(Adam([p], lr=0.1), p, [1.0] * 3) == pytest.approx([0.9, 0.8, 0.7], abs=1e-7)


def test_adam_matches_the_papers_algorithm():
    grads = [1.0, -2.0, 3.0, 0.5, -0.25, 0.0, 4.0]
    p = mg.Value(1.0)
    assert run(Adam([p], lr=0.1), p, grads) == pytest.approx(adam_reference(grads), rel=1e-12)
    p = mg.Value(1.0)
    opt = Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1)
    expected = adam_reference(grads, lr=0.05, b1=0.8, b2=0.99, eps=1e-3, wd=0.1)
    assert run(opt, p, grads) == pytest.approx(expected, rel=1e-12)


def test_adam_honours_eps():
    # First step: m̂ = 1, √v̂ = 1, so p = 1 − 0.1·1/(1 + eps) = 0.95 with eps = 1.
    p = mg.Value(1.0)
    assert run(Adam([p], lr=0.1, eps=1.0), p, [1.0]) == [pytest.approx(0.95, abs=1e-15)]


def test_adam_weight_decay_by_hand():
    # g = 0 + 0.5·1 = 0.5: m̂ = 0.5, √v̂ = 0.5, step = 0.1·0.5/(0.5 + 1e-8).
    p = mg.Value(1.0)
    assert run(Adam([p], lr=0.1, weight_decay=0.5), p, [0.0]) == [pytest.approx(0.9, abs=1e-7)]


def test_adam_with_zero_eps_and_zero_gradient_stays_finite():
    p = mg.Value(1.0)
    assert run(Adam([p], lr=0.1, eps=0.0), p, [0.0, 0.0]) == [1.0, 1.0]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda ps: SGD(ps, lr=-0.1), "lr"),
        (lambda ps: SGD(ps, lr=math.nan), "lr"),
        (lambda ps: SGD(ps, lr=math.inf), "lr"),
        (lambda ps: Adam(ps, lr=-1e-3), "lr"),
        (lambda ps: Adam(ps, lr=math.nan), "lr"),
        (lambda ps: SGD(ps, momentum=-0.1), "momentum"),
        (lambda ps: SGD(ps, momentum=1.0), "momentum"),
        (lambda ps: SGD(ps, momentum=math.nan), "momentum"),
        (lambda ps: SGD(ps, nesterov=True), "nesterov"),
        (lambda ps: SGD(ps, weight_decay=-1.0), "weight_decay"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), r"betas\[0\]"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda ps: Adam(ps, betas=(0.9, 1.5)), r"betas\[1\]"),
        (lambda ps: Adam(ps, betas=(0.9,)), "pair"),
        (lambda ps: Adam(ps, eps=-1e-8), "eps"),
        (lambda ps: Adam(ps, weight_decay=-0.1), "weight_decay"),
        (lambda ps: SGD([]), "empty"),
        (lambda ps: Adam(p for p in []), "empty"),
        (lambda ps: SGD([ps[0], ps[0]]), "more than once"),
    ],
)
def test_construction_errors(make, fragment):
    with pytest.raises(ValueError, match=fragment):
        make([mg.Value(1.0)])


def test_construction_type_errors():
    with pytest.raises(TypeError, match=r"model.parameters\(\)"):
        SGD(mg.Value(1.0))
    with pytest.raises(TypeError, match=r"params\[1\] is a float"):
        SGD([mg.Value(1.0), 2.0])
    with pytest.raises(TypeError, match="lr must be a real number"):
        SGD([mg.Value(1.0)], lr="0.1")


def test_params_may_be_a_generator():
    model = MLP(2, [3, 1], seed=0)
    opt = SGD(p for p in model.parameters())
    assert opt.params == model.parameters()


# ---------------------------------------------------- graphs and memory


def test_step_adds_nothing_to_any_graph():
    model = MLP(2, [3, 1], seed=0)
    for opt in (SGD(model.parameters(), lr=0.1, momentum=0.9), Adam(model.parameters())):
        model([1.0, -1.0]).backward()
        opt.step()
        assert all(mg.engine.parents(p) == () and p.op == "" for p in model.parameters())
        assert all(type(p.data) is float for p in model.parameters())


def test_memory_stays_flat_over_thousands_of_steps():
    model = MLP(2, [4, 1], seed=0)
    opt = Adam(model.parameters(), lr=0.01)

    def train(steps):
        for i in range(steps):
            loss = (model([0.5, -1.0 + i % 3]) - 1.0) ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()

    train(2000)  # fills the interpreter's free lists, whose blocks count as allocated
    before = sys.getallocatedblocks()
    train(3000)
    # A leak of one node (or one float of optimiser state) per step would be > 3000 blocks.
    assert sys.getallocatedblocks() - before < 300
    assert all(mg.engine.parents(p) == () for p in model.parameters())


# ------------------------------------------------------------ state dicts


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: SGD(ps, lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=1e-3),
    ],
)
def test_training_resumes_identically(make):
    X = [[0.1, 0.9], [-0.5, 0.3], [0.8, -0.7]]
    Y = [1.0, -1.0, 0.5]

    def train(model, opt, steps, lr_decay=False):
        for _ in range(steps):
            loss = mg.functional.mse_loss([model(x) for x in X], Y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if lr_decay:
                opt.lr *= 0.9

    a = MLP(2, [4, 1], activation="tanh", seed=0)
    opt_a = make(a.parameters())
    train(a, opt_a, 5, lr_decay=True)

    # Resume from JSON, as a user would from files.
    model_state = json.loads(json.dumps(a.state_dict()))
    opt_state = json.loads(json.dumps(opt_a.state_dict()))
    b = MLP(2, [4, 1], activation="tanh", seed=123)
    opt_b = make(b.parameters())
    b.load_state_dict(model_state)
    opt_b.load_state_dict(opt_state)
    assert opt_b.lr == opt_a.lr

    train(a, opt_a, 5)
    train(b, opt_b, 5)
    assert b.state_dict() == a.state_dict()  # bit for bit
    assert opt_b.state_dict() == opt_a.state_dict()


def test_sgd_state_before_the_first_step():
    p = mg.Value(1.0)
    state = SGD([p], lr=0.1, momentum=0.9).state_dict()
    assert state["momentum_buffer"] == [None]
    opt = SGD([p], lr=0.3, momentum=0.1)
    opt.load_state_dict(state)
    assert run(opt, p, [1.0]) == pytest.approx([0.9], abs=1e-15)


def trained(make):
    model = MLP(2, [2, 1], seed=0)
    opt = make(model.parameters())
    model([1.0, 2.0]).backward()
    opt.step()
    return model, opt


@pytest.mark.parametrize(
    "make, change, fragment",
    [
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s["momentum_buffer"].pop(), "got 8 entries"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s["momentum_buffer"].__setitem__(0, math.nan),
         r"momentum_buffer\[0\]"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s["momentum_buffer"].__setitem__(1, "0.5"),
         r"momentum_buffer\[1\]"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.update(lr=-1.0), "lr"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.update(momentum=0.0, nesterov=True), "nesterov"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.update(nesterov="yes"), "nesterov"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.pop("lr"), "missing key"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.update(extra=1), "unexpected key"),
        (lambda ps: SGD(ps, momentum=0.9), lambda s: s.update(type="Adam"), "type is 'Adam'"),
        (lambda ps: Adam(ps), lambda s: s["exp_avg"].append(0.0), "got 10 entries"),
        (lambda ps: Adam(ps), lambda s: s["exp_avg_sq"].__setitem__(0, -1.0), "cannot be negative"),
        (lambda ps: Adam(ps), lambda s: s["exp_avg"].__setitem__(2, math.inf), r"exp_avg\[2\]"),
        (lambda ps: Adam(ps), lambda s: s.update(step=-1), "step"),
        (lambda ps: Adam(ps), lambda s: s.update(step=True), "step"),
        (lambda ps: Adam(ps), lambda s: s.update(betas=[0.9, 1.0]), r"betas\[1\]"),
        (lambda ps: Adam(ps), lambda s: s.update(eps=math.nan), "eps"),
    ],
)
def test_bad_optimiser_state_is_refused_and_changes_nothing(make, change, fragment):
    _, opt = trained(make)
    state = opt.state_dict()
    change(state)
    before = json.dumps(opt.state_dict())
    with pytest.raises(ValueError, match=fragment):
        opt.load_state_dict(state)
    assert json.dumps(opt.state_dict()) == before


def test_every_state_problem_is_listed():
    _, opt = trained(lambda ps: Adam(ps))
    state = opt.state_dict()
    state.update(lr=-1.0, eps=-1.0, step=-1)
    with pytest.raises(ValueError) as e:
        opt.load_state_dict(state)
    assert all(word in str(e.value) for word in ("lr", "eps", "step"))


def test_optimiser_state_is_not_a_dict():
    _, opt = trained(lambda ps: SGD(ps))
    with pytest.raises(ValueError, match="expected a dict"):
        opt.load_state_dict([1, 2])


def test_load_state_dict_lists_huge_ints_among_the_problems() -> None:
    """An int too large for a float is listed like any other bad entry; nothing changes."""
    p = [mg.Value(1.0)]
    opt = SGD(p, lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["lr"] = 10**400
    state["momentum_buffer"] = [10**400]
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(state)
    message = str(info.value)
    assert "lr" in message and "momentum_buffer[0]" in message and "too large for a float" in message
    assert opt.lr == 0.1


def test_adam_refuses_a_step_count_too_large_for_a_float_exponent():
    opt = Adam([mg.Value(1.0)], lr=0.1)
    state = opt.state_dict()
    state["step"] = 10**400
    with pytest.raises(ValueError, match=r"step must be an int from 0 to 2\*\*53") as e:
        opt.load_state_dict(state)
    assert len(str(e.value)) < 250  # the 401 digits are not printed
    assert opt.t == 0


# ------------------------------------------- bit for bit against the float rules
# The optimisers compute on numpy arrays.  These references are the per-parameter
# float loops of PyTorch's rules, written here on Python floats: every float the
# optimisers give must be the one the loop gives (same bits; NaN counts as NaN).


def sgd_reference(data, grad_steps, lr, momentum=0.0, weight_decay=0.0, nesterov=False, buffers=None):
    """torch.optim.SGD (dampening 0) one float at a time: (data after each step, buffers)."""
    data = list(data)
    buffers = [None] * len(data) if buffers is None else list(buffers)
    history = []
    for grads in grad_steps:
        for i, g in enumerate(grads):
            if weight_decay != 0.0:
                g = g + weight_decay * data[i]
            if momentum != 0.0:
                b = g if buffers[i] is None else momentum * buffers[i] + g
                buffers[i] = b
                g = g + momentum * b if nesterov else b
            data[i] = data[i] - lr * g
        history.append(list(data))
    return history, buffers


def adam_float_rule(data, grad_steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam one float at a time: (data after each step, m, v).

    m ← β₁m + (1 − β₁)g, v ← β₂v + ((1 − β₂)g)g, θ ← θ − (η/(1 − β₁ᵗ))·(m / (√v/√(1 − β₂ᵗ) + eps));
    where that denominator is 0 (eps = 0, v = 0) θ stays as it is.
    """
    b1, b2 = betas
    data = list(data)
    m = [0.0] * len(data)
    v = [0.0] * len(data)
    history = []
    for t, grads in enumerate(grad_steps, start=1):
        step_size = lr / (1.0 - b1**t)
        root_bc2 = math.sqrt(1.0 - b2**t)
        for i, g in enumerate(grads):
            if weight_decay != 0.0:
                g = g + weight_decay * data[i]
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            denom = math.sqrt(v[i]) / root_bc2 + eps
            if denom != 0.0:
                data[i] = data[i] - step_size * (m[i] / denom)
        history.append(list(data))
    return history, m, v


def bits(floats):
    """Floats as hex strings: equal means the same float, -0.0 is not 0.0 and NaN matches NaN."""
    return [float(x).hex() for x in floats]


SPECIALS = [math.inf, -math.inf, math.nan, 0.0, -0.0, 1e308, -1e308, 5e-324]


def random_grads(n, steps, seed, specials=False):
    """Gradients over many magnitudes, a fifth of them 0, and the first 10 parameters' always 0."""
    rng = np.random.default_rng(seed)
    grad_steps = []
    for _ in range(steps):
        g = rng.normal(size=n) * 10.0 ** rng.integers(-6, 6, size=n)
        g[rng.random(n) < 0.2] = 0.0
        if specials:
            hit = rng.random(n) < 0.05
            g[hit] = rng.choice(SPECIALS, size=int(hit.sum()))
        g[:10] = 0.0
        grad_steps.append(g.tolist())
    return grad_steps


def steps_of(opt, params, grad_steps):
    """Step opt with each gradient list in turn (no numpy warning may escape); data after each step."""
    history = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for grads in grad_steps:
            for p, g in zip(params, grads):
                p.grad = g
            opt.step()
            history.append([p.data for p in params])
    return history


N_PARAMS = 300
START = np.random.default_rng(0).normal(size=N_PARAMS).tolist()

SGD_OPTIONS = [
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=1e-2),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.01, momentum=0.5, weight_decay=1e-3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.3, nesterov=True, weight_decay=0.5),
]
ADAM_OPTIONS = [
    dict(lr=0.01),
    dict(lr=0.01, eps=0.0),
    dict(lr=0.003, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1),
    dict(lr=0.01, betas=(0.0, 0.0), eps=0.0, weight_decay=1e-2),
    dict(lr=0.1, betas=(0.99, 0.9999), eps=1.0),
]


@pytest.mark.parametrize("specials", [False, True], ids=["finite", "inf-nan"])
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_gives_the_float_rules_floats(options, specials):
    grad_steps = random_grads(N_PARAMS, 30, seed=1, specials=specials)
    params = [mg.Value(x) for x in START]
    opt = SGD(params, **options)
    got = steps_of(opt, params, grad_steps)
    expected, buffers = sgd_reference(START, grad_steps, **options)
    assert [bits(row) for row in got] == [bits(row) for row in expected]
    if options.get("momentum"):
        assert bits(opt.state_dict()["momentum_buffer"]) == bits(buffers)


@pytest.mark.parametrize("specials", [False, True], ids=["finite", "inf-nan"])
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_gives_the_float_rules_floats(options, specials):
    grad_steps = random_grads(N_PARAMS, 30, seed=2, specials=specials)
    params = [mg.Value(x) for x in START]
    opt = Adam(params, **options)
    got = steps_of(opt, params, grad_steps)
    expected, m, v = adam_float_rule(START, grad_steps, **options)
    assert [bits(row) for row in got] == [bits(row) for row in expected]
    state = opt.state_dict()
    assert (bits(state["exp_avg"]), bits(state["exp_avg_sq"]), state["step"]) == (bits(m), bits(v), 30)
    if options.get("eps") == 0.0 and not options.get("weight_decay"):  # gradients all 0: did not move
        assert got[-1][:10] == START[:10]


_any_float = st.floats(allow_nan=True, allow_infinity=True)


@given(
    grad_steps=st.lists(st.lists(_any_float, min_size=4, max_size=4), min_size=1, max_size=4),
    start=st.lists(st.floats(-1e300, 1e300), min_size=4, max_size=4),
    lr=st.floats(0.0, 10.0),
    momentum=st.sampled_from([0.0, 0.5, 0.9, 0.999]),
    weight_decay=st.sampled_from([0.0, 1e-4, 1.0]),
    nesterov=st.booleans(),
    betas=st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.999)),
    eps=st.sampled_from([0.0, 1e-8, 1.0]),
)
def test_every_option_combination_gives_the_float_rules_floats(
    grad_steps, start, lr, momentum, weight_decay, nesterov, betas, eps
):
    params = [mg.Value(x) for x in start]
    sgd = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov and momentum > 0)
    got = steps_of(SGD(params, **sgd), params, grad_steps)
    assert [bits(r) for r in got] == [bits(r) for r in sgd_reference(start, grad_steps, **sgd)[0]]
    params = [mg.Value(x) for x in start]
    adam = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    got = steps_of(Adam(params, **adam), params, grad_steps)
    assert [bits(r) for r in got] == [bits(r) for r in adam_float_rule(start, grad_steps, **adam)[0]]


BOTH_OPTIMISERS = pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, momentum=0.9), lambda ps: Adam(ps)], ids=["SGD", "Adam"]
)


def test_sgd_buffers_loaded_with_some_none_follow_the_float_rule():
    # A saved state may hold None for a parameter whose buffer was never set: its first b is g.
    buffers = [None if i % 3 == 0 else 0.1 * i for i in range(30)]
    grad_steps = random_grads(30, 5, seed=3)
    params = [mg.Value(x) for x in START[:30]]
    opt = SGD(params, lr=0.1, momentum=0.9)
    opt.load_state_dict({**opt.state_dict(), "momentum_buffer": list(buffers)})
    assert opt.state_dict()["momentum_buffer"] == buffers
    got = steps_of(opt, params, grad_steps)
    expected, after = sgd_reference(START[:30], grad_steps, lr=0.1, momentum=0.9, buffers=buffers)
    assert [bits(r) for r in got] == [bits(r) for r in expected]
    assert bits(opt.momentum_buffer) == bits(after)


@BOTH_OPTIMISERS
def test_state_is_copied_in_and_out(make):
    params = [mg.Value(1.0), mg.Value(2.0)]
    opt = make(params)
    for p in params:
        p.grad = 1.0
    opt.step()
    state = opt.state_dict()
    before = json.dumps(state)
    other = make([mg.Value(0.0), mg.Value(0.0)])
    other.load_state_dict(state)
    for value in state.values():  # the caller's lists, and the lists handed out, are not the state
        if isinstance(value, list):
            value[0] = 123.0
    for listed in (opt.state_dict(), other.state_dict()):
        for value in listed.values():
            if isinstance(value, list):
                value[1] = 456.0
    assert json.dumps(opt.state_dict()) == before == json.dumps(other.state_dict())


@BOTH_OPTIMISERS
@pytest.mark.parametrize(
    "bad, kind", [(None, "NoneType"), ("0.5", "str"), (mg.Value(1.0), "Value"), (1j, "complex")]
)
def test_a_grad_that_is_not_a_number_is_refused_and_changes_nothing(make, bad, kind):
    params = [mg.Value(1.0), mg.Value(2.0), mg.Value(3.0)]
    opt = make(params)
    for p in params:
        p.grad = 0.5
    opt.step()
    state, data = json.dumps(opt.state_dict()), [p.data for p in params]
    params[1].grad = bad
    with pytest.raises(TypeError, match=rf"step: params\[1\]\.grad must be a real number .*got {kind}"):
        opt.step()
    assert json.dumps(opt.state_dict()) == state
    assert [p.data for p in params] == data


def test_optimisers_follow_torch_optim():
    # torch's CPU kernels compute a + α·b (θ − η·g, β·b + g, ...) as one fused multiply-add,
    # rounded once where the float rule rounds twice: the last bits differ, and where
    # θ − η·g cancels the relative difference grows (up to 9e-15 here).
    torch = pytest.importorskip("torch")
    tol = 1e-13
    grad_steps = random_grads(50, 8, seed=4)
    cases = [
        (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
        (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ]
    for ours, theirs, options in cases:
        params = [mg.Value(x) for x in START[:50]]
        got = steps_of(ours(params, **options), params, grad_steps)[-1]
        w = torch.tensor(START[:50], dtype=torch.float64, requires_grad=True)
        opt = theirs([w], foreach=False, **options)
        for grads in grad_steps:
            w.grad = torch.tensor(grads, dtype=torch.float64)
            opt.step()
        expected = w.detach().tolist()
        assert all(abs(a - b) <= tol * max(abs(a), abs(b)) for a, b in zip(got, expected)), ours.__name__


def test_plain_sgd_does_not_load_numpy():
    # The course's first training loops (the moons, the CLI) stay free of numpy's import time.
    probe = (
        "import sys, micrograd_tw as mg\n"
        "p = [mg.Value(1.0)]\n"
        "opt = mg.optim.SGD(p, lr=0.1)\n"
        "opt.load_state_dict(opt.state_dict())\n"
        "p[0].grad = 2.0\n"
        "opt.step()\n"
        "print(p[0].data, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0.8", "False"]


def test_state_attributes_are_read_only_so_a_write_cannot_be_lost():
    # They are views of the state as it is now; a write goes through load_state_dict, which checks it.
    ps = [mg.Value(1.0), mg.Value(2.0)]
    sgd, adam = mg.optim.SGD(ps, lr=0.1, momentum=0.9), mg.optim.Adam(ps)
    for p in ps:
        p.grad = 1.0
    sgd.step()
    adam.step()
    assert sgd.momentum_buffer == (1.0, 1.0)
    assert adam.exp_avg == ((1 - 0.9) * 1.0,) * 2  # (1 − β₁)·g on the first step
    for attribute in (sgd.momentum_buffer, adam.exp_avg, adam.exp_avg_sq):
        with pytest.raises(TypeError):
            attribute[0] = 5.0
