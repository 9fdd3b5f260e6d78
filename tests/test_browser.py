"""The built demo gallery in a real browser: Debian's Chromium driven by Playwright, from
file://."""

import random
import re
import shutil
from pathlib import Path

import orjson
import pytest

from .conftest import DEMO, MIRROR, cli_build, in_chromium

pytestmark = in_chromium


@pytest.fixture(scope="module")
def site(demo_build):
    """The demo built as the README's quick start (the session's one build of it)."""
    return demo_build[0]


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.problems = []
    pg.on(
        "console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None
    )
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    # ERR_ABORTED is Chromium dropping a request it no longer needs (a <picture> source chosen over
    # the <img> fallback the preload scanner had started); that every referenced file exists is
    # checked separately.
    pg.on(
        "requestfailed",
        lambda r: (
            pg.problems.append(f"failed: {r.url} ({r.failure})")
            if "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    yield pg
    context.close()


def wait_until(page, js: str, timeout: float = 10.0) -> None:
    """Poll a JS expression from Python: wait_for_function would eval() in the page, which the
    pages' CSP forbids."""
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
        page.wait_for_load_state(
            "networkidle"
        )  # leave no request to be aborted by the next navigation
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        srcs = page.eval_on_selector_all("[src]", "els => els.map(e => e.src)")
        srcs += page.eval_on_selector_all(
            "[srcset]",
            "els => els.flatMap(e => e.srcset.split(',').map("
            "s => new URL(s.trim().split(' ')[0], document.baseURI).href))",
        )
        for target in hrefs + srcs:
            if target.startswith("file://"):
                assert Path(target[len("file://") :].split("#")[0].replace("%20", " ")).exists(), (
                    rel,
                    target,
                )
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
    wait_until(
        page,
        "!document.querySelector('audio').paused && document.querySelector('audio').currentTime > "
        "0.2",
    )
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
        assert page.evaluate(f"window.galleryNearest({v}, {a}, 5)") == [
            t.id for t in index.nearest((v, a), 5)
        ]
    # and through the interface: a click on the plane lists and offers to play the nearest tracks
    assert not page.locator("#plane").is_visible()  # the reasons wait behind their disclosure
    page.click("#why > summary")
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
        "(() => { const s = document.getElementById('show-interval'), o = "
        "document.createElement('option');"
        " o.value = '1'; o.textContent = '1 s'; s.appendChild(o); s.value = '1'; })()"
    )  # 1 s, for the test
    page.click("#show-start")
    wait_until(page, "document.body.dataset.slide === '2'", timeout=8)
    page.click("#show-pause")
    slide, title = page.evaluate(
        "[document.body.dataset.slide, document.getElementById('show-title').textContent]"
    )
    assert int(slide) in (2, 3) and title == Path(g["slideshow"][int(slide)]).stem
    assert page.evaluate("window.gallerySlideshow.state().paused")
    assert page.problems == []


def test_a_film_in_the_gallery_is_offered_on_the_index(site, page, tmp_path):
    """`builder film` points film.js at a film it wrote into the gallery; the index offers it."""
    gallery = tmp_path / "dist"
    shutil.copytree(site, gallery, symlinks=True)
    (gallery / "exhibition.mp4").write_bytes(b"\0" * 3_000_000)
    (gallery / "film.js").write_text(
        'window.GALLERY_FILM = {"href": "exhibition.mp4", "size": 3000000, "duration": 75.4};\n'
    )
    page.goto(url(gallery, "index.html"))
    link = page.locator("#download-film")
    assert link.inner_text() == "Download the film (1:15, 3 MB)"
    assert link.get_attribute("href") == "exhibition.mp4" and link.get_attribute("download") == ""
    page.goto(url(site, "index.html"))  # as built: no film, no link
    assert page.locator("#download-film").count() == 0 and page.problems == []


@pytest.fixture(scope="module")
def paged(tmp_path_factory, session_cache):
    """The demo with pages of 5 cards and shards of 4 pictures: 13 pictures make 3 index pages and 4
    shards."""
    from builder.gallery import data, pages

    out = tmp_path_factory.mktemp("paged") / "dist"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pages, "PAGE_SIZE", 5)
        mp.setattr(data, "SHARD_SIZE", 4)
        result = cli_build(DEMO, out, session_cache)
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
    # every picture once, in gallery order, over 3 pages, by name (no title: its file's stem)
    assert seen == [Path(im["file"]).stem for im in g["images"]]
    for q in (1, 2, 3, 4):
        mine = [Path(im["file"]).stem for im in g["images"] if im["quadrant"] == q]
        if not mine:
            continue
        page.goto(url(out, "index.html"))
        page.click("details.find > summary")  # the filters wait behind one control
        page.click(f".filters a.q{q}")
        assert cards(page) == mine[:5]
        assert page.locator(".filters [aria-current]").inner_text().endswith(f"({len(mine)})")
    context.close()


