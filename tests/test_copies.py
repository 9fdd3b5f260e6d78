"""The pictures' copies and the audio the gallery carries (builder/gallery/copies.py): one decode
per picture for all its copies, WebP at every size and one JPEG, sRGB, cached by content and linked
out of the cache, and file names that are safe and unique."""

from __future__ import annotations

import errno
import hashlib
import io
import re
import struct
from pathlib import Path

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from builder.gallery import copies, site
from builder.gallery.copies import audio_name, slug_for
from builder.records import Track

from .conftest import build, photo, picture_record, requires_mirror


def test_every_copy_of_a_picture_comes_from_one_decode(tmp_path, monkeypatch):
    src = tmp_path / "big.jpg"
    photo((2400, 1800), seed=3).save(src, quality=90)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    opened = []
    real = copies.open_upright

    def counting(path, max_side, srgb=False):
        opened.append(max_side)
        return real(path, max_side, srgb)

    monkeypatch.setattr(copies, "open_upright", counting)
    (tmp_path / "out" / "img").mkdir(parents=True)
    (tmp_path / "out" / "thumbs").mkdir()
    im = picture_record("big.jpg", width=2400, height=1800)
    made = copies.picture_copies(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha)
    assert opened == [1600]  # once, at the largest size a copy needs
    slug = slug_for("big.jpg")
    assert made["image"]["webp"] == [
        (f"img/{slug}-1024.webp", 1024),
        (f"img/{slug}-1600.webp", 1600),
    ]
    assert made["image"]["jpg"] == [(f"img/{slug}-1600.jpg", 1600)]  # one JPEG: the <img> fallback
    assert made["image"]["default"] == f"img/{slug}-1600.jpg" and made["image"]["size"] == (
        1600,
        1200,
    )
    assert made["thumb"]["webp"] == [
        (f"thumbs/{slug}-240.webp", 240),
        (f"thumbs/{slug}-480.webp", 480),
    ]
    assert made["thumb"]["jpg"] == [(f"thumbs/{slug}-480.jpg", 480)] and made["thumb"]["size"] == (
        480,
        360,
    )
    files = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
    )
    assert len(files) == 6
    assert all(
        Image.open(tmp_path / "out" / f).size[0] == int(Path(f).stem.rsplit("-", 1)[1])
        for f in files
    )
    opened.clear()
    for folder in ("img", "thumbs"):
        for p in (tmp_path / "out" / folder).iterdir():
            p.unlink()
    assert copies.picture_copies(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha) == made
    assert opened == []  # every copy from the cache: the picture is not decoded at all


@requires_mirror
def test_the_analysis_makes_every_copy_and_the_site_only_copies_them_out(tmp_path, monkeypatch):
    """Each picture's copies are made where it is analysed (on every core, from the bytes already
    read); the site stage, alone in the main process at the end, encodes nothing."""
    pics = tmp_path / "pics"
    pics.mkdir()
    photo((2000, 1500), seed=1).save(pics / "wide.jpg")
    photo((500, 400), seed=2).save(pics / "small.jpg")
    phase, made = ["analysis"], {"analysis": 0, "site": 0}
    encode, write_site = copies._encode, site.write_site

    def counting(*a, **k):
        made[phase[0]] += 1
        return encode(*a, **k)

    def writing(*a, **k):
        phase[0] = "site"
        return write_site(*a, **k)

    monkeypatch.setattr(copies, "_encode", counting)
    monkeypatch.setattr(site, "write_site", writing)
    result = build(
        pics, tmp_path / "site", tmp_path / "cache", "--method", "random", "--workers", "1"
    )
    assert result.exit_code == 0, result.output
    assert made == {
        "analysis": 6 + 3,
        "site": 0,
    }  # six copies of the wide one, three of the small one
    assert len([p for d in ("img", "thumbs") for p in (tmp_path / "site" / d).iterdir()]) == 9


