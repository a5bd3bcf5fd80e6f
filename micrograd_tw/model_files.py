"""Model files: JSON documents that hold a model's architecture and parameters.

A file is one JSON object (never pickle):

    {"format": "micrograd_tw.nn", "version": 1,
     "architecture": {"type": "MLP", ...},
     "parameters": {"layers.0.neurons.0.w.0": 0.25, ...}}

``write`` replaces a file atomically: the text goes into a fresh temporary file
in the same folder, is synced to disk, and is then renamed over the target, so
a reader (or a crash) sees the old file or the new one, never a mix.

``read`` checks everything before it returns anything and lists every problem
it finds.  It reads a file of the size the model's own file can have, and no
more, and before parsing it counts the file's lists, objects and values
against what the model's file holds, so that a hostile file cannot make the
parser build millions of objects.  ``check_parameters`` is the check shared
with ``Module.load_state_dict``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import reprlib
import secrets
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["StateDictError", "check_parameters", "write", "read", "size_limit"]

FORMAT = "micrograd_tw.nn"
FORMAT_VERSION = 1
MAX_DEPTH = 20  # our files nest 3 deep; deeper JSON is refused before it is parsed
_MAX_LISTED = 20  # problems spelled out in an error message; all are kept in .problems

# The size a model's file may have: what ``write`` produces is about
# len(name) + 30 bytes per parameter; the margins leave room for a file
# reformatted by hand (indentation, long number spellings).
_BYTES_PER_PARAMETER = 96  # beyond the parameter's name
_BYTES_FOR_HEADER = 64 * 1024
# Lists and objects, and values, beyond those of the model's own file.
_SPARE_CONTAINERS = 64
_SPARE_VALUES = 1024



class StateDictError(ValueError):
    """A model file or state dict was refused; ``problems`` lists everything wrong with it."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = [f"  - {p}" for p in problems[:_MAX_LISTED]]
        if len(problems) > _MAX_LISTED:
            shown.append(f"  ... and {len(problems) - _MAX_LISTED} more")
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(f"{what}: {count}; the model is unchanged\n" + "\n".join(shown))


# ---------------------------------------------------------- checking numbers


class _Refused:
    """Stands in for a JSON number that must be refused, so every one can be listed."""

    def __init__(self, text: str) -> None:
        self.text = text


def check_parameters(state: Mapping[Any, Any], names: list[str], problems: list[str]) -> dict[str, float]:
    """The values for ``names`` as floats; every problem found is appended to ``problems``."""
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"missing {len(missing)} parameter(s): {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} key(s): {_names(unexpected)}")
    values: dict[str, float] = {}
    for name in names:
        if name not in state:
            continue
        x = state[name]
        if type(x) is float and math.isfinite(x):  # the usual case, first
            values[name] = x
        elif isinstance(x, _Refused):
            problems.append(f"{name}: {x.text} is not a finite number")
        elif isinstance(x, bool) or not isinstance(x, numbers.Real):
            problems.append(f"{name}: expected a number, got {type(x).__name__} {reprlib.repr(x)}")
        else:
            try:
                f = float(x)
            except (OverflowError, ValueError, TypeError):
                problems.append(f"{name}: {reprlib.repr(x)} is not representable as a float")
                continue
            if math.isfinite(f):
                values[name] = f
            else:
                problems.append(f"{name}: {f!r} is not a finite number")
    return values


