"""Render the README's pictures into docs/images/ (needs Graphviz's `dot`).

    python docs/make_pictures.py             # writes docs/images/*.svg
    python docs/make_pictures.py --out DIR   # somewhere else

- neuron_graph.svg: the course's neuron y = tanh(w1·x1 + w2·x2 + b) after
  backward, so each box's grad is dy/d(that value): the chain rule at work.
- mlp_graph.svg: the computation graph of a small MLP after backward, each
  neuron's three steps (總刺激 Σ wᵢxᵢ, 偏值 + b, 活化函數 φ) boxed.
- mlp_network.svg: a 2-3-3-1 MLP as the notes draw it: one edge per weight,
  blue positive, red negative, wider the larger |w|.
- backward_before.svg, backward_after.svg: docs/how-backward-works.md's small
  graph L = (w·x + b − 1)², before backward (every grad 0) and after it
  (each grad is ∂L/∂(that value)).
- backprop_steps.gif: the same neuron's backward, one node per frame
  (``mg.draw_dot(y, step=k)`` as PNG, the chain-rule line under it), put
  together with Pillow.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's micrograd_tw

import graphviz  # noqa: E402

import micrograd_tw as mg  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"
SEED = 0  # the MLPs' initial weights, fixed so that the pictures do not change between runs


def neuron() -> mg.Value:
    """The micrograd lecture's neuron, with b chosen so that y = tanh(0.8814) = 1/√2."""
    x1, x2 = mg.Value(2.0, label="x1"), mg.Value(0.0, label="x2")
    w1, w2 = mg.Value(-3.0, label="w1"), mg.Value(1.0, label="w2")
    b = mg.Value(6.8813735870195432, label="b")
    z = mg.dot([w1, w2], [x1, x2])
    z.label = "z = Σ wᵢxᵢ"
    h = z + b
    h.label = "z + b"
    y = h.tanh()
    y.label = "y"
    return y


def neuron_graph() -> graphviz.Digraph:
    y = neuron()
    y.backward()
    w1, w2, b = (v for v in mg.toposort(y) if v.label in ("w1", "w2", "b"))
    return mg.draw_dot(y, params=[w1, w2, b], shade_grad=True)


def backprop_steps(path: Path) -> Path:
    """An animated GIF of the neuron's backward: a frame per step, its chain-rule line below."""
    from PIL import Image, ImageDraw, ImageFont

    from micrograd_tw import player

    y = neuron()
    lines = player.film(y).lines
    try:
        font: Any = ImageFont.truetype("DejaVuSans.ttf", 15)  # has ∂ and ×
    except OSError:
        font = ImageFont.load_default()
    frames = []
    for k, line in enumerate(lines):
        picture = Image.open(io.BytesIO(mg.draw_dot(y, step=k).pipe(format="png"))).convert("RGB")
        text = f"step {k}/{len(lines) - 1}:  " + line.replace("; ", "\n")
        canvas = Image.new("RGB", (picture.width, picture.height + 70), "white")
        canvas.paste(picture, (0, 0))
        ImageDraw.Draw(canvas).multiline_text((12, picture.height + 4), text, fill="black", font=font)
        frames.append(canvas.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    durations = [2500] + [1800] * (len(frames) - 2) + [4000]  # linger on the start and the result
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def mlp_graph() -> graphviz.Digraph:
    """A 2-2-1 MLP's loss on one sample, (f(x) − y)², after backward."""
    model = mg.nn.MLP(2, [2, 1], activation="tanh", seed=SEED)
    x = [mg.Value(1.0, label="x1"), mg.Value(-2.0, label="x2")]
    pred = model(x)
    pred.label = "f(x)"
    loss = (pred - 0.5) ** 2
    loss.label = "L"
    loss.backward()
    return mg.draw_dot(loss, model=model)


def mlp_network() -> graphviz.Digraph:
    return mg.draw_network(mg.nn.MLP(2, [3, 3, 1], activation="tanh", seed=SEED))


def _small_loss(run_backward: bool) -> graphviz.Digraph:
    """L = (w·x + b − 1)² at x = 2, w = −1, b = 0.5: z = −1.5, L = 6.25, ∂L/∂w = −10."""
    x, w, b = mg.Value(2.0, label="x"), mg.Value(-1.0, label="w"), mg.Value(0.5, label="b")
    wx = w * x
    wx.label = "w·x"
    z = wx + b
    z.label = "z"
    e = z - 1
    e.label = "z − 1"
    loss = e**2
    loss.label = "L"
    if run_backward:
        loss.backward()
    return mg.draw_dot(loss, params=[w, b])


def backward_before() -> graphviz.Digraph:
    return _small_loss(run_backward=False)


def backward_after() -> graphviz.Digraph:
    return _small_loss(run_backward=True)


PICTURES = {
    "neuron_graph": neuron_graph,
    "mlp_graph": mlp_graph,
    "mlp_network": mlp_network,
    "backward_before": backward_before,
    "backward_after": backward_after,
}


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the pictures (default {OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in PICTURES.items():
        # outfile= writes only the SVG; the DOT source is not kept next to it.
        path = Path(make().render(outfile=args.out / f"{name}.svg", cleanup=True))
        print(f"wrote {path}")
        written.append(path)
    path = backprop_steps(args.out / "backprop_steps.gif")
    print(f"wrote {path}")
    written.append(path)
    return written


if __name__ == "__main__":
    main()
