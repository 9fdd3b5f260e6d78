"""Shared fixtures. Data is made in code or read from the shared mirror (../shared/mirror by
default)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from builder import signals
from builder.cli import app

ROOT = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("BUILDER_MIRROR") or ROOT.parent / "shared" / "mirror").resolve()
DEMO = ROOT / "images"


@pytest.fixture(scope="session", autouse=True)
def _no_user_cache(tmp_path_factory):
    """No test writes into the user's own cache (~/.cache/gallery-builder): a command a test runs
    without --cache-dir, in this process or a child, uses a folder of the test session."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


def requires_import(*modules: str):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


requires_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no mirror at {MIRROR}")


def cli_build(src: Path, out: Path, cache: Path, *args: str):
    """`builder build SRC --out OUT` offline from the mirror with its own cache, run in this process
    (CliRunner); the Result. Extra arguments go after."""

    cmd = [
        "build",
        str(src),
        "--out",
        str(out),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(cache),
        "--offline",
    ]
    return CliRunner().invoke(app, [*cmd, *args])


def picture_record(
    file: str, *, av=(0.0, 0.0), tracks=(), width: int = 1, height: int = 1, **fields
):
    """An ImageRecord whose fields the test does not look at are left empty (quadrant 1, no words or
    objects)."""
    from builder.records import ImageRecord

    empty = {"quadrant": 1, "impressions": (), "clusters": (), "objects": ()}
    return ImageRecord(
        file=file, av=av, tracks=tracks, width=width, height=height, **{**empty, **fields}
    )


def photo(size=(320, 240), seed=0) -> Image.Image:
    """A photo-like picture made in code: a horizontal gradient with noise (a different one for each
    seed)."""
    rng = np.random.default_rng(seed)
    base = (
        np.linspace(0, 255, size[0], dtype=np.uint8)[None, :, None].repeat(size[1], 0).repeat(3, 2)
    )
    noise = rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(base // 2 + noise)


@pytest.fixture
def pics(tmp_path) -> Path:
    """Four small pictures (fast to build with any method)."""
    d = tmp_path / "pics"
    d.mkdir()
    for i in range(4):
        photo(seed=i).save(d / f"p{i}.jpg")
    return d


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def store(session_cache):
    from builder.assets import AssetStore

    return AssetStore(session_cache, MIRROR, offline=True)


@pytest.fixture(scope="session")
def deam(store):
    from builder.music.catalogue import load_deam

    return load_deam(store)


@pytest.fixture(scope="session")
def mapper(store):
    from builder.picture.words import (
        ImpressionMapper,
        impression_vocabulary,
        load_glove,
        load_nrc_vad,
    )

    return ImpressionMapper(
        load_glove(), impression_vocabulary(load_nrc_vad(store.resolve("nrc-vad")))
    )


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory, session_cache):
    """The demo collection built once through the real CLI; many tests read it."""

    out = tmp_path_factory.mktemp("site") / "dist"
    result = cli_build(DEMO, out, session_cache)
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture(scope="session")
def study_build(tmp_path_factory, session_cache):
    """The demo collection built once with --study (the visitors' study), through the real CLI; the
    study's tests, in Python and in the browser, read it."""
    out = tmp_path_factory.mktemp("study") / "dist"
    result = cli_build(DEMO, out, session_cache, "--study")
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture(scope="session")
def study_gallery(demo_build, tmp_path_factory) -> Path:
    """A copy of the demo gallery whose gallery.json holds a study (tests/study_fixtures.py)."""
    from .study_fixtures import gallery_with_study

    return gallery_with_study(demo_build[0], tmp_path_factory.mktemp("study") / "dist")


BUILDER = Path(sys.executable).with_name("builder")


def with_umask(mask: int):
    class _Mask:
        def __enter__(self):
            self.old = os.umask(mask)

        def __exit__(self, *exc):
            os.umask(self.old)

    return _Mask()


build = cli_build


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def run_builder(pics: Path, out: Path, cache: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BUILDER),
            "build",
            str(pics),
            "--out",
            str(out),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(cache),
            "--offline",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # the test run may itself be a background job whose children inherit SIGINT ignored: set
        # them explicitly
        preexec_fn=signals.in_child_default,
    )


def wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture
def many(tmp_path) -> Path:
    """Enough pictures that a cold learned build takes a few seconds."""
    d = tmp_path / "many"
    d.mkdir()
    for i in range(60):
        photo((480, 360), seed=i).save(d / f"m{i:02d}.jpg")
    return d


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


# ---- the browser tests: Debian's Chromium driven by Playwright (no browser is downloaded) -------

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
in_chromium = [
    requires_mirror,
    requires_import("playwright"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="no Chromium (apt-get install chromium)"
    ),
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=user-gesture-required",
]


@pytest.fixture(scope="module")
def browser():
    """Chromium, headless, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
