"""The gallery's data files (builder/gallery/data.py): gallery.json's companions written as classic
scripts, the shards' rows and the column names the scripts read them by."""

import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.gallery import data
from builder.gallery.data import row, script_json, write_shards
from builder.gallery.text import Words
from builder.records import CatalogueInfo, Gallery, Track

from .conftest import ROOT, picture_record, requires_mirror

STATIC = ROOT / "site_template" / "static"


def script_value(text: str):
    """The value a data script sets: `window.X = value;` or `(...)["name"] = value;`."""
    head = '"] = ' if text.startswith("(") else " = "
    return orjson.loads(text.split(head, 1)[1].rstrip().removesuffix(";"))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=20,
    )
)
@settings(max_examples=200, deadline=None)
def test_inlined_json_cannot_break_out_of_its_script(value):
    text = script_json(orjson.dumps(value))
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert orjson.loads(text) == value


def test_a_row_is_its_cells_in_the_order_of_its_columns():
    assert row(("a", "b", "c"), c=3, a=1, b=2) == [1, 2, 3]
    with pytest.raises(ValueError):
        row(("a", "b"), a=1)  # a cell missing
    with pytest.raises(ValueError):
        row(("a",), a=1, b=2)  # a cell no column names


def small_gallery() -> Gallery:
    playing = Track("7", "Song", "Band", 0.2, 0.3, audio="audio/7.mp3", licence="CC BY", start=1.5)
    silent = Track("8", "Quiet", "Nobody", 0.1, 0.1)
    images = tuple(
        picture_record(
            f"p{i}.jpg",
            av=(0.1 * i, 0.2),
            tracks=(silent, playing),
            width=40,
            height=30,
            page=f"pages/p{i}-abc.html",
            image=f"img/p{i}-40.jpg",
            thumb=f"thumbs/p{i}-40.jpg",
            title="Named" if i == 1 else "",
            description="Two\nlines" if i == 1 else "",
            colour="#000000",
        )
        for i in range(3)
    )
    return Gallery(
        "random",
        "none",
        (0, 0, 0, 0),
        CatalogueInfo("c", 2),
        images,
        slideshow=("p2.jpg", "p0.jpg", "p1.jpg"),
    )


def test_every_shard_row_reads_by_the_names_in_columns_js(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHARD_SIZE", 2)
    write_shards(tmp_path, small_gallery())
    columns = script_value((tmp_path / "data" / "columns.js").read_text(encoding="utf-8"))
    assert columns == {
        "view": list(data.VIEW_COLUMNS),
        "slides": list(data.SLIDE_COLUMNS),
        "names": list(data.NAME_COLUMNS),
        "track": list(data.TRACK_COLUMNS),
    }

    def rows(kind: str) -> list[dict]:
        shards = sorted((tmp_path / "data").glob(f"{kind}-*.js"))
        assert [p.name for p in shards] == [f"{kind}-0.js", f"{kind}-1.js"]  # 3 rows, 2 a shard
        return [
            dict(zip(columns[kind], r))
            for p in shards
            for r in script_value(p.read_text(encoding="utf-8"))
        ]

    view = rows("view")
    assert [v["id"] for v in view] == ["p0-abc", "p1-abc", "p2-abc"]  # gallery order
    # a picture's name: its title, else its file name without the extension
    assert [v["title"] for v in view] == ["p0", "Named", "p2"]
    assert [v["caption"] for v in view] == ["", "Two\nlines", ""]
    track = dict(zip(columns["track"], view[0]["track"]))  # the first track with audio
    assert track == {
        "id": "7",
        "title": "Song",
        "artist": "Band",
        "licence": "CC BY",
        "audio": "audio/7.mp3",
        "start": 1.5,
    }
    assert (view[0]["width"], view[0]["height"], view[0]["quadrant"]) == (40, 30, 1)
    slides = rows("slides")
    assert [s["file"] for s in slides] == ["p2.jpg", "p0.jpg", "p1.jpg"]  # slideshow order
    assert slides[0]["title"] == "Quiet" and slides[0]["audio_title"] == "Song"
    assert [s["name"] for s in slides] == ["p2", "p0", "Named"]
    assert slides[2]["caption"] == "Two\nlines" and (slides[0]["width"], slides[0]["height"]) == (
        40,
        30,
    )
    assert slides[0]["background"] == data.calm("#000000") and data.calm("") == "#161616"
    assert rows("names")[1] == {
        "file": "p1.jpg",
        "page": "pages/p1-abc.html",
        "thumb": "thumbs/p1-40.jpg",
        "quadrant": 1,
        "title": "Named",
    }


def columns_read(script: str) -> dict[str, set[str]]:
    """The column names a script reads, by kind: each reader is made by G.columns("<kind>") and
    called as reader(row, "<name>"); the catalogue's as col.<name>."""
    found: dict[str, set[str]] = {}
    for reader, kind in re.findall(r"(\w+) = (?:\w+ \|\| )?G\.columns\(\"(\w+)\"\)", script):
        names = re.findall(rf"\b{reader}\([^()]*, \"(\w+)\"\)", script)
        assert names, f"the reader of {kind} is never called"
        found.setdefault(kind, set()).update(names)
    if "window.CATALOGUE" in script:
        found["catalogue"] = set(re.findall(r"\bcol\.(\w+)", script))
    return found


def test_every_column_a_script_reads_is_one_the_data_writes():
    tables = {**data.COLUMNS, "track": data.TRACK_COLUMNS, "catalogue": data.CATALOGUE_COLUMNS}
    read: dict[str, set[str]] = {}
    for path in sorted(STATIC.glob("*.js")):
        script = path.read_text(encoding="utf-8")
        assert not re.search(r"\brows?\[\d+\]\[\d+\]|\brow\[\d+\]", script), path.name
        for kind, names in columns_read(script).items():
            assert names <= set(tables[kind]), (path.name, kind, names - set(tables[kind]))
            read.setdefault(kind, set()).update(names)
    # the scripts read each kind of data by name: the viewer, the slideshow, the search, the plane
    assert set(read) == {"view", "slides", "names", "track", "catalogue"}


@requires_mirror
def test_catalogue_is_inlined_for_exploring(demo_build):
    out, _ = demo_build
    g = orjson.loads((out / "gallery.json").read_bytes())
    table = script_value((out / "catalogue.js").read_text(encoding="utf-8"))
    assert table["columns"][:3] == ["id", "valence", "arousal"]
    assert len(table["tracks"]) == g["catalogue"]["size"]
    assert sorted(g["slideshow"]) == sorted(im["file"] for im in g["images"])


def test_the_film_and_the_words_are_scripts_that_set_a_global(tmp_path):
    """Pages from file:// cannot fetch: what they read is a classic script setting a global."""
    data.write_film_placeholder(tmp_path)
    assert (tmp_path / "film.js").read_text() == "window.GALLERY_FILM = null;\n"
    (tmp_path / "static").mkdir()
    data.write_messages(tmp_path, Words("ja"))
    text = (tmp_path / "static" / "messages.js").read_text(encoding="utf-8")
    assert text.startswith("window.GALLERY_MESSAGES = ")
    assert script_value(text)["play_music"] == "▶ 音楽を再生"
