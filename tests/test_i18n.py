"""The zh-TW catalog: language choice, completeness, and the compiled .mo."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest

from micrograd_tw import i18n

babel_extract = pytest.importorskip("babel.messages.extract")
from babel.messages import mofile, pofile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PO = i18n.LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "micrograd_tw.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(autouse=True)
def _clean_language(monkeypatch: pytest.MonkeyPatch):
    for var in (i18n.ENV_VAR, "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("zh-TW", "zh-TW"), ("zh_TW", "zh-TW"), ("zh_TW.UTF-8", "zh-TW"), ("zh-Hant", "zh-TW"),
        ("zh_Hant_TW", "zh-TW"), ("ZH-tw", "zh-TW"), ("en", "en"), ("en_US.UTF-8", "en"),
        ("C", "en"), ("POSIX", "en"), ("fr_FR", None), ("zh_CN", None), ("", None),
    ],
)
def test_normalize(name: str, expected: str | None) -> None:
    assert i18n.normalize(name) == expected


def test_default_is_english() -> None:
    assert i18n.language() == "en"
    assert i18n._("Input layer") == "Input layer"


def test_environment_variable_then_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    assert i18n.language() == "zh-TW"
    monkeypatch.setenv("LANGUAGE", "fr:zh_TW")  # the first known entry of the list wins
    assert i18n.language() == "zh-TW"
    monkeypatch.setenv(i18n.ENV_VAR, "en")  # the package's own variable beats the locale
    assert i18n.language() == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "klingon")  # unknown: English, not an error at import
    assert i18n.language() == "en"


def test_set_language_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(i18n.ENV_VAR, "en")
    i18n.set_language("zh-TW")
    assert i18n.language() == "zh-TW"
    i18n.set_language(None)
    assert i18n.language() == "en"


@pytest.mark.parametrize("bad", ["fr", "zh-CN", "", 3])
def test_set_language_refuses_unknown_languages(bad: object) -> None:
    with pytest.raises(ValueError, match="language must be one of en, zh-TW"):
        i18n.set_language(bad)  # type: ignore[arg-type]
    assert i18n.language() == "en"  # unchanged


def _marked_messages() -> set[str]:
    """Every msgid that _() / ngettext() mark in the package and the examples."""
    found: set[str] = set()
    files = [*(ROOT / "micrograd_tw").rglob("*.py"), *(ROOT / "examples").glob("*.py")]
    for path in files:
        with open(path, "rb") as f:
            for _line, message, _comments, _context in babel_extract.extract(
                "python", f, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
            ):
                found.add(message if isinstance(message, str) else message[0])  # a plural: its singular
    return found


def _catalog():
    with open(PO, "rb") as f:
        return pofile.read_po(f, locale="zh_TW")


def test_every_marked_message_has_a_zh_tw_translation() -> None:
    catalog = _catalog()
    marked = _marked_messages()
    assert len(marked) > 20, "the extraction found almost nothing: is _() used?"
    missing = []
    for msgid in sorted(marked):
        entry = catalog.get(msgid) or next((m for m in catalog if m.id and m.id[0] == msgid), None)
        strings = entry.string if entry else None
        texts = [strings] if isinstance(strings, str) else list(strings or [])
        if entry is None or entry.fuzzy or not texts or not all(texts):
            missing.append(msgid)
    assert not missing, f"{len(missing)} messages have no zh-TW translation: {missing[:10]}"


def test_the_mo_file_is_the_compiled_po() -> None:
    compiled = io.BytesIO()
    mofile.write_mo(compiled, _catalog())
    assert MO.read_bytes() == compiled.getvalue(), (
        "micrograd_tw.mo is stale: run `pybabel compile -d micrograd_tw/locale -D micrograd_tw`"
    )


def test_gettext_loads_the_catalog() -> None:
    t = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["zh_TW"])
    assert t.gettext("Input layer") == "輸入層"
    i18n.set_language("zh-TW")
    assert i18n._("Input layer") == "輸入層"
    assert i18n._("a message nobody translated") == "a message nobody translated"
