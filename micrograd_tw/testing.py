"""Property-test gradients: hypothesis strategies and the checks to call inside them.

    from hypothesis import given
    from micrograd_tw.testing import assert_gradients_match, expressions

    @given(expressions())
    def test_backprop_matches_finite_differences(expr):
        assert_gradients_match(expr, expr.inputs)

- ``expressions()`` draws random computation graphs (an ``Expression``: a
  callable plus the point to check it at) built from the op table, with shared
  sub-expressions, every operand inside its op's domain and away from kinks.
- ``operands(op)`` draws the operands of one op; ``mlps()`` draws small MLPs.
- ``assert_gradients_match`` compares backprop with central differences, per
  input or along one random direction; ``assert_second_derivatives_match``
  does the same for second derivatives (``mg.grad(..., create_graph=True)``).

This is the only module of micrograd_tw that imports hypothesis:
``import micrograd_tw`` alone does not.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from . import engine, nn
from .engine import Value, enable_grad, grad, no_grad
from .gradcheck import as_floats, check_eps, check_tolerances, close, gradcheck, numerical_grad
from .ops import NARY as NARY_ARITY
from .ops import OPS, Domain

__all__ = [
    "Domain", "DOMAINS", "DEFAULT_DOMAIN", "KINK_MARGIN", "Expression", "Node", "MLPCase",
    "expressions", "operands", "mlps",
    "assert_gradients_match", "assert_second_derivatives_match",
]


# --------------------------------------------------------------- op domains
# Finite differences evaluate f at x ± eps, so a check is only meaningful where
# every op is smooth in a neighbourhood of the drawn point.  Each operand of
# each op has a region (its row's ``domain`` in ops.py) that keeps it well
# inside the op's domain and at least 0.25 away from its kinks (relu, abs at
# 0) and singularities (log, sqrt, 1/b at 0).  Operands are *shifted* into
# their region, never filtered.


def points(domain: Domain) -> st.SearchStrategy[float]:
    """Points of a domain, rounded to two decimals (readable constants)."""
    return _points(domain)


@functools.cache
def _points(domain: Domain) -> st.SearchStrategy[float]:
    # Built once per domain: hypothesis validates every new strategy object,
    # which would otherwise dominate the cost of drawing a graph.
    inside = st.floats(domain.lo, domain.hi, allow_nan=False, allow_subnormal=False).map(
        lambda v: min(max(round(v, 2), domain.lo), domain.hi) + 0.0  # + 0.0: no -0.0
    )
    if not domain.symmetric:
        return inside
    return st.tuples(inside, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


ANYWHERE = Domain(-2.0, 2.0)  # for operands with no restriction (constants are drawn from it)


class _Domains(Mapping[str, tuple[Domain | None, ...]]):
    """Each fixed-arity op's operand regions, read from its row (users' ops too)."""

    def __getitem__(self, name: str) -> tuple[Domain | None, ...]:
        r = OPS.get(name)
        if r is None or r.arity is NARY_ARITY:
            raise KeyError(name)
        return r.domain

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, r in OPS.items() if r.arity is not NARY_ARITY])

    def __len__(self) -> int:
        return sum(1 for _ in self)


DOMAINS: Mapping[str, tuple[Domain | None, ...]] = _Domains()

# The region for an operand whose row says nothing (a user's op defined without a domain):
# positive and moderate, which is inside most ops' domains.
DEFAULT_DOMAIN = Domain(0.5, 2.0)

NARY = ("sum", "dot", "max", "min")  # n-ary engine nodes drawn besides the fixed-arity rows

# Ops whose items must stay KINK_GAP apart (a tie between different items is a kink).
SEPARATED = ("max", "min")
KINK_GAP = 0.25

# Values are kept at most BOUND in size (a node above it is divided by a power
# of two), so products and powers of nodes cannot overflow, and finite
# differences keep their accuracy.
BOUND = 4.0


def _domains(name: str, overrides: Mapping[str, Sequence[Domain | None]]) -> tuple[Domain | None, ...]:
    if name in overrides:
        return tuple(overrides[name])
    r = OPS[name]
    if not r.domain:  # a user's op defined without a domain
        return (DEFAULT_DOMAIN,) * (r.arity or 1)
    return r.domain


def _known_op(name: str) -> None:
    if name not in OPS and name not in NARY:
        known = ", ".join(repr(n) for n in OPS)
        raise ValueError(f"unknown op {name!r}; the op table has {known}")


def operands(op: str, domains: Mapping[str, Sequence[Domain | None]] | None = None) -> Any:
    """A strategy for the operands of one op of the table, as a tuple of floats.

    Every operand is inside its region of ``DOMAINS`` (unrestricted ones are
    drawn from [-2, 2]): inside the op's domain and off its kinks.
    """
    _known_op(op)
    if op in NARY:
        raise ValueError(f"operands: {op!r} is n-ary; draw its operands with st.lists(...)")
    regions = _domains(op, domains or {})
    return st.tuples(*[points(d or ANYWHERE) for d in regions])


# --------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Node:
    """One operation of an ``Expression``.

    ``args`` holds an ``int`` for a slot (inputs first, then earlier nodes) and
    a ``float`` for a constant.  A ``dot`` node holds its weights, then its
    inputs.  ``guard`` marks the nodes added to keep operands inside their
    domains and values bounded.
    """

    op: str
    args: tuple[int | float, ...]
    guard: bool = False


def _is_slot(arg: int | float) -> bool:
    return isinstance(arg, int)


def _check_node(node: Node, k: int, n_slots: int) -> None:
    """A clear error for a node that names an unknown op, has the wrong arity or reads ahead."""
    _known_op(node.op)
    where = f"Expression: node {k} ({node.op!r})"
    arity = len(node.args)
    if (node.op not in NARY and arity != OPS[node.op].arity) or (node.op == "dot" and arity % 2) or not arity:
        raise ValueError(f"{where} has {arity} operands")
    for a in node.args:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise TypeError(f"{where}: an operand is a slot (int) or a constant (float), got {a!r}")
        if isinstance(a, int) and not 0 <= a < n_slots:
            raise ValueError(f"{where} reads slot {a}; only slots 0..{n_slots - 1} come before it")


def _apply(op: str, args: list[Any]) -> Value:
    """Make one node with the engine, as user code would (a Value or a constant per operand)."""
    if op == "dot":
        half = len(args) // 2
        return engine.dot(args[:half], args[half:])
    r = OPS[op]
    if r.arity is NARY_ARITY:  # sum, max, min
        return getattr(engine, r.python_name)(args)  # type: ignore[no-any-return]
    method = getattr(Value, r.python_name, None)
    if method is None:  # a user's op (mg.ops.define): the function its row makes
        return engine.function_from_row(r)(*args)
    if r.arity == 1:
        return method(args[0])  # type: ignore[no-any-return]
    a, b = args
    if isinstance(a, Value):
        return method(a, b)  # type: ignore[no-any-return]
    reflected = r.python_name.replace("__", "__r", 1)
    return getattr(b, reflected)(a)  # type: ignore[no-any-return]  # constant (op) Value


class Expression:
    """A computation graph to check: call it on one Value per input; ``inputs`` is the point.

    Nodes may share earlier nodes (a node feeding two consumers).  The repr
    is the formula, with shared nodes named ``t1, t2, ...``.
    """

    def __init__(self, inputs: Sequence[float], nodes: Sequence[Node]) -> None:
        self.inputs = tuple(float(x) for x in inputs)
        self.nodes = tuple(nodes)
        if not self.nodes:
            raise ValueError("Expression: needs at least one node")
        for k, node in enumerate(self.nodes):
            _check_node(node, k, len(self.inputs) + k)

    @property
    def size(self) -> int:
        """The number of operation nodes (guards included)."""
        return len(self.nodes)

    @property
    def ops(self) -> set[str]:
        """The names of the ops it uses (guards included)."""
        return {node.op for node in self.nodes}

    @property
    def drawn_ops(self) -> set[str]:
        """The names of the ops drawn, without the guards."""
        return {node.op for node in self.nodes if not node.guard}

    def __call__(self, *xs: Any) -> Value:
        if len(xs) != len(self.inputs):
            raise TypeError(f"this expression takes {len(self.inputs)} inputs, got {len(xs)}")
        slots: list[Any] = [x if isinstance(x, Value) else Value(x) for x in xs]
        for node in self.nodes:
            slots.append(_apply(node.op, [slots[int(a)] if _is_slot(a) else a for a in node.args]))
        return slots[-1]

    # ---- the formula

    def __repr__(self) -> str:
        n = len(self.inputs)
        uses = [0] * (n + len(self.nodes))
        for node in self.nodes:
            for a in node.args:
                if _is_slot(a):
                    uses[int(a)] += 1
        names: dict[int, str] = {}
        for slot in range(n, n + len(self.nodes) - 1):
            if uses[slot] > 1:
                names[slot] = f"t{len(names) + 1}"

        def text(arg: int | float, inline: bool = False) -> str:
            if not _is_slot(arg):
                return repr(arg)
            slot = int(arg)
            if slot < n:
                return f"x{slot}"
            if slot in names and not inline:
                return names[slot]
            node = self.nodes[slot - n]
            if _is_operator(node.op):
                left, right = (wrapped(a, node.op == "**" and i == 0) for i, a in enumerate(node.args))
                return f"{left} {node.op} {right}"
            parts = [text(a) for a in node.args]
            if node.op == "neg":
                return f"-{wrapped(node.args[0], True)}"
            if node.op == "dot":
                half = len(parts) // 2
                return f"dot([{', '.join(parts[:half])}], [{', '.join(parts[half:])}])"
            if node.op in NARY:
                return f"{node.op}([{', '.join(parts)}])"
            return f"{node.op}({', '.join(parts)})"

        def wrapped(arg: int | float, tight: bool) -> str:
            """An operand's text, in parentheses where Python would read it differently.

            Binary nodes are always wrapped; a minus sign only where it binds
            looser than its context (``(-x) ** 2``, ``-(-x)``).
            """
            t = text(arg)
            if not _is_slot(arg):
                return f"({t})" if tight and t.startswith("-") else t
            slot = int(arg)
            if slot < n or slot in names:
                return t
            op = self.nodes[slot - n].op
            return f"({t})" if _is_operator(op) or (tight and op == "neg") else t

        out = n + len(self.nodes) - 1
        args = ", ".join(f"x{i}" for i in range(n))
        where = "".join(f", {name} = {text(slot, inline=True)}" for slot, name in names.items())
        point = ", ".join(f"x{i}={x!r}" for i, x in enumerate(self.inputs))
        return f"Expression(f({args}) = {text(out, inline=True)}{where}; at {point})"


def _near_another(slots: list[Value], args: list[int | float], slot: int) -> bool:
    """Whether slot's value is within KINK_GAP of an earlier item that is another node."""
    v = slots[slot].data
    return any(int(a) != slot and abs(slots[int(a)].data - v) < KINK_GAP for a in args)


