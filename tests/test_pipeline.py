"""A build over a curator's folder, which is never clean (builder/pipeline): every good picture
built and every bad one explained, odd files read the right way, caches that verify what they
serve, links out of the input folder not published, file names of any bytes, and a build the
cache serves whole that loads no model library."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from builder.cli import app
from builder.errors import ImageError
from builder.settings import Settings

from .conftest import (
    DEMO,
    MIRROR,
    build,
    cli_build,
    photo,
    png_claiming,
    requires_mirror,
    tree,
)


def test_a_memory_error_is_one_pictures_failure(tmp_path, monkeypatch):
    from builder.pipeline import stages as pipeline

    def boom(ctx, r):
        raise MemoryError

    outcome = pipeline._run_stages(
        SimpleNamespace(settings=SimpleNamespace(debug=False)),
        SimpleNamespace(file="a.tif"),
        [("x", boom)],
    )
    assert outcome[0] is None and "not enough memory" in outcome[1].reason


def test_a_link_loop_is_told_as_a_loop(tmp_path):
    from builder.images import read_picture

    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    with pytest.raises(ImageError, match="loop"):
        read_picture(tmp_path / "loop.jpg")


@requires_mirror
def test_a_picture_changed_or_removed_after_reading_is_left_out_not_mislabelled(pics, tmp_path):
    from builder.gallery.site import write_site
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import Stats

    cache = tmp_path / "c"
    s = Settings(
        input=pics,
        out=tmp_path / "site",
        mirror=MIRROR,
        cache_dir=cache,
        offline=True,
        method="random",
    )
    stats = Stats()
    g = analyse(Context(s), stats=stats)
    old_sha = stats.hashes["p1.jpg"]
    photo(seed=99).save(pics / "p1.jpg")  # replaced while the build runs
    (pics / "p2.jpg").unlink()  # removed while the build runs
    final = write_site(g, pics, s.out, cache, stats.hashes)
    reasons = {f.file: f.reason for f in final.failed}
    assert "changed after it was read" in reasons["p1.jpg"] and "disappeared" in reasons["p2.jpg"]
    assert sorted(im.file for im in final.images) == ["p0.jpg", "p3.jpg"]
    assert not list(
        (cache / "renders").glob(f"{old_sha}-*")
    )  # nothing stored under the old content's hash
    pages = {p.name for p in (s.out / "pages").iterdir()}
    assert len(pages) == 2


@requires_mirror
def test_analysis_entries_of_the_wrong_shape_are_recomputed(pics, tmp_path):
    cache, out = tmp_path / "c", tmp_path / "site"
    assert build(pics, out, cache).exit_code == 0
    entries = sorted((cache / "analysis").rglob("*.json"))
    assert len(entries) == 4
    shapes = [
        {
            "width": 1,
            "height": 1,
            "colour_av": "x",
            "detections": 5,
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
        },
        {
            "width": 10,
            "height": 10,
            "colour_av": [0, 0],
            "detections": [{"label": "cat"}],
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
        },
        {
            "width": 10,
            "height": 10,
            "colour_av": [0, 0],
            "detections": [],
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
            "ingredients": {"pooled": [1], "probs": [1], "colour": [], "detections": []},
        },
        [1, 2, 3],
    ]
    for entry, bad in zip(entries, shapes):
        entry.write_bytes(orjson.dumps(bad))
    result = build(pics, out, cache)
    assert result.exit_code == 0 and "(0 cached, 0 failed)" in result.output, result.output
    result = build(pics, out, cache)
    assert (
        "(4 cached, 0 failed)" in result.output
    )  # and the recomputed entries serve the next build


@requires_mirror
def test_an_unwritable_cache_is_a_warning_not_a_failure(pics, tmp_path):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text(
        "a file where the cache should be"
    )  # root can write anywhere; this it cannot
    out = tmp_path / "site"
    result = build(pics, out, not_a_folder / "sub", "--method", "random")
    assert result.exit_code == 0, result.output
    assert "warning: the cache folder" in result.output and "cannot be written" in result.output
    assert (out / "index.html").is_file()


@requires_mirror
def test_a_file_name_that_is_not_utf8_fails_with_a_reason(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    with open(os.path.join(os.fsencode(d), b"caf\xe9-latin1.jpg"), "wb") as f:
        photo(seed=2).save(f, "JPEG")
    out = tmp_path / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert [im["file"] for im in g["images"]] == ["fine.jpg"]
    assert g["failed"] == [{"file": "caf\\xe9-latin1.jpg", "reason": g["failed"][0]["reason"]}]
    assert "not valid UTF-8" in g["failed"][0]["reason"] and "Traceback" not in result.output


@requires_mirror
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.binary(min_size=1, max_size=60).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..", b"fine")
    )
)
def test_any_byte_string_as_a_file_name_builds_or_fails_with_a_reason(
    name, tmp_path_factory, session_cache
):
    d = tmp_path_factory.mktemp("names")
    photo().save(d / "fine.jpg")
    with open(os.path.join(os.fsencode(d), name + b".jpg"), "wb") as f:
        photo(seed=1).save(f, "JPEG")
    out = tmp_path_factory.mktemp("out") / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and isinstance(
        result.exception, (SystemExit, type(None))
    )
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert "fine.jpg" in [im["file"] for im in g["images"]]
    if name.startswith(b"."):  # hidden files are not part of the collection
        assert len(g["images"]) == 1 and g["failed"] == []
    elif result.exit_code == 0:
        assert len(g["images"]) == 2
    else:
        assert len(g["failed"]) == 1 and g["failed"][0]["reason"] and len(g["images"]) == 1


@requires_mirror
def test_links_out_of_the_input_folder_are_not_published(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    private = tmp_path / "private.jpg"
    photo(seed=9).save(private)
    os.symlink(private, d / "peek.jpg")
    os.symlink(d / "fine.jpg", d / "again.jpg")  # a link inside the folder is fine
    out = tmp_path / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert sorted(im["file"] for im in g["images"]) == ["again.jpg", "fine.jpg"]
    assert (
        g["failed"][0]["file"] == "peek.jpg"
        and "outside the input folder" in g["failed"][0]["reason"]
    )
    secret = private.read_bytes()
    assert not any(f.is_file() and f.read_bytes() == secret for f in out.rglob("*"))


HOSTILE = '<img src=x onerror=alert(1)> & "quoted".jpg'


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
    result = cli_build(root, out, cache)
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
    assert cli_build(DEMO, out, cache).exit_code == 0
    before = tree(out)

    calls = {"n": 0}
    real = copies._render_copy

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(copies, "_render_copy", interrupted)
    result = cli_build(DEMO, out, cache, "--narrow", "none")
    assert result.exit_code == 130 and "left as it was" in result.output
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist")] == []
    monkeypatch.setattr(copies, "_render_copy", real)
    result = cli_build(DEMO, out, cache, "--narrow", "none")
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
    result = cli_build(root, out2, cache)
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


@requires_mirror
def test_a_build_the_cache_serves_whole_loads_no_model_library(tmp_path):
    """A rebuild of analysed pictures imports neither torch nor the other models' libraries (seconds
    each)."""

    from tests.conftest import DEMO

    pics = tmp_path / "pics"
    pics.mkdir()
    for p in sorted(DEMO.glob("*.jpg"))[:2]:
        shutil.copy(p, pics / p.name)
    args = [
        "build",
        str(pics),
        "--out",
        str(tmp_path / "site"),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    args += ["--mirror", str(MIRROR), "--offline"]
    assert (
        CliRunner().invoke(app, args + ["--workers", "1"]).exit_code == 0
    )  # cold, in this process
    code = (
        "import atexit, runpy, sys; models = ('torch', 'cv2', 'ai_edge_litert', 'openvino'); "
        "atexit.register(lambda: print('loaded:', [m for m in models if m in sys.modules])); "
        "sys.argv = ['builder', *sys.argv[1:]]; runpy.run_module('builder', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "(2 cached, 0 failed)" in done.stdout + done.stderr and "loaded: []" in done.stdout, (
        done.stdout
    )
