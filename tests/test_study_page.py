"""The study page (study.html, static/study.js) in Chromium, from file://: whole visits by keyboard
alone and by touch at 1280x800 and 390x844, a reload in the middle of a visit, a kiosk's visitors
one after another, the visitor's download and the curator's export (exactly what was entered, in
the documented format, read back by builder.lab.study), no request leaving the page, axe-core, and
`--lang ja`."""

from __future__ import annotations

import tarfile
import time
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from builder.lab.study import Design, read_answers

from .conftest import (
    DEMO,
    MIRROR,
    cli_build,
    in_chromium,
)

pytestmark = in_chromium
SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
STATE = "window.galleryStudy.state()"
PLACE_KEYS = ("gallery", "visitor", "picture", "kind", "valence", "arousal", "at")
RATE_KEYS = ("gallery", "visitor", "picture", "kind", "condition", "track", "score")
FAIL_KEYS = ("gallery", "visitor", "picture", "kind", "condition", "at")


@pytest.fixture(scope="module")
def english(study_build) -> Path:
    return study_build[0]


@pytest.fixture(scope="module")
def japanese(tmp_path_factory, session_cache) -> Path:
    out = tmp_path_factory.mktemp("study-ja") / "dist"
    result = cli_build(DEMO, out, session_cache, "--study", "--lang", "ja")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, session_cache) -> Path:
    out = tmp_path_factory.mktemp("study-kiosk") / "dist"
    result = cli_build(DEMO, out, session_cache, "--kiosk", "--study", "--study-pictures", "4")
    assert result.exit_code == 0, result.output
    return out


class Visit:
    """A page of the study in its own browser context (its own storage), with every request it
    makes and every problem it reports."""

    def __init__(self, browser, out: Path, screen: str = "desktop", touch: bool = False, **extra):
        self.out = out
        self.context = browser.new_context(viewport=SCREENS[screen], has_touch=touch, **extra)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        study = orjson.loads((out / "gallery.json").read_bytes())["study"]
        self.design = Design.from_json(study)
        self.by_audio = {t["audio"]: t["id"] for t in study["tracks"]}
        # what the visitor entered: picture -> point, (picture, track) -> score, pictures rated
        self.entered: dict = {"places": {}, "scores": {}, "rated": set()}

    def open(self, rel: str = "study.html") -> None:
        path, _, fragment = rel.partition("#")
        self.page.goto((self.out / path).resolve().as_uri() + (f"#{fragment}" if fragment else ""))

    def state(self) -> dict:
        return self.page.evaluate(STATE)

    def wait(self, js: str, timeout: float = 10.0) -> None:
        """Poll a state the page reports (wait_for_function would eval(), which the CSP forbids)."""
        end = time.monotonic() + timeout
        while not self.page.evaluate(js):
            assert time.monotonic() < end, f"timed out waiting for {js}"
            self.page.wait_for_timeout(50)

    def focused(self) -> str:
        return self.page.evaluate("document.activeElement.id || document.activeElement.name || ''")

    def tab_to(self, target: str, most: int = 8) -> None:
        for _ in range(most):
            self.page.keyboard.press("Tab")
            if self.focused() == target:
                return
        raise AssertionError(f"Tab never reached #{target} (at {self.focused()!r})")

    def excerpts(self) -> list[tuple[str, str]]:
        """(label, track id) of the excerpts shown, in their order on the page."""
        found = self.page.evaluate(
            "Array.from(document.querySelectorAll('#excerpts .excerpt')).map("
            "e => [e.dataset.label, e.querySelector('audio').getAttribute('src')])"
        )
        return [(label, self.by_audio[src]) for label, src in found]

    def left_the_page(self) -> list[str]:
        inside = self.out.resolve().as_uri() + "/"
        return [u for u in self.requests if not (u.startswith(inside) or u.startswith("blob:"))]

    def download(self, click) -> list[dict]:
        with self.page.expect_download() as info:
            click()
        path = info.value.path()
        self.last_download = Path(path).read_bytes()
        lines = self.last_download.decode("utf-8").splitlines()
        return [orjson.loads(line) for line in lines]

    def close(self) -> None:
        self.context.close()


