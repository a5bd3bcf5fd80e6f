"""Formulas typed on the command line, parsed with a whitelist and never ``eval``.

    f = parse("tanh(x*w + b)")
    out = f.evaluate({"x": Value(1.0), "w": Value(-2.0), "b": Value(0.5)})

Allowed: numbers, names, ``+ - * / **``, unary minus (and plus), and calls of
the functions that the op table offers to formulas (``FUNCTIONS``: ``exp log
sqrt relu sigmoid tanh gaussian abs sin cos`` of one argument, ``max min`` of
one or more).  Anything else raises ``FormulaError`` with a one-line
message that quotes the part of the formula that is not allowed.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import engine
from .engine import Value
from .ops import NARY, OPS, Op

__all__ = ["FormulaError", "Formula", "parse", "parse_number", "parse_assignments", "FUNCTIONS"]

MAX_LENGTH = 500  # characters: a formula is typed by hand, and the limit bounds every cost below
MAX_DEPTH = 200  # nesting of the syntax tree (a chain a+b+c+... nests too); evaluation recurses this deep



def _function(row: Op) -> Callable[..., Value]:
    """The row as a function of its arguments' Values (an n-ary op takes them as its list)."""
    if row.arity is NARY:
        nary = getattr(engine, row.python_name)
        return lambda *xs: nary(list(xs))
    return getattr(Value, row.python_name)


# The functions formulas may call, by name: every row of the op table that
# offers itself to formulas (``Op.formula``), so a new row is usable at once.
FUNCTIONS: dict[str, Callable[..., Value]] = {r.formula: _function(r) for r in OPS.values() if r.formula}
_ARITY: dict[str, int | None] = {r.formula: r.arity for r in OPS.values() if r.formula}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
}

