"""The study a gallery built with --study holds (builder.pipeline.study, gallery.json's `study`,
data/study.js): what each condition picks for each picture, the failures, the seeded random
condition, the build id, and the audio the visitors hear, in the gallery."""

from __future__ import annotations

import re

import orjson
import pytest

from builder.lab.study import Design
from builder.pipeline.study import build_id, design
from builder.plane import quadrant
from builder.records import CatalogueInfo, Cluster, Gallery, StudyPick, Track
from builder.settings import Settings

from .conftest import DEMO, cli_build, picture_record, requires_mirror

pytestmark = requires_mirror


def load(out) -> dict:
    return orjson.loads((out / "gallery.json").read_bytes())


def study_script(out) -> dict:
    text = (out / "data" / "study.js").read_text(encoding="utf-8")
    assert text.startswith("window.GALLERY_STUDY = ")
    return orjson.loads(text.removeprefix("window.GALLERY_STUDY = ").rstrip().removesuffix(";"))


def held(g: dict) -> set[int]:
    """The quadrants the gallery's catalogue has a track in (catalogue.js: the tracks played)."""
    text = (g["_out"] / "catalogue.js").read_text(encoding="utf-8")
    table = orjson.loads(text.removeprefix("window.CATALOGUE = ").rstrip().removesuffix(";"))
    at = {name: i for i, name in enumerate(table["columns"])}
    return {quadrant((row[at["valence"]], row[at["arousal"]])) for row in table["tracks"]}


@pytest.fixture(scope="module")
def built(study_build) -> dict:
    g = load(study_build[0])
    g["_out"] = study_build[0]
    return g


def test_the_study_is_what_the_report_reads_with_a_pick_per_picture_and_condition(built):
    study = Design.from_json(built["study"])
    assert re.fullmatch(r"g-[0-9a-f]{16}", study.gallery)
    assert study.conditions == ("gallery", "objects", "random")
    assert set(study.pictures) == {im["file"] for im in built["images"]}
    assert built["study"]["size"] == 10 and built["study"]["excerpt"] == 15.0
    for im in built["images"]:
        picks = study.pictures[im["file"]]
        assert picks["gallery"].quadrant == im["quadrant"]
        assert picks["random"].quadrant is None and picks["random"].track is not None
        if picks["gallery"].track is not None:  # the gallery's own first track, as it plays it
            assert picks["gallery"].track == im["tracks"][0]["id"]


def test_a_condition_fails_where_the_catalogue_has_no_track_in_its_quadrant(built):
    """The demo's ten playable DEAM clips have none in quadrant 2 (excited, unpleasant): every
    condition that reads a picture there could not recommend, and none fails elsewhere."""
    quadrants = held(built)
    assert 2 not in quadrants
    picks = Design.from_json(built["study"]).pictures
    failed = {(f, c) for f, by in picks.items() for c, p in by.items() if p.track is None}
    reads_q2 = {(f, c) for f, by in picks.items() for c, p in by.items() if p.quadrant == 2}
    assert reads_q2 and failed == reads_q2
    off = {im["file"] for im in built["images"] if im.get("off_quadrant")}
    assert off == {f for f, c in failed if c == "gallery"}  # the gallery says so itself


def test_the_object_condition_is_the_published_object_method_narrowing_by_vote(
    built, tmp_path, session_cache
):
    out = tmp_path / "objects"
    result = cli_build(DEMO, out, session_cache, "--method", "objects")
    assert result.exit_code == 0, result.output
    objects = {im["file"]: im for im in load(out)["images"]}
    picks = Design.from_json(built["study"]).pictures
    for file, by in picks.items():
        im, pick = objects[file], by["objects"]
        assert pick.quadrant == im["quadrant"], file
        assert pick.track in (None, im["tracks"][0]["id"]), file
        if pick.track is None:  # the published method had nothing in its quadrant to recommend
            assert im["quadrant"] not in held(built) or not any(
                c["quadrant"] == im["quadrant"] for c in im["clusters"]
            )