def _is_operator(op: str) -> bool:
    """A binary row written as an operator (x + y), not as a function call."""
    r = OPS[op]
    return r.arity == 2 and r.python_name.startswith("__")


def _pruned(inputs: list[float], nodes: list[Node]) -> Expression:
    """The expression without the nodes that its output does not read."""
    n = len(inputs)
    keep = [False] * len(nodes)
    keep[-1] = True
    for k in range(len(nodes) - 1, -1, -1):
        if keep[k]:
            for a in nodes[k].args:
                if _is_slot(a) and int(a) >= n:
                    keep[int(a) - n] = True
    new_slot = list(range(n))
    kept: list[Node] = []
    for k, node in enumerate(nodes):
        new_slot.append(n + len(kept))
        if keep[k]:
            args = tuple(new_slot[int(a)] if _is_slot(a) else a for a in node.args)
            kept.append(Node(node.op, args, node.guard))
    return Expression(inputs, kept)


# Inputs are kept off 0, where many wrong derivative formulas happen to agree
# with the right one (tanh' written as 1 − out instead of 1 − out²).
_INPUTS = points(Domain(0.1, 2.0, symmetric=True))


def expressions(
    max_inputs: int = 3,
    max_ops: int = 6,
    ops: Iterable[str] | None = None,
    domains: Mapping[str, Sequence[Domain | None]] | None = None,
) -> Any:
    """A strategy for random computation graphs (``Expression``) with their inputs.

    Each graph has 1..``max_inputs`` inputs, 0.1 to 2 away from 0, and 1..``max_ops`` ops
    drawn from ``ops`` (default: every row of the op table, plus ``sum`` and
    ``dot``).  An operand is an input, an earlier node (so nodes are shared)
    or, for binary and ``dot`` nodes, a constant on either side.  An operand
    outside its op's region (``DOMAINS``; ``domains`` overrides entries) is
    shifted into it by adding a constant chosen from its value at the drawn
    point; a node larger than 4 is divided by a power of two.  Both guards
    are ordinary nodes, shown in the repr.  Graphs shrink towards one op on
    one input.
    """
    if isinstance(max_inputs, bool) or not isinstance(max_inputs, int) or max_inputs < 1:
        raise ValueError(f"expressions: max_inputs must be an int >= 1, got {max_inputs!r}")
    if isinstance(max_ops, bool) or not isinstance(max_ops, int) or max_ops < 1:
        raise ValueError(f"expressions: max_ops must be an int >= 1, got {max_ops!r}")
    names = list(ops) if ops is not None else [*[n for n in OPS if n not in NARY], *NARY]
    if not names:
        raise ValueError("expressions: ops is empty")
    for name in names:
        _known_op(name)
    overrides = dict(domains or {})
    for name, regions in overrides.items():
        _known_op(name)
        if name not in NARY and len(regions) != OPS[name].arity:
            raise ValueError(
                f"expressions: domains[{name!r}] has {len(regions)} entries; {name!r} takes "
                f"{OPS[name].arity} operands"
            )
    return _draw_expression(max_inputs, max_ops, names, overrides)