def test_search_by_name_reads_every_shard(paged, page):
    out, g = paged
    page.goto(url(out, "index.html"))
    last = g["images"][-1]["file"]  # in the last shard, on the last page
    page.click("details.find > summary")
    page.fill("#search", last.rsplit(".", 1)[0].upper())
    wait_until(
        page, "document.getElementById('search-status').textContent.indexOf('named like') >= 0"
    )
    links = page.eval_on_selector_all(
        "#search-results a", "els => els.map(e => [e.textContent, e.href])"
    )
    assert [t for t, _ in links] == [Path(last).stem]  # its name, not its file
    page.click("#search-results a")
    page.wait_for_url(url(out, g["images"][-1]["page"]))
    page.go_back()
    page.click("details.find > summary")
    page.fill("#search", "no picture has this name")
    wait_until(
        page, "document.getElementById('search-status').textContent.indexOf('No picture') >= 0"
    )
    assert page.locator("#search-results li").count() == 0
    page.fill("#search", ".jpg")
    n = len(g["images"])
    wait_until(
        page,
        f"document.getElementById('search-status').textContent.indexOf('{n} pictures named') === 0",
    )
    assert page.locator("#search-results li").count() == n
    assert page.problems == []


def test_the_slideshow_crosses_shards(paged, page):
    out, g = paged
    page.goto(url(out, "slideshow.html"))
    for i in (0, 3, 4, 9, 12, 5):  # shards of 4: into, across and back over their edges
        page.evaluate(f"window.gallerySlideshow.go({i})")
        wait_until(page, f"window.gallerySlideshow.shown() === {g['slideshow'][i]!r}")
        assert page.inner_text("#show-title") == Path(g["slideshow"][i]).stem
    page.click("#show-start")  # playing crosses from the last slide back to the first (loop)
    page.evaluate(f"window.gallerySlideshow.go({len(g['slideshow']) - 1})")
    page.click("#show-next")
    wait_until(page, "document.body.dataset.slide === '0'")
    assert page.problems == []


# ---- the viewer: one page, the music flows ----

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

LOUDEST = """(() => {
  const on = Array.from(document.querySelectorAll('audio')).filter(a => !a.paused);
  if (!on.length) { return null; }
  on.sort((x, y) => y.volume - x.volume);
  return decodeURI(new URL(on[0].src).pathname);
})()"""

PHOTO = """(() => {
  const open = '.pswp__item:not([aria-hidden="true"]) ';
  const img = document.querySelector(open + 'img.pswp__img:not(.pswp__img--placeholder)');
  if (!img || !img.complete) { return null; }
  const r = img.getBoundingClientRect();
  return [r.width, r.height, window.innerWidth, window.innerHeight];
})()"""


def page_id(im: dict) -> str:
    return Path(im["page"]).stem


def open_index(browser, site, screen: str, hash_: str = ""):
    context = browser.new_context(viewport=SCREENS[screen])
    pg = context.new_page()
    pg.problems = []
    pg.on(
        "console", lambda m: pg.problems.append(m.text) if m.type in ("error", "warning") else None
    )
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.goto(url(site, "index.html") + hash_)
    pg.evaluate("window.sameDocument = 'yes'")  # gone if anything loads a new page
    return context, pg