def test_the_random_condition_is_drawn_from_the_catalogue_seeded_per_picture(built, deam):
    from builder.picture.methods.random_track import draw

    tracks = deam.playable().tracks
    picks = Design.from_json(built["study"]).pictures
    drawn = {f: by["random"].track for f, by in picks.items()}
    assert drawn == {f: draw(tracks, 0, f).id for f in picks}
    assert len(set(drawn.values())) > 1
    assert {f: draw(tracks, 1, f).id for f in picks} != drawn  # another --seed, other draws


def test_the_audio_of_every_condition_is_in_the_gallery_and_on_the_page(built):
    out, study = built["_out"], built["study"]
    tracks = {t["id"]: t for t in study["tracks"]}
    picked = {p["track"] for by in study["pictures"].values() for p in by.values()} - {None}
    assert set(tracks) == picked
    for t in tracks.values():
        assert t["audio"].startswith("audio/") and (out / t["audio"]).is_file()
    page = study_script(out)
    assert page["gallery"] == study["gallery"] and page["size"] == 10
    assert [p["file"] for p in page["pictures"]] == [im["file"] for im in built["images"]]
    for p in page["pictures"]:
        by = study["pictures"][p["file"]]
        assert (out / p["image"]).is_file() and p["alt"]
        # one excerpt per distinct track; a track two conditions picked is heard once, for both
        heard = {e["track"]: e["conditions"] for e in p["excerpts"]}
        assert len(heard) == len(p["excerpts"])
        assert heard == {
            t: [c for c in study["conditions"] if by[c]["track"] == t]
            for t in {by[c]["track"] for c in study["conditions"]} - {None}
        }
        assert p["fails"] == [c for c in study["conditions"] if by[c]["track"] is None]
        for e in p["excerpts"]:
            assert e["audio"] == tracks[e["track"]]["audio"]
            # from the picture's moment of the track (tests/test_moments.py), the same for every
            # condition that picked it
            assert {by[c]["start"] for c in e["conditions"]} == {e["start"]}
    # nothing on the page tells the visitor which track is which: no titles, no artists
    assert not {"title", "artist"} & {k for p in page["pictures"] for e in p["excerpts"] for k in e}


def test_the_demo_built_without_a_study_is_unchanged(built, demo_build):
    """The same build without --study: its gallery.json is the study build's without `study`,
    byte for byte, and it holds none of the study's files."""
    plain = demo_build[0]
    studied = (built["_out"] / "gallery.json").read_bytes()
    assert (plain / "gallery.json").read_bytes() == studied[: studied.index(b',\n  "study": ')] + (
        b"\n}"
    )
    for rel in ("study.html", "data/study.js", "static/study.js", "static/study.css"):
        assert not (plain / rel).exists() and (built["_out"] / rel).is_file(), rel
    assert "study.html" not in (plain / "index.html").read_text(encoding="utf-8")
    assert 'href="study.html"' in (built["_out"] / "index.html").read_text(encoding="utf-8")


def test_rebuilding_the_same_study_keeps_its_id_and_another_study_has_another(
    built, tmp_path, session_cache
):
    again = tmp_path / "again"
    assert cli_build(DEMO, again, session_cache, "--study").exit_code == 0
    assert load(again)["study"] == {k: v for k, v in built["study"].items()}
    other = tmp_path / "other"
    result = cli_build(
        DEMO, other, session_cache, "--study", "--study-conditions", "random,gallery"
    )
    assert result.exit_code == 0, result.output
    study = load(other)["study"]
    assert (
        study["conditions"] == ["random", "gallery"]
        and study["gallery"] != built["study"]["gallery"]
    )
    assert all(set(by) == {"random", "gallery"} for by in study["pictures"].values())