def keys_for(value: float, up: str, down: str) -> list[str]:
    """Arrow presses that move an axis from 0 to value: Shift steps 0.25, plain steps 0.05."""
    key = up if value >= 0 else down
    big, rest = divmod(round(abs(value) * 100), 25)
    return [f"Shift+{key}"] * big + [key] * (rest // 5)


def target(i: int) -> tuple[float, float]:
    """A point for the i-th picture of a visit, on the 0.05 grid, in each quadrant in turn."""
    points = [(0.3, 0.55), (-0.65, 0.2), (-0.4, -0.85), (0.75, -0.1), (1.0, 1.0), (-0.05, 0.0)]
    return points[i % len(points)]


def score(i: int, j: int) -> int:
    return (i + 2 * j) % 5 + 1


def visit_by_keyboard(v: Visit, start: str = "study-start") -> None:
    """A whole visit as documented: Tab between controls, arrows and Enter on the pad, digits
    rate the excerpt that has focus, Enter on the buttons; no click, no tap."""
    v.tab_to(start)
    v.page.keyboard.press("Enter")
    total = len(v.state()["pictures"])
    for i in range(total):
        v.wait(f"{STATE}.step === 'place' && {STATE}.index === {i}")
        picture = v.state()["picture"]
        assert v.focused() == "place-heading"  # the step's heading: "Picture i of n"
        v.tab_to("pad-valence", 1)
        valence, arousal = target(i)
        for key in keys_for(valence, "ArrowRight", "ArrowLeft"):
            v.page.keyboard.press(key)
        for key in keys_for(arousal, "ArrowUp", "ArrowDown"):
            v.page.keyboard.press(key)
        v.page.keyboard.press("Enter")
        assert v.page.get_attribute("#pad-valence", "aria-valuenow") == f"{valence:.2f}"
        assert v.page.get_attribute("#pad-arousal", "aria-valuenow") == f"{arousal:.2f}"
        assert v.state()["point"] == {"valence": valence, "arousal": arousal, "placed": True}
        v.entered["places"][picture] = (valence, arousal)
        v.tab_to("pad-arousal", 1)
        v.tab_to("place-next", 1)
        v.page.keyboard.press("Enter")
        v.wait(f"{STATE}.step === 'rate' && {STATE}.index === {i}")
        v.entered["rated"].add(picture)
        assert v.focused() == "rate-heading"
        for j, (label, track) in enumerate(v.excerpts()):
            v.page.keyboard.press("Tab")  # its play button
            assert v.page.evaluate("document.activeElement.closest('.excerpt').id") == (
                f"excerpt-{label}"
            )
            v.page.keyboard.press("Tab")  # into its radio group
            assert v.focused() == f"score-{label}"
            s = score(i, j)
            v.page.keyboard.press(str(s))
            assert v.page.is_checked(f"#excerpt-{label} input[value='{s}']")
            v.entered["scores"][(picture, track)] = s
        v.tab_to("rate-next", 1)
        v.page.keyboard.press("Enter")
    v.wait(f"{STATE}.step === 'end'")


def visit_by_touch(v: Visit, start: str = "#study-start") -> None:
    """A whole visit by taps alone: the pad where the point goes, a radio's label, the buttons."""
    v.page.tap(start)
    total = len(v.state()["pictures"])
    for i in range(total):
        v.wait(f"{STATE}.step === 'place' && {STATE}.index === {i}")
        picture = v.state()["picture"]
        valence, arousal = target(i)
        pad = v.page.locator("#pad")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        x = box["x"] + (min(valence, 0.95) + 1) / 2 * box["width"]
        y = box["y"] + (1 - min(arousal, 0.95)) / 2 * box["height"]
        v.page.touchscreen.tap(x, y)
        point = v.state()["point"]
        assert point["placed"]
        assert abs(point["valence"] - min(valence, 0.95)) <= 0.02
        assert abs(point["arousal"] - min(arousal, 0.95)) <= 0.02
        v.entered["places"][picture] = (point["valence"], point["arousal"])
        v.page.tap("#place-next")
        v.wait(f"{STATE}.step === 'rate' && {STATE}.index === {i}")
        v.entered["rated"].add(picture)
        for j, (label, track) in enumerate(v.excerpts()):
            s = score(i, j)
            v.page.tap(f"#excerpt-{label} .scores label:nth-child({s})")
            assert v.page.is_checked(f"#excerpt-{label} input[value='{s}']")
            v.entered["scores"][(picture, track)] = s
        v.page.tap("#rate-next")
    v.wait(f"{STATE}.step === 'end'")


def check_answers(v: Visit, lines: list[dict], visitors: int = 1) -> None:
    """The lines hold exactly what was entered, in the documented format: a place line per picture,
    a rate line per condition that picked a track (a track two conditions picked once, with
    `shared`), a fail line per condition that could not recommend; and the report reads every line
    of them."""
    study = v.design
    assert {line["gallery"] for line in lines} == {study.gallery}
    assert len({line["visitor"] for line in lines}) == visitors
    places, scores, fails = {}, {}, set()
    for line in lines:
        datetime.fromisoformat(line["at"].replace("Z", "+00:00"))
        if line["kind"] == "place":
            assert tuple(line) == PLACE_KEYS
            places[line["picture"]] = (line["valence"], line["arousal"])
        elif line["kind"] == "rate":
            assert tuple(line)[: len(RATE_KEYS)] == RATE_KEYS and tuple(line)[-1] == "at"
            pick = study.pictures[line["picture"]][line["condition"]]
            assert line["track"] == pick.track and isinstance(line["score"], int)
            sharing = [
                c
                for c in study.conditions
                if study.pictures[line["picture"]][c].track == line["track"]
            ]
            assert line.get("shared") == (sharing if len(sharing) > 1 else None), line
            scores[(line["picture"], line["condition"])] = (line["track"], line["score"])
        else:
            assert line["kind"] == "fail" and tuple(line) == FAIL_KEYS
            assert study.pictures[line["picture"]][line["condition"]].track is None
            fails.add((line["picture"], line["condition"]))
    assert places == v.entered["places"]
    expected = {
        (p, c): (track, s)
        for (p, track), s in v.entered["scores"].items()
        for c, pick in study.pictures[p].items()
        if pick.track == track
    }
    assert scores == expected
    assert fails == {
        (p, c)
        for p in v.entered["rated"]
        for c, pick in study.pictures[p].items()
        if not pick.track
    }


def read_back(v: Visit, tmp_path: Path, data: bytes):
    path = tmp_path / "answers.jsonl"
    path.write_bytes(data)
    return read_answers([path], v.design)


@pytest.mark.parametrize("lang, screen", [("en", "desktop"), ("en", "phone"), ("ja", "desktop")])
def test_a_visit_by_keyboard_alone_downloads_exactly_what_was_entered(
    request, browser, lang, screen, tmp_path
):
    out = request.getfixturevalue("english" if lang == "en" else "japanese")
    v = Visit(browser, out, screen)
    v.open()
    assert v.state()["step"] == "intro" and v.page.evaluate("document.documentElement.lang") == lang
    visit_by_keyboard(v)
    pictures = v.state()["pictures"]
    assert len(pictures) == 10 == len(set(pictures))
    v.tab_to("study-download")
    lines = v.download(lambda: v.page.keyboard.press("Enter"))
    check_answers(v, lines)
    answers = read_back(v, tmp_path, v.last_download)
    assert not answers.malformed and not answers.other_galleries and not answers.duplicates
    assert len(answers.places) == 10
    # the curator's export (study.html#export) holds the same answers
    v.open("study.html#export")
    v.wait("!document.getElementById('study-export').hidden")
    exported = v.download(lambda: v.page.click("#study-export-all"))
    assert sorted(map(orjson.dumps, exported)) == sorted(map(orjson.dumps, lines))
    assert v.left_the_page() == [] and v.problems == []
    v.close()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_visit_by_touch_downloads_exactly_what_was_entered(english, browser, screen, tmp_path):
    v = Visit(browser, english, screen, touch=True)
    v.open()
    visit_by_touch(v)
    lines = v.download(lambda: v.page.tap("#study-download"))
    check_answers(v, lines)
    assert not read_back(v, tmp_path, v.last_download).malformed
    assert v.left_the_page() == [] and v.problems == []
    v.close()


def test_the_controls_are_named_as_documented_and_nothing_of_the_reading_shows(english, browser):
    v = Visit(browser, english)
    v.open()
    page = v.page
    for name in ("Start",):
        assert page.get_by_role("button", name=name, exact=True).is_visible()
    page.get_by_role("button", name="Start", exact=True).click()
    v.wait(f"{STATE}.step === 'place'")
    valence = page.get_by_role("slider", name="Unpleasant to pleasant", exact=True)
    arousal = page.get_by_role("slider", name="Calm to excited", exact=True)
    assert valence.get_attribute("aria-valuenow") == "0.00"
    assert arousal.get_attribute("aria-valuenow") == "0.00"
    for word in ("pleasant", "unpleasant", "excited", "calm"):  # the axes, named at their ends
        assert page.locator(".pad-end", has_text=word).first.is_visible()
    g = orjson.loads((english / "gallery.json").read_bytes())
    titles = {t["title"] for t in g["study"]["tracks"]} | {"quadrant", "valence ", "arousal "}
    from builder.gallery.text import load_messages

    names = {load_messages("en")[f"quadrant_{q}"] for q in (1, 2, 3, 4)}
    shown = page.inner_text("main")
    assert not {t for t in titles | names if t in shown}  # nothing of the builder's reading
    page.get_by_role("button", name="Next", exact=True).click()
    assert v.state()["step"] == "place"  # the point is not placed yet: Next says so
    assert page.is_visible("#place-wait")
    valence.focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Next", exact=True).click()
    v.wait(f"{STATE}.step === 'rate'")
    groups = page.get_by_role("radiogroup")
    assert groups.count() == len(v.excerpts()) >= 1
    for k in range(groups.count()):
        radios = groups.nth(k).get_by_role("radio")
        assert [radios.nth(r).get_attribute("value") for r in range(5)] == list("12345")
        for s in "12345":
            assert groups.nth(k).get_by_role("radio", name=s, exact=True).count() == 1
    labels = [label for label, _ in v.excerpts()]
    assert labels == list("ABC")[: len(labels)]
    shown = page.inner_text("main")
    assert not {t for t in titles if t in shown}  # blind: no title, no artist
    page.get_by_role("button", name="Next", exact=True).click()  # not every excerpt is rated
    assert v.state()["step"] == "rate" and page.is_visible("#rate-wait")
    # an excerpt plays from its start
    page.click("#excerpt-A button.play")
    v.wait("!document.querySelector('#excerpt-A audio').paused")
    v.wait("document.querySelector('#excerpt-A audio').currentTime > 0.2")
    assert "Stop A" in page.inner_text("#excerpt-A button.play")
    page.click("#excerpt-A button.play")
    v.wait("document.querySelector('#excerpt-A audio').paused")
    assert page.get_by_role("button", name="Download my answers", exact=True).is_visible()
    assert v.left_the_page() == [] and v.problems == []
    v.close()


def test_a_reload_in_the_middle_of_a_visit_loses_nothing(english, browser, tmp_path):
    v = Visit(browser, english)
    v.open()
    v.page.click("#study-start")
    v.wait(f"{STATE}.step === 'place'")
    first = v.state()
    v.page.focus("#pad-valence")
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "Enter"):
        v.page.keyboard.press(key)
    v.entered["places"][first["picture"]] = (0.1, -0.05)
    v.page.click("#place-next")
    v.wait(f"{STATE}.step === 'rate'")
    v.entered["rated"].add(first["picture"])
    order = v.excerpts()
    label, track = order[0]
    v.page.click(f"#excerpt-{label} .scores label:nth-child(4)")
    v.entered["scores"][(first["picture"], track)] = 4
    v.page.reload()
    v.wait(f"{STATE}.step === 'rate'")
    again = v.state()
    assert (again["visitor"], again["picture"], again["pictures"]) == (
        first["visitor"],
        first["picture"],
        first["pictures"],
    )
    assert v.excerpts() == order  # the same labels for the same music
    assert v.page.is_checked(f"#excerpt-{label} input[value='4']")
    for j, (label, track) in enumerate(order[1:], 1):
        v.page.click(f"#excerpt-{label} .scores label:nth-child({score(0, j)})")
        v.entered["scores"][(first["picture"], track)] = score(0, j)
    v.page.click("#rate-next")
    v.wait(f"{STATE}.step === 'place' && {STATE}.index === 1")
    v.page.focus("#pad-valence")
    v.page.keyboard.press("ArrowLeft")
    v.page.keyboard.press("Enter")  # the second picture placed, then the tab closed and reopened
    second = v.state()["picture"]
    v.entered["places"][second] = (-0.05, 0.0)
    v.page.close()
    v.page = v.context.new_page()
    v.page.on("request", lambda r: v.requests.append(r.url))
    v.open()
    v.wait(f"{STATE}.step === 'place' && {STATE}.index === 1")
    assert v.state()["point"] == {"valence": -0.05, "arousal": 0.0, "placed": True}
    lines = v.download(lambda: v.page.click("#study-download"))
    check_answers(v, lines)
    assert v.left_the_page() == []
    v.close()