@pytest.mark.parametrize("screen", SCREENS)
def test_the_viewer_moves_between_pictures_and_the_music_never_stops(site, browser, screen):
    g = orjson.loads((site / "gallery.json").read_bytes())
    images = g["images"]
    context, page = open_index(browser, site, screen)
    page.click(".grid a.card >> nth=0")
    wait_until(page, "window.galleryViewer.isOpen()")
    assert page.url.endswith("#" + page_id(images[0]))
    page.keyboard.press(" ")  # the gesture that starts the music
    for step in range(6):
        im = images[step % len(images)]
        if step:
            page.keyboard.press("ArrowRight")
        wait_until(page, f"window.galleryViewer.index() === {step % len(images)}")
        assert page.evaluate("window.sameDocument") == "yes", "a page was loaded"
        assert page.evaluate(LOUDEST) is not None, (
            f"silence at step {step}"
        )  # some audio plays at every step
        audio = str((site / im["tracks"][0]["audio"]).resolve())
        wait_until(
            page, f"({LOUDEST}) === {audio!r}", timeout=3
        )  # the crossfade has reached the first track
        assert page.url.endswith("#" + page_id(im))
        wait_until(page, f"({PHOTO}) !== null")
        w, h, vw, vh = page.evaluate(PHOTO)
        largest = min(
            vw / im["width"], vh / im["height"], 1.0
        )  # contained in the screen, never enlarged
        assert w >= 0.7 * largest * im["width"] and h >= 0.7 * largest * im["height"], (
            w,
            h,
            vw,
            vh,
            im["file"],
        )
        assert w <= im["width"] + 1 and h <= im["height"] + 1
    assert page.problems == []
    context.close()


def test_an_address_reopens_a_picture_and_escape_gives_focus_back_to_its_card(site, browser):
    g = orjson.loads((site / "gallery.json").read_bytes())
    k = 3
    im = g["images"][k]
    context, page = open_index(browser, site, "desktop", "#" + page_id(im))
    wait_until(page, f"window.galleryViewer.isOpen() && window.galleryViewer.index() === {k}")
    assert page.inner_text("#viewer-title") == (im.get("title") or Path(im["file"]).stem)
    assert not page.locator("#viewer-why-panel").is_visible()  # why this music: only on request
    page.click("#viewer-why")
    assert page.locator("#viewer-why-panel").is_visible()
    page.keyboard.press("Escape")
    wait_until(page, "!window.galleryViewer.isOpen()")
    wait_until(page, "document.activeElement.classList.contains('card')")
    assert page.evaluate("document.activeElement.dataset.id") == page_id(im)
    assert "#" not in page.url
    # history: the viewer opened by a click is one step of it; back closes it, forward reopens the
    # picture
    page.click(".grid a.card >> nth=1")
    wait_until(page, "window.galleryViewer.isOpen() && window.galleryViewer.index() === 1")
    page.keyboard.press("ArrowRight")
    wait_until(page, "window.galleryViewer.index() === 2")
    page.go_back()
    wait_until(page, "!window.galleryViewer.isOpen()")
    page.go_forward()
    wait_until(page, "window.galleryViewer.isOpen() && window.galleryViewer.index() === 2")
    assert page.evaluate("window.sameDocument") == "yes" and page.problems == []
    context.close()


def test_arrow_keys_yield_to_a_focused_control(site, browser):
    g = orjson.loads((site / "gallery.json").read_bytes())
    context, page = open_index(browser, site, "desktop", "#" + page_id(g["images"][0]))
    wait_until(page, "window.galleryViewer.isOpen()")
    page.focus("#viewer-play")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.focus(".pswp")  # the viewer itself: arrows move again
    page.keyboard.press("ArrowRight")
    wait_until(
        page, "window.galleryViewer.index() === 1"
    )  # one move: the two on the button did nothing
    context.close()
    page = browser.new_page()
    page.goto(url(site, g["images"][0]["page"]))
    page.focus("audio")
    page.keyboard.press("ArrowRight")  # seeks in the player, never leaves the page
    page.keyboard.press("ArrowRight")
    page.locator("body").focus()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(url(site, g["images"][1]["page"]))
    page.close()


