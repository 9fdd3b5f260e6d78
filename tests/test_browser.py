"""The built demo gallery in a real browser: Debian's Chromium driven by Playwright, from file://."""

import os
import random
import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app

from .conftest import DEMO, MIRROR, requires_import, requires_mirror

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    requires_mirror,
    requires_import("playwright"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium (apt-get install chromium)"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=user-gesture-required",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, session_cache):
    out = tmp_path_factory.mktemp("browser") / "dist"
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(DEMO),
            "--out",
            str(out),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(session_cache),
            "--offline",
        ],
    )  # as the README's quick start
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    # ERR_ABORTED is Chromium dropping a request it no longer needs (a <picture> source chosen over the <img>
    # fallback the preload scanner had started); that every referenced file exists is checked separately.
    pg.on(
        "requestfailed",
        lambda r: (
            pg.problems.append(f"failed: {r.url} ({r.failure})") if "ERR_ABORTED" not in (r.failure or "") else None
        ),
    )
    yield pg
    context.close()


def wait_until(page, js: str, timeout: float = 10.0) -> None:
    """Poll a JS expression from Python: wait_for_function would eval() in the page, which the pages' CSP forbids."""
    import time

    end = time.monotonic() + timeout
    while not page.evaluate(js):
        assert time.monotonic() < end, f"timed out waiting for {js}"
        page.wait_for_timeout(100)


def url(out: Path, rel: str) -> str:
    return (out / rel).resolve().as_uri()


def test_every_page_loads_without_errors_and_every_link_resolves(site, page):
    g = orjson.loads((site / "gallery.json").read_bytes())
    pages = ["index.html", "slideshow.html", "credits.html"] + [im["page"] for im in g["images"]]
    for rel in pages:
        page.goto(url(site, rel))
        page.wait_for_load_state("networkidle")  # leave no request to be aborted by the next navigation
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        srcs = page.eval_on_selector_all("[src]", "els => els.map(e => e.src)")
        srcs += page.eval_on_selector_all(
            "[srcset]",
            "els => els.flatMap(e => e.srcset.split(',').map("
            "s => new URL(s.trim().split(' ')[0], document.baseURI).href))",
        )
        for target in hrefs + srcs:
            if target.startswith("file://"):
                assert Path(target[len("file://") :].split("#")[0].replace("%20", " ")).exists(), (rel, target)
        assert page.problems == [], rel