def test_a_kiosk_offers_the_study_between_loops_and_takes_visitor_after_visitor(kiosk, browser):
    v = Visit(browser, kiosk, "phone", touch=True)
    v.open("index.html")
    v.page.wait_for_url((kiosk / "slideshow.html").resolve().as_uri() + "#kiosk")
    v.page.tap("#kiosk-go")
    v.wait("!window.gallerySlideshow.state().paused")
    assert not v.page.is_visible("#study-offer")
    total = v.page.evaluate("window.gallerySlideshow.total")
    v.page.evaluate(f"window.gallerySlideshow.go({total})")  # the end of a loop
    v.wait("!document.getElementById('study-offer').hidden")
    v.page.tap("#study-go")
    v.page.wait_for_url((kiosk / "study.html").resolve().as_uri() + "#kiosk")
    assert v.state()["kiosk"] and not v.page.is_visible("#to-index")
    visitors, quadrant = [], {}
    g = orjson.loads((kiosk / "gallery.json").read_bytes())
    quadrant = {im["file"]: im["quadrant"] for im in g["images"]}
    for k in range(3):
        visit_by_touch(v, "#study-start" if k == 0 else "#study-again")
        state = v.state()
        assert len(state["pictures"]) == 4
        # each visit holds every quadrant the gallery reads its pictures in
        assert {quadrant[f] for f in state["pictures"]} == set(quadrant.values())
        visitors.append(state["visitor"])
    assert len(set(visitors)) == 3
    v.page.evaluate("window.location.hash = 'export'")
    v.wait("!document.getElementById('study-export').hidden")
    lines = v.download(lambda: v.page.tap("#study-export-all"))
    check_answers(v, lines, visitors=3)
    placed: dict[str, int] = {}
    for line in lines:
        if line["kind"] == "place":
            placed[line["picture"]] = placed.get(line["picture"], 0) + 1
    assert sum(placed.values()) == 12
    for q in set(quadrant.values()):  # within a quadrant, each picture judged about as often
        counts = [placed.get(f, 0) for f in quadrant if quadrant[f] == q]
        assert max(counts) - min(counts) <= 1, (q, counts)
    assert v.left_the_page() == [] and v.problems == []
    v.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    tgz = MIRROR / "web" / "axe-core-4.14.1.tgz"
    if not tgz.exists():
        pytest.skip("no axe-core in the mirror")
    with tarfile.open(tgz) as tar:
        return tar.extractfile("package/axe.min.js").read().decode("utf-8")