# An op is drawn as a spec that does not depend on the graph so far: an
# operand is "the node `back` slots before the newest" (clamped to the first
# input) with a target point for its guard.  The specs are a hypothesis list,
# so the shrinker can delete any op, and the graph is built from them.


@dataclass(frozen=True)
class _Operand:
    back: int = 0  # 0: the newest slot
    target: float | None = None  # where a guard moves the operand, if it is outside its region
    constant: float | None = None  # a constant instead of a slot


@functools.cache
def _operand(region: Domain | None, max_back: int) -> st.SearchStrategy[_Operand]:
    # Half the time the newest slot: graphs grow deep rather than wide, and two
    # operands often pick the same node (sharing).  Shrinks to the newest.
    back = st.one_of(st.just(0), st.integers(0, max_back))
    if region is None:
        return st.builds(_Operand, back)
    return st.builds(_Operand, back, points(region))


@st.composite
def _op_spec(
    draw: Any, names: list[str], overrides: dict[str, Any], max_back: int
) -> tuple[str, tuple[_Operand, ...]]:
    op = draw(st.sampled_from(names))
    if op in NARY and op != "dot":  # sum, max, min
        return op, tuple(draw(_operand(None, max_back)) for _ in range(draw(st.integers(1, 4))))
    if op == "dot":
        width = draw(st.integers(1, 3))
        ws = [  # each weight a Value or a constant
            draw(_operand(None, max_back)) if draw(st.booleans())
            else _Operand(constant=draw(points(ANYWHERE)))
            for _ in range(width)
        ]
        return op, (*ws, *[draw(_operand(None, max_back)) for _ in range(width)])
    regions = _domains(op, overrides)
    # A binary op has both operands Values, or a constant on one side.
    const_at = draw(st.sampled_from((None, 1, 0))) if len(regions) == 2 else None
    return op, tuple(
        _Operand(constant=draw(points(r or ANYWHERE))) if i == const_at else draw(_operand(r, max_back))
        for i, r in enumerate(regions)
    )


