"""The scalar autograd engine: ``Value``, how op rows become methods, ``backward`` and ``grad``.

A ``Value`` records the operation that made it, its parents (``x * x`` has the
parent ``x`` twice) and the local partials ∂node/∂parent as floats, computed
by its op's row in ``ops.py`` when the node is made.  Backward is one loop
over the graph in reverse topological order:

    ∂L/∂parent += ∂node/∂parent × ∂L/∂node

``grad`` is that loop written plainly over a dict of gradients (read it
first); ``Value.backward`` is its fast twin, which must agree with it.

Nodes hold no closures, so a graph has no reference cycles and is freed by
reference counting alone, without the cyclic garbage collector.

Other modules read a graph only through ``parents``, ``local_partials``,
``operands``, ``toposort``, ``node.op`` and ``ops.row``; the slots below are
this module's business.
"""

from __future__ import annotations

import contextvars
import math
import numbers
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, SupportsFloat, Union

from . import ops
from .ops import NARY, OPS, Op

# Any real number works at runtime (int, float, Fraction, numpy scalars).
Operand = Union["Value", SupportsFloat]  # noqa: UP007 - evaluated at runtime on Python 3.10


# ------------------------------------------------------------------ modes
# One context variable holds both switches, so making a node reads it once.
# contextvars make ``no_grad`` safe across threads and asyncio tasks.


class _Mode(NamedTuple):
    record: bool  # record parents (False inside no_grad)
    anomaly: bool  # check every value and gradient is finite


_RECORD = _Mode(record=True, anomaly=False)  # the default; the only mode compared by identity
_mode: contextvars.ContextVar[_Mode] = contextvars.ContextVar("micrograd_tw_mode", default=_RECORD)
_get_mode = _mode.get


@contextmanager
def _set_mode(**changes: bool) -> Iterator[None]:
    mode = _get_mode()._replace(**changes)
    token = _mode.set(_RECORD if mode == _RECORD else mode)  # making a node tests `is _RECORD`
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


def to_float(x: Any, where: str) -> float:
    """A real number as a built-in float; TypeError/OverflowError naming ``where``."""
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
            f"{where}: the {type(x).__name__} is too large for a float ({short_repr(x)})"
        ) from None


def short_repr(x: Any, limit: int = 40) -> str:
    """repr(x), cut to ``limit`` characters (for error messages)."""
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _constant(x: Any, op: str) -> Any:
    """An operand that is not a Value, as a float; NotImplemented if it is not a number."""
    if type(x) is int:  # the common `x * 2`, `1 - x`: skip the numbers.Real check
        try:
            return float(x)
        except OverflowError:
            pass  # to_float below says so
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return NotImplemented  # Python then raises TypeError naming both types
    return to_float(x, f"operand of {op!r}")


# -------------------------------------------------------------- the node


