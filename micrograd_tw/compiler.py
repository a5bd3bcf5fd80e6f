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
Each op's numpy forward and partials come from its row of the op table in
``ops.py`` (its ``kernel``), with the float rules' conventions (relu'(0) = 0,
abs'(0) = 0, the pow rules, the stable sigmoid).

As with ``torch.jit.trace``, whatever ``fn`` decides from ``.data`` is frozen
at trace time: Python branches (``if x > 0``), constants computed from data,
Values built from ``.data``.  (Graph ops such as ``mg.max`` are computed per row.)  ``fast.verify``
re-runs ``fn`` eagerly on a few rows and raises if the replay differs.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import engine, ops
from .engine import Value

__all__ = ["compile", "Compiled"]

INF = math.inf
NAN = math.nan


# ------------------------------------------------------------ kernels and operands
# Each op's numpy forward and partials are its row's kernel (ops.py).  A row
# without one (``mg.ops.define``) runs its own forward and partials on arrays;
# whether they can is tried once per op when the graph is traced.


def _kernel(op: str) -> ops.Kernel:
    """The numpy kernel of an op's row."""
    return ops.row(op).numpy_kernel()


def _probe(node: Value) -> None:
    """Check, at trace time, that a row without its own kernel runs on numpy arrays; else say so, naming the op."""
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
        self.count = len(slots)
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
        """store[slots] += c, where c has one entry (row) per slot; repeated slots add up."""
        if len(c) != self.count and not self.same:  # one entry for all: broadcast it first
            c = np.broadcast_to(c, (self.count, *np.shape(c)[1:]))
        if self.same:
            store[self.read] += np.sum(c, axis=0, keepdims=True)
        elif self.unique:
            store[self.read] += c
        elif store.ndim == 1:
            np.add.at(store, self.read, c)  # type: ignore[arg-type]  # read is an index array here
        else:
            store[self.targets] += np.add.reduceat(c[self.order], self.starts, axis=0)


class _Operand:
    """One operand position of a unary/binary group: k slots of one kind."""

    def __init__(self, varying: bool, slots: Sequence[int], group_varying: bool) -> None:
        self.varying = varying
        self.rows = _Rows(slots)
        # A uniform operand of a varying group is a column (k, 1) that broadcasts over the batch.
        self.column = group_varying and not varying

    def get(self, V: np.ndarray, U: np.ndarray) -> Any:
        if self.varying:
            return V[self.rows.read]
        u = U[self.rows.read]
        return u[:, None] if self.column else u

    def add_grad(self, GV: np.ndarray, GU: np.ndarray, c: Any) -> None:
        if self.varying:
            self.rows.add(GV, c)
        else:
            self.rows.add(GU, c.sum(axis=-1) if self.column else c)


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

    def add_reduced(self, GV: np.ndarray, GU: np.ndarray, r: Any) -> None:
        """Accumulate r with one entry per read slot: (m·n, batch) for V, (m·n,) for U."""
        self.rows.add(GV if self.kind == "V" else GU, r)


# --------------------------------------------------------------------- groups


class _Group:
    """Nodes with the same op, depth and operand kinds: one numpy operation.

    ``forward`` writes the group's outputs into V (or U) and returns what
    ``backward`` needs; ``backward`` reads the outputs' gradients from GV (or
    GU) and accumulates the operands' gradients.
    """

    op: str
    varying: bool
    out: Any  # slice of V rows or U entries
    needs_grad: bool

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        raise NotImplementedError

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        raise NotImplementedError

    def _store(self, V: np.ndarray, U: np.ndarray) -> np.ndarray:
        return V if self.varying else U


