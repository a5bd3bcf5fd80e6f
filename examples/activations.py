"""The notes' four activation functions φ and their derivatives φ', computed by the engine.

    python examples/activations.py                 # STEPS=11 for a quick run

For each z on a grid, φ(Value(z)).backward() leaves φ'(z) in z.grad: the
derivative is never written by hand here.  Writes examples/out/activations.png.
"""

import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

mg.plotting.setup_script()  # files outside IPython, inline pictures under %run; safe printing

STEPS = int(os.environ.get("STEPS", 401))  # points on each curve
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))

ACTIVATIONS = {  # the notes' formulas
    "ReLU  max(0, z)": mg.functional.relu,
    "sigmoid  1/(1+e^(−z))": mg.functional.sigmoid,
    "tanh  (e^z−e^(−z))/(e^z+e^(−z))": mg.functional.tanh,
    _("Gaussian  e^(−z²)"): mg.functional.gaussian,
}


def value_and_slope(φ, z):
    """φ(z) and φ'(z), the second by backward."""
    v = mg.Value(z)
    out = φ(v)
    out.backward()
    return out.data, v.grad


zs = np.linspace(-4, 4, STEPS)
OUT.mkdir(parents=True, exist_ok=True)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
for ax, (name, φ) in zip(axes, ACTIVATIONS.items()):
    ys, dys = zip(*(value_and_slope(φ, float(z)) for z in zs))
    ax.plot(zs, ys, lw=2, label="φ(z)")
    ax.plot(zs, dys, "--", lw=1.5, label=_("φ'(z) by backward"))
    ax.axhline(0, color="gray", lw=0.5)
    ax.set(title=name, xlabel="z")
    ax.legend(fontsize=8)
    # the name last: its width in a terminal depends on the language
    print(f"φ(1) = {value_and_slope(φ, 1.0)[0]:+.4f}   φ'(1) = {value_and_slope(φ, 1.0)[1]:+.4f}   {name}")
fig.tight_layout()
mg.plotting.show(fig, OUT / "activations.png")
print(_("wrote {path}").format(path=OUT / "activations.png"))

# checks: backward agrees with the textbook derivatives (away from ReLU's kink at 0)
σ = 1 / (1 + math.exp(-0.7))
expected = {"ReLU": 1.0, "sigmoid": σ * (1 - σ), "tanh": 1 - math.tanh(0.7) ** 2,
            "Gaussian": -2 * 0.7 * math.exp(-0.49)}
for (name, φ), want in zip(ACTIVATIONS.items(), expected.values()):
    assert abs(value_and_slope(φ, 0.7)[1] - want) < 1e-12, name