class Value:
    """A scalar in a computation graph: its data, its gradient, and how it was made.

    ``Value(data, label="")``: data is any real number, stored as a float.
    """

    # A node's layout.  One or two parents, the common case, sit in slots
    # rather than in a tuple: a tuple would be a second object per node for the
    # cyclic garbage collector to scan (building a graph is mostly the
    # collector's time) and more bytes per node.
    #
    #   node              _parent_a        _parent_b       _partial_a         _partial_b_or_operands
    #   leaf              None             None            None               None
    #   x.tanh()          x                None            ∂node/∂x           None
    #   x op c            x                None            ∂node/∂x           c (the constant)
    #   c op x            x                None            ∂node/∂x           (c, x) (the operands)
    #   x op y            x                y               ∂node/∂x           ∂node/∂y
    #   n-ary (sum, ...)  tuple of parents _NARY           tuple of partials  the operands, or None when
    #                                                                          they are the parents
    #
    # A constant is kept as the float it was read as: it is not a node.
    # ``op`` and ``label`` share ``_op_label``: a leaf has no op and an op node
    # rarely a label, so it holds a leaf's label, a node's op, or (op, label)
    # for a labelled node.  With eight slots a node fits CPython's 96-byte
    # allocation class.  ``_mark`` is the graph walk's: a visit mark, then
    # the gradient of the current backward call.
    __slots__ = ("_data", "grad", "_op_label", "_parent_a", "_parent_b", "_partial_a",
                 "_partial_b_or_operands", "_mark")

    # numpy scalars and arrays defer to our reflected operators, so
    # ``np.float64(2) * x`` is a Value and not an object array.
    __array_ufunc__ = None

    _data: float
    grad: float
    _op_label: Any  # str, or (op, label)
    _parent_a: Any
    _parent_b: Any
    _partial_a: Any
    _partial_b_or_operands: Any
    _mark: Any

    def __init__(self, data: Any, label: str = "") -> None:
        _check_label(label)
        self._data = to_float(data, "Value data")
        self.grad = 0.0
        self._op_label = label
        self._parent_a = self._parent_b = self._partial_a = self._partial_b_or_operands = None
        self._mark = None
        if _get_mode().anomaly:
            _check_finite(self, "")

    # ``data`` is a float slot behind a property, so that every op can rely on
    # a float: ``p.data = 0`` or a numpy scalar is converted once, here, and a
    # non-number is refused as the constructor refuses it.  The engine reads
    # the slot itself.
    @property
    def data(self) -> float:
        """The value, a built-in float (assign any real number)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value if type(value) is float else to_float(value, "Value data")

    @property
    def op(self) -> str:
        """The operation that made this node ("tanh", "+", "dot", ...); "" for a leaf."""
        if self._parent_a is None:
            return ""
        tag = self._op_label
        return tag if type(tag) is str else tag[0]

    @property
    def label(self) -> str:
        """A name for pictures and ``repr``; "" by default."""
        tag = self._op_label
        if self._parent_a is None:
            return tag
        return "" if type(tag) is str else tag[1]

    @label.setter
    def label(self, label: str) -> None:
        _check_label(label)
        if self._parent_a is None:
            self._op_label = label
        else:
            op = self.op
            self._op_label = (op, label) if label else op

    # ---- the graph

    def backward(self) -> None:
        """Accumulate ∂self/∂node into ``node.grad`` for every node of the graph.

        Each call adds the same amounts again (a per-call gradient is
        propagated, not the accumulated ``.grad``), as PyTorch does for leaves.
        This is ``grad``'s loop over the node layout: the gradient of this
        call rides in ``node._mark`` instead of a dict.
        """
        with _graph_lock:  # _mark is shared state: one walk at a time
            order, done = _walk(self)
            anomaly = _get_mode().anomaly
            # _walk left `done` in every _mark: a node's first contribution replaces it, later ones add.
            self._mark = 1.0
            for node in reversed(order):
                g = node._mark
                node._mark = None
                node.grad += g
                if anomaly:
                    _check_gradients(node, g)
                a = node._parent_a
                if a is None:  # a leaf
                    continue
                b = node._parent_b
                if b is None:  # one parent
                    contribution = node._partial_a * g
                    mark = a._mark
                    a._mark = contribution if mark is done else mark + contribution
                elif b is _NARY:
                    partials = node._partial_a
                    i = 0
                    for parent in a:
                        contribution = partials[i] * g
                        mark = parent._mark
                        parent._mark = contribution if mark is done else mark + contribution
                        i += 1
                else:  # two parents
                    contribution = node._partial_a * g
                    mark = a._mark
                    a._mark = contribution if mark is done else mark + contribution
                    contribution = node._partial_b_or_operands * g
                    mark = b._mark  # read after a's update: x * x has a is b
                    b._mark = contribution if mark is done else mark + contribution

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same data, cut from the graph."""
        return Value(self._data)

    # ---- Python protocol

    def __repr__(self) -> str:
        label = f", label={short_repr(self.label, 24)}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self._data

    def __bool__(self) -> bool:
        return bool(self._data)

    def __pos__(self) -> Value:
        return self

    # Comparisons look at .data and return a bool.  __eq__ and __hash__ stay
    # identity based: nodes live in sets and dicts.
    def __lt__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self._data < o

    def __le__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self._data <= o

    def __gt__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self._data > o

    def __ge__(self, other: Operand) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is NotImplemented else self._data >= o

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
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...


def _check_label(label: Any) -> None:
    if not isinstance(label, str):
        raise TypeError(f"Value label must be a str, got {type(label).__name__}")


def _compare_operand(other: Any) -> Any:
    if isinstance(other, Value):
        return other._data
    return _constant(other, "comparison")


_NARY = object()  # _parent_b of an n-ary node: its parents are the tuple in _parent_a
_new_value = object.__new__


# ------------------------------------------------- reading a node (the interface)


