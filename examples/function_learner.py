"""The notes' 函數學習機: 2 inputs → 3 neurons → 1 output learns y = x1·x2.

    python examples/function_learner.py            # STEPS=5 for a quick run

Each step computes the notes' loss  L(θ) = 1/(2k) Σᵢ ||yᵢ − f_θ(xᵢ)||²,
runs backward() for every ∂L/∂w, and moves each parameter downhill:
w ← w − η ∂L/∂w.  Writes examples/out/function_learner.png (the loss curve).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 500))  # gradient-descent steps
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
η = 0.5  # learning rate η in  w ← w − η ∂L/∂w
k = 40  # number of samples (xᵢ, yᵢ)

# k samples of the function to learn: inputs x = (x1, x2) in [-1, 1]², target y = x1·x2
rng = np.random.default_rng(0)
X = rng.uniform(-1.0, 1.0, size=(k, 2))
Y = X[:, 0] * X[:, 1]

# 2 inputs → a layer of 3 tanh neurons → 1 linear output neuron
f = mg.nn.MLP(2, [3, 1], activation="tanh", seed=0)
θ = f.parameters()  # θ = {wᵢ, b}: 3·(2+1) + (3+1) = 13 numbers to learn
print(_("{model}: {count} parameters θ").format(model=f, count=len(θ)))

losses = []
for step in range(STEPS):
    # the notes' loss, written out: L(θ) = 1/(2k) Σ (yᵢ − f(xᵢ))²
    L = mg.sum([(y - f(list(x))) ** 2 for x, y in zip(X, Y)]) / (2 * k)

    for w in θ:  # ∂L/∂w accumulates in .grad, so clear it first
        w.grad = 0.0
    L.backward()
    with mg.no_grad():  # the update is not part of the graph
        for w in θ:
            w.data -= η * w.grad  # w ← w − η ∂L/∂w

    losses.append(L.data)
    if step % max(1, STEPS // 10) == 0 or step == STEPS - 1:
        print(_("step {step}  L(θ) = {loss}").format(step=f"{step:4d}", loss=f"{L.data:.6f}"))

# the same loss from the library: mse_loss's "half" reduction is the notes' 1/(2k)
check = mg.functional.mse_loss([f(list(x)) for x in X], list(Y), reduction="half")
print(f"mse_loss(reduction='half') = {check.data:.6f}")

for x1, x2 in [(0.5, 0.5), (-0.8, 0.6), (0.9, -0.9)]:
    print(f"f({x1:+.1f}, {x2:+.1f}) = {f([x1, x2]).data:+.3f}   (x1·x2 = {x1 * x2:+.3f})")

OUT.mkdir(parents=True, exist_ok=True)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(1, len(losses) + 1), losses)
ax.set(xlabel=_("step"), ylabel="L(θ)", yscale="log",
       title=_("function learner 2 → 3 → 1 learning y = x1·x2"))
fig.tight_layout()
mg.plotting.show(fig, OUT / "function_learner.png")
print(_("wrote {path}").format(path=OUT / "function_learner.png"))

# checks: training lowered the loss
assert losses[-1] < losses[0], "the loss did not go down"
