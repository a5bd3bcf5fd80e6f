"""Batched replay: trace a scalar graph once, replay it over a batch with numpy.

A scalar graph has the same shape for every sample.  ``mg.compile(fn)`` runs
``fn`` once, on the first row, keeps the graph it builds as a tape of fused
numpy operations, and replays the tape forward and backward on whole columns:

    fast = mg.compile(loss_fn)
    outs = fast(X[:, 0], X[:, 1], Y)            # loss_fn on every row
    loss = fast.backward(X[:, 0], X[:, 1], Y)   # mean loss; gradients into p.grad

Values come in two kinds.  *Varying* values differ from row to row (the
inputs and everything computed from them) and live in the rows of an array
``V`` of shape (slots, batch).  *Uniform* values are the same for every row
(the parameters, the constants, and what is computed from them alone, such
as an L2 penalty) and live in a vector ``U``: they are computed once per call,
and their gradients are the sum over the batch.

Nodes with the same op, at the same depth and with the same operand kinds
form a group that runs as one numpy operation (gather the operands, compute,
scatter the result), so a layer of 16 neurons costs a handful of numpy calls.
Dots whose weights are parameters group by the inputs they read: each such
group is a layer, one matrix product forward and two backward (the three
embedding lookups of a language model's context are three products).
Each op's numpy forward and partials come from its row of the op table in
``ops.py`` (its ``kernel``), with the float rules' conventions (relu'(0) = 0,
abs'(0) = 0, the pow rules, the stable sigmoid).

Agreement with the eager engine, for every batch size: each node of the
replay equals the eager op on the replay's own operands within rounding,
2γₙ·Σ|tᵢ| for a sum or dot of n terms tᵢ (γₙ = n·u/(1 − n·u), u = 2⁻⁵³) and
16·u·|x| for an elementwise op (see "checking a replay" below).  Sums add
in the engine's order, so they agree exactly; a layer fused into a matrix
product adds in BLAS's order.

Integer columns (token ids, class labels) are columns like any other: a
lookup ``mg.gather`` (``mg.nn.Embedding``, ``cross_entropy`` with a Value
target) picks each row's own item, and its gradient is added into the table
by a scatter-add; an id out of range is an IndexError naming its column and row.

As with ``torch.jit.trace``, whatever ``fn`` decides from ``.data`` is frozen
at trace time: Python branches (``if x > 0``), constants computed from data,
Values built from ``.data``.  (Graph ops such as ``mg.max``, softmax's shift,
are computed per row.)  ``fast.verify`` replays the caller's batch, re-runs
``fn`` eagerly on a few rows, and names the row and node where the graph or a
value leaves the contract.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from . import engine, ops
from .engine import Value

__all__ = ["compile", "Compiled"]

INF = math.inf
NAN = math.nan
_SUMS = ("sum", "dot")  # the ops whose replay adds many terms: their bound grows with the count


# ------------------------------------------------------------ kernels and operands
# Each op's numpy forward and partials are its row's kernel (ops.py).  A row
# without one (``mg.ops.define``) runs its own forward and partials on arrays;
# whether they can is tried once per op when the graph is traced.


def _kernel(op: str) -> ops.Kernel:
    """The numpy kernel of an op's row."""
    return ops.row(op).numpy_kernel()


def _probe(node: Value) -> None:
    """At trace time: a row without its own kernel must run on numpy arrays; else say so, naming the op."""
    row = ops.row(node.op)
    if row.kernel is not None:
        return
    xs = [np.full(2, v.data if isinstance(v, Value) else v) for v in engine.operands(node)]
    try:
        with np.errstate(all="ignore"):
            out = row.forward(*xs)
            partials = row.all_partials(*xs, out)
        ok = isinstance(out, np.ndarray) and out.shape == (2,) and all(np.ndim(p) <= 1 for p in partials)
        problem = "" if ok else f"its forward gave {type(out).__name__} {np.shape(out)}, not an array of 2"
    except Exception as e:  # noqa: BLE001 - whatever the user's code raises, it cannot run on arrays
        problem = f"{type(e).__name__}: {e}"
    if problem:
        raise ValueError(
            f"mg.compile: the op {node.op!r} cannot run on numpy arrays ({problem}); write its forward "
            f"and partials with numpy-friendly operations (np.exp, np.log1p, arithmetic), or run it eagerly"
        )


def _parts(node: Value) -> tuple[tuple[Any, ...], ...]:
    """A node's operands as lists (Values and constant floats): (ws, xs) for dot, one list otherwise."""
    xs = engine.operands(node)
    if node.op == "dot":
        n = len(xs) // 2
        return (xs[:n], xs[n:])
    return (xs,)


# -------------------------------------------------------------- gather/scatter
# A group reads its operands from slots: V rows (varying) or U entries (uniform).
# Index lists become slices when they are contiguous, so that most reads and
# writes are views rather than copies.


def _as_index(slots: Sequence[int]) -> Any:
    """A slice for a contiguous ascending run of slots, else an index array."""
    first = slots[0]
    if list(slots) == list(range(first, first + len(slots))):
        return slice(first, first + len(slots))
    return np.asarray(slots, dtype=np.intp)


class _Rows:
    """Reads and accumulates a list of slots of one store (V rows or U entries).

    With ``collapse``, a list that repeats one slot is read once (a leading
    axis of 1 that broadcasts), as when k nodes all read the same input.
    """

    def __init__(self, slots: Sequence[int], collapse: bool = True) -> None:
        self.slots = list(slots)
        self.count = len(slots)
        # Set by the tape's plan (_Tape.plan_gradient_writes): this write into GV is the first to
        # reach every one of its rows, so it stores instead of adding, and the rows need no zeroing.
        self.assign = False
        self.same = collapse and len(slots) > 1 and all(s == slots[0] for s in slots)
        self.read = slice(slots[0], slots[0] + 1) if self.same else _as_index(slots)
        self.unique = len(set(slots)) == len(slots)
        if not self.unique and not self.same:  # accumulate repeated slots by sorting them
            flat = np.asarray(slots, dtype=np.intp)
            self.order = np.argsort(flat, kind="stable")
            ordered = flat[self.order]
            self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            self.targets = ordered[self.starts]

    def add(self, store: np.ndarray, c: Any) -> None:
        """store[slots] += c (= c where the plan says), c with one entry (row) per slot; repeats add up."""
        if len(c) != self.count and not self.same:  # one entry for all: broadcast it first
            c = np.broadcast_to(c, (self.count, *np.shape(c)[1:]))
        if self.same:
            where, c = self.read, np.sum(c, axis=0, keepdims=True)
        elif self.unique:
            where = self.read
        elif store.ndim == 1:
            np.add.at(store, self.read, c)  # type: ignore[arg-type]  # read is an index array here
            return
        else:
            where, c = self.targets, np.add.reduceat(c[self.order], self.starts, axis=0)
        if self.assign:
            store[where] = c
        else:
            store[where] += c

    def view(self, store: np.ndarray) -> np.ndarray | None:
        """The rows themselves, to compute a gradient straight into, when this write may store (else None)."""
        if self.assign and self.unique and isinstance(self.read, slice):
            return store[self.read]
        return None