# What a refused node is called in the message.
_KINDS: dict[type[ast.AST], str] = {
    ast.Attribute: "an attribute",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment expression",
    ast.Starred: "a starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class FormulaError(ValueError):
    """A formula or a value that cannot be used; the message is one line."""


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())  # one line, whatever the input held
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its source, its tree and its variable names (in order of appearance)."""

    source: str
    tree: ast.expr
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Any]) -> Value:
        """The formula's Value, built from ``values`` (a Value or number per name).

        Parts made of numbers only are folded into constants (as ``x * 2`` keeps
        2 as a constant), so they are not nodes of the graph.  Engine errors
        (log of a negative number, overflow, ...) become ``FormulaError``
        naming the part of the formula that raised.
        """
        missing = [n for n in self.names if n not in values]
        if missing:
            raise FormulaError(f"no value for {', '.join(missing)}")
        out = self._eval(self.tree, values)
        return out if isinstance(out, Value) else Value(out)

    def __call__(self, *args: Any) -> Value:
        """The formula as a function of its variables, in the order of ``names``."""
        if len(args) != len(self.names):
            raise TypeError(f"the formula takes {len(self.names)} values ({', '.join(self.names)})")
        return self.evaluate(dict(zip(self.names, args)))

    def _eval(self, node: ast.expr, values: Mapping[str, Any]) -> Any:
        # Recursion is bounded by MAX_DEPTH, checked in parse().
        if isinstance(node, ast.Constant):
            return node.value  # a float, checked in parse()
        if isinstance(node, ast.Name):
            return values[node.id]
        try:
            if isinstance(node, ast.BinOp):
                a, b = self._eval(node.left, values), self._eval(node.right, values)
                if not isinstance(a, Value) and not isinstance(b, Value):
                    # Numbers only: computed through the engine (its domain checks and
                    # float pow, so 2 ** 10 ** 10 overflows at once), then folded.
                    return _BINARY[type(node.op)](Value(a), b).data
                return _BINARY[type(node.op)](a, b)
            if isinstance(node, ast.UnaryOp):
                return _UNARY[type(node.op)](self._eval(node.operand, values))
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name)
                args = [self._eval(a, values) for a in node.args]
                if any(isinstance(a, Value) for a in args):
                    return FUNCTIONS[node.func.id](*args)
                return FUNCTIONS[node.func.id](*[Value(a) for a in args]).data
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            if isinstance(e, FormulaError):
                raise
            part = ast.get_source_segment(self.source, node) or ast.unparse(node)
            raise FormulaError(f"in {_clip(part)!r}: {e}") from None
        raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() lets no other node through


def parse(source: str) -> Formula:
    """Parse and check a formula; ``FormulaError`` says what is not allowed and where."""
    if not isinstance(source, str):
        raise FormulaError(f"a formula must be a str, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(source)} characters long; the limit is {MAX_LENGTH}")
    # A formula is one expression on one line: line breaks become spaces.
    source = " ".join(source.splitlines()).strip()
    if not source:
        raise FormulaError("the formula is empty")
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise FormulaError(f"not a formula{where}: {e.msg}") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes; pathological nesting
        raise FormulaError(f"not a formula: {_clip(str(e)) or type(e).__name__}") from None
    names: dict[str, int] = {}
    # An explicit stack, depth checked before anything recurses.
    stack: list[tuple[ast.expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"the formula is nested more than {MAX_DEPTH} levels deep "
                "(each operator or function applied to a result adds a level)"
            )
        stack.extend((child, depth + 1) for child in _check_node(node, source, names))
    return Formula(source, tree, tuple(sorted(names, key=names.__getitem__)))


def _check_node(node: ast.expr, source: str, names: dict[str, int]) -> list[ast.expr]:
    """Check one node; return the children to check next.  Records variable names."""

    def refuse(what: str, at: ast.expr = node) -> FormulaError:
        part = ast.get_source_segment(source, at) or ast.unparse(at)
        # ast counts columns in UTF-8 bytes; people count characters (權重 is 2, not 6)
        line = source.splitlines()[at.lineno - 1] if source.strip() else ""
        column = len(line.encode()[: at.col_offset].decode(errors="replace")) + 1
        return FormulaError(f"{what} at column {column}: {_clip(part)!r}")

    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                      ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}
            raise refuse(f"the operator {symbol.get(type(node.op), type(node.op).__name__)} is not allowed")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise refuse(f"the operator {'not' if isinstance(node.op, ast.Not) else '~'} is not allowed")
        return [node.operand]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else f"the constant {value!r}"
            raise refuse(f"{kind} is not allowed")
        try:
            node.value = float(value)  # ints too: Python's int ** int would not overflow, it would hang
        except OverflowError:
            raise refuse("a number too large for a float") from None
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise refuse(f"{node.id} is a function, call it as {node.id}(...)")
        # Names are kept in order of appearance in the text (the walk is not in that order).
        names[node.id] = min(names.get(node.id, node.col_offset), node.col_offset)
        return []
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            func_kind = _KINDS.get(type(node.func))
            if func_kind:  # os.system(...): point at the attribute
                raise refuse(f"{func_kind} is not allowed", node.func)
            raise refuse("only a function name can be called")
        if node.func.id not in FUNCTIONS:
            raise refuse(f"unknown function {node.func.id!r} (known: {', '.join(FUNCTIONS)})")
        if _ARITY[node.func.id] is NARY:
            if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
                raise refuse(f"{node.func.id}() takes one or more arguments, such as {node.func.id}(0, x)")
        elif node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise refuse(f"{node.func.id}() takes exactly one argument")
        return list(node.args)  # the function's name is not a variable
    raise refuse(f"{_KINDS.get(type(node), type(node).__name__)} is not allowed")


# ------------------------------------------------------------- values: x=1.5


def parse_number(name: str, text: str) -> float:
    """A finite decimal number such as ``1``, ``-2.5`` or ``1e-3``.

    ``nan`` and ``inf`` are refused: derivatives at a non-finite point mean
    nothing, and a central difference there is NaN.  So are ``1_000`` and
    other spellings Python's float() accepts but a formula reader would not expect.
    """
    if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
        raise FormulaError(f"{name}={_clip(text)}: nan and inf are refused, a derivative there means nothing")
    if not _NUMBER.fullmatch(text):
        shown = repr(text) if text else "nothing"
        example = f"{name}=1, {name}=-2.5 or {name}=1e-3"
        raise FormulaError(f"{name}= needs a number such as {example}, got {shown}")
    value = float(text)
    if not math.isfinite(value):
        raise FormulaError(f"{name}={_clip(text)} is beyond the float range")
    return value


def parse_assignments(items: list[str], formula: Formula) -> dict[str, float]:
    """``["x=1", "w=-2"]`` as ``{"x": 1.0, "w": -2.0}``, matched against the formula's names."""
    values: dict[str, float] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = unicodedata.normalize("NFKC", name.strip())  # as Python normalises the formula's names
        if not eq:
            raise FormulaError(f"expected NAME=NUMBER, got {_clip(item)!r}")
        if not name.isidentifier():
            raise FormulaError(f"{_clip(name)!r} in {_clip(item)!r} is not a variable name")
        if name in values:
            raise FormulaError(f"{name} is given twice")
        if name not in formula.names:
            known = ", ".join(formula.names) or "none"
            raise FormulaError(f"{name} is not in the formula (its variables: {known})")
        values[name] = parse_number(name, text.strip())
    missing = [n for n in formula.names if n not in values]
    if missing:
        raise FormulaError("no value for " + ", ".join(missing) + f"; give it as {missing[0]}=NUMBER")
    return values
