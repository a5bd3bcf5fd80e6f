"""Engine benchmark: micrograd_tw against micrograd 0.1.0, both measured in this run.

    python benchmarks/engine.py             # full run, a few minutes
    python benchmarks/engine.py --quick     # smaller sizes, for a quick look (or BENCH_QUICK=1)
    python benchmarks/engine.py --check     # exit 1 if a target is missed
    python benchmarks/engine.py --profile   # also profile micrograd_tw's training step

micrograd 0.1.0 is installed from PyPI into benchmarks/.venv-micrograd on
first use.  Each workload runs in a fresh process for either engine
(benchmarks/micrograd_workloads.py and benchmarks/micrograd_tw_workloads.py,
the same code where the engines allow), timed in CPU time, several times, and
the median is reported:

(a) one training step of MLP(2, [16, 16, 1]) on 100 two-moons points: forward
    over all points, hinge loss mean(relu(1 − yᵢ·scoreᵢ)) + 1e-4·Σp², zero_grad,
    backward, SGD update p ← p − η·grad.  Both models start from the same
    parameters, so both engines must report the same losses.
(b) building 10⁵ mixed + and * ops (``common.mixed_plan``), and the same build
    with the least a node can be in pure Python (``common.BareNode``): the
    floor that the garbage collector sets for any engine with a node per op,
(c) backward alone on that graph,
(d) a 10⁶-deep chain y = x + 1.0 + 1.0 + ...: build and backward times, and
    peak memory per link.  Each repeat runs in a fresh process.

Ratios are micrograd's time over micrograd_tw's: above 1 means micrograd_tw is faster.
"""

from __future__ import annotations

import cProfile
import gc
import os
import platform
import pstats
import subprocess
import sys
from typing import Any

import common
import micrograd_tw_workloads as tw_side  # puts this checkout first on sys.path

import micrograd_tw as mg

NOUTS = [16, 16, 1]  # MLP(2, [16, 16, 1]): relu hidden layers, linear output, as micrograd's
N_POINTS = 100  # two-moons points per step (the whole data set)
LR = 0.05  # η in p ← p − η ∂L/∂p
ALPHA = 1e-4  # weight of the L2 penalty α·Σp²
WARMUP = 1  # untimed steps before the timed ones
SEED = 0

FULL = {"steps": 7, "mixed_ops": 100_000, "mixed_rounds": 3, "mixed_repeats": 3,
        "chain_n": 1_000_000, "chain_repeats": 3}
QUICK = {"steps": 3, "mixed_ops": 20_000, "mixed_rounds": 2, "mixed_repeats": 2,
         "chain_n": 100_000, "chain_repeats": 3}

# The targets: speed ratios (at least) and bytes per chain node (at most).
TARGET_MLP, TARGET_BUILD, TARGET_BACKWARD, TARGET_BYTES = 20.0, 12.0, 2.0, 200.0


def run_tw(workload: str, **args: Any) -> dict[str, Any]:
    """Run a workload of ``micrograd_tw_workloads.py`` in a fresh process; its JSON result."""
    answer: dict[str, Any] = common.run_workload(sys.executable, tw_side.__file__, workload, args)
    return answer


# ------------------------------------------------------------------- checks


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def agree(what: str, a: float, b: float, tol: float) -> float:
    """The relative difference of the two engines' results; exit if it is above tol.

    Equal results show that both sides did the same work.
    """
    d = rel_diff(a, b)
    if not d <= tol:
        raise SystemExit(f"{what}: micrograd gave {a!r}, micrograd_tw {b!r}; the workloads differ")
    return d


# -------------------------------------------------------------------- run


