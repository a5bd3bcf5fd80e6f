"""mg.backward_steps and mg.forward_steps: backprop and the forward pass as data.

The reference for every amount is what ``root.backward()`` leaves in the
``.grad`` of a fresh copy of the same graph, or the chain rule worked by hand.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given

import micrograd_tw as mg
from micrograd_tw import engine, i18n
from micrograd_tw.steps import backward_lines, display_names, forward_lines
from micrograd_tw.testing import expressions


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def neuron():
    """The notes' neuron: y = tanh(x·w + b) at x = 1, w = −2, b = 0.5."""
    x, w, b = mg.Value(1.0, label="x"), mg.Value(-2.0, label="w"), mg.Value(0.5, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return x, w, b, y


def incoming(steps) -> dict:
    """Each node's incoming amounts, summed in the order backward adds them."""
    total: dict = {}
    for s in steps:
        for c in s.contributions:
            total[c.parent] = total[c.parent] + c.amount if c.parent in total else c.amount
    return total


# ------------------------------------------------------------------ backward


def test_neuron_by_hand():
    x, w, b, y = neuron()
    steps = mg.backward_steps(y)
    assert [s.node for s in steps][0] is y
    assert steps[0].grad == 1.0
    t = math.tanh(1.0 * -2.0 + 0.5)
    (c,) = steps[0].contributions  # tanh sends 1 − y² to its operand
    assert c.local == pytest.approx(1 - t * t) and c.amount == pytest.approx(1 - t * t)
    by_node = {s.node: s for s in steps}
    assert by_node[w].grad == pytest.approx((1 - t * t) * 1.0)
    assert by_node[x].grad == pytest.approx((1 - t * t) * -2.0)
    assert by_node[b].grad == pytest.approx(1 - t * t)
    assert by_node[w].contributions == ()  # a leaf sends nothing
    for s in steps:
        for c in s.contributions:
            assert c.amount == c.local * s.grad


def test_order_is_backwards_order_and_each_node_once():
    x, w, b, y = neuron()
    steps = mg.backward_steps(y)
    assert [s.node for s in steps] == list(reversed(mg.toposort(y)))
    assert len({id(s.node) for s in steps}) == len(steps) == 6


def test_x_times_x_has_two_edges_from_one_parent():
    x = mg.Value(3.0, label="x")
    y = x * x
    steps = mg.backward_steps(y)
    assert [c.parent for c in steps[0].contributions] == [x, x]
    assert [c.amount for c in steps[0].contributions] == [3.0, 3.0]
    assert steps[1].grad == 6.0  # 2x, the two edges added


def test_nary_sum_and_dot_with_constants():
    a, b, c = mg.Value(1.5, label="a"), mg.Value(-2.0, label="b"), mg.Value(0.25, label="c")
    s = mg.sum([a * b, 2.0, c])
    d = mg.dot([a, 3.0, c], [b, c, 4.0])  # a·b + 3c + 4c
    y = s * d
    steps = mg.backward_steps(y)
    by_node = {st.node: st for st in steps}
    assert len(by_node[s].contributions) == 2  # the constant 2 has no edge
    assert [c_.local for c_ in by_node[s].contributions] == [1.0, 1.0]
    # dot's parents: Value weights a, c then Value inputs b, c; ∂/∂w = x, ∂/∂x = w
    dot_step = by_node[d]
    assert [c_.parent for c_ in dot_step.contributions] == [a, c, b, c]
    assert [c_.local for c_ in dot_step.contributions] == [-2.0, 4.0, 1.5, 3.0]
    y.backward()
    for v in (a, b, c):
        assert by_node[v].grad == v.grad


@given(expressions(max_inputs=3, max_ops=8))
def test_amounts_sum_to_what_backward_gives(expr):
    """Any graph: each node's incoming amounts sum exactly to backward()'s grad, no .grad touched."""
    values = [mg.Value(x) for x in expr.inputs]
    root = expr(*values)
    before = [v.grad for v in mg.toposort(root)]
    steps = mg.backward_steps(root)
    assert [v.grad for v in mg.toposort(root)] == before  # nothing changed

    fresh = [mg.Value(x) for x in expr.inputs]
    fresh_root = expr(*fresh)
    fresh_root.backward()
    got = incoming(steps)
    for v, f in zip(values, fresh):
        assert same(got.get(v, 0.0), f.grad), (expr, v, got.get(v), f.grad)
    # and each step's grad is the node's final grad (the same graph, in the same order)
    for s, node in zip(steps, reversed(mg.toposort(fresh_root))):
        assert same(s.grad, node.grad)


def test_no_grad_changes_even_after_backward():
    x, w, b, y = neuron()
    y.backward()
    grads = [v.grad for v in (x, w, b, y)]
    mg.backward_steps(y)
    mg.forward_steps(y)
    assert [v.grad for v in (x, w, b, y)] == grads


def test_a_leaf_root_is_one_step():
    x = mg.Value(2.0)
    (s,) = mg.backward_steps(x)
    assert s.node is x and s.grad == 1.0 and s.contributions == ()


# ------------------------------------------------------------------ forward


def test_forward_steps_of_the_neuron():
    x, w, b, y = neuron()
    steps = mg.forward_steps(y)
    assert [s.node for s in steps] == mg.toposort(y)
    assert [s.op for s in steps[:3]] == ["", "", ""]  # the leaves first
    assert [s.op for s in steps[3:]] == ["*", "+", "tanh"]
    mul = steps[3]
    assert mul.inputs == (x, w) and mul.value == -2.0
    assert steps[-1].value == y.data


def test_forward_inputs_keep_constants_in_place():
    x = mg.Value(2.0, label="x")
    y = 3.0 - x
    z = x**3
    assert mg.forward_steps(y)[-1].inputs == (3.0, x)
    assert mg.forward_steps(z)[-1].inputs == (x, 3.0)
    d = mg.dot([x, 2.0], [5.0, x])
    assert mg.forward_steps(d)[-1].inputs == (x, 2.0, 5.0, x)


def test_lines_write_the_chain_rule_out():
    x, w, b, y = neuron()
    steps = mg.backward_steps(y)
    names = display_names(list(reversed([s.node for s in steps])))
    lines = backward_lines(steps, names)
    assert len(lines) == len(steps) + 1
    mul_line = lines[2]  # the product x·w, reached third
    assert "∂y/∂w += ∂v1/∂w × ∂y/∂v1 = 1 × 0.1807 = 0.1807" in mul_line
    assert "∂y/∂x += ∂v1/∂x × ∂y/∂v1 = −2 × 0.1807 = −0.3614" in mul_line
    fwd = forward_lines(mg.forward_steps(y), names)
    assert "v1 = x * w = 1 * −2 = −2" in fwd
    assert "y = tanh(v2) = tanh(−1.5) = −0.9051" in fwd


def test_lines_words_follow_the_language_and_the_arithmetic_does_not():
    x, w, b, y = neuron()
    steps = mg.backward_steps(y)
    fsteps = mg.forward_steps(y)
    names = display_names(list(reversed([s.node for s in steps])))
    english = backward_lines(steps, names), forward_lines(fsteps, names)
    with i18n.use_language("zh-TW"):
        chinese = backward_lines(steps, names), forward_lines(fsteps, names)
    back, fwd = english
    assert back[-1] == "done: every grad is what y.backward() gives."
    assert "x is a leaf: its grad is final." in " ".join(back)
    assert "x = 1 (a leaf: given)" in fwd and fwd[-1] == "done: y = −0.9051"
    back_zh, fwd_zh = chinese
    assert back_zh[-1] == "完成：每個梯度都和 y.backward() 算出的一樣。"
    assert "x 是葉節點：它的梯度不會再變了。" in " ".join(back_zh)
    assert "x = 1（葉節點：給定的值）" in fwd_zh and fwd_zh[-1] == "完成：y = −0.9051"
    # the chain rule in numbers is notation: the same in both languages
    assert back_zh[2] == back[2] and "∂y/∂x += ∂v1/∂x × ∂y/∂v1 = −2 × 0.1807 = −0.3614" in back_zh[2]
    assert fwd_zh[3] == fwd[3] == "v1 = x * w = 1 * −2 = −2"


def test_names_skip_labels_already_taken():
    a = mg.Value(1.0, label="v1")
    y = (a * 2.0).exp() + 1.0
    names = display_names(mg.toposort(y))
    assert names[a] == "v1"
    assert sorted(names.values()) == ["out", "v1", "v2", "v3"]


# ------------------------------------------------------------------ limits and bad input


@pytest.mark.parametrize("fn", [mg.backward_steps, mg.forward_steps])
def test_root_must_be_a_value(fn):
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        fn(1.0)
    with pytest.raises(TypeError, match="got list"):
        fn([mg.Value(1.0)])


def test_big_graph_refused_with_its_size_and_what_to_do():
    x = mg.Value(1.0)
    y = x
    for _ in range(150):
        y = y * 1.01 + 0.5  # two nodes per round: 301 in all
    with pytest.raises(ValueError) as err:
        mg.backward_steps(y)
    msg = str(err.value)
    assert "301 nodes" in msg and "max_steps=200" in msg
    assert "intermediate Value as the root" in msg and "max_steps=301" in msg
    assert len(mg.backward_steps(y, max_steps=301)) == 301
    with pytest.raises(ValueError, match="301 nodes"):
        mg.forward_steps(y)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_max_steps_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="max_steps must be a positive int"):
        mg.backward_steps(mg.Value(1.0), max_steps=bad)


