"""Tests of the property-testing toolkit itself (micrograd_tw.testing).

A checker that never fails is worse than none, so most tests here break the
engine on purpose (a wrong partial in one row of the op table, a gradient
that is overwritten instead of accumulated) and show that the toolkit
catches it and shrinks the failure to a small graph.
"""

import dataclasses
import math
import subprocess
import sys

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import micrograd_tw as mg
from micrograd_tw import engine, ops, testing
from micrograd_tw.engine import Value
from micrograd_tw.testing import (
    DOMAINS,
    Domain,
    Expression,
    Node,
    assert_gradients_match,
    assert_second_derivatives_match,
    expressions,
    operands,
)

# For hypothesis.find: search until found, shrink, and skip the (slow) explain phase.
FIND = settings(database=None, max_examples=2000, phases=[Phase.generate, Phase.shrink])


def patch_row(monkeypatch, name, partials):
    """Replace op ``name``'s partials in the table *and* in the Value methods built from it.

    The engine binds methods from the rows at import, so the row alone would
    only reach the create_graph path; the engine's own factories rebuild them.
    """
    bad = dataclasses.replace(ops.OPS[name], partials=partials)
    monkeypatch.setitem(ops.OPS, name, bad)
    for method_name, method in engine.methods_from_row(bad).items():
        monkeypatch.setattr(Value, method_name, method)


def gradients_wrong(expr):
    try:
        assert_gradients_match(expr, expr.inputs)
    except AssertionError:
        return True
    return False


def evaluate_floats(expr, xs):
    """Every slot's value, computed on floats from the op table's forwards (not the engine)."""
    slots = list(xs)
    for node in expr.nodes:
        args = [slots[a] if isinstance(a, int) else a for a in node.args]
        if node.op == "sum":
            slots.append(math.fsum(args))
        elif node.op == "dot":
            half = len(args) // 2
            slots.append(math.fsum(w * x for w, x in zip(args[:half], args[half:])))
        elif node.op in ("max", "min"):
            slots.append({"max": max, "min": min}[node.op](args))
        else:
            slots.append(ops.OPS[node.op].forward(*args))
    return slots


# ------------------------------------------------------------ the import


def test_import_micrograd_tw_does_not_import_hypothesis():
    code = "import micrograd_tw, sys; assert 'hypothesis' not in sys.modules, 'hypothesis was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------ drawn graphs are sound


@given(expressions())
def test_every_drawn_graph_evaluates_without_domain_error(expr):
    with mg.detect_anomaly():  # raises on any non-finite value or gradient
        xs = [Value(x) for x in expr.inputs]
        out = expr(*xs)
        out.backward()
    # Finite differences evaluate at x ± eps: the neighbourhood is inside every domain too.
    for sign in (1.0, -1.0):
        assert math.isfinite(expr(*[x + sign * 1e-4 for x in expr.inputs]).data)


@given(expressions())
def test_every_operand_is_inside_its_region_at_the_drawn_point(expr):
    slots = evaluate_floats(expr, expr.inputs)
    for node in expr.nodes:
        if node.guard:  # a shift (+ has no region) or a division by a power of two
            continue
        for arg, region in zip(node.args, DOMAINS.get(node.op, ())):
            if region is None:
                continue
            v = slots[arg] if isinstance(arg, int) else arg
            # Guards round their shift to 0.01, so allow that much below the edge.
            slack = Domain(max(region.lo - 0.01, 0.0) if region.symmetric else region.lo - 0.01,
                           region.hi + 0.01, region.symmetric)
            assert v in slack, f"{node.op} operand {v} is outside {region} in {expr!r}"
        assert abs(slots[-1]) <= 64.0  # bounded values: nothing near overflow


@given(expressions())
def test_the_drawn_callable_is_the_formula_it_prints(expr):
    # The engine's forward equals the same nodes evaluated on floats.
    assert expr(*expr.inputs).data == pytest.approx(evaluate_floats(expr, expr.inputs)[-1], rel=1e-12,
                                                     abs=1e-12)
    assert repr(expr).startswith("Expression(f(x0")
    n = len(expr.inputs)
    # Pruned: every node but the output is read by a later node.
    read = {a for node in expr.nodes for a in node.args if isinstance(a, int)}
    assert all(n + k in read for k in range(len(expr.nodes) - 1))


