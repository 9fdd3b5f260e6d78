"""The curator's say: --title, --intro, the --curation sheet, and the pictures' own titles and
descriptions."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from PIL import Image

from builder.errors import UsageError
from builder.images import read_metadata
from builder.pipeline import curation

from .conftest import BUILDER, DEMO, MIRROR, build, cli_build, requires_mirror

XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li '
    'xml:lang="fr">Nuit</rdf:li>'
    '<rdf:li xml:lang="x-default">Night</rdf:li></rdf:Alt></dc:title><dc:description><rdf:Alt>'
    '<rdf:li xml:lang="x-default">Stars over the '
    "dune</rdf:li></rdf:Alt></dc:description></rdf:Description>"
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()

INTRO = """# A summer of pictures

Photos chosen by the curator. <script>alert("intro")</script>
<img src=x onerror="alert(1)">

[a bad link](javascript:alert(document.cookie)) and [a good one](https://example.org/about).
"""


def jpeg(exif: Image.Exif | None = None, **kw) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (120, 80, 40)).save(buf, "JPEG", exif=exif or Image.Exif(), **kw)
    return buf.getvalue()


def with_iptc(data: bytes, records: dict[int, bytes], utf8: bool = True) -> bytes:
    """A JPEG with an APP13 Photoshop segment holding IPTC records (2, n) (what photo tools
    write)."""
    iptc = b"\x1c\x01\x5a\x00\x03\x1b%G" if utf8 else b""
    for n, value in records.items():
        iptc += b"\x1c\x02" + bytes([n]) + len(value).to_bytes(2, "big") + value
    resource = (
        b"8BIM\x04\x04\x00\x00" + len(iptc).to_bytes(4, "big") + iptc + b"\x00" * (len(iptc) % 2)
    )
    app13 = b"Photoshop 3.0\x00" + resource
    return data[:2] + b"\xff\xed" + (len(app13) + 2).to_bytes(2, "big") + app13 + data[2:]


# ---- the pictures' own metadata ------------------------------------------------------------------


def test_exif_description_and_xp_title_are_read():
    exif = Image.Exif()
    exif[0x010E] = "A quiet harbour at dawn"
    exif[0x9C9B] = "Harbour".encode("utf-16-le") + b"\x00\x00"
    assert read_metadata(jpeg(exif)) == ("Harbour", "A quiet harbour at dawn")
    exif[0x010E] = "OLYMPUS DIGITAL CAMERA"  # what the camera writes when nobody wrote anything
    assert read_metadata(jpeg(exif))[1] == ""


def test_xmp_wins_over_iptc_over_exif_and_the_default_language_is_taken():
    exif = Image.Exif()
    exif[0x010E] = "exif words"
    data = with_iptc(jpeg(exif), {5: "Café".encode(), 120: "Une tasse au soleil".encode()})
    assert read_metadata(data) == ("Café", "Une tasse au soleil")
    assert read_metadata(jpeg(exif, xmp=XMP)) == ("Night", "Stars over the dune")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "WEBP", xmp=XMP)
    assert read_metadata(buf.getvalue()) == ("Night", "Stars over the dune")


def test_xmp_with_entities_and_damaged_headers_give_nothing():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol2;</x:xmpmeta>'
    )
    assert read_metadata(jpeg(xmp=bomb)) == ("", "")
    assert read_metadata(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage") == ("", "")
    assert read_metadata(b"not a picture") == ("", "")


def test_control_characters_are_stripped_and_lengths_capped():
    from builder.pipeline.stages import picture_metadata

    exif = Image.Exif()
    exif[0x010E] = "line one\x00\x1b[31m red\nline two " + "x" * 5000
    exif[0x9C9B] = ("T\x07itle\u202e\nwith a break").encode("utf-16-le") + b"\x00\x00"
    title, description = picture_metadata(jpeg(exif))
    assert title == "Title with a break"
    assert description.startswith("line one[31m red\nline two x") and "\x00" not in description
    assert len(description) == curation.DESCRIPTION_CAP and description.endswith("…")


# ---- the sheet, read and checked -----------------------------------------------------------------


def test_a_sheet_with_semicolons_and_a_bom_or_tabs_reads_the_same(tmp_path):
    rows = [
        ["image", "Title", "caption", "order", "quadrant", "track", "hide"],
        ["a.jpg", "First", "Said; plainly", "2", "1", "17", ""],
        ["sub\\b.jpg", "", "", "1,5", "", "", "yes"],
    ]
    semi = tmp_path / "semi.csv"
    semi.write_bytes(
        b"\xef\xbb\xbf"
        + "\n".join(";".join(f'"{c}"' if ";" in c else c for c in r) for r in rows).encode()
    )
    tab = tmp_path / "tab.tsv"
    tab.write_text(
        "\n".join("\t".join(c.replace(",", ".") for c in r) for r in rows) + "\n\n",
        encoding="utf-8",
    )
    for path in (semi, tab):
        sheet = curation.read_sheet(path)
        a, b = sheet.entries["a.jpg"], sheet.entries["sub/b.jpg"]
        assert (a.title, a.caption, a.order, a.quadrant, a.track, a.hide) == (
            "First",
            "Said; plainly",
            2,
            1,
            "17",
            False,
        )
        assert (b.order, b.hide, b.row) == (1.5, True, 3)
        assert sheet.hidden == {"sub/b.jpg"} and sheet.quadrants == {"a.jpg": 1}


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ("image,order\na.jpg,1\nb.jpg,first\n", 3, "order"),
        ("image,order\na.jpg,nan\n", 2, "order"),
        ("image,quadrant\na.jpg,5\n", 2, "quadrant"),
        ("image,hide\na.jpg,maybe\n", 2, "hide"),
        ("image,title\n,Untitled\n", 2, "image"),
    ],
)
def test_a_malformed_value_names_its_row_and_column(tmp_path, text, row, column):
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=f"row {row}, column {column}:"):
        curation.read_sheet(path)


def test_sheets_that_are_no_sheets_are_one_sentence(tmp_path):
    for content, words in (
        (None, "does not exist"),
        (b"picture,title\na.jpg,x\n", "no 'image' column"),
        (b"", "is empty"),
        (b"image,title\nb\xe9.jpg,caf\xe9\n", "not UTF-8"),
    ):
        path = tmp_path / "sheet.csv"
        path.unlink(missing_ok=True)
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(UsageError, match=words):
            curation.read_sheet(path)


def test_unknown_pictures_tracks_and_columns_are_warnings_naming_the_row(tmp_path, deam):
    path = tmp_path / "sheet.csv"
    path.write_text(
        "image,captions,track\nCat.JPG,,\ndune.jpg,,nosuch\ncat.jpg,,17.mp3\ndune.jpg,,\nstorm.jpg,,1000\n",
        encoding="utf-8",
    )
    sheet = curation.read_sheet(path)
    unknown = sheet.check_pictures(["cat.jpg", "dune.jpg", "storm.jpg"])
    playable = tuple(t for t in deam.tracks if t.audio)
    pins, unpinned = sheet.pins(playable, "DEAM")
    assert pins["cat.jpg"].id == "17"  # by the audio file's name
    assert "dune.jpg" not in pins  # row 5 replaced row 3 (its track), with a warning
    text = "\n".join([*sheet.warnings, *unknown, *unpinned])
    assert "'captions'" in text
    assert "row 2: no picture 'Cat.JPG'" in text and "did you mean 'cat.jpg'" in text
    assert "row 5: 'dune.jpg' was listed already in row 3" in text
    assert (
        "row 6: no track '1000'" in text
    )  # song 1000 has no audio in the mirror: not a playable track
    pins, unpinned = sheet.pins(deam.tracks, "DEAM")
    assert "storm.jpg" not in pins  # the whole catalogue: there, but silent
    assert "row 6: track '1000' has no audio file" in unpinned[-1]


def test_the_intro_is_rendered_without_anything_that_runs():
    html = curation.intro_html(
        INTRO + "\n[data](data:text/html,<b>x</b>) [vb](VBScript:msgbox) [rel](pages/x.html)\n"
    )
    assert "<h2>A summer of pictures</h2>" in html  # one level under the page's title
    assert "<script" not in html and "onerror=" not in html.replace("onerror=&quot;", "")
    assert "<img" not in html and "&lt;script&gt;" in html
    assert 'href="https://example.org/about"' in html and 'href="pages/x.html"' in html
    for scheme in ("javascript:", "data:", "vbscript:"):
        assert f'href="{scheme}' not in html.lower()
    # escapes go, Markdown's own layout (indentation, hard breaks) stays
    assert curation.intro_html("- one\n  - two\x1b[0m\n\nline  \nbreak") == (
        "<ul>\n<li>one\n<ul>\n<li>two[0m</li>\n</ul>\n</li>\n</ul>\n<p>line<br />\nbreak</p>\n"
    )


# ---- through the CLI -----------------------------------------------------------------------------


def run(tmp_path: Path, *args: str, src: Path | None = None, cache: Path | None = None):
    out = tmp_path / "out"
    return out, cli_build(src or DEMO, out, cache or tmp_path / "cache", *args)


@requires_mirror
def test_bad_sheets_and_intros_stop_the_build_before_any_picture(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image,title,order\ncat.jpg,Cat,1\ndune.jpg,Dune,second\n", encoding="utf-8")
    out, result = run(tmp_path, "--curation", str(sheet))
    assert result.exit_code == 2, result.output
    assert "row 3, column order: 'second' is not a number" in result.output
    assert (
        not out.exists() and not (tmp_path / "cache" / "analysis").exists()
    )  # nothing was read or written
    out, result = run(tmp_path, "--curation", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "missing.csv does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1
    intro = tmp_path / "intro.md"
    intro.write_bytes(b"caf\xe9 au lait\n")
    out, result = run(tmp_path, "--intro", str(intro))
    assert result.exit_code == 2 and "is not UTF-8 text" in result.output
    out, result = run(tmp_path, "--intro", str(tmp_path / "nope.md"))
    assert result.exit_code == 2 and "nope.md does not exist" in result.output
    out, result = run(tmp_path, "--curation", str(sheet), "--quadrants", str(sheet))
    assert result.exit_code == 2 and "--quadrants and --curation" in result.output


@pytest.fixture(scope="module")
def curated(tmp_path_factory, session_cache):
    """Six demo pictures (one hidden, one carrying its own EXIF description) built with a title, an
    intro and a sheet that titles, captions, orders, places and pins."""
    if not MIRROR.is_dir():
        pytest.skip(f"no mirror at {MIRROR}")
    tmp = tmp_path_factory.mktemp("curated")
    src = tmp / "Summer pictures"
    src.mkdir()
    for name in ("cat.jpg", "dune.jpg", "storm.jpg", "coffee.jpg"):
        shutil.copyfile(DEMO / name, src / name)
    shutil.copyfile(DEMO / "wood.jpg", src / "hidden-wood.jpg")
    with Image.open(DEMO / "ladybird.jpg") as im:
        exif = Image.Exif()
        exif[0x010E] = "A ladybird climbing a green stem"
        im.save(src / "described.jpg", "JPEG", quality=85, exif=exif)
    (tmp / "intro.md").write_text(INTRO, encoding="utf-8")
    (tmp / "sheet.csv").write_text(
        "image;title;caption;order;quadrant;track;hide\n"
        "storm.jpg;Before the storm;Dark clouds over the field;1;2;;\n"
        "cat.jpg;The cat;Asleep, <b>sun</b> on its fur;2;;17;\n"
        "hidden-wood.jpg;;;;;;yes\n"
        "nope.jpg;Gone;;;;;\n"
        "coffee.jpg;;;;;no-such-track;\n",
        encoding="utf-8",
    )
    out, result = run(
        tmp,
        "--title",
        "A summer show",
        "--intro",
        str(tmp / "intro.md"),
        "--curation",
        str(tmp / "sheet.csv"),
        src=src,
        cache=session_cache,
    )
    assert result.exit_code == 0, result.output
    return out, result, orjson.loads((out / "gallery.json").read_bytes()), src


def test_the_title_and_intro_reach_the_index(curated):
    out, _, g, _ = curated
    assert g["title"] == "A summer show" and g["intro"] == INTRO
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<h1 translate="no">A summer show</h1>' in index
    intro = index.split('<section class="intro"')[1].split(">", 1)[1].split("</section>")[0]
    assert "<h2>A summer of pictures</h2>" in intro and 'href="https://example.org/about"' in intro
    assert (
        "&lt;script&gt;" in intro and "<script" not in intro and "<img" not in intro
    )  # shown, never run
    assert "<script>alert" not in index and 'href="javascript' not in index.lower()
    for other in (
        "index-2.html",
        "index-q1.html",
        "index-q2.html",
        "index-q3.html",
        "index-q4.html",
    ):
        if (
            out / other
        ).exists():  # the intro belongs to the first page of the whole exhibition only
            assert 'class="intro"' not in (out / other).read_text(encoding="utf-8")


def test_the_sheet_orders_titles_captions_places_and_pins(curated):
    out, result, g, _ = curated
    files = [im["file"] for im in g["images"]]
    assert files[:2] == ["storm.jpg", "cat.jpg"]  # by the sheet's order
    assert files[2:] == sorted(files[2:])  # the others after, in the usual (name) order
    assert list(g["slideshow"][:2]) == ["storm.jpg", "cat.jpg"] and sorted(
        g["slideshow"]
    ) == sorted(files)
    by = {im["file"]: im for im in g["images"]}
    cat = by["cat.jpg"]
    assert cat["title"] == "The cat" and cat["description"] == "Asleep, <b>sun</b> on its fur"
    assert cat["alt"] == cat["description"] and cat["pinned"] is True
    assert (
        cat["tracks"][0]["id"] == "17" and cat["tracks"][0]["audio"]
    )  # the pinned track, playable
    assert len({t["id"] for t in cat["tracks"]}) == len(cat["tracks"])
    assert [f for f, im in by.items() if im["pinned"]] == ["cat.jpg"]
    assert by["storm.jpg"]["quadrant"] == 2 and by["storm.jpg"]["quadrant_rule"] == "user"
    assert by["coffee.jpg"]["alt"] == "coffee" and by["coffee.jpg"]["title"] == ""
    assert "row 5: no picture 'nope.jpg'" in result.output
    assert "row 6: no track 'no-such-track'" in result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert (
        '<span class="name" translate="no">The cat</span>' in index
        and 'alt="Asleep, &lt;b&gt;sun&lt;/b&gt; on its fur"' in index
    )
    assert index.index("Before the storm") < index.index("The cat")
    page = (out / cat["page"]).read_text(encoding="utf-8")
    assert "Asleep, &lt;b&gt;sun&lt;/b&gt; on its fur" in page and "<b>sun</b>" not in page
    slides = (out / "data" / "slides-0.js").read_text(encoding="utf-8")
    rows = orjson.loads(slides.split('"] = ', 1)[1].rstrip().rstrip(";"))
    assert [r[0] for r in rows] == list(g["slideshow"])
    assert rows[1][2] == cat["description"]  # the slideshow shows the curator's caption


def test_a_hidden_picture_is_nowhere(curated):
    out, _, g, src = curated
    assert (src / "hidden-wood.jpg").exists()
    assert b"hidden-wood" not in (out / "gallery.json").read_bytes()
    for path in out.rglob("*"):
        assert "hidden-wood" not in path.name
        if path.is_file() and path.suffix in (".html", ".js", ".json"):
            assert "hidden-wood" not in path.read_text(encoding="utf-8"), path
    assert len(g["images"]) == 5 and not g["failed"]


def test_a_pictures_own_description_is_used_and_kept_with_its_analysis(curated, session_cache):
    out, _, g, _ = curated
    by = {im["file"]: im for im in g["images"]}
    assert by["described.jpg"]["description"] == "A ladybird climbing a green stem"
    assert by["described.jpg"]["alt"] == "A ladybird climbing a green stem"
    page = (out / by["described.jpg"]["page"]).read_text(encoding="utf-8")
    assert "A ladybird climbing a green stem" in page
    kept = [
        orjson.loads(p.read_bytes()).get("meta")
        for p in (session_cache / "analysis").rglob("*.json")
        if b"ladybird climbing" in p.read_bytes()
    ]
    assert kept == [
        ["", "A ladybird climbing a green stem"]
    ]  # a warm rebuild need not open the header again


def test_without_the_new_options_the_title_is_the_folders_name(demo_build):
    out, _ = demo_build
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert g["title"] == DEMO.name and g["intro"] is None and g["intro_html"] is None
    for im in g["images"]:
        assert (im["title"], im["description"], im["pinned"], im["alt"]) == (
            "",
            "",
            False,
            Path(im["file"]).stem,  # the file name only as a last resort, without extension
        )
    assert f'<h1 translate="no">{DEMO.name}</h1>' in (out / "index.html").read_text(
        encoding="utf-8"
    )


def test_an_analysis_cached_before_titles_were_read_gets_them_on_the_next_build(
    curated, session_cache, tmp_path
):
    _, _, g, src = curated
    entry = next(
        p
        for p in (session_cache / "analysis").rglob("*.json")
        if b"ladybird climbing" in p.read_bytes()
    )
    old = orjson.loads(entry.read_bytes())
    del old["meta"]  # as the builder wrote it before it read titles
    entry.write_bytes(orjson.dumps(old))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image,hide\nhidden-wood.jpg,yes\n", encoding="utf-8")
    out, result = run(tmp_path, "--curation", str(sheet), src=src, cache=session_cache)
    assert result.exit_code == 0, result.output
    by = {im["file"]: im for im in orjson.loads((out / "gallery.json").read_bytes())["images"]}
    assert by["described.jpg"]["description"] == "A ladybird climbing a green stem"
    assert (
        "built 5 pictures (5 cached" in result.output
    )  # the analysis itself was served, not recomputed
    assert orjson.loads(entry.read_bytes())["meta"] == ["", "A ladybird climbing a green stem"]


@requires_mirror
def test_a_pinned_track_is_no_other_pictures_first_track(tmp_path, session_cache):
    """Pin the first track the assignment gave one picture (A) to another picture (B): the
    assignment counts the pin as that track's use, so A, whose quadrant has a track to spare, now
    gets another track of it, and no picture but B has the pinned track first."""
    from builder import plane

    src = tmp_path / "pics"
    src.mkdir()
    for name in ("cat.jpg", "dune.jpg", "storm.jpg", "coffee.jpg"):
        shutil.copyfile(DEMO / name, src / name)
    out, result = run(tmp_path, src=src, cache=session_cache)
    assert result.exit_code == 0, result.output
    before = {im["file"]: im for im in orjson.loads((out / "gallery.json").read_bytes())["images"]}
    catalogue = orjson.loads(
        (out / "catalogue.js").read_text(encoding="utf-8").split(" = ", 1)[1].rstrip("; \n")
    )
    tracks_in = [plane.quadrant((t[1], t[2])) for t in catalogue["tracks"]]
    pictures_in = [im["quadrant"] for im in before.values()]
    # A: a picture whose quadrant seats its pictures and a pin without a repeat; B: a picture of
    # another quadrant
    a = next(
        f
        for f, im in sorted(before.items())
        if tracks_in.count(im["quadrant"]) > pictures_in.count(im["quadrant"])
    )
    b = next(f for f, im in sorted(before.items()) if im["quadrant"] != before[a]["quadrant"])
    taken = before[a]["tracks"][0]["id"]
    (tmp_path / "sheet.csv").write_text(f"image,track\n{b},{taken}\n", encoding="utf-8")
    out, result = run(
        tmp_path, "--curation", str(tmp_path / "sheet.csv"), src=src, cache=session_cache
    )
    assert result.exit_code == 0, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    by = {im["file"]: im for im in g["images"]}
    assert (
        by[b]["pinned"] is True
        and by[b]["tracks"][0]["id"] == taken
        and by[b]["off_quadrant"] is False
    )
    assert len({t["id"] for t in by[b]["tracks"]}) == len(by[b]["tracks"])
    assert [f for f, im in by.items() if im["tracks"][0]["id"] == taken] == [b]
    assert [f for f, im in by.items() if im["pinned"]] == [b]
    assert (
        plane.quadrant((by[a]["tracks"][0]["valence"], by[a]["tracks"][0]["arousal"]))
        == by[a]["quadrant"]
    )
    m = g["matching"]  # the pinned picture counts among the pictures, not among those solved for
    assert m["pictures"] == 4 and m["in_quadrant"] + m["off_quadrant"] == 3
    assert m["distinct_first"] == len({im["tracks"][0]["id"] for im in by.values()})
    assert "1 pinned by the curation sheet" in result.output
    assert f"{m['in_quadrant']} of 3 in their picture's quadrant" in result.output


@requires_mirror
def test_a_named_pipe_as_an_option_file_is_refused_before_the_build(pics, tmp_path, session_cache):
    for option in ("--catalogue", "--quadrants", "--vectors"):
        pipe = tmp_path / f"pipe{option[2:]}.csv"
        os.mkfifo(pipe)
        result = build(
            pics, tmp_path / "site", session_cache, "--method", "random", option, str(pipe)
        )
        assert result.exit_code == 2 and "is not a regular file (a named pipe)" in result.output, (
            result.output
        )
        assert not (tmp_path / "site").exists()


def special_files(folder: Path) -> dict[str, Path]:
    """A named pipe, a socket and a character device, each where a file is expected."""
    import socket

    os.mkfifo(folder / "pipe.md")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket.md"))
    return {
        "a named pipe": folder / "pipe.md",
        "a socket": folder / "socket.md",
        "a character device": Path("/dev/zero"),
    }


@requires_mirror
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
@pytest.mark.parametrize("option", ["--intro", "--curation"])
def test_an_option_file_that_is_no_regular_file_is_refused_without_a_hang(pics, tmp_path, option):
    for kind, path in special_files(tmp_path).items():
        proc = subprocess.run(
            [
                str(BUILDER),
                "build",
                str(pics),
                "--out",
                str(tmp_path / "site"),
                "--mirror",
                str(MIRROR),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--offline",
                "--method",
                "random",
                option,
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=120,  # a safety net only: the refusal comes before anything is read
        )
        assert proc.returncode == 2, proc.stderr
        assert f"is not a regular file ({kind})" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "site").exists()


@requires_mirror
def test_long_cells_titles_and_intro_lines_are_cut_with_a_warning(pics, tmp_path, session_cache):
    from builder.pipeline import curation

    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "image,title,caption\n"
        f"p0.jpg,{'T' * 200_000},{'c' * 200_000}\n"  # over the csv module's own field limit
        f"{'n' * 200_000}.jpg,x,y\n"
    )
    intro = tmp_path / "intro.md"
    intro.write_text("I" * 32_000 + "\n\nA short second paragraph.\n")
    out = tmp_path / "site"
    result = build(
        pics,
        out,
        session_cache,
        "--method",
        "random",
        "--curation",
        str(sheet),
        "--intro",
        str(intro),
        "--title",
        "W" * 100_000,
    )
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    for said in (
        "sheet.csv row 2, column title: 200,000 characters, cut to 200",
        "sheet.csv row 2, column caption: 200,000 characters, cut to 2,000",
        "intro.md line 1: 32,000 characters, cut to 4,000",
        "--title: 100,000 characters, cut to 200",
        "sheet.csv row 3: no picture 'nnnn",
    ):
        assert said in result.output, said
    assert len(result.output) < 5000  # no warning says a long value whole
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert len(g["title"]) == curation.TITLE_CAP
    assert max(len(line) for line in g["intro"].splitlines()) == curation.INTRO_LINE_CAP
    first = next(im for im in g["images"] if im["file"] == "p0.jpg")
    assert len(first["title"]) == curation.TITLE_CAP
    assert len(first["description"]) == curation.DESCRIPTION_CAP


def test_a_long_bad_value_is_refused_in_a_short_sentence(tmp_path):
    from builder.pipeline.curation import read_sheet

    for column in ("order", "quadrant", "hide"):
        sheet = tmp_path / f"{column}.csv"
        sheet.write_text(f"image,{column}\np0.jpg,{'9' * 150_000}x\n")
        with pytest.raises(UsageError, match=f"row 2, column {column}: '9+…'") as err:
            read_sheet(sheet)
        assert len(str(err.value)) < 300
    sheet = tmp_path / "header.csv"
    sheet.write_text("x" * 150_000 + ",title\np0.jpg,a\n")
    with pytest.raises(UsageError, match="has no 'image' column") as err:
        read_sheet(sheet)
    assert len(str(err.value)) < 300


def test_the_intro_links_only_to_the_web_and_inside_the_gallery():
    from builder.pipeline.curation import intro_html

    html = intro_html(
        "[a](//evil.example/x) [b](../../etc/passwd) [c](%2e%2e/x) [d](a/../../x) [e](/etc/x) "
        "[f](file:///etc/passwd) [g](HTTPS://ok.example) [h](mailto:a@b.example) [i](notes.html) "
        "[j](#top) [k](pages/x.html?q=1)\n\n"
        "![far](https://evil.example/t.png) ![near](img/x.webp) ![up](../x.png) "
        "![js](javascript:alert(1)) [![in a link](https://e.example/a.png)](https://e.example)\n"
    )
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert hrefs == [
        "HTTPS://ok.example",
        "mailto:a@b.example",
        "notes.html",
        "#top",
        "pages/x.html?q=1",
        "https://evil.example/t.png",  # a link now, not an image the page's policy blocks
        "img/x.webp",
        "https://e.example",
    ], html
    assert html.count("<img") == 1 and '<a href="https://e.example">in a link</a>' in html


@requires_mirror
def test_hiding_every_picture_says_so(pics, tmp_path, session_cache):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image,hide\n" + "".join(f"p{i}.jpg,yes\n" for i in range(4)))
    result = build(
        pics, tmp_path / "site", session_cache, "--method", "random", "--curation", str(sheet)
    )
    assert result.exit_code == 4, result.output
    assert "every picture was hidden by the sheet (4 rows)" in result.output
    assert "no picture files found" not in result.output