class _Elementwise(_Group):
    """A unary or binary op on k nodes: operands (k, batch) or (k, 1) → outputs (k, batch)."""

    def __init__(self, op: str, varying: bool, out: Any, operands: list[_Operand], grads: list[bool]) -> None:
        self.op, self.varying, self.out = op, varying, out
        self.kernel = _kernel(op)
        self.operands = operands
        self.grads = grads  # which operand positions lead to a parameter
        self.needs_grad = any(grads)

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        args = [o.get(V, U) for o in self.operands]
        result = self.kernel.forward(*args)
        if self.kernel.domain is not None:
            _check_domain(self, args, result)
        self._store(V, U)[self.out] = result
        return args

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        store, grads = (V, GV) if self.varying else (U, GU)
        g = grads[self.out]
        partials = self.kernel.partials(*saved, store[self.out])
        for operand, wanted, partial in zip(self.operands, self.grads, partials):
            if wanted:
                if type(partial) is float and partial == 1.0:
                    c = g
                elif type(partial) is float and partial == -1.0:
                    c = -g
                else:
                    c = partial * g
                operand.add_grad(GV, GU, c)


class _Sum(_Group):
    """Σ over k nodes of n items each: a (k, n, batch) block summed along n."""

    def __init__(self, varying: bool, out: Any, block: _Block, needs_grad: bool) -> None:
        self.op, self.varying, self.out = "sum", varying, out
        self.block, self.needs_grad = block, needs_grad

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        # Along the middle axis of (k, n, batch), numpy adds the items in order, as engine.sum.
        self._store(V, U)[self.out] = self.block.get(V, U).sum(axis=1)
        return None

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        g = (GV if self.varying else GU)[self.out]
        self.block.add_grad(GV, GU, g[:, None])


class _Reduce(_Group):
    """Another n-ary op (max, min) over k nodes of n items each, by its row's kernel on the (k, n, batch) block."""

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
        self.block.add_grad(GV, GU, np.where(partial, g[:, None], 0.0) if partial.dtype == bool else partial * g[:, None])


class _Dot(_Group):
    """Σ wᵢxᵢ over k nodes: for a layer of neurons, one matrix product."""

    def __init__(self, varying: bool, out: Any, ws: _Block, xs: _Block, grads: tuple[bool, bool]) -> None:
        self.op, self.varying, self.out = "dot", varying, out
        self.ws, self.xs, self.grads = ws, xs, grads
        self.needs_grad = any(grads)
        # A layer: uniform weights (k, n), one shared list of varying inputs (n, batch).
        # Then Σ wᵢxᵢ is W @ X, and both gradients are matrix products too.
        self.matmul = None
        for i, (a, b) in enumerate(((ws, xs), (xs, ws))):
            if varying and a.kind == "U" and (a.k == 1 or not a.shared) and b.kind == "V" and b.shared:
                self.matmul = i  # 0: ws are the matrix, 1: xs are

    def run_forward(self, V: np.ndarray, U: np.ndarray) -> Any:
        w, x = self.ws.get(V, U), self.xs.get(V, U)
        if self.matmul is None:
            out = (w * x).sum(axis=1)  # in order along n when varying, as engine.dot
        else:
            a, b = (w, x) if self.matmul == 0 else (x, w)
            a, b = a[:, :, 0], b[0]  # (k, n) and (n, batch)
            out = a @ b
            w, x = (a, b) if self.matmul == 0 else (b, a)
        self._store(V, U)[self.out] = out
        return w, x

    def run_backward(self, V: np.ndarray, U: np.ndarray, GV: np.ndarray, GU: np.ndarray, saved: Any) -> None:
        g = (GV if self.varying else GU)[self.out]
        w, x = saved
        if self.matmul is None:
            gg = g[:, None]
            if self.grads[0]:
                self.ws.add_grad(GV, GU, x * gg)  # ∂/∂wᵢ = xᵢ
            if self.grads[1]:
                self.xs.add_grad(GV, GU, w * gg)  # ∂/∂xᵢ = wᵢ
            return
        if self.matmul == 0:  # w (k, n) uniform, x (n, batch) shared
            if self.grads[0]:
                self.ws.add_reduced(GV, GU, (g @ x.T).reshape(-1))
            if self.grads[1]:
                self.xs.add_reduced(GV, GU, w.T @ g)
        else:  # x (k, n) uniform, w (n, batch) shared
            if self.grads[0]:
                self.ws.add_reduced(GV, GU, x.T @ g)
            if self.grads[1]:
                self.xs.add_reduced(GV, GU, (g @ w.T).reshape(-1))


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


