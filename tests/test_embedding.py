"""mg.nn.Embedding, the gather row it is made of, integer columns in mg.compile, and
cross_entropy with a traced integer target (issue 15, item 2)."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import micrograd_tw as mg
from micrograd_tw import engine, ops
from micrograd_tw.engine import Value
from micrograd_tw.nn import Embedding, StateDictError
from micrograd_tw.testing import assert_gradients_match, expressions

F = mg.functional


# ---------------------------------------------------------------- the module


def test_a_table_of_named_parameters_drawn_from_a_seeded_standard_normal() -> None:
    emb = Embedding(4, 3, seed=7)
    names = [name for name, _ in emb.named_parameters()]
    assert names == [f"weight.{i}.{j}" for i in range(4) for j in range(3)]
    rng = random.Random(7)  # row after row, N(0, 1) as torch.nn.Embedding
    assert [p.data for p in emb.parameters()] == [rng.gauss(0.0, 1.0) for _ in range(12)]
    assert [p.data for p in Embedding(4, 3, seed=7).parameters()] == [p.data for p in emb.parameters()]
    assert [p.data for p in Embedding(4, 3, seed=8).parameters()] != [p.data for p in emb.parameters()]
    assert Embedding(4, 3).state_dict() == Embedding(4, 3, seed=0).state_dict()
    big = np.array([p.data for p in Embedding(200, 50, seed=1).parameters()])
    assert abs(big.mean()) < 0.03 and abs(big.std() - 1.0) < 0.03  # 10,000 draws: 3 standard errors
    assert repr(emb) == "Embedding(num=4, dim=3)"


def test_an_int_id_gives_the_rows_parameters_themselves() -> None:
    emb = Embedding(5, 3, seed=1)
    for token in (2, np.int64(2), np.uint8(2), 2.0):
        row = emb(token)
        assert len(row) == 3 and all(a is b for a, b in zip(row, emb.weight[2]))
    assert emb(0)[0] is emb.weight[0][0] and emb(4)[2] is emb.weight[4][2]


def test_backward_puts_gradients_on_the_rows_looked_up_only() -> None:
    emb = Embedding(5, 3, seed=1)
    a, b = emb(2), emb(0)
    # L = 1·a0 + 2·a1 + 3·a2 + 3·b1 + a0·a0 (row 2 looked up twice: its gradients add)
    again = emb(2)
    loss = mg.dot([1.0, 2.0, 3.0], a) + 3 * b[1] + again[0] * again[0]
    loss.backward()
    e20 = emb.weight[2][0].data
    grads = [[p.grad for p in row] for row in emb.weight]
    assert grads[2] == [1.0 + 2 * e20, 2.0, 3.0]
    assert grads[0] == [0.0, 3.0, 0.0]
    assert grads[1] == grads[3] == grads[4] == [0.0, 0.0, 0.0]


def test_a_value_id_is_a_gather_node_per_dimension() -> None:
    emb = Embedding(4, 2, seed=3)
    t = Value(3.0, label="t")
    row = emb(t)
    assert [v.op for v in row] == ["gather", "gather"]
    assert [v.data for v in row] == [p.data for p in emb.weight[3]]
    column_1 = [r[1] for r in emb.weight]
    assert engine.operands(row[1]) == (*column_1, t)
    (row[0] * 2 + row[1]).backward()
    assert [[p.grad for p in r] for r in emb.weight] == [[0.0, 0.0]] * 3 + [[2.0, 1.0]]
    assert t.grad == 0.0  # a whole number has no slope
    assert "label=<gather>" in mg.draw_dot(row[0]).source


def test_state_dict_and_files_round_trip(tmp_path: Any) -> None:
    emb = Embedding(6, 4, seed=2)
    other = Embedding(6, 4, seed=5)
    other.load_state_dict(emb.state_dict())
    assert other.state_dict() == emb.state_dict()
    path = tmp_path / "emb.json"
    emb.save(path)
    fresh = Embedding(6, 4, seed=9)
    fresh.load(path)
    assert [p.data for p in fresh.parameters()] == [p.data for p in emb.parameters()]
    wrong = Embedding(7, 4, seed=9)
    before = wrong.state_dict()
    with pytest.raises(StateDictError, match="Embedding"):
        wrong.load(path)
    with pytest.raises(StateDictError, match="weight.6.0"):
        wrong.load_state_dict(emb.state_dict())
    assert wrong.state_dict() == before


def test_an_embedding_inside_a_module_has_dotted_names() -> None:
    class Model(mg.nn.Module):
        def __init__(self) -> None:
            self.emb = Embedding(3, 2)
            self.out = mg.nn.Layer(2, 1, seed=0)

    names = [n for n, _ in Model().named_parameters()]
    assert names[:2] == ["emb.weight.0.0", "emb.weight.0.1"] and names[-1] == "out.neurons.0.b"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "token, error, message",
    [
        (5, IndexError, r"token id 5 is out of range for 5 rows \(0 to 4\)"),
        (-1, IndexError, r"token id -1 is out of range for 5 rows \(0 to 4\)"),
        (np.int64(9), IndexError, "token id 9 is out of range"),
        (10**400, IndexError, "token id 1000.* is out of range"),
        (Value(5.0), IndexError, "token id 5 is out of range"),
        (Value(1.5), IndexError, "token id 1.5 is not a whole number"),
        (2.5, TypeError, "token id 2.5 is not a whole number; the 5 rows are numbered 0 to 4"),
        (math.nan, TypeError, "token id nan is not a whole number"),
        (True, TypeError, "takes one token id, an int from 0 to 4; got bool True"),
        (np.bool_(False), TypeError, "got bool"),
        ("a", TypeError, "got str 'a'"),
        (None, TypeError, "got NoneType None"),
        ([1, 2], TypeError, r"got list \[1, 2\]; for several tokens call it once per token"),
    ],
)
def test_a_bad_token_id_is_refused_by_name(token: Any, error: type, message: str) -> None:
    emb = Embedding(5, 2)
    with pytest.raises(error, match=message):
        emb(token)


@pytest.mark.parametrize(
    "num, dim, error, message",
    [
        (0, 3, ValueError, "Embedding num must be a positive int, got 0"),
        (3, -1, ValueError, "Embedding dim must be a positive int, got -1"),
        (2.5, 3, TypeError, "Embedding num must be a positive int, got float 2.5"),
        (True, 3, TypeError, "Embedding num must be a positive int, got bool"),
        (3, "4", TypeError, "Embedding dim must be a positive int, got str"),
        (100_000, 1000, ValueError, r"Embedding\(100000, 1000\) has 100,000,000 entries, more than"),
    ],
)
def test_a_bad_size_is_refused_by_name(num: Any, dim: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Embedding(num, dim)


def test_gather_refuses_bad_indices_and_an_empty_list() -> None:
    vs = [Value(1.0), Value(2.0)]
    for index, message in ((2, r"index 2 is out of range for 2 items \(0 to 1\)"), (-1, "index -1 is out"),
                           (0.5, "index 0.5 is not a whole number"), (math.inf, "index inf is not a whole"),
                           (Value(7.0), "index 7 is out of range")):
        with pytest.raises(IndexError, match=message):
            mg.gather(vs, index)
    with pytest.raises(TypeError, match="gather index must be a real number.*got bool"):
        mg.gather(vs, True)
    with pytest.raises(ValueError, match="gather: the list of values is empty"):
        mg.gather([], 0)
    with pytest.raises(TypeError, match="gather values must be a list"):
        mg.gather({1.0, 2.0}, 0)


def test_cross_entropy_refuses_a_value_target_that_is_not_a_class() -> None:
    logits = [Value(0.5), Value(-1.0), Value(2.0)]
    with pytest.raises(IndexError, match=r"target class 3.0 \(a Value\) is not a class index for 3 classes"):
        F.cross_entropy(logits, Value(3.0))
    with pytest.raises(IndexError, match="target class 0.5"):
        F.cross_entropy(logits, Value(0.5))


# ---------------------------------------------------------------- the gather row


def test_the_gather_row_picks_and_routes_the_gradient() -> None:
    row = ops.row("gather")
    assert (row.arity, row.symbol, row.python_name) == (ops.NARY, "gather", "gather")
    assert row.forward(10.0, 20.0, 30.0, 1.0) == 20.0
    assert row.all_partials(10.0, 20.0, 30.0, 2.0, 30.0) == (0.0, 0.0, 1.0, 0.0)
    x, y = Value(0.3), Value(-1.2)
    out = mg.gather([x * x, y.tanh(), 4.0], 1)
    assert out.data == math.tanh(-1.2) and engine.operands(out)[2:] == (4.0, 1.0)
    assert mg.gradcheck(lambda a, b: mg.gather([a * b, b.exp(), a], 0) * a, [0.4, -0.7])
    assert mg.gradcheck(lambda a, b: mg.gather([a * b, b.exp(), a], 1), [0.4, -0.7])
    (g,) = mg.grad(mg.gather([x * x, y], 0), [x], create_graph=True)  # d/dx x² = 2x, d²/dx² = 2
    assert g.data == pytest.approx(0.6) and mg.grad(g, [x]) == [2.0]


@settings(max_examples=30, database=None)
@given(expressions(max_ops=4, ops=["gather", "*", "tanh", "+"]))
def test_expressions_with_gather_match_finite_differences(expr: Any) -> None:
    assert_gradients_match(expr, expr.inputs)


def test_compiled_expressions_with_gather_match_eager() -> None:
    p, q = Value(0.7), Value(-1.3)

    def fn(a: Value, b: Value, i: Value) -> Value:
        return mg.gather([a * p, b * q, 0.5, (a * b).tanh()], i) * mg.gather([p, q], 1) + mg.gather([a, b], 0)

    fast = mg.compile(fn)
    rng = np.random.default_rng(4)
    A, B, ids = rng.normal(size=40), rng.normal(size=40), rng.integers(0, 4, 40)
    extremes = [math.inf, -math.inf, math.nan, 0.0, 1e308]
    A[:5], B[:5] = extremes, extremes[::-1]
    outs = fast(A, B, ids)
    eager = [fn(Value(a), Value(b), Value(float(i))) for a, b, i in zip(A, B, ids)]
    np.testing.assert_allclose(outs, [e.data for e in eager], rtol=1e-13, atol=1e-15)  # np.tanh rounds too
    want = [math.fsum(mg.grad(e, [v])[0] for e in eager[5:]) for v in (p, q)]
    p.grad = q.grad = 0.0
    fast.backward(A[5:], B[5:], ids[5:], reduction="sum")
    assert [p.grad, q.grad] == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------- mg.compile with integer columns


class TinyLM(mg.nn.Module):
    """Two context ids → embeddings (7 × 3) → 5 logits."""

    def __init__(self) -> None:
        self.emb = Embedding(7, 3, seed=4)
        self.hidden = mg.nn.Layer(6, 8, activation="tanh", seed=5)
        self.out = mg.nn.Layer(8, 5, activation="linear", seed=6)

    def loss(self, a: Any, b: Any, target: Any) -> Value:
        return F.cross_entropy(self.out(self.hidden([*self.emb(a), *self.emb(b)])), target)


def eager_sums(model: TinyLM, rows: list[tuple[int, int, int]]) -> tuple[list[float], list[float]]:
    """Each row's loss, and the sum of the rows' gradients, from the eager engine with int ids."""
    losses = []
    model.zero_grad()
    for a, b, t in rows:
        loss = model.loss(a, b, t)
        loss.backward()
        losses.append(loss.data)
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    return losses, grads


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_compiled_integer_columns_match_eager_loops(batch: int) -> None:
    model = TinyLM()
    rng = np.random.default_rng(batch)
    A, B, T = rng.integers(0, 7, batch), rng.integers(0, 7, batch), rng.integers(0, 5, batch)
    A[: batch // 2] = 3  # repeated ids in one batch: their gradients must add up
    rows = list(zip(A.tolist(), B.tolist(), T.tolist()))
    losses, grads = eager_sums(model, rows)
    fast = mg.compile(model.loss)
    np.testing.assert_allclose(fast(A, B, T), losses, rtol=1e-13)
    total = fast.backward(A, B, T, reduction="sum")
    assert total == pytest.approx(math.fsum(losses), rel=1e-13)
    np.testing.assert_allclose([p.grad for p in model.parameters()], grads, rtol=1e-10, atol=1e-14)
    assert fast.verify(A, B, T)
    # lists of ints are integer columns too; a later batch of another size reuses the trace
    model.zero_grad()
    fast.backward(A.tolist(), B.tolist(), T.tolist(), reduction="sum")
    np.testing.assert_allclose([p.grad for p in model.parameters()], grads, rtol=1e-10, atol=1e-14)


def test_rows_that_look_up_the_same_id_add_their_gradients() -> None:
    emb = Embedding(5, 2, seed=0)
    fast = mg.compile(lambda t: emb(t)[0] * 2 + emb(t)[1])
    fast.backward(np.array([3, 3, 1, 3]), reduction="sum")
    assert [[p.grad for p in row] for row in emb.weight] == [
        [0.0, 0.0], [2.0, 1.0], [0.0, 0.0], [6.0, 3.0], [0.0, 0.0]
    ]


def test_the_compiled_lookup_is_per_row_not_frozen_at_the_traced_id() -> None:
    emb = Embedding(4, 1, seed=1)
    fast = mg.compile(lambda t: emb(t)[0])
    ids = np.array([2, 0, 3, 1, 2])
    assert fast(ids).tolist() == [emb.weight[i][0].data for i in ids]


def test_compiled_cross_entropy_with_an_integer_target_scores_each_row() -> None:
    w = Value(1.0)

    def loss(a: Value, b: Value, c: Value, t: Value) -> Value:
        return F.cross_entropy([a * w, b, c], t)

    fast = mg.compile(loss)
    X = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5], [0.2, 0.2, 4.0], [-740.0, -745.0, -750.0]])
    T = np.array([2, 0, 1, 1])
    expected = [F.cross_entropy(list(x), int(t)).data for x, t in zip(X.tolist(), T)]
    np.testing.assert_allclose(fast(*X.T, T), expected, rtol=1e-13)
    assert expected[3] == pytest.approx(5 + math.log1p(math.exp(-5) + math.exp(-10)))
    fast.backward(*X.T, T, reduction="sum")
    # ∂/∂w = Σ_rows a · (softmax_0 − [t = 0])
    want = 0.0
    for x, t in zip(X.tolist(), T):
        p0 = F.softmax(x)[0].data
        want += x[0] * (p0 - (1.0 if t == 0 else 0.0))
    assert w.grad == pytest.approx(want, rel=1e-12)


def test_compiled_softmax_shifts_each_row_by_its_own_max() -> None:
    # Traced on [0, 0] (shift 0); the row [−740, −745] needs the shift −740.
    fast = mg.compile(lambda a, b: F.softmax([a, b])[1])
    out = fast([0.0, -740.0], [0.0, -745.0])
    assert out[0] == 0.5
    assert out[1] == pytest.approx(1.0 / (1.0 + math.exp(5.0)), rel=1e-12)  # 0.0067; a frozen shift: 0.0116
    p = Value(1.0)
    ce = mg.compile(lambda a, b, t: F.cross_entropy([a * p, b], t))
    loss = ce.backward([0.0, -740.0], [0.0, -745.0], [1, 0], reduction="sum")
    # row 0: log 2; row 1: −log softmax[0] = log(1 + e⁻⁵)
    assert loss == pytest.approx(math.log(2.0) + math.log1p(math.exp(-5.0)), rel=1e-12)
    # ∂/∂p = Σ a · (softmax_0 − [t = 0]): row 0 adds 0 · …, row 1 adds −740 · (σ(5) − 1)
    assert p.grad == pytest.approx(-740.0 * (1.0 / (1.0 + math.exp(-5.0)) - 1.0), rel=1e-12)


def test_an_id_out_of_range_at_call_time_names_the_column_and_row() -> None:
    model = TinyLM()
    fast = mg.compile(model.loss)
    A, B, T = np.array([1, 2, 3]), np.array([0, 7, 2]), np.array([0, 1, 4])
    fast(A, np.array([0, 1, 2]), T)  # traced
    before = [p.data for p in model.parameters()]
    with pytest.raises(IndexError, match=r"mg.compile: column 1 \('b'\), row 1: gather: index 7 is out of "
                                         r"range for 7 items \(0 to 6\)"):
        fast.backward(A, B, T)
    with pytest.raises(IndexError, match=r"column 2 \('target'\), row 2: gather: index 5 is out of range"):
        fast(A, A, np.array([0, 1, 5]))
    with pytest.raises(IndexError, match=r"column 0 \('a'\), row 0: gather: index -1 is out of range"):
        fast(np.array([-1, 0, 0]), A, T)  # numpy would read -1 as the last row
    with pytest.raises(IndexError, match=r"column 0 \('a'\), row 2: gather: index 1.5 is not a whole number"):
        fast(np.array([1.0, 0.0, 1.5]), A, T)
    assert [p.data for p in model.parameters()] == before
    assert all(p.grad == 0.0 for p in model.parameters())


def test_an_id_out_of_range_on_the_traced_row_is_named() -> None:
    model = TinyLM()
    fast = mg.compile(model.loss)
    with pytest.raises(IndexError, match=r"tracing fn on row 0 of the columns: Embedding: token id 9 is out "
                                         r"of range for 7 rows"):
        fast(np.array([9, 0]), np.array([0, 0]), np.array([0, 0]))


def test_one_embedding_at_several_context_positions_compiles() -> None:
    # dim 1: the three lookups read the same table (one shared block), each with its own id column
    emb = Embedding(5, 1, seed=0)
    w = [Value(1.0), Value(2.0), Value(3.0)]

    def fn(a: Value, b: Value, c: Value) -> Value:
        return mg.dot(w, [emb(a)[0], emb(b)[0], emb(c)[0]]).tanh()

    rng = np.random.default_rng(0)
    cols = [rng.integers(0, 5, 20) for _ in range(3)]
    params = [*emb.parameters(), *w]
    for r in range(20):
        fn(*[int(c[r]) for c in cols]).backward()
    want = [p.grad for p in params]
    mg.zero_grad(params)
    mg.compile(fn).backward(*cols, reduction="sum")
    np.testing.assert_allclose([p.grad for p in params], want, rtol=1e-12, atol=1e-14)