@pytest.fixture(scope="module")
def axe_source(tmp_path_factory) -> str:
    """axe-core from the mirror's npm tarball, read at run time (never committed)."""
    import tarfile

    tgz = MIRROR / "web" / "axe-core-4.14.1.tgz"
    if not tgz.exists():
        pytest.skip("no axe-core in the mirror")
    with tarfile.open(tgz) as tar:
        return tar.extractfile("package/axe.min.js").read().decode("utf-8")


def serious_violations(page, axe_source: str) -> list:
    page.add_script_tag(content=axe_source)
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => [v.id, v.impact, v.nodes.map(n => n.html.slice(0, 120))]))"
    )
    return found


@pytest.mark.parametrize("screen", SCREENS)
def test_axe_finds_no_serious_violation(site, browser, axe_source, screen):
    g = orjson.loads((site / "gallery.json").read_bytes())
    context = browser.new_context(
        viewport=SCREENS[screen], bypass_csp=True
    )  # axe is injected inline
    page = context.new_page()
    for rel in ("index.html", g["images"][0]["page"], "slideshow.html", "credits.html"):
        page.goto(url(site, rel))
        assert serious_violations(page, axe_source) == [], rel
    page.goto(url(site, "index.html"))
    page.click(".grid a.card >> nth=1")
    wait_until(page, "window.galleryViewer.isOpen()")
    assert serious_violations(page, axe_source) == [], "the open viewer"
    page.click("#viewer-why")
    assert serious_violations(page, axe_source) == [], "the open viewer with its reasons"
    context.close()


@pytest.fixture(scope="module")
def japanese(tmp_path_factory, session_cache):
    out = tmp_path_factory.mktemp("ja") / "dist"
    result = cli_build(DEMO, out, session_cache, "--lang", "ja")
    assert result.exit_code == 0, result.output
    return out


def test_a_japanese_gallery_has_no_english_button(japanese, browser):
    from builder.gallery.text import load_messages

    english = set(load_messages("en").values()) - set(load_messages("ja").values())
    g = orjson.loads((japanese / "gallery.json").read_bytes())
    labels = (
        "Array.from(document.querySelectorAll('button, a.button, summary, [aria-label], [title], "
        "label')).filter(e => e.offsetParent !== null || e.getAttribute('aria-label')).map(e => "
        "[e.textContent.trim(), e.getAttribute('aria-label') || '', e.getAttribute('title') || ''])"
    )
    page = browser.new_page()
    seen = []
    for rel in ("index.html", g["images"][0]["page"], "slideshow.html", "credits.html"):
        page.goto(url(japanese, rel))
        assert page.evaluate("document.documentElement.lang") == "ja", rel
        seen += page.evaluate(labels)
    page.goto(url(japanese, "index.html"))
    page.click(".grid a.card >> nth=0")
    wait_until(page, "window.galleryViewer.isOpen()")
    seen += page.evaluate(labels)
    texts = {t for row in seen for t in row if t}
    assert "音楽を再生" in " ".join(texts)  # the viewer's play button, in Japanese
    assert not texts & english, texts & english
    page.close()


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, session_cache):
    out = tmp_path_factory.mktemp("kiosk") / "dist"
    result = cli_build(DEMO, out, session_cache, "--kiosk")
    assert result.exit_code == 0, result.output
    return out


