"""mg.functional against API.md's *Functions* section: closed forms, stability, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import micrograd_tw as mg
from micrograd_tw import Value
from micrograd_tw import functional as F

# ------------------------------------------------------------ references
# numpy closed forms, shifted by the max so that they are exact at ±1000.


def np_softmax(xs: list[float]) -> np.ndarray:
    z = np.asarray(xs, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def np_logsumexp(xs: list[float]) -> float:
    z = np.asarray(xs, dtype=np.float64)
    return float(z.max() + np.log(np.exp(z - z.max()).sum()))


def logits(n_min: int = 1, n_max: int = 6, bound: float = 1000.0) -> st.SearchStrategy[list[float]]:
    return st.lists(
        st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        min_size=n_min,
        max_size=n_max,
    )


def leaves(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


# ----------------------------------------------------------- elementwise


@pytest.mark.parametrize(
    "name, x, expected, slope",
    [
        ("relu", -2.0, 0.0, 0.0),
        ("relu", 3, 3.0, 1.0),
        ("sigmoid", 0, 0.5, 0.25),
        ("sigmoid", -1000, 0.0, 0.0),
        ("sigmoid", 1000, 1.0, 0.0),
        ("tanh", 1000, 1.0, 0.0),
        ("tanh", -1000, -1.0, 0.0),
        ("gaussian", 2.0, math.exp(-4.0), -4.0 * math.exp(-4.0)),
        ("exp", 1, math.e, math.e),
        ("log", math.e, 1.0, 1 / math.e),
    ],
)
def test_elementwise_functions_accept_numbers_and_values(
    name: str, x: Any, expected: float, slope: float
) -> None:
    fn = getattr(F, name)
    y = fn(x)
    assert isinstance(y, Value) and y.op == name and y.data == pytest.approx(expected, rel=1e-15)
    v = Value(x)
    out = fn(v)
    out.backward()
    assert mg.toposort(out) == [v, out]  # the same single node as the method
    assert v.grad == pytest.approx(slope, rel=1e-15)


@pytest.mark.parametrize("x", [-1000.0, -40.0, 0.0, 40.0, 1000.0])
def test_sigmoid_and_tanh_gradients_are_finite_at_extremes(x: float) -> None:
    for fn, d in ((F.sigmoid, lambda y: y * (1 - y)), (F.tanh, lambda y: 1 - y * y)):
        v = Value(x)
        y = fn(v)
        y.backward()
        assert math.isfinite(y.data) and v.grad == pytest.approx(d(y.data), abs=1e-300)


def test_elementwise_errors() -> None:
    with pytest.raises(ValueError, match="log"):
        F.log(0)
    with pytest.raises(OverflowError, match="exp"):
        F.exp(1000)
    with pytest.raises(TypeError, match="str"):
        F.relu("1")
    with pytest.raises(TypeError, match="bool"):
        F.sigmoid(True)


# ---------------------------------------------------------------- softmax


def test_softmax_closed_form_and_jacobian() -> None:
    xs = leaves([1.0, 2.0, 3.0])
    p = F.softmax(xs)
    e = [math.exp(1), math.exp(2), math.exp(3)]
    expected = [v / sum(e) for v in e]
    assert [pi.data for pi in p] == pytest.approx(expected, rel=1e-15)
    # ∂pᵢ/∂xⱼ = pᵢ(δᵢⱼ − pⱼ)
    for i in range(3):
        row = mg.grad(p[i], xs)
        assert row == pytest.approx([expected[i] * ((i == j) - expected[j]) for j in range(3)], rel=1e-13)


def test_softmax_at_1000_0_minus_1000() -> None:
    xs = leaves([1000.0, 0.0, -1000.0])
    p = F.softmax(xs)
    assert [pi.data for pi in p] == [1.0, 0.0, 0.0]
    mg.sum(p[i] * float(i + 1) for i in range(3)).backward()  # Σ cᵢpᵢ: ∂/∂xⱼ = pⱼ(cⱼ − Σ cᵢpᵢ)
    assert [x.grad for x in xs] == [0.0, 0.0, 0.0]


@given(xs=logits())
def test_softmax_log_softmax_logsumexp_stable_for_any_finite_logits(xs: list[float]) -> None:
    p_ref = np_softmax(xs)
    vs = leaves(xs)
    p = [v.data for v in F.softmax(vs)]
    assert all(math.isfinite(v) for v in p) and sum(p) == pytest.approx(1.0, rel=1e-12)
    assert p == pytest.approx(list(p_ref), rel=1e-9, abs=1e-300)

    lsm = F.log_softmax(vs)
    expected_lsm = [x - np_logsumexp(xs) for x in xs]
    assert [v.data for v in lsm] == pytest.approx(expected_lsm, rel=1e-12, abs=1e-9)

    lse = F.logsumexp(vs)
    assert lse.data == pytest.approx(np_logsumexp(xs), rel=1e-12, abs=1e-12)
    lse.backward()  # ∇ logsumexp = softmax
    assert [v.grad for v in vs] == pytest.approx(list(p_ref), rel=1e-9, abs=1e-300)

    c = [float(i % 3) - 1.0 for i in range(len(xs))]  # Σ cᵢ log softmaxᵢ: ∂/∂xⱼ = cⱼ − pⱼ Σ cᵢ
    g = mg.grad(mg.sum(ci * li for ci, li in zip(c, lsm)), vs)
    assert g == pytest.approx([c[j] - p_ref[j] * sum(c) for j in range(len(xs))], rel=1e-9, abs=1e-12)


def test_logsumexp_closed_forms() -> None:
    assert F.logsumexp([1000.0, 1000.0]).data == 1000.0 + math.log(2.0)
    assert F.logsumexp([-1000.0, -1000.0]).data == -1000.0 + math.log(2.0)
    assert F.logsumexp([0.0, math.log(3.0)]).data == pytest.approx(math.log(4.0), rel=1e-15)
    assert F.logsumexp([5]).data == 5.0
    assert F.log_softmax([1000.0, 0.0, -1000.0])[2].data == -2000.0


def test_logsumexp_second_derivatives() -> None:
    """∇²logsumexp = diag(p) − ppᵀ: the max shift, a constant, must not break the Hessian."""
    vals = [0.3, -1.2, 2.0]
    xs = leaves(vals)
    p = np_softmax(vals)
    grads = mg.grad(F.logsumexp(xs), xs, create_graph=True)
    for i, g in enumerate(grads):
        assert mg.grad(g, xs) == pytest.approx([p[i] * ((i == j) - p[j]) for j in range(3)], rel=1e-12)


def test_softmax_takes_numbers_generators_and_arrays() -> None:
    expected = list(np_softmax([0.0, 1.0]))
    assert [p.data for p in F.softmax([0, 1])] == pytest.approx(expected)
    assert [p.data for p in F.softmax(x for x in (0.0, 1.0))] == pytest.approx(expected)
    assert [p.data for p in F.softmax(np.array([0.0, 1.0]))] == pytest.approx(expected)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.logsumexp])
def test_softmax_family_errors(fn: Any) -> None:
    name = fn.__name__
    with pytest.raises(ValueError, match=f"{name}: the list of scores is empty"):
        fn([])
    for bad in (Value(1.0), 3.0):
        with pytest.raises(TypeError, match=f"{name}: expected a list of scores, got {type(bad).__name__}"):
            fn(bad)
    for bad in ("abc", None, {1.0, 2.0}, {1.0: 0, 2.0: 0}):  # a dict or set has no order to give
        with pytest.raises(TypeError, match=f"{name} scores must be a list .*, got {type(bad).__name__}"):
            fn(bad)
    with pytest.raises(TypeError, match=f"{name}: expected a list of scores, got a 0-d array"):
        fn(np.array(1.0))
    with pytest.raises(TypeError, match="str"):
        fn([1.0, "a"])


# ---------------------------------------------------------------- mse_loss


def test_mse_loss_scalar_outputs() -> None:
    preds = leaves([1.0, 2.0, 3.0])
    targets = [1.5, 2.0, 2.0]  # squares 0.25, 0, 1: total 1.25 over k = 3 samples
    for reduction, value, scale in (("mean", 1.25 / 3, 2 / 3), ("sum", 1.25, 2.0), ("half", 1.25 / 6, 1 / 3)):
        loss = F.mse_loss(preds, targets, reduction=reduction)
        assert loss.data == pytest.approx(value, rel=1e-15), reduction
        # ∂L/∂pᵢ = scale · (pᵢ − tᵢ)
        assert mg.grad(loss, preds) == pytest.approx([scale * -0.5, 0.0, scale * 1.0], rel=1e-15)
    assert F.mse_loss(preds, targets).data == pytest.approx(1.25 / 3)  # "mean" is the default


def test_mse_loss_vector_outputs() -> None:
    """k = 2 samples of 2 outputs: the notes' L(θ) = 1/(2k) Σᵢ ||yᵢ − f(xᵢ)||²."""
    preds = [leaves([1.0, 2.0]), leaves([3.0, 4.0])]
    targets = [[0.0, 2.0], [3.0, 2.0]]  # squared norms 1 and 4
    assert F.mse_loss(preds, targets, reduction="sum").data == 5.0
    assert F.mse_loss(preds, targets, reduction="mean").data == 5.0 / 4  # every element
    half = F.mse_loss(preds, targets, reduction="half")
    assert half.data == 5.0 / (2 * 2)
    flat = [p for row in preds for p in row]
    assert mg.grad(half, flat) == [1 / 2, 0.0, 0.0, 2 / 2]  # (p − t)/k


