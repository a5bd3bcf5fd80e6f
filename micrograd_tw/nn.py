"""Networks built from neurons: ``Module``, ``Neuron``, ``Layer``, ``MLP``.

The course's function-learning machine (函數學習機).  A neuron takes the
notes' three steps, one graph node each:

    總刺激 (total stimulus)   z = Σ wᵢxᵢ        mg.dot(w, x)
    偏值   (bias)              z + b
    活化函數 (activation)      h = φ(z + b)

``Module`` is a small base class: ``named_parameters()`` walks a module's
public attributes in the order they were set, so a network's parameters have
stable dotted names ("layers.0.neurons.1.w.0") and come out layer by layer,
neuron by neuron, weights then bias, as in micrograd.

Models are saved as JSON files (``micrograd_tw.model_files``); a bad file or
state dict is refused with a ``StateDictError`` listing every problem, and the
model is then left unchanged.
"""

from __future__ import annotations

import math
import numbers
import os
import random
import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Union

from . import engine, model_files
from .engine import Value, dot
from .model_files import StateDictError

__all__ = ["Module", "Neuron", "Layer", "MLP", "StateDictError", "ACTIVATIONS"]

Activation = Union[str, Callable[[Value], Value]]  # noqa: UP007 - evaluated at runtime on Python 3.10

# name -> the Value method applying it; "linear" applies nothing (no graph node).
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "gaussian": Value.gaussian,
    "linear": None,
}

# ------------------------------------------------------------------ Module


class Module:
    """Base class of networks: parameters, gradients, state dicts and files.

    ``named_parameters()`` walks the public attributes (names not starting with
    "_") in the order they were set: a ``Value`` is a parameter, a ``Module`` is
    walked in turn, and a list or tuple is walked item by item.
    """

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """(dotted name, parameter) pairs, e.g. ("layers.0.neurons.1.w.0", Value)."""
        for name, attr in vars(self).items():
            if not name.startswith("_"):
                yield from _walk(attr, prefix + name)

    def parameters(self) -> list[Value]:
        """All parameters, in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def architecture(self) -> dict[str, Any]:
        """What a saved file must match besides its parameter names (JSON-ready)."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(parameters={len(self.parameters())})"

    # ---- state dicts and files (micrograd_tw.model_files)

    def state_dict(self) -> dict[str, float]:
        """Parameter name -> value (a float), in parameter order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set the parameters from ``state`` (name -> number).

        Every name must be present, none may be extra, and every value must be a
        finite real number (not a bool or a string).  Everything is checked
        first; on any problem a ``StateDictError`` lists them all and no
        parameter is changed.
        """
        named = dict(self.named_parameters())
        problems: list[str] = []
        if not isinstance(state, Mapping):
            problems.append(f"expected a dict of parameter name -> number, got {type(state).__name__}")
            values = {}
        else:
            values = model_files.check_parameters(state, list(named), problems)
        if problems:
            raise StateDictError(f"load_state_dict into {self!r}", problems)
        for name, p in named.items():
            p.data = values[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a JSON file: format version, architecture, parameters.

        The file is replaced atomically (``model_files.write``): a reader, a
        crash or a second ``save`` to the same path at the same time never
        leaves a half-written model behind.
        """
        model_files.write(path, self.architecture(), self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> None:
        """Set the parameters from a file written by ``save`` (in place).

        The file must hold this model's architecture and exactly its parameters,
        as finite numbers.  A corrupt, truncated, oversized or deeply nested file,
        duplicate keys, NaN/Infinity/1e999, or a bool or string as a weight are
        all refused with a ``StateDictError`` listing every problem, and the
        model is left unchanged.  Never unpickles, never evaluates.

        Memory stays within a few times the file's size, and a file far larger
        than this model's own is refused unread (``model_files.read`` has the
        measured figures).
        """
        named = dict(self.named_parameters())
        try:
            values = model_files.read(path, self.architecture(), list(named))
        except StateDictError as e:
            raise StateDictError(f"cannot load {os.fspath(path)!r} into {self!r}", e.problems) from None
        for name, p in named.items():
            p.data = values[name]


def _walk(attr: Any, name: str) -> Iterator[tuple[str, Value]]:
    if isinstance(attr, Value):
        yield name, attr
    elif isinstance(attr, Module):
        yield from attr.named_parameters(name + ".")
    elif isinstance(attr, (list, tuple)):
        for i, item in enumerate(attr):
            yield from _walk(item, f"{name}.{i}")


# ------------------------------------------------------- neurons and layers

# The default activation: equal to "relu", but told apart from an explicit
# "relu" so that Neuron(n, "relu", nonlin=False) is refused as a contradiction.
_RELU_BY_DEFAULT = type("DefaultActivation", (str,), {})("relu")

MAX_SIZE = 10_000_000  # inputs or neurons of one layer: each weight is a Value object (~100 bytes)



def _count(x: Any, what: str) -> int:
    """A positive int (a size), or an error naming ``what``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{what} must be a positive int, got {type(x).__name__} {reprlib.repr(x)}")
    size = int(x)
    if size < 1:
        raise ValueError(f"{what} must be a positive int, got {reprlib.repr(size)}")
    if size > MAX_SIZE:
        raise ValueError(
            f"{what} is {reprlib.repr(size)}, more than micrograd_tw can hold: at most {MAX_SIZE:,} "
            "(every weight is one Value object)"
        )
    return size