def test_kiosk_starts_on_one_tap_loops_and_hides_its_controls(kiosk, browser):
    g = orjson.loads((kiosk / "gallery.json").read_bytes())
    assert orjson.loads((kiosk / "gallery.json").read_bytes())["kiosk"] is True
    context = browser.new_context(viewport=SCREENS["phone"], has_touch=True)
    page = context.new_page()
    page.goto(url(kiosk, "index.html"))
    page.wait_for_url(url(kiosk, "slideshow.html") + "#kiosk")  # the index opens on the kiosk
    assert page.evaluate("window.gallerySlideshow.state()") == {
        "index": 0,
        "paused": True,
        "kiosk": True,
    }
    page.tap("#kiosk-go")  # one tap
    wait_until(page, "!window.gallerySlideshow.state().paused")
    assert not page.locator("#kiosk-start").is_visible()
    wait_until(page, "Array.from(document.querySelectorAll('audio')).some(a => !a.paused)")
    wait_until(page, "document.body.classList.contains('idle')")  # idle: controls and cursor hide
    assert not page.locator(".controls").is_visible()
    page.evaluate(
        "document.getElementById('show-loop').checked = false"
    )  # a kiosk loops whatever the box says
    page.evaluate(f"window.gallerySlideshow.go({len(g['slideshow']) - 1})")
    wait_until(page, f"document.body.dataset.slide === '{len(g['slideshow']) - 1}'")
    page.evaluate(f"window.gallerySlideshow.go({len(g['slideshow'])})")
    wait_until(page, "document.body.dataset.slide === '0'")
    assert not page.evaluate("window.gallerySlideshow.state().paused")
    context.close()


def test_reduced_motion_stills_the_viewer_but_the_music_still_crossfades(site, browser):
    g = orjson.loads((site / "gallery.json").read_bytes())
    first = [im["tracks"][0]["audio"] for im in g["images"]]
    k = next(
        k for k in range(len(first) - 1) if first[k] != first[k + 1]
    )  # the next picture plays another track
    context = browser.new_context(viewport=SCREENS["desktop"], reduced_motion="reduce")
    page = context.new_page()
    page.goto(url(site, "index.html"))
    page.click(f".grid a.card >> nth={k}")
    wait_until(page, "document.querySelector('.pswp') !== null")
    # no opening animation: PhotoSwipe gives its root a CSS transition (and fades its opacity) only
    # when it animates
    root = "document.querySelector('.pswp').style"
    assert page.evaluate(f"[{root}.transition, {root}.opacity]") == ["", "1"]
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.card img')).transitionDuration")
        == "0s"
    )
    wait_until(page, "window.galleryViewer.isOpen()")
    page.keyboard.press(" ")
    playing = "Array.from(document.querySelectorAll('audio')).filter(a => !a.paused"
    wait_until(page, f"{playing} && a.volume === 1).length === 1")
    page.keyboard.press("ArrowRight")
    wait_until(
        page, f"{playing} && a.volume > 0 && a.volume < 1).length === 2", timeout=1.5
    )  # out and in at once
    context.close()


def test_the_viewer_crosses_index_pages_and_shards(paged, page):
    out, g = paged  # pages of 5 cards, shards of 4 pictures
    page.goto(url(out, "index-2.html"))
    page.click(".grid a.card >> nth=4")  # picture 9, the last card of page 2, in the third shard
    wait_until(page, "window.galleryViewer.isOpen() && window.galleryViewer.index() === 9")
    for k in (10, 11, 12):  # on to page 3 and into the last shard
        page.keyboard.press("ArrowRight")
        wait_until(page, f"window.galleryViewer.index() === {k}")
        wait_until(page, f"document.body.dataset.viewing === {page_id(g['images'][k])!r}")
        assert page.inner_text("#viewer-title") == (
            g["images"][k].get("title") or Path(g["images"][k]["file"]).stem
        )
    assert page.url.endswith("index-2.html#" + page_id(g["images"][12]))
    # an address naming a picture of another page and shard: found by reading the shards in order
    page.goto(url(out, "index.html") + "#" + page_id(g["images"][11]))
    wait_until(page, "window.galleryViewer.isOpen() && window.galleryViewer.index() === 11")
    assert page.problems == []


# ---- what visitors read and see: the curator's words, true reasons, the wall, photos first ----

SHEET = (
    "image,title,caption,order,track\n"
    "storm.jpg,Storm over the plain,Dark clouds\\nover the plain,1,10\n"
    "cat.jpg,The cat,Asleep in the sun,2,\n"
    "dune.jpg,Dune,Wind over the sand,3,\n"
)
INTRO = "# Light & Weather\n\nThirteen pictures of skies, leaves and light.\n"


