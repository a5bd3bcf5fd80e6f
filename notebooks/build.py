"""Execute the course notebooks and store them with their outputs, or check the stored outputs.

    python notebooks/build.py                 # re-execute every notebook, write it back with outputs
    python notebooks/build.py 03_neuron       # only the notebooks named (with or without .ipynb)
    python notebooks/build.py --check         # re-execute, write nothing, exit 1 if a text output changed

Each notebook runs in a fresh python3 kernel started in notebooks/, importing the
micrograd_tw of this checkout, with numpy's OpenBLAS on one thread (unless
OPENBLAS_NUM_THREADS is set). Outputs are stored so that the pictures show where a
notebook is browsed (GitHub, nbviewer). The check compares what a reader reads: the
text of every stream and every text/plain result, after `normalise` has masked what
changes from run to run (memory addresses, %timeit timings). Pictures may differ by
bytes; widget views are compared by their text repr. A code cell tagged
`output-varies` (its output depends on the machine, e.g. `%pip`) is run but not compared.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMEOUT = 300  # seconds per cell: a guard against a hang, not a speed check
VARIES = "output-varies"

# What changes from one run to the next in text a reader sees.
_MASKS = [
    # <graphviz.graphs.Digraph at 0x7f…>: the class path is the library's business, the address the run's
    (re.compile(r"<[\w.<>]+ at 0x[0-9a-fA-F]+>"), "<object>"),
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x…"),
    # %timeit: "559 ns ± 13 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)"
    (re.compile(r"[\d.]+ [nµm]?s ± [\d.]+ [nµm]?s per loop "
                r"\(mean ± std\. dev\. of \d+ runs?, [\d,]+ loops? each\)"), "<timeit>"),
    (re.compile(r"The slowest run took [\d.]+ times longer than the fastest\. .*\n"), ""),
    (re.compile(r"\r\n"), "\n"),  # `!` commands write CRLF through a pty
]


def notebooks(names: list[str] | None = None) -> list[Path]:
    """The notebooks in notebooks/, sorted (the chapter number leads), or those named."""
    every = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        match = [p for p in every if p.stem == stem]
        if not match:
            raise SystemExit(f"no notebook {name!r} in {HERE}; there are: {', '.join(p.stem for p in every)}")
        chosen += match
    return chosen


def execute(path: Path):
    """Run the notebook at `path` top to bottom in a fresh kernel; returns the executed notebook."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    path_entries = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path_entries))}
    # One BLAS thread unless the caller chose: the notebooks' matrix products are small, and on a
    # busy machine (CI's 2 cores, shared with the test run) more BLAS threads only wait for each other.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", record_timing=False, shutdown_kernel="immediate",
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute(env=env)  # raises CellExecutionError on the first failing cell
    return nb


def normalise(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def text_outputs(nb) -> list[tuple[int, str, str]]:
    """(cell index, kind, text) for every compared output: streams and text/plain, normalised.

    A stream is split wherever the kernel happened to flush: consecutive pieces of one
    stream in one cell are joined before they are compared.
    """
    texts: list[tuple[int, str, str]] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or VARIES in cell.metadata.get("tags", []):
            continue
        for out in cell.outputs:
            if out.output_type == "stream":
                kind, text = out.name, out.text
            elif out.output_type in ("execute_result", "display_data"):
                kind, text = "result", out.data.get("text/plain", "")
            elif out.output_type == "error":
                kind, text = "error", f"{out.ename}: {out.evalue}"
            else:
                continue
            if kind in ("stdout", "stderr") and texts and texts[-1][:2] == (index, kind):
                texts[-1] = (index, kind, texts[-1][2] + text)
            else:
                texts.append((index, kind, text))
    return [(index, kind, normalise(text)) for index, kind, text in texts]


def differences(stored, fresh) -> list[str]:
    """Human-readable differences between the compared outputs of two runs of one notebook."""
    import difflib

    old, new = text_outputs(stored), text_outputs(fresh)
    if old == new:
        return []
    lines = []
    for index in sorted({t[0] for t in old} | {t[0] for t in new}):
        a = [f"[{kind}] {text}" for i, kind, text in old if i == index]
        b = [f"[{kind}] {text}" for i, kind, text in new if i == index]
        if a != b:
            source = fresh.cells[index].source.splitlines()
            lines.append(f"cell {index} ({source[0] if source else ''!r}):")
            diff = difflib.unified_diff("\n".join(a).splitlines(), "\n".join(b).splitlines(),
                                        "stored", "now", lineterm="", n=1)
            lines += ["    " + line for line in diff]
    return lines


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with the stored outputs; write nothing")
    args = parser.parse_args(argv)
    failed = 0
    for path in notebooks(args.names):
        fresh = execute(path)
        if args.check:
            diff = differences(nbformat.read(path, as_version=4), fresh)
            failed += bool(diff)
            print(f"{path.name}: {'outputs changed' if diff else 'ok'}")
            for line in diff:
                print(line)
        else:
            nbformat.write(fresh, path)
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
