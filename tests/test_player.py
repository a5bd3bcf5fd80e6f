"""Step-through pictures: draw_dot(step=, forward=), the Jupyter player, the HTML page, the CLI.

Frames are checked through their DOT source and, where Graphviz is installed
(always in CI), through dot's own layout: every node at the same coordinates
in every frame.  The page is opened in a real browser in test_player_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd_tw as mg
from micrograd_tw import i18n, player, viz
from micrograd_tw.steps import STEP_LIMIT, num

ROOT = Path(__file__).resolve().parents[1]

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it)",
)
CJK = re.compile("[\u4e00-\u9fff]")


def neuron():
    x, w, b = mg.Value(1.0, label="x"), mg.Value(-2.0, label="w"), mg.Value(0.5, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return x, w, b, y


def box_texts(src: str) -> dict[str, list[str]]:
    """Each value box's cell texts, by the box's name cell."""
    boxes = {}
    for m in re.finditer(r"^\s*n\d+ \[label=<<TABLE.*$", src, re.M):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<TD[^>]*>(.*?)</TD>", m.group(0))]
        boxes[cells[0]] = cells[1:]
    return boxes


def edge_labels(src: str) -> dict[str, str]:
    """Each chain-rule product on an edge, and its ink."""
    labels = {}
    for line in src.splitlines():
        label = re.search(r'label="([^"]*)"', line)
        if "->" in line and label:
            labels[label[1]] = re.search(r'fontcolor="?([^" \]]+)', line)[1]
    return labels


# ------------------------------------------------------------------ frames


def test_step_zero_knows_only_the_roots_grad():
    x, w, b, y = neuron()
    src = mg.draw_dot(y, step=0).source
    boxes = box_texts(src)
    assert boxes["y"] == ["data −0.9051", "grad 1"]
    for name in ("x", "w", "b", "v1", "v2"):
        assert boxes[name][1] == "grad ?", name
    # the root is outlined, and its one edge carries its product in red
    assert re.search(r'n5 \[label=<<TABLE BORDER="2" COLOR="#dc2626"', src)
    labels = edge_labels(src)
    assert labels["∂y/∂v2 += 0.1807 × 1 = 0.1807"] == "#dc2626"
    assert labels["∂y/∂x += −2 × 0.1807 = −0.3614"] == "transparent"  # not sent yet


def test_middle_frame_shows_sent_products_and_partial_grads():
    x, w, b, y = neuron()
    src = mg.draw_dot(y, step=2).source  # the product x·w is being processed
    boxes = box_texts(src)
    assert boxes["v1"][1] == "grad 0.1807"
    assert boxes["x"][1] == "grad ?" and boxes["w"][1] == "grad ?"
    labels = edge_labels(src)
    assert labels["∂y/∂x += −2 × 0.1807 = −0.3614"] == "#dc2626"
    assert labels["∂y/∂w += 1 × 0.1807 = 0.1807"] == "#dc2626"
    assert labels["∂y/∂v2 += 0.1807 × 1 = 0.1807"] == "#9ca3af"  # sent earlier: grey


def test_a_grad_waiting_for_more_amounts_says_so():
    x = mg.Value(3.0, label="x")
    y = x * x + x  # x gets amounts from two nodes
    y.label = "y"
    frames = [box_texts(mg.draw_dot(y, step=k).source)["x"][1] for k in range(4)]
    assert frames == ["grad ?", "grad 1 + …", "grad 7", "grad 7"]


def test_last_frame_grads_equal_backward():
    x, w, b, y = neuron()
    last = len(mg.toposort(y))
    boxes = box_texts(mg.draw_dot(y, step=last).source)
    y.backward()
    for v in (x, w, b):
        assert boxes[v.label][1] == f"grad {num(v.grad)}"


def test_forward_frames_show_values_in_order():
    x, w, b, y = neuron()
    steps = mg.forward_steps(y)
    names = {x: "x", w: "w", b: "b", y: "y", steps[3].node: "v1", steps[4].node: "v2"}
    for k in range(len(steps) + 1):
        boxes = box_texts(mg.draw_dot(y, step=k, forward=True).source)
        for i, s in enumerate(steps):
            expected = f"data {num(s.value)}" if i <= k else "data ?"
            assert boxes[names[s.node]] == [expected], (k, names[s.node])
    # forward=True without a step: everything computed
    assert "data ?" not in mg.draw_dot(y, forward=True).source


def test_x_times_x_draws_two_labelled_edges():
    x = mg.Value(3.0, label="x")
    y = x * x
    y.label = "y"
    src = mg.draw_dot(y, step=0).source
    assert len(re.findall(r"n0 -> op1", src)) == 2
    assert src.count('label="∂y/∂x += 3 × 1 = 3"') == 2


def test_sum_and_dot_frames():
    a, c = mg.Value(1.5, label="a"), mg.Value(0.25, label="c")
    y = mg.sum([mg.dot([a, 3.0], [c, a]), c, 1.0])
    src = mg.draw_dot(y, step=1).source
    assert "Σ wᵢxᵢ" in src and "Σ" in src
    assert 'label="∂out/∂a += 0.25 × 1 = 0.25"' in src  # ∂dot/∂w = x
    assert 'label="∂out/∂a += 3 × 1 = 3"' in src  # ∂dot/∂x = w


def test_labels_are_escaped():
    x = mg.Value(1.0, label='<b>&"x"\\N')
    y = x * 2.0
    src = mg.draw_dot(y, step=0).source
    assert "&lt;b&gt;&amp;&quot;x&quot;\\\\N" in src


@needs_dot
def test_every_frame_places_every_node_alike():
    """dot's own layout of each frame: the same coordinates for every node and edge."""
    a, b = mg.Value(0.5, label="a"), mg.Value(-1.5, label="b")
    h = (a * b + a).tanh()
    y = mg.sum([h * h, mg.dot([a, b], [h, 2.0]), b.exp()])
    y.label = "y"
    n = len(mg.toposort(y))
    for forward in (False, True):
        layouts = []
        for k in range(n + 1):
            out = json.loads(mg.draw_dot(y, step=k, forward=forward).pipe(format="json"))
            nodes = {o["name"]: (o["pos"], o["width"], o["height"]) for o in out["objects"]}
            edges = [(e["tail"], e["head"], e["pos"], e.get("lp")) for e in out["edges"]]
            layouts.append((out["bb"], nodes, edges))
        assert len(layouts[0][1]) == 2 * n - 2  # value boxes and op nodes (2 leaves)
        for k, layout in enumerate(layouts):
            assert layout == layouts[0], f"frame {k} (forward={forward}) moved"