class _Operand:
    """One operand position of a unary/binary group: k slots of one kind."""

    def __init__(self, varying: bool, slots: Sequence[int], group_varying: bool) -> None:
        self.varying = varying
        self.rows = _Rows(slots)
        # A uniform operand of a varying group is a column (k, 1) that broadcasts over the batch.
        self.column = group_varying and not varying
        # One uniform slot for every node (the 2 of every square, one learning rate): a Python
        # float, for which numpy has fast paths (x ** 2.0 is x * x).
        self.scalar = not varying and len(set(slots)) == 1
        self.first = slots[0]

    def get(self, V: np.ndarray, U: np.ndarray) -> Any:
        if self.varying:
            return V[self.rows.read]
        if self.scalar:
            return float(U[self.first])
        u = U[self.rows.read]
        return u[:, None] if self.column else u

    def add_grad(self, GV: np.ndarray, GU: np.ndarray, c: Any) -> None:
        if self.varying:
            self.rows.add(GV, c)
        else:
            self.rows.add(GU, c.sum(axis=-1) if self.column else c)

    def add_product(self, GV: np.ndarray, GU: np.ndarray, partial: Any, g: Any) -> None:
        """add_grad(partial · g), multiplied straight into the rows when the plan lets it."""
        view = self.rows.view(GV) if self.varying else None
        if view is not None and np.broadcast_shapes(np.shape(partial), g.shape) == view.shape:
            np.multiply(partial, g, out=view)
        else:
            self.add_grad(GV, GU, partial * g)

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        """The GV rows add_grad writes, and whether it writes them whole (see _Tape.plan_gradient_writes)."""
        return [(self.rows, True)] if self.varying else []


class _Block:
    """The k × n operands of an n-ary group (sum, dot), one kind per column.

    ``get`` gives an array of shape (k or 1, n, batch or 1) in a varying group,
    (k or 1, n) in a uniform one; k is 1 when every node reads the same slots
    (a layer's neurons all read the previous layer's outputs).
    """

    def __init__(self, kinds: Sequence[bool], slots: list[list[int]], group_varying: bool) -> None:
        self.k, self.n = len(slots), len(kinds)
        self.group_varying = group_varying
        self.shared = all(row == slots[0] for row in slots)
        rows = slots[:1] if self.shared else slots
        flat = [s for row in rows for s in row]
        if all(kinds):
            self.kind = "V"
        elif not any(kinds):
            self.kind = "U"
        else:
            self.kind = "mixed"
        if self.kind == "mixed":  # columns of each kind, read and accumulated separately
            self.shared = False
            vcols = [j for j in range(self.n) if kinds[j]]
            ucols = [j for j in range(self.n) if not kinds[j]]
            self.vcols, self.ucols = np.asarray(vcols), np.asarray(ucols)
            self.vrows = _Rows([row[j] for row in slots for j in vcols], collapse=False)
            self.urows = _Rows([row[j] for row in slots for j in ucols], collapse=False)
        else:
            self.rows = _Rows(flat, collapse=False)
        self.m = 1 if self.shared else self.k
        # Each node's n slots, for adding a gradient at the one item a node picks (max, a lookup):
        # straight into those V rows when no two (row, sample) pairs can coincide.
        apart = self.k == 1 or (not self.shared and self.rows.unique)
        self.picks_apart = self.kind == "V" and group_varying and apart
        if self.picks_apart:
            self.slot_matrix = np.asarray(flat, dtype=np.intp).reshape(self.m, self.n)

    def get(self, V: np.ndarray, U: np.ndarray) -> Any:
        m, n = self.m, self.n
        if self.kind == "V":
            return V[self.rows.read].reshape(m, n, V.shape[1])
        if self.kind == "U":
            u = U[self.rows.read].reshape(m, n)
            return u[:, :, None] if self.group_varying else u
        x = np.empty((self.k, n, V.shape[1]))
        x[:, self.vcols] = V[self.vrows.read].reshape(self.k, len(self.vcols), -1)
        x[:, self.ucols] = U[self.urows.read].reshape(self.k, len(self.ucols), 1)
        return x

    def add_grad(self, GV: np.ndarray, GU: np.ndarray, c: Any) -> None:
        """Accumulate contributions c, broadcastable to (k, n, batch) (or (k, n) if uniform)."""
        if self.kind == "mixed":
            c = np.broadcast_to(c, (self.k, self.n, GV.shape[1]))
            self.vrows.add(GV, c[:, self.vcols].reshape(-1, GV.shape[1]))
            self.urows.add(GU, c[:, self.ucols].sum(axis=-1).reshape(-1))
            return
        if self.kind == "U" and self.group_varying:
            c = c.sum(axis=-1)
        if self.shared:
            self.add_reduced(GV, GU, c.sum(axis=0) if c.shape[0] > 1 else c[0])
        else:
            full = np.broadcast_to(c, (self.k, self.n, *c.shape[2:]))
            self.add_reduced(GV, GU, full.reshape(self.k * self.n, *c.shape[2:]))

    def add_picked(self, GV: np.ndarray, GU: np.ndarray, pick: Any, g: Any) -> None:
        """Accumulate g (k, batch) at the item each node picked, pick (k, batch) (or both (k,))."""
        if self.picks_apart:
            matrix = self.slot_matrix
            slots = matrix[0][pick] if self.shared else np.take_along_axis(matrix, pick, axis=1)
            GV[slots, np.arange(GV.shape[1])] += g
            return
        chosen = np.arange(self.n).reshape((1, self.n) + (1,) * (pick.ndim - 1)) == pick[:, None]
        self.add_grad(GV, GU, np.where(chosen, g[:, None], 0.0))

    def add_reduced(self, GV: np.ndarray, GU: np.ndarray, r: Any) -> None:
        """Accumulate r with one entry per read slot: (m·n, batch) for V, (m·n,) for U."""
        self.rows.add(GV if self.kind == "V" else GU, r)

    def gradient_writes(self, picked: bool = False) -> list[tuple[_Rows, bool]]:
        """The GV rows add_grad (add_picked with ``picked``) writes, and whether whole."""
        if self.kind == "U":
            return []
        return [(self.vrows if self.kind == "mixed" else self.rows, not (picked and self.picks_apart))]


# ------------------------------------------------------------------ summation


def _add_items(x: Any) -> Any:
    """Σ along axis 1 of (k, n) or (k, n, batch), item after item, as engine.sum adds them.

    numpy adds along an outer axis item by item, but along the innermost one
    in pairs (blocks of eight partial sums).  With no batch axis, or a batch of
    one, the items would be the innermost axis, and a row's sum would depend
    on the batch size (7 against 1 for [1e16, 1×7, -1e16, 1]).  A second,
    zero-stride column keeps the items on an outer axis for every batch size.
    """
    flat = x.ndim == 2
    if flat:
        x = x[:, :, None]
    if x.shape[2] == 1:
        out = np.add.reduce(np.broadcast_to(x, (x.shape[0], x.shape[1], 2)), axis=1)[:, :1]
    else:
        out = np.add.reduce(x, axis=1)
    return out[:, 0] if flat else out


# --------------------------------------------------------------------- groups