def _activation(activation: Any, nonlin: Any = None) -> tuple[str, Callable[[Value], Value] | None]:
    """(name, function) for an activation given by name or as a callable.

    ``nonlin`` is micrograd's spelling: True is "relu", False is "linear".
    """
    if nonlin is not None:
        if not isinstance(nonlin, bool):
            raise TypeError(f"nonlin must be True or False, as in micrograd; got {reprlib.repr(nonlin)}")
        implied = "relu" if nonlin else "linear"
        if activation is not _RELU_BY_DEFAULT and activation != implied:
            raise ValueError(
                f"nonlin={nonlin} means activation={implied!r}, but activation={reprlib.repr(activation)} "
                "was given too; pass only one of them"
            )
        activation = implied
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation, ACTIVATIONS[activation]
    elif isinstance(activation, bool):
        raise TypeError(
            f"activation={activation} is not an activation; micrograd's Neuron(nin, {activation}) "
            f"is written Neuron(nin, nonlin={activation}) here"
        )
    elif callable(activation):
        return getattr(activation, "__name__", type(activation).__name__), activation
    raise ValueError(
        f"unknown activation {reprlib.repr(activation)}; choose one of "
        + ", ".join(repr(a) for a in ACTIVATIONS)
        + " or pass a callable Value -> Value"
    )


def _inputs(x: Any, nin: int, who: str) -> list[Any]:
    """x as a list of nin inputs (one sample), or an error saying what x is instead.

    A dict or set is refused (its order is not the inputs' order), as by
    ``mg.dot``; a numpy row becomes a list of floats once.
    """
    shape = getattr(x, "shape", None)
    if x is None or isinstance(x, (Value, numbers.Number)) or shape == ():
        got = "None" if x is None else f"one number ({reprlib.repr(x)})"
        raise TypeError(f"{who} takes one sample, a list of {nin} inputs; got {got}")
    if shape is not None and len(shape) > 1:
        raise TypeError(_batch_message(who, nin, f"an array of shape {tuple(shape)}"))
    tolist = getattr(x, "tolist", None)
    if tolist is not None and shape is not None:
        x = tolist()
    items = engine.as_list(x, f"{who} input")  # the check mg.sum and mg.dot make
    if len(items) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(items)}")
    return items


def _batch_message(who: str, nin: int, got: str) -> str:
    return (
        f"{who} takes one sample, a list of {nin} inputs, but got {got}, which looks like a batch; "
        f"run a batch one sample at a time, [model(x) for x in X], or compile the model with "
        f"mg.compile to run the whole batch with numpy"
    )


def _explain_bad_items(error: TypeError, x: Sequence[Any], nin: int, who: str) -> TypeError:
    """A clearer error than dot's when the items of a sample are themselves lists (a batch)."""
    for item in x:
        if not isinstance(item, (Value, numbers.Number, str, bytes)) and hasattr(item, "__len__"):
            return TypeError(_batch_message(who, nin, f"a list of {len(x)} {type(item).__name__}s"))
    return error