@st.composite
def _draw_expression(
    draw: Any, max_inputs: int, max_ops: int, names: list[str], overrides: dict[str, Any]
) -> Expression:
    inputs = [draw(_INPUTS) for _ in range(draw(st.integers(1, max_inputs)))]
    specs = draw(st.lists(_op_spec(names, overrides, max_back=max_inputs + 3 * max_ops),
                          min_size=1, max_size=max_ops))
    nodes: list[Node] = []
    with no_grad():  # the slots' values at the drawn point, to place the guards
        slots: list[Value] = [Value(x) for x in inputs]

        def add(node: Node) -> int:
            slots.append(_apply(node.op, [slots[int(a)] if _is_slot(a) else a for a in node.args]))
            nodes.append(node)
            return len(slots) - 1

        for op, operands in specs:
            newest = len(slots) - 1
            args: list[int | float] = []
            for spec in operands:
                if spec.constant is not None:
                    args.append(spec.constant)
                    continue
                slot = max(newest - spec.back, 0)
                v = slots[slot].data
                region = _domains(op, overrides)[len(args)] if op not in NARY else None
                if region is not None and spec.target is not None and v not in region:
                    shift = round(spec.target - v, 2) + 0.0  # v + shift lands near the target
                    slot = add(Node("+", (slot, shift), guard=True))
                elif op in SEPARATED and _near_another(slots, args, slot):
                    # max and min have a kink where two different items tie: move this one above the rest
                    top = max(slots[int(a)].data for a in args)
                    slot = add(Node("+", (slot, round(top + 2 * KINK_GAP - v, 2) + 0.0), guard=True))
                args.append(slot)
            out = add(Node(op, tuple(args)))
            size = abs(slots[out].data)
            if size > BOUND:
                add(Node("/", (out, 2.0 ** math.ceil(math.log2(size / BOUND))), guard=True))
    return _pruned(inputs, nodes)


