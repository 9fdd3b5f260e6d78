"""The demo collection built through the CLI, checked against the output contract."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from builder.cli import app

from .conftest import DEMO, MIRROR, cli_build, leftovers, requires_mirror
from .test_catalogue import raw_deam

pytestmark = requires_mirror

IMAGE_KEYS = {"file", "av", "quadrant", "impressions", "clusters", "tracks", "objects"}
TRACK_KEYS = {"id", "title", "artist", "valence", "arousal", "audio", "licence"}


def load(out: Path) -> dict:
    return orjson.loads((out / "gallery.json").read_bytes())


def test_gallery_json_follows_the_contract(demo_build):
    out, _ = demo_build
    g = load(out)
    assert {"method", "narrow", "quadrant_means", "catalogue", "images", "failed"} <= set(g)
    # audible by default: only the DEAM tracks whose audio is in the mirror are recommended
    assert g["catalogue"] == {
        "name": "DEAM (playable)",
        "size": len(list((MIRROR / "deam/MEMD_audio").glob("*.mp3"))),
    }
    assert g["silent"] is None and g["reference"] is not None
    assert len(g["quadrant_means"]) == 4 and g["narrow"] == "vote"
    demo = sorted(p.name for p in DEMO.iterdir() if p.suffix == ".jpg")
    assert sorted(im["file"] for im in g["images"]) == demo and g["failed"] == []
    for im in g["images"]:
        assert IMAGE_KEYS <= set(im)
        assert all(-1 <= x <= 1 for x in im["av"]) and im["quadrant"] in (1, 2, 3, 4)
        assert im["tracks"], im["file"]
        for t in im["tracks"]:
            assert TRACK_KEYS <= set(t) and isinstance(t["id"], str)
        for c in im["clusters"]:
            assert {"centre", "size", "quadrant", "track"} <= set(c)
        for o in im["objects"]:
            assert {"label", "score", "box", "weight"} <= set(o) and 0 < o["weight"] <= 1
        for i in im["impressions"]:
            assert {"word", "valence", "arousal", "weight", "source"} <= set(i)


def test_recommended_tracks_carry_deams_values_after_mapping_and_swap(demo_build):
    out, _ = demo_build
    raw = raw_deam()
    for im in load(out)["images"]:
        for t in im["tracks"]:
            v, a = raw[t["id"]]
            if int(t["id"]) <= 1000:
                v, a = a, v
            assert t["valence"] == pytest.approx((v - 5) / 4) and t["arousal"] == pytest.approx(
                (a - 5) / 4
            )


@pytest.fixture(scope="module")
def objects_build(tmp_path_factory, session_cache):
    out = tmp_path_factory.mktemp("objects") / "dist"
    result = cli_build(DEMO, out, session_cache, "--method", "objects")
    assert result.exit_code == 0, result.output
    return out


def test_av_is_the_weighted_mean_of_impressions_and_vote_is_normalised(objects_build):
    g = load(objects_build)
    assert g["method"] == "objects:yolo-fastest"
    means = g["quadrant_means"]
    for im in g["images"]:
        imps = im["impressions"]
        if not imps:
            assert im["fallback"] and "colour" in im["fallback"]
            continue
        total = sum(i["weight"] for i in imps)
        assert im["av"][0] == pytest.approx(
            sum(i["valence"] * i["weight"] for i in imps) / total, abs=1e-3
        )
        counts = im["quadrant_counts"]
        ratios = [c / m if m else 0 for c, m in zip(counts, means)]
        assert ratios[im["quadrant"] - 1] == pytest.approx(max(ratios))
        # the recommendation comes from clusters in the chosen quadrant when there are any
        kept = [c["track"] for c in im["clusters"] if c["quadrant"] == im["quadrant"]]
        if kept:
            assert [t["id"] for t in im["tracks"]] == list(dict.fromkeys(kept))


def test_every_recommended_track_plays_and_paths_resolve(demo_build):
    out, _ = demo_build
    g = load(out)
    recommended = {t["audio"] for im in g["images"] for t in im["tracks"]}
    assert None not in recommended  # every picture page plays music
    copied = {f"audio/{p.name}" for p in (out / "audio").iterdir()}
    # the small playable catalogue travels whole, so exploring the plane plays too
    js = (out / "catalogue.js").read_text(encoding="utf-8")
    table = orjson.loads(js[len("window.CATALOGUE = ") :].rstrip().rstrip(";"))
    assert recommended <= copied == {row[6] for row in table["tracks"]}
    for im in g["images"]:
        for rel in (im["page"], im["image"], im["thumb"]):
            assert (out / rel).is_file()


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.scripts = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append(a[key])
        if tag == "script":
            self.scripts.append(a)


def test_pages_open_from_file_urls(demo_build):
    out, _ = demo_build
    pages = [out / "index.html", *sorted((out / "pages").glob("*.html"))]
    assert len(pages) == 1 + len(load(out)["images"])
    for page in pages:
        html = page.read_text(encoding="utf-8")
        parser = Links()
        parser.feed(html)
        for ref in parser.refs:
            assert not re.match(r"^(https?:)?//", ref), f"{page.name} loads {ref} from the network"
            assert not ref.startswith("/"), f"{page.name}: absolute path {ref}"
            assert (page.parent / ref.split("#")[0]).resolve().exists(), (
                f"{page.name}: broken link {ref}"
            )
        for s in parser.scripts:
            assert s.get("type") in (None, "text/javascript")
    for js in (out / "static").glob("*.js"):
        text = js.read_text()
        assert "fetch(" not in text and "import " not in text and "export " not in text
    shards = sorted((out / "data").glob("*-*.js"))
    assert [f.name for f in shards] == ["names-0.js", "slides-0.js", "view-0.js"]
    assert all(
        f.read_text().startswith("(window.GALLERY_SHARDS = window.GALLERY_SHARDS || {})[")
        for f in shards
    )
    assert (out / "data" / "columns.js").read_text().startswith("window.GALLERY_COLUMNS = {")


def test_picture_page_has_the_plane_and_playable_tracks(demo_build):
    out, _ = demo_build
    g = load(out)
    for im in g["images"]:
        html = (out / im["page"]).read_text(encoding="utf-8")
        assert "<svg" in html and html.count('class="word"') == len(im["impressions"])
        assert html.count('class="centre"') == len(im["clusters"])
        assert html.count("<audio") == sum(1 for t in im["tracks"] if t["audio"])


def test_second_build_is_cached_and_identical(demo_build, session_cache, tmp_path):
    out, _ = demo_build
    again = tmp_path / "again"
    result = cli_build(DEMO, again, session_cache)
    assert result.exit_code == 0
    n = len(load(out)["images"])
    assert f"({n} cached, 0 failed)" in result.output
    assert load(again) == load(out)
    assert (again / "music-index.hnsw").is_file()


def build(tmp_path, *args, images=DEMO, cache=None):
    out = tmp_path / "out"
    return out, cli_build(images, out, cache or tmp_path / "cache", *args)


def test_narrow_none_keeps_every_cluster_and_user_mode_obeys_the_csv(tmp_path, session_cache):
    out, result = build(tmp_path, "--narrow", "none", "--method", "objects", cache=session_cache)
    assert result.exit_code == 0, result.output
    for im in load(out)["images"]:
        assert [t["id"] for t in im["tracks"]] == list(
            dict.fromkeys(c["track"] for c in im["clusters"])
        )
    q = tmp_path / "q.csv"
    q.write_text("image,quadrant\nastronaut.jpg,3\ncat.jpg,4\n")
    out2 = tmp_path / "u"
    result = cli_build(DEMO, out2, session_cache, "--narrow", "user", "--quadrants", str(q))
    assert result.exit_code == 0, result.output
    by_file = {im["file"]: im for im in load(out2)["images"]}
    assert by_file["astronaut.jpg"]["quadrant"] == 3 and by_file["cat.jpg"]["quadrant"] == 4


def test_allow_silent_brings_back_the_whole_catalogue_and_playable_only_is_still_accepted(
    tmp_path, session_cache
):
    out, result = build(tmp_path, "--allow-silent", cache=session_cache)
    assert result.exit_code == 0, result.output
    g = load(out)
    assert g["catalogue"] == {"name": "DEAM", "size": 1802}
    assert any(t["audio"] is None for im in g["images"] for t in im["tracks"])
    assert all(
        t["audio"] is None or (out / t["audio"]).is_file()
        for im in g["images"]
        for t in im["tracks"]
    )
    out2, result = build(tmp_path / "p", "--playable-only", cache=session_cache)
    assert result.exit_code == 0, result.output
    assert all(
        t["audio"] and (out2 / t["audio"]).is_file()
        for im in load(out2)["images"]
        for t in im["tracks"]
    )


def test_a_catalogue_without_audio_builds_a_silent_gallery_and_says_how_to_get_sound(
    tmp_path, session_cache
):
    cat = tmp_path / "silent.csv"
    cat.write_text(
        "id,title,artist,valence,arousal\n"
        + "".join(
            f"t{i},Track {i},Someone,{v:.2f},{a:.2f}\n"
            for i, (v, a) in enumerate(
                [(0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5), (0.1, 0.2)]
            )
        )
    )
    out, result = build(tmp_path, "--catalogue", str(cat), cache=session_cache)
    assert result.exit_code == 0, result.output
    assert "has an audio file" in result.output and "an audio column" in result.output
    assert (
        "deam-audio" not in result.output
    )  # DEAM's audio would not give the user's own tracks a sound
    assert "--music" in result.output and load(out)["silent"]


def test_picture_with_nothing_detected_is_flagged_not_fatal(tmp_path, session_cache):

    pics = tmp_path / "pics"
    pics.mkdir()
    Image.new("RGB", (300, 200), (250, 250, 245)).save(pics / "blank.png")
    out, result = build(tmp_path, "--method", "objects", images=pics, cache=session_cache)
    assert result.exit_code == 0, result.output
    (im,) = load(out)["images"]
    assert (
        im["objects"] == [] and im["impressions"] == [] and "nothing recognised" in im["fallback"]
    )
    assert len(im["tracks"]) == 1 and im["quadrant"] in (1, 2, 3, 4)


def test_random_baseline_is_seeded(tmp_path, session_cache):
    out, result = build(tmp_path, "--method", "random", "--seed", "3", cache=session_cache)
    assert result.exit_code == 0, result.output
    first = [im["tracks"][0]["id"] for im in load(out)["images"]]
    out2, _ = build(tmp_path / "b", "--method", "random", "--seed", "3", cache=session_cache)
    assert [im["tracks"][0]["id"] for im in load(out2)["images"]] == first
    assert len(set(first)) > 1


def test_output_inside_input_and_foreign_output_are_refused(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "a.txt").write_text("x")
    result = CliRunner().invoke(app, ["build", str(pics), "--out", str(pics / "dist"), "--offline"])
    assert result.exit_code == 2 and "inside the input" in result.output
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    result = CliRunner().invoke(app, ["build", str(DEMO), "--out", str(foreign), "--offline"])
    assert result.exit_code == 2 and "not written by this builder" in result.output
    assert (foreign / "thesis.docx").read_text() == "precious"


def test_empty_folder_builds_nothing_with_its_own_exit_status(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out, result = build(tmp_path, images=empty)
    assert result.exit_code == 4 and "nothing could be built" in result.output
    assert not out.exists()


def test_missing_asset_is_one_sentence_and_exit_3(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(DEMO),
            "--out",
            str(tmp_path / "o"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--offline",
        ],
        env={"BUILDER_MIRROR": ""},
    )
    assert result.exit_code == 3
    assert "not found in the cache" in result.output and "Traceback" not in result.output


def test_recommend_command_prints_nearest_tracks(session_cache):
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            "--valence",
            "0.6",
            "--arousal",
            "-0.5",
            "-k",
            "3",
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(session_cache),
            "--offline",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    assert len(rows) == 3
    dists = [(float(r[1]) - 0.6) ** 2 + (float(r[2]) + 0.5) ** 2 for r in rows]
    assert dists == sorted(dists)


@pytest.fixture(scope="module")
def caption_builds(tmp_path_factory, session_cache):
    outs = {}
    for method in ("caption", "caption-plain"):
        out = tmp_path_factory.mktemp(method) / "dist"
        result = cli_build(DEMO, out, session_cache, "--method", method)
        assert result.exit_code == 0, result.output
        outs[method] = load(out), out
    return outs


def test_caption_method_reads_faces_colours_and_captions(caption_builds):
    g, out = caption_builds["caption"]
    assert g["method"].startswith("caption:")
    by = {im["file"]: im for im in g["images"]}
    astro = by["astronaut.jpg"]
    assert [f["expression"] for f in astro["faces"]] == ["happiness"]
    assert set(astro["faces"][0]["probabilities"]) == {
        "anger",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "surprise",
        "neutral",
    }
    assert (
        "happy" in astro["caption"]["enriched"].split() and astro["caption"]["source"] == "template"
    )
    assert any(
        t["kind"] == "expression" and t["text"] == "happy" for t in astro["caption"]["tokens"]
    )
    words = {w.strip(".,").lower() for w in astro["caption"]["enriched"].split()}
    for im in g["images"]:
        assert set(im["caption"]) >= {"text", "source", "enriched"}
        for o in im["objects"]:
            assert o["colour"]["name"] and len(o["colour"]["rgb"]) == 3
        for i in im["impressions"]:
            assert 0 < i["weight"] <= 1
        if im["impressions"]:
            assert max(i["weight"] for i in im["impressions"]) == pytest.approx(1)
    assert {i["source"] for i in astro["impressions"]} <= words
    html = (out / astro["page"]).read_text(encoding="utf-8")
    assert (
        '<mark class="expression"' in html and 'class="face"' in html and "Why this music" in html
    )


def test_caption_plain_switches_off_faces_and_colours(caption_builds):
    g, _ = caption_builds["caption-plain"]
    for im in g["images"]:
        assert im["faces"] == [] and all(o["colour"] is None for o in im["objects"])
        assert im["caption"]["enriched"] == im["caption"]["text"]
    objects_g = caption_builds["caption"][0]
    texts = {im["file"]: im["caption"]["text"] for im in objects_g["images"]}
    assert {im["file"]: im["caption"]["text"] for im in g["images"]} == texts


def test_learned_method_obeys_a_users_quadrant(tmp_path, session_cache):
    q = tmp_path / "q.csv"
    q.write_text("image,quadrant\nastronaut.jpg,2\ndune.jpg,1\n")
    out, result = build(tmp_path, "--narrow", "user", "--quadrants", str(q), cache=session_cache)
    assert result.exit_code == 0, result.output
    by = {im["file"]: im for im in load(out)["images"]}
    assert by["astronaut.jpg"]["quadrant"] == 2 and by["dune.jpg"]["quadrant"] == 1
    for name, quadrant in (("astronaut.jpg", 2), ("dune.jpg", 1)):
        target = by[name]["target"]  # the music is aimed into the quadrant the user chose
        assert (target[0] >= 0) == (quadrant == 1) and target[1] >= 0
        assert by[name]["quadrant_rule"] == "user"


@requires_mirror
def test_an_unwritable_stats_file_says_so_and_keeps_the_new_gallery(pics, tmp_path, session_cache):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "site"
    result = cli_build(
        pics, out, session_cache, "--method", "random", "--stats", str(blocker / "stats.json")
    )
    assert result.exit_code == 5, result.output
    assert (
        "writing the statistics file" in result.output
        and "the new gallery is in place" in result.output
    )
    assert "writing the gallery failed" not in result.output
    assert (out / "index.html").is_file() and leftovers(out) == []
