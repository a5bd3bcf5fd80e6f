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

Models are saved as JSON (never pickle): a format version and the
architecture beside the numbers.  Loading checks everything before it assigns
anything, and refuses a bad file or dict with a ``StateDictError`` that lists
every problem found; the model is then left unchanged.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Union

from .engine import Value, dot
from .engine import short_repr as _short

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

FORMAT = "micrograd_tw.nn"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 50 * 1024 * 1024  # a model file larger than this is refused unread
MAX_DEPTH = 20  # our files nest 3 deep; deeper JSON is refused before it is parsed
_MAX_LISTED = 20  # problems spelled out in an error message; all are kept in .problems


class StateDictError(ValueError):
    """A model file or state dict was refused; ``problems`` lists everything wrong with it."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = [f"  - {p}" for p in problems[:_MAX_LISTED]]
        if len(problems) > _MAX_LISTED:
            shown.append(f"  ... and {len(problems) - _MAX_LISTED} more")
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(f"{what}: {count}; the model is unchanged\n" + "\n".join(shown))


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

    # ---- state dicts

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
            values = _check_parameters(state, list(named), problems)
        if problems:
            raise StateDictError(f"load_state_dict into {self!r}", problems)
        for name, p in named.items():
            p.data = values[name]

    # ---- files

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a JSON file: format version, architecture, parameters.

        The file is written next to ``path`` and then moved over it, so an
        interrupted save never leaves a half-written model behind.
        """
        state = self.state_dict()
        bad = [name for name, x in state.items() if not math.isfinite(x)]
        if bad:
            raise ValueError(
                f"save: {len(bad)} parameter(s) are not finite and could not be loaded back: "
                + ", ".join(f"{n} = {state[n]!r}" for n in bad[:_MAX_LISTED])
            )
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "architecture": self.architecture(),
            "parameters": state,
        }
        text = json.dumps(document, indent=1, allow_nan=False)  # floats round-trip exactly
        path = os.fspath(path)
        tmp = f"{path}.tmp"
        f = open(tmp, "w", encoding="utf-8")  # closed below; removed if anything fails
        try:
            with f:
                f.write(text + "\n")
            os.replace(tmp, path)
        except BaseException:
            os.remove(tmp)
            raise

    def load(self, path: str | os.PathLike[str]) -> None:
        """Set the parameters from a file written by ``save`` (in place).

        The file must hold this model's architecture and exactly its parameters,
        as finite numbers.  A corrupt, truncated, oversized or deeply nested file,
        duplicate keys, NaN/Infinity/1e999, or a bool or string as a weight are
        all refused with a ``StateDictError`` listing every problem, and the
        model is left unchanged.  Never unpickles, never evaluates.
        """
        path = os.fspath(path)
        checked = _read_model_file(path, self)
        if isinstance(checked, list):
            raise StateDictError(f"cannot load {path!r} into {self!r}", checked)
        for name, p in self.named_parameters():
            p.data = checked[name]


def _walk(attr: Any, name: str) -> Iterator[tuple[str, Value]]:
    if isinstance(attr, Value):
        yield name, attr
    elif isinstance(attr, Module):
        yield from attr.named_parameters(name + ".")
    elif isinstance(attr, (list, tuple)):
        for i, item in enumerate(attr):
            yield from _walk(item, f"{name}.{i}")


# ---------------------------------------------------------- checking numbers


class _Refused:
    """Stands in for a JSON number that must be refused, so every one can be listed."""

    def __init__(self, text: str) -> None:
        self.text = text


def _check_parameters(state: Mapping[Any, Any], names: list[str], problems: list[str]) -> dict[str, float]:
    """The values for ``names`` as floats; every problem found is appended to ``problems``."""
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"missing {len(missing)} parameter(s): {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} key(s): {_names(unexpected)}")
    values: dict[str, float] = {}
    for name in names:
        if name not in state:
            continue
        x = state[name]
        if isinstance(x, _Refused):
            problems.append(f"{name}: {x.text} is not a finite number")
        elif isinstance(x, bool) or not isinstance(x, numbers.Real):
            problems.append(f"{name}: expected a number, got {type(x).__name__} {_short(x)}")
        else:
            try:
                f = float(x)
            except (OverflowError, ValueError, TypeError):
                problems.append(f"{name}: {_short(x)} is not representable as a float")
                continue
            if math.isfinite(f):
                values[name] = f
            else:
                problems.append(f"{name}: {f!r} is not a finite number")
    return values