def parents(node: Value) -> tuple[Value, ...]:
    """The node's parents, one per edge, in order (``x * x`` gives ``(x, x)``); () for a leaf."""
    a, b = node._parent_a, node._parent_b
    if a is None:
        return ()
    if b is None:
        return (a,)
    if b is _NARY:
        return a
    return (a, b)


def local_partials(node: Value) -> tuple[float, ...]:
    """∂node/∂parent for each of ``parents(node)``, as stored when the node was made."""
    a, b = node._parent_a, node._parent_b
    if a is None:
        return ()
    if b is None:
        return (node._partial_a,)
    if b is _NARY:
        return node._partial_a
    return (node._partial_a, node._partial_b_or_operands)


def operands(node: Value) -> tuple[Any, ...]:
    """The op's operands in the order its row's forward takes them: Values, and constants as floats.

    Unary ``(a,)``, binary ``(a, b)``, n-ary ``(x1, ..., xn)``, dot
    ``(w1, ..., wn, x1, ..., xn)``; () for a leaf.
    """
    a, b, kept = node._parent_a, node._parent_b, node._partial_b_or_operands
    if a is None:
        return ()
    if b is None:  # one parent: a unary op, or a binary op with a constant
        if kept is None:
            return (a,)
        return kept if type(kept) is tuple else (a, kept)
    if b is _NARY:
        if kept is None:
            return a
        if kept is _DOT_INPUTS_ARE_PARTIALS:
            return a + node._partial_a
        return kept
    return (a, b)


# ------------------------------------------------------------ making a node


def _node(data: float, op: str, a: Any, b: Any, partial_a: Any, partial_b_or_operands: Any) -> Value:
    """A new node in the layout above; in ``no_grad`` a leaf, in ``detect_anomaly`` checked."""
    out = _new_value(Value)
    out._data = data
    out.grad = 0.0
    out._mark = None
    mode = _get_mode()
    if mode is _RECORD:
        out._op_label = op
        out._parent_a = a
        out._parent_b = b
        out._partial_a = partial_a
        out._partial_b_or_operands = partial_b_or_operands
        return out
    if mode.record:
        out._op_label, out._parent_a, out._parent_b = op, a, b
        out._partial_a, out._partial_b_or_operands = partial_a, partial_b_or_operands
    else:  # no_grad: the result is a leaf, as in PyTorch
        out._op_label, out._parent_a, out._parent_b = "", None, None
        out._partial_a = out._partial_b_or_operands = None
    if mode.anomaly:
        _check_finite(out, op, (a,) if b is None else a if b is _NARY else (a, b))
    return out


# ----------------------------------------------- methods made from the op table
# Each is made by a factory function: a lambda written inside the loop would
# capture the loop variable, and every method would compute the last op.


def _unary_method(row: Op) -> Any:
    forward, (partial,), name = row.forward, row.partials, row.name

    def method(self: Value) -> Value:
        a = self._data
        data = forward(a)
        return _node(data, name, self, None, partial(a, data), None)

    method.__name__ = method.__qualname__ = row.python_name
    method.__doc__ = f"{row.doc or name}, as a new node."
    return method


def _binary_method(row: Op, reflected: bool) -> Any:
    """``x op other`` (or, reflected, ``other op x``) for a binary row."""
    forward, (partial_a, partial_b), name = row.forward, row.partials, row.name

    def method(self: Value, other: Any) -> Value:
        if isinstance(other, Value):
            if reflected:  # only on an explicit call: Python tries other.__op__ first
                self, other = other, self
            ad = self._data
            bd = other._data
            data = forward(ad, bd)
            return _node(data, name, self, other, partial_a(ad, bd, data), partial_b(ad, bd, data))
        c = other if type(other) is float else _constant(other, name)
        if c is NotImplemented:
            return NotImplemented
        x = self._data
        if reflected:  # c op self: keep ∂/∂self, and the operands in order
            data = forward(c, x)
            return _node(data, name, self, None, partial_b(c, x, data), (c, self))
        data = forward(x, c)
        return _node(data, name, self, None, partial_a(x, c, data), c)

    method.__name__ = method.__qualname__ = _reflected(row) if reflected else row.python_name
    return method


def _reflected(row: Op) -> str:
    """The reflected method's name: __radd__ for __add__."""
    return row.python_name.replace("__", "__r", 1)