@needs_dot
def test_frames_differ_where_they_should():
    x, w, b, y = neuron()
    svgs = [mg.draw_dot(y, step=k).pipe(format="svg").decode() for k in range(7)]
    assert len(set(svgs)) == 7
    assert "grad ?" in svgs[0] and "grad ?" not in svgs[6]


@pytest.mark.parametrize("step", [-1, 8, 100])
def test_step_out_of_range(step):
    x, w, b, y = neuron()
    with pytest.raises(ValueError, match=rf"step={step} is out of range: this graph has 6 steps"):
        mg.draw_dot(y, step=step)


def test_bad_step_type_and_root():
    x, w, b, y = neuron()
    with pytest.raises(TypeError, match="step must be an int, got float"):
        mg.draw_dot(y, step=1.0)
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        mg.draw_dot(2.0, step=0)
    with pytest.raises(TypeError, match="root must be a Value"):
        mg.viz.save_steps_html("y", "x.html")
    with pytest.raises(ValueError, match="rankdir must be one of"):
        mg.draw_dot(y, step=0, rankdir="XY")


def test_frames_of_a_big_graph_are_refused():
    x = mg.Value(1.0)
    y = x
    for _ in range(110):
        y = y * 1.01 + 0.5
    with pytest.raises(ValueError, match=r"221 nodes, above the step limit max_steps=200"):
        mg.draw_dot(y, step=0)
    assert "grad 1" in mg.draw_dot(y, step=0, max_steps=221).source
    with pytest.raises(ValueError, match="221 nodes"):
        mg.viz.play_backward(y)