@pytest.mark.parametrize("op", sorted(ops.OPS))
def test_every_op_is_drawn_and_shrinks_to_itself(op):
    minimal = find(expressions(), lambda e: op in e.drawn_ops, settings=FIND)
    assert minimal.size <= 2, minimal  # the op, and at most a guard on its operand
    assert len(minimal.inputs) == 1


def test_shared_subexpressions_are_drawn():
    def shared(e):
        read = [a for node in e.nodes for a in node.args if isinstance(a, int) and a >= len(e.inputs)]
        return len(read) != len(set(read))

    minimal = find(expressions(), shared, settings=FIND)
    assert minimal.size == 2 and ", t1 = " in repr(minimal), repr(minimal)


def test_a_new_row_of_the_table_is_drawn_and_checked(restore_op_table):
    ops.define("softplus", lambda a: math.log1p(math.exp(a)), lambda a, out: ops.sigmoid(a))
    minimal = find(expressions(), lambda e: "softplus" in e.ops, settings=FIND)
    assert minimal.size <= 2 and minimal.nodes[-1].op == "softplus", minimal
    # Defined without a domain, its operand is kept in the default region.
    slots = evaluate_floats(minimal, minimal.inputs)
    assert slots[minimal.nodes[-1].args[0]] in Domain(0.49, 2.01)

    @settings(database=None, max_examples=30)
    @given(expressions(ops=["softplus", "*", "+"]))
    def check(expr):
        assert_gradients_match(expr, expr.inputs)

    check()


def test_expression_repr_names_shared_nodes_and_keeps_precedence():
    # f = tanh(t1 + t1) with t1 = x0 * x1, then (-x0) ** 2 and 1 - (x0 - x1): parentheses where needed.
    e = Expression([0.5, 2.0], [Node("*", (0, 1)), Node("+", (2, 2)), Node("tanh", (3,))])
    assert repr(e) == "Expression(f(x0, x1) = tanh(t1 + t1), t1 = x0 * x1; at x0=0.5, x1=2.0)"
    assert e(Value(0.5), Value(2.0)).data == pytest.approx(math.tanh(2.0))
    e = Expression([1.5], [Node("neg", (0,)), Node("**", (1, 2.0)), Node("-", (-2.5, 2))])
    assert repr(e) == "Expression(f(x0) = -2.5 - ((-x0) ** 2.0); at x0=1.5)"
    assert e(Value(1.5)).data == pytest.approx(-2.5 - 1.5**2)
    with pytest.raises(TypeError, match="takes 1 inputs, got 2"):
        e(1.0, 2.0)


def test_expression_refuses_malformed_nodes():
    with pytest.raises(ValueError, match=r"node 1 \('tanh'\) reads slot 2; only slots 0..1"):
        Expression([1.0], [Node("neg", (0,)), Node("tanh", (2,))])
    with pytest.raises(ValueError, match="has 1 operands"):
        Expression([1.0], [Node("*", (0,))])
    with pytest.raises(ValueError, match="unknown op 'sinh'"):
        Expression([1.0], [Node("sinh", (0,))])
    with pytest.raises(TypeError, match="got True"):
        Expression([1.0], [Node("+", (0, True))])
    with pytest.raises(ValueError, match="at least one node"):
        Expression([1.0], [])


def test_expressions_refuses_bad_arguments():
    with pytest.raises(ValueError, match="unknown op 'sinh'"):
        expressions(ops=["tanh", "sinh"])
    with pytest.raises(ValueError, match="max_ops"):
        expressions(max_ops=0)
    with pytest.raises(ValueError, match="max_inputs"):
        expressions(max_inputs=True)
    with pytest.raises(ValueError, match="takes 1 operands"):
        expressions(domains={"log": (Domain(1.0, 2.0), None)})
    with pytest.raises(ValueError, match="lo must be below hi"):
        Domain(2.0, 1.0)


@given(expressions(max_inputs=1, max_ops=2, ops=["log"], domains={"log": (Domain(5.0, 6.0),)}))
def test_domains_override_the_table(expr):
    slots = evaluate_floats(expr, expr.inputs)
    for node in expr.nodes:
        if node.op == "log":
            assert 4.99 <= slots[node.args[0]] <= 6.01


@pytest.mark.parametrize("op", [*ops.UNARY, *ops.BINARY])
def test_operands_are_inside_the_domain(op):
    @settings(database=None, max_examples=20)
    @given(operands(op))
    def check(args):
        assert len(args) == ops.OPS[op].arity
        for v, region in zip(args, DOMAINS[op]):
            assert region is None or v in region
        ops.OPS[op].forward(*args)  # no domain error

    check()


