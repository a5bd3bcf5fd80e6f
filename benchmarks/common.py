"""Shared helpers of the benchmarks: the micrograd baseline, data, workloads, timing, tables.

Every benchmark compares micrograd_tw with micrograd 0.1.0 (Karpathy's, from
PyPI) measured in the same run.  micrograd runs in its own virtual environment
(``benchmarks/.venv-micrograd``, made on first use) through
``benchmarks/micrograd_workloads.py``, which prints its timings as JSON.

This module imports only the standard library when it loads, because the
micrograd side imports it too, in a virtual environment that holds micrograd
and nothing else.  micrograd_tw is imported inside ``moons`` only.
"""

from __future__ import annotations

import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-micrograd"
WORKLOADS = HERE / "micrograd_workloads.py"
MICROGRAD = "micrograd==0.1.0"

# ------------------------------------------------------------------ modes


def quick_mode(argv: Sequence[str] | None = None) -> bool:
    """True with ``--quick`` on the command line or ``BENCH_QUICK=1`` in the environment."""
    argv = sys.argv[1:] if argv is None else argv
    return "--quick" in argv or os.environ.get("BENCH_QUICK", "") not in ("", "0")


# ------------------------------------------------------- the micrograd side


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _micrograd_version(python: Path) -> str | None:
    """The micrograd version installed for ``python``, or None."""
    if not python.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('micrograd'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_micrograd_python() -> Path:
    """The python of a virtual environment holding micrograd 0.1.0, made on first use.

    The environment lives in ``benchmarks/.venv-micrograd`` (git-ignored) and is
    made with this interpreter, so both engines run on the same Python.
    """
    python = _venv_python()
    if _micrograd_version(python) == "0.1.0":
        return python
    print(f"setting up {VENV.relative_to(ROOT)} with {MICROGRAD} ...", file=sys.stderr, flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", MICROGRAD], capture_output=True, text=True
    )
    found = _micrograd_version(python)
    if found != "0.1.0":
        raise SystemExit(
            f"could not install {MICROGRAD} into {VENV} (found {found!r}); pip said:\n"
            f"{install.stdout}{install.stderr}\n"
            f"Remove {VENV} and try again, or install it by hand: {python} -m pip install {MICROGRAD}"
        )
    return python


def run_workload(python: str | Path, script: str | Path, workload: str, args: dict[str, Any]) -> Any:
    """Run ``python script workload`` in a fresh process, ``args`` as JSON on stdin; its JSON output.

    Every measurement of either engine runs in a fresh process, so that no
    engine inherits the other's heap (the garbage collector's work depends on
    everything alive in the process).
    """
    result = subprocess.run(
        [str(python), str(script), workload], input=json.dumps(args), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"workload {workload!r} of {Path(script).name} failed (exit {result.returncode}):\n"
            f"{result.stderr}"
        )
    return json.loads(result.stdout)


def run_micrograd(workload: str, **args: Any) -> dict[str, Any]:
    """Run a workload of ``micrograd_workloads.py`` under micrograd 0.1.0; its JSON result."""
    answer: dict[str, Any] = run_workload(ensure_micrograd_python(), WORKLOADS, workload, args)
    return answer


def serve(workloads: Mapping[str, Callable[[dict[str, Any]], Any]]) -> None:
    """The other end of ``run_workload``: run the workload named in argv on stdin's JSON args."""
    if len(sys.argv) != 2 or sys.argv[1] not in workloads:
        raise SystemExit(f"usage: {Path(sys.argv[0]).name} {{{','.join(workloads)}}} < args.json")
    args = json.load(sys.stdin)
    json.dump(workloads[sys.argv[1]](args), sys.stdout)


# ------------------------------------------------------------------- data


def moons(n: int = 100, seed: int = 0, noise: float = 0.1) -> tuple[Any, Any]:
    """``mg.data.make_moons`` with labels -1.0 / +1.0, the signs of the hinge loss.

    Returns ``(X, y)``: X float64 of shape (n, 2), y float64.  Both engines get
    these same numbers (micrograd's side as JSON).  Needs micrograd_tw
    importable: the benchmark scripts put this checkout first on sys.path.
    """
    from micrograd_tw.data import make_moons

    X, labels = make_moons(n, noise=noise, seed=seed)
    return X, 2.0 * labels - 1.0


# -------------------------------------------------------------- timing


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """(seconds, result) of one call, in CPU time of this process.

    CPU time, not wall time: the benchmark shares its machine, and work done
    by other processes must not count against either engine.  The garbage
    collector stays on: its pauses are part of what a user waits for, and most
    of micrograd's time (see the README).
    """
    start = time.process_time()
    result = fn(*args)
    return time.process_time() - start, result


def median(times: Sequence[float]) -> float:
    return statistics.median(times)


@contextmanager
def gc_pauses() -> Iterator[dict[int, list[float]]]:
    """Record the garbage collector's pauses inside the block: generation -> [count, seconds].

    For profiles: cProfile charges a collection to whatever function happened
    to allocate when it started, so its share of the time is invisible there.
    """
    pauses: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            entry = pauses[info["generation"]]
            entry[0] += 1
            entry[1] += time.process_time() - started[0]

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


# ------------------------------------------------------------ workloads
# The graph workloads use only Value(x), + and *, so the very same code runs
# on both engines: ``Value`` is micrograd's or micrograd_tw's class.


def mixed_plan(n_ops: int = 100_000, pool: int = 1001, seed: int = 0) -> tuple[list[float], list[int]]:
    """Leaf data and operand indices for ``build_mixed``: n_ops ops in all.

    Rounds of two ops on a pool of Values, which starts as the leaves:
    ``pool[i] = pool[i] + pool[j]`` and ``pool[k] = pool[k] * leaves[l]`` (the
    leaves lie in [-1, 1], so nothing overflows), then ``pool - 1`` additions
    sum the pool pairwise into one root.  Every node is an ancestor of the root,
    and the graph is about 300 deep: micrograd's recursive walk handles it.
    """
    rounds, odd = divmod(n_ops - (pool - 1), 2)
    if rounds < 0 or odd:
        raise ValueError(f"mixed_plan: n_ops - (pool - 1) must be even and >= 0, got {n_ops}, {pool}")
    rng = random.Random(seed)
    leaves = [rng.uniform(-1.0, 1.0) for _ in range(pool)]
    indices = [rng.randrange(pool) for _ in range(4 * rounds)]
    return leaves, indices


def build_mixed(leaves: list[Any], indices: list[int]) -> Any:
    """Build the graph described by ``mixed_plan`` from leaf Values; returns its root."""
    pool = list(leaves)
    it = iter(indices)
    for i, j, k, m in zip(it, it, it, it):
        pool[i] = pool[i] + pool[j]
        pool[k] = pool[k] * leaves[m]
    while len(pool) > 1:
        pairs = [pool[a] + pool[a + 1] for a in range(0, len(pool) - 1, 2)]
        pool = pairs + pool[len(pool) - 1 :] if len(pool) % 2 else pairs
    return pool[0]


class BareNode:
    """The floor of (b): the least that a graph node can be in pure Python.

    The layout of micrograd_tw's Value (eight slots), made the same way, but
    with no operand checks, no no_grad mode, no op table and no backward.
    What is left of building a graph is allocating one object per op that
    points to its parents, and the garbage collector's passes over those
    objects: no engine that keeps a Python object per node builds the mixed
    graph much faster on the same Python.
    """

    __slots__ = ("_data", "grad", "_op_label", "_parent_a", "_parent_b", "_partial_a",
                 "_partial_b_or_operands", "_mark")

    def __init__(self, data: float) -> None:
        self._data, self.grad, self._op_label = data, 0.0, ""
        self._parent_a = self._parent_b = self._partial_a = self._partial_b_or_operands = self._mark = None

    @property
    def data(self) -> float:
        return self._data

    def __add__(self, other: BareNode) -> BareNode:
        out = _new_object(BareNode)
        out._data = self._data + other._data
        out.grad = 0.0
        out._op_label = "+"
        out._parent_a = self
        out._parent_b = other
        out._partial_a = 1.0
        out._partial_b_or_operands = 1.0
        out._mark = None
        return out

    def __mul__(self, other: BareNode) -> BareNode:
        out = _new_object(BareNode)
        out._data = self._data * other._data
        out.grad = 0.0
        out._op_label = "*"
        out._parent_a = self
        out._parent_b = other
        out._partial_a = other._data
        out._partial_b_or_operands = self._data
        out._mark = None
        return out


_new_object = object.__new__


def mixed_floor(n_ops: int, repeats: int) -> dict[str, Any]:
    """Time building the ``mixed_plan`` graph of ``BareNode``s, as ``mixed_workload`` does."""
    leaf_data, indices = mixed_plan(n_ops)
    build = []
    for _ in range(repeats):
        leaves = [BareNode(x) for x in leaf_data]
        gc.collect()
        seconds, root = timed(build_mixed, leaves, indices)
        build.append(seconds)
        root_data = root.data
        del root, leaves
    gc.collect()
    return {"ops": n_ops, "build": build, "root": root_data}


def mixed_workload(Value: type, n_ops: int, repeats: int) -> dict[str, Any]:
    """Time building the ``mixed_plan`` graph and backward on it; ``repeats`` fresh graphs."""
    leaf_data, indices = mixed_plan(n_ops)
    build, backward = [], []
    for _ in range(repeats):
        leaves = [Value(x) for x in leaf_data]
        gc.collect()  # the previous graph's garbage is not charged to this one
        seconds, root = timed(build_mixed, leaves, indices)
        build.append(seconds)
        seconds, _ = timed(root.backward)
        backward.append(seconds)
        check = {"root": root.data, "leaf_grad_abs_sum": math.fsum(abs(v.grad) for v in leaves)}
        del root, leaves
    gc.collect()
    return {"ops": n_ops, "build": build, "backward": backward, **check}


def build_chain(x: Any, n: int) -> Any:
    """y = x + 1.0 + 1.0 + ... (n additions, each a node on the previous one)."""
    y = x
    for _ in range(n):
        y = y + 1.0
    return y


def _peak_rss() -> int:
    """This process's peak resident set size so far, in bytes.

    On Linux it is read from /proc (VmHWM): ``getrusage``'s ru_maxrss would
    start from the parent's peak in a child process, hiding a small graph.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    import resource  # POSIX only; imported here so that the module loads everywhere

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def chain_run(Value: type, n: int) -> dict[str, Any]:
    """Build an n-deep chain, backpropagate through it: times and peak RSS growth.

    Meant for a fresh process (``rss_growth`` is the rise of the process's peak
    resident memory, which only a process's first big graph shows).  It counts
    everything the graph costs the machine: objects, allocator overhead and, for
    a recursive walk, the stack.
    """
    gc.collect()
    rss_before = _peak_rss()
    x = Value(0.0)
    build, y = timed(build_chain, x, n)
    backward, _ = timed(y.backward)
    rss_growth = _peak_rss() - rss_before
    return {"n": n, "build": build, "backward": backward, "rss_growth": rss_growth,
            "y": y.data, "x_grad": x.grad}


def chain_traced(Value: type, n: int) -> dict[str, Any]:
    """tracemalloc's peak over build + backward of an n-deep chain, in bytes.

    This counts the memory of Python objects only.  tracemalloc walks the whole
    Python stack at every allocation, so a recursive backward (micrograd's) on a
    deep chain becomes quadratic under it: use this for iterative engines.
    """
    gc.collect()
    tracemalloc.start()
    try:
        x = Value(0.0)
        y = build_chain(x, n)
        y.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"n": n, "peak_bytes": peak, "y": y.data, "x_grad": x.grad}


def time_steps(step: Callable[[], float], steps: int, warmup: int = 1) -> dict[str, Any]:
    """Run ``warmup + steps`` training steps back to back; time each of the last ``steps``.

    Steps run as in a training loop: one step's graph is freed during the next,
    by reference counting (micrograd_tw) or by the cyclic collector (micrograd).
    """
    losses = [step() for _ in range(warmup)]
    gc.collect()
    times = []
    for _ in range(steps):
        seconds, loss = timed(step)
        times.append(seconds)
        losses.append(loss)
    gc.collect()
    return {"times": times, "losses": losses}


# ------------------------------------------------------------- printing


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps three or four significant digits."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> None:
    """Print rows under headers in aligned columns; ``align`` has 'l' or 'r' per column."""
    widths = [max(len(str(r[c])) for r in [headers, *rows]) for c in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(w) if a == "l" else str(cell).rjust(w) for cell, w, a in zip(cells, widths, align)
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