def test_draw_dot_without_step_is_unchanged():
    x, w, b, y = neuron()
    src = mg.draw_dot(y).source
    assert "grad ?" not in src and "∂y" not in src


# ------------------------------------------------------------------ the Jupyter player


@needs_dot
def test_widget_slider_drives_frame_and_line():
    pytest.importorskip("ipywidgets")
    x, w, b, y = neuron()
    lines = player.film(y).lines
    wdg = mg.viz.play_backward(y)
    assert wdg.slider.max == 6 and wdg.play.max == 6
    first = wdg.frame.value
    assert first.startswith("<svg") and "grad ?" in first
    assert lines[0].replace("; ", "\n") in html_unescape(wdg.line.value)  # a product per line
    wdg.slider.value = 2
    assert wdg.frame.value != first
    assert "∂y/∂x += −2 × 0.1807 = −0.3614" in wdg.frame.value
    assert lines[2].replace("; ", "\n") in html_unescape(wdg.line.value)
    assert "∂y/∂x += ∂v1/∂x" in lines[2]
    wdg.slider.value = 6
    y.backward()
    assert f"grad {num(w.grad)}" in wdg.frame.value and "grad ?" not in wdg.frame.value
    assert "done" in wdg.line.value
    fwd = mg.viz.play_forward(y)
    assert "data ?" in fwd.frame.value
    fwd.slider.value = 6
    assert "data ?" not in fwd.frame.value


def html_unescape(s: str) -> str:
    import html

    return html.unescape(s)


# ------------------------------------------------------------------ the HTML page


@needs_dot
def test_page_is_self_contained(tmp_path):
    x, w, b, y = neuron()
    path = mg.viz.save_steps_html(y, tmp_path / "backward.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 1
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", text)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/(?!2000/svg|1999/xlink|Graphics)", text)
    assert "@import" not in text and "url(" not in text
    data = json.loads(re.search(r'<script id="steps" type="application/json">(.*?)</script>', text, re.S)[1])
    assert len(data["lines"]) == 7 and len(data["grads"]) == 6  # a line per frame, changes per node
    y.backward()
    last = dict(zip(data["names"], (changes[-1][1] for changes in data["grads"])))
    assert last["w"] == f"grad {num(w.grad)}" and last["x"] == f"grad {num(x.grad)}"
    assert w.grad != 0.0  # (backward above; the page itself changed nothing)


