"""The language of messages, captions and printouts: English, or 繁體中文 on request.

Standard gettext: a message's English text is its id, and the zh-TW catalog
(``locale/zh_TW/LC_MESSAGES/micrograd_tw.po``, compiled to ``.mo`` beside it)
translates it.  The language is chosen, first match wins, by:

1. ``set_language("zh-TW")`` (the command line's ``--lang``),
2. the ``MICROGRAD_TW_LANG`` environment variable,
3. the locale: ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (``zh_TW.UTF-8``).

Anything else gives English.  ``locale/README.md`` says how to update the catalog.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "micrograd_tw"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh-TW")
ENV_VAR = "MICROGRAD_TW_LANG"

_chosen: str | None = None  # set_language's choice; None: from the environment
_catalogs: dict[str, _gettext.NullTranslations] = {}


def normalize(name: str) -> str | None:
    """"zh-TW", "zh_TW.UTF-8", "zh_Hant_TW", "zh-Hant" → "zh-TW"; "en", "en_US", "C" → "en"; else None."""
    tag = name.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if tag in ("zh_tw", "zh_hant", "zh_hant_tw"):
        return "zh-TW"
    if tag in ("c", "posix") or tag == "en" or tag.startswith("en_"):
        return "en"
    return None


def set_language(name: str | None) -> None:
    """Use ``name`` ("en" or "zh-TW") from now on; None goes back to the environment's choice."""
    global _chosen
    if name is None:
        _chosen = None
        return
    if not isinstance(name, str) or normalize(name) is None:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {name!r}")
    _chosen = normalize(name)


@contextmanager
def use_language(name: str | None) -> Iterator[None]:
    """``set_language(name)`` inside the block, and the choice before it afterwards.

    ``None`` leaves the current choice as it is (the command line without ``--lang``).
    """
    global _chosen
    before = _chosen
    if name is not None:
        set_language(name)
    try:
        yield
    finally:
        _chosen = before


def language() -> str:
    """The language in use now: "en" or "zh-TW"."""
    if _chosen is not None:
        return _chosen
    wanted = os.environ.get(ENV_VAR)
    if wanted:
        return normalize(wanted) or "en"
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:  # LANGUAGE may list several, "zh_TW:en"; the first that we know wins
            for part in value.split(":"):
                if normalize(part):
                    return normalize(part) or "en"
            return "en"
    return "en"


def _catalog(lang: str) -> _gettext.NullTranslations:
    if lang not in _catalogs:
        if lang == "en":
            _catalogs[lang] = _gettext.NullTranslations()
        else:
            _catalogs[lang] = _gettext.translation(
                DOMAIN, LOCALE_DIR, languages=[lang.replace("-", "_")], fallback=True
            )
    return _catalogs[lang]


def _(message: str) -> str:
    """``message`` in the user's language (the English text when there is no translation)."""
    return _catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the user's language."""
    return _catalog(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (it is translated with _() when shown)."""
    return message


__all__ = ["set_language", "use_language", "language", "normalize", "LANGUAGES"]
