"""Three classes on a spiral: scores → softmax → cross-entropy, and the decision regions.

    python examples/softmax_classifier.py          # STEPS=3 for a quick run

The network gives each point three scores (a, b, c).  softmax turns them into
p1, p2, p3 with the same order and p1 + p2 + p3 = 1 (the notes' e^a/S, e^b/S,
e^c/S with S = e^a + e^b + e^c); the loss is −log of the right class's p.
Writes examples/out/softmax_classifier.png.
"""

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 150))  # training steps
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
η = 0.05  # Adam's learning rate
n = 90  # points, 30 per class
GRID = 40  # the decision regions are evaluated on GRID × GRID points

X, y = mg.data.make_spiral(n, classes=3, noise=0.1, seed=0)
model = mg.nn.MLP(2, [16, 16, 3], activation="relu", seed=1)  # three scores per point
opt = mg.optim.Adam(model.parameters(), lr=η)

# softmax by hand once, as the notes define it
a, b, c = model(list(X[0]))
S = a.exp() + b.exp() + c.exp()
p_by_hand = [a.exp() / S, b.exp() / S, c.exp() / S]
p = mg.functional.softmax([a, b, c])
print(_("softmax of {scores} = {probabilities}").format(
    scores=[round(v.data, 3) for v in (a, b, c)], probabilities=[round(v.data, 3) for v in p]))
assert all(abs(u.data - v.data) < 1e-12 for u, v in zip(p, p_by_hand))

losses = []
for step in range(STEPS):
    scores = [model(list(x)) for x in X]
    loss = mg.functional.cross_entropy(scores, [int(t) for t in y])  # mean of −log p[class]
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.data)
    if step % max(1, STEPS // 10) == 0 or step == STEPS - 1:
        accuracy = np.mean([np.argmax([v.data for v in s]) == t for s, t in zip(scores, y)])
        print(_("step {step}  loss {loss}  accuracy {accuracy}").format(
            step=f"{step:4d}", loss=f"{loss.data:.4f}", accuracy=f"{accuracy:.0%}"))

# decision regions: the most likely class at every grid point (no graph needed: no_grad)
lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
with mg.no_grad():
    region = np.array([
        int(np.argmax([s.data for s in model([u, v])])) for u, v in zip(g1.ravel(), g2.ravel())
    ]).reshape(g1.shape)

OUT.mkdir(parents=True, exist_ok=True)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
ax.contourf(g1, g2, region, levels=[-0.5, 0.5, 1.5, 2.5], colors=["#bfdbfe", "#fde68a", "#bbf7d0"])
ax.scatter(X[:, 0], X[:, 1], c=y, cmap=matplotlib.colors.ListedColormap(["#2563eb", "#d97706", "#16a34a"]),
           edgecolors="black", s=25)
ax.set(title=_("decision regions (argmax of softmax)"), xlabel="x1", ylabel="x2")
ax2.plot(losses)
ax2.set(title=_("cross-entropy loss"), xlabel=_("step"), ylabel=_("loss"))
fig.tight_layout()
mg.plotting.show(fig, OUT / "softmax_classifier.png")
print(_("wrote {path}").format(path=OUT / "softmax_classifier.png"))

assert losses[-1] < losses[0], "the loss did not go down"
