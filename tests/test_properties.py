"""Property tests of the engine on whole graphs: random expressions and random MLPs.

Per-op checks live in test_ops.py; these draw graphs where ops feed each
other and nodes are shared, which is where accumulation and ordering bugs
hide.  Every expected value is a central finite difference.
"""

import pytest
from hypothesis import given

import micrograd_tw as mg
from micrograd_tw.engine import Value
from micrograd_tw.testing import (
    KINK_MARGIN,
    MLPCase,
    assert_gradients_match,
    assert_second_derivatives_match,
    expressions,
    mlps,
)

# ------------------------------------------------------------ random graphs


@given(expressions())
def test_grad_of_random_graphs_matches_finite_differences(expr):
    assert_gradients_match(expr, expr.inputs)


@given(expressions(max_inputs=3, max_ops=10))
def test_backward_of_random_graphs_matches_finite_differences(expr):
    # .backward() is a separate path from mg.grad: check it on its own.
    xs = [Value(x) for x in expr.inputs]
    expr(*xs).backward()
    numeric = mg.numerical_grad(expr, expr.inputs)
    assert [x.grad for x in xs] == pytest.approx(numeric, rel=1e-3, abs=1e-5)


@given(expressions())
def test_a_second_backward_adds_the_same_gradient_again(expr):
    xs = [Value(x) for x in expr.inputs]
    out = expr(*xs)
    out.backward()
    first = [x.grad for x in xs]
    out.backward()
    assert [x.grad for x in xs] == [2.0 * g for g in first]  # doubling a float is exact


@given(expressions(max_ops=10))
def test_random_graphs_along_a_random_direction(expr):
    assert_gradients_match(expr, expr.inputs, directional=True)


@given(expressions())
def test_second_derivatives_of_random_graphs_match_differences_of_first(expr):
    assert_second_derivatives_match(expr, expr.inputs)


# ---------------------------------------------------------------------- MLPs


@given(mlps())
def test_mlp_gradients_along_a_random_direction(case):
    # With respect to every weight, bias and input at once: two evaluations.
    assert_gradients_match(case, case.inputs, directional=True)


@given(mlps(max_nin=2, max_hidden_layers=1, max_width=3))
def test_mlp_gradients_per_parameter(case):
    assert_gradients_match(case, case.inputs, directional=False)


@given(mlps(max_nin=2, max_hidden_layers=1, max_width=3))
def test_mlp_second_derivatives_along_a_random_direction(case):
    assert_second_derivatives_match(case, case.inputs, directional=True)


@given(mlps())
def test_mlp_backward_fills_the_parameters_grads_that_grad_returns(case):
    model = case.model
    params = model.parameters()
    out = model(list(case.x))
    (out if isinstance(out, Value) else mg.sum(out)).backward()
    values = [Value(v) for v in case.inputs]
    expected = mg.grad(case(*values), values)[: len(params)]
    assert [p.grad for p in params] == pytest.approx(expected, rel=1e-12, abs=1e-15)


# ----------------------------------------------------- the MLP case itself


@given(mlps(activations=["relu"]))
def test_relu_neurons_of_a_drawn_mlp_are_off_their_kink(case):
    signal = list(case.x)
    for layer in case.model.layers:
        stimuli = [sum(w.data * s for w, s in zip(n.w, signal)) + n.b.data for n in layer.neurons]
        if layer.neurons[0].activation == "relu":
            assert all(abs(z) >= KINK_MARGIN - 1e-12 for z in stimuli), stimuli
            signal = [max(z, 0.0) for z in stimuli]
        else:
            signal = [n(signal).data for n in layer.neurons]


def test_mlp_case_calls_the_model_with_the_given_parameters_and_restores_it():
    model = mg.nn.MLP(2, [3, 2], activation="tanh", output_activation="sigmoid", seed=4)
    case = MLPCase(model, [0.5, -1.0], seed=4)
    before = [p.data for p in model.parameters()]
    own = case(*[Value(v) for v in case.inputs])
    outs = model([0.5, -1.0])
    assert own.data == pytest.approx(outs[0].data + outs[1].data, rel=1e-15)
    # Other parameter values: the first weight set to 0 changes the output.
    changed = list(case.inputs)
    changed[0] = 0.0
    assert case(*[Value(v) for v in changed]).data != own.data
    assert [p.data for p in model.parameters()] == before
    assert repr(case) == (
        "MLPCase(MLP(2, [3, 2], activation='tanh', output_activation='sigmoid', seed=4), x=[0.5, -1.0])"
    )
    with pytest.raises(TypeError, match="takes 17 parameters and 2 inputs, got 3"):
        case(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="takes 2 inputs, x has 1"):
        MLPCase(model, [1.0])