class _Tape:
    """The traced graph as groups over slots, ready to replay.

    V rows: the inputs, then varying nodes.  U entries: the parameters, the
    constants, then uniform nodes.  Groups run in order of depth.
    """

    def __init__(self, inputs: list[Value], output: Value) -> None:
        input_slot = {id(x): i for i, x in enumerate(inputs)}
        params: list[Value] = []
        consts: list[float] = []
        info: dict[int, _Info] = {}
        slot: dict[int, tuple[bool, int]] = {}  # id(node) -> (varying, index into V or U)
        groups: dict[tuple[Any, ...], list[tuple[Value, tuple[Any, ...]]]] = {}

        # Pass 1: classify every node and key it by (depth, kind, op, operand kinds).
        for node in engine.toposort(output):
            if not engine.parents(node) and not node.op:
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
                        consts.append(float(v))
                        v = _Const(len(consts) - 1)
                    marked.append(v)
                parts.append(tuple(marked))
            values = [v for part in parts for v in part if isinstance(v, Value)]
            varying = any(info[id(v)].varying for v in values)
            depth = 1 + max((info[id(v)].depth for v in values), default=0)
            needs_grad = any(info[id(v)].needs_grad for v in values)
            info[id(node)] = _Info(varying, depth, needs_grad)
            kinds = tuple(tuple(isinstance(v, Value) and info[id(v)].varying for v in part) for part in parts)
            groups.setdefault((depth, varying, node.op, kinds), []).append((node, tuple(parts)))

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
            _, varying, op, kinds = key
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
            elif ops.row(op).arity is ops.NARY:  # max, min: a reduction along each node's items
                group = _Reduce(op, varying, out, _Block(kinds[0], slots[0], varying), wanted[0])
            else:  # one list: the operands in order
                positions = range(len(kinds[0]))
                operands = [_Operand(kinds[0][j], [row[j] for row in slots[0]], varying) for j in positions]
                grads = [any(grad_of(parts[0][j]) for _, parts in members) for j in positions]
                group = _Elementwise(op, varying, out, operands, grads)
            self.groups.append(group)
        self.n_v, self.n_u = n_v, n_u
        self.out_varying, self.out_slot = where(output)

    # ---- replay

    def forward(self, columns: list[np.ndarray], batch: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Fill V and U for a batch; returns them and what each group saved for backward."""
        n_p = len(self.params)
        U = np.empty(self.n_u)
        U[:n_p] = [p.data for p in self.params]  # read at every call: opt.step() is seen
        U[n_p : n_p + len(self.consts)] = self.consts
        V = np.empty((self.n_v, batch))
        for i, col in enumerate(columns):
            V[i] = col
        saved = [g.run_forward(V, U) for g in self.groups]
        return V, U, saved

    def outputs(self, V: np.ndarray, U: np.ndarray) -> np.ndarray:
        if self.out_varying:
            return V[self.out_slot].copy()
        return np.full(V.shape[1], U[self.out_slot])

    def param_grads(self, V: np.ndarray, U: np.ndarray, saved: list[Any], seed: float) -> np.ndarray:
        """Σ over rows of seed · ∂out/∂p, for every parameter p."""
        GV = np.zeros_like(V)
        GU = np.zeros_like(U)
        if self.out_varying:
            GV[self.out_slot] = seed
        else:
            GU[self.out_slot] = seed * V.shape[1]
        for g, s in zip(reversed(self.groups), reversed(saved)):
            if g.needs_grad:
                g.run_backward(V, U, GV, GU, s)
        return GU[: len(self.params)]


# -------------------------------------------------------------- the public face

_REDUCTIONS = ("mean", "sum")


def _column(i: int, col: Any) -> np.ndarray:
    """Column i as a 1-D float64 array; TypeError/ValueError naming what is wrong."""
    arr = np.asarray(col)
    if arr.dtype == object:  # e.g. a list mixing ints and Fractions, or holding Values
        for x in arr.ravel():
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"mg.compile: column {i} must hold real numbers, got {type(x).__name__}")
        arr = arr.astype(float)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"mg.compile: column {i} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        hint = "; pass a matrix's columns one by one, e.g. fast(*X.T)" if arr.ndim == 2 else ""
        raise ValueError(
            f"mg.compile: column {i} must be 1-D (one number per row), got shape {arr.shape}{hint}"
        )
    return arr.astype(float, copy=False)


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
        with np.errstate(all="ignore"):
            V, U, _ = tape.forward(cols, batch)
        return tape.outputs(V, U)

    def backward(self, *columns: Any, reduction: str = "mean") -> float:
        """The mean (or sum) of ``fn`` over the rows; adds its gradient into each ``p.grad``.

        Gradients accumulate, as ``Value.backward`` does: zero them between steps.
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"mg.compile: unknown reduction {reduction!r}; choose one of {_REDUCTIONS}")
        tape, cols, batch = self._prepare(columns)
        seed = 1.0 / batch if reduction == "mean" else 1.0
        with np.errstate(all="ignore"):
            V, U, saved = tape.forward(cols, batch)
            outs = tape.outputs(V, U)
            grads = tape.param_grads(V, U, saved, seed)
        loss = float(outs.sum())
        # Only now, when nothing can fail any more, are the parameters touched.
        for p, g in zip(tape.params, grads.tolist()):
            p.grad += g
        return loss / batch if reduction == "mean" else loss

    def verify(self, *columns: Any, rows: int = 5, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Compare the replay with the eager engine on ``rows`` rows spread over the batch.

        Returns True, or raises AssertionError naming the row and what differs:
        usually ``fn`` branches on ``.data``, which the trace has frozen.
        Nothing is written into ``.grad``.
        """
        tape, cols, batch = self._prepare(columns)
        picks = sorted({int(round(r)) for r in np.linspace(0, batch - 1, max(1, min(rows, batch)))})
        for r in picks:
            row = [Value(float(c[r])) for c in cols]
            with engine.enable_grad():
                out = self.fn(*row)
            if not isinstance(out, Value):
                raise TypeError(f"mg.compile: fn must return one Value, got {type(out).__name__}")
            eager = [out.data, *engine.grad(out, tape.params)]
            with np.errstate(all="ignore"):
                V, U, saved = tape.forward([c[r : r + 1] for c in cols], 1)
                replay = [float(tape.outputs(V, U)[0]), *tape.param_grads(V, U, saved, 1.0).tolist()]
            for i, (e, c) in enumerate(zip(eager, replay)):
                if not _close(e, c, rtol, atol):
                    what = f"the gradient of parameter {i - 1} ({tape.params[i - 1]})" if i else "the output"
                    raise AssertionError(
                        f"mg.compile verify: row {r}: {what} is {c!r} in the replay but {e!r} in the "
                        f"eager engine. Python branching on .data inside fn (and constants computed "
                        f"from data) are frozen at trace time, on row 0"
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
            out = self.fn(*inputs)
        if not isinstance(out, Value):
            raise TypeError(f"mg.compile: fn must return one Value, got {type(out).__name__}")
        return _Tape(inputs, out)


def _close(e: float, c: float, rtol: float, atol: float) -> bool:
    if math.isnan(e) or math.isnan(c):
        return math.isnan(e) and math.isnan(c)
    return e == c or abs(e - c) <= atol + rtol * max(abs(e), abs(c))


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

    Python branching on ``.data`` inside ``fn`` is frozen on the first row, as
    are constants computed from data; ``fast.verify(...)`` checks for that.
    The first call traces; columns are 1-D arrays or lists of equal length.
    """
    return Compiled(fn)
