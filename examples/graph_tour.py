"""One neuron's computation graph before and after backward(), backward step by step, and a network diagram.

    python examples/graph_tour.py

A neuron is the notes' three steps: 總刺激 Σ wᵢxᵢ (one "dot" node), + b (偏值),
then the activation φ.  Before backward every grad is 0; after it, each box
shows ∂y/∂(that value).  In between, backward.html steps through backward one
node at a time (open it in a browser; ← → step).  Writes, in examples/out/:
graph_before.svg, graph_after.svg, backward.html and network.svg (or .dot files
and a hint without Graphviz).
"""

import math
import os
from pathlib import Path

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts (and the graphs' captions) in English or 繁體中文

INLINE = mg.plotting.setup_script()  # inside IPython (%run), the graphs are drawn inline too
STEPS = int(os.environ.get("STEPS", 1))  # nothing to train here; kept for the tests' uniform runner
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
# Graphviz's dot or graphviz-pure draws SVG; with neither, write DOT source.
FORMAT = "svg" if mg.viz.find_renderer() else "dot"


def save(graph, name):
    path = OUT / f"{name}.{FORMAT}"
    if FORMAT == "dot":
        path.write_text(graph.source, encoding="utf-8")
    else:
        path.write_bytes(graph.pipe(format=FORMAT))
        if INLINE:
            from IPython.display import display

            display(graph)
    print(_("wrote {path}").format(path=path))


OUT.mkdir(parents=True, exist_ok=True)
neuron = mg.nn.Neuron(2, activation="tanh", seed=0)
x = [mg.Value(1.0, label="x1"), mg.Value(-2.0, label="x2")]
y = neuron(x)  # φ(w1·x1 + w2·x2 + b)
y.label = "y"

save(mg.draw_dot(y, model=neuron), "graph_before")  # every grad is still 0
y.backward()
save(mg.draw_dot(y, model=neuron), "graph_after")  # now each box holds ∂y/∂(value)

# backward, one node at a time: what each node sends to its parents (the chain rule)
def name(v):
    return v.label or f"({v.op})"  # the neuron's inner nodes have no label: its op names them


steps = mg.backward_steps(y)
for step in steps:
    for parent, local, amount in step.contributions:
        product = f"{local:.4f} × {step.grad:.4f} = {amount:+.4f}"
        print(f"  {name(step.node)} sends ∂y/∂{name(parent)} += {product}")
if FORMAT == "svg":
    print(f"wrote {mg.viz.save_steps_html(y, OUT / 'backward.html')}")

w1, w2 = neuron.w
print(f"y = {y.data:.4f}")
for v in (w1, w2, neuron.b, *x):
    print(f"∂y/∂{v.label} = {v.grad:+.4f}")

# the network of the notes' function learner: 2 inputs → 3 neurons → 1 output
save(mg.draw_network(mg.nn.MLP(2, [3, 1], activation="tanh", seed=0)), "network")

# checks: the chain rule by hand, ∂y/∂w1 = φ'(z)·x1 = (1 − y²)·x1, ∂y/∂x2 = (1 − y²)·w2
assert math.isclose(w1.grad, (1 - y.data**2) * 1.0, rel_tol=1e-12)
assert math.isclose(x[1].grad, (1 - y.data**2) * w2.data, rel_tol=1e-12)
# the steps' amounts add up to exactly what backward() put in each grad
for v in (w1, w2, neuron.b, *x):
    assert sum(c.amount for s in steps for c in s.contributions if c.parent is v) == v.grad
if FORMAT == "dot":
    print(_("hint: pip install graphviz-pure, or install Graphviz (apt install graphviz / "
            "brew install graphviz), to get SVG pictures"))