def serious(page, axe_source: str) -> list:
    page.add_script_tag(content=axe_source)
    return page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => [v.id, v.impact, v.nodes.map(n => n.html.slice(0, 120))]))"
    )


@pytest.mark.parametrize("screen", SCREENS)
def test_axe_finds_nothing_serious_at_any_step(english, browser, axe_source, screen):
    v = Visit(browser, english, screen, bypass_csp=True)  # axe is injected inline
    v.open()
    assert serious(v.page, axe_source) == [], "first screen"
    v.page.click("#study-start")
    v.wait(f"{STATE}.step === 'place'")
    assert serious(v.page, axe_source) == [], "place"
    v.page.focus("#pad-valence")
    v.page.keyboard.press("Enter")
    v.page.click("#place-next")
    v.wait(f"{STATE}.step === 'rate'")
    assert serious(v.page, axe_source) == [], "rate"
    v.page.click("#excerpt-A .scores label:nth-child(3)")
    v.page.click("#rate-next")  # not all rated on a picture with more excerpts: says so
    assert serious(v.page, axe_source) == [], "rate, with its message"
    v.open("study.html#export")
    assert serious(v.page, axe_source) == [], "the curator's export"
    v.close()


def test_a_japanese_study_says_no_english_word(japanese, browser):
    from builder.gallery.text import load_messages

    english = set(load_messages("en").values()) - set(load_messages("ja").values())
    labels = (
        "Array.from(document.querySelectorAll("
        "'button, label, h1, h2, h3, p, a, [aria-label], [aria-valuetext], .pad-end'))"
        ".filter(e => e.offsetParent !== null || e.getAttribute('aria-label'))"
        ".map(e => [e.textContent.trim(), e.getAttribute('aria-label') || '',"
        " e.getAttribute('aria-valuetext') || ''])"
    )
    v = Visit(browser, japanese)
    v.open()
    seen = v.page.evaluate(labels)
    v.page.click("#study-start")
    v.wait(f"{STATE}.step === 'place'")
    v.page.click("#place-next")  # the message that the point is not placed yet
    seen += v.page.evaluate(labels)
    v.page.focus("#pad-valence")
    v.page.keyboard.press("Enter")
    v.page.click("#place-next")
    v.wait(f"{STATE}.step === 'rate'")
    v.page.click("#rate-next")
    seen += v.page.evaluate(labels)
    texts = {t for row in seen for t in row if t}
    assert "はじめる" in texts and "次へ" in texts
    assert not {t for t in texts if t in english}, {t for t in texts if t in english}
    assert not any(word in " ".join(texts) for word in ("Excerpt", "Play", "Picture "))
    v.close()
