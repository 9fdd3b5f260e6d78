"""The visitor's words (builder/gallery/text.py): every language's catalogue complete, every word a
page or script asks for there, and the sentences that say why a picture has its music."""

import json
import re
from dataclasses import replace

from typer.testing import CliRunner

from builder.cli import app
from builder.gallery.text import (
    SEEN_THRESHOLD,
    Words,
    alt_text,
    display_name,
    explain,
    feeling_words,
    method_words,
    moved_text,
    plot_summary,
    reads_as,
    rule_text,
    seen_labels,
    seen_text,
)
from builder.records import (
    Caption,
    CatalogueInfo,
    Cluster,
    Contribution,
    Gallery,
    Impression,
    Matching,
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


def learned(*images, quadrant_tracks=(3, 0, 5, 2)) -> Gallery:
    matching = Matching(len(images), 1, 0.0, 0.0, 1, quadrant_tracks=quadrant_tracks)
    return Gallery("learned:none", "none", (0, 0, 0, 0), CatalogueInfo("c", 10), images,
                   matching=matching)  # fmt: skip


def test_a_learned_pictures_tracks_are_explained_by_their_rank():
    tracks = tuple(Track(str(i), "t", "a", 0.0, 0.0) for i in range(4))
    im = picture_record("p.jpg", tracks=tracks, reason="nearest", quadrant=4)
    why = explain(im, learned(im), Words())
    assert why["0"] == (
        "Of the catalogue's tracks that read as calm–pleasant, this one lies closest to the"
        " picture's feeling"
    )
    assert [why[k].split()[-3] for k in "123"] == ["second", "third", "4th"]
    ja = Words("ja")
    assert explain(im, learned(im), ja)["0"] == ja.t("why_nearest", quadrant=ja.quadrant(4))


def test_the_first_tracks_reason_says_what_happened():
    """The curator's pin, the closest track, a close one, no track in the feeling; and a track
    shared with other pictures says with how many and why, from the gallery's own facts."""
    w, track = Words(), (Track("7", "t", "a", 0.1, 0.1),)

    def first(im, *others, counts=(3, 0, 5, 2)):
        return explain(im, learned(im, *others, quadrant_tracks=counts), w)["7"]

    pinned = picture_record("a.jpg", tracks=track, pinned=True, reason="pinned", shared=2)
    assert (
        first(pinned)
        == "The curator chose this track for this picture. It also plays for 2 other pictures"
    )
    close = picture_record("b.jpg", tracks=track, reason="close")
    assert first(close).startswith("A close fit among the tracks that read as excited–pleasant")
    off = picture_record("c.jpg", tracks=track, reason="off_quadrant", quadrant=2)
    assert first(off) == (
        "No track of the catalogue reads as excited–unpleasant, so this is the nearest track in"
        " another feeling"
    )
    # quadrant 1 has 3 tracks: shared among 5 pictures there, the catalogue has few
    crowd = [picture_record(f"{i}.jpg", tracks=track, reason="nearest", shared=4) for i in range(5)]
    assert first(crowd[0], *crowd[1:]).endswith(
        "It also plays for 4 other pictures: the catalogue has few tracks in this feeling"
        " (3 for 5 pictures)"
    )
    # 2 pictures and 3 tracks: the other tracks lie farther away
    pair = [picture_record(f"{i}.jpg", tracks=track, reason="nearest", shared=1) for i in range(2)]
    assert first(pair[0], pair[1]).endswith(
        "It also plays for 1 other picture: the catalogue's other tracks in this feeling lie"
        " farther from it"
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
    gallery = Gallery("objects:yolo", "vote", (0, 0, 0, 0), CatalogueInfo("c", 9), (im,))
    why = explain(im, gallery, Words())
    assert why["1"] == (
        "nearest track to a cluster of 2 impressions (calm, quiet) that came from 'sea', 'sand',"
        " in the calm–pleasant quadrant"
    )
    assert why["2"] == "nearest track to the impressions in the chosen quadrant"
    fallback = picture_record("q.jpg", tracks=tracks, fallback="nothing seen")
    assert explain(fallback, gallery)["1"] == "nothing seen: nearest track to the picture's feeling"
    pinned = replace(fallback, pinned=True, reason="pinned")
    assert explain(pinned, gallery)["1"] == "The curator chose this track for this picture"


def test_the_plane_is_summed_up_in_words_not_decimals():
    gallery = Gallery("objects:yolo", "vote", (0, 0, 0, 0), CatalogueInfo("c", 9), ())
    target = picture_record("p.jpg", target=(0.5, -0.1), quadrant=4)
    assert plot_summary(target, gallery) == (
        "The picture reads as calm–pleasant: very pleasant and slightly calm; its music was looked"
        " for where the catalogue's 9 tracks feel the same"
    )
    counted = picture_record(
        "q.jpg",
        impressions=(Impression("calm", 0.3, 0.4, 1.0, "sea", 1.0),),
        quadrant_counts=(3, 1, 0, 0),
    )
    assert "75 % of the impression words fall there" in plot_summary(counted, gallery)
    w = Words()
    assert feeling_words((0.0, 0.2), w) == "neither pleasant nor unpleasant and fairly excited"
    assert feeling_words((-0.12, -0.04), w) == "slightly unpleasant and neither calm nor excited"
    assert reads_as(3, w) == "reads as calm–unpleasant"


def test_only_confident_labels_are_shown_and_what_moved_the_reading_is_said_in_words():
    w = Words()
    seen = picture_record(
        "p.jpg", seen=(Seen("daisy", SEEN_THRESHOLD + 0.1), Seen("car mirror", 0.08))
    )
    assert (
        seen_labels(seen) == ["daisy"] and seen_text(seen, w) == "The classifier recognised: daisy"
    )
    doubtful = picture_record("d.jpg", seen=(Seen("car mirror", 0.08), Seen("wing", 0.07)))
    assert seen_text(doubtful, w) == "" and seen_labels(doubtful) == []
    objects = tuple(ObjectRecord(label, 0.9, (0, 0, 1, 1), 1.0) for label in ("cat", "cat", "sofa"))
    assert seen_text(picture_record("q.jpg", objects=objects), w) == "What was seen: cat, sofa"
    assert (
        seen_text(picture_record("r.jpg"), w) == "" and moved_text(picture_record("r.jpg"), w) == ""
    )
    groups = tuple(
        Contribution(g, v, a)
        for g, v, a in (
            ("colour", 0.1, 0.0),
            ("the look of the picture (classifier features)", -0.3, 0.2),
            ("detected objects", 0.0, 0.005),
            ("word ratings of what the classifier saw", 0.2, 0.03),
        )
    )
    said = moved_text(picture_record("s.jpg", contributions=groups), w)
    assert said == (
        "What moved the reading most: the look of the picture (less pleasant, more excited);"
        " how people rate the words for what the classifier saw (more pleasant, a little more"
        " excited); the colours (a little more pleasant)"
    )
    assert not re.search(r"\d", said)  # no decimals
    ja = moved_text(picture_record("s.jpg", contributions=groups), Words("ja"))
    assert ja.startswith("読み取りを最も動かしたもの： 写真の見た目（より不快に、より高揚）")


def test_a_pictures_name_is_its_title_else_its_file_without_extension():
    caption = Caption("a cat on a sofa", "template", "a cat on a sofa")
    assert alt_text(picture_record("p.jpg", alt="The cat", caption=caption)) == "The cat"
    assert alt_text(picture_record("p.jpg", caption=caption)) == "a cat on a sofa"
    assert alt_text(picture_record("dir/p.jpg")) == "p"
    assert display_name(picture_record("dir/sea.side.JPG")) == "sea.side"
    assert display_name(picture_record("dir/sea.jpg", title="The sea")) == "The sea"
    w = Words()
    assert rule_text(picture_record("p.jpg", quadrant_rule="vote"), w).startswith("chosen by the")
    assert rule_text(picture_record("p.jpg", quadrant_rule="new"), w) == "chosen by the method"
    assert method_words("learned:yolo-fastest", w) == "learned from photos people rated"
    assert method_words("learned:yolo-fastest", Words("ja")) == "人が評定した写真から学習"