def methods_from_row(row: Op) -> dict[str, Callable[..., Any]]:
    """The Value methods a row becomes, by name: ``{"tanh": f}``, or ``{"__add__": f, "__radd__": g}``."""
    if row.arity == 1:
        return {row.python_name: _unary_method(row)}
    if row.arity == 2:
        return {
            row.python_name: _binary_method(row, reflected=False),
            _reflected(row): _binary_method(row, reflected=True),
        }
    return {}  # n-ary ops are functions of the module (mg.sum, mg.max)


for _row in OPS.values():
    for _name, _method in methods_from_row(_row).items():
        setattr(Value, _name, _method)
del _row, _name, _method


# + and * between two Values make most nodes of every graph, so these two are
# also written out: the same formulas as their rows (a test checks that they
# agree) without the table method's calls, which a benchmark shows worth it.
# Anything else (a constant operand, no_grad, detect_anomaly) goes to the table's method.
_add_from_table, _mul_from_table = Value.__add__, Value.__mul__


def _add_values(self: Value, other: Any) -> Value:
    if isinstance(other, Value) and _get_mode() is _RECORD:
        out = _new_value(Value)
        out._data = self._data + other._data
        out.grad = 0.0
        out._op_label = "+"
        out._parent_a = self
        out._parent_b = other
        out._partial_a = 1.0
        out._partial_b_or_operands = 1.0
        out._mark = None
        return out
    return _add_from_table(self, other)


def _mul_values(self: Value, other: Any) -> Value:
    if isinstance(other, Value) and _get_mode() is _RECORD:
        out = _new_value(Value)
        a = self._data
        b = other._data
        out._data = a * b
        out.grad = 0.0
        out._op_label = "*"
        out._parent_a = self
        out._parent_b = other
        out._partial_a = b  # ∂(a·b)/∂a = b
        out._partial_b_or_operands = a
        out._mark = None
        return out
    return _mul_from_table(self, other)


_add_values.__name__, _add_values.__qualname__ = "__add__", "Value.__add__"
_mul_values.__name__, _mul_values.__qualname__ = "__mul__", "Value.__mul__"
Value.__add__ = _add_values  # type: ignore[method-assign]
Value.__mul__ = _mul_values  # type: ignore[method-assign]


# ---------------------------------------------------------------- n-ary nodes


def as_list(items: Any, what: str) -> list[Any]:
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
            x._data if isinstance(x, Value) else x if type(x) is float else to_float(x, what) for x in items
        ]
    except (TypeError, OverflowError):
        for i, x in enumerate(items):  # again, slowly, to name the item that is wrong
            if not isinstance(x, Value):
                to_float(x, f"{what}[{i}]")
        raise


def _nary_node(row: Op, items: list[Any], datas: list[float]) -> Value:
    """An n-ary node of ``row`` over ``items`` (Values and numbers) whose data are ``datas``."""
    data = row.forward(*datas)
    every = row.partials[0](*datas, data)
    value_parents = tuple([x for x in items if isinstance(x, Value)])
    if len(value_parents) == len(items):
        return _node(data, row.name, value_parents, _NARY, tuple(every), None)
    # Constants are kept, as the floats they were read as, in the operands.
    kept = tuple([x if isinstance(x, Value) else d for x, d in zip(items, datas)])
    partials = tuple([p for x, p in zip(items, every) if isinstance(x, Value)])
    return _node(data, row.name, value_parents, _NARY, partials, kept)


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mg.sum is the API name
    """Σ values as one node, however long the list (the notes' Σ)."""
    items = as_list(values, "sum")
    return _nary_node(_SUM, items, _datas(items, "sum"))


_SUM = OPS["sum"]

# dot's operands when the weights are Values and the inputs numbers (a
# network's first layer): ∂/∂wᵢ = xᵢ, so the partials are the inputs.
_DOT_INPUTS_ARE_PARTIALS = "the weights are the parents, the inputs their partials"


