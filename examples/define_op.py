"""Your own op: softplus(x) = ln(1 + eˣ), defined once with mg.ops.define, then used everywhere.

    python examples/define_op.py                   # STEPS=3 for a quick run

define() takes the op's name, its forward (the value from numbers) and its
partials (∂out/∂x from the operand and the output): softplus' derivative is
the sigmoid.  The op then works in backward, in pictures, in mg.compile and
in gradcheck, like the built-in ones.  Written with numpy, forward and
partials run on whole arrays too, which mg.compile needs.  Trains one neuron
with softplus as its activation on y = 2x + 1, draws its graph and ends with a
gradient check.  Writes examples/out/define_op.svg (.dot without Graphviz).
"""

import os
from pathlib import Path

import numpy as np

import micrograd_tw as mg

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 200))  # gradient-descent steps
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
FORMAT = "svg" if mg.viz.find_renderer() else "dot"  # without any Graphviz, write DOT source

softplus = mg.ops.define(
    "softplus",
    lambda x: np.logaddexp(0.0, x),  # ln(1 + eˣ), without overflow for large x
    lambda x, out: 1.0 / (1.0 + np.exp(-x)),  # ∂softplus/∂x = σ(x)
)

# One neuron, φ(w·x + b) with φ = softplus, learns y = 2x + 1 on x ≥ 0 (where the target is positive).
neuron = mg.nn.Neuron(1, activation=softplus, seed=0)
xs = [0.0, 0.5, 1.0, 1.5, 2.0]
ys = [2 * x + 1 for x in xs]
opt = mg.optim.SGD(neuron.parameters(), lr=0.05)
for _ in range(STEPS):
    loss = mg.functional.mse_loss([neuron([x]) for x in xs], ys)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"after {STEPS} steps: loss {loss.data:.5f}, w = {neuron.w[0].data:.3f}, b = {neuron.b.data:.3f}")

# The same loss with mg.compile: softplus runs on numpy arrays (its row has no kernel of its own).
fast = mg.compile(lambda x, y: (neuron([x]) - y) ** 2)
eager = mg.functional.mse_loss([neuron([x]) for x in xs], ys).data
assert abs(fast(xs, ys).mean() - eager) < 1e-12
print(f"mg.compile agrees: mean squared error {fast(xs, ys).mean():.5f} over the batch")

# The picture: the op node is labelled with the op's name.
x = mg.Value(1.0, label="x")
y = neuron([x])
y.label = "y"
y.backward()
OUT.mkdir(parents=True, exist_ok=True)
graph = mg.draw_dot(y)
path = OUT / f"define_op.{FORMAT}"
if FORMAT == "dot":
    path.write_text(graph.source, encoding="utf-8")
else:
    path.write_bytes(graph.pipe(format=FORMAT))
print(f"wrote {path}")

# And the check every new op deserves: backprop against central differences.
assert mg.gradcheck(lambda w, b, x: softplus(w * x + b), [0.8, -0.3, 1.5])
print("gradcheck: softplus' partials match finite differences")
