"""The HTML step-through page in a real headless browser (Debian's chromium, driven by playwright).

Outside CI the test skips, saying why, when there is no browser (or no
playwright); in CI (``CI`` set, as ``.ci/run`` does) a missing browser fails.
playwright's own browser download is never used: it drives the system's chromium.
"""

from __future__ import annotations

import os
import shutil

import pytest

import micrograd_tw as mg
from micrograd_tw import i18n, viz
from micrograd_tw.steps import num

CHROMIUM = os.environ.get("MICROGRAD_TW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def neuron():
    x, w, b = mg.Value(1.0, label="x"), mg.Value(-2.0, label="w"), mg.Value(0.5, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return x, w, b, y


def open_page(browser, path):
    """The page at ``path``, with every request it makes recorded (and any leaving the file refused)."""
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    own = path.as_uri()

    def route(r):
        requests.append(r.request.url)
        if r.request.url == own or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(own)
    return page, requests, errors


SHOWN = """() => {
  const out = {};
  document.querySelectorAll("#frame g.node").forEach(g => {
    if (!/^n\\d+$/.test(g.id)) return;
    const t = g.getElementsByTagName("text");
    out[t[0].textContent] = t[t.length - 1].textContent;
  });
  return out;
}"""

RED_EDGE_TEXTS = """() => Array.from(document.querySelectorAll("#frame g.edge text"))
  .filter(t => t.getAttribute("fill") === "#dc2626").map(t => t.textContent)"""


def save_drawn_by(renderer, y, path, monkeypatch):
    """save_steps_html with Graphviz's dot, or with graphviz-pure (no dot on PATH)."""
    if renderer == "dot":
        return mg.viz.save_steps_html(y, path)
    with monkeypatch.context() as m:
        empty = path.parent / "bin"
        empty.mkdir()
        m.setenv("PATH", str(empty))
        if viz.find_renderer() is None:
            if os.environ.get("CI"):
                pytest.fail("graphviz-pure must be installed in CI")
            pytest.skip("the graphviz-pure package is not installed")
        return mg.viz.save_steps_html(y, path)


@pytest.mark.parametrize("renderer", ["dot", "graphviz-pure"])
def test_arrow_keys_step_through_backward(browser, tmp_path, renderer, monkeypatch):
    x, w, b, y = neuron()
    path = save_drawn_by(renderer, y, tmp_path / "backward.html", monkeypatch)
    page, requests, errors = open_page(browser, path)

    assert page.text_content("#counter") == "step 0 / 6"
    shown = page.evaluate(SHOWN)
    assert shown["y"] == "grad 1" and shown["x"] == "grad ?" and shown["v2"] == "grad ?"
    line0 = page.text_content("#line")
    assert line0.startswith("∂y/∂y = 1")
    assert page.evaluate(RED_EDGE_TEXTS) == ["∂y/∂v2 += 0.1807 × 1 = 0.1807"]

    page.keyboard.press("ArrowRight")
    assert page.text_content("#counter") == "step 1 / 6"
    assert page.text_content("#line") != line0
    assert page.text_content("#line").startswith("∂y/∂v2 = 0.1807")
    assert page.evaluate(SHOWN)["v2"] == "grad 0.1807"
    assert page.input_value("#slider") == "1"

    assert page.text_content("#line").count("\n") == 2  # its grad, then one line per product it sends

    page.keyboard.press("ArrowRight")  # the product x·w
    assert sorted(page.evaluate(RED_EDGE_TEXTS)) == sorted(
        ["∂y/∂x += −2 × 0.1807 = −0.3614", "∂y/∂w += 1 × 0.1807 = 0.1807"]
    )
    # the red outline sits on the current node, v1
    outline, v1 = page.evaluate("""() => {
      const r = document.querySelector("#frame g.graph > rect");
      const g = Array.from(document.querySelectorAll("#frame g.node"))
        .find(g => g.getElementsByTagName("text")[0].textContent === "v1");
      const b = g.getBBox();
      return [[+r.getAttribute("x"), +r.getAttribute("y")], [b.x - 1, b.y - 1]];
    }""")
    assert outline == pytest.approx(v1)

    for _ in range(10):  # past the end: stays on the last frame
        page.keyboard.press("ArrowRight")
    assert page.text_content("#counter") == "step 6 / 6"
    assert page.text_content("#line").startswith("done")
    last = page.evaluate(SHOWN)
    y.backward()
    for v in (x, w, b):
        assert last[v.label] == f"grad {num(v.grad)}"
    assert "grad ?" not in last.values()

    page.keyboard.press("ArrowLeft")
    assert page.text_content("#counter") == "step 5 / 6"
    page.click("#first")
    assert page.evaluate(SHOWN)["x"] == "grad ?"

    assert requests == [path.as_uri()]  # the file itself; nothing else was asked for
    assert errors == []
    page.close()


def test_forward_page_and_play_button(browser, tmp_path):
    x, w, b, y = neuron()
    path = mg.viz.save_steps_html(y, tmp_path / "forward.html", forward=True, interval=20)
    page, requests, errors = open_page(browser, path)
    shown = page.evaluate(SHOWN)
    assert list(shown.values()).count("data ?") == 5  # one leaf is computed at step 0
    page.click("#play")
    page.wait_for_function("() => document.getElementById('counter').textContent === 'step 6 / 6'",
                           timeout=5000)
    assert "data ?" not in page.evaluate(SHOWN).values()
    assert page.evaluate(SHOWN)["y"] == f"data {num(y.data)}"
    assert page.text_content("#play") == "▶ play"  # stopped by itself at the end
    assert requests == [path.as_uri()] and errors == []
    page.close()


def test_page_in_zh_tw(browser, tmp_path):
    x, w, b, y = neuron()
    with i18n.use_language("zh-TW"):
        path = mg.viz.save_steps_html(y, tmp_path / "backward.html", interval=20)
    page, requests, errors = open_page(browser, path)
    assert page.title() == "反向傳播，一步一步看"
    assert [page.text_content(f"#{b}") for b in ("first", "prev", "play", "next", "last")] == [
        "« 第一步", "◀ 上一步", "▶ 播放", "下一步 ▶", "最後一步 »"]
    assert page.text_content("#counter") == "第 0 / 6 步"
    assert "（連鎖律）" in page.text_content("#help")
    page.keyboard.press("ArrowRight")
    assert page.text_content("#counter") == "第 1 / 6 步"
    assert page.text_content("#line").startswith("∂y/∂v2 = 0.1807")  # the arithmetic is notation
    page.click("#play")
    assert page.text_content("#play") == "⏸ 暫停"
    page.wait_for_function("() => document.getElementById('counter').textContent === '第 6 / 6 步'",
                           timeout=5000)
    page.wait_for_function("() => document.getElementById('play').textContent === '▶ 播放'", timeout=5000)
    assert page.text_content("#line") == "完成：每個梯度都和 y.backward() 算出的一樣。"
    assert requests == [path.as_uri()] and errors == []
    page.close()
