"""matplotlib for the course: Chinese plot titles, and example scripts that respect the notebook.

    import micrograd_tw as mg
    mg.plotting.use_cjk_font()          # then plt.title("損失函數 L(θ)") draws its glyphs

The example scripts call ``setup_script()`` first and ``show(fig, path)`` for
each picture: run as ``python examples/….py`` they write files (matplotlib's
Agg backend, no window) and never crash on a console that cannot encode a
character; run inside IPython (``%run examples/….py`` in Jupyter) they leave
the backend alone and draw inline.

matplotlib is imported inside the functions: ``import micrograd_tw`` never needs it.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["use_cjk_font", "use_language_font", "in_ipython", "setup_script", "show"]

# Fonts that cover Traditional Chinese, best first: Linux (fonts-noto-cjk), the
# Google Fonts cut, Windows, macOS, Adobe's names for Noto CJK, Debian's arphic fonts.
CJK_FONTS = (
    "Noto Sans CJK TC", "Noto Sans TC", "Microsoft JhengHei", "PingFang TC", "Heiti TC",
    "Source Han Sans TC", "Source Han Sans TW", "Noto Serif CJK TC", "AR PL UMing TW",
    "AR PL UKai TW", "Noto Sans CJK HK", "Noto Sans CJK JP", "Noto Sans CJK SC",
    "Microsoft YaHei", "PingFang SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
)
# A font is used only if it has every one of these glyphs (Traditional forms).
SAMPLE = "損失函數學習率梯度下降權重偏值輸入層隱藏層輸出層總刺激活化"

INSTALL_HINTS = {
    "linux": "sudo apt-get install fonts-noto-cjk (Debian/Ubuntu, and in Google Colab: "
    "!apt-get install -y fonts-noto-cjk), sudo dnf install google-noto-sans-cjk-fonts (Fedora)",
    "darwin": "macOS comes with PingFang TC and Heiti TC; if matplotlib sees neither, "
    "brew install --cask font-noto-sans-cjk",
    "win32": "Windows comes with Microsoft JhengHei (微軟正黑體); if it is missing, add it in "
    "Settings > System > Optional features > Add a feature > Chinese (Traditional) Supplemental Fonts",
}

# matplotlib's backends that only write files: plt.show() there would only warn.
FILE_BACKENDS = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")

_warned = False  # use_cjk_font warns once per session, not at every call


def _covers(fname: str, index: int) -> bool:
    """Whether the font file's face has a glyph for every character of SAMPLE."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(fname, face_index=index)
    except TypeError:  # matplotlib before 3.10 opens the first face of a collection only
        font = FT2Font(fname)
    except (OSError, RuntimeError, ValueError):  # an unreadable or unsupported file
        return False
    return all(font.get_char_index(ord(c)) for c in SAMPLE)


def _find_cjk_font() -> str | None:
    """The name of the best installed font covering SAMPLE, or None.

    Looks at matplotlib's font list first, then at the system's font files
    that list does not know yet (a font installed after matplotlib built its
    cache, as in Colab after apt-get), adding those to it.
    """
    from matplotlib import font_manager

    entries = list(font_manager.fontManager.ttflist)
    known = {e.fname for e in entries}
    rank = {name: i for i, name in enumerate(CJK_FONTS)}
    # Known CJK names first (best first), then every other font, in the list's order.
    for entry in sorted(entries, key=lambda e: rank.get(e.name, len(CJK_FONTS))):
        if _covers(entry.fname, getattr(entry, "index", 0)):
            return str(entry.name)
    for fname in font_manager.findSystemFonts():
        if fname in known:
            continue
        try:
            font_manager.fontManager.addfont(fname)
        except (OSError, RuntimeError, ValueError):
            continue
        for entry in font_manager.fontManager.ttflist:
            if entry.fname == fname and _covers(fname, getattr(entry, "index", 0)):
                return str(entry.name)
    return None


def use_cjk_font() -> str | None:
    """Make matplotlib draw Traditional Chinese: returns the font's name, or None.

    Finds an installed font that has the glyphs of 損失函數, 學習率, 隱藏層, …
    (Noto Sans CJK TC, Noto Sans TC, Microsoft JhengHei, PingFang TC, Heiti TC,
    …) and makes matplotlib draw with DejaVu Sans and then that font, glyph by
    glyph (so p₁, θ and 損失 all have their glyphs).  Without such a font it warns once, saying how to
    install one on this platform, and returns None; plots still work, with
    boxes for the Chinese characters.
    """
    global _warned
    import matplotlib

    name = _find_cjk_font()
    if name is None:
        if not _warned:
            _warned = True
            hint = INSTALL_HINTS.get(sys.platform, INSTALL_HINTS["linux"])
            warnings.warn(
                "use_cjk_font: no installed font covers Traditional Chinese, so matplotlib will draw "
                f"boxes for Chinese text. Install one: {hint}; then restart the Python kernel.",
                UserWarning,
                stacklevel=2,
            )
        return None
    rc = matplotlib.rcParams
    # An explicit list of families, not "sans-serif": matplotlib falls back glyph by glyph
    # only along such a list.  DejaVu Sans (shipped with matplotlib) draws Latin, θ and
    # subscripts such as p₁, which CJK fonts may lack; the CJK font draws the Chinese.
    rc["font.family"] = ["DejaVu Sans", name]
    rc["font.sans-serif"] = [name, *(f for f in rc["font.sans-serif"] if f != name)]
    return name


def use_language_font() -> str | None:
    """In 繁體中文 (``--lang zh-TW``, ``MICROGRAD_TW_LANG=zh-TW``, a zh_TW locale): ``use_cjk_font()``.

    In English it changes nothing and returns None.  The example scripts (through
    ``setup_script``) and the demo's loss curve call it before they draw, so
    their translated titles and labels have their glyphs.
    """
    from .i18n import language

    return use_cjk_font() if language() == "zh-TW" else None


# ------------------------------------------------------------ example scripts


def in_ipython() -> bool:
    """Whether this code runs inside IPython: a Jupyter kernel, or ``%run`` in the IPython shell."""
    ipython = sys.modules.get("IPython")  # never imports IPython when it is not running
    return ipython is not None and ipython.get_ipython() is not None


def setup_script() -> bool:
    """Prepare an example script; returns True inside IPython, where pictures are drawn inline.

    Outside IPython: matplotlib writes files only (the Agg backend: no window,
    works without a display), and stdout and stderr write a character the
    console cannot encode (``−`` or ``∂`` on Windows' code page 950, or on an
    ASCII pipe) as an escape such as ``\\u2212`` instead of crashing.
    Inside IPython: the backend (inline in Jupyter) and the streams stay as they are.
    Either way, in 繁體中文 matplotlib gets a Chinese font (``use_language_font``).
    """
    inline = in_ipython()
    if not inline:
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
    try:
        import matplotlib
    except ImportError:  # a script that draws only graphs (graph_tour.py) runs without it
        return inline
    if not inline:
        matplotlib.use("Agg")
    use_language_font()
    return inline


def show(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Write a matplotlib figure to ``path``; inside IPython, draw it inline as well.

    Returns the path written.  Outside IPython the figure is closed once
    written; inside, it is shown (Jupyter's inline backend, or an open window
    under ``%matplotlib``) unless the backend cannot show anything (Agg).
    """
    import matplotlib
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    if in_ipython() and matplotlib.get_backend().lower() not in FILE_BACKENDS:
        plt.show()
    else:
        plt.close(fig)
    return path