class Neuron(Module):
    """One neuron: ``φ(mg.dot(w, x) + b)``, the notes' 總刺激 → 偏值 → 活化函數.

    ``Neuron(nin, activation="relu", seed=None)``.  ``activation`` is one of
    "relu", "sigmoid", "tanh", "gaussian", "linear" or a callable Value -> Value
    (default "relu").  micrograd's ``nonlin=True`` / ``nonlin=False`` is
    accepted for "relu" / "linear".

    Initialisation (bias ``b`` = 0, weights ``w`` drawn uniformly so that the
    stimulus z = Σ wᵢxᵢ keeps the scale of the inputs):

    - "relu": He (Kaiming) uniform, wᵢ ~ U(−√(6/nin), √(6/nin)), Var = 2/nin,
      which makes up for ReLU zeroing half of its inputs;
    - any other activation: Glorot (Xavier) / LeCun uniform with fan-in =
      fan-out, wᵢ ~ U(−√(3/nin), √(3/nin)), Var = 1/nin, which keeps
      sigmoid, tanh and exp(−z²) away from their flat tails.

    ``seed`` (int) makes the weights reproducible; without it they differ on
    every run.  Weights are labelled "w1".."wn" and the bias "b".
    """

    def __init__(
        self,
        nin: int,
        activation: Activation = _RELU_BY_DEFAULT,
        seed: int | None = None,
        *,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = _count(nin, "Neuron nin")
        self.activation, self._act = _activation(activation, nonlin)
        rng = random.Random(seed)
        bound = math.sqrt((6.0 if self.activation == "relu" else 3.0) / self.nin)
        self.w = [Value(rng.uniform(-bound, bound), label=f"w{i + 1}") for i in range(self.nin)]
        self.b = Value(0.0, label="b")

    def __call__(self, x: Sequence[Any]) -> Value:
        if type(x) is not list or len(x) != self.nin:
            x = _inputs(x, self.nin, "Neuron")
        try:
            z = dot(self.w, x) + self.b
        except TypeError as e:
            raise _explain_bad_items(e, x, self.nin, "Neuron") from None
        act = self._act
        return z if act is None else act(z)

    def architecture(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron(nin={self.nin}, activation={self.activation!r})"


def _child_seeds(seed: int | None, n: int) -> list[int | None]:
    """Independent seeds for n parts, drawn from one generator owned by the constructor."""
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(n)]


class Layer(Module):
    """``nout`` neurons, each fed every one of the ``nin`` inputs (fully connected).

    Calling a layer returns a list of ``nout`` Values, even when ``nout`` is 1,
    so that a one-neuron layer can sit in the middle of an ``MLP``.
    ``nonlin=True/False`` (micrograd's spelling) is accepted as for ``Neuron``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: Activation = _RELU_BY_DEFAULT,
        seed: int | None = None,
        *,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = _count(nin, "Layer nin")
        self.nout = _count(nout, "Layer nout")
        self.activation, _ = _activation(activation, nonlin)
        act = activation if nonlin is None else self.activation
        self.neurons = [Neuron(self.nin, act, seed=s) for s in _child_seeds(seed, self.nout)]

    def __call__(self, x: Sequence[Any]) -> list[Value]:
        if type(x) is not list or len(x) != self.nin:
            x = _inputs(x, self.nin, "Layer")
        return [n(x) for n in self.neurons]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer(nin={self.nin}, nout={self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron, as in micrograd: ``MLP(2, [16, 16, 1])``.

    Hidden layers use ``activation``, the last layer ``output_activation``.
    Calling it on one sample, a list of ``nin`` numbers or Values (or a numpy
    row), calls each item of ``model.layers`` in turn (a ``Layer``, a subclass
    of it, or any callable appended to the list) and returns a Value when the
    last layer gives one output, else a list of Values.  For a batch, call it
    once per sample or use ``mg.compile``.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: Activation = "relu",
        output_activation: Activation = "linear",
        seed: int | None = None,
    ) -> None:
        self.nin = _count(nin, "MLP nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, got {reprlib.repr(nouts)}")
        self.nouts = [_count(n, f"MLP nouts[{i}]") for i, n in enumerate(nouts)]
        self.activation, _ = _activation(activation)
        self.output_activation, _ = _activation(output_activation)
        sizes = [self.nin, *self.nouts]
        acts = [activation] * (len(self.nouts) - 1) + [output_activation]
        seeds = _child_seeds(seed, len(self.nouts))
        self.layers = [Layer(sizes[i], sizes[i + 1], acts[i], seed=seeds[i]) for i in range(len(self.nouts))]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        if type(x) is not list or len(x) != self.nin:
            x = _inputs(x, self.nin, "MLP")
        out: Any = x
        try:
            for layer in self.layers:
                out = layer(out)
        except TypeError as e:
            raise _explain_bad_items(e, x, self.nin, "MLP") from None
        return out[0] if type(out) is list and len(out) == 1 else out

    def architecture(self) -> dict[str, Any]:
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activations": [layer.activation for layer in self.layers],
        }

    def __repr__(self) -> str:
        return (
            f"MLP(nin={self.nin}, nouts={self.nouts}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, parameters={len(self.parameters())})"
        )
