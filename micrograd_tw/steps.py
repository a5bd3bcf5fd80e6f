"""Backprop and the forward pass as data: one step per node, in the order they happen.

    steps = mg.backward_steps(y)       # root first, as backward() processes them
    steps[0].grad                      # 1.0: ∂y/∂y
    for parent, local, amount in steps[0].contributions:
        ...                            # amount = local × grad, added to ∂y/∂parent

Backward visits the nodes in reverse topological order; at each node the chain rule

    ∂L/∂parent += ∂node/∂parent × ∂L/∂node

sends one amount along each parent edge.  ``backward_steps`` replays exactly that,
in the same order and with the same float arithmetic as ``Value.backward``, without
touching any ``.grad``.  ``forward_steps`` lists the nodes in the order their values
were computed, with the op, the operands and the value.

The graph is read only through the engine's node interface (``engine.parents``,
``local_partials``, ``operands``, ``toposort``, ``node.op``, ``ops.row``), so ops
defined by users step through like the built-in ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import engine, ops
from .engine import Value
from .i18n import _

__all__ = [
    "STEP_LIMIT", "Contribution", "BackwardStep", "ForwardStep",
    "backward_steps", "forward_steps", "display_names", "num", "backward_lines", "forward_lines",
]

STEP_LIMIT = 200  # one step per node: beyond this a step-through is too long to follow


class Contribution(NamedTuple):
    """What one edge carries back: ``amount = local × grad`` of the node sending it."""

    parent: Value
    local: float  # ∂node/∂parent
    amount: float  # added to ∂root/∂parent


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One node of backward: its final ∂root/∂node, and what it sends to each parent edge."""

    node: Value
    grad: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True, eq=False)
class ForwardStep:
    """One node of the forward pass: its op ("" for a leaf), its operands and its value.

    ``inputs`` are the op's operands in order: Values, and constants as floats.
    """

    node: Value
    op: str
    inputs: tuple[Value | float, ...]
    value: float

    @property
    def arithmetic(self) -> str:
        """The arithmetic that made the value, in numbers: ``"1 * −2 = −2"``; a leaf's is its value."""
        if not self.op:
            return num(self.value)
        return f"{_expression(self, _number)} = {num(self.value)}"


# ------------------------------------------------------------------ the steps


