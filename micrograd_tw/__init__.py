"""micrograd_tw: a scalar autograd engine with a computation graph, for learning and small experiments.

    import micrograd_tw as mg
    x = mg.Value(2.0, label="x")
    y = (x * -3.0 + 1).tanh()
    y.backward()            # dy/dx lands in x.grad
"""

from . import data, functional, nn, optim
from .engine import (
    Value,
    detect_anomaly,
    dot,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    sum,
    toposort,
    zero_grad,
)
from .gradcheck import gradcheck, numerical_grad
from .viz import draw_dot, draw_network

__version__ = "0.1.0"

__all__ = [
    "Value", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "grad", "sum", "dot", "zero_grad", "toposort",
    "functional", "gradcheck", "numerical_grad",
    "nn", "optim", "data",
    "draw_dot", "draw_network",
]