def test_mse_loss_one_sample_values_and_arrays() -> None:
    p, t = Value(3.0), Value(1.0)
    loss = F.mse_loss(p, t)
    loss.backward()
    assert loss.data == 4.0 and (p.grad, t.grad) == (4.0, -4.0)  # targets may be Values too
    assert F.mse_loss([[1.0, 2.0]], [[1.0, 0.0]], reduction="half").data == 2.0  # k = 1: 4/2
    arr = F.mse_loss(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [3.0, 2.0]]), reduction="half")
    assert arr.data == 1.25
    assert F.mse_loss(np.array([1.0, 3.0]), [0, 0], reduction="sum").data == 10.0


@pytest.mark.parametrize(
    "preds, targets, kwargs, error, match",
    [
        ([], [], {}, ValueError, "empty"),
        ([[]], [[]], {}, ValueError, "empty"),
        ([1.0, 2.0], [1.0], {}, ValueError, "2 predictions but 1 targets"),
        ([[1.0, 2.0]], [[1.0]], {}, ValueError, "sample 0 has 2 outputs but its target has 1"),
        ([1.0], [1.0], {"reduction": "Mean"}, ValueError, "unknown reduction 'Mean'"),
        ([1.0], [1.0], {"reduction": None}, ValueError, "unknown reduction None"),
        ([True], [1.0], {}, TypeError, "bool"),
        ([1.0], ["1"], {}, TypeError, "str"),
        ([None], [1.0], {}, TypeError, "NoneType"),
    ],
)
def test_mse_loss_errors(preds: Any, targets: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        F.mse_loss(preds, targets, **kwargs)


def test_mse_loss_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p_np, t_np = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for reduction in ("mean", "sum"):
        tp = torch.tensor(p_np, requires_grad=True)
        tl = torch.nn.functional.mse_loss(tp, torch.tensor(t_np), reduction=reduction)
        tl.backward()
        preds = [leaves(list(row)) for row in p_np]
        loss = F.mse_loss(preds, t_np.tolist(), reduction=reduction)
        loss.backward()
        assert loss.data == pytest.approx(tl.item(), rel=1e-13)
        expected = tp.grad.numpy().ravel().tolist()
        assert [v.grad for row in preds for v in row] == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------- cross_entropy


def test_cross_entropy_one_sample() -> None:
    xs = leaves([1.0, 2.0, 3.0])
    loss = F.cross_entropy(xs, 0)
    p = np_softmax([1.0, 2.0, 3.0])
    assert loss.data == pytest.approx(-math.log(p[0]), rel=1e-14)
    loss.backward()  # softmax − onehot
    assert [x.grad for x in xs] == pytest.approx([p[0] - 1, p[1], p[2]], rel=1e-13)
    assert F.cross_entropy([0.0, 0.0], np.int64(1)).data == pytest.approx(math.log(2.0), rel=1e-15)


@pytest.mark.parametrize("target, value, grads", [(1, 2000.0, [1.0, -1.0]), (0, 0.0, [0.0, 0.0])])
def test_cross_entropy_at_logits_plus_minus_1000(target: int, value: float, grads: list[float]) -> None:
    xs = leaves([1000.0, -1000.0])
    loss = F.cross_entropy(xs, target)
    loss.backward()
    assert loss.data == value and [x.grad for x in xs] == grads


def test_cross_entropy_batch_is_the_mean() -> None:
    rows = [leaves([1.0, 2.0, 3.0]), leaves([1.0, 1.0, 1.0])]
    loss = F.cross_entropy(rows, [2, 0])
    p = np_softmax([1.0, 2.0, 3.0])
    assert loss.data == pytest.approx((-math.log(p[2]) + math.log(3.0)) / 2, rel=1e-14)
    loss.backward()
    assert [x.grad for x in rows[0]] == pytest.approx([p[0] / 2, p[1] / 2, (p[2] - 1) / 2], rel=1e-13)
    assert [x.grad for x in rows[1]] == pytest.approx([(1 / 3 - 1) / 2, 1 / 6, 1 / 6], rel=1e-13)


@given(xs=logits(n_min=2), data=st.data())
def test_cross_entropy_stable_for_any_finite_logits(xs: list[float], data: st.DataObject) -> None:
    target = data.draw(st.integers(0, len(xs) - 1), label="target")
    vs = leaves(xs)
    loss = F.cross_entropy(vs, target)
    loss.backward()
    p = np_softmax(xs)
    assert loss.data == pytest.approx(np_logsumexp(xs) - xs[target], rel=1e-9, abs=1e-9)
    expected = [p[j] - (j == target) for j in range(len(xs))]
    assert [v.grad for v in vs] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_cross_entropy_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rows = [[0.5, -1.0, 3.0], [1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0], [-3.0, 2.0, 2.0]]
    targets = [2, 1, 0, 1]
    tx = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(targets))
    tl.backward()
    vs = [leaves(r) for r in rows]
    loss = F.cross_entropy(vs, targets)
    loss.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-13)
    assert [v.grad for r in vs for v in r] == pytest.approx(
        tx.grad.numpy().ravel().tolist(), rel=1e-12, abs=1e-300
    )


