"""Networks: Neuron, Layer, MLP and the Module base class (state dicts in test_nn_io.py)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import micrograd_tw as mg
from micrograd_tw.nn import MLP, Layer, Module, Neuron

ACTS = {
    "relu": lambda z: max(0.0, z),
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "tanh": math.tanh,
    "gaussian": lambda z: math.exp(-z * z),
    "linear": lambda z: z,
}


# ------------------------------------------------------------------ Neuron


@pytest.mark.parametrize("act", list(ACTS))
def test_neuron_computes_phi_of_weighted_sum_plus_bias(act):
    n = Neuron(3, activation=act, seed=1)
    n.b.data = 0.25
    x = [0.5, -1.5, 2.0]
    z = sum(w.data * xi for w, xi in zip(n.w, x)) + 0.25
    assert n(x).data == pytest.approx(ACTS[act](z), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "gaussian"])
def test_neuron_is_three_nodes_dot_plus_activation(act):
    n = Neuron(2, activation=act, seed=0)
    out = n([1.0, 2.0])
    assert out.op == act
    (plus,) = mg.engine.parents(out)
    assert plus.op == "+"
    stimulus, bias = mg.engine.parents(plus)
    assert stimulus.op == "dot" and bias is n.b
    assert set(mg.engine.parents(stimulus)) == set(n.w)  # numbers as inputs are not nodes


def test_linear_neuron_has_no_activation_node():
    n = Neuron(2, activation="linear", seed=0)
    out = n([1.0, 2.0])
    assert out.op == "+" and mg.engine.parents(out)[0].op == "dot"


def test_neuron_gradients_match_hand_derivation():
    # h = tanh(w1 x1 + w2 x2 + b): ∂h/∂wᵢ = (1 − h²) xᵢ, ∂h/∂b = 1 − h², ∂h/∂xᵢ = (1 − h²) wᵢ.
    n = Neuron(2, activation="tanh", seed=3)
    x = [mg.Value(0.7), mg.Value(-1.2)]
    h = n(x)
    h.backward()
    d = 1.0 - h.data**2
    for w, xi in zip(n.w, x):
        assert w.grad == pytest.approx(d * xi.data, rel=1e-12)
        assert xi.grad == pytest.approx(d * w.data, rel=1e-12)
    assert n.b.grad == pytest.approx(d, rel=1e-12)


def test_callable_activation():
    def swish(z):
        return z * z.sigmoid()

    n = Neuron(2, activation=swish, seed=0)
    assert n.activation == "swish"
    x = [1.0, -0.5]
    z = n.w[0].data * 1.0 + n.w[1].data * -0.5 + n.b.data
    assert n(x).data == pytest.approx(z / (1.0 + math.exp(-z)), rel=1e-12)
    assert MLP(2, [3, 1], activation=swish, seed=0).layers[0].activation == "swish"


@pytest.mark.parametrize("bad", ["softmax", "ReLU", "", 3, None])
def test_unknown_activation_lists_the_choices(bad):
    for make in (lambda: Neuron(2, activation=bad), lambda: MLP(2, [2, 1], output_activation=bad)):
        with pytest.raises(ValueError, match="unknown activation") as e:
            make()
        for name in ("relu", "sigmoid", "tanh", "gaussian", "linear", "callable"):
            assert name in str(e.value)


def test_labels_follow_the_notes():
    n = Neuron(3, seed=0)
    assert [w.label for w in n.w] == ["w1", "w2", "w3"]
    assert n.b.label == "b"


@pytest.mark.parametrize(
    "model, who, nin",
    [(Neuron(3, seed=0), "Neuron", 3), (Layer(3, 2, seed=0), "Layer", 3), (MLP(3, [2, 1], seed=0), "MLP", 3)],
)
@pytest.mark.parametrize("x", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0], []])
def test_wrong_input_length_names_both_sizes(model, who, nin, x):
    with pytest.raises(ValueError, match=f"{who} expects {nin} inputs, got {len(x)}"):
        model(x)


def test_a_single_number_is_not_an_input_list():
    with pytest.raises(TypeError, match=r"MLP takes one sample, a list of 2 inputs; got one number \(1.0\)"):
        MLP(2, [1], seed=0)(1.0)


def test_inputs_may_be_values_tuples_numpy_rows_or_generators():
    model = MLP(2, [4, 1], seed=0)
    expected = model([0.5, -1.0]).data
    assert model((0.5, -1.0)).data == expected
    assert model(np.array([0.5, -1.0])).data == expected
    assert model(x for x in [0.5, -1.0]).data == expected
    assert model([mg.Value(0.5), mg.Value(-1.0)]).data == expected
    n = model.layers[0].neurons[0]
    assert n(x for x in [0.5, -1.0]).data == n([0.5, -1.0]).data


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="nin must be a positive int"):
        Neuron(0)
    with pytest.raises(TypeError, match="nin must be a positive int"):
        Neuron(True)
    with pytest.raises(ValueError, match="nout must be a positive int"):
        Layer(2, 0)
    with pytest.raises(ValueError, match="non-empty list"):
        MLP(2, [])
    with pytest.raises(ValueError, match=r"nouts\[1\] must be a positive int"):
        MLP(2, [3, -1])
    with pytest.raises(TypeError, match=r"nouts\[0\]"):
        MLP(2, [2.5])


# ------------------------------------------------------------ initialisation


def test_seed_makes_initialisation_reproducible():
    assert MLP(2, [4, 3, 1], seed=7).state_dict() == MLP(2, [4, 3, 1], seed=7).state_dict()
    assert MLP(2, [4, 3, 1], seed=7).state_dict() != MLP(2, [4, 3, 1], seed=8).state_dict()
    assert Neuron(5, seed=1).state_dict() == Neuron(5, seed=1).state_dict()
    # Without a seed every model is different (equal by chance with probability ~0).
    assert MLP(2, [4, 1]).state_dict() != MLP(2, [4, 1]).state_dict()


def test_seeded_initialisation_does_not_touch_the_global_random_state():
    random.seed(123)
    expected = random.random()
    random.seed(123)
    MLP(2, [8, 1], seed=0)
    assert random.random() == expected


@pytest.mark.parametrize(
    "act, variance",
    [("relu", 2.0), ("tanh", 1.0), ("sigmoid", 1.0), ("gaussian", 1.0), ("linear", 1.0)],
)
def test_initialisation_scheme(act, variance):
    # He uniform for relu (Var w = 2/nin), Glorot/LeCun uniform otherwise (Var w = 1/nin); b = 0.
    nin = 50
    layer = Layer(nin, 40, activation=act, seed=0)
    ws = np.array([w.data for n in layer.neurons for w in n.w])
    bound = math.sqrt(3.0 * variance / nin)
    assert np.all(np.abs(ws) <= bound)
    assert ws.var() == pytest.approx(variance / nin, rel=0.1)
    assert abs(ws.mean()) < 0.1 * bound
    assert all(n.b.data == 0.0 for n in layer.neurons)


# ----------------------------------------------------------------- networks


def test_parameters_come_in_micrograds_order():
    model = MLP(2, [3, 2, 1], seed=0)
    expected = [p for layer in model.layers for n in layer.neurons for p in [*n.w, n.b]]
    assert model.parameters() == expected
    assert len(expected) == (2 + 1) * 3 + (3 + 1) * 2 + (2 + 1) * 1


def test_named_parameters_have_stable_dotted_names():
    model = MLP(2, [3, 1], seed=0)
    named = list(model.named_parameters())
    names = [name for name, _ in named]
    assert [p for _, p in named] == model.parameters()
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b",
                         "layers.0.neurons.1.w.0"]
    assert names[-1] == "layers.1.neurons.0.b"
    assert dict(named)["layers.0.neurons.1.b"] is model.layers[0].neurons[1].b
    assert len(set(names)) == len(names)
    assert names == [name for name, _ in MLP(2, [3, 1], seed=99).named_parameters()]
    assert [n for n, _ in Neuron(2).named_parameters()] == ["w.0", "w.1", "b"]


def test_output_is_a_value_for_one_output_else_a_list():
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), mg.Value)
    out = MLP(2, [3, 4], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 4
    # A layer returns a list even for one neuron, so it can feed the next layer.
    assert len(Layer(2, 1, seed=0)([1.0, 2.0])) == 1


def test_one_neuron_layer_in_the_middle():
    model = MLP(2, [1, 3, 1], activation="tanh", seed=0)
    out = model([0.3, -0.4])
    out.backward()
    h = model.layers[0].neurons[0]([0.3, -0.4]).data  # the bottleneck's value
    second = [math.tanh(n.w[0].data * h + n.b.data) for n in model.layers[1].neurons]
    last = model.layers[2].neurons[0]
    assert out.data == pytest.approx(sum(w.data * s for w, s in zip(last.w, second)) + last.b.data)
    assert any(p.grad != 0.0 for p in model.layers[0].parameters())


def test_mlp_gradient_matches_a_directional_difference():
    # ∇f·v against (f(θ+εv) − f(θ−εv)) / 2ε along one random direction v.
    model = MLP(3, [4, 4, 1], activation="tanh", output_activation="sigmoid", seed=2)
    x = [0.4, -0.9, 1.3]
    params = model.parameters()
    out = model(x)
    out.backward()
    rng = random.Random(0)
    v = [rng.uniform(-1, 1) for _ in params]
    analytic = sum(p.grad * vi for p, vi in zip(params, v))
    eps = 1e-6
    theta = [p.data for p in params]

    def f(sign):
        for p, t, vi in zip(params, theta, v):
            p.data = t + sign * eps * vi
        with mg.no_grad():
            return model(x).data

    numeric = (f(1) - f(-1)) / (2 * eps)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_zero_grad():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 1.0]).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_shows_the_architecture():
    text = repr(MLP(2, [16, 16, 1], seed=0))
    assert text.startswith("MLP(nin=2, nouts=[16, 16, 1], activation='relu', output_activation='linear'")
    assert "parameters=337" in text
    assert repr(Layer(3, 4, activation="tanh")) == "Layer(nin=3, nout=4, activation='tanh')"
    assert repr(Neuron(3, activation="sigmoid")) == "Neuron(nin=3, activation='sigmoid')"


def test_shared_attribute_names():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    layer, neuron = model.layers[0], model.layers[0].neurons[0]
    assert (model.nin, model.nouts) == (2, [3, 1])
    assert (layer.nin, layer.nout, layer.activation) == (2, 3, "tanh")
    assert (neuron.nin, neuron.activation, len(neuron.w)) == (2, "tanh", 2)
    assert model.layers[1].activation == "linear"


def test_custom_module_walks_public_attributes_in_order():
    class Net(Module):
        def __init__(self):
            self.encoder = Layer(2, 2, seed=0)
            self.scale = mg.Value(1.0)
            self._cache = mg.Value(5.0)  # private: not a parameter
            self.heads = [Neuron(2, seed=1), Neuron(2, seed=2)]
            self.note = "not a parameter"

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names[0] == "encoder.neurons.0.w.0"
    assert "scale" in names and "_cache" not in names
    assert names[-1] == "heads.1.b"
    assert len(names) == 6 + 1 + 6
    assert net.state_dict()["scale"] == 1.0
    assert repr(net) == "Net(parameters=13)"


def test_package_exports_modules():
    assert mg.nn.MLP is MLP
    assert mg.optim.SGD is not None and mg.data.make_moons is not None


# ------------------------------------------------ issue 11: inputs refused in the caller's terms


@pytest.mark.parametrize(
    "x, error, match",
    [
        ({2.0: 0, 1.0: 0}, TypeError, "MLP input must be a list of numbers or Values, got dict"),
        ({1.0, 2.0}, TypeError, "MLP input must be a list of numbers or Values, got set"),
        (None, TypeError, "MLP takes one sample, a list of 2 inputs; got None"),
        (np.array(1.0), TypeError, r"MLP takes one sample, a list of 2 inputs; got one number \(array"),
        ("ab", TypeError, "MLP input must be a list of numbers or Values, got str"),
    ],
)
def test_inputs_without_an_order_or_not_a_list_are_named(x, error, match):
    with pytest.raises(error, match=match):
        MLP(2, [1], seed=0)(x)


@pytest.mark.parametrize("batch", [np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]])
def test_a_batch_given_to_a_model_says_how_to_run_a_batch(batch):
    with pytest.raises(TypeError) as e:
        MLP(2, [3, 1], seed=0)(batch)
    message = str(e.value)
    assert "takes one sample" in message
    assert "[model(x) for x in X]" in message and "mg.compile" in message


def test_a_size_too_large_for_memory_is_refused_by_name():
    with pytest.raises(ValueError, match=r"MLP nin is 1000.*more than micrograd_tw can hold") as e:
        MLP(10**400, [1])
    assert len(str(e.value)) < 200
    with pytest.raises(ValueError, match=r"MLP nouts\[1\] is 100000000000"):
        MLP(2, [3, 10**11])


# ------------------------------------------------ issue 12 #7: micrograd's spelling


@pytest.mark.parametrize("nonlin, activation", [(True, "relu"), (False, "linear")])
def test_nonlin_is_micrograds_spelling_of_the_activation(nonlin, activation):
    neuron = Neuron(3, nonlin=nonlin, seed=0)
    assert neuron.activation == activation
    assert neuron.architecture() == Neuron(3, activation, seed=0).architecture()
    same = Neuron(3, activation, seed=0)
    assert [p.data for p in neuron.parameters()] == [p.data for p in same.parameters()]
    out = neuron([-5.0, -5.0, -5.0])
    assert out.op == ("relu" if nonlin else "+")
    layer = Layer(3, 2, nonlin=nonlin, seed=0)
    assert layer.activation == activation
    assert all(n.activation == activation for n in layer.neurons)


def test_nonlin_agreeing_with_activation_is_accepted_and_contradicting_it_is_refused():
    assert Neuron(2, "relu", nonlin=True).activation == "relu"
    assert Layer(2, 2, activation="linear", nonlin=False).activation == "linear"
    for make in (lambda: Neuron(2, "relu", nonlin=False), lambda: Layer(2, 2, "tanh", nonlin=True)):
        with pytest.raises(ValueError, match="pass only one of them"):
            make()
    with pytest.raises(TypeError, match="nonlin must be True or False"):
        Neuron(2, nonlin=1)
    with pytest.raises(TypeError, match=r"Neuron\(nin, nonlin=False\)"):
        Neuron(2, False)


def test_mlp_calls_each_item_of_its_layers():
    model = MLP(2, [3, 1], seed=0)
    expected = model([0.5, -1.0]).data
    calls = []

    class LoggedLayer(Layer):
        def __call__(self, x):
            calls.append(len(x))
            return super().__call__(x)

    logged = LoggedLayer(2, 3, seed=0)
    logged.neurons = model.layers[0].neurons
    model.layers[0] = logged
    assert model([0.5, -1.0]).data == expected
    assert calls == [2]
    model.layers.append(lambda xs: [x.relu() * 2 for x in xs])  # a callable appended, as in micrograd
    assert model([0.5, -1.0]).data == max(expected, 0.0) * 2


def test_the_readmes_micrograd_table_tells_the_truth():
    x = mg.Value(3.0)
    z = (x * x) * (x * x)
    z.backward()
    assert x.grad == 108.0  # 4x³
    z.backward()
    assert x.grad == 216.0  # the same gradient added again (micrograd 0.1.0 gives 324)
    assert bool(mg.Value(0)) is False and (mg.Value(1) < 2) is True
    assert repr(mg.Value(2)) == "Value(data=2.0, grad=0.0)"
    assert MLP(2, [1], seed=0).layers[0](([1.0, 2.0])).__class__ is list