def test_the_study_text_replaces_the_first_screen(tmp_path, session_cache):
    text = tmp_path / "study.md"
    text.write_text("# Help us\n\nFive pictures, <script>alert(1)</script> anonymous.\n")
    out = tmp_path / "out"
    result = cli_build(
        DEMO, out, session_cache, "--study", "--study-text", str(text), "--study-pictures", "5"
    )
    assert result.exit_code == 0, result.output
    page = (out / "study.html").read_text(encoding="utf-8")
    assert "<h2>Help us</h2>" in page and "&lt;script&gt;" in page and "<script>alert" not in page
    assert 'data-size="5"' in page and load(out)["study"]["text"] == text.read_text()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--study-conditions", "gallery,caption"], "--study-conditions must be"),
        (["--study-conditions", "gallery,gallery"], "names a condition twice"),
        (["--study-conditions", ""], "--study-conditions must be"),
        (["--study-pictures", "0"], "--study-pictures"),
        (["--study-text", "missing.md"], "study text file missing.md does not exist"),
    ],
)
def test_bad_study_options_are_usage_errors(tmp_path, session_cache, args, said):
    result = cli_build(DEMO, tmp_path / "o", session_cache, "--study", *args)
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


def test_a_study_needs_music_to_rate(tmp_path, session_cache):
    cat = tmp_path / "silent.csv"
    cat.write_text("id,title,artist,valence,arousal\nt1,T,S,0.5,0.5\nt2,U,S,-0.5,-0.5\n")
    result = cli_build(DEMO, tmp_path / "o", session_cache, "--study", "--catalogue", str(cat))
    assert result.exit_code == 2 and "--study asks visitors to rate music" in result.output
    assert not (tmp_path / "o").exists()


# ---- the design alone, on records made in code --------------------------------------------------


def _track(tid: str, v: float, a: float) -> Track:
    return Track(tid, tid, "", v, a, audio=f"/music/{tid}.mp3")


CATALOGUE = [_track("q1", 0.5, 0.5), _track("q3", -0.5, -0.5), _track("q4", 0.5, -0.5)]


def _gallery(*pictures) -> Gallery:
    return Gallery("learned:x", "vote", (0, 0, 0, 0), CatalogueInfo("c", 3), tuple(pictures))


def test_the_object_method_fails_where_its_vote_keeps_no_cluster():
    q1, q4 = CATALOGUE[0], CATALOGUE[2]
    gallery = _gallery(
        picture_record("kept.jpg", tracks=(q1,), quadrant=1),
        picture_record("none.jpg", tracks=(q4,), quadrant=4),
    )
    objects = {  # "none.jpg": voted quadrant 4, its only cluster in 1 (the method's fallback track)
        "kept.jpg": picture_record(
            "kept.jpg", tracks=(q1,), quadrant=1, clusters=(Cluster((0.4, 0.4), 3, 1, "q1"),)
        ),
        "none.jpg": picture_record(
            "none.jpg", tracks=(q4,), quadrant=4, clusters=(Cluster((0.4, 0.4), 3, 1, "q1"),)
        ),
    }
    study = design(Settings(DEMO, study=True), gallery, CATALOGUE, {}, objects)
    assert study.pictures["kept.jpg"]["objects"] == StudyPick("q1", 1)
    assert study.pictures["none.jpg"]["objects"] == StudyPick(None, 4)
    assert study.pictures["none.jpg"]["gallery"] == StudyPick("q4", 4)
    picked = {p.track for by in study.pictures.values() for p in by.values()} - {None}
    assert {t.id for t in study.tracks} == picked and {"q1", "q4"} <= picked


def test_the_build_id_follows_the_pictures_content_and_the_picks():
    picks = {"a.jpg": {"gallery": StudyPick("q1", 1), "random": StudyPick("q3", None)}}
    gid = build_id(("gallery", "random"), picks, {"a.jpg": "00"})
    assert gid == build_id(("gallery", "random"), picks, {"a.jpg": "00"})
    assert re.fullmatch(r"g-[0-9a-f]{16}", gid)
    assert gid != build_id(("gallery", "random"), picks, {"a.jpg": "01"})  # another picture
    changed = {"a.jpg": {"gallery": StudyPick("q4", 4), "random": StudyPick("q3", None)}}
    assert gid != build_id(("gallery", "random"), changed, {"a.jpg": "00"})
    assert gid != build_id(("random", "gallery"), picks, {"a.jpg": "00"})
