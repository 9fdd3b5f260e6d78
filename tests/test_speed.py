"""Fast and frugal: the worker count the memory holds, workers forked from the main process (which analyses
too), one decode per picture for all its copies, copies in sRGB, and the same records whatever the workers."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image, ImageCms
from typer.testing import CliRunner

from builder import executors, settings
from builder.cli import app
from builder.gallery import site
from builder.settings import MEMORY_MB, Settings, memory_workers
from tests.conftest import MIRROR, cli_build, photo, picture_record, requires_mirror

build = cli_build


# ---- how many workers ------------------------------------------------------------------------------------------


def test_the_default_worker_count_is_what_both_the_cores_and_the_memory_allow(tmp_path):
    s = Settings(input=tmp_path)  # --workers 0, the default method
    main, each = MEMORY_MB["learned"]
    plenty = main + 20 * each
    assert s.worker_count(cores=4, available_mb=plenty) == 4  # the cores are the limit
    assert s.worker_count(cores=16, available_mb=main + 2.5 * each) == 3  # the main process and two forked
    assert s.worker_count(cores=16, available_mb=main / 2) == 1  # too little for any: the main process alone
    assert s.worker_count(cores=16, available_mb=None) == 16  # memory unknown: the cores decide
    assert Settings(input=tmp_path, workers=5).worker_count(cores=2, available_mb=main / 2) == 5  # asked for
    random_main, random_each = MEMORY_MB["random"]
    assert memory_workers("random", random_main + 10 * random_each) == 11  # a lighter method fits more


def test_asking_for_more_workers_than_the_memory_holds_warns_with_the_figures(tmp_path):
    main, each = MEMORY_MB["learned"]
    s = Settings(input=tmp_path, workers=8)
    warning = s.worker_warning(available_mb=main + each)
    assert warning is not None and "--workers 8" in warning and f"{main} MB" in warning and f"{each} MB" in warning
    assert "2 workers would fit" in warning
    assert s.worker_warning(available_mb=main + 10 * each) is None
    assert Settings(input=tmp_path).worker_warning(available_mb=1) is None  # the default never warns


@requires_mirror
def test_the_build_warns_once_and_still_builds(tmp_path, monkeypatch):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(3):
        photo(seed=i).save(pics / f"p{i}.jpg")
    monkeypatch.setattr(settings, "available_memory_mb", lambda: 100.0)
    result = build(pics, tmp_path / "site", tmp_path / "cache", "--method", "random", "--workers", "3")
    assert result.exit_code == 0, result.output
    assert result.output.count("warning: --workers 3 may need") == 1, result.output
    assert "0.1 GB is available" in result.output


# ---- workers forked from the main process ----------------------------------------------------------------------


def _no_setup(s: Settings) -> None:
    pass


def _where(job, data):
    return (job[0], os.getpid()), None, {"work": 0.0}


def test_forked_workers_and_the_main_process_share_the_pictures_in_order(tmp_path):
    if not executors.can_fork():
        pytest.skip("workers are forked on Linux only")
    jobs = [(f"p{i}.jpg", "sha") for i in range(12)]
    seen = []

    def progress(items, label, total):
        for item in items:
            seen.append(item)
            yield item

    outcomes = executors.LocalProcesses(Settings(input=tmp_path), 3, _no_setup, _where, here=True).map(jobs, progress)
    assert [o[0][0] for o in outcomes] == [j[0] for j in jobs]  # one outcome per job, in the jobs' order
    pids = {o[0][1] for o in outcomes}
    assert os.getpid() in pids and len(pids) >= 2  # this process analysed some, forked workers the others
    assert len(seen) == len(jobs)  # the bar moved once per picture


def test_a_single_picture_is_analysed_here_without_a_worker(tmp_path):
    outcomes = executors.LocalProcesses(Settings(input=tmp_path), 4, _no_setup, _where, here=True).map([("a", "s")])
    assert outcomes[0][0] == ("a", os.getpid())


@requires_mirror
@pytest.mark.slow
def test_one_two_and_three_workers_read_the_same(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(5):
        photo((400, 300), seed=40 + i).save(pics / f"w{i}.jpg")
    galleries = {}
    for n in (1, 2, 3):
        result = build(pics, tmp_path / f"site{n}", tmp_path / f"cache{n}", "--workers", str(n))
        assert result.exit_code == 0, result.output
        galleries[n] = (tmp_path / f"site{n}" / "gallery.json").read_bytes()
    assert galleries[1] == galleries[2] == galleries[3]  # byte for byte: readings, quadrants, tracks


# ---- the picture's copies ------------------------------------------------------------------------------------


def test_every_copy_of_a_picture_comes_from_one_decode(tmp_path, monkeypatch):
    src = tmp_path / "big.jpg"
    photo((2400, 1800), seed=3).save(src, quality=90)
    sha = __import__("hashlib").sha256(src.read_bytes()).hexdigest()
    opened = []
    real = site.open_upright

    def counting(path, max_side, srgb=False):
        opened.append(max_side)
        return real(path, max_side, srgb)

    monkeypatch.setattr(site, "open_upright", counting)
    (tmp_path / "out" / "img").mkdir(parents=True)
    (tmp_path / "out" / "thumbs").mkdir()
    im = picture_record("big.jpg", width=2400, height=1800)
    made = site._renders(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha)
    assert opened == [1600]  # once, at the largest size a copy needs
    slug = site.slug_for("big.jpg")
    assert made["image"]["webp"] == [(f"img/{slug}-1024.webp", 1024), (f"img/{slug}-1600.webp", 1600)]
    assert made["image"]["jpg"] == [(f"img/{slug}-1600.jpg", 1600)]  # one JPEG: the <img> fallback
    assert made["image"]["default"] == f"img/{slug}-1600.jpg" and made["image"]["size"] == (1600, 1200)
    assert made["thumb"]["webp"] == [(f"thumbs/{slug}-240.webp", 240), (f"thumbs/{slug}-480.webp", 480)]
    assert made["thumb"]["jpg"] == [(f"thumbs/{slug}-480.jpg", 480)] and made["thumb"]["size"] == (480, 360)
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*"))
    assert len(files) == 6
    assert all(Image.open(tmp_path / "out" / f).size[0] == int(Path(f).stem.rsplit("-", 1)[1]) for f in files)
    opened.clear()
    for folder in ("img", "thumbs"):
        for p in (tmp_path / "out" / folder).iterdir():
            p.unlink()
    assert site._renders(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha) == made
    assert opened == []  # every copy from the cache: the picture is not decoded at all


@requires_mirror
def test_the_analysis_makes_every_copy_and_the_site_only_copies_them_out(tmp_path, monkeypatch):
    """Each picture's copies are made where it is analysed (on every core, from the bytes already read); the
    site stage, alone in the main process at the end, encodes nothing."""
    pics = tmp_path / "pics"
    pics.mkdir()
    photo((2000, 1500), seed=1).save(pics / "wide.jpg")
    photo((500, 400), seed=2).save(pics / "small.jpg")
    phase, made = ["analysis"], {"analysis": 0, "site": 0}
    encode, write_site = site._encode, site.write_site

    def counting(*a, **k):
        made[phase[0]] += 1
        return encode(*a, **k)

    def writing(*a, **k):
        phase[0] = "site"
        return write_site(*a, **k)

    monkeypatch.setattr(site, "_encode", counting)
    monkeypatch.setattr(site, "write_site", writing)
    result = build(pics, tmp_path / "site", tmp_path / "cache", "--method", "random", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert made == {"analysis": 6 + 3, "site": 0}  # six copies of the wide one, three of the small one
    assert len([p for d in ("img", "thumbs") for p in (tmp_path / "site" / d).iterdir()]) == 9


@requires_mirror
def test_a_build_the_cache_serves_whole_loads_no_model_library(tmp_path):
    """A rebuild of analysed pictures imports neither torch nor the other models' libraries (seconds each)."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import DEMO

    pics = tmp_path / "pics"
    pics.mkdir()
    for p in sorted(DEMO.glob("*.jpg"))[:2]:
        shutil.copy(p, pics / p.name)
    args = ["build", str(pics), "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")]
    args += ["--mirror", str(MIRROR), "--offline"]
    assert CliRunner().invoke(app, args + ["--workers", "1"]).exit_code == 0  # cold, in this process
    code = (
        "import atexit, runpy, sys; "
        "models = ('torch', 'cv2', 'ai_edge_litert', 'openvino'); "
        "atexit.register(lambda: print('loaded:', [m for m in models if m in sys.modules])); "
        "sys.argv = ['builder', *sys.argv[1:]]; runpy.run_module('builder', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "(2 cached, 0 failed)" in done.stdout + done.stderr and "loaded: []" in done.stdout, done.stdout


def test_a_size_close_below_a_copy_already_made_is_served_by_it(tmp_path):
    photo((500, 400), seed=5).save(tmp_path / "small.jpg")
    sha = __import__("hashlib").sha256((tmp_path / "small.jpg").read_bytes()).hexdigest()
    for folder in ("img", "thumbs"):
        (tmp_path / "out" / folder).mkdir(parents=True, exist_ok=True)
    im = picture_record("small.jpg", width=500, height=400)
    made = site._renders(im, tmp_path, tmp_path / "out", tmp_path / "cache", sha)
    slug = site.slug_for("small.jpg")
    assert made["image"]["jpg"] == [(f"img/{slug}-500.jpg", 500)] and made["image"]["size"] == (500, 400)
    # no browser needs a 480 px copy of a 500 px picture: the display copy serves as the larger thumbnail
    assert made["thumb"]["webp"] == [(f"thumbs/{slug}-240.webp", 240), (f"img/{slug}-500.webp", 500)]
    assert made["thumb"]["jpg"] == [(f"img/{slug}-500.jpg", 500)] and made["thumb"]["default"] == f"img/{slug}-500.jpg"
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*"))
    assert written == [f"img/{slug}-500.jpg", f"img/{slug}-500.webp", f"thumbs/{slug}-240.webp"]


def wide_gamut_profile() -> bytes:
    """A Display-P3 ICC profile (v2, matrix and gamma 2.2 curves) written out field by field: Pillow's ImageCms
    builds only sRGB, LAB and XYZ profiles."""

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Display P3 (test)\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 4 + b"\0" * 4 + b"\0" * 3 + b"\0" * 67
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
    pixels = Image.new("RGB", (64, 48), (60, 170, 90))  # a green Display-P3 holds that sRGB cannot show as such
    pixels.save(tmp_path / "p3.jpg", quality=95, icc_profile=icc)
    pixels.save(tmp_path / "plain.jpg", quality=95)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    pixels.save(tmp_path / "srgb.jpg", quality=95, icc_profile=srgb.tobytes())
    expected = ImageCms.profileToProfile(Image.open(tmp_path / "p3.jpg"), p3, srgb, outputMode="RGB")
    want = np.asarray(expected, dtype=int)[24, 32]
    stored = np.asarray(Image.open(tmp_path / "p3.jpg").convert("RGB"), dtype=int)[24, 32]
    assert np.abs(want - stored).max() >= 15  # the profile matters: a copy that ignored it would look duller

    def copy_of(name: str) -> np.ndarray:
        dest = tmp_path / f"copy-{name}.webp"
        src = tmp_path / name
        sha = __import__("hashlib").sha256(src.read_bytes()).hexdigest()
        site._render_copy(src, dest, 64, tmp_path / "cache", sha, "webp", site._Decoded(src, sha, 64), 95)
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
    names = sorted(p.name.split("-")[-1] for d in ("img", "thumbs") for p in (tmp_path / "site" / d).glob("wide-*"))
    assert names == ["1024.webp", "1600.jpg", "1600.webp", "240.webp", "480.jpg", "480.webp"]
    page = (tmp_path / "site" / image["page"]).read_text(encoding="utf-8")
    assert "-1024.webp 1024w" in page and "-1600.jpg 1600w" in page


def test_reading_and_copying_a_picture_leaves_the_warning_filters_alone(tmp_path):
    """Pictures are read and copied while another thread imports torch (the models load during the copies):
    warnings.catch_warnings() there would swap the process's filters under that import, and its own hidden
    warning came out on the user's terminal (seen in a two-worker build). Pillow's warnings are filtered once."""
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
        site.cache_copies(tmp_path / "p.jpg", hashlib.sha256(data).hexdigest(), tmp_path / "cache", 900, data)
    finally:
        warnings.catch_warnings = real  # type: ignore[misc]
    assert swapped == [] and len(list((tmp_path / "cache" / "renders").iterdir())) == 5  # 900 and 480 px twice, 240


@requires_mirror
def test_the_gallerys_copies_are_links_to_the_cache_where_the_file_system_allows(tmp_path, monkeypatch):
    import errno

    pics = tmp_path / "pics"
    pics.mkdir()
    photo((500, 400), seed=4).save(pics / "p.jpg")
    assert build(pics, tmp_path / "a", tmp_path / "cache", "--method", "random").exit_code == 0
    linked = sorted((tmp_path / "a" / "img").iterdir())
    assert linked and all(p.stat().st_nlink == 2 for p in linked)  # one file, named in the cache and the gallery

    def elsewhere(src, dst, *a, **k):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(site.os, "link", elsewhere)  # a cache on another file system: the copies are copied
    assert build(pics, tmp_path / "b", tmp_path / "cache", "--method", "random").exit_code == 0
    copied = sorted((tmp_path / "b" / "img").iterdir())
    assert [p.name for p in copied] == [p.name for p in linked] and all(p.stat().st_nlink == 1 for p in copied)
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(copied, linked))