@pytest.mark.parametrize(
    "logits_, target, error, match",
    [
        ([], 0, ValueError, "empty"),
        ([1.0, 2.0], 2, IndexError, "target class 2 is out of range for 2 classes"),
        ([1.0, 2.0], -1, IndexError, "target class -1 is out of range"),
        ([1.0, 2.0], True, TypeError, "bool"),
        ([1.0, 2.0], 1.0, TypeError, "float"),
        ([1.0, 2.0], "1", TypeError, "str"),
        ([1.0, 2.0], None, TypeError, "NoneType"),
        ([[1.0, 2.0]], [], ValueError, "the batch is empty"),
        ([[1.0, 2.0]], [0, 1], ValueError, "2 targets and 1 logit lists"),
        ([1.0, 2.0], [0, 1], ValueError, "logits is one list of scores; for one sample, pass one int target"),
        ([[1.0, 2.0], [3.0, 4.0]], [0, 1.0], TypeError, "float"),
        ([[1.0, 2.0], [3.0]], [0, 1], IndexError, "target class 1 is out of range for 1 classes"),
        (Value(1.0), 0, TypeError, "expected a list of scores, got Value"),
    ],
)
def test_cross_entropy_errors(logits_: Any, target: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        F.cross_entropy(logits_, target)


def test_zero_dimensional_arrays_are_numbers_not_rows() -> None:
    """np.array(1) is one number: a clear TypeError, not 'iteration over a 0-d array'."""
    with pytest.raises(TypeError, match="ndarray"):
        F.cross_entropy([1.0, 2.0], np.array(1))
    with pytest.raises(TypeError, match="ndarray"):
        F.mse_loss(np.array(1.0), np.array(2.0))


# ------------------------------------------- issue 11: order and messages


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.mse_loss({1.0, 2.0}, [2, 1]), "mse_loss preds must be a list .*, got set"),
        (lambda: F.mse_loss([2, 1], {1.0: 0, 2.0: 0}), "mse_loss targets must be a list .*, got dict"),
        (lambda: F.mse_loss([[1.0, 2.0]], [{1.0, 2.0}]), r"mse_loss targets\[0\] must be a list .*, got set"),
        (lambda: F.cross_entropy({1.0, 2.0}, 0), "cross_entropy scores must be a list .*, got set"),
        (lambda: F.cross_entropy([[1.0, 2.0]], {0}), "cross_entropy targets must be a list .*, got set"),
        (lambda: F.cross_entropy({(1.0, 2.0)}, [0]), "cross_entropy logits must be a list .*, got set"),
    ],
)
def test_dicts_and_sets_are_refused_where_order_matters(call: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        call()


def test_mse_loss_overflow_names_the_sample() -> None:
    match = r"squared error of sample 1 overflows a float: prediction 1e\+200, target 0"
    with pytest.raises(OverflowError, match=match):
        F.mse_loss([0.0, 1e200], [0.0, 0.0])


def test_mse_loss_counts_a_generator() -> None:
    loss = F.mse_loss((p for p in [1.0, 2.0]), [1, 4])
    assert loss.data == 2.0  # ((1 - 1)² + (2 - 4)²) / 2
    with pytest.raises(ValueError, match="1 predictions but 2 targets"):
        F.mse_loss((p for p in [1.0]), [1, 2])


def test_cross_entropy_says_a_list_of_targets_needs_a_list_of_logit_lists() -> None:
    with pytest.raises(ValueError, match="logits is one list of scores; for one sample, pass one int target"):
        F.cross_entropy([1, 2], [0, 1])


def test_a_huge_target_is_shown_short() -> None:
    with pytest.raises(IndexError) as e:
        F.cross_entropy([1.0, 2.0], 10**400)
    assert "out of range for 2 classes" in str(e.value)
    assert len(str(e.value)) < 120
