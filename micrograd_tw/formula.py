"""Formulas typed on the command line, parsed with a whitelist and never ``eval``.

    f = parse("tanh(x*w + b)")
    out = f.evaluate({"x": Value(1.0), "w": Value(-2.0), "b": Value(0.5)})

Allowed: numbers, names, ``+ - * / **``, unary minus (and plus), and calls of
the functions that the op table offers to formulas (``FUNCTIONS``: ``exp log
sqrt relu sigmoid tanh gaussian abs sin cos`` of one argument, ``max min`` of
one or more).  Anything else raises ``FormulaError`` with a one-line
message that quotes the part of the formula that is not allowed.  The
messages are the command line's, so they are in the user's language (i18n).
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
from .engine import Value, grad
from .i18n import N_, _
from .ops import NARY, OPS, Op

__all__ = ["FormulaError", "Formula", "Kink", "parse", "parse_number", "parse_assignments", "FUNCTIONS"]

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

# What a refused node is called in the message (translated when the message is made).
_KINDS: dict[type[ast.AST], str] = {
    ast.Attribute: N_("an attribute"),
    ast.Subscript: N_("a subscript"),
    ast.Lambda: N_("a lambda"),
    ast.Compare: N_("a comparison"),
    ast.BoolOp: N_("a boolean operator"),
    ast.IfExp: N_("a conditional expression"),
    ast.List: N_("a list"),
    ast.Tuple: N_("a tuple"),
    ast.Set: N_("a set"),
    ast.Dict: N_("a dict"),
    ast.ListComp: N_("a comprehension"),
    ast.SetComp: N_("a comprehension"),
    ast.DictComp: N_("a comprehension"),
    ast.GeneratorExp: N_("a generator expression"),
    ast.JoinedStr: N_("an f-string"),
    ast.NamedExpr: N_("an assignment expression"),
    ast.Starred: N_("a starred expression"),
    ast.Await: N_("await"),
    ast.Yield: N_("yield"),
    ast.YieldFrom: N_("yield"),
    ast.Slice: N_("a slice"),
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class FormulaError(ValueError):
    """A formula or a value that cannot be used; the message is one line.

    ``source`` and ``column`` (1-based, in characters) say where in the formula
    the problem is, when it is at one place (the message says the column too).
    """

    def __init__(self, message: str, source: str | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.column = column


def _char_column(source: str, byte_offset: int) -> int:
    """ast counts columns in UTF-8 bytes; people count characters (權重 is 2, not 6)."""
    return len(source.encode()[:byte_offset].decode(errors="replace")) + 1


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
        naming the part of the formula that raised, and so does a part whose
        value leaves the float range (``x * 1e308 * 10`` at x = 1).
        """
        missing = [n for n in self.names if n not in values]
        if missing:
            raise FormulaError(_("no value for {names}").format(names=", ".join(missing)))
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
            value = values[node.id]
            if not math.isfinite(value.data if isinstance(value, Value) else value):
                raise FormulaError(_("{name} = {value}: a formula is evaluated at finite numbers").format(
                    name=node.id, value=value))
            return value
        result = self._apply(node, values)
        data = result.data if isinstance(result, Value) else result
        if not math.isfinite(data):
            # Its operands were finite (or the part below would have said so): this part overflowed.
            part = ast.get_source_segment(self.source, node) or ast.unparse(node)
            message = _("in {part}: the value {value} is beyond the float range at this point")
            raise FormulaError(message.format(part=repr(_clip(part)), value=data))
        return result

    def _apply(self, node: ast.expr, values: Mapping[str, Any]) -> Any:
        """One operator or function call of the formula, on its evaluated operands."""
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
            raise FormulaError(_("in {part}: {reason}").format(part=repr(_clip(part)), reason=e)) from None
        raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() lets no other node through


    def kinks(self, values: Mapping[str, float], step: float) -> list[Kink]:
        """The function calls that sit at (or within ``step`` of) a kink at these values.

        A kink (不可微點) is a point where a function's one-sided derivatives
        differ, as relu and abs at 0: there a central difference measures
        neither side, so it cannot check backward.  Found from each call's own
        function, by the jump of its derivative across the point; a jump that
        does not shrink with the step is a kink, a smooth bend's does.
        """
        found = []
        stack = [self.tree]
        while stack:
            node = stack.pop()
            stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1):
                continue
            function = FUNCTIONS.get(node.func.id)
            if function is None:
                continue
            at = self._eval(node.args[0], values)
            at = at.data if isinstance(at, Value) else at
            wide, narrow = _slopes(function, at, step), _slopes(function, at, step / 8)
            if wide is None or narrow is None:
                continue
            jump_wide, jump_narrow = wide[1] - wide[0], narrow[1] - narrow[0]
            scale = 1.0 + abs(narrow[0]) + abs(narrow[1])
            if abs(jump_wide) > 1e-9 * scale and abs(jump_narrow) > 0.5 * abs(jump_wide):
                part = ast.get_source_segment(self.source, node) or ast.unparse(node)
                found.append(Kink(_clip(part), node.func.id, at, narrow[0], narrow[1]))
        return found