def test_a_size_close_below_a_copy_already_made_is_served_by_it(tmp_path):
    photo((500, 400), seed=5).save(tmp_path / "small.jpg")
    sha = hashlib.sha256((tmp_path / "small.jpg").read_bytes()).hexdigest()
    for folder in ("img", "thumbs"):
        (tmp_path / "out" / folder).mkdir(parents=True, exist_ok=True)
    im = picture_record("small.jpg", width=500, height=400)
    made = copies.picture_copies(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha)
    slug = slug_for("small.jpg")
    assert made["image"]["jpg"] == [(f"img/{slug}-500.jpg", 500)] and made["image"]["size"] == (
        500,
        400,
    )
    # no browser needs a 480 px copy of a 500 px picture: the display copy serves as the larger
    # thumbnail
    assert made["thumb"]["webp"] == [
        (f"thumbs/{slug}-240.webp", 240),
        (f"img/{slug}-500.webp", 500),
    ]
    assert (
        made["thumb"]["jpg"] == [(f"img/{slug}-500.jpg", 500)]
        and made["thumb"]["default"] == f"img/{slug}-500.jpg"
    )
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
    )
    assert written == [f"img/{slug}-500.jpg", f"img/{slug}-500.webp", f"thumbs/{slug}-240.webp"]


def wide_gamut_profile() -> bytes:
    """A Display-P3 ICC profile (v2, matrix and gamma 2.2 curves) written out field by field:
    Pillow's ImageCms builds only sRGB, LAB and XYZ profiles."""

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Display P3 (test)\0"
    desc = (
        b"desc"
        + b"\0" * 4
        + struct.pack(">I", len(text))
        + text
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 3
        + b"\0" * 67
    )
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0" * 4
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_copies_are_converted_to_srgb_from_the_embedded_profile(tmp_path):
    icc = wide_gamut_profile()
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    pixels = Image.new(
        "RGB", (64, 48), (60, 170, 90)
    )  # a green Display-P3 holds that sRGB cannot show as such
    pixels.save(tmp_path / "p3.jpg", quality=95, icc_profile=icc)
    pixels.save(tmp_path / "plain.jpg", quality=95)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    pixels.save(tmp_path / "srgb.jpg", quality=95, icc_profile=srgb.tobytes())
    expected = ImageCms.profileToProfile(
        Image.open(tmp_path / "p3.jpg"), p3, srgb, outputMode="RGB"
    )
    want = np.asarray(expected, dtype=int)[24, 32]
    stored = np.asarray(Image.open(tmp_path / "p3.jpg").convert("RGB"), dtype=int)[24, 32]
    assert (
        np.abs(want - stored).max() >= 15
    )  # the profile matters: a copy that ignored it would look duller

    def copy_of(name: str) -> np.ndarray:
        dest = tmp_path / f"copy-{name}.webp"
        src = tmp_path / name
        sha = hashlib.sha256(src.read_bytes()).hexdigest()
        copies._render_copy(
            src, dest, 64, tmp_path / "cache", sha, "webp", copies._Decoded(src, sha, 64), 95
        )
        with Image.open(dest) as im:
            assert "icc_profile" not in im.info  # untagged sRGB, as browsers assume
            return np.asarray(im.convert("RGB"), dtype=int)[24, 32]

    assert np.abs(copy_of("p3.jpg") - want).max() <= 6  # converted (WebP's own loss aside)
    assert np.abs(copy_of("plain.jpg") - stored).max() <= 6  # untagged: taken as sRGB, unchanged
    assert np.abs(copy_of("srgb.jpg") - stored).max() <= 6  # sRGB already: unchanged