# ------------------------------------------------------------------- checks


def _direction(n: int, seed: int | None) -> list[float]:
    """A random unit vector of length n (seeded, so a failure can be reproduced)."""
    rng = random.Random(seed)
    while True:
        v = [rng.gauss(0.0, 1.0) for _ in range(n)]
        norm = math.sqrt(math.fsum(c * c for c in v))
        if norm > 1e-3:
            return [c / norm for c in v]


def _short_list(xs: Sequence[float], limit: int = 6) -> str:
    shown = ", ".join(f"{x:.6g}" for x in xs[:limit])
    return f"[{shown}{', ...' if len(xs) > limit else ''}]"


def _output(fn: Callable[..., Any], values: list[Value], who: str) -> Value:
    out = fn(*values)
    if not isinstance(out, Value):
        raise TypeError(f"{who}: fn must return a Value, got {type(out).__name__}")
    return out


def _along(fn: Callable[..., Any], xs: list[float], v: list[float]) -> Callable[[Value], Any]:
    """t ↦ fn(x + t·v): its derivative at t = 0 is the directional derivative ∇f·v."""

    def restricted(t: Value) -> Any:
        return fn(*[Value(x + t.data * c) for x, c in zip(xs, v)])

    return restricted


# Above this many inputs, the default is one directional check instead of 2n evaluations.
DIRECTIONAL_ABOVE = 16


def assert_gradients_match(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    directional: bool | None = None,
    seed: int | None = 0,
) -> None:
    """Assert that backprop through ``fn`` agrees with central finite differences.

    ``fn(*values)`` takes one Value per input and returns a Value.  Passes
    when |analytic − numeric| ≤ atol + rtol·|numeric|; a NaN is a failure.

    - Per input (``directional=False``): 2n evaluations; the error names the
      input (index and value) with its analytic and numeric derivative.
    - Along one random unit direction v (``directional=True``): compares
      (f(x+εv) − f(x−εv)) / 2ε with ∇f·v, two evaluations for any n; the error
      gives v and ``seed`` (rerun with ``directional=False`` to find the input).
    - ``directional=None`` (default): per input up to 16 inputs, else directional.
    """
    check_tolerances(atol, rtol)
    eps = check_eps(eps)
    xs = as_floats(inputs)
    if directional is None:
        directional = len(xs) > DIRECTIONAL_ABOVE
    if not directional:
        gradcheck(fn, xs, eps=eps, atol=atol, rtol=rtol)
        return
    if not xs:
        raise ValueError("assert_gradients_match: a directional check needs at least one input")
    v = _direction(len(xs), seed)
    values = [Value(x) for x in xs]
    gradient = grad(_output(fn, values, "assert_gradients_match"), values)
    analytic = math.fsum(g * c for g, c in zip(gradient, v))
    numeric = numerical_grad(_along(fn, xs, v), [0.0], eps)[0]
    if not close(analytic, numeric, atol, rtol):
        raise AssertionError(
            f"assert_gradients_match: the derivative along the random direction v = {_short_list(v)} "
            f"(seed={seed}, {len(xs)} inputs at x = {_short_list(xs)}) does not match: "
            f"analytic ∇f·v = {analytic!r}, numeric (f(x+εv) − f(x−εv))/2ε = {numeric!r} "
            f"(eps={eps}, atol={atol}, rtol={rtol}); rerun with directional=False to find the input"
        )


