"""How long the step-through takes on a 100-node graph: every frame, and the HTML page.

    python benchmarks/steps.py            # needs Graphviz's dot

The graph is a network's loss on one sample (101 nodes).  Times, as the
median of 5 runs, against a baseline measured in the same run (one
``draw_dot(root)`` picture of the same graph rendered to SVG):

- steps: ``mg.backward_steps`` and ``mg.forward_steps`` (the data alone);
- frames: the DOT source of every frame, ``draw_dot(root, step=k)`` for k = 0..100;
- page: ``save_steps_html`` (steps, frames' texts, one dot run, the file);
- rendered: every frame rendered to SVG by dot, as the Jupyter player does
  when it is played to the end.

The target (issue 13) is frames and page under 5 s on a 2-core machine.
Last, the hard case for Graphviz's dot (every value summed by one node):
its layout time grows fast with the size, and the page's one layout with it.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's micrograd_tw

import micrograd_tw as mg  # noqa: E402

REPEATS = 5


def graph() -> mg.Value:
    """A network's loss on one sample, as a student steps through: (MLP(4, [6, 4, 1])(x) − 1)², 101 nodes."""
    model = mg.nn.MLP(4, [6, 4, 1], activation="tanh", seed=0)
    x = [mg.Value(v, label=f"x{i + 1}") for i, v in enumerate([0.5, -1.0, 2.0, 0.1])]
    loss = (model(x) - 1.0) ** 2
    loss.label = "L"
    return loss


def wide_sum(nodes: int, seed: int = 0) -> mg.Value:
    """The hard case for dot: ``nodes`` values all feeding one sum, so labelled edges skip many ranks."""
    rng = random.Random(seed)
    values = [mg.Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(10)]
    while len(values) < nodes - 1:
        a, b = rng.sample(values[-8:], 2)
        values.append(a * b if rng.random() < 0.5 else a + b)
    return mg.sum(values)


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    root = graph()
    n = len(mg.toposort(root))
    frames = n + 1
    baseline = median_time(lambda: mg.draw_dot(root).pipe(format="svg"))
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "backward.html"
        results = {
            "steps (data)": median_time(lambda: (mg.backward_steps(root), mg.forward_steps(root))),
            f"frames: DOT source of all {frames}": median_time(
                lambda: [mg.draw_dot(root, step=k).source for k in range(frames)]
            ),
            "page: save_steps_html": median_time(lambda: mg.viz.save_steps_html(root, page_path)),
            f"rendered: all {frames} frames to SVG": median_time(
                lambda: [mg.draw_dot(root, step=k).pipe(format="svg") for k in range(frames)], repeats=1
            ),
        }
        size = page_path.stat().st_size
    print(f"graph: {n} nodes, {frames} frames; baseline: one draw_dot(root) to SVG = {baseline:.3f} s")
    for name, seconds in results.items():
        print(f"  {name:<34} {seconds:7.3f} s   {seconds / baseline:6.1f}× the baseline")
    print(f"  page size {size / 1024:.0f} KiB")
    within = results[f"frames: DOT source of all {frames}"] + results["page: save_steps_html"]
    print(f"frames + page: {within:.2f} s (target: under 5 s)")
    # The worst shape we know: every value feeds one node.  Layout alone grows fast with it.
    for size in (40, 60):
        hard = wide_sum(size)
        plain = median_time(lambda g=hard: mg.draw_dot(g).pipe(format="svg"), repeats=1)
        page = median_time(lambda g=hard: mg.viz.steps_html(g), repeats=1)
        print(f"hard case, {size} values all summed by one node: page {page:.2f} s, "
              f"one plain draw_dot {plain:.2f} s")


if __name__ == "__main__":
    main()
