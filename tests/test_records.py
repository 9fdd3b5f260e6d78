"""The data model read back from JSON: gallery.json as the records it was written from."""

from __future__ import annotations

import re
from dataclasses import fields, replace

import orjson
import pytest

from builder.records import (
    Caption,
    CaptionToken,
    CatalogueInfo,
    Cluster,
    Colour,
    Contribution,
    FaceRecord,
    Failure,
    Gallery,
    Impression,
    Matching,
    ObjectRecord,
    Seen,
    Study,
    StudyPick,
    Track,
)

from .conftest import picture_record

GALLERY_JSON = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS  # as the gallery writes it


def _every_kind_of_field() -> Gallery:
    """A gallery that holds a value of every record and every kind of field the records have."""
    track = Track("12", "Song", "Band", 0.25, -0.5, "rock", "audio/12.mp3", "CC BY 4.0", 3.5)
    picture = picture_record(
        "a/b.jpg",
        av=(0.1, -0.2),
        tracks=(track, Track("13", "Other", "", 0.0, 0.0)),
        width=640,
        height=480,
        impressions=(Impression("calm", 0.3, -0.4, 1.0, "sea", 0.8),),
        clusters=(Cluster((0.3, -0.4), 1, 4, "12", (0,)), Cluster((0.0, 0.0), 0, 1, None)),
        objects=(
            ObjectRecord(
                "boat", 0.9, (0.1, 0.2, 0.5, 0.6), 1.0, Colour("navy", (0, 0, 128), "box")
            ),
        ),
        fallback=None,
        quadrant_counts=(1, 0, 0, 2),
        faces=(FaceRecord((0.0, 0.0, 0.1, 0.1), "happy", 0.99, {"happy": 0.7, "sad": 0.3}),),
        caption=Caption(
            "a boat", "template", "a navy boat", (CaptionToken("a"), CaptionToken("navy", "colour"))
        ),
        page="pages/b.html",
        image="img/b-1600.jpg",
        thumb="img/b-320.webp",
        quadrant_rule="reading",
        target=(0.2, -0.3),
        contributions=(Contribution("colour", 0.05, -0.01),),
        seen=(Seen("boat", 0.8),),
        title="Harbour",
        description="Early",
        alt="Early",
        pinned=True,
        off_quadrant=False,
    )
    return Gallery(
        method="learned",
        narrow="none",
        quadrant_means=(0.1, 0.2, 0.3, 0.4),
        catalogue=CatalogueInfo("DEAM (playable)", 10),
        images=(picture, picture_record("c.png")),
        failed=(Failure("bad.jpg", "not a picture"),),
        version="1.2.3",
        slideshow=("c.png", "a/b.jpg"),
        reference=(0.01, -0.02),
        matching=Matching(2, 1, 0.5, 0.4, 2),
        silent=None,
        title="Summer",
        intro="Hello",
        intro_html="<p>Hello</p>",
        lang="ja",
        kiosk=True,
        study=Study(
            "g-0123456789abcdef",
            ("gallery", "objects", "random"),
            {
                "a/b.jpg": {
                    "gallery": StudyPick("12", 4),
                    "objects": StudyPick(None, 2),
                    "random": StudyPick("13", None),
                }
            },
            (track,),
            size=5,
            text="Hi",
            text_html="<p>Hi</p>",
        ),
    )


def test_a_gallery_read_back_from_its_json_equals_the_gallery_written():
    gallery = _every_kind_of_field()
    assert Gallery.from_json(orjson.dumps(gallery, option=GALLERY_JSON)) == gallery


def test_a_gallery_without_a_study_writes_no_study_key_at_all():
    """gallery.json of a gallery built without --study is what it was before the study existed."""
    gallery = replace(_every_kind_of_field(), study=None)
    written = gallery.to_json()
    assert b'"study"' not in written and Gallery.from_json(written) == gallery
    # the rest as orjson writes the record: its fields in their order, nothing else changed
    assert list(orjson.loads(written)) == [f.name for f in fields(Gallery) if f.name != "study"]
    full = orjson.dumps(gallery, option=GALLERY_JSON)
    assert written.removesuffix(b"\n}") + b',\n  "study": null\n}' == full
    with_study = _every_kind_of_field()
    assert with_study.to_json() == orjson.dumps(with_study, option=GALLERY_JSON)


def test_keys_left_out_take_their_defaults_and_unknown_keys_are_ignored():
    data = orjson.loads(orjson.dumps(_every_kind_of_field()))
    for key in ("kiosk", "slideshow", "matching"):
        del data[key]
    data["images"][0]["tracks"][0].pop("start")
    data["added_by_a_later_version"] = {"anything": 1}
    gallery = Gallery.from_json(orjson.dumps(data))
    assert (gallery.kiosk, gallery.slideshow, gallery.matching) == (False, (), None)
    assert gallery.images[0].tracks[0].start == 0.0
    assert Gallery.from_json(
        b'{"method": "x", "narrow": "none", "quadrant_means": [0, 0, 0, 1], '
        b'"catalogue": {"name": "c", "size": 0}, "images": []}'
    ).quadrant_means == (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda d: d["images"][0]["tracks"][0].update(start="soon"),
            "images[0].tracks[0].start: expected a number, got a string",
        ),
        (
            lambda d: d["images"][0].update(tracks={"id": "12"}),
            "images[0].tracks: expected a list, got an object",
        ),
        (lambda d: d.update(images="none"), "images: expected a list, got a string"),
        (lambda d: d["images"][1].pop("av"), "images[1].av is missing"),
        (
            lambda d: d["images"][0].update(quadrant=True),
            "images[0].quadrant: expected a whole number",
        ),
        (lambda d: d["images"][0].update(width=640.5), "images[0].width: expected a whole number"),
        (
            lambda d: d["images"][0].update(quadrant_counts=[1, 2]),
            "images[0].quadrant_counts: expected 4 values, got 2",
        ),
        (
            lambda d: d["images"][0]["tracks"][0].update(title=None),
            "images[0].tracks[0].title: expected a string, got null",
        ),
        (
            lambda d: d["images"][0]["faces"][0]["probabilities"].update(happy="x"),
            "images[0].faces[0].probabilities.happy",
        ),
        (lambda d: d.update(kiosk="yes"), "kiosk: expected true or false, got a string"),
        (lambda d: d.update(catalogue=None), "catalogue: expected an object, got null"),
    ],
)
def test_a_malformed_value_is_refused_naming_its_field(change, named):
    data = orjson.loads(orjson.dumps(_every_kind_of_field()))
    change(data)
    with pytest.raises(ValueError, match=re.escape(named)):
        Gallery.from_json(orjson.dumps(data))


def test_what_is_not_a_gallery_at_all_is_a_value_error():
    with pytest.raises(ValueError, match="the top level: expected an object, got a list"):
        Gallery.from_json(b"[]")
    with pytest.raises(ValueError):  # not JSON (orjson's error is a ValueError)
        Gallery.from_json(b"{images")


@pytest.mark.slow
def test_the_demo_gallery_json_reads_back_as_the_gallery_written(demo_build):
    """gallery.json is the Gallery the build made, as orjson writes it: read back and written again
    the same way, it is the same bytes, so nothing of it is lost or changed in reading."""
    written = (demo_build[0] / "gallery.json").read_bytes()
    gallery = Gallery.from_json(written)
    assert gallery.images and any(t.audio for im in gallery.images for t in im.tracks)
    assert gallery.to_json() == written