@requires_mirror
def test_a_built_gallery_has_webp_at_every_size_and_one_jpeg(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    photo((2000, 1500), seed=1).save(pics / "wide.jpg")
    result = build(pics, tmp_path / "site", tmp_path / "cache", "--method", "random")
    assert result.exit_code == 0, result.output
    g = orjson.loads((tmp_path / "site" / "gallery.json").read_bytes())
    image = g["images"][0]
    assert image["image"].endswith("-1600.jpg") and image["thumb"].endswith("-480.jpg")
    names = sorted(
        p.name.split("-")[-1]
        for d in ("img", "thumbs")
        for p in (tmp_path / "site" / d).glob("wide-*")
    )
    assert names == ["1024.webp", "1600.jpg", "1600.webp", "240.webp", "480.jpg", "480.webp"]
    page = (tmp_path / "site" / image["page"]).read_text(encoding="utf-8")
    assert "-1024.webp 1024w" in page and "-1600.jpg 1600w" in page


def test_reading_and_copying_a_picture_leaves_the_warning_filters_alone(tmp_path):
    """Pictures are read and copied while another thread imports torch (the models load during the
    copies): warnings.catch_warnings() there would swap the process's filters under that import, and
    its own hidden warning came out on the user's terminal (seen in a two-worker build). Pillow's
    warnings are filtered once."""
    import hashlib
    import warnings

    from builder import images

    photo((900, 600), seed=3).save(tmp_path / "p.jpg", exif=Image.Exif())
    data = (tmp_path / "p.jpg").read_bytes()
    swapped, real = [], warnings.catch_warnings
    warnings.catch_warnings = lambda *a, **k: swapped.append(1)  # type: ignore[assignment]
    try:  # (not monkeypatch: pytest itself calls catch_warnings between the test's phases)
        images.read_rgb(images.named_bytes(data, "p.jpg"), 320)
        images.read_metadata(data)
        copies.cache_copies(
            tmp_path / "p.jpg", hashlib.sha256(data).hexdigest(), tmp_path / "cache", 900, data
        )
    finally:
        warnings.catch_warnings = real  # type: ignore[misc]
    assert (
        swapped == [] and len(list((tmp_path / "cache" / "renders").iterdir())) == 5
    )  # 900 and 480 px twice, 240


@requires_mirror
def test_the_gallerys_copies_are_links_to_the_cache_where_the_file_system_allows(
    tmp_path, monkeypatch
):

    pics = tmp_path / "pics"
    pics.mkdir()
    photo((500, 400), seed=4).save(pics / "p.jpg")
    assert build(pics, tmp_path / "a", tmp_path / "cache", "--method", "random").exit_code == 0
    linked = sorted((tmp_path / "a" / "img").iterdir())
    assert linked and all(
        p.stat().st_nlink == 2 for p in linked
    )  # one file, named in the cache and the gallery

    def elsewhere(src, dst, *a, **k):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(
        copies.os, "link", elsewhere
    )  # a cache on another file system: the copies are copied
    assert build(pics, tmp_path / "b", tmp_path / "cache", "--method", "random").exit_code == 0
    copied = sorted((tmp_path / "b" / "img").iterdir())
    assert [p.name for p in copied] == [p.name for p in linked] and all(
        p.stat().st_nlink == 1 for p in copied
    )
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(copied, linked))


@given(st.text(min_size=1, max_size=80))
@settings(max_examples=200, deadline=None)
def test_slugs_are_safe_file_names(name):
    slug = slug_for(name)
    assert re.fullmatch(r"[a-z0-9-]+", slug) and len(slug) <= 69
    assert slug_for(name) == slug


@given(st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=20, unique=True))
@settings(max_examples=100, deadline=None)
def test_distinct_names_never_collide(names):
    assert len({slug_for(n) for n in names}) == len(names)


def test_audio_names_in_the_gallery_are_unique_by_construction():
    a = audio_name(Track("a b", "t", "x", 0, 0, audio="/m/1.mp3"))
    b = audio_name(Track("a_b", "t", "x", 0, 0, audio="/m/2.mp3"))
    assert a != b and a.startswith("audio/a_b-") and b.startswith("audio/a_b-")


def test_a_pictures_mean_colour_is_read_from_its_copy(tmp_path):
    from PIL import Image

    from builder.gallery.copies import mean_colour

    half = Image.new("RGB", (40, 20), (200, 0, 0))
    half.paste((0, 0, 200), (20, 0, 40, 20))
    half.save(tmp_path / "t.webp", "WEBP", lossless=True)
    assert mean_colour(tmp_path / "t.webp") == "#640064"
    (tmp_path / "broken.webp").write_bytes(b"RIFF")
    assert mean_colour(tmp_path / "broken.webp") == ""


@requires_mirror
def test_renders_cut_short_in_the_cache_are_recomputed(pics, tmp_path):
    cache, out = tmp_path / "c", tmp_path / "site"
    assert build(pics, out, cache, "--method", "random").exit_code == 0
    for f in (cache / "renders").iterdir():
        f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
    assert build(pics, out, cache, "--method", "random").exit_code == 0
    for f in list((out / "img").iterdir()) + list((out / "thumbs").iterdir()):
        with Image.open(f) as im:
            im.load()  # every published copy decodes in full