def test_every_picture_page_of_the_quick_start_gallery_plays_music(site, page):
    g = orjson.loads((site / "gallery.json").read_bytes())
    for im in g["images"]:
        page.goto(url(site, im["page"]))
        srcs = page.eval_on_selector_all("audio", "els => els.map(e => e.src)")
        assert len(srcs) == len(im["tracks"]) >= 1, im["file"]
        assert all(Path(s[len("file://") :].replace("%20", " ")).is_file() for s in srcs)
        assert page.locator(".noaudio").count() == 0
    im = g["images"][len(g["images"]) // 2]
    page.goto(url(site, im["page"]))
    assert page.evaluate("document.querySelector('audio').paused")
    page.click("audio")  # the click is the user gesture audio needs
    page.evaluate("document.querySelector('audio').play()")
    wait_until(page, "!document.querySelector('audio').paused && document.querySelector('audio').currentTime > 0.2")
    assert "Now playing" in page.inner_text("#announce")
    page.keyboard.press(" ")
    wait_until(page, "document.querySelector('audio').paused")
    assert page.problems == []


def test_keys_navigate(site, page):
    g = orjson.loads((site / "gallery.json").read_bytes())
    first, second = g["images"][0], g["images"][1]
    page.goto(url(site, first["page"]))
    page.keyboard.press("ArrowRight")
    page.wait_for_url(url(site, second["page"]))
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(url(site, first["page"]))
    page.keyboard.press("Escape")
    page.wait_for_url(url(site, "index.html"))
    assert page.problems == []


def test_the_plane_lists_the_same_tracks_as_the_python_index(site, page, session_cache):
    from builder.assets import AssetStore
    from builder.music.catalogue import load_deam
    from builder.music.index import MusicIndex

    cat = load_deam(AssetStore(session_cache, MIRROR, offline=True)).playable()
    index = MusicIndex(cat, session_cache)
    g = orjson.loads((site / "gallery.json").read_bytes())
    page.goto(url(site, g["images"][0]["page"]))
    rng = random.Random(5)
    for _ in range(50):
        v, a = rng.uniform(-1, 1), rng.uniform(-1, 1)
        assert page.evaluate(f"window.galleryNearest({v}, {a}, 5)") == [t.id for t in index.nearest((v, a), 5)]
    # and through the interface: a click on the plane lists and offers to play the nearest tracks
    page.locator("#plane").scroll_into_view_if_needed()
    box = page.locator("#plane").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    ids = page.eval_on_selector_all("#explore-results li", "els => els.map(e => e.dataset.id)")
    assert len(ids) == 5 and page.locator("#explore-results audio").count() == 5
    v, a = page.evaluate(
        "[Number(document.getElementById('probe').getAttribute('cx')), "
        "Number(document.getElementById('probe').getAttribute('cy'))]"
    )
    assert v > 160 and a < 160  # the probe sits where the click was: pleasant and excited


def test_the_slideshow_advances_in_its_documented_order(site, page):
    g = orjson.loads((site / "gallery.json").read_bytes())
    assert sorted(g["slideshow"]) == sorted(im["file"] for im in g["images"])
    page.goto(url(site, "slideshow.html"))
    assert page.evaluate("window.gallerySlideshow.total") == len(g["slideshow"])
    page.select_option("#show-interval", "10")
    page.evaluate(
        "(() => { const s = document.getElementById('show-interval'), o = document.createElement('option');"
        " o.value = '1'; o.textContent = '1 s'; s.appendChild(o); s.value = '1'; })()"
    )  # 1 s, for the test
    page.click("#show-start")
    wait_until(page, "document.body.dataset.slide === '2'", timeout=8)
    page.click("#show-pause")
    slide, caption = page.evaluate("[document.body.dataset.slide, document.getElementById('show-caption').textContent]")
    assert int(slide) in (2, 3) and caption.startswith(g["slideshow"][int(slide)])
    assert page.evaluate("window.gallerySlideshow.state().paused")
    assert page.problems == []


@pytest.fixture(scope="module")
def paged(tmp_path_factory, session_cache):
    """The demo with pages of 5 cards and shards of 4 pictures: 13 pictures make 3 index pages and 4 shards."""
    from builder.gallery import site as site_module

    out = tmp_path_factory.mktemp("paged") / "dist"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(site_module, "PAGE_SIZE", 5)
        mp.setattr(site_module, "SHARD_SIZE", 4)
        result = CliRunner().invoke(
            app,
            [
                "build",
                str(DEMO),
                "--out",
                str(out),
                "--mirror",
                str(MIRROR),
                "--cache-dir",
                str(session_cache),
                "--offline",
            ],
        )
    assert result.exit_code == 0, result.output
    return out, orjson.loads((out / "gallery.json").read_bytes())


def cards(page) -> list[str]:
    return page.eval_on_selector_all(".grid .card .name", "els => els.map(e => e.textContent)")


def test_the_index_is_paged_and_filtered_by_quadrant_without_scripts(paged, browser):
    out, g = paged
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    seen = []
    page.goto(url(out, "index.html"))
    while True:
        seen += cards(page)
        assert len(cards(page)) <= 5
        nxt = page.locator(".paging a[rel=next]").first
        if not nxt.count():
            break
        nxt.click()
        page.wait_for_load_state("load")
    assert seen == [im["file"] for im in g["images"]]  # every picture once, in gallery order, over 3 pages
    for q in (1, 2, 3, 4):
        mine = [im["file"] for im in g["images"] if im["quadrant"] == q]
        if not mine:
            continue
        page.goto(url(out, "index.html"))
        page.click(f".filters a.q{q}")
        assert cards(page) == mine[:5]
        assert page.locator(".filters [aria-current]").inner_text().endswith(f"({len(mine)})")
    context.close()


def test_search_by_name_reads_every_shard(paged, page):
    out, g = paged
    page.goto(url(out, "index.html"))
    last = g["images"][-1]["file"]  # in the last shard, on the last page
    page.fill("#search", last.rsplit(".", 1)[0].upper())
    wait_until(page, "document.getElementById('search-status').textContent.indexOf('named like') >= 0")
    links = page.eval_on_selector_all("#search-results a", "els => els.map(e => [e.textContent, e.href])")
    assert [t for t, _ in links] == [last]
    page.click("#search-results a")
    page.wait_for_url(url(out, g["images"][-1]["page"]))
    page.go_back()
    page.fill("#search", "no picture has this name")
    wait_until(page, "document.getElementById('search-status').textContent.indexOf('No picture') >= 0")
    assert page.locator("#search-results li").count() == 0
    page.fill("#search", ".jpg")
    n = len(g["images"])
    wait_until(page, f"document.getElementById('search-status').textContent.indexOf('{n} pictures named') === 0")
    assert page.locator("#search-results li").count() == n
    assert page.problems == []


def test_the_slideshow_crosses_shards(paged, page):
    out, g = paged
    page.goto(url(out, "slideshow.html"))
    for i in (0, 3, 4, 9, 12, 5):  # shards of 4: into, across and back over their edges
        page.evaluate(f"window.gallerySlideshow.go({i})")
        wait_until(page, f"document.body.dataset.slide === '{i}'")
        assert page.inner_text("#show-caption").startswith(g["slideshow"][i])
    page.click("#show-start")  # playing crosses from the last slide back to the first (loop)
    page.evaluate(f"window.gallerySlideshow.go({len(g['slideshow']) - 1})")
    page.click("#show-next")
    wait_until(page, "document.body.dataset.slide === '0'")
    assert page.problems == []