def run(cfg: dict[str, int]) -> dict[str, Any]:
    """Measure every workload on both engines; medians, ratios and checks."""
    r: dict[str, Any] = {}
    X_np, y_np = common.moons(N_POINTS, seed=SEED)
    X, y = X_np.tolist(), y_np.tolist()

    # (a) training step, both models starting from micrograd_tw's initial parameters
    log("MLP training step")
    init = [p.data for p in tw_side.make_mlp(NOUTS).parameters()]
    mlp_args = {"X": X, "y": y, "params": init, "nouts": NOUTS, "steps": cfg["steps"],
                "warmup": WARMUP, "lr": LR, "alpha": ALPHA}
    ref, tw = common.run_micrograd("mlp_step", **mlp_args), run_tw("mlp_step", **mlp_args)
    r["loss_diff"] = max(agree("loss", a, b, 1e-9) for a, b in zip(ref["losses"], tw["losses"]))
    r["mlp"] = (common.median(ref["times"]), common.median(tw["times"]))

    # (b), (c) mixed graph: rounds of one fresh process per engine (and for the
    # floor), in turn, so that a change in the machine's load between them
    # weighs on every side alike; the medians are over every build of every round.
    mixed_args = {"n_ops": cfg["mixed_ops"], "repeats": cfg["mixed_repeats"]}
    times: dict[str, list[float]] = {"ref_build": [], "ref_backward": [], "tw_build": [],
                                     "tw_backward": [], "floor_build": []}
    for i in range(cfg["mixed_rounds"]):
        log(f"mixed graph, round {i + 1} of {cfg['mixed_rounds']}")
        ref, tw = common.run_micrograd("mixed", **mixed_args), run_tw("mixed", **mixed_args)
        floor = run_tw("mixed_floor", **mixed_args)
        agree("mixed graph root", ref["root"], tw["root"], 1e-12)
        agree("mixed graph root (floor)", ref["root"], floor["root"], 1e-12)
        r["grad_diff"] = agree(
            "mixed graph Σ|leaf grads|", ref["leaf_grad_abs_sum"], tw["leaf_grad_abs_sum"], 1e-9
        )
        for side, result in (("ref", ref), ("tw", tw)):
            times[f"{side}_build"] += result["build"]
            times[f"{side}_backward"] += result["backward"]
        times["floor_build"] += floor["build"]
    m = {key: common.median(values) for key, values in times.items()}
    r["build"] = (m["ref_build"], m["tw_build"])
    r["floor"] = (m["ref_build"], m["floor_build"])
    r["backward"] = (m["ref_backward"], m["tw_backward"])

    # (d) chain, a fresh process per repeat, alternating engines
    n = cfg["chain_n"]
    refs, tws = [], []
    for i in range(cfg["chain_repeats"]):
        log(f"{n:,}-deep chain, repeat {i + 1} of {cfg['chain_repeats']}")
        refs.append(common.run_micrograd("chain", n=n))
        tws.append(run_tw("chain", n=n))
    for res in refs + tws:
        if res["y"] != n or res["x_grad"] != 1:
            raise SystemExit(f"chain: y = {res['y']!r}, dy/dx = {res['x_grad']!r}; expected {n} and 1")
    for key in ("build", "backward", "rss_growth"):
        r[f"chain_{key}"] = (common.median([x[key] for x in refs]), common.median([x[key] for x in tws]))
    r["recursion_limit"] = (refs[0]["recursion_limit"], tws[0]["recursion_limit"])
    r["thread_stack"] = refs[0]["thread_stack_bytes"]
    log("chain under tracemalloc")
    r["chain_traced"] = run_tw("chain_traced", n=n)["peak_bytes"]
    return r