def test_page_data_cannot_end_its_script(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed")
    x = mg.Value(1.0, label="</script><script>alert(1)</script>")
    text = mg.viz.steps_html(x * 2.0)
    assert text.count("</script>") == 2  # the data's and the code's, nothing from the label


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_interval_must_be_positive_ms(bad, tmp_path):
    x, w, b, y = neuron()
    with pytest.raises(ValueError, match="interval must be a positive number of milliseconds"):
        mg.viz.save_steps_html(y, tmp_path / "p.html", interval=bad)
    assert not (tmp_path / "p.html").exists()


# ------------------------------------------------------------------ the command line


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """python -m micrograd_tw ARGS; ``env`` replaces the language variables (English by default)."""
    language = ("MICROGRAD_TW_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
    base = {k: v for k, v in os.environ.items() if k not in language} if env else dict(os.environ)
    env = {**base, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "micrograd_tw", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@needs_dot
def test_cli_steps_writes_the_page(tmp_path):
    r = cli("graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--steps", "-o", "backward.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "6 backward steps" in r.stdout
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert "∂f/∂w += 1 × " in text and "<svg" in text


def test_cli_steps_errors_are_one_line(tmp_path):
    r = cli("graph", "x*w", "x=1", "w=2", "--steps", "-o", "g.svg", cwd=tmp_path)
    assert r.returncode == 2 and "ending in .html" in r.stderr and len(r.stderr.splitlines()) == 1
    big = "+".join(["x*x"] * 110)
    r = cli("graph", big, "x=1", "--steps", "-o", "big.html", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "220 nodes, more than the 200 that --steps shows" in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "big.html").exists()


# ------------------------------------------------------------------ the README's animation


@needs_dot
def test_readme_animation_has_a_frame_per_step(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    import runpy

    script = runpy.run_path(str(ROOT / "docs" / "make_pictures.py"))
    path = script["backprop_steps"](tmp_path / "steps.gif")
    y = script["neuron"]()
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.info.get("loop") == 0
        assert gif.n_frames == len(mg.toposort(y)) + 1  # 8 nodes: 9 frames
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB").tobytes())
    assert len(set(frames)) == len(frames)  # every step changes the picture


@needs_dot
def test_graph_tour_writes_the_step_through(tmp_path):
    env = {**os.environ, "STEPS": "1", "OUT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "graph_tour.py")], capture_output=True,
                       text=True, encoding="utf-8", env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "y sends ∂y/∂(+) += " in r.stdout and "(dot) sends ∂y/∂w1 += " in r.stdout
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert text.count("<svg") == 1 and "∂y/∂w1 += " in text


# ------------------------------------------------------------------ the READMEs


@needs_dot
@pytest.mark.parametrize(("readme", "heading"), [("README.md", "## Watch backprop step by step"),
                                                 ("README.zh-TW.md", "## 一步一步看反向傳播")])
def test_readme_section_runs(readme, heading, tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    text = (ROOT / readme).read_text(encoding="utf-8")
    section = text[text.index(heading):]
    section = section[: section.index("\n## ", 1)]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    assert "(docs/images/backprop_steps.gif)" in section
    assert (ROOT / "docs" / "images" / "backprop_steps.gif").exists()
    monkeypatch.chdir(tmp_path)
    exec("import micrograd_tw as mg\n" + code, {})  # noqa: S102 - our own README
    assert (tmp_path / "backward.html").read_text(encoding="utf-8").count("<svg") == 1
    cmd = re.search(r"python -m micrograd_tw (graph .*--steps -o backward.html)", section)[1]
    assert cmd == 'graph "tanh(x*w + b)" x=1 w=-2 b=0.5 --steps -o backward.html'


# ------------------------------------------------------------------ in 繁體中文

ZH_PAGE_WORDS = ("« 第一步", "◀ 上一步", "▶ 播放", "下一步 ▶", "最後一步 »", "縮放到視窗寬度",
                 'title="上一步（←）"', 'title="播放／暫停（空白鍵）"', 'aria-label="步數"')
EN_PAGE_WORDS = ("« first", "◀ back", "▶ play", "next ▶", "last »", "fit the width",
                 'title="previous step (←)"', 'title="play / pause (space)"', 'aria-label="step"')


def page_data(text: str) -> dict:
    return json.loads(re.search(r'<script id="steps" type="application/json">(.*?)</script>', text, re.S)[1])


@needs_dot
def test_page_speaks_the_users_language(tmp_path):
    x, w, b, y = neuron()
    english = mg.viz.save_steps_html(y, tmp_path / "en.html").read_text(encoding="utf-8")
    with i18n.use_language("zh-TW"):
        chinese = mg.viz.save_steps_html(y, tmp_path / "zh.html").read_text(encoding="utf-8")

    assert '<html lang="zh-Hant-TW">' in chinese and "<title>反向傳播，一步一步看</title>" in chinese
    assert all(word in chinese for word in ZH_PAGE_WORDS)
    assert not any(word in chinese for word in EN_PAGE_WORDS)
    # the help line: the chain rule with Chinese words, and the word for it
    assert "∂y/∂父節點 += ∂節點/∂父節點 × ∂y/∂節點（連鎖律）" in chinese
    zh = page_data(chinese)
    assert zh["text"] == {"counter": "第 {k} / {last} 步", "play": "▶ 播放", "pause": "⏸ 暫停"}
    assert zh["lines"][-1] == "完成：每個梯度都和 y.backward() 算出的一樣。"
    assert "x 是葉節點：它的梯度不會再變了。" in " ".join(zh["lines"])

    assert '<html lang="en">' in english and "<title>Backprop, step by step</title>" in english
    assert all(word in english for word in EN_PAGE_WORDS)
    assert "∂y/∂parent += ∂node/∂parent × ∂y/∂node (the chain rule)" in english
    assert not CJK.search(english)
    en = page_data(english)
    assert en["text"] == {"counter": "step {k} / {last}", "play": "▶ play", "pause": "⏸ pause"}
    assert en["lines"][-1] == "done: every grad is what y.backward() gives."

    # numbers and notation are the same in both: the drawing, and the arithmetic of every step
    svg = re.compile(r"<svg.*</svg>", re.S)
    assert svg.search(chinese)[0] == svg.search(english)[0]
    assert zh["lines"][2] == en["lines"][2]
    assert "∂y/∂x += ∂v1/∂x × ∂y/∂v1 = −2 × 0.1807 = −0.3614" in en["lines"][2]
    assert zh["grads"] == en["grads"]  # "grad ?" is the .grad attribute, not a word


@needs_dot
def test_forward_page_in_zh_tw(tmp_path):
    x, w, b, y = neuron()
    with i18n.use_language("zh-TW"):
        text = mg.viz.steps_html(y, forward=True)
    assert "<title>前向傳播，一步一步看</title>" in text
    assert "紅框標出的節點由它的輸入算出自己的值；data ? 是還沒算出的值" in text
    lines = page_data(text)["lines"]
    assert "x = 1（葉節點：給定的值）" in lines and lines[-1] == "完成：y = −0.9051"
    assert mg.viz.steps_html(y, forward=True, title="我的標題").count("<title>我的標題</title>") == 1


@needs_dot
def test_widget_labels_in_zh_tw():
    pytest.importorskip("ipywidgets")
    x, w, b, y = neuron()
    with i18n.use_language("zh-TW"):
        wdg = mg.viz.play_backward(y)
    assert (wdg.play.description, wdg.slider.description) == ("播放", "步數")
    wdg.slider.value = 6
    assert "完成：每個梯度都和 y.backward() 算出的一樣。" in wdg.line.value
    english = mg.viz.play_backward(y)
    assert (english.play.description, english.slider.description) == ("Play", "step")


# ------------------------------------------------------------------ the CLI's limit, in the CLI's terms


def test_cli_step_limit_says_what_a_cli_user_can_do(tmp_path):
    # 70 products x_i*y and 69 sums, 70 leaves x_i and y: 210 nodes, each leaf used once or by one op chain
    names = [f"x{i}" for i in range(70)]
    wide = "+".join(f"{n}*y" for n in names)
    values = [f"{n}=1" for n in names] + ["y=2"]
    # x*x 110 times: 220 nodes, and x used by 110 operations far apart (a picture is refused too)
    many = "+".join(["x*x"] * 110)
    for formula, args, count, advice in (
        (wide, values, 210, "or draw the whole graph without --steps: -o big.svg"),
        (many, ["x=1"], 220, "or write the whole graph's DOT source without --steps: -o big.dot"),
    ):
        r = cli("graph", formula, *args, "--steps", "-o", "big.html", cwd=tmp_path)
        assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
        assert (f"the formula's graph has {count} nodes, more than the {STEP_LIMIT} that --steps shows one "
                f"at a time; step through a smaller formula (a part of this one), {advice}") in r.stderr
        assert "max_steps" not in r.stderr
        assert not (tmp_path / "big.html").exists()
        # the advice works as given
        out = advice.rsplit(" ", 1)[1]
        r = cli("graph", formula, *args, "-o", out, cwd=tmp_path)
        if out.endswith(".svg") and shutil.which("dot") is None and not os.environ.get("CI"):
            continue  # without any renderer the picture itself cannot be drawn here
        assert r.returncode == 0, r.stderr
        assert (tmp_path / out).exists()
    r = cli("graph", many, "x=1", "-o", "big.svg", cwd=tmp_path)  # the .dot advice above was needed
    assert r.returncode == 2 and "layout points" in r.stderr

    r = cli("graph", many, "x=1", "--steps", "-o", "big.html", "--lang", "zh-TW", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert ("這個公式的計算圖有 220 個節點，超過 --steps 一次一個節點播放的上限 200 個；請逐步播放較小的公式"
            "（這個公式的一部分），或不加 --steps 寫出整張圖的 DOT 原始碼：-o big.dot") in r.stderr


@needs_dot
def test_cli_steps_in_zh_tw(tmp_path):
    r = cli("graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--steps", "-o", "backward.html",
            "--lang", "zh-TW", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["f = tanh(x*w + b) = -0.9051482536：反向傳播共 6 步",
                                     "已寫出 backward.html（用瀏覽器開啟：← → 上一步／下一步，空白鍵播放）"]
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert all(word in text for word in ZH_PAGE_WORDS) and "∂f/∂父節點" in text
    r = cli("graph", "x*w", "x=1", "w=2", "--steps", "-o", "g.svg", "--lang", "zh-TW", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert "-o g.svg：--steps 寫出的是網頁；請給以 .html 結尾的檔名，例如 -o backward.html" in r.stderr
    # the package's variable and the locale ask for it too
    for env in ({"MICROGRAD_TW_LANG": "zh-TW"}, {"LANG": "zh_TW.UTF-8"}):
        r = cli("graph", "x*w", "x=1", "w=2", "--steps", "-o", "env.html", cwd=tmp_path, env=env)
        assert r.returncode == 0 and "反向傳播共 3 步" in r.stdout, (env, r.stderr)
        assert "▶ 播放" in (tmp_path / "env.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ without Graphviz's dot


@pytest.fixture
def pure_only(tmp_path, monkeypatch):
    """A PATH without `dot`: graphviz-pure (a dependency, found beside Python's scripts) draws."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    renderer = viz.find_renderer()
    if renderer is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz-pure must be installed in CI")
        pytest.skip("the graphviz-pure package is not installed")
    assert Path(renderer).name.startswith("graphviz-pure")
    return tmp_path


def test_page_without_dot_is_drawn_by_graphviz_pure(pure_only):
    x, w, b, y = neuron()
    path = mg.viz.save_steps_html(y, pure_only / "backward.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("<svg") == 1
    # what the page's script needs from the drawing: the graph group, each node's group with its
    # grad as the last text, each edge's group with its product, each op and op-to-node edge
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.fromstring(re.search(r"<svg.*</svg>", text, re.S)[0])
    groups = {g.get("id"): g for g in svg.iter(f"{ns}g")}
    assert svg.find(f"{ns}g").get("class") == "graph"
    data = page_data(text)
    for i, changes in enumerate(data["grads"]):
        texts = ["".join(t.itertext()) for t in groups[f"n{i}"].iter(f"{ns}text")]
        assert texts[-1] == changes[-1][1]  # the last frame's grad, where the script writes each frame's
    y.backward()
    assert data["grads"][data["names"].index("w")][-1][1] == f"grad {num(w.grad)}"
    for edge_id, _node in data["edges"]:
        (label,) = ["".join(t.itertext()) for t in groups[edge_id].iter(f"{ns}text")]
        assert label.startswith("∂y/∂")
    assert {"op3", "r3", "op5", "r5"} <= set(groups)


def test_page_without_any_renderer_fails_clearly(tmp_path, monkeypatch, capsys):
    from micrograd_tw.__main__ import main

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(viz, "PURE_PROGRAM", "no-such-graphviz-pure")
    assert viz.find_renderer() is None
    x, w, b, y = neuron()
    with pytest.raises(viz.GraphvizNotFoundError, match="graphviz-pure"):
        mg.viz.save_steps_html(y, tmp_path / "backward.html")
    assert not (tmp_path / "backward.html").exists()
    out = tmp_path / "cli.html"
    assert main(["graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--steps", "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert f"cannot write {out}: its drawing needs Graphviz: pip install graphviz-pure" in captured.err
    assert not out.exists()
