"""The scalar autograd engine: ``Value``, its graph walk, ``backward`` and ``grad``.

A ``Value`` records the operation that made it, its parents (``x * x`` has the
parent ``x`` twice) and the local partials ∂node/∂parent as floats.
Backward is one loop over the graph in reverse topological order:

    ∂L/∂parent += ∂node/∂parent × ∂L/∂node

Nodes hold no closures, so a graph has no reference cycles and is freed by
reference counting alone, without the cyclic garbage collector.
"""

from __future__ import annotations

import contextvars
import math
import numbers
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from functools import reduce as _reduce
from operator import add as _add
from operator import mul as _mul
from typing import TYPE_CHECKING, Any, NamedTuple, SupportsFloat, Union

from . import ops
from .ops import BINARY, UNARY, Op

# Any real number works at runtime (int, float, Fraction, numpy scalars).
Operand = Union["Value", SupportsFloat]  # noqa: UP007 - evaluated at runtime on Python 3.10


# ------------------------------------------------------------------ modes
# One context variable holds both switches, so the hot path reads it once.
# contextvars make ``no_grad`` safe across threads and asyncio tasks.


class _Mode(NamedTuple):
    record: bool  # record parents (False inside no_grad)
    anomaly: bool  # check every value and gradient is finite


_RECORD = _Mode(record=True, anomaly=False)
_mode: contextvars.ContextVar[_Mode] = contextvars.ContextVar("micrograd_tw_mode", default=_RECORD)
_get_mode = _mode.get  # bound once: calling it costs ~30 ns less per node than _mode.get()


@contextmanager
def _set_mode(**changes: bool) -> Iterator[None]:
    mode = _get_mode()._replace(**changes)
    token = _mode.set(_RECORD if mode == _RECORD else mode)  # the hot path tests `is _RECORD`
    try:
        yield
    finally:
        _mode.reset(token)


def no_grad() -> Any:
    """Context manager: operations inside record no parents (evaluation, updates)."""
    return _set_mode(record=False)


def enable_grad() -> Any:
    """Context manager: record parents again, even inside ``no_grad``."""
    return _set_mode(record=True)


def is_grad_enabled() -> bool:
    """True when new operations record their parents."""
    return _get_mode().record


def detect_anomaly() -> Any:
    """Context manager: raise on the first non-finite value or gradient.

    The error names the operation that produced it.  Checking costs time, so
    it is off by default, as in PyTorch.
    """
    return _set_mode(anomaly=True)


# ------------------------------------------------------------ number checks


def _to_float(x: Any, where: str) -> float:
    """A real number as a built-in float; TypeError/OverflowError naming the problem."""
    if type(x) is float:
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        # bool is an int, and numpy's bool_ is not Real: both are refused by name.
        raise TypeError(
            f"{where} must be a real number (int, float, Fraction or numpy real scalar), "
            f"got {type(x).__name__}"
        )
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(
            f"{where}: the {type(x).__name__} is too large for a float ({_short(x)})"
        ) from None


def _short(x: Any, limit: int = 40) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _constant(x: Any, op: str) -> Any:
    """An operand that is not a Value, as a float; NotImplemented if it is not a number."""
    if type(x) is int:  # the common `x * 2`, `1 - x`: skip the numbers.Real check
        try:
            return float(x)
        except OverflowError:
            pass  # _to_float below says so
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return NotImplemented  # Python then raises TypeError naming both types
    return _to_float(x, f"operand of {op!r}")


# -------------------------------------------------------------- the node


