"""micrograd_tw: a scalar autograd engine with a computation graph, for learning and small experiments.

    import micrograd_tw as mg
    x = mg.Value(2.0, label="x")
    y = (x * -3.0 + 1).tanh()
    y.backward()            # dy/dx lands in x.grad
"""

from typing import TYPE_CHECKING, Any

from . import functional, nn, ops, optim
from .engine import (
    Value,
    detect_anomaly,
    dot,
    enable_grad,
    gather,
    grad,
    is_grad_enabled,
    max,
    min,
    no_grad,
    sum,
    toposort,
    zero_grad,
)
from .gradcheck import gradcheck, numerical_grad
from .steps import backward_steps, forward_steps
from .viz import draw_dot, draw_network

if TYPE_CHECKING:
    from . import data, plotting
    from .compiler import compile

__version__ = "0.1.0"

# mg.data and mg.compile need numpy, which takes longer to import than the rest
# of the package together; they are loaded on first use (PEP 562).
_LAZY = {"data": ("micrograd_tw.data", None), "compile": ("micrograd_tw.compiler", "compile"),
         "plotting": ("micrograd_tw.plotting", None)}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'micrograd_tw' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups find it directly
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Value", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "grad", "sum", "dot", "max", "min", "gather", "zero_grad", "toposort", "ops",
    "functional", "gradcheck", "numerical_grad",
    "nn", "optim", "data", "plotting",
    "draw_dot", "draw_network", "compile", "backward_steps", "forward_steps",
]