class _Group:
    """Nodes with the same op, depth and operand kinds: one numpy operation.

    ``forward`` writes the group's outputs into V (or U) and returns what
    ``backward`` needs; ``backward`` reads the outputs' gradients from GV (or
    GU) and accumulates the operands' gradients.  ``gradient_writes`` lists,
    in the order backward makes them, the writes into GV rows.
    """

    op: str
    varying: bool
    out: Any  # slice of V rows or U entries
    needs_grad: bool

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        raise NotImplementedError

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        raise NotImplementedError

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        raise NotImplementedError

    def _store(self, V: np.ndarray, U: np.ndarray) -> np.ndarray:
        return V if self.varying else U


# A kernel that is a numpy ufunc writes its result straight into the group's rows (out=) instead
# of into a new array that is then copied there.  The table's kernels name theirs (``.ufunc``);
# +, −, × and unary − run the operator module's functions, which on arrays are these ufuncs.
_OPERATOR_UFUNCS = (
    (operator.add, np.add), (operator.sub, np.subtract),
    (operator.mul, np.multiply), (operator.neg, np.negative),
)


def _ufunc(forward: Any) -> Any:
    """The ufunc a kernel's forward is, or None."""
    return getattr(forward, "ufunc", None) or next((u for f, u in _OPERATOR_UFUNCS if forward is f), None)


class _Elementwise(_Group):
    """A unary or binary op on k nodes: operands (k, batch) or (k, 1) → outputs (k, batch)."""

    def __init__(self, op: str, varying: bool, out: Any, operands: list[_Operand], grads: list[bool]) -> None:
        self.op, self.varying, self.out = op, varying, out
        self.kernel = _kernel(op)
        self.ufunc = _ufunc(self.kernel.forward)
        self.operands = operands
        self.grads = grads  # which operand positions lead to a parameter
        self.needs_grad = any(grads)

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        args = [o.get(V, U) for o in self.operands]
        rows = self._store(V, U)[self.out]
        if self.ufunc is not None:
            result = self.ufunc(*args, out=rows)
        else:
            result = rows[...] = self.kernel.forward(*args)
        # Finite operands outside an op's domain make numpy's result inf or NaN (log 0, 1/0, an
        # overflow, ...), so finite operands with a finite result need no look at the domain.
        if self.kernel.domain is not None and not _all_finite(result, *args):
            _check_domain(self, args, result)
        return args

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        store, grads = (V, GV) if self.varying else (U, GU)
        g = grads[self.out]
        partials = self.kernel.partials(*saved, store[self.out])
        for operand, wanted, partial in zip(self.operands, self.grads, partials):
            if wanted:
                if type(partial) is float and partial == 1.0:
                    operand.add_grad(GV, GU, g)
                elif type(partial) is float and partial == -1.0:
                    operand.add_grad(GV, GU, -g)
                else:
                    operand.add_product(GV, GU, partial, g)

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        return [w for o, wanted in zip(self.operands, self.grads) if wanted for w in o.gradient_writes()]


class _Square(_Elementwise):
    """x ** 2 (squared errors, L2 penalties): numpy squares a ** 2.0 as a·a, and ∂/∂a = 2a.

    The exponent is a constant, so the general kernel's ∂/∂b (a logarithm
    over the whole block) is never wanted: the backward skips it.
    """

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        if self.grads[0]:
            self.operands[0].add_product(GV, GU, 2.0 * saved[0], (GV if self.varying else GU)[self.out])


class _Sum(_Group):
    """Σ over k nodes of n items each: a (k, n, batch) block summed along n."""

    def __init__(self, varying: bool, out: Any, block: _Block, needs_grad: bool) -> None:
        self.op, self.varying, self.out = "sum", varying, out
        self.block, self.needs_grad = block, needs_grad

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        self._store(V, U)[self.out] = _add_items(self.block.get(V, U))
        return None

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        g = (GV if self.varying else GU)[self.out]
        self.block.add_grad(GV, GU, g[:, None])

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        return self.block.gradient_writes()


class _Reduce(_Group):
    """An n-ary op such as max or min over k nodes of n items each: its kernel on a (k, n, batch) block."""

    def __init__(self, op: str, varying: bool, out: Any, block: _Block, needs_grad: bool) -> None:
        self.op, self.varying, self.out = op, varying, out
        self.kernel = _kernel(op)
        self.block, self.needs_grad = block, needs_grad

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        x = self.block.get(V, U)
        out = self.kernel.forward(x)
        self._store(V, U)[self.out] = out
        return x, out

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        g = (GV if self.varying else GU)[self.out]
        x, out = saved
        (partial,) = self.kernel.partials(x, out)
        if partial.dtype.kind == "i":  # the index of the one item that gets the gradient (max, min)
            self.block.add_picked(GV, GU, partial, g)
        else:
            self.block.add_grad(GV, GU, partial * g[:, None])

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        return self.block.gradient_writes(picked=True)  # whole rows or not, whichever backward takes


class _Layer:
    """k neurons over one shared list of n varying inputs: Σ wᵢxᵢ is W @ X, and its gradients
    g @ Xᵀ and Wᵀ @ g are matrix products too.

    The inputs are read in the order of their slots, and W's columns in the
    same order: a layer's outputs are laid out in whatever order their group
    sorted them, and the next layer reads them in neuron order, so reading
    them as stored makes X a view of V's rows (no copy forward, and their
    gradient is computed straight into GV's rows) at the cost of permuting W's
    columns, a small read.
    """

    def __init__(self, matrix: _Block, inputs: _Block, grad_w: bool, grad_x: bool) -> None:
        slots, n = inputs.rows.slots, inputs.n  # the shared list: n slots
        order = sorted(range(n), key=lambda j: slots[j])
        flat = matrix.rows.slots  # m × n, m = k (or 1 when k = 1)
        self.m, self.n = len(flat) // n, n
        self.w = _Rows([flat[i * n + j] for i in range(self.m) for j in order], collapse=False)
        self.x = _Rows([slots[j] for j in order], collapse=False)
        self.grad_w, self.grad_x = grad_w, grad_x

    def forward(self, V: np.ndarray, U: np.ndarray, out: Any) -> Any:
        W = U[self.w.read].reshape(self.m, self.n)
        X = V[self.x.read]
        np.matmul(W, X, out=V[out])  # straight into the group's rows
        return W, X

    def backward(self, GV: np.ndarray, GU: np.ndarray, g: Any, saved: Any) -> None:
        W, X = saved
        if self.grad_w:
            self.w.add(GU, (g @ X.T).reshape(-1))
        if self.grad_x:
            view = self.x.view(GV)
            if view is not None:  # the first gradient to reach these rows: computed into them
                np.matmul(W.T, g, out=view)
            else:
                self.x.add(GV, W.T @ g)