def test_counting_stops_early_on_a_huge_graph():
    # the limit check must not walk a huge graph twice before refusing it
    x = mg.Value(1.0)
    xs = [x * float(i) for i in range(5000)]
    y = mg.sum(xs)
    calls = []
    real = engine.toposort

    def counting(root):
        calls.append(root)
        return real(root)

    engine.toposort = counting
    try:
        with pytest.raises(ValueError, match="5,002 nodes"):
            mg.backward_steps(y)
    finally:
        engine.toposort = real
    assert len(calls) == 1  # once, for the exact count in the message


def test_forward_arithmetic_in_numbers():
    x, w, b, y = neuron()
    steps = mg.forward_steps(y)
    assert [s.arithmetic for s in steps[3:]] == ["1 * −2 = −2", "−2 + 0.5 = −1.5", "tanh(−1.5) = −0.9051"]
    assert steps[0].arithmetic == "0.5"  # a leaf: its value
    d = mg.forward_steps(mg.dot([x, 2.0], [3.0, w]))[-1]
    assert d.arithmetic == "1·3 + 2·−2 = −1"


# ------------------------------------------------------------------ ops defined by users
# mg.ops.define arrives with the engine branch; until then these skip, saying so.


def define(name, forward, partials):
    if not hasattr(mg.ops, "define"):
        pytest.skip("mg.ops.define is not in this engine yet")
    return mg.ops.define(name, forward, partials)


def test_user_defined_op_steps_through():
    cube = define("steps_test_cube", lambda a: a**3, lambda a, out: 3 * a * a)
    x = mg.Value(2.0, label="x")
    y = cube(x) * x  # x⁴: ∂y/∂x = 4x³ = 32
    y.label = "y"
    steps = mg.backward_steps(y)
    by_node = {s.node: s for s in steps}
    c = next(s for s in steps if s.node.op == "steps_test_cube")
    assert [(k.parent, k.local) for k in c.contributions] == [(x, 12.0)]
    assert by_node[x].grad == 32.0
    f = next(s for s in mg.forward_steps(y) if s.op == "steps_test_cube")
    assert f.inputs == (x,) and f.arithmetic.endswith("(2) = 8")
    assert "steps_test_cube" in mg.draw_dot(y, step=1).source