def dot(ws: Iterable[Operand], xs: Iterable[Operand]) -> Value:
    """Σ wᵢxᵢ as one node: the notes' 總刺激 (total stimulus) of a neuron.

    ∂/∂wᵢ = xᵢ and ∂/∂xᵢ = wᵢ.  The parents are the Value weights, then the
    Value inputs.  Written out rather than made by ``_nary_node``: it is the
    hot path of every neuron, and the partials it keeps are the data it read.
    """
    ws = as_list(ws, "dot weights")
    xs = as_list(xs, "dot inputs")
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs; they must match")
    w_datas = _datas(ws, "dot weights")
    x_datas = _datas(xs, "dot inputs")
    total = ops.sum_in_order(map(operator.mul, w_datas, x_datas))
    value_ws = [w for w in ws if isinstance(w, Value)]
    value_xs = [x for x in xs if isinstance(x, Value)]
    if len(value_ws) == len(ws) and len(value_xs) == len(xs):  # a hidden layer's neuron
        return _node(total, "dot", (*value_ws, *value_xs), _NARY, (*x_datas, *w_datas), None)
    if len(value_ws) == len(ws) and not value_xs:  # a first layer's neuron
        return _node(total, "dot", tuple(value_ws), _NARY, tuple(x_datas), _DOT_INPUTS_ARE_PARTIALS)
    partials = [x for w, x in zip(ws, x_datas) if isinstance(w, Value)]
    partials += [w for x, w in zip(xs, w_datas) if isinstance(x, Value)]
    kept = [v if isinstance(v, Value) else d for v, d in zip(ws + xs, w_datas + x_datas)]
    return _node(total, "dot", (*value_ws, *value_xs), _NARY, tuple(partials), tuple(kept))


def function_from_row(row: Op) -> Callable[..., Value]:
    """The function that makes nodes of ``row``: ``f(values)`` for an n-ary op, ``f(*xs)`` otherwise.

    It takes Values and plain numbers and returns a Value.
    """
    name = row.name
    if row.arity is NARY:

        def nary(values: Iterable[Operand]) -> Value:
            items = as_list(values, name)
            if not items:
                raise ValueError(f"{name}: the list is empty; {name} needs at least one item")
            return _nary_node(row, items, _datas(items, name))

        nary.__name__ = nary.__qualname__ = name
        nary.__doc__ = f"{row.doc}, as one node."
        return nary
    arity = row.arity

    def function(*xs: Operand) -> Value:
        if len(xs) != arity:
            raise TypeError(f"{name} takes {arity} operand{'s' if arity != 1 else ''}, got {len(xs)}")
        items = list(xs)
        datas = _datas(items, f"{name} operand")
        data = row.forward(*datas)
        value_positions = [i for i, x in enumerate(items) if isinstance(x, Value)]
        partials = tuple([row.partials[i](*datas, data) for i in value_positions])
        if not value_positions:
            return Value(data)
        if arity == 2 and len(value_positions) == 2:
            return _node(data, name, items[0], items[1], partials[0], partials[1])
        if len(value_positions) == 1 and arity <= 2:
            (i,) = value_positions
            kept: Any = None if arity == 1 else datas[1] if i == 0 else (datas[0], items[1])
            return _node(data, name, items[i], None, partials[0], kept)
        kept = tuple([x if isinstance(x, Value) else d for x, d in zip(items, datas)])
        return _node(data, name, tuple([items[i] for i in value_positions]), _NARY, partials, kept)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{row.doc or name}: a new node."
    return function


max = function_from_row(OPS["max"])  # noqa: A001 - mg.max is the API name
min = function_from_row(OPS["min"])  # noqa: A001 - mg.min is the API name
_gather_node = function_from_row(OPS["gather"])


def gather(values: Iterable[Operand], index: Operand) -> Value:
    """values[index] as one node: a lookup whose index may be a Value (a token column in mg.compile).

    ∂/∂values[index] = 1, 0 for the other items and for the index.  The
    index is a whole number in [0, len(values)), else IndexError naming it.
    """
    items = as_list(values, "gather values")
    if not items:
        raise ValueError("gather: the list of values is empty; there is nothing to pick from")
    if not isinstance(index, Value):
        index = to_float(index, "gather index")
    return _gather_node([*items, index])


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

    Call it holding ``_graph_lock``.  No recursion, so a chain of a million
    nodes is fine.  Visits are marked on the nodes (``_mark``) rather than in a
    set of seen nodes.  The marks are fresh objects on each call, so a mark
    left by an earlier walk (even one interrupted by an exception) never matches.
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
        a = node._parent_a
        if mark is entered or a is None:
            node._mark = done  # every parent is done
            emit(pop())
            continue
        node._mark = entered
        b = node._parent_b
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

    The reference backward loop: walk the nodes from the output back to the
    leaves (reverse topological order, so that a node's gradient is complete
    before it is passed on), and hand each parent its share by the chain rule.

    With ``create_graph=True`` the results are Values whose graph can be
    differentiated again (second derivatives): the local partials are then
    computed again by the op's row on Values.  An input that ``output`` does
    not depend on gets 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    wanted = set(inputs)
    found: dict[Value, Any] = {}
    pending: dict[Value, Any] = {output: 1.0}  # ∂output/∂node, complete once the node is reached
    with _set_mode(record=True) if create_graph else no_grad():
        for node in reversed(toposort(output)):
            g = pending.pop(node)
            if node in wanted:
                found[node] = g
            partials = _partials_on_values(node) if create_graph else local_partials(node)
            for parent, partial in zip(parents(node), partials):
                # chain rule: ∂output/∂parent += ∂node/∂parent × ∂output/∂node
                pending[parent] = pending.get(parent, 0.0) + partial * g
    results = [found.get(x, 0.0) for x in inputs]
    if create_graph:
        return [r if isinstance(r, Value) else Value(r) for r in results]
    return results