def _names(keys: list[Any], limit: int = 8) -> str:
    shown = ", ".join(_short(k) for k in keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


# ------------------------------------------------------------ reading files

# A JSON string, or an unterminated one running to the end.  Every quote starts a
# match, so the scan is linear (a pattern that can fail from a quote is quadratic
# on text such as  "\"\"\"... ).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_CHUNK = 1 << 22


def _depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings ignored.

    Measured before parsing, so that a hostile file cannot exhaust the parser's
    stack; numpy keeps it fast on the largest files allowed.
    """
    import numpy as np  # here, not at the top: `import micrograd_tw` does not load numpy

    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    codes = np.frombuffer(brackets, dtype=np.uint8)
    deepest = level = 0
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        steps = np.where((chunk == ord("[")) | (chunk == ord("{")), 1, -1).astype(np.int64)
        levels = np.cumsum(steps) + level
        deepest = max(deepest, int(levels.max()))
        level = int(levels[-1])
    return deepest


def _parse(text: str, problems: list[str]) -> Any:
    """json.loads that records duplicate keys and refuses NaN, Infinity and overflow."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                problems.append(f"duplicate key {_short(key)}")
            obj[key] = value
        return obj

    def parse_float(s: str) -> Any:
        f = float(s)
        return f if math.isfinite(f) else _Refused(s if len(s) <= 40 else s[:37] + "...")  # 1e999 is inf

    return json.loads(
        text,
        object_pairs_hook=pairs,
        parse_float=parse_float,
        parse_constant=_Refused,  # NaN, Infinity, -Infinity
    )


def _read_model_file(path: str, model: Module) -> dict[str, float] | list[str]:
    """The checked parameter values of a model file, or the list of its problems."""
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        return [f"the file is {size} bytes; model files are limited to {MAX_FILE_BYTES} bytes"]
    with open(path, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since it was measured
    if len(raw) > MAX_FILE_BYTES:
        return [f"the file is larger than {MAX_FILE_BYTES} bytes, the limit for model files"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"not UTF-8 text (byte {e.start}): not a model file written by save()"]
    depth = _depth(text)
    if depth > MAX_DEPTH:
        return [f"JSON nested {depth} deep; model files nest at most {MAX_DEPTH} deep"]
    problems: list[str] = []
    try:
        document = _parse(text, problems)
    except json.JSONDecodeError as e:
        return [f"not valid JSON (corrupt or truncated?): {e.msg} at line {e.lineno}, column {e.colno}"]
    except (ValueError, RecursionError) as e:
        return [f"not valid JSON: {e}"]
    if not isinstance(document, dict):
        return [*problems, f"expected a JSON object at the top, got {type(document).__name__}"]
    fields = ("format", "version", "architecture", "parameters")
    extra = [k for k in document if k not in fields]
    if extra:
        problems.append(f"unexpected top-level key(s): {_names(extra)}")
    for key in fields:
        if key not in document:
            problems.append(f"missing top-level key {key!r}")
    if "format" in document and document["format"] != FORMAT:
        problems.append(f"format is {_short(document['format'])}, expected {FORMAT!r}")
    version = document.get("version", FORMAT_VERSION)
    if type(version) is not int:
        problems.append(f"format version must be an integer, got {type(version).__name__} {_short(version)}")
    elif version != FORMAT_VERSION:
        problems.append(f"format version {version} is not supported (this release reads {FORMAT_VERSION})")
    expected = model.architecture()
    if "architecture" in document and not _same(document["architecture"], expected):
        problems.append(
            f"architecture: the file holds {_short(document['architecture'], 200)}, "
            f"but the model is {expected}"
        )
    values: dict[str, float] = {}
    if "parameters" in document:
        state = document["parameters"]
        if isinstance(state, dict):
            values = _check_parameters(state, [n for n, _ in model.named_parameters()], problems)
        else:
            problems.append(f"parameters: expected an object of name -> number, got {type(state).__name__}")
    return problems if problems else values


def _same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1 from 1.0 and from true."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


# ------------------------------------------------------- neurons and layers


def _count(x: Any, what: str) -> int:
    """A positive int (a size), or an error naming ``what``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{what} must be a positive int, got {type(x).__name__} {_short(x)}")
    if x < 1:
        raise ValueError(f"{what} must be a positive int, got {x}")
    return int(x)


def _activation(activation: Any) -> tuple[str, Callable[[Value], Value] | None]:
    """(name, function) for an activation given by name or as a callable."""
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation, ACTIVATIONS[activation]
    elif callable(activation):
        return getattr(activation, "__name__", type(activation).__name__), activation
    raise ValueError(
        f"unknown activation {_short(activation)}; choose one of "
        + ", ".join(repr(a) for a in ACTIVATIONS)
        + " or pass a callable Value -> Value"
    )


def _inputs(x: Any, nin: int, who: str) -> Sequence[Any]:
    """x as a sequence of nin inputs; a numpy row becomes a list of floats once."""
    if not isinstance(x, (list, tuple)):
        if isinstance(x, (Value, numbers.Number, str, bytes)):
            raise TypeError(f"{who} expects a list of {nin} inputs, got {type(x).__name__}")
        tolist = getattr(x, "tolist", None)
        x = tolist() if tolist is not None else list(x)
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    return x


class Neuron(Module):
    """One neuron: ``φ(mg.dot(w, x) + b)``, the notes' 總刺激 → 偏值 → 活化函數.

    ``Neuron(nin, activation="relu", seed=None)``.  ``activation`` is one of
    "relu", "sigmoid", "tanh", "gaussian", "linear" or a callable Value -> Value.

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

    def __init__(self, nin: int, activation: Activation = "relu", seed: int | None = None) -> None:
        self.nin = _count(nin, "Neuron nin")
        self.activation, self._act = _activation(activation)
        rng = random.Random(seed)
        bound = math.sqrt((6.0 if self.activation == "relu" else 3.0) / self.nin)
        self.w = [Value(rng.uniform(-bound, bound), label=f"w{i + 1}") for i in range(self.nin)]
        self.b = Value(0.0, label="b")

    def __call__(self, x: Sequence[Any]) -> Value:
        try:
            n = len(x)
        except TypeError:  # a generator, or not a sequence at all
            n = -1
        if n != self.nin:
            x = _inputs(x, self.nin, "Neuron")  # raises, or reads a generator into a list
        z = dot(self.w, x) + self.b
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
    """

    def __init__(self, nin: int, nout: int, activation: Activation = "relu", seed: int | None = None) -> None:
        self.nin = _count(nin, "Layer nin")
        self.nout = _count(nout, "Layer nout")
        self.activation, _ = _activation(activation)
        self.neurons = [Neuron(self.nin, activation, seed=s) for s in _child_seeds(seed, self.nout)]

    def __call__(self, x: Sequence[Any]) -> list[Value]:
        if not isinstance(x, list) or len(x) != self.nin:
            x = _inputs(x, self.nin, "Layer")
        return [n(x) for n in self.neurons]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer(nin={self.nin}, nout={self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron, as in micrograd: ``MLP(2, [16, 16, 1])``.

    Hidden layers use ``activation``, the last layer ``output_activation``.
    Calling it on a list of ``nin`` numbers or Values (or a numpy row) returns a
    Value when the last layer has one neuron, else a list of Values.
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
            raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, got {_short(nouts)}")
        self.nouts = [_count(n, f"MLP nouts[{i}]") for i, n in enumerate(nouts)]
        self.activation, _ = _activation(activation)
        self.output_activation, _ = _activation(output_activation)
        sizes = [self.nin, *self.nouts]
        acts = [activation] * (len(self.nouts) - 1) + [output_activation]
        seeds = _child_seeds(seed, len(self.nouts))
        self.layers = [Layer(sizes[i], sizes[i + 1], acts[i], seed=seeds[i]) for i in range(len(self.nouts))]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        if not isinstance(x, list) or len(x) != self.nin:
            x = list(_inputs(x, self.nin, "MLP"))
        for layer in self.layers:
            x = [n(x) for n in layer.neurons]
        return x[0] if len(x) == 1 else x

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