@dataclass(frozen=True)
class Kink:
    """A call ``part`` of ``function`` at ``at``, where its slope jumps from ``left`` to ``right``."""

    part: str
    function: str
    at: float
    left: float
    right: float


def _slopes(function: Callable[[Value], Value], at: float, h: float) -> tuple[float, float] | None:
    """The function's derivative a step ``h`` left and right of ``at``; None outside its domain."""
    slopes = []
    for x in (at - h, at + h):
        leaf = Value(x)
        try:
            (slope,) = grad(function(leaf), [leaf])
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        if not math.isfinite(slope):
            return None
        slopes.append(float(slope))
    return slopes[0], slopes[1]


def parse(source: str) -> Formula:
    """Parse and check a formula; ``FormulaError`` says what is not allowed and where."""
    if not isinstance(source, str):
        raise FormulaError(_("a formula must be a str, got {type}").format(type=type(source).__name__))
    if len(source) > MAX_LENGTH:
        raise FormulaError(_("the formula is {length} characters long; the limit is {limit}").format(
            length=len(source), limit=MAX_LENGTH))
    # A formula is one expression on one line: line breaks become spaces.
    source = " ".join(source.splitlines()).strip()
    if not source:
        raise FormulaError(_("the formula is empty"))
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as e:
        raise _syntax_error(source, e) from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes; pathological nesting
        reason = _clip(str(e)) or type(e).__name__
        raise FormulaError(_("not a formula: {reason}").format(reason=reason)) from None
    names: dict[str, int] = {}
    # An explicit stack, depth checked before anything recurses.
    stack: list[tuple[ast.expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(
                _("the formula is nested more than {limit} levels deep "
                  "(each operator or function applied to a result adds a level)").format(limit=MAX_DEPTH)
            )
        stack.extend((child, depth + 1) for child in _check_node(node, source, names))
    return Formula(source, tree, tuple(sorted(names, key=names.__getitem__)))


_OPERATOR_SYMBOLS: dict[type[ast.operator], str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
    ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
}


def _syntax_error(source: str, e: SyntaxError) -> FormulaError:
    """Python's SyntaxError in a formula's terms, with the column it points at."""
    offset = e.offset or 0  # in characters, 1-based; 0 when the text ended too early
    if (offset < 1 or offset > len(source)) and e.msg != "invalid syntax":
        return FormulaError(_("not a formula: {reason}").format(reason=_clip(e.msg)))  # e.g. a null byte
    if offset < 1 or offset > len(source):
        last = source.rstrip()[-1:]
        what = (_("nothing follows {symbol}").format(symbol=repr(last)) if last in "+-*/("
                else _("the formula ends too early"))
        return FormulaError(_("not a formula: {reason} at column {column}").format(
            reason=what, column=len(source) + 1), source, len(source) + 1)
    message = e.msg  # Python's own words (English, as its other messages)
    if message == "invalid syntax":
        message = _("invalid syntax at {symbol}").format(symbol=repr(source[offset - 1]))
    return FormulaError(_("not a formula: {reason} at column {column}").format(reason=message, column=offset),
                        source, offset)


def _check_node(node: ast.expr, source: str, names: dict[str, int]) -> list[ast.expr]:
    """Check one node; return the children to check next.  Records variable names."""

    def refuse(what: str, at: ast.expr = node, column: int | None = None) -> FormulaError:
        part = ast.get_source_segment(source, at) or ast.unparse(at)
        if column is None:
            column = _char_column(source, at.col_offset)  # one line: parse() joined the lines
        return FormulaError(_("{what} at column {column}: {part}").format(
            what=what, column=column, part=repr(_clip(part))), source, column)

    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            # Point at the operator itself: it stands between the operands (after any ')').
            between = source.encode()[node.left.end_col_offset or 0 : node.right.col_offset].decode()
            at = (node.left.end_col_offset or 0) + len(between[: max(between.find(symbol), 0)].encode())
            hint = ""
            if isinstance(node.op, ast.BitXor):
                left = ast.get_source_segment(source, node.left) or ast.unparse(node.left)
                right = ast.get_source_segment(source, node.right) or ast.unparse(node.right)
                power = f"{_clip(left, 20)}**{_clip(right, 20)}"
                hint = _(" (powers are written **: {power})").format(power=power)
            raise refuse(_("the operator {symbol} is not allowed{hint}").format(symbol=symbol, hint=hint),
                         column=_char_column(source, at))
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            symbol = "not" if isinstance(node.op, ast.Not) else "~"
            raise refuse(_("the operator {symbol} is not allowed{hint}").format(symbol=symbol, hint=""))
        return [node.operand]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = _("a string") if isinstance(value, (str, bytes)) else _("the constant {value}").format(
                value=repr(value))
            raise refuse(_("{kind} is not allowed").format(kind=kind))
        try:
            node.value = float(value)  # ints too: Python's int ** int would not overflow, it would hang
        except OverflowError:
            raise refuse(_("a number too large for a float")) from None
        if not math.isfinite(node.value):  # 1e999 reads as inf
            raise refuse(_("a number beyond the float range")) from None
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise refuse(_("{name} is a function, call it as {name}(...)").format(name=node.id))
        # Names are kept in order of appearance in the text (the walk is not in that order).
        names[node.id] = min(names.get(node.id, node.col_offset), node.col_offset)
        return []
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            func_kind = _KINDS.get(type(node.func))
            if func_kind:  # os.system(...): point at the attribute
                raise refuse(_("{kind} is not allowed").format(kind=_(func_kind)), node.func)
            raise refuse(_("only a function name can be called"))
        if node.func.id not in FUNCTIONS:
            raise refuse(_("unknown function {name} (known: {functions})").format(
                name=repr(node.func.id), functions=", ".join(FUNCTIONS)))
        if _ARITY[node.func.id] is NARY:
            if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
                message = _("{name}() takes one or more arguments, such as {name}(0, x)")
                raise refuse(message.format(name=node.func.id))
        elif node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise refuse(_("{name}() takes exactly one argument").format(name=node.func.id))
        return list(node.args)  # the function's name is not a variable
    kind = _(_KINDS[type(node)]) if type(node) in _KINDS else type(node).__name__
    raise refuse(_("{kind} is not allowed").format(kind=kind))


# ------------------------------------------------------------- values: x=1.5


def parse_number(name: str, text: str) -> float:
    """A finite decimal number such as ``1``, ``-2.5`` or ``1e-3``.

    ``nan`` and ``inf`` are refused: derivatives at a non-finite point mean
    nothing, and a central difference there is NaN.  So are ``1_000`` and
    other spellings Python's float() accepts but a formula reader would not expect.
    """
    if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
        message = _("{name}={text}: nan and inf are refused, a derivative there means nothing")
        raise FormulaError(message.format(name=name, text=_clip(text)))
    if not _NUMBER.fullmatch(text):
        shown = repr(text) if text else _("nothing")
        raise FormulaError(_("{name}= needs a number such as {name}=1, {name}=-2.5 or {name}=1e-3, "
                             "got {text}").format(name=name, text=shown))
    value = float(text)
    if not math.isfinite(value):
        raise FormulaError(_("{name}={text} is beyond the float range").format(name=name, text=_clip(text)))
    return value


def parse_assignments(items: list[str], formula: Formula) -> dict[str, float]:
    """``["x=1", "w=-2"]`` as ``{"x": 1.0, "w": -2.0}``, matched against the formula's names."""
    values: dict[str, float] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = unicodedata.normalize("NFKC", name.strip())  # as Python normalises the formula's names
        if not eq:
            raise FormulaError(_("expected NAME=NUMBER, got {item}").format(item=repr(_clip(item))))
        if not name.isidentifier():
            raise FormulaError(_("{name} in {item} is not a variable name").format(
                name=repr(_clip(name)), item=repr(_clip(item))))
        if name in values:
            raise FormulaError(_("{name} is given twice").format(name=name))
        if name not in formula.names:
            known = ", ".join(formula.names) or _("none")
            raise FormulaError(_("{name} is not in the formula (its variables: {known})").format(
                name=name, known=known))
        values[name] = parse_number(name, text.strip())
    missing = [n for n in formula.names if n not in values]
    if missing:
        raise FormulaError(_("no value for {names}; give it as {name}=NUMBER").format(
            names=", ".join(missing), name=missing[0]))
    return values