def _gradient_at(fn: Callable[..., Any], xs: Sequence[float]) -> list[float]:
    """∇f at the floats xs, by backprop (recording even inside no_grad)."""
    with enable_grad():
        values = [Value(x) for x in xs]
        return grad(_output(fn, values, "assert_second_derivatives_match"), values)


def assert_second_derivatives_match(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    directional: bool | None = None,
    seed: int | None = 0,
) -> None:
    """Assert that second derivatives by double backprop agree with finite differences.

    The analytic Hessian comes from ``mg.grad(f, x, create_graph=True)`` and
    ``mg.grad`` again; the numeric one from central differences of the first
    derivatives (themselves by backprop), so this checks the create_graph
    path on its own.  Per entry (``directional=False``, 2n² evaluations of ∇f)
    the error names ∂²f/∂xᵢ∂xⱼ; along a random unit v (``directional=True``)
    it compares vᵀHv with the derivative of ∇f(x+tv)·v at t = 0.
    ``directional=None``: per entry up to 16 inputs.
    """
    check_tolerances(atol, rtol)
    eps = check_eps(eps)
    xs = as_floats(inputs)
    if directional is None:
        directional = len(xs) > DIRECTIONAL_ABOVE
    values = [Value(x) for x in xs]
    first = grad(_output(fn, values, "assert_second_derivatives_match"), values, create_graph=True)

    def fail(what: str, analytic: float, numeric: float) -> AssertionError:
        return AssertionError(
            f"assert_second_derivatives_match: {what} does not match: analytic {analytic!r} "
            f"(mg.grad with create_graph=True, then mg.grad), numeric {numeric!r} (central "
            f"differences of the first derivatives; eps={eps}, atol={atol}, rtol={rtol})"
        )

    if directional:
        if not xs:
            raise ValueError("assert_second_derivatives_match: a directional check needs an input")
        v = _direction(len(xs), seed)
        hv = grad(engine.dot(first, v), values)  # H v, as floats
        analytic = math.fsum(h * c for h, c in zip(hv, v))

        def slope(t: Value) -> float:
            g = _gradient_at(fn, [x + t.data * c for x, c in zip(xs, v)])
            return math.fsum(gi * c for gi, c in zip(g, v))

        numeric = numerical_grad(slope, [0.0], eps)[0]
        if not close(analytic, numeric, atol, rtol):
            raise fail(
                f"the second derivative vᵀHv along v = {_short_list(v)} (seed={seed}, x = {_short_list(xs)})",
                analytic,
                numeric,
            )
        return
    for i, gi in enumerate(first):
        row = grad(gi, values)

        def component(*vs: Value, i: int = i) -> float:
            return _gradient_at(fn, [x.data for x in vs])[i]

        numeric_row = numerical_grad(component, xs, eps)
        for j, (a, nv) in enumerate(zip(row, numeric_row)):
            if not close(a, nv, atol, rtol):
                raise fail(
                    f"∂²f/∂x{i}∂x{j} (x{i} = {xs[i]!r}, x{j} = {xs[j]!r})",
                    a,
                    nv,
                )


# ---------------------------------------------------------------------- MLPs
# Drawn networks are checked with respect to their parameters and inputs
# together.  A relu neuron whose total stimulus lands within KINK_MARGIN of 0
# at the drawn input has its bias shifted away from the kink.

KINK_MARGIN = 0.25