def _partials_on_values(node: Value) -> tuple[Any, ...]:
    """The node's local partials by its row, on its operands (Values): differentiable again."""
    if node._parent_a is None:
        return ()
    row, xs = ops.row(node.op), operands(node)
    if row.arity is NARY:
        every = row.all_partials(*xs, node)
        return tuple([p for x, p in zip(xs, every) if isinstance(x, Value)])
    # Only the Value operands' rules: x ** 3 never needs ln x.
    return tuple([rule(*xs, node) for x, rule in zip(xs, row.partials) if isinstance(x, Value)])


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``grad`` to 0.0 on every Value of the list (nothing changes if an item is not a Value)."""
    if isinstance(values, Value) or not isinstance(values, Iterable):
        raise TypeError(f"zero_grad: expected a list of Values, got {type(values).__name__}")
    values = list(values)
    if list(map(type, values)).count(Value) != len(values):  # checked before any grad changes
        for i, v in enumerate(values):
            if not isinstance(v, Value):
                raise TypeError(f"zero_grad: item {i} is a {type(v).__name__}, not a Value")
    for v in values:
        v.grad = 0.0


# ------------------------------------------------ many parameters at once
# An optimiser step or a compiled replay reads and writes every parameter of a
# model: thousands of Values per step.  These loops touch the float slot
# directly (``.data``'s property checks each assignment), which makes them
# several times faster; their callers pass floats they computed themselves.


def data_of(values: list[Value]) -> list[float]:
    """``[v.data for v in values]``, without the property's call per item."""
    return [v._data for v in values]


def set_data(values: list[Value], data: Iterable[float]) -> None:
    """``v.data = x`` for each pair; ``data`` must be built-in floats (as from ``ndarray.tolist()``)."""
    for v, x in zip(values, data, strict=True):
        v._data = x


def add_to_grads(values: list[Value], amounts: Iterable[float]) -> None:
    """``v.grad += a`` for each pair."""
    for v, a in zip(values, amounts, strict=True):
        v.grad += a


def descend(values: list[Value], grads: list[float], lr: float) -> None:
    """``v.data -= lr * g`` for each pair: plain gradient descent, θ ← θ − η ∂L/∂θ; ``grads`` are floats."""
    for v, g in zip(values, grads, strict=True):
        v._data -= lr * g


# ------------------------------------------------------------ anomaly checks


def _check_finite(node: Value, op: str, inputs: tuple[Any, ...] = ()) -> None:
    """Raise if the new node's value is not finite, naming the op that made it (even in no_grad)."""
    if not math.isfinite(node._data):
        what = f"operation {op!r}" if op else "a leaf Value"
        shown = ", ".join(repr(p._data) for p in inputs)
        raise FloatingPointError(
            f"detect_anomaly: {what} produced the non-finite value {node._data!r}"
            + (f" from operands ({shown})" if shown else "")
        )


def _check_gradients(node: Value, g: float) -> None:
    if not math.isfinite(g):
        raise FloatingPointError(
            f"detect_anomaly: the gradient reaching {node.op or 'leaf'!r} node "
            f"(data={node._data!r}) is {g!r}"
        )
    for i, (parent, partial) in enumerate(zip(parents(node), local_partials(node))):
        if not math.isfinite(partial * g):
            raise FloatingPointError(
                f"detect_anomaly: the backward of operation {node.op!r} produced the "
                f"non-finite gradient {partial * g!r} for its operand {i} (data={parent._data!r})"
            )


__all__ = [
    "Value", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "sum", "dot", "max", "min", "gather", "toposort", "grad", "zero_grad", "ops",
    "parents", "local_partials", "operands", "to_float", "short_repr", "as_list", "function_from_row",
    "methods_from_row",
]