def log(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(r: dict[str, Any], cfg: dict[str, int], quick: bool) -> bool:
    """Print the table; True when every target is met."""
    n = cfg["chain_n"]
    rows, ok = [], True

    def speed(name: str, key: str, target: float | None) -> None:
        nonlocal ok
        ref, tw = r[key]
        ratio = ref / tw
        mark = ""
        if target is not None:
            ok &= ratio >= target
            mark = f">= {target:g}x  {verdict(ratio >= target)}"
        rows.append([name, common.fmt_time(ref), common.fmt_time(tw), f"{ratio:.1f}x", mark])

    speed(f"(a) MLP(2, {NOUTS}) training step, {N_POINTS} points", "mlp", TARGET_MLP)
    speed(f"(b) build {cfg['mixed_ops']:,} mixed +/* ops", "build", TARGET_BUILD)
    speed("    floor of (b): a bare slotted node", "floor", None)
    speed("(c) backward on that graph", "backward", TARGET_BACKWARD)
    speed(f"(d) {n:,}-deep chain: build", "chain_build", None)
    speed(f"(d) {n:,}-deep chain: backward", "chain_backward", None)
    ref_rss, tw_rss = r["chain_rss_growth"]
    rows.append([
        "(d) peak RSS growth per link", f"{ref_rss / n:.0f} B", f"{tw_rss / n:.0f} B",
        f"{ref_rss / tw_rss:.1f}x", "",
    ])
    per_node = r["chain_traced"] / n
    ok &= per_node <= TARGET_BYTES
    rows.append([
        "(d) tracemalloc peak per node", "n/a (1)", f"{per_node:.0f} B", "",
        f"<= {TARGET_BYTES:.0f} B  {verdict(per_node <= TARGET_BYTES)}",
    ])

    print()
    print(f"micrograd_tw {mg.__version__} ({git_commit()}) vs micrograd 0.1.0 -- "
          f"{'QUICK' if quick else 'full'} run, medians of {cfg['steps']} / "
          f"{cfg['mixed_rounds'] * cfg['mixed_repeats']} / "
          f"{cfg['chain_repeats']} repeats")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load_average()}")
    print()
    common.print_table(["workload", "micrograd", "micrograd_tw", "ratio", "target"], rows, "lrrrl")
    print()
    print(f"Ratio: micrograd / micrograd_tw. Chain: y = x + 1.0 + 1.0 + ... ({n:,} additions), "
          "built then backpropagated once per fresh process.")
    print(f"- micrograd survives the chain only with sys.setrecursionlimit({r['recursion_limit'][0]:,}) "
          f"and a {r['thread_stack'] >> 20} MiB thread stack: its topological sort recurses once per "
          f"node. micrograd_tw ran at the default limit ({r['recursion_limit'][1]}).")
    print("- micrograd makes 2 nodes per link (it wraps the constant 1.0 in a Value); "
          "micrograd_tw makes 1.")
    print("- RSS growth: rise of the process's peak resident memory over build + backward "
          "(objects, allocator, stack).")
    print("- tracemalloc peak: Python objects allocated during build + backward, over the number "
          "of nodes.")
    print("  (1) not measured for micrograd: tracemalloc walks the whole stack at each allocation, "
          "and micrograd's recursive sort is as deep as the chain, which makes it quadratic.")
    print("- Floor of (b): the same build with the least a node can be in pure Python "
          "(common.BareNode: micrograd_tw's")
    print("  layout, no checks, no modes). Most of its time is the garbage collector's passes over "
          "the nodes;")
    print(f"  micrograd_tw's build takes {r['build'][1] / r['floor'][1]:.2f}x the floor's time.")
    print(f"- Same work on both sides: training losses agree to {r['loss_diff']:.1e} (relative), "
          f"the mixed graph's Σ|leaf grads| to {r['grad_diff']:.1e}.")
    if quick:
        print("- QUICK run: sizes are reduced; the targets are meant for the full run.")
    print()
    print(f"targets: {'all met' if ok else 'MISSED'}")
    return ok


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(common.ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return "no git"
    return out.stdout.strip() or "no git"


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def profile(cfg: dict[str, int], top: int = 15) -> None:
    """Where micrograd_tw's time goes: cProfile of (a) and (c), the collector's share of (a) and (b).

    Runs in this process; the collector's pauses are CPU time spent in
    collections (``common.gc_pauses``), which cProfile cannot show.
    """
    X, y = common.moons(N_POINTS, seed=SEED)
    step = tw_side.mlp_step_fn(tw_side.make_mlp(NOUTS), X.tolist(), y.tolist(), LR, ALPHA)
    step()
    steps = 3
    profiler = cProfile.Profile()
    with common.gc_pauses() as pauses:
        seconds, _ = common.timed(lambda: [step() for _ in range(steps)])
    print(f"\n(a) {steps} training steps: {common.fmt_time(seconds)}, of which garbage collection "
          f"{common.fmt_time(sum(p[1] for p in pauses.values()))} {describe(pauses)}")
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    print(f"cProfile of {steps} training steps, top {top} by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)

    leaf_data, indices = common.mixed_plan(cfg["mixed_ops"])
    leaves = [mg.Value(x) for x in leaf_data]
    gc.collect()
    with common.gc_pauses() as pauses:
        seconds, root = common.timed(common.build_mixed, leaves, indices)
    print(f"(b) build {cfg['mixed_ops']:,} ops: {common.fmt_time(seconds)}, of which garbage collection "
          f"{common.fmt_time(sum(p[1] for p in pauses.values()))} {describe(pauses)}")
    profiler = cProfile.Profile()
    profiler.enable()
    root.backward()
    profiler.disable()
    print(f"\ncProfile of (c) backward on that graph, top {top} by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def describe(pauses: dict[int, list[float]]) -> str:
    return "(" + ", ".join(
        f"gen {g}: {int(n)} x, {common.fmt_time(t)}" for g, (n, t) in pauses.items()
    ) + ")"


def main() -> None:
    known = {"--quick", "--check", "--profile"}
    unknown = [a for a in sys.argv[1:] if a not in known]
    if unknown:
        raise SystemExit(f"unknown argument(s) {' '.join(unknown)}; use {', '.join(sorted(known))}")
    quick = common.quick_mode()
    cfg = QUICK if quick else FULL
    common.ensure_micrograd_python()
    ok = report(run(cfg), cfg, quick)
    if "--profile" in sys.argv:
        profile(cfg)
    if "--check" in sys.argv and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