class MLPCase:
    """A small MLP at one input: call it on Values for (parameters..., inputs...).

    ``inputs`` is the point: the parameters' data (in ``model.parameters()``
    order) followed by ``x``.  The call returns the network's output, summed
    when the last layer has several neurons, computed with the given Values in
    place of the parameters, so gradients reach them; calling leaves the
    model as it was.

    With ``off_kinks`` (the default), a relu neuron whose stimulus at ``x`` is
    within ``KINK_MARGIN`` of 0 has its bias shifted away from the kink: the
    model is changed once, here.  Give ``seed`` (the model's) for a repr that
    rebuilds the case.
    """

    def __init__(
        self, model: Any, x: Sequence[float], seed: int | None = None, off_kinks: bool = True
    ) -> None:
        self.model = model
        self.x = tuple(float(c) for c in x)
        if len(self.x) != model.nin:
            raise ValueError(f"MLPCase: the model takes {model.nin} inputs, x has {len(self.x)}")
        self.seed = seed
        if off_kinks:
            _off_kinks(model, self.x)

    @property
    def inputs(self) -> tuple[float, ...]:
        return tuple(p.data for p in self.model.parameters()) + self.x

    def __call__(self, *values: Any) -> Value:
        n_params = len(self.model.parameters())
        if len(values) != n_params + len(self.x):
            raise TypeError(
                f"this MLP case takes {n_params} parameters and {len(self.x)} inputs, "
                f"got {len(values)} values"
            )
        neurons = [neuron for layer in self.model.layers for neuron in layer.neurons]
        saved = [(neuron.w, neuron.b) for neuron in neurons]
        k = 0
        try:
            for neuron in neurons:  # parameters() order: layer by layer, weights then bias
                neuron.w = list(values[k : k + len(neuron.w)])
                neuron.b = values[k + len(neuron.w)]
                k += len(neuron.w) + 1
            out = self.model(list(values[n_params:]))
        finally:
            for neuron, (w, b) in zip(neurons, saved):
                neuron.w, neuron.b = w, b
        return out if isinstance(out, Value) else engine.sum(out)

    def __repr__(self) -> str:
        m = self.model
        if self.seed is None:
            return f"MLPCase({m!r}, x={list(self.x)!r})"
        return (
            f"MLPCase(MLP({m.nin}, {m.nouts}, activation={m.activation!r}, "
            f"output_activation={m.output_activation!r}, seed={self.seed}), x={list(self.x)!r})"
        )


def _off_kinks(model: Any, x: Sequence[float]) -> None:
    """Shift the bias of every relu neuron whose stimulus at x is near 0 (layer by layer)."""
    with no_grad():
        signal: list[Any] = list(x)
        for layer in model.layers:
            for neuron in layer.neurons:
                if neuron.activation == "relu":
                    z = (engine.dot(neuron.w, signal) + neuron.b).data
                    if abs(z) < KINK_MARGIN:
                        neuron.b.data += (KINK_MARGIN if z >= 0.0 else -KINK_MARGIN) - z
            signal = [neuron(signal).data for neuron in layer.neurons]


# nn's activations, tanh first: hypothesis shrinks towards it, and it has no kink.
ACTIVATIONS = ("tanh", *(name for name in nn.ACTIVATIONS if name != "tanh"))


def mlps(
    max_nin: int = 3,
    max_hidden_layers: int = 2,
    max_width: int = 4,
    max_nout: int = 2,
    activations: Sequence[str] = ACTIVATIONS,
    output_activations: Sequence[str] = ("linear", "tanh", "sigmoid"),
) -> Any:
    """A strategy for small MLPs at an input point (``MLPCase``).

    ``MLP(nin, [widths..., nout], activation, output_activation, seed)`` with
    1..``max_nin`` inputs 0.1 to 2 away from 0, 0..``max_hidden_layers`` hidden layers
    of 1..``max_width`` neurons and 1..``max_nout`` outputs; relu neurons are
    kept off their kink at the drawn input.  Shrinks towards one linear neuron.
    """
    for name, limit, low in (
        ("max_nin", max_nin, 1), ("max_hidden_layers", max_hidden_layers, 0),
        ("max_width", max_width, 1), ("max_nout", max_nout, 1),
    ):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < low:
            raise ValueError(f"mlps: {name} must be an int >= {low}, got {limit!r}")
    if not activations or not output_activations:
        raise ValueError("mlps: activations and output_activations must not be empty")
    return _draw_mlp(max_nin, max_hidden_layers, max_width, max_nout, list(activations),
                     list(output_activations))


@st.composite
def _draw_mlp(
    draw: Any, max_nin: int, max_hidden_layers: int, max_width: int, max_nout: int,
    activations: list[str], output_activations: list[str],
) -> MLPCase:
    nin = draw(st.integers(1, max_nin))
    widths = draw(st.lists(st.integers(1, max_width), max_size=max_hidden_layers))
    nouts = [*widths, draw(st.integers(1, max_nout))]
    seed = draw(st.integers(0, 2**16))
    model = nn.MLP(
        nin,
        nouts,
        activation=draw(st.sampled_from(activations)),
        output_activation=draw(st.sampled_from(output_activations)),
        seed=seed,
    )
    return MLPCase(model, [draw(_INPUTS) for _ in range(nin)], seed)
