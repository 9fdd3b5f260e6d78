"""A curator's folder is never clean: odd, broken and hostile files, interruptions, hostile text."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from builder.cli import app

from .conftest import DEMO, MIRROR, photo, requires_mirror

HOSTILE = '<img src=x onerror=alert(1)> & "quoted".jpg'


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, set[str], dict[str, str]]:
    """A folder of good, odd, broken and hostile files. Returns (folder, good files, bad file ->
    reason pattern)."""
    root = tmp_path_factory.mktemp("messy")
    good, bad = set(), {}

    def save(rel, im, **kw):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, **kw)
        good.add(rel)

    save("plain.jpg", photo())
    save("alpha.png", photo().convert("RGBA"))
    save("palette.png", photo().convert("P"))
    save("grey.jpg", photo().convert("L"))
    save("cmyk.jpg", photo().convert("CMYK"))
    arr16 = (np.linspace(0, 65535, 200 * 100).reshape(100, 200)).astype(np.uint16)
    save("sixteen-bit.png", Image.fromarray(arr16))  # uint16 -> mode I;16
    rotated = photo((300, 150))
    exif = rotated.getexif()
    exif[0x0112] = 6
    save("rotated.jpg", rotated, exif=exif)
    frames = [photo(seed=i) for i in range(3)]
    path = root / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    good.add("animated.gif")
    save("modern.webp", photo())
    save("tiny.png", Image.new("RGB", (1, 1), "red"))
    save("name with spaces.jpg", photo(seed=3))
    save("café ünïcode 写真.jpg", photo(seed=4))
    save(HOSTILE, photo(seed=5))
    save("a/same.jpg", photo(seed=6))
    save("b/same.jpg", photo(seed=7))
    save("huge.jpg", Image.new("RGB", (10000, 10000), (40, 90, 160)), quality=50)  # 100 megapixels

    (root / "empty.jpg").write_bytes(b"")
    bad["empty.jpg"] = "empty file"
    (root / "notes.jpg").write_text("this is text, not a picture")
    bad["notes.jpg"] = "not a picture"
    buf = io.BytesIO()
    photo().save(buf, "JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    bad["truncated.jpg"] = "truncated"
    buf = io.BytesIO()
    photo().save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[60:200] = b"\x00" * 140
    (root / "corrupt.png").write_bytes(bytes(data))
    bad["corrupt.png"] = "damaged|not a picture"
    (root / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)
    bad["photo.heic"] = "HEIC"
    (root / "bomb.png").write_bytes(png_claiming(60000, 60000))
    bad["bomb.png"] = "decompression bomb"
    os.symlink(root, root / "loop")  # a symlink loop: must not be followed
    os.symlink(root / "missing-target.jpg", root / "dangling.jpg")
    bad["dangling.jpg"] = "broken link"
    (root / "README.txt").write_text("not an image extension: ignored")
    return root, good, bad


@pytest.fixture(scope="module")
def messy_build(messy, tmp_path_factory):
    root, _, _ = messy
    out = tmp_path_factory.mktemp("messy-out") / "dist"
    cache = tmp_path_factory.mktemp("messy-cache")
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(root),
            "--out",
            str(out),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(cache),
            "--offline",
        ],
    )
    return out, result, cache


@requires_mirror
def test_every_good_picture_is_built_and_every_bad_one_explained(messy, messy_build):
    _, good, bad = messy
    out, result, _ = messy_build
    assert result.exit_code == 1, result.output  # some pictures failed
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert {im["file"] for im in g["images"]} == good
    failed = {f["file"]: f["reason"] for f in g["failed"]}
    assert set(failed) == set(bad)
    for name, pattern in bad.items():
        assert re.search(pattern, failed[name], re.I), (name, failed[name])
        assert name in result.output
    assert f"0 cached, {len(bad)} failed)" in result.output


@requires_mirror
def test_odd_pictures_are_read_the_right_way(messy_build):
    out, _, _ = messy_build
    by = {im["file"]: im for im in orjson.loads((out / "gallery.json").read_bytes())["images"]}
    assert (by["rotated.jpg"]["width"], by["rotated.jpg"]["height"]) == (150, 300)
    with Image.open(out / by["rotated.jpg"]["image"]) as im:
        assert im.size == (150, 300)  # shown upright
    assert (by["huge.jpg"]["width"], by["huge.jpg"]["height"]) == (10000, 10000)
    with Image.open(out / by["huge.jpg"]["image"]) as im:
        assert max(im.size) <= 1600
    assert by["a/same.jpg"]["page"] != by["b/same.jpg"]["page"]
    for im in by.values():
        for rel in (im["page"], im["image"], im["thumb"]):
            assert re.fullmatch(r"[a-z]+/[a-z0-9-]+\.(html|jpg)", rel), rel
            assert (out / rel).is_file()


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(k for k, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)


@requires_mirror
def test_no_file_name_becomes_markup(messy_build):
    out, _, _ = messy_build
    for page in [out / "index.html", *(out / "pages").glob("*.html")]:
        html = page.read_text(encoding="utf-8")
        assert "<img src=x" not in html
        p = Collect()
        p.feed(html)
        assert "onerror" not in p.attrs
        assert "Content-Security-Policy" in html
    index = Collect()
    index.feed((out / "index.html").read_text(encoding="utf-8"))
    # shown as text (a picture's name: its file name without the extension)
    assert any(HOSTILE.removesuffix(".jpg") in t for t in index.text)
    for kind in ("names", "slides", "view"):
        js = (out / "data" / f"{kind}-0.js").read_text(encoding="utf-8")
        assert "<" not in js and "</script" not in js.lower()
        rows = orjson.loads(js.split('"] = ', 1)[1].rstrip().rstrip(";"))
        # the name is data, escaped, in every kind of shard (the viewer's: without the extension)
        assert any(HOSTILE in row or HOSTILE.removesuffix(".jpg") in row for row in rows)


@requires_mirror
def test_interrupted_build_keeps_the_previous_gallery_and_resumes_from_cache(tmp_path, monkeypatch):
    from builder.gallery import copies

    cache, out = tmp_path / "cache", tmp_path / "dist"
    args = [
        "build",
        str(DEMO),
        "--out",
        str(out),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(cache),
        "--offline",
    ]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    calls = {"n": 0}
    real = copies._render_copy

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(copies, "_render_copy", interrupted)
    result = CliRunner().invoke(app, args + ["--narrow", "none"])
    assert result.exit_code == 130 and "left as it was" in result.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist")] == []
    monkeypatch.setattr(copies, "_render_copy", real)
    result = CliRunner().invoke(app, args + ["--narrow", "none"])
    n = len(list(DEMO.glob("*.jpg")))
    assert result.exit_code == 0 and f"({n} cached, 0 failed)" in result.output
    assert orjson.loads((out / "gallery.json").read_bytes())["narrow"] == "none"


@requires_mirror
def test_corrupt_cache_entries_are_recomputed(messy_build, messy, tmp_path):
    root, good, _ = messy
    out, _, cache = messy_build
    entries = list((cache / "analysis").rglob("*.json"))
    assert entries
    for e in entries[:3]:
        e.write_bytes(b"{not json")
    for r in list((cache / "renders").glob("*.jpg"))[:3]:
        r.write_bytes(b"garbage")
    for ix in (cache / "index").glob("*.hnsw"):
        ix.write_bytes(b"garbage")
    out2 = tmp_path / "again"
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(root),
            "--out",
            str(out2),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(cache),
            "--offline",
        ],
    )
    assert result.exit_code == 1
    g = orjson.loads((out2 / "gallery.json").read_bytes())
    assert {im["file"] for im in g["images"]} == good
    for im in g["images"]:
        with Image.open(out2 / im["thumb"]) as t:
            t.load()


def test_unreadable_file_is_reported_not_fatal(tmp_path, monkeypatch):
    """Tests run as root in CI, where chmod cannot make a file unreadable; the OS error is
    simulated."""
    import builtins

    import builder.images as images
    from builder.errors import ImageError

    path = tmp_path / "locked.jpg"
    photo().save(path)

    def denied(file, *a, **k):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return builtins.open(file, *a, **k)

    monkeypatch.setattr(images, "open", denied, raising=False)
    with pytest.raises(ImageError, match="permission denied"):
        images.file_digest(path)
