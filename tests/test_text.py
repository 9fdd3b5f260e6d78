"""The visitor's words (builder/gallery/text.py): every language's catalogue complete, every word a
page or script asks for there, and the sentences that say why a picture has its music."""

import json
import re

from typer.testing import CliRunner

from builder.cli import app
from builder.gallery.text import (
    Words,
    alt_text,
    explain,
    moved_text,
    plot_summary,
    rule_text,
    seen_text,
)
from builder.records import (
    Caption,
    CatalogueInfo,
    Cluster,
    Contribution,
    Gallery,
    Impression,
    ObjectRecord,
    Seen,
    Track,
)

from .conftest import DEMO, ROOT, picture_record

MESSAGES = ROOT / "builder" / "gallery" / "messages"


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_catalogue_has_the_keys_and_placeholders_of_english():
    english = json.loads((MESSAGES / "en.json").read_text(encoding="utf-8"))
    catalogues = sorted(MESSAGES.glob("*.json"))
    assert {p.stem for p in catalogues} >= {"en", "ja"}
    for path in catalogues:
        other = json.loads(path.read_text(encoding="utf-8"))
        assert set(other) == set(english), (
            f"{path.name}: missing {set(english) - set(other)}, extra {set(other) - set(english)}"
        )
        for key, text in english.items():
            assert placeholders(other[key]) == placeholders(text), f"{path.name}: {key}"
            assert other[key].strip(), f"{path.name}: {key} is empty"


def test_every_word_a_template_or_script_asks_for_is_in_the_catalogue():
    english = json.loads((MESSAGES / "en.json").read_text(encoding="utf-8"))
    templates = ROOT / "site_template"
    asked = set()
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        asked |= set(re.findall(r"""\bt\(["'](\w+)["']""", text))
        asked |= {
            f"{k}_{form}"
            for k in re.findall(r"""\btn\(["'](\w+)["']""", text)
            for form in ("one", "other")
        }
    script = "".join(p.read_text(encoding="utf-8") for p in (templates / "static").glob("*.js"))
    asked |= set(re.findall(r"""\bM\("(\w+)\"""", script))
    asked |= {
        f"{k}_{form}"
        for k in re.findall(r"""\bMN\("(\w+)\"""", script)
        for form in ("one", "other")
    }
    assert len(asked) > 50 and asked <= set(english), asked - set(english)


def test_an_unknown_language_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        app, ["build", str(DEMO), "--out", str(tmp_path / "o"), "--lang", "xx"]
    )
    assert result.exit_code == 2 and "--lang must be one of en, ja" in result.output


def test_a_learned_pictures_tracks_are_explained_by_their_rank():
    tracks = tuple(Track(str(i), "t", "a", 0.0, 0.0) for i in range(4))
    why = explain(picture_record("p.jpg", tracks=tracks), "learned:none", Words())
    assert why["0"].startswith("chosen for this picture across the whole exhibition")
    assert [why[k].split()[1] for k in "123"] == ["second", "third", "4th"]
    ja = Words("ja")
    assert explain(picture_record("p.jpg", tracks=tracks), "learned", ja)["0"] == ja.t(
        "why_learned_first"
    )


def test_a_published_pictures_track_is_traced_to_its_cluster_of_words():
    words = (
        Impression("calm", 0.3, -0.4, 0.9, "sea", 1.0),
        Impression("quiet", 0.2, -0.3, 0.5, "sand", 1.0),
    )
    tracks = (Track("1", "t", "a", 0.3, -0.3), Track("2", "u", "b", 0.5, 0.5))
    im = picture_record(
        "p.jpg",
        tracks=tracks,
        impressions=words,
        clusters=(Cluster((0.25, -0.35), 2, 4, "1", (0, 1)),),
        quadrant=4,
    )
    why = explain(im, "objects:yolo", Words())
    assert why["1"] == (
        "nearest track to a cluster of 2 impressions (calm, quiet) that came from 'sea', 'sand',"
        " in the calm–pleasant quadrant"
    )
    assert why["2"] == "nearest track to the impressions in the chosen quadrant"
    fallback = explain(picture_record("q.jpg", tracks=tracks, fallback="nothing seen"), "objects")
    assert fallback["1"] == "nothing seen: nearest track to the picture's feeling"


def test_the_plane_is_summed_up_in_words():
    gallery = Gallery("objects:yolo", "vote", (0, 0, 0, 0), CatalogueInfo("c", 9), ())
    target = picture_record("p.jpg", target=(0.5, -0.25), quadrant=4)
    assert "valence +0.50, arousal -0.25" in plot_summary(target, gallery)
    assert "among 9 tracks" in plot_summary(target, gallery)
    counted = picture_record(
        "q.jpg",
        impressions=(Impression("calm", 0.3, 0.4, 1.0, "sea", 1.0),),
        quadrant_counts=(3, 1, 0, 0),
    )
    assert "75 % of the impression words fall there" in plot_summary(counted, gallery)


def test_what_was_seen_and_what_moved_the_reading_fit_in_one_line():
    w = Words()
    seen = picture_record("p.jpg", seen=(Seen("beach", 0.62), Seen("sea", 0.2)))
    assert seen_text(seen, w) == "The classifier saw: beach (62 %), sea (20 %)"
    objects = tuple(ObjectRecord(label, 0.9, (0, 0, 1, 1), 1.0) for label in ("cat", "cat", "sofa"))
    assert seen_text(picture_record("q.jpg", objects=objects), w) == "What was seen: cat, sofa"
    assert (
        seen_text(picture_record("r.jpg"), w) == "" and moved_text(picture_record("r.jpg"), w) == ""
    )
    groups = tuple(
        Contribution(g, v, a)
        for g, v, a in (
            ("colour", 0.1, 0.0),
            ("scene", -0.3, 0.2),
            ("faces", 0.0, 0.05),
            ("text", 0.2, 0.2),
        )
    )
    moved = moved_text(picture_record("s.jpg", contributions=groups), w)
    assert moved.startswith("What moved the reading most: scene (valence -0.30, arousal +0.20)")
    assert "faces" not in moved  # the three largest only


def test_alt_text_and_the_quadrants_rule_fall_back_in_order():
    caption = Caption("a cat on a sofa", "template", "a cat on a sofa")
    assert alt_text(picture_record("p.jpg", alt="The cat", caption=caption)) == "The cat"
    assert alt_text(picture_record("p.jpg", caption=caption)) == "a cat on a sofa"
    assert alt_text(picture_record("p.jpg")) == "p.jpg"
    w = Words()
    assert rule_text(picture_record("p.jpg", quadrant_rule="vote"), w).startswith("chosen by the")
    assert rule_text(picture_record("p.jpg", quadrant_rule="new"), w) == "chosen by the method"