class _Dot(_Group):
    """Σ wᵢxᵢ over k nodes: for a layer of neurons, one matrix product (``_Layer``)."""

    def __init__(self, varying: bool, out: Any, ws: _Block, xs: _Block, grads: tuple[bool, bool]) -> None:
        self.op, self.varying, self.out = "dot", varying, out
        self.ws, self.xs, self.grads = ws, xs, grads
        self.needs_grad = any(grads)
        # A layer: uniform weights (k, n), one shared list of varying inputs (n, batch), either way round.
        self.layer = None
        for a, b, grad_a, grad_b in ((ws, xs, *grads), (xs, ws, *grads[::-1])):
            if varying and a.kind == "U" and (a.k == 1 or not a.shared) and b.kind == "V" and b.shared:
                self.layer = _Layer(a, b, grad_a, grad_b)

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        if self.layer is not None:
            return self.layer.forward(V, U, self.out)
        w, x = self.ws.get(V, U), self.xs.get(V, U)
        self._store(V, U)[self.out] = _add_items(w * x)  # in order along n, as engine.dot
        return w, x

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        g = (GV if self.varying else GU)[self.out]
        if self.layer is not None:
            self.layer.backward(GV, GU, g, saved)
            return
        w, x = saved
        gg = g[:, None]
        if self.grads[0]:
            self.ws.add_grad(GV, GU, x * gg)  # ∂/∂wᵢ = xᵢ
        if self.grads[1]:
            self.xs.add_grad(GV, GU, w * gg)  # ∂/∂xᵢ = wᵢ

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        if self.layer is not None:
            return [(self.layer.x, True)] if self.layer.grad_x else []
        return [w for b, wanted in zip((self.ws, self.xs), self.grads) if wanted for w in b.gradient_writes()]


def _all_finite(*arrays: Any) -> bool:
    return all(bool(np.isfinite(a).all()) for a in arrays)


class _Gather(_Group):
    """Lookups ``table[index]`` over k nodes (``mg.gather``: Embedding, cross_entropy's target), per row.

    The table is a (k, n) block of items, the index one item per node: each
    row of the batch picks its own item (the row's kernel, np.take_along_axis).
    A table of parameters (an embedding's column) is read once, not copied for
    every row, and its gradient is a scatter-add over the batch (np.bincount):
    rows that look up the same token add up.
    """

    def __init__(self, varying: bool, out: Any, table: _Block, index: _Block, needs_grad: bool,
                 sources: list[str], index_slots: list[int]) -> None:
        self.op, self.varying, self.out = "gather", varying, out
        self.kernel = _kernel("gather")
        self.table, self.index, self.needs_grad = table, index, needs_grad
        self.sources = sources  # per node: where its index comes from ("column 0 ('t0'), "), for errors
        self.scatter = varying and table.kind == "U"
        # An embedding's dim lookups of one token all read the same token column: the k indices
        # come from a few distinct V rows, each checked and converted to ints once.
        self.distinct = self.inverse = None
        if index.kind == "V" and len(set(index_slots)) < len(index_slots):
            distinct, inverse = np.unique(index_slots, return_inverse=True)
            self.distinct, self.inverse = distinct.astype(np.intp), inverse.astype(np.intp)

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        table = self.table.get(V, U)  # (m, n, batch or 1) in a varying group, (m, n) in a uniform one
        assert self.kernel.domain is not None
        if self.distinct is not None:
            columns = V[self.distinct]
            if np.any(self.kernel.domain(table, columns)):  # then find the first node and row to name
                index = self.index.get(V, U)[:, 0]
                self._refuse(self.kernel.domain(table, index), index)
            index = columns.astype(np.intp)[self.inverse]  # (k, batch)
        else:
            index = self.index.get(V, U)[:, 0]  # (m, batch or 1), or (m,)
            bad = self.kernel.domain(table, index)
            if np.any(bad):  # before the lookup: numpy would read index -1 as the last item
                self._refuse(bad, index)
        self._store(V, U)[self.out] = self.kernel.forward(table, index)
        return table, index

    def _refuse(self, bad: Any, index: Any) -> None:
        """The eager engine's IndexError for the first row with an index out of range, naming its column."""
        hits = np.argwhere(bad)
        if self.varying:
            hits = hits[np.argsort(hits[:, -1], kind="stable")]
        hit = tuple(hits[0])
        source = self.sources[hit[0]] if len(self.sources) == index.shape[0] else self.sources[0]
        row = f"row {int(hit[-1])}: " if self.varying else ""
        try:
            ops.gather_index(float(index[hit]), self.table.n)
        except IndexError as e:
            raise IndexError(f"mg.compile: {source}{row}{e}") from None

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        table, index = saved
        g = (GV if self.varying else GU)[self.out]
        if self.scatter:  # into parameters: Σ over the rows of g, at each row's index
            k, n = g.shape[0], self.table.n
            at = np.broadcast_to(index.astype(np.intp), g.shape) + (np.arange(k) * n)[:, None]
            sums = np.bincount(at.ravel(), weights=g.ravel(), minlength=k * n)
            self.table.add_reduced(GV, GU, sums.reshape(k, n).sum(axis=0) if self.table.shared else sums)
            return
        picked, _ = self.kernel.partials(table, index, None)  # the item picked gets g; 0 for the index
        self.table.add_picked(GV, GU, np.broadcast_to(picked, g.shape), g)

    def gradient_writes(self) -> list[tuple[_Rows, bool]]:
        return [] if self.scatter else self.table.gradient_writes(picked=True)


def _check_domain(group: _Elementwise, args: list[Any], result: Any) -> None:
    """Raise the eager engine's error where an operand is outside the op's domain."""
    assert group.kernel.domain is not None
    bad = group.kernel.domain(*args, result)
    if not np.any(bad):
        return
    shape = np.shape(bad)
    arrays = [np.broadcast_to(a, shape) for a in args]
    hits = np.argwhere(bad)
    if group.varying:  # report the first row (the batch axis is the last)
        hits = hits[np.argsort(hits[:, -1], kind="stable")]
    for hit in hits[:8]:
        where = tuple(hit)
        try:
            ops.row(group.op).forward(*[float(a[where]) for a in arrays])
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            row = f"row {int(hit[-1])}: " if group.varying else ""
            raise type(e)(f"mg.compile: {row}{e}") from None


# ------------------------------------------------------------------ the tape


class _Const:
    """A constant operand, placed in U after the parameters."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _Info(NamedTuple):
    varying: bool  # differs from row to row
    depth: int  # 0 for leaves, 1 + the deepest operand otherwise
    needs_grad: bool  # a parameter, or computed from one


def _layer_inputs(op: str, kinds: tuple[Any, ...], parts: tuple[Any, ...]) -> tuple[int, ...] | None:
    """For a dot of uniform weights and varying inputs (a neuron), the identity of its inputs.

    Dots that read the same inputs form one group, whose weights are a matrix:
    one matrix product for the lot.  Dots over different inputs (the embeddings
    of three context characters) make one group each instead of one group of
    elementwise products.
    """
    if op != "dot" or not kinds[0] or not kinds[1]:
        return None
    for uniform, other in ((0, 1), (1, 0)):
        if not any(kinds[uniform]) and all(kinds[other]):
            return (other, *[id(v) for v in parts[other]])
    return None


def _source(index: Any, input_slot: dict[int, int]) -> str:
    """Where a lookup's index comes from, for its errors: "column 2 ('t'), " for an input column, else ""."""
    if isinstance(index, Value) and id(index) in input_slot:
        return f"column {input_slot[id(index)]} ({index.label!r}), "
    return ""