class Value:
    """A scalar in a computation graph: its data, its gradient, and how it was made.

    ``Value(data, label="")``: data is any real number, stored as a float.
    """

    # How a node keeps its parents.  One or two parents, the common case, sit in
    # slots rather than in a tuple: a tuple is a second object for the cyclic
    # garbage collector to scan, which was most of the time spent building a
    # graph, and 48 more bytes per node.
    #
    #   leaf               _a = None
    #   one parent         _a = parent, _b = None,   _da = ∂/∂parent
    #   two parents        _a, _b = parents,         _da, _db = their partials
    #   n-ary (sum, dot)   _a = tuple of parents, _b = _NARY, _da = tuple of partials
    #
    # _db of a one-parent or n-ary node keeps what the partials alone do not say:
    # a binary op's constant operand (c, or (position, c) where the op is
    # nonlinear in the Value: x ** 3, 2 / x), dot's operands (ws, xs) or a mark
    # saying how its parents and partials give them, and a sum's items when
    # some are constants; else None.  Second derivatives, pictures and
    # mg.compile read the operands from there (binary_operands, dot_operands).
    # ``_prev`` and ``_partials`` give every case as tuples.
    #
    # ``op`` and ``label`` share the slot _tag: a leaf has no op and an op
    # node rarely a label, so it holds a leaf's label, a node's op, or
    # (op, label) for a labelled node.  Eight slots put a node in CPython's
    # 96-byte allocation size class, where nine took 112: a graph is smaller,
    # and the garbage collector, which reads every node of a big graph, gets
    # through it sooner.
    __slots__ = ("data", "grad", "_tag", "_a", "_b", "_da", "_db", "_mark")

    # numpy scalars and arrays defer to our reflected operators, so
    # ``np.float64(2) * x`` is a Value and not an object array.
    __array_ufunc__ = None

    data: float
    grad: float
    _tag: Any
    _a: Any
    _b: Any
    _da: Any
    _db: Any
    _mark: Any  # walk marks, then the per-call gradient during backward

    def __init__(self, data: Any, label: str = "") -> None:
        _check_label(label)
        self.data = _to_float(data, "Value data")
        self.grad = 0.0
        self._tag = label
        self._a = self._b = self._da = self._db = None
        self._mark = None
        if _get_mode().anomaly:
            _check_finite(self)

    @property
    def op(self) -> str:
        """The operation that made this node ("tanh", "+", "dot", ...); "" for a leaf."""
        if self._a is None:
            return ""
        tag = self._tag
        return tag if type(tag) is str else tag[0]

    @property
    def label(self) -> str:
        """A name for pictures and ``repr``; "" by default."""
        tag = self._tag
        if self._a is None:
            return tag
        return "" if type(tag) is str else tag[1]

    @label.setter
    def label(self, label: str) -> None:
        _check_label(label)
        if self._a is None:
            self._tag = label
        else:
            op = self.op
            self._tag = (op, label) if label else op

    # ---- the graph

    def backward(self) -> None:
        """Accumulate ∂self/∂node into ``node.grad`` for every node of the graph.

        Each call adds the same amounts again (a per-call gradient is
        propagated, not the accumulated ``.grad``), as PyTorch does for leaves.
        """
        with _graph_lock:  # _mark is shared state: one walk at a time
            order, done = _walk(self)
            anomaly = _get_mode().anomaly
            # The per-call gradient ∂self/∂node rides in node._mark, which _walk
            # left holding `done`: the first contribution replaces it, later ones add.
            self._mark = 1.0
            for node in reversed(order):
                g = node._mark
                node._mark = None
                node.grad += g
                if anomaly:
                    _check_gradients(node, g)
                a = node._a
                if a is None:
                    continue
                b = node._b
                if b is None:
                    contribution = node._da * g
                    mark = a._mark
                    a._mark = contribution if mark is done else mark + contribution
                elif b is _NARY:
                    partials = node._da
                    i = 0  # indexing is faster here than zip()
                    for parent in a:
                        contribution = partials[i] * g
                        mark = parent._mark
                        parent._mark = contribution if mark is done else mark + contribution
                        i += 1
                else:
                    contribution = node._da * g
                    mark = a._mark
                    a._mark = contribution if mark is done else mark + contribution
                    contribution = node._db * g
                    mark = b._mark  # read after a's update: x * x has a is b
                    b._mark = contribution if mark is done else mark + contribution

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same data, cut from the graph."""
        return Value(self.data)

    # ---- Python protocol

    def __repr__(self) -> str:
        label = f", label={_short(self.label, 24)}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    def __bool__(self) -> bool:
        return bool(self.data)

    def __pos__(self) -> Value:
        return self

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The parents as a tuple (a parent repeats when used twice)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            return (a,)
        if b is _NARY:
            return a
        return (a, b)

    @property
    def _partials(self) -> tuple[Any, ...]:
        """One local partial per parent, then the saved operands if any."""
        a, b, da, db = self._a, self._b, self._da, self._db
        if a is None:
            return ()
        if b is None:
            return (da,) if db is None else (da, db)
        if b is _NARY:
            if self.op == "dot":
                return (*da, dot_operands(self))
            return da if db is None else (*da, db)
        return (da, db)

    # Comparisons look at .data and return a bool.  __eq__ and __hash__ stay
    # identity based: nodes live in sets and dicts.
    def __lt__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self.data < o

    def __le__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self.data <= o

    def __gt__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self.data > o

    def __ge__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self.data >= o

    __hash__ = object.__hash__

    if TYPE_CHECKING:  # made from the op table below; declared here for type checkers

        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: Operand) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: Operand) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: Operand) -> Value: ...
        def __truediv__(self, other: Operand) -> Value: ...
        def __rtruediv__(self, other: Operand) -> Value: ...
        def __pow__(self, other: Operand) -> Value: ...
        def __rpow__(self, other: Operand) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def relu(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def tanh(self) -> Value: ...
        def gaussian(self) -> Value: ...


def _check_label(label: Any) -> None:
    if not isinstance(label, str):
        raise TypeError(f"Value label must be a str, got {type(label).__name__}")


def _compare_operand(other: Any) -> Any:
    if isinstance(other, Value):
        return other.data
    return _constant(other, "comparison")


_new_value = object.__new__


def _sum_in_order(xs: Iterable[float]) -> float:
    """x1 + x2 + ... from the left, on every Python.

    builtins.sum compensates float rounding from Python 3.12 on; a plain sum
    keeps results identical across versions and equal to mg.compile's replay.
    """
    return _reduce(_add, xs, 0.0)


_NARY = object()  # _b of an n-ary node: its parents are the tuple in _a


def _node(data: float, op: str, a: Any, b: Any, da: Any, db: Any) -> Value:
    """Make a result node (layout in Value).  Inlined in the operators, which are hotter."""
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out._mark = None
    mode = _get_mode()
    if mode is _RECORD:
        out._tag = op
        out._a = a
        out._b = b
        out._da = da
        out._db = db
        return out
    return _finish(out, mode, op, a, b, da, db)


def _finish(out: Value, mode: _Mode, op: str, a: Any, b: Any, da: Any, db: Any) -> Value:
    """The rest of _node outside the default mode: no_grad and detect_anomaly."""
    if mode.record:
        out._tag, out._a, out._b, out._da, out._db = op, a, b, da, db
    else:  # no_grad: the result is a leaf, as in PyTorch
        out._tag, out._a, out._b, out._da, out._db = "", None, None, None, None
    if mode.anomaly:
        _check_finite(out)
    return out


# ----------------------------------------------- methods made from the op table
# Each is bound through a factory function: a lambda written inside the loop
# would capture the loop variable, and every method would compute the last op.


def _unary_method(row: Op) -> Any:
    forward, (partial,), name = row.forward, row.partials, row.name

    def method(self: Value) -> Value:
        a = self.data
        data = forward(a)
        da = partial(a, data)
        out = _new_value(Value)  # _node, inlined
        out.data = data
        out.grad = 0.0
        out._mark = None
        mode = _get_mode()
        if mode is _RECORD:
            out._tag = name
            out._a = self
            out._b = None
            out._da = da
            out._db = None
            return out
        return _finish(out, mode, name, self, None, da, None)

    method.__name__ = name
    method.__doc__ = f"{name} of this value, as a new node."
    return method


def _binary_method(row: Op, reflected: bool) -> Any:
    forward, (partial_a, partial_b), name = row.forward, row.partials, row.name
    # Constants are not nodes: the constant is kept in _db.  Where the op is
    # nonlinear in the Value operand (x ** 3, 2 / x) its position is kept too,
    # as (position, c); see binary_operands.
    keep_position = not row.linear[1 if reflected else 0]
    position = 0 if reflected else 1  # where the constant stands

    def method(self: Value, other: Any) -> Value:
        if isinstance(other, Value):
            if reflected:  # only on an explicit call: Python tries other.__op__ first
                self, other = other, self
            ad = self.data
            bd = other.data
            data = forward(ad, bd)
            da = partial_a(ad, bd, data)
            db = partial_b(ad, bd, data)
            b = other
        else:
            c = other if type(other) is float else _constant(other, name)
            if c is NotImplemented:
                return NotImplemented
            x = self.data
            if reflected:  # c (op) self: only ∂/∂self is kept
                data = forward(c, x)
                da = partial_b(c, x, data)
            else:  # self (op) c
                data = forward(x, c)
                da = partial_a(x, c, data)
            b = None
            # The constant itself: a reference, no allocation for a float.
            db = (position, c) if keep_position else c
        # _node's body, inlined: this is the hottest path of the engine.
        out = _new_value(Value)
        out.data = data
        out.grad = 0.0
        out._mark = None
        mode = _get_mode()
        if mode is _RECORD:
            out._tag = name
            out._a = self
            out._b = b
            out._da = da
            out._db = db
            return out
        return _finish(out, mode, name, self, b, da, db)

    return method


_BINARY_DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "**": "pow"}
for _name, _row in BINARY.items():
    _dunder = _BINARY_DUNDERS[_name]
    setattr(Value, f"__{_dunder}__", _binary_method(_row, reflected=False))
    setattr(Value, f"__r{_dunder}__", _binary_method(_row, reflected=True))
for _name, _row in UNARY.items():
    setattr(Value, {"neg": "__neg__", "abs": "__abs__"}.get(_name, _name), _unary_method(_row))
del _name, _row, _dunder


# + and * between two Values make most nodes of every graph, so these two are
# also written out in full: the formulas of their rows (a test checks that they
# agree), without the method above's two calls and branches per node.  Anything
# else (a constant operand, no_grad, detect_anomaly) goes to the table's method.
_add_from_table, _mul_from_table = Value.__add__, Value.__mul__


def _add_values(self: Value, other: Any) -> Value:
    if isinstance(other, Value) and _get_mode() is _RECORD:
        out = _new_value(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        out._tag = "+"
        out._a = self
        out._b = other
        out._da = 1.0
        out._db = 1.0
        out._mark = None
        return out
    return _add_from_table(self, other)


def _mul_values(self: Value, other: Any) -> Value:
    if isinstance(other, Value) and _get_mode() is _RECORD:
        out = _new_value(Value)
        ad = self.data
        bd = other.data
        out.data = ad * bd
        out.grad = 0.0
        out._tag = "*"
        out._a = self
        out._b = other
        out._da = bd  # ∂(a·b)/∂a = b
        out._db = ad
        out._mark = None
        return out
    return _mul_from_table(self, other)


_add_values.__name__, _add_values.__qualname__ = "__add__", "Value.__add__"
_mul_values.__name__, _mul_values.__qualname__ = "__mul__", "Value.__mul__"
Value.__add__ = _add_values  # type: ignore[method-assign]
Value.__mul__ = _mul_values  # type: ignore[method-assign]


# ---------------------------------------------------------------- n-ary nodes


def _as_list(items: Any, what: str) -> list[Any]:
    """The items of a list, tuple or other ordered iterable, as a list.

    A dict or set is refused: iterating it gives keys or an arbitrary order,
    never what was meant.
    """
    if type(items) is list:
        return items
    if isinstance(items, (Mapping, Set, str, bytes, Value)) or not isinstance(items, Iterable):
        raise TypeError(f"{what} must be a list of numbers or Values, got {type(items).__name__}")
    return list(items)


def _datas(items: list[Any], what: str) -> list[float]:
    """Each item's data as a float: a Value's data, or the number itself."""
    try:
        return [
            x.data if isinstance(x, Value) else x if type(x) is float else _to_float(x, what) for x in items
        ]
    except (TypeError, OverflowError):
        for i, x in enumerate(items):  # again, slowly, to name the item that is wrong
            if not isinstance(x, Value):
                _to_float(x, f"{what}[{i}]")
        raise


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mg.sum is the API name
    """Σ values as one node, however long the list (the notes' Σ)."""
    items = _as_list(values, "sum")
    prev = tuple([x for x in items if isinstance(x, Value)])
    total = _sum_in_order(_datas(items, "sum"))
    # With constants among the items, all items are kept (in _db) so that the
    # constants are known exactly (pictures, mg.compile), not derived from data.
    saved = tuple(items) if len(prev) != len(items) else None
    return _node(total, "sum", prev, _NARY, (1.0,) * len(prev), saved)


# dot's _db when its operands follow from its parents and partials (dot_operands).
_DOT_ALL_VALUES = "all Values"  # parents: the weights, then the inputs
_DOT_NUMBER_INPUTS = "Value weights, number inputs"  # parents: the weights; partials: the inputs


def dot(ws: Iterable[Operand], xs: Iterable[Operand]) -> Value:
    """Σ wᵢxᵢ as one node: the notes' 總刺激 (total stimulus) of a neuron.

    ∂/∂wᵢ = xᵢ and ∂/∂xᵢ = wᵢ.  The parents are the Value weights, then the
    Value inputs; the hot path of every neuron, hence list comprehensions.
    """
    ws = _as_list(ws, "dot weights")
    xs = _as_list(xs, "dot inputs")
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs; they must match")
    w_datas = _datas(ws, "dot weights")
    x_datas = _datas(xs, "dot inputs")
    total = _sum_in_order(map(_mul, w_datas, x_datas))
    prev = [w for w in ws if isinstance(w, Value)]
    value_weights = len(prev) == len(ws)
    partials: list[Any] = (
        x_datas if value_weights else [x for w, x in zip(ws, x_datas) if isinstance(w, Value)]
    )
    x_values = [x for x in xs if isinstance(x, Value)]
    value_inputs = len(x_values) == len(xs)
    if x_values:
        prev += x_values
        partials = partials + (
            w_datas if value_inputs else [w for x, w in zip(xs, w_datas) if isinstance(x, Value)]
        )
    # The operands (ws, xs) are kept for second derivatives, pictures and
    # mg.compile (dot_operands), unless the parents and partials already say
    # them: in a network's neurons all are Values, or the weights are and the
    # inputs are numbers.  Not copying the lists saves ~370 bytes per 16 inputs.
    if value_weights and value_inputs:
        operands: Any = _DOT_ALL_VALUES
    elif value_weights and not x_values:
        operands = _DOT_NUMBER_INPUTS
    else:  # numbers as the floats they were read as, like the layouts above
        operands = (
            tuple([w if isinstance(w, Value) else d for w, d in zip(ws, w_datas)]),
            tuple([x if isinstance(x, Value) else d for x, d in zip(xs, x_datas)]),
        )
    return _node(total, "dot", tuple(prev), _NARY, tuple(partials), operands)


def dot_operands(node: Value) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The weights and inputs of a ``dot`` node: Values, and numbers as floats."""
    parents, kept = node._a, node._db
    if kept is _DOT_ALL_VALUES:
        n = len(parents) // 2
        return parents[:n], parents[n:]
    if kept is _DOT_NUMBER_INPUTS:
        return parents, node._da
    return kept


# ------------------------------------------------------------ graph walking


def toposort(root: Value) -> list[Value]:
    """Nodes of root's graph, each after all of its parents (root last)."""
    with _graph_lock:
        return _walk(root)[0]


# Walks mark the nodes they visit, and backward carries gradients in those
# marks, so two walks over graphs that share nodes (parameters, say) must not
# interleave.  Threads take turns; the GIL would serialise them anyway.
_graph_lock = threading.RLock()


def _walk(root: Value) -> tuple[list[Value], object]:
    """Topological order by iterative depth-first search, and the mark it left.

    Call it holding ``_graph_lock``.

    No recursion, so a chain of a million nodes is fine.  Visits are marked on
    the nodes (``_mark``, 8 bytes each) rather than in a set of seen nodes.
    The marks are fresh objects on each call, so a mark left by an earlier
    walk (even one interrupted by an exception) never matches.
    """
    entered, done = object(), object()
    order: list[Value] = []
    stack = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        node = stack[-1]
        mark = node._mark
        if mark is done:
            pop()  # reached again through another consumer
            continue
        a = node._a
        if mark is entered or a is None:
            node._mark = done  # every parent is done
            emit(pop())
            continue
        node._mark = entered
        b = node._b
        if b is _NARY:
            for parent in a:
                if parent._mark is not done:
                    push(parent)
        else:
            if a._mark is not done:
                push(a)
            if b is not None and b._mark is not done:
                push(b)
    return order, done


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """∂output/∂input for each input, without touching any ``.grad``.

    With ``create_graph=True`` the results are Values whose graph can be
    differentiated again (second derivatives); otherwise they are floats.
    An input that ``output`` does not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    wanted = set(inputs)
    found: dict[Value, Any] = {}
    pending: dict[Value, Any] = {output: 1.0}
    with _set_mode(record=True) if create_graph else no_grad():
        for node in reversed(toposort(output)):
            g = pending.pop(node)
            if node in wanted:
                found[node] = g
            partials = _value_partials(node) if create_graph else node._partials
            for parent, partial in zip(node._prev, partials):
                pending[parent] = pending.get(parent, 0.0) + partial * g
    results = [found.get(x, 0.0) for x in inputs]
    if create_graph:
        return [r if isinstance(r, Value) else Value(r) for r in results]
    return results


def _value_partials(node: Value) -> tuple[Any, ...]:
    """The node's local partials as Values of its parents, for create_graph."""
    prev, op = node._prev, node.op
    if op in UNARY:
        return UNARY[op].all_partials(prev[0], node)
    if op in BINARY:
        row = BINARY[op]
        a, b = binary_operands(node)
        if len(prev) == 2:
            return row.all_partials(a, b, node)
        return (row.partials[0 if a is prev[0] else 1](a, b, node),)
    if op == "dot":
        ws, xs = dot_operands(node)
        return tuple(
            [x for w, x in zip(ws, xs) if isinstance(w, Value)]
            + [w for w, x in zip(ws, xs) if isinstance(x, Value)]
        )
    return node._partials  # sum (constant partials) or a leaf (none)


def binary_operands(node: Value) -> tuple[Any, Any]:
    """The two operands of a binary node in order: Values, or the constant as a float."""
    a, b, db = node._a, node._b, node._db
    if b is not None:
        return a, b
    if isinstance(db, tuple):
        position, c = db
    else:  # linear in a: x + c, x * c, x / c; and x − c (∂ = 1) or c − x (∂ = −1)
        c, position = db, 0 if node.op == "-" and node._da < 0.0 else 1
    return (a, c) if position == 1 else (c, a)


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad`` to 0.0 on every Value of the list."""
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"zero_grad: item {i} is a {type(v).__name__}, not a Value")
        v.grad = 0.0


# ------------------------------------------------------------ anomaly checks


def _check_finite(node: Value) -> None:
    if not math.isfinite(node.data):
        what = f"operation {node.op!r}" if node.op else "a leaf Value"
        operands = ", ".join(repr(p.data) for p in node._prev)
        raise FloatingPointError(
            f"detect_anomaly: {what} produced the non-finite value {node.data!r}"
            + (f" from operands ({operands})" if operands else "")
        )


def _check_gradients(node: Value, g: float) -> None:
    if not math.isfinite(g):
        raise FloatingPointError(
            f"detect_anomaly: the gradient reaching {node.op or 'leaf'!r} node "
            f"(data={node.data!r}) is {g!r}"
        )
    for i, (parent, partial) in enumerate(zip(node._prev, node._partials)):
        if not math.isfinite(partial * g):
            raise FloatingPointError(
                f"detect_anomaly: the backward of operation {node.op!r} produced the "
                f"non-finite gradient {partial * g!r} for its operand {i} (data={parent.data!r})"
            )


__all__ = [
    "Value", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "sum", "dot", "toposort", "grad", "zero_grad", "ops",
]


# ==================================================================================
# BEGIN thin node interface (steps branch only).  INTERFACE.md's public names,
# wrapping today's internals, until the engine branch's real implementation is
# merged; the lead drops this whole block at merge time.
# ==================================================================================


def parents(node: Value) -> tuple[Value, ...]:
    """One parent per edge, in order (``x * x`` gives ``(x, x)``); () for a leaf."""
    return node._prev


def local_partials(node: Value) -> tuple[float, ...]:
    """∂node/∂parent per edge, aligned with ``parents(node)``."""
    return tuple(node._partials[: len(node._prev)])


def operands(node: Value) -> tuple[Any, ...]:
    """The op's operands in its forward's order, constants as floats; () for a leaf."""
    op = node.op
    if not op:
        return ()
    if op == "dot":
        ws, xs = dot_operands(node)
        return (*ws, *xs)
    if op == "sum":
        return tuple(node._db) if node._db is not None else node._prev
    if op in BINARY:
        return binary_operands(node)
    return node._prev


def to_float(x: Any, where: str) -> float:
    """A real number as a built-in float; TypeError/OverflowError naming ``where``."""
    return _to_float(x, where)


class _NaryRow(NamedTuple):
    name: str
    symbol: str


def _thin_row(name: str) -> Any:
    """The op's row: the table's, or a name and symbol for the n-ary sum and dot."""
    if name in ops.OPS:
        return ops.OPS[name]
    if name in ops.NARY_SYMBOLS:
        return _NaryRow(name, ops.NARY_SYMBOLS[name])
    raise KeyError(f"no op named {name!r}")


if not hasattr(ops, "row"):
    ops.row = _thin_row  # type: ignore[attr-defined]

# ==================================================================================
# END thin node interface
# ==================================================================================
