"""The zh-TW catalog: language choice, completeness, and the compiled .mo."""

from __future__ import annotations

import gettext
import io
import os
import re
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import pytest

from micrograd_tw import i18n
from micrograd_tw.__main__ import main

babel_extract = pytest.importorskip("babel.messages.extract")
from babel.messages import mofile, pofile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PO = i18n.LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "micrograd_tw.po"
MO = PO.with_suffix(".mo")


LANGUAGE_VARS = (i18n.ENV_VAR, "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def _clean_language(monkeypatch: pytest.MonkeyPatch):
    for var in LANGUAGE_VARS:
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


# ------------------------------------------------------- what a zh-TW user sees

CJK = re.compile("[\u4e00-\u9fff]")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """python -m micrograd_tw ARGS in a real process, with this checkout and a clean language."""
    base = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARS}
    env = {**base, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, "-m", "micrograd_tw", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120)


def main_output(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """micrograd-tw ARGS in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as e:  # --help and argparse's own errors exit from inside parse_args
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("where", ["before", "after", "equals"])
def test_cli_help_in_zh_tw(capsys: pytest.CaptureFixture, where: str) -> None:
    lang = {"before": ["--lang", "zh-TW", "demo"], "after": ["demo", "--lang", "zh-TW"],
            "equals": ["demo", "--lang=zh-TW"]}[where]
    code, out, _err = main_output(capsys, *lang, "--help")
    assert code == 0
    assert "學習率 η，正數（預設：0.5）" in out and "訓練步數，1 到 100,000（預設：300）" in out
    assert "--lang {en,zh-TW}" in out and "zh-\n" not in out  # the value is never split at its hyphen
    assert i18n.language() == "en"  # --lang held for that run only
    code, out, _err = main_output(capsys, "demo", "--help")
    assert code == 0 and "learning rate η, a positive number (default: 0.5)" in out and "預設" not in out


def test_cli_help_lines_fit_the_terminal_in_columns(capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _err = main_output(capsys, "--lang", "zh-TW", "gradcheck", "--help")
    assert code == 0 and "解析導數" in out
    widths = [sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
              for line in out.splitlines() if CJK.search(line)]
    assert widths and max(widths) <= 60, out


@pytest.mark.parametrize(
    "args, code, english, chinese",
    [
        (["demo", "--steps", "0"], 2, "demo: error: --steps must be from 1 to 100,000, got 0",
         "demo：錯誤：--steps 必須介於 1 到 100,000，收到的是 0"),
        (["gradcheck", "x // 2", "x=1"], 2, "error: the operator // is not allowed at column 3: 'x // 2'",
         "錯誤：第 3 欄：不允許運算子 //：'x // 2'"),
        (["gradcheck", "x * w", "x=1"], 2, "no value for w; give it as w=NUMBER",
         "w 沒有值；請用 w=數字 給值"),
        (["gradcheck", "x.real", "x=1"], 2, "an attribute is not allowed",
         "第 1 欄：不允許屬性存取：'x.real'"),
        (["gradcheck", "x", "x=1", "--atol", "-1"], 2, "--atol must be a finite number >= 0, got -1.0",
         "--atol 必須是 >= 0 的有限數，收到的是 -1.0"),
        (["demo", "--bogus"], 2, "error: unrecognized arguments: --bogus", "：錯誤：unrecognized arguments"),
    ],
)
def test_cli_errors_in_zh_tw_keep_their_exit_codes(capsys: pytest.CaptureFixture, args: list[str], code: int,
                                                   english: str, chinese: str) -> None:
    got, out, err = main_output(capsys, *args)
    assert (got, out) == (code, "") and english in err and err.count("\n") == 1
    got, out, err = main_output(capsys, *args, "--lang", "zh-TW")
    assert (got, out) == (code, "") and chinese in err and err.count("\n") == 1, err


def test_cli_gradcheck_table_in_zh_tw(capsys: pytest.CaptureFixture) -> None:
    # d/dx (x**y) = y x**(y-1) = 12 at x=2, y=3; d/dy = x**y ln x = 8 ln 2
    code, out, _err = main_output(capsys, "gradcheck", "x**y", "x=2", "y=3", "--lang", "zh-TW")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "f = x**y    在 x=2, y=3"
    header, x_row = lines[3], lines[4]
    assert header.split() == ["輸入", "值", "解析導數", "數值導數", "|差|"]
    assert x_row.split()[:3] == ["x", "2", "12"] and x_row.split()[-1] == "相符"
    # columns line up in the terminal: "解析導數" (8 columns) starts where "12" does
    col = unicodedata.east_asian_width
    prefix = header[: header.index("解析導數")]
    assert sum(2 if col(c) in "WF" else 1 for c in prefix) == x_row.index("12")
    assert lines[-1] == "2 個導數全部相符（eps=1e-06, atol=1e-05, rtol=0.001）"


def test_cli_in_zh_tw_from_the_environment_and_the_locale() -> None:
    for env in ({i18n.ENV_VAR: "zh-TW"}, {"LANG": "zh_TW.UTF-8"}):
        r = run_cli("demo", "--steps", "0", env=env)
        assert r.returncode == 2 and r.stdout == ""
        expected = "python -m micrograd_tw demo：錯誤：--steps 必須介於 1 到 100,000，收到的是 0\n"
        assert r.stderr == expected, env
        r = run_cli("graph", "--help", env=env)
        assert r.returncode == 0 and "排版方向（預設：LR，由左到右）" in r.stdout, env
    # --lang beats the environment, both ways
    r = run_cli("demo", "--steps", "0", "--lang", "en", env={i18n.ENV_VAR: "zh-TW"})
    assert r.stderr.endswith("error: --steps must be from 1 to 100,000, got 0\n")
    r = run_cli("--lang", "fr", "demo")  # argparse refuses the value, as any bad option
    assert r.returncode == 2 and "argument --lang: invalid choice: 'fr'" in r.stderr


def test_demo_output_in_zh_tw(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    fonts = list(matplotlib.rcParams["font.sans-serif"])
    code, out, _err = main_output(capsys, "demo", "--lang", "zh-TW", "--steps", "2", "--samples", "4",
                                  "--out", str(tmp_path))
    assert code == 0
    assert matplotlib.rcParams["font.sans-serif"] == fonts  # the loss curve's Chinese font stayed in it
    lines = out.splitlines()
    assert lines[0].startswith("訓練 MLP(")
    assert lines[0].endswith("學 y = x1 * x2，k = 4 個樣本，η = 0.5，2 步")
    assert any(line.startswith("[") and "2/2  損失 " in line for line in lines)
    assert re.search(r"^損失 \d+\.\d{6} → \d+\.\d{6}$", out, flags=re.M)
    assert "已寫出：" in lines
    network = next(tmp_path.glob("network.*"))
    text = network.read_text(encoding="utf-8")
    assert all(caption in text for caption in ("輸入層", "隱藏層 1", "輸出層"))
    assert "第 1 層 · 神經元 2" in next(tmp_path.glob("graph.*")).read_text(encoding="utf-8")


def captions(source: str) -> list[str]:
    """The cluster captions of a DOT source, in order."""
    # a cluster's attribute statement: color=... fontname=... [fontsize=...] label=... style=...
    found = re.findall(r'^\t+color=.* label=(?:"([^"]*)"|(\S+)) style=', source, flags=re.M)
    return [quoted or bare for quoted, bare in found]


def test_draw_network_captions_follow_the_language() -> None:
    import micrograd_tw as mg

    model = mg.nn.MLP(2, [3, 3, 1], seed=0)  # inputs → hidden 1 → hidden 2 → the output neuron → y
    english = mg.draw_network(model).source
    assert captions(english) == ["Input layer", "Hidden layer 1", "Hidden layer 2", "Output layer", "Output"]
    assert not CJK.search(english)
    wide = mg.nn.MLP(2, [2], seed=0)  # no hidden layer; two outputs
    assert captions(mg.draw_network(wide).source) == ["Input layer", "Output layer", "Outputs"]
    i18n.set_language("zh-TW")
    assert captions(mg.draw_network(model).source) == ["輸入層", "隱藏層 1", "隱藏層 2", "輸出層", "輸出"]
    assert captions(mg.draw_network(wide).source) == ["輸入層", "輸出層", "輸出"]
    # draw_dot's boxes around each layer and neuron
    y = model([1.0, -1.0])
    boxes = captions(mg.draw_dot(y, model=model).source)
    assert boxes[:3] == ["第 1 層", "第 1 層 · 神經元 1", "第 1 層 · 神經元 2"]
    neuron = mg.nn.Neuron(2, seed=0)
    assert captions(mg.draw_dot(neuron([1.0, 2.0]), model=neuron).source) == ["神經元"]


def test_plot_titles_in_zh_tw_have_their_glyphs() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from micrograd_tw import plotting

    assert plotting.use_language_font() is None  # English: matplotlib's fonts are left alone
    i18n.set_language("zh-TW")
    title = i18n._("function learner 2 → 3 → 1 learning y = x1·x2")
    assert title.startswith("函數學習機")

    def missing_glyph_warnings() -> list[str]:
        fig, ax = plt.subplots()
        ax.set_title(title)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
        return [str(w.message) for w in caught if "missing from font" in str(w.message)]

    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert missing_glyph_warnings()  # the check can fail: without a CJK font, 函數 is missing
        if plotting.use_language_font() is None:
            pytest.skip("no installed font covers Traditional Chinese")
        assert missing_glyph_warnings() == []


def test_an_example_in_zh_tw_prints_chinese_and_draws_its_glyphs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    base = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARS}
    env = {**base, i18n.ENV_VAR: "zh-TW", "STEPS": "2", "OUT": str(tmp_path), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONWARNINGS": "always"}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "function_learner.py")], capture_output=True,
                       text=True, encoding="utf-8", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"：13 個參數 θ$", r.stdout, flags=re.M)  # 3·(2+1) + (3+1) parameters
    assert re.search(r"^第 +0 步  L\(θ\) = \d+\.\d{6}$", r.stdout, flags=re.M)
    assert f"已寫出 {tmp_path / 'function_learner.png'}" in r.stdout
    assert "missing from font" not in r.stderr and "use_cjk_font" not in r.stderr, r.stderr