def test_operands_refuses_unknown_and_nary_ops():
    with pytest.raises(ValueError, match="unknown op 'sinh'"):
        operands("sinh")
    with pytest.raises(ValueError, match="n-ary"):
        operands("dot")


# ------------------------------------------------ the toolkit catches bugs


def test_a_wrong_unary_partial_is_caught_and_shrinks_to_that_op(monkeypatch):
    patch_row(monkeypatch, "tanh", (lambda a, out: 1.0 - out,))  # the right one is 1 − out²

    @settings(database=None, max_examples=200)
    @given(expressions())
    def property_test(expr):
        assert_gradients_match(expr, expr.inputs)

    with pytest.raises(AssertionError, match="does not match") as info:
        property_test()
    # hypothesis reports the shrunk graph as a formula.
    assert "expr=Expression(f(x0) = tanh(x0); at x0=" in "\n".join(info.value.__notes__)
    minimal = find(expressions(), gradients_wrong, settings=FIND)
    assert minimal.ops == {"tanh"} and minimal.size == 1, minimal


def test_a_wrong_binary_partial_is_caught_and_shrinks_to_that_op(monkeypatch):
    # ∂/∂b has the wrong sign
    patch_row(monkeypatch, "/", (lambda a, b, out: 1.0 / b, lambda a, b, out: out / b))
    minimal = find(expressions(), gradients_wrong, settings=FIND)
    assert "/" in minimal.ops and minimal.size <= 2, minimal
    assert len(minimal.inputs) == 1


def test_a_wrong_partial_on_the_constant_path_is_caught(monkeypatch):
    # Only `c ** x` (a constant base) is wrong: ∂/∂b drops ln a.  Graphs with
    # constants on either side of a binary op reach it.
    right_a, _ = ops.OPS["**"].partials
    bad = dataclasses.replace(ops.OPS["**"], partials=(right_a, lambda a, b, out: out))
    monkeypatch.setattr(Value, "__rpow__", engine.methods_from_row(bad)["__rpow__"])
    minimal = find(expressions(), gradients_wrong, settings=FIND)
    assert minimal.ops <= {"**", "+"} and minimal.size <= 2, minimal
    assert isinstance(minimal.nodes[-1].args[0], float), minimal  # the constant base


def test_a_gradient_overwritten_instead_of_accumulated_is_caught_on_a_shared_node(monkeypatch):
    # micrograd's classic bug: `grad = ...` instead of `grad += ...`.  Only a
    # node that feeds two consumers (or one consumer twice) shows it.
    def overwriting_grad(output, inputs, create_graph=False):
        pending, found = {output: 1.0}, {}
        for node in reversed(mg.toposort(output)):
            g = pending.pop(node, 0.0)
            found[node] = g
            for parent, partial in zip(mg.engine.parents(node), mg.engine.local_partials(node)):
                pending[parent] = partial * g  # the bug
        return [found.get(x, 0.0) for x in inputs]

    monkeypatch.setattr(sys.modules["micrograd_tw.gradcheck"], "grad", overwriting_grad)
    monkeypatch.setattr(testing, "grad", overwriting_grad)
    minimal = find(expressions(), gradients_wrong, settings=FIND)
    read = [a for node in minimal.nodes for a in node.args if isinstance(a, int)]
    assert len(read) != len(set(read)), minimal  # some slot is read twice
    assert minimal.size <= 2, minimal


def test_a_wrong_second_derivative_is_caught_while_first_derivatives_pass(monkeypatch):
    # Only the table row is wrong, so only the create_graph path sees it.
    wrong = dataclasses.replace(ops.UNARY["tanh"], partials=(lambda a, out: 1.0 - out * out * 0.5
                                                             if isinstance(a, float) else 1.0 - a * a,))
    monkeypatch.setitem(ops.OPS, "tanh", wrong)

    def second_wrong(expr):
        try:
            assert_second_derivatives_match(expr, expr.inputs)
        except AssertionError:
            return True
        return False

    minimal = find(expressions(), second_wrong, settings=FIND)
    assert minimal.ops == {"tanh"} and minimal.size == 1, minimal
    assert_gradients_match(minimal, minimal.inputs)  # first derivatives are right
    with pytest.raises(AssertionError, match="vᵀHv"):
        assert_second_derivatives_match(minimal, minimal.inputs, directional=True)


