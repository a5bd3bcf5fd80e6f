"""Two moons: binary classification with a 2 → 16 → 16 → 1 network, as in micrograd's demo.

    python examples/moons.py                       # STEPS=3 for a quick run

The label is y = ±1 and the loss the hinge (SVM) loss  max(0, 1 − y·f(x)),
plus a little L2 on the weights; SGD with momentum, η decaying over the run.
Writes examples/out/moons.png: the decision boundary and the loss curve.
"""

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 100))  # training steps
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
η0 = 0.1  # the first learning rate (momentum 0.9); η = η0 · (1 − 0.9 step/STEPS)
λ = 1e-4  # L2 weight: λ Σ w²
GRID = 40

X, labels = mg.data.make_moons(100, noise=0.1, seed=0)
Y = 2 * labels - 1  # classes 0/1 as targets −1/+1
model = mg.nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
opt = mg.optim.SGD(model.parameters(), lr=η0, momentum=0.9)
print(model)

losses = []
for step in range(STEPS):
    scores = [model(list(x)) for x in X]
    hinge = mg.sum([(1 - y * s).relu() for y, s in zip(Y, scores)]) / len(X)
    loss = hinge + λ * mg.sum([p * p for p in model.parameters()])
    opt.zero_grad()
    loss.backward()
    opt.lr = η0 * (1 - 0.9 * step / STEPS)  # learning-rate decay
    opt.step()
    losses.append(loss.data)
    if step % max(1, STEPS // 10) == 0 or step == STEPS - 1:
        accuracy = np.mean([(s.data > 0) == (y > 0) for s, y in zip(scores, Y)])
        print(_("step {step}  loss {loss}  accuracy {accuracy}").format(
            step=f"{step:4d}", loss=f"{loss.data:.4f}", accuracy=f"{accuracy:.0%}"))

lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
with mg.no_grad():
    Z = np.array([model([u, v]).data for u, v in zip(g1.ravel(), g2.ravel())]).reshape(g1.shape)

OUT.mkdir(parents=True, exist_ok=True)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
ax.contourf(g1, g2, Z > 0, levels=[-0.5, 0.5, 1.5], colors=["#fecaca", "#bfdbfe"], alpha=0.8)
ax.contour(g1, g2, Z, levels=[0.0], colors="black", linewidths=1)
ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=matplotlib.colors.ListedColormap(["#dc2626", "#2563eb"]),
           edgecolors="black", s=25)
ax.set(title=_("decision boundary f(x) = 0"), xlabel="x1", ylabel="x2")
ax2.plot(losses)
ax2.set(title=_("loss"), xlabel=_("step"), ylabel="hinge + L2")
fig.tight_layout()
mg.plotting.show(fig, OUT / "moons.png")
print(_("wrote {path}").format(path=OUT / "moons.png"))

assert losses[-1] < losses[0], "the loss did not go down"