def curated_build(out: Path, cache: Path, *extra: str) -> Path:
    sheet, intro = out.parent / "sheet.csv", out.parent / "intro.md"
    sheet.write_text(SHEET, encoding="utf-8")
    intro.write_text(INTRO, encoding="utf-8")
    result = cli_build(
        DEMO,
        out,
        cache,
        "--curation",
        str(sheet),
        "--intro",
        str(intro),
        "--title",
        "Light",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def curated(tmp_path_factory, session_cache):
    """The demo with a curator's sheet (titles, captions with a line break, an order, a pinned
    track) and an introduction."""
    return curated_build(tmp_path_factory.mktemp("curated") / "dist", session_cache)


def expected_reason(im: dict, g: dict) -> list[str]:
    """What the sentence must say, from gallery.json's own facts."""
    said = {
        "pinned": ["The curator chose this track"],
        "nearest": ["lies closest to the picture's feeling"],
        "close": ["A close fit"],
        "off_quadrant": ["No track of the catalogue reads as"],
    }[im["reason"]]
    if im["shared"]:
        other = "picture" if im["shared"] == 1 else "pictures"
        said.append(f"It also plays for {im['shared']} other {other}")
    return said


def test_each_pictures_reason_agrees_with_gallery_json(curated, browser):
    g = orjson.loads((curated / "gallery.json").read_bytes())
    firsts = [im["tracks"][0]["id"] for im in g["images"]]
    storm = next(im for im in g["images"] if im["file"] == "storm.jpg")
    assert storm["pinned"] and storm["reason"] == "pinned" and storm["tracks"][0]["id"] == "10"
    assert {im["reason"] for im in g["images"]} >= {"pinned", "nearest"}
    assert any(im["shared"] for im in g["images"])  # the demo's small catalogue is shared
    context = browser.new_context(viewport=SCREENS["desktop"])
    page = context.new_page()
    for im in g["images"]:
        assert im["shared"] == firsts.count(im["tracks"][0]["id"]) - 1, im["file"]
        page.goto(url(curated, im["page"]))
        page.click("#why > summary")
        sentence = page.inner_text(".reasons li >> nth=0")
        for part in expected_reason(im, g):
            assert part in sentence, (im["file"], sentence)
        if not im["pinned"]:
            assert "curator" not in sentence, (im["file"], sentence)
        if im["reason"] in ("nearest", "close") and im["shared"]:
            q = g["matching"]["quadrant_tracks"][im["quadrant"] - 1]
            n = sum(other["quadrant"] == im["quadrant"] for other in g["images"])
            clause = f"({q} for {n} pictures)" if q < n else "lie farther from it"
            assert clause in sentence, (im["file"], sentence)
        body = page.inner_text("#why")
        assert not re.search(r"[+-]\d\.\d\d", body), (im["file"], body)  # no raw decimals
    context.close()


def test_the_curators_words_are_shown_in_the_viewer_and_the_slideshow(curated, browser):
    g = orjson.loads((curated / "gallery.json").read_bytes())
    storm = next(im for im in g["images"] if im["file"] == "storm.jpg")
    assert storm["description"] == "Dark clouds\nover the plain"
    assert g["slideshow"][:3] == ["storm.jpg", "cat.jpg", "dune.jpg"]
    context, page = open_index(browser, curated, "desktop", "#" + page_id(storm))
    wait_until(page, "window.galleryViewer.isOpen()")
    assert page.inner_text("#viewer-title") == "Storm over the plain"
    assert page.locator("#viewer-caption").is_visible()
    assert page.inner_text("#viewer-caption") == "Dark clouds\nover the plain"  # the break kept
    names = page.eval_on_selector_all(".grid .card .name", "els => els.map(e => e.textContent)")
    assert names[:3] == ["Storm over the plain", "The cat", "Dune"]
    assert not [n for n in names if n.endswith(".jpg")]  # no file name where a title exists
    page.goto(url(curated, "slideshow.html"))
    wait_until(page, "window.gallerySlideshow.shown() === 'storm.jpg'")
    assert page.inner_text("#show-title") == "Storm over the plain"
    assert page.inner_text("#show-caption") == "Dark clouds\nover the plain"
    assert "order the curator set" in page.inner_text(".legend")
    page.goto(url(curated, storm["page"]))
    assert page.inner_text(".hero .description") == "Dark clouds\nover the plain"
    assert page.problems == []
    context.close()


WALLS = {
    "1920x1080": {"width": 1920, "height": 1080},
    "3840x2160": {"width": 3840, "height": 2160},
    "portrait": {"width": 1080, "height": 1920},
    "phone": {"width": 390, "height": 844},
}

SLIDE = """(() => {
  const img = document.getElementById('show-image'), band = document.getElementById('show-band');
  const stage = document.getElementById('show-stage');
  if (!img.complete) { return null; }
  const r = img.getBoundingClientRect(), b = band.getBoundingClientRect();
  const t = document.getElementById('show-title').getBoundingClientRect();
  const s = stage.getBoundingClientRect();
  return {img: [r.left, r.top, r.width, r.height], band: [b.top, b.bottom],
          title: [t.width, t.height,
                  parseFloat(getComputedStyle(document.getElementById('show-title')).fontSize)],
          stage: [s.left, s.top, s.width, s.height], bg: getComputedStyle(stage).backgroundColor};
})()"""


@pytest.mark.parametrize("screen", WALLS)
def test_the_wall_fills_the_screen_and_says_what_plays(curated, browser, screen):
    """Kiosk at a wall's sizes: each picture contained at >= 90 % of the largest size it could take
    (never past twice its pixels), its title in a band below it, never over it, on its colour."""
    g = orjson.loads((curated / "gallery.json").read_bytes())
    by_file = {im["file"]: im for im in g["images"]}
    size = WALLS[screen]
    context = browser.new_context(viewport=size, has_touch=True)
    page = context.new_page()
    page.goto(url(curated, "slideshow.html") + "#kiosk")
    page.click("#kiosk-go")
    wait_until(page, "!window.gallerySlideshow.state().paused")
    for i, file in enumerate(g["slideshow"][:4]):
        page.evaluate(f"window.gallerySlideshow.go({i})")
        wait_until(page, f"window.gallerySlideshow.shown() === {file!r}")
        wait_until(page, f"({SLIDE}) !== null")
        got = page.evaluate(SLIDE)
        im = by_file[file]
        x, y, w, h = got["img"]
        largest = min(size["width"] / im["width"], size["height"] / im["height"], 2.0)
        assert w >= 0.9 * largest * im["width"] - 1 and h >= 0.9 * largest * im["height"] - 1, (
            file,
            got,
            largest,
        )
        assert w <= 2 * im["width"] + 1 and h <= 2 * im["height"] + 1
        assert y + h <= got["band"][0] + 1, "the band covers the picture"
        assert got["band"][1] <= size["height"] + 1 and 0 <= x and x + w <= size["width"] + 1
        assert got["title"][0] > 0 and got["title"][2] >= 0.025 * size["height"]  # legible: vh
        assert page.inner_text("#show-title") == (im["title"] or Path(file).stem)
        assert got["bg"] != "rgb(0, 0, 0)"  # a colour taken from the picture
    assert page.inner_text("#show-track").startswith("♪")
    context.close()


def test_the_phone_slideshows_controls_fit_one_row(curated, browser):
    context = browser.new_context(viewport=SCREENS["phone"])
    page = context.new_page()
    page.goto(url(curated, "slideshow.html"))
    boxes = page.eval_on_selector_all(
        ".toolbar > a, .toolbar .controls > *",
        "els => els.map(e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom])",
    )
    assert max(t for t, _ in boxes) < min(b for _, b in boxes), boxes  # one row
    right = page.evaluate(
        "Math.max(...Array.from(document.querySelectorAll('.toolbar .controls > *'))"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert right <= 390
    context.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_the_index_shows_photos_first_and_says_it_plays_music(curated, browser, screen):
    context = browser.new_context(viewport=SCREENS[screen])
    page = context.new_page()
    page.goto(url(curated, "index.html"))
    top = page.evaluate("document.querySelector('.grid .card img').getBoundingClientRect().top")
    assert top < SCREENS[screen]["height"] - 120, top  # the first row shows, not just its edge
    order = page.evaluate(
        "['h1', '.intro', '.grid'].map(s => document.querySelector(s).getBoundingClientRect().top)"
    )
    assert order == sorted(order)  # the title and the intro above the pictures
    assert "Thirteen pictures" in page.inner_text(".intro")
    assert (
        page.locator("#plays-music").is_visible() and page.locator("#play-exhibition").count() == 1
    )
    assert not page.locator("#search").is_visible()  # finding waits behind one control
    page.click("details.find > summary")
    assert page.locator("#search").is_visible()
    context.close()


@pytest.mark.parametrize(
    "hash_",
    ["#%", "#%E0%A4%A", "#" + "x" * 100_000, "#<script>alert(1)</script>", "#%00", "#kiosk"],
)
def test_the_viewer_survives_any_address(site, browser, hash_):
    g = orjson.loads((site / "gallery.json").read_bytes())
    context, page = open_index(browser, site, "desktop", hash_)
    page.wait_for_load_state("load")
    assert page.problems == [], page.problems
    assert not page.evaluate("window.galleryViewer.isOpen()")
    page.click(".grid a.card >> nth=1")  # the viewer still works
    wait_until(page, "window.galleryViewer.isOpen() && window.galleryViewer.index() === 1")
    assert page.url.endswith("#" + page_id(g["images"][1]))
    assert page.problems == []
    context.close()


ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
# names Japanese writes in Latin letters as they are: keys, a unit, the data set
LATIN_IN_JAPANESE = {"Esc", "Shift", "MB", "DEAM"}

VISIBLE_TEXT = """(() => {
  const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement, text = n.textContent.trim();
    if (!text || !el || el.closest('[translate="no"], script, style')) { continue; }
    const lang = el.closest('[lang]');
    if (lang && lang.getAttribute('lang') === 'en') { continue; }
    const range = document.createRange();
    range.selectNodeContents(n);
    if (!range.getClientRects().length) { continue; }  /* not shown */
    out.push(text);
  }
  return out;
})()"""


@pytest.fixture(scope="module")
def curated_japanese(tmp_path_factory, session_cache):
    return curated_build(
        tmp_path_factory.mktemp("curated-ja") / "dist", session_cache, "--lang", "ja"
    )


def test_every_word_of_a_japanese_gallery_comes_from_the_catalogue(curated_japanese, browser):
    """Every visible text node of every page, the open viewer with its reasons and the slideshow:
    no English word outside titles, captions, track names and passages marked lang="en"."""
    out = curated_japanese
    g = orjson.loads((out / "gallery.json").read_bytes())
    context = browser.new_context(viewport=SCREENS["desktop"])
    page = context.new_page()
    found: dict[str, set[str]] = {}

    def collect(where: str) -> None:
        for text in page.evaluate(VISIBLE_TEXT):
            words = set(ENGLISH_WORD.findall(text)) - LATIN_IN_JAPANESE
            if words:
                found.setdefault(where, set()).update(words)

    for rel in ["index.html", "credits.html", "slideshow.html"] + [
        im["page"] for im in g["images"]
    ]:
        page.goto(url(out, rel))
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        collect(rel)
    page.goto(url(out, "index.html"))
    page.click(".grid a.card >> nth=0")
    wait_until(page, "window.galleryViewer.isOpen()")
    page.click("#viewer-why")
    collect("viewer")
    assert found == {}, found
    context.close()
    # the header holds with Japanese on a phone: the title, the count and each action on one line
    context = browser.new_context(viewport=SCREENS["phone"])
    page = context.new_page()
    page.goto(url(out, "index.html"))
    lines = (
        "(s => { const r = document.createRange(); r.selectNodeContents(document.querySelector(s));"
        " return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; })"
    )
    for selector in ("#play-exhibition", "#to-credits", ".headline h1", ".headline .meta"):
        assert page.evaluate(f"{lines}({selector!r})") == 1, selector
    tops = page.eval_on_selector_all(
        "#play-exhibition, #to-credits", "els => els.map(e => e.getBoundingClientRect().top)"
    )
    assert len(set(tops)) == 1, tops  # the actions on one row
    context.close()
