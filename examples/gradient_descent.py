"""Gradient descent on one weight: L(w), its tangent L'(a), and the steps a − η L'(a).

    python examples/gradient_descent.py            # STEPS=3 for a quick run

The engine gives the slope: L(Value(a)).backward() puts L'(a) in a.grad.
Three learning rates from the same start: a small η crawls, a good η
arrives, and a too-large η overshoots further at every step and diverges.
Writes examples/out/gradient_descent.png.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import N_, _  # printouts and plot labels in English or 繁體中文

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 8))  # steps a ← a − η L'(a) for each η
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
A0 = -1.0  # the starting weight a
ETAS = {N_("small η"): 0.05, N_("good η"): 0.3, N_("too-large η"): 1.05}  # shown as _(name)


def L(w):
    """The loss as a function of one weight: lowest at w = 2."""
    return (w - 2) ** 2 + 0.5


def slope(a):
    """L'(a) by backward: the tangent's slope at w = a."""
    w = mg.Value(a, label="w")
    L(w).backward()
    return w.grad


paths = {}
for name, η in ETAS.items():
    a, path = A0, [A0]
    for _step in range(STEPS):
        a = a - η * slope(a)  # the notes' step: a − η L'(a)
        path.append(a)
    paths[name] = path
    shown = " → ".join(f"{p:.3f}" for p in path[:6]) + (" ..." if STEPS > 5 else "")
    print(f"{_(name):12s} η = {η:<5} w: {shown}")

OUT.mkdir(parents=True, exist_ok=True)
ws = np.linspace(-3, 7, 200)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
for ax, (name, path) in zip(axes, paths.items()):
    ax.plot(ws, [L(w) for w in ws], color="black", lw=1.5, label="L(w)")
    s = slope(A0)  # the tangent at the start: L(a) + L'(a)(w − a)
    tangent = _("tangent at a={a}, L'(a)={slope}").format(a=f"{A0:g}", slope=f"{s:g}")
    ax.plot(ws, L(A0) + s * (ws - A0), "--", color="gray", lw=1, label=tangent)
    shown = [p for p in path if -3 <= p <= 7]
    ax.plot(shown, [L(p) for p in shown], "o-", color="tab:red", ms=4, lw=1, label="a − η L'(a)")
    ax.set(title=f"{_(name)}: η = {ETAS[name]}", xlabel="w", ylim=(-1, 30))
    ax.legend(fontsize=7, loc="upper center")
axes[0].set_ylabel("L(w)")
fig.tight_layout()
mg.plotting.show(fig, OUT / "gradient_descent.png")
print(_("wrote {path}").format(path=OUT / "gradient_descent.png"))

# checks: backward's slope is L'(a) = 2(a − 2); the good η gets closest; the too-large one diverges
assert all(abs(slope(a) - 2 * (a - 2)) < 1e-12 for a in (-1.0, 0.5, 3.0))
distance = {name: abs(path[-1] - 2) for name, path in paths.items()}
assert distance["good η"] < distance["small η"] < abs(A0 - 2) < distance["too-large η"]