class _Tape:
    """The traced graph as groups over slots, ready to replay.

    V rows: the inputs, then varying nodes.  U entries: the parameters, the
    constants, then uniform nodes.  Groups run in order of depth.
    """

    def __init__(self, inputs: list[Value], output: Value) -> None:
        input_slot = {id(x): i for i, x in enumerate(inputs)}
        params: list[Value] = []
        consts: list[float] = []
        const_slot: dict[str, int] = {}  # one slot per distinct constant (by its bits: -0.0 is not 0.0)
        info: dict[int, _Info] = {}
        slot: dict[int, tuple[bool, int]] = {}  # id(node) -> (varying, index into V or U)
        groups: dict[tuple[Any, ...], list[tuple[Value, tuple[Any, ...]]]] = {}

        # Pass 1: classify every node and key it by (depth, kind, op, operand kinds).
        self.nodes = engine.toposort(output)
        for node in self.nodes:
            if not node.op:
                if id(node) in input_slot:
                    info[id(node)] = _Info(True, 0, False)
                    slot[id(node)] = (True, input_slot[id(node)])
                else:  # a leaf that fn reads but is not given: a parameter
                    info[id(node)] = _Info(False, 0, True)
                    slot[id(node)] = (False, len(params))
                    params.append(node)
                continue
            _probe(node)  # an op that cannot run on arrays fails here, by name
            parts = []
            for part in _parts(node):
                marked = []
                for v in part:
                    if not isinstance(v, Value):
                        bits = float(v).hex()
                        if bits not in const_slot:
                            const_slot[bits] = len(consts)
                            consts.append(float(v))
                        v = _Const(const_slot[bits])
                    marked.append(v)
                parts.append(tuple(marked))
            values = [v for part in parts for v in part if isinstance(v, Value)]
            varying = any(info[id(v)].varying for v in values)
            depth = 1 + max((info[id(v)].depth for v in values), default=0)
            needs_grad = any(info[id(v)].needs_grad for v in values)
            info[id(node)] = _Info(varying, depth, needs_grad)
            kinds = tuple(tuple(isinstance(v, Value) and info[id(v)].varying for v in part) for part in parts)
            groups.setdefault(
                (depth, varying, node.op, kinds, _layer_inputs(node.op, kinds, tuple(parts))), []
            ).append((node, tuple(parts)))

        # A neuron alone on its inputs gains nothing from a group of its own: it joins the
        # elementwise group of the other lone dots of its depth.
        for key in [key for key, members in groups.items() if key[4] is not None and len(members) == 1]:
            groups.setdefault((*key[:4], None), []).extend(groups.pop(key))

        n_p, n_c = len(params), len(consts)
        self.inputs, self.params, self.output = inputs, params, output
        self.consts = np.asarray(consts, dtype=float)

        def where(v: Any) -> tuple[bool, int]:
            return (False, n_p + v.index) if isinstance(v, _Const) else slot[id(v)]

        def grad_of(v: Any) -> bool:
            return isinstance(v, Value) and info[id(v)].needs_grad

        # Pass 2: lay groups out in order of depth, each on a contiguous run of slots.
        self.groups: list[_Group] = []
        n_v, n_u = len(inputs), n_p + n_c
        for key in sorted(groups, key=lambda key: key[0]):
            _, varying, op, kinds, _ = key
            members = groups[key]
            # Members in the order of their operands' slots, so that reads tend to be slices.
            members.sort(key=lambda m: [(not w[0], w[1]) for part in m[1] for w in map(where, part)])
            base = n_v if varying else n_u
            out = slice(base, base + len(members))
            for i, (node, _) in enumerate(members):
                slot[id(node)] = (varying, base + i)
            if varying:
                n_v += len(members)
            else:
                n_u += len(members)
            # Per operand list: its slots, node by node, and whether any of it leads to a parameter.
            lists = range(len(kinds))
            slots = [[[where(v)[1] for v in parts[j]] for _, parts in members] for j in lists]
            wanted = [any(grad_of(v) for _, parts in members for v in parts[j]) for j in lists]
            group: _Group
            if op == "sum":
                group = _Sum(varying, out, _Block(kinds[0], slots[0], varying), wanted[0])
            elif op == "dot":
                ws = _Block(kinds[0], slots[0], varying)
                xs = _Block(kinds[1], slots[1], varying)
                group = _Dot(varying, out, ws, xs, (wanted[0], wanted[1]))
            elif op == "gather":  # the items, then the index
                n = len(kinds[0]) - 1
                table = _Block(kinds[0][:n], [row[:n] for row in slots[0]], varying)
                index = _Block(kinds[0][n:], [row[n:] for row in slots[0]], varying)
                needs = any(grad_of(v) for _, parts in members for v in parts[0][:n])
                sources = [_source(parts[0][n], input_slot) for _, parts in members]
                group = _Gather(varying, out, table, index, needs, sources, [row[n] for row in slots[0]])
            elif ops.row(op).arity is ops.NARY:  # max, min: a reduction along each node's items
                group = _Reduce(op, varying, out, _Block(kinds[0], slots[0], varying), wanted[0])
            else:  # one list: the operands in order
                positions = range(len(kinds[0]))
                operands = [_Operand(kinds[0][j], [row[j] for row in slots[0]], varying) for j in positions]
                grads = [any(grad_of(parts[0][j]) for _, parts in members) for j in positions]
                exponents = [parts[0][-1] for _, parts in members]
                squares = op == "**" and all(
                    isinstance(e, _Const) and consts[e.index] == 2.0 for e in exponents
                )
                group = (_Square if squares else _Elementwise)(op, varying, out, operands, grads)
            self.groups.append(group)
        self.n_v, self.n_u = n_v, n_u
        self.out_varying, self.out_slot = where(output)
        self.zero_rows = self.plan_gradient_writes()
        self.slot, self.info = slot, info  # for verify: where each node lives, and its kind
        self.scratch_lock = threading.Lock()
        self.scratch_arrays: tuple[np.ndarray, np.ndarray] | None = None

    def plan_gradient_writes(self) -> Any:
        """Let each write into GV that reaches its rows first store instead of add; the rows that still
        need zeros before backward (as an index), or None.

        Backward would otherwise zero all of GV (slots × batch floats) and then
        read-add-write every row it reaches; most rows have one consumer, so
        storing their gradient (a matrix product straight into its rows) saves
        both.  The writes are walked in the order backward makes them.
        """
        reached = {self.out_slot} if self.out_varying else set()  # the seed is stored in the output's row
        zero: set[int] = set()
        for group in reversed(self.groups):
            if not group.needs_grad:
                continue
            if group.varying:  # backward reads its outputs' gradients: a row nothing reached is 0
                read = set(range(group.out.start, group.out.stop))
                zero |= read - reached
                reached |= read
            for rows, whole in group.gradient_writes():
                slots = set(rows.slots)
                rows.assign = whole and not slots & reached
                if not rows.assign:
                    zero |= slots - reached
                reached |= slots
        return _as_index(sorted(zero)) if zero else None

    # ---- replay

    @contextmanager
    def scratch(self, batch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """V and GV for a batch: the arrays of the previous call of this size, when no other thread has them.

        A training loop calls with the same batch size again and again;
        fresh arrays of a few MB each would cost page faults on every call.
        """
        if not self.scratch_lock.acquire(blocking=False):  # another thread replays: arrays of its own
            yield np.empty((self.n_v, batch)), np.empty((self.n_v, batch))
            return
        try:
            if self.scratch_arrays is None or self.scratch_arrays[0].shape[1] != batch:
                self.scratch_arrays = (np.empty((self.n_v, batch)), np.empty((self.n_v, batch)))
            yield self.scratch_arrays
        finally:
            self.scratch_lock.release()

    def forward(
        self, columns: list[np.ndarray], batch: int, V: np.ndarray | None = None, data: Any = None
    ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Fill V (given, or new) and U for a batch; returns them and what each group saved for backward.

        The parameters' values are read from the Values at every call (opt.step() is seen), or
        taken from ``data`` (benchmarks/compile_models.py measures parameters kept in an array).
        """
        n_p = len(self.params)
        U = np.empty(self.n_u)
        U[:n_p] = np.fromiter(engine.data_of(self.params), float, n_p) if data is None else data
        U[n_p : n_p + len(self.consts)] = self.consts
        if V is None:
            V = np.empty((self.n_v, batch))
        for i, col in enumerate(columns):
            V[i] = col
        saved = [g.run_forward(V, U) for g in self.groups]
        return V, U, saved

    def outputs(self, V: np.ndarray, U: np.ndarray) -> np.ndarray:
        if self.out_varying:
            return V[self.out_slot].copy()
        return np.full(V.shape[1], U[self.out_slot])

    def param_grads(
        self, V: np.ndarray, U: np.ndarray, saved: list[Any], seed: float, GV: np.ndarray | None = None
    ) -> np.ndarray:
        """Σ over rows of seed · ∂out/∂p, for every parameter p."""
        return self.node_grads(V, U, saved, np.full(V.shape[1], seed), GV)[1][: len(self.params)]

    def node_grads(
        self, V: np.ndarray, U: np.ndarray, saved: list[Any], seed: np.ndarray, GV: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """GV, GU: Σ over rows of seed[row] · ∂out/∂node, for each node that leads to a parameter.

        GV is the array given (zeroed here) or a new one.
        """
        if GV is None:
            GV = np.zeros(V.shape)
        elif self.zero_rows is not None:  # every other row is stored before it is read (the plan)
            GV[self.zero_rows] = 0.0
        GU = np.zeros(U.shape)
        if self.out_varying:
            GV[self.out_slot] = seed
        else:
            GU[self.out_slot] = seed.sum()
        for g, s in zip(reversed(self.groups), reversed(saved)):
            if g.needs_grad:
                g.run_backward(V, U, GV, GU, s)
        return GV, GU


# ------------------------------------------------- checking a replay, node by node
# The contract: each node of the replay equals the eager op applied to the
# replay's own operands, within the rounding the two computations may differ by.
#   * sum and dot of n terms tᵢ (tᵢ = wᵢxᵢ for dot): two float sums of the same
#     terms, each in any order, are each within γₙ·Σ|tᵢ| of the exact sum
#     (Higham, Accuracy and Stability of Numerical Algorithms, §3.1 and §4.2),
#     so they are within 2γₙ·Σ|tᵢ| of each other, γₙ = n·u/(1 − n·u) and
#     u = 2⁻⁵³: about n·ε·Σ|tᵢ| with ε = 2⁻⁵² (plus n smallest subnormals,
#     for products that underflow).  The replay adds sums and
#     elementwise-fused dots in order, as the engine does (equal, bit for
#     bit); a layer fused into a matrix product adds in BLAS's order, which
#     can differ with the shapes and so with the batch size.
#   * elementwise ops: numpy's exp/log/tanh/power and libm's differ by a few
#     units in the last place (measured at most 3.7 u); the bound is 16 u·|e|.
#   * a gradient is a sum over the node's uses of partial × the user's gradient:
#     2γₘ·Σ|terms| for m uses, plus 16 u·Σ|terms| for the partials' kernels.

_U = 2.0**-53  # unit roundoff of float64
_KERNEL_ROUNDING = 16 * _U  # elementwise kernels against the eager op table
_TINY = 2.0**-1074  # the smallest subnormal: an underflowed product's error


def _sum_bound(terms: Sequence[float]) -> float:
    """How far two float sums of the same terms, in any two orders, may be apart."""
    n = len(terms)
    nu = n * _U
    return 2.0 * nu / (1.0 - nu) * math.fsum(abs(t) for t in terms) + 2 * n * _TINY


def _agree(replay: float, eager: float, bound: float) -> bool:
    if math.isnan(eager) or math.isnan(replay):
        return math.isnan(eager) and math.isnan(replay)
    return replay == eager or abs(replay - eager) <= bound


def _in_order(terms: Sequence[float]) -> float:
    total = 0.0
    for t in terms:
        total += t
    return total


def _describe(node: Value, index: int, count: int) -> str:
    label = f" labelled {node.label!r}" if node.label else ""
    return f"node #{index} of {count} in topological order (op {node.op or 'leaf'!r}{label})"


def _structure(nodes: list[Value], inputs: list[Value]) -> list[Any]:
    """Each node as (op, its operands): inputs by position, nodes by index, constants by value."""
    index = {id(v): i for i, v in enumerate(nodes)}
    position = {id(x): j for j, x in enumerate(inputs)}
    out: list[Any] = []
    for v in nodes:
        if not v.op:
            out.append(("input", position[id(v)]) if id(v) in position else ("leaf", v))
            continue
        parts = _parts(v)
        out.append(
            (
                v.op,
                tuple(
                    tuple(
                        ("node", index[id(w)]) if isinstance(w, Value) else ("const", float(w).hex())
                        for w in part
                    )
                    for part in parts
                ),
            )
        )
    return out


def _same_entry(a: Any, b: Any) -> bool:
    if a[0] == "leaf" and b[0] == "leaf":  # the same leaf, or one fn makes anew with the same data
        return a[1] is b[1] or a[1].data == b[1].data or (math.isnan(a[1].data) and math.isnan(b[1].data))
    return bool(a == b)


def _graph_difference(tape: _Tape, inputs: list[Value], out: Value, r: int) -> str | None:
    """How the graph fn builds eagerly on row r differs from the trace (branching on .data), or None."""
    here_nodes = engine.toposort(out)
    traced, here = _structure(tape.nodes, tape.inputs), _structure(here_nodes, inputs)
    n = len(traced)
    for i, (a, b) in enumerate(zip(traced, here)):
        if _same_entry(a, b):
            continue
        if a[0] == "leaf" and b[0] == "leaf":
            what = f"is a Value made with data {b[1].data!r} at row {r} but {a[1].data!r} in the trace"
        elif a[0] != b[0]:
            what = f"is {b[0]!r} at row {r} but {a[0]!r} in the trace"
        else:
            what = f"has other operands at row {r} ({_show(b[1])}) than in the trace ({_show(a[1])})"
        return f"{_describe(tape.nodes[i], i, n)} {what}"
    if len(here) != n:
        return f"fn builds a graph of {len(here)} nodes here, {n} in the trace"
    return None


def _show(parts: Any) -> str:
    return ", ".join(
        f"node #{ref}" if kind == "node" else repr(float.fromhex(ref)) for part in parts for kind, ref in part
    )


# A row whose graph differs from the trace may still give the same numbers (a
# softmax's max shift moves, the result does not): then it is accepted.
_RESULT_RTOL, _RESULT_ATOL = 1e-9, 1e-12


def _same_result(e: float, c: float) -> bool:
    if math.isnan(e) or math.isnan(c):
        return math.isnan(e) and math.isnan(c)
    return e == c or abs(e - c) <= _RESULT_ATOL + _RESULT_RTOL * max(abs(e), abs(c))


def _check_nodes(
    tape: _Tape, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, mixed: np.ndarray, r: int
) -> None:
    """Raise if a node of the replay (value or gradient, at row r) is off the eager op beyond the bound.

    GV, GU come from a backward seeded at row r alone.  A uniform node's
    gradient there still adds 0 × partial over the other rows, which is NaN
    where a partial is infinite; ``mixed`` (GU of a backward seeded with
    zeros) marks those, and their gradients are not checked.
    """
    nodes, n = tape.nodes, len(tape.nodes)

    def value(v: Any) -> float:
        if not isinstance(v, Value):
            return float(v)
        varying, i = tape.slot[id(v)]
        return float(V[i, r]) if varying else float(U[i])

    def grad(v: Value) -> float:
        varying, i = tape.slot[id(v)]
        return float(GV[i, r]) if varying else float(GU[i])

    def checkable(v: Value) -> bool:
        varying, i = tape.slot[id(v)]
        return varying or mixed[i] == 0.0

    uses: dict[int, list[float]] = {id(v): [] for v in nodes}  # per node: partial × ∂out/∂user
    uses[id(nodes[-1])].append(1.0)  # the output: ∂out/∂out
    kernel_rounding: dict[int, float] = {id(v): 0.0 for v in nodes}  # the partials' share of the bound
    for i in range(n - 1, -1, -1):  # from the output back, as backward runs: users come first
        node = nodes[i]
        parts: tuple[Any, ...] = ()
        partials: list[list[float]] = []
        if node.op:  # the value: the eager op on the replay's operands
            parts = _parts(node)
            args = [[value(w) for w in part] for part in parts]
            replay = value(node)
            if node.op in _SUMS:
                terms = args[0] if node.op == "sum" else [w * x for w, x in zip(*args)]
                eager, bound, what = _in_order(terms), _sum_bound(terms), f"a sum of {len(terms)} terms"
                partials = [[1.0] * len(terms)] if node.op == "sum" else [args[1], args[0]]
            else:
                try:
                    eager = ops.row(node.op).forward(*args[0])
                except (ValueError, ZeroDivisionError, OverflowError):
                    eager = NAN  # outside the op's domain: the replay raises the same error first
                bound, what = _KERNEL_ROUNDING * abs(eager), "an elementwise kernel"
                partials = [list(ops.row(node.op).all_partials(*args[0], replay))]
            if not _agree(replay, eager, bound):
                _disagree(node, i, n, r, "", replay, eager, bound, what)
        if not tape.info[id(node)].needs_grad:
            continue
        # The gradient: Σ over the node's uses of partial × the user's gradient in the replay.
        g, terms = grad(node), uses[id(node)]
        bound = _sum_bound(terms) + kernel_rounding[id(node)]
        if checkable(node) and not _agree(g, _in_order(terms), bound):
            _disagree(
                node,
                i,
                n,
                r,
                "the gradient of the output with respect to ",
                g,
                _in_order(terms),
                bound,
                f"a sum over {len(terms)} uses",
            )
        kernel = 0.0 if node.op in _SUMS else _KERNEL_ROUNDING
        for part, ps in zip(parts, partials):
            for w, pw in zip(part, ps):
                if isinstance(w, Value) and tape.info[id(w)].needs_grad:
                    uses[id(w)].append(pw * g)
                    kernel_rounding[id(w)] += kernel * abs(pw * g)


def _disagree(
    node: Value, i: int, n: int, r: int, of: str, replay: float, eager: float, bound: float, what: str
) -> None:
    raise AssertionError(
        f"mg.compile verify: row {r}: {of}{_describe(node, i, n)} is {replay!r} in the replay but "
        f"{eager!r} by the eager op on the same operands: off by {abs(replay - eager):.3g}, beyond the "
        f"rounding bound {bound:.3g} of {what}. fn builds the same graph on this row, so this is a "
        f"kernel or summation difference in mg.compile, not a frozen branch in fn: please report it"
    )


# -------------------------------------------------------------- the public face

_REDUCTIONS = ("mean", "sum")


def _column(i: int, col: Any) -> np.ndarray:
    """Column i as a 1-D float64 array; TypeError/ValueError naming what is wrong."""
    arr = np.asarray(col)
    if arr.ndim != 1:
        hint = "; pass a matrix's columns one by one, e.g. fast(*X.T)" if arr.ndim == 2 else ""
        raise ValueError(
            f"mg.compile: column {i} must be 1-D (one number per row), got shape {arr.shape}{hint}"
        )
    if arr.dtype == object:  # e.g. a list mixing ints and Fractions, holding Values, or huge ints
        floats = np.empty(len(arr))
        for r, x in enumerate(arr):
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"mg.compile: column {i} must hold real numbers, got {type(x).__name__}")
            try:
                floats[r] = float(x)
            except OverflowError:
                raise OverflowError(
                    f"mg.compile: column {i}, row {r}: the {type(x).__name__} {_short(x)} is too large "
                    f"for a float (at most about 1.8e308)"
                ) from None
        return floats
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"mg.compile: column {i} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(float, copy=False)


def _short(x: Any, limit: int = 40) -> str:
    """repr(x), or its start and its length when long (an int of 401 digits)."""
    text = repr(x)
    return text if len(text) <= limit else f"{text[:12]}... ({len(text)} characters)"


class Compiled:
    """``fn`` traced once and replayed over batches with numpy; made by ``mg.compile(fn)``.

    ``fast(*columns)`` gives ``fn`` on every row, ``fast.backward(*columns)``
    the mean (or summed) output, with its gradient added into ``p.grad`` of
    every parameter (a leaf that ``fn`` reads but is not given).
    """

    def __init__(self, fn: Callable[..., Value]) -> None:
        if not callable(fn):
            raise TypeError(f"mg.compile: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self._tape: _Tape | None = None

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        if self._tape is None:
            return f"Compiled({name}, not traced yet)"
        t = self._tape
        return (
            f"Compiled({name}, {len(t.inputs)} inputs, {len(t.params)} parameters, "
            f"{len(t.groups)} fused groups)"
        )

    @property
    def graph(self) -> Value | None:
        """The graph traced on the first row (its output Value), e.g. for ``mg.draw_dot``; None before."""
        return self._tape.output if self._tape is not None else None

    def parameters(self) -> list[Value]:
        """The leaves ``fn`` reads but is not given, in the order of the trace (empty before it)."""
        return list(self._tape.params) if self._tape is not None else []

    def __call__(self, *columns: Any) -> np.ndarray:
        """``fn`` on every row: a float64 array with one output per row."""
        tape, cols, batch = self._prepare(columns)
        with np.errstate(all="ignore"), tape.scratch(batch) as (V, _):
            V, U, _ = tape.forward(cols, batch, V)
            return tape.outputs(V, U)

    def backward(self, *columns: Any, reduction: str = "mean") -> float:
        """The mean (or sum) of ``fn`` over the rows; adds its gradient into each ``p.grad``.

        Gradients accumulate, as ``Value.backward`` does: zero them between steps.
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"mg.compile: unknown reduction {reduction!r}; choose one of {_REDUCTIONS}")
        tape, cols, batch = self._prepare(columns)
        seed = 1.0 / batch if reduction == "mean" else 1.0
        with np.errstate(all="ignore"), tape.scratch(batch) as (V, GV):
            V, U, saved = tape.forward(cols, batch, V)
            outs = tape.outputs(V, U)
            grads = tape.param_grads(V, U, saved, seed, GV)
        loss = float(outs.sum())
        # Only now, when nothing can fail any more, are the parameters touched.
        engine.add_to_grads(tape.params, grads.tolist())
        return loss / batch if reduction == "mean" else loss

    def verify(self, *columns: Any, rows: int = 5) -> bool:
        """Check the replay of these columns against the eager engine, node by node.

        Runs the batch as ``fast(*columns)`` and ``fast.backward`` do (the same
        batch size, the same code path), then, on ``rows`` rows spread over
        the batch, runs ``fn`` eagerly and checks that

        * it builds the same graph as the trace (else: Python branching on
          ``.data``, or a constant or Value computed from ``.data``, which the
          trace froze on row 0);
        * every node's value and gradient in the replay equals the eager op
          on the replay's own operands within the rounding bound of the
          contract: 2γₙ·Σ|tᵢ| for a sum or dot of n terms (about n·2⁻⁵²·Σ|tᵢ|),
          16·2⁻⁵³·|x| for an elementwise op.

        Returns True, or raises AssertionError naming the row, the node (its
        position in the graph, op and label), the two values and the bound.
        Nothing is written into ``.grad``.
        """
        tape, cols, batch = self._prepare(columns)
        picks = sorted({int(round(r)) for r in np.linspace(0, batch - 1, max(1, min(rows, batch)))})
        with np.errstate(all="ignore"):
            V, U, saved = tape.forward(cols, batch)
            mixed = tape.node_grads(V, U, saved, np.zeros(batch))[1]  # NaN where 0 × inf reaches
        for r in picks:
            row = [Value(float(c[r])) for c in cols]
            with engine.enable_grad():
                out = self.fn(*row)
            if not isinstance(out, Value):
                raise TypeError(f"mg.compile: fn must return one Value, got {type(out).__name__}")
            seed = np.zeros(batch)
            seed[r] = 1.0  # row r's gradient, through the batched backward
            with np.errstate(all="ignore"):
                GV, GU = tape.node_grads(V, U, saved, seed)
            difference = _graph_difference(tape, row, out, r)
            if difference is None:
                _check_nodes(tape, V, U, GV, GU, mixed, r)
                continue
            eager = [out.data, *engine.grad(out, tape.params)]
            replay = [float(tape.outputs(V, U)[r]), *GU[: len(tape.params)].tolist()]
            for k, (e, c) in enumerate(zip(eager, replay)):
                if not _same_result(e, c):
                    what = f"the gradient of parameter {k - 1} ({tape.params[k - 1]})" if k else "the output"
                    raise AssertionError(
                        f"mg.compile verify: row {r}: {what} is {c!r} in the replay but {e!r} in the "
                        f"eager engine, because fn builds another graph on this row than on the traced "
                        f"one: {difference}. Python branching on .data inside fn (and constants or Values "
                        f"computed from .data) are frozen at trace time, on row 0 of the first call"
                    )
        return True

    # ---- helpers

    def _prepare(self, columns: tuple[Any, ...]) -> tuple[_Tape, list[np.ndarray], int]:
        """Checked columns and their length; traces fn on the first row if not done yet."""
        cols = [_column(i, c) for i, c in enumerate(columns)]
        lengths = {len(c) for c in cols}
        if len(lengths) > 1:
            raise ValueError(
                f"mg.compile: columns must have equal lengths, got {', '.join(str(len(c)) for c in cols)}"
            )
        batch = lengths.pop() if lengths else 0
        if self._tape is not None and len(cols) != len(self._tape.inputs):
            raise TypeError(
                f"mg.compile: fn was traced with {len(self._tape.inputs)} columns, got {len(cols)}"
            )
        if batch == 0 and cols:
            raise ValueError("mg.compile: the columns are empty; give at least one row")
        if self._tape is None:
            self._tape = self._trace(cols)
        return self._tape, cols, batch

    def _trace(self, cols: list[np.ndarray]) -> _Tape:
        try:
            signature: inspect.Signature | None = inspect.signature(self.fn)
        except (TypeError, ValueError):  # some callables have none; calling fn will tell
            signature = None
        if signature is not None:
            try:
                signature.bind(*cols)
            except TypeError as e:
                raise TypeError(f"mg.compile: fn cannot take {len(cols)} columns: {e}") from None
        if not cols:
            raise ValueError("mg.compile: give at least one column (fn needs an input per row)")
        # The inputs carry fn's parameter names as labels (pictures of the traced graph read well).
        names = [p.name for p in signature.parameters.values()] if signature is not None else []
        names = (names + [f"x{i}" for i in range(len(cols))][len(names) :])[: len(cols)]
        inputs = [Value(float(c[0]), label=name) for c, name in zip(cols, names)]
        with engine.enable_grad():
            try:
                out = self.fn(*inputs)
            except IndexError as e:  # an id out of range (Embedding, cross_entropy): say which row
                raise IndexError(f"mg.compile: tracing fn on row 0 of the columns: {e}") from e
        if not isinstance(out, Value):
            raise TypeError(f"mg.compile: fn must return one Value, got {type(out).__name__}")
        return _Tape(inputs, out)


def compile(fn: Callable[..., Value]) -> Compiled:  # noqa: A001 - mg.compile is the API name
    """Trace ``fn`` (numbers → one Value) once and replay it over batches with numpy.

        fast = mg.compile(loss_fn)
        outs = fast(x1, x2, y)             # loss_fn on every row, as an array
        loss = fast.backward(x1, x2, y)    # mean loss; gradients into p.grad

    ``fn`` takes one Value per column and returns one Value.  Leaves it reads
    but is not given (the parameters) are broadcast to every row; their
    ``.data`` is read at every call, and ``backward`` adds into their
    ``.grad`` (only theirs: intermediate nodes get no ``.grad``).  A node that
    ``fn`` reads but that was made before the trace (``h = p * 3`` outside
    ``fn``) is recomputed from its leaves at every call.

    Outputs and gradients agree with the eager engine node by node within
    floating-point rounding, whatever the batch size: a sum or dot of n
    terms tᵢ within 2γₙ·Σ|tᵢ| (about n·2⁻⁵²·Σ|tᵢ|), an elementwise op within
    16·2⁻⁵³ relative.  Python branching on ``.data`` inside ``fn`` is frozen
    on the first row, as are constants computed from data;
    ``fast.verify(...)`` checks both, on the caller's batch.
    The first call traces; columns are 1-D arrays or lists of equal length.
    Integer columns (token ids) feed ``mg.nn.Embedding`` lookups and
    ``cross_entropy`` targets, looked up per row.
    """
    return Compiled(fn)