def _check_root(root: Any, who: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{who}: root must be a Value, got {type(root).__name__}")


def _check_limit(limit: Any, who: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{who}: max_steps must be a positive int, got {limit!r}")


def _count(root: Value, limit: int) -> int:
    """The number of nodes of root's graph, counting no further than ``limit + 1``."""
    seen = {root}
    stack = [root]
    while stack and len(seen) <= limit:
        for p in engine.parents(stack.pop()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return len(seen)


def graph_nodes(root: Any, max_steps: int, who: str) -> list[Value]:
    """root's nodes, each after its parents (root last), or a clear error.

    A root that is not a Value is a TypeError; a graph of more than
    ``max_steps`` nodes is a ValueError saying how many and what to do.
    """
    _check_root(root, who)
    _check_limit(max_steps, who)
    count = _count(root, max_steps)
    if count > max_steps:
        total = len(engine.toposort(root))
        raise ValueError(
            f"{who}: the graph has {total:,} nodes, above the step limit max_steps={max_steps}: "
            f"a step-through that long cannot be followed. Step through a part of it (pass an "
            f"intermediate Value as the root, e.g. one neuron's output), or raise the limit "
            f"with max_steps={total}."
        )
    return engine.toposort(root)


def backward_steps(root: Value, *, max_steps: int = STEP_LIMIT) -> list[BackwardStep]:
    """The steps of ``root.backward()``: one per node, root first, in backward's order.

    Each step holds the node, ∂root/∂node (final when the node is reached), and one
    ``Contribution(parent, local, amount)`` per parent edge (``x * x`` has two).
    Summing a node's incoming amounts, in order, gives exactly what
    ``root.backward()`` adds to its ``.grad``.  No ``.grad`` is changed.
    A graph of more than ``max_steps`` nodes is refused (ValueError).
    """
    order = graph_nodes(root, max_steps, "backward_steps")
    # As Value.backward: the first amount reaching a node is its gradient, later ones add.
    pending: dict[Value, float] = {root: 1.0}
    steps = []
    for node in reversed(order):
        g = pending.pop(node)
        contributions = []
        for parent, local in zip(engine.parents(node), engine.local_partials(node)):
            amount = local * g
            contributions.append(Contribution(parent, local, amount))
            pending[parent] = pending[parent] + amount if parent in pending else amount
        steps.append(BackwardStep(node, g, tuple(contributions)))
    return steps


def forward_steps(root: Value, *, max_steps: int = STEP_LIMIT) -> list[ForwardStep]:
    """The nodes of root's graph in the order their values are computed, leaves first.

    Each step holds the node, its op ("" for a leaf), its operands (Values, and
    constants as floats) and its value.  A graph of more than ``max_steps`` nodes
    is refused (ValueError).
    """
    order = graph_nodes(root, max_steps, "forward_steps")
    return [ForwardStep(v, v.op, tuple(engine.operands(v)), v.data) for v in order]


# ------------------------------------------------------------------ the text


def num(x: float) -> str:
    """A number as the pictures and lines write it: 4 significant digits, a real minus sign."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}".replace("-", "−")


def display_names(nodes: list[Value]) -> dict[Value, str]:
    """A name for every node: its label, else ``out`` for the root (last) and v1, v2, ... for the rest.

    The v-numbers follow the forward order and skip names the labels use.
    """
    taken = {v.label for v in nodes if v.label}
    names: dict[Value, str] = {}
    k = 0
    for i, v in enumerate(nodes):
        if v.label:
            names[v] = v.label
            continue
        if i == len(nodes) - 1 and "out" not in taken:
            names[v] = "out"
            continue
        k += 1
        while f"v{k}" in taken:
            k += 1
        names[v] = f"v{k}"
    return names


def symbol(op: str) -> str:
    """The op's symbol for pictures (``ops.row(op).symbol``), else its name."""
    try:
        row = ops.row(op)
    except (KeyError, ValueError):
        return op
    return str(getattr(row, "symbol", "") or op)


def partial_name(root: str, node: str) -> str:
    """``∂y/∂w``: the gradient of the root with respect to a node, by name (``∂y/∂(z + b)``)."""

    def term(name: str) -> str:
        return name if name.isidentifier() or name.replace(".", "").isalnum() else f"({name})"

    return f"∂{term(root)}/∂{term(node)}"


def edge_text(root: str, parent: str, c: Contribution, grad: float) -> str:
    """The chain-rule product one edge carries: ``∂y/∂w += 0.5 × −2 = −1``."""
    return f"{partial_name(root, parent)} += {num(c.local)} × {num(grad)} = {num(c.amount)}"


def backward_lines(steps: list[BackwardStep], names: dict[Value, str]) -> list[str]:
    """One line per frame (``len(steps) + 1``): the chain rule at that step, written out."""
    if not steps:
        return []
    r = names[steps[0].node]
    lines = []
    for s in steps:
        me = names[s.node]
        head = f"{partial_name(r, me)} = {num(s.grad)}"
        if not s.contributions:
            lines.append(f"{head}; " + _("{name} is a leaf: its grad is final.").format(name=me))
            continue
        sends = "; ".join(
            f"{partial_name(r, names[c.parent])} += {partial_name(me, names[c.parent])} × "
            f"{partial_name(r, me)} = {num(c.local)} × {num(s.grad)} = {num(c.amount)}"
            for c in s.contributions
        )
        lines.append(f"{head}; {sends}")
    lines.append(_("done: every grad is what {root}.backward() gives.").format(root=r))
    return lines


def _expression(step: ForwardStep, term: Callable[[Value | float], str]) -> str:
    """The op applied to its operands, each written by ``term``: ``x * w``, ``tanh(v2)``, ``w·x + 2·b``."""
    op, xs = step.op, step.inputs
    if op == "dot":
        half = len(xs) // 2
        return " + ".join(f"{term(w)}·{term(x)}" for w, x in zip(xs[:half], xs[half:]))
    if op == "sum":
        return " + ".join(map(term, xs))
    sym = symbol(op)
    if len(xs) == 2 and op in ops.BINARY:
        return f"{term(xs[0])} {sym} {term(xs[1])}"
    return f"{sym}({', '.join(map(term, xs))})"


def _number(x: Value | float) -> str:
    return num(x.data if isinstance(x, Value) else x)


def forward_lines(steps: list[ForwardStep], names: dict[Value, str]) -> list[str]:
    """One line per frame (``len(steps) + 1``): how each value is computed."""
    lines = []
    for s in steps:
        me = names[s.node]
        if not s.op:
            lines.append(_("{name} = {value} (a leaf: given)").format(name=me, value=num(s.value)))
            continue
        by_name = _expression(s, lambda x: names[x] if isinstance(x, Value) else num(x))
        lines.append(f"{me} = {by_name} = {s.arithmetic}")
    if steps:
        last = steps[-1]
        lines.append(_("done: {name} = {value}").format(name=names[last.node], value=num(last.value)))
    return lines
