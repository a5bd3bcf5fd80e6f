"""Write docs/ops.md from the op table (micrograd_tw/ops.py).

    python docs/make_ops_table.py
"""

from pathlib import Path

from micrograd_tw import ops

if __name__ == "__main__":
    path = Path(__file__).with_name("ops.md")
    path.write_text(ops.markdown_table(), encoding="utf-8")
    print(f"wrote {path}")