def test_with_the_real_engine_no_failing_graph_exists():
    # The same searches as above find nothing when nothing is broken.
    with pytest.raises(NoSuchExample):
        find(expressions(), gradients_wrong, settings=settings(database=None, max_examples=300))


# ------------------------------------------------- assert_gradients_match


def test_assert_gradients_match_passes_on_a_right_gradient():
    assert assert_gradients_match(lambda x, y: (x * y).tanh() + x.log(), [2.0, -0.5]) is None


def test_assert_gradients_match_names_the_input_and_both_values():
    # x · stop_gradient(x): backprop gives x, the true derivative of x² is 2x.
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(lambda x, y: x * x.detach() + y, [3.0, 1.0])
    message = str(info.value)
    assert "input 0 (x = 3.0)" in message
    assert "analytic 3.0" in message and "numeric 6.0" in message


def test_directional_check_uses_two_evaluations_and_reports_the_direction():
    calls = []

    def f(*xs):
        calls.append(1)
        return mg.dot(xs, xs)  # ∇f = 2x

    xs = [0.1 * i for i in range(40)]
    assert_gradients_match(f, xs)  # 40 > 16 inputs: directional by default
    assert len(calls) == 3  # one for backprop, two for the central difference

    def broken(*xs):
        return mg.dot(xs, xs) + xs[7] * xs[7].detach()

    with pytest.raises(AssertionError, match=r"random direction v = \[.*seed=5.*directional=False") as info:
        assert_gradients_match(broken, xs, seed=5)
    assert "analytic ∇f·v" in str(info.value)
    with pytest.raises(AssertionError, match=r"input 7 \(x = 0.7000000000000001\)"):
        assert_gradients_match(broken, xs, directional=False)


def test_directional_check_along_a_seeded_direction_is_reproducible():
    v1, v2, v3 = testing._direction(5, 1), testing._direction(5, 1), testing._direction(5, 2)
    assert v1 == v2 != v3
    assert math.fsum(c * c for c in v1) == pytest.approx(1.0)


def test_assert_gradients_match_refuses_bad_arguments():
    with pytest.raises(ValueError, match="eps"):
        assert_gradients_match(lambda x: x, [1.0], eps=0.0)
    with pytest.raises(ValueError, match="atol"):
        assert_gradients_match(lambda x: x, [1.0], atol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        assert_gradients_match(lambda x: x, [1.0], rtol=math.nan)
    with pytest.raises(TypeError, match="must return a Value"):
        assert_gradients_match(lambda x: 1.0, [1.0], directional=True)
    with pytest.raises(ValueError, match="at least one input"):
        assert_gradients_match(lambda: Value(1.0), [], directional=True)


def test_a_nan_gradient_is_a_failure():
    with pytest.raises(AssertionError):
        # abs'(0) · inf = NaN by backprop; the central difference is 0.
        assert_gradients_match(lambda x: abs(x) ** 0.5, [0.0])


# ---------------------------------------- assert_second_derivatives_match


def test_second_derivatives_pass_on_a_hand_checked_function():
    # f = x³y: the Hessian is [[6xy, 3x²], [3x², 0]].
    def f(x, y):
        return x**3 * y

    assert_second_derivatives_match(f, [1.5, -2.0])
    assert_second_derivatives_match(f, [1.5, -2.0], directional=True)
    x, y = Value(1.5), Value(-2.0)
    gx, gy = mg.grad(f(x, y), [x, y], create_graph=True)
    assert mg.grad(gx, [x, y]) == pytest.approx([6 * 1.5 * -2.0, 3 * 1.5**2])


def test_second_derivatives_name_the_entry(monkeypatch):
    wrong = dataclasses.replace(ops.UNARY["exp"], partials=(lambda a, out: out if isinstance(a, float)
                                                            else out * 2.0,))
    monkeypatch.setitem(ops.OPS, "exp", wrong)
    with pytest.raises(AssertionError, match=r"∂²f/∂x1∂x1 \(x1 = 0.5, x1 = 0.5\)") as info:
        assert_second_derivatives_match(lambda x, y: x + y.exp(), [1.0, 0.5])
    assert f"numeric {math.exp(0.5):.6f}"[:14] in str(info.value)


@given(st.floats(-2.0, 2.0, allow_subnormal=False), st.floats(-2.0, 2.0, allow_subnormal=False))
def test_second_derivatives_of_a_smooth_function_pass(x, y):
    assert_second_derivatives_match(lambda a, b: (a * b).sigmoid() * b.tanh() + a.gaussian(), [x, y])