def _names(keys: list[Any], limit: int = 8) -> str:
    shown = ", ".join(reprlib.repr(k) for k in keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


# ------------------------------------------------------------ writing files


def write(path: str | os.PathLike[str], architecture: dict[str, Any], state: dict[str, float]) -> None:
    """Write a model file atomically: a fresh temporary file, synced, then renamed over ``path``.

    The temporary file is created exclusively under an unpredictable name, so
    a file or symlink already in the folder is never followed or overwritten,
    and two saves to one path at once each write their own file: the last
    rename wins, and a reader sees one complete file or the other.
    """
    bad = [name for name, x in state.items() if not math.isfinite(x)]
    if bad:
        raise ValueError(
            f"save: {len(bad)} parameter(s) are not finite and could not be loaded back: "
            + ", ".join(f"{n} = {state[n]!r}" for n in bad[:_MAX_LISTED])
        )
    document = {
        "format": FORMAT, "version": FORMAT_VERSION, "architecture": architecture, "parameters": state,
    }
    text = json.dumps(document, indent=1, allow_nan=False)  # floats round-trip exactly
    data = (text + "\n").encode("utf-8")
    path = os.fspath(path)
    fd, tmp = _create_temporary(path)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def _create_temporary(path: str) -> tuple[int, str]:
    """A new, empty file next to ``path``: (its descriptor, its name).

    Like ``tempfile.mkstemp`` (O_EXCL under a random name: never an existing
    file or symlink), but with the permissions any new file gets (0o666 less
    the umask) rather than mkstemp's 0o600, since it becomes the model file.
    """
    folder, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue  # another file took this name: draw another
    raise FileExistsError(f"save: could not create a temporary file next to {path!r}")


# ------------------------------------------------------------ reading files


def size_limit(architecture: dict[str, Any], names: list[str]) -> int:
    """The largest file (in bytes) that can hold a model with this architecture and these names."""
    header = len(json.dumps(architecture, indent=1))
    # A name's characters take a byte each, or up to 12 as JSON escapes ("\\ud83d\\ude00").
    name_bytes = sum(len(n) if n.isascii() else 12 * len(n) for n in names)
    return _BYTES_FOR_HEADER + 4 * header + name_bytes + len(names) * (2 + _BYTES_PER_PARAMETER)


class _Structure(NamedTuple):
    containers: int  # lists and objects
    separators: int  # commas and colons: about one per value
    depth: int  # the deepest nesting


_CHUNK = 1 << 16  # bytes scanned at a time: the scan's temporary arrays stay near 1 MB


def _structure(raw: bytes) -> _Structure:
    """Count a JSON text's lists, objects and values, and its nesting, outside strings.

    Linear in the file, without parsing it and without building an object per
    token.  Escaped backslashes, then escaped quotes, are removed first (one
    copy of the file); every quote left then opens or closes a string (in valid
    JSON; in invalid JSON the counts may be off, but the parser refuses the
    text at its first error, before building what follows it).  The rest is
    numpy over chunks of the copy.
    """
    import numpy as np  # here, not at the top: `import micrograd_tw` does not load numpy

    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(text, dtype=np.uint8)
    containers = separators = deepest = level = 0
    quotes_before = 0  # quotes in the chunks already scanned: odd means inside a string
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        quotes = chunk == ord('"')
        outside = (np.cumsum(quotes, dtype=np.int32) + quotes_before) % 2 == 0
        quotes_before += int(np.count_nonzero(quotes))
        opens = outside & ((chunk == ord("[")) | (chunk == ord("{")))
        closes = outside & ((chunk == ord("]")) | (chunk == ord("}")))
        containers += int(np.count_nonzero(opens))
        separators += int(np.count_nonzero(outside & ((chunk == ord(",")) | (chunk == ord(":")))))
        levels = np.cumsum(opens.astype(np.int32) - closes) + level
        if len(levels):
            deepest = max(deepest, int(levels.max()))
            level = int(levels[-1])
    return _Structure(containers, separators, deepest)


def _parse(text: str, problems: list[str]) -> Any:
    """json.loads that records duplicate keys and refuses NaN, Infinity and overflow."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                problems.append(f"duplicate key {reprlib.repr(key)}")
            obj[key] = value
        return obj

    def parse_float(s: str) -> Any:
        f = float(s)
        return f if math.isfinite(f) else _Refused(s if len(s) <= 40 else s[:37] + "...")  # 1e999 is inf

    return json.loads(
        text,
        object_pairs_hook=pairs,
        parse_float=parse_float,
        parse_constant=_Refused,  # NaN, Infinity, -Infinity
    )


def read(path: str | os.PathLike[str], architecture: dict[str, Any], names: list[str]) -> dict[str, float]:
    """The checked parameter values of the model file at ``path``, name -> float.

    ``architecture`` and ``names`` are the model's; a file that is not exactly
    such a model's file raises ``StateDictError`` listing every problem.

    Memory: the file is refused unread when it is larger than ``size_limit``
    (far larger than the model's own file), and unparsed when it holds more
    lists, objects or values than the model's file, so json.loads never
    builds millions of objects.  Measured as tracemalloc's peak during
    ``read``, for a model of 500,000 parameters (whose file may be 53 MB): a
    hostile 48 MB file peaks at 96 MB (2.0× its size) for one string of
    ``\\"``, and at 53 MB (1.1×) for ``[],``, ``1.0,`` or ``"ab",`` repeated
    (before these checks: 3.6 GB and 1.2 GB); the model's own 9.4 MB file
    peaks at 120 MB, about 240 bytes per parameter for its names and numbers.
    tests/test_nn_io.py checks the bound on 2 MB files.
    """
    path = os.fspath(path)
    what = f"cannot load {path!r}"
    limit = size_limit(architecture, names)
    size = os.path.getsize(path)
    if size > limit:
        raise StateDictError(what, [_too_large(f"is {size:,} bytes", limit, names)])
    with open(path, "rb") as f:
        raw = f.read(limit + 1)  # the file may have grown since it was measured
    if len(raw) > limit:
        raise StateDictError(what, [_too_large("has grown", limit, names)])
    problems = _check_structure(raw, architecture, names)
    if problems:
        raise StateDictError(what, problems)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problem = f"not UTF-8 text (byte {e.start}): not a model file written by save()"
        raise StateDictError(what, [problem]) from None
    del raw
    try:
        document = _parse(text, problems)
    except json.JSONDecodeError as e:
        problem = f"not valid JSON (corrupt or truncated?): {e.msg} at line {e.lineno}, column {e.colno}"
        raise StateDictError(what, [problem]) from None
    except (ValueError, RecursionError) as e:
        raise StateDictError(what, [f"not valid JSON: {e}"]) from None
    values = _check_document(document, architecture, names, problems)
    if problems:
        raise StateDictError(what, problems)
    return values


def _too_large(size: str, limit: int, names: list[str]) -> str:
    return (
        f"the file {size}; a file of this model ({len(names):,} parameters) is at most {limit:,} bytes,"
        " so it is not this model's file"
    )


def _check_structure(raw: bytes, architecture: dict[str, Any], names: list[str]) -> list[str]:
    """Problems with the number of lists, objects and values, found without parsing."""
    found = _structure(raw)
    expected = _structure(json.dumps(architecture).encode("utf-8"))
    usual_containers = 2 + expected.containers  # the document, the parameters, the architecture's
    if found.containers > usual_containers + _SPARE_CONTAINERS:
        return [f"the file holds {found.containers:,} JSON lists and objects; "
                f"a file of this model holds {usual_containers}"]
    usual_values = 8 + expected.separators + 2 * len(names)
    if found.separators > usual_values + _SPARE_VALUES:
        return [f"the file holds {found.separators:,} JSON values; a file of this model holds about "
                f"{usual_values:,}"]
    if found.depth > MAX_DEPTH:
        return [f"JSON nested {found.depth} deep; model files nest at most {MAX_DEPTH} deep"]
    return []


def _check_document(
    document: Any, architecture: dict[str, Any], names: list[str], problems: list[str]
) -> dict[str, float]:
    """The parameter values of a parsed document; every problem is appended to ``problems``."""
    if not isinstance(document, dict):
        problems.append(f"expected a JSON object at the top, got {type(document).__name__}")
        return {}
    fields = ("format", "version", "architecture", "parameters")
    extra = [k for k in document if k not in fields]
    if extra:
        problems.append(f"unexpected top-level key(s): {_names(extra)}")
    for key in fields:
        if key not in document:
            problems.append(f"missing top-level key {key!r}")
    if "format" in document and document["format"] != FORMAT:
        problems.append(f"format is {reprlib.repr(document['format'])}, expected {FORMAT!r}")
    version = document.get("version", FORMAT_VERSION)
    if type(version) is not int:
        got = f"{type(version).__name__} {reprlib.repr(version)}"
        problems.append(f"format version must be an integer, got {got}")
    elif version != FORMAT_VERSION:
        problems.append(f"format version {version} is not supported (this release reads {FORMAT_VERSION})")
    if "architecture" in document and not _same(document["architecture"], architecture):
        shown = reprlib.repr(document["architecture"])
        problems.append(f"architecture: the file holds {shown}, but the model is {architecture}")
    if "parameters" not in document:
        return {}
    state = document["parameters"]
    if not isinstance(state, dict):
        problems.append(f"parameters: expected an object of name -> number, got {type(state).__name__}")
        return {}
    return check_parameters(state, names, problems)


def _same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1 from 1.0 and from true."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)
