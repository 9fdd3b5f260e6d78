"""Finding and opening pictures (builder/images.py): the walk (the builder's own folders skipped,
deep trees, unreadable folders, special files, AVIF), and sizes and headers refused before
decoding."""

from __future__ import annotations

import errno
import os

import orjson
import pytest
from PIL import Image

from builder.errors import ImageError, UsageError
from builder.files import walk_files

from .conftest import build, photo, requires_mirror


@requires_mirror
def test_a_huge_file_named_jpg_is_refused_by_its_size_before_reading(pics, tmp_path, session_cache):
    with open(pics / "huge.jpg", "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GB that take no disk
    result = build(pics, tmp_path / "site", session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    assert "huge.jpg: is 3.0 GB, over the 512.0 MB limit for a picture" in result.output


def test_a_picture_whose_header_claims_too_many_pixels_is_refused_before_decoding(tmp_path):
    from builder.images import open_upright

    from .conftest import png_claiming

    p = tmp_path / "wide.png"
    p.write_bytes(png_claiming(12_000, 12_000))  # 144 MP: under Pillow's bomb limit, 1 GB to decode
    with pytest.raises(ImageError, match=r"12,000 x 12,000 pixels .* over the"):
        open_upright(p, 1024)


def test_a_named_pipe_is_never_opened(tmp_path):
    from builder.images import read_picture
    from builder.music.catalogue import load_csv_catalogue

    os.mkfifo(tmp_path / "pipe.jpg")
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(ImageError, match="is a named pipe, not a picture file"):
        read_picture(tmp_path / "pipe.jpg")
    with pytest.raises(UsageError, match="not a regular file"):
        load_csv_catalogue(tmp_path / "pipe.csv")


@requires_mirror
def test_a_cache_inside_the_input_folder_is_not_read_as_photos(pics, tmp_path):
    cache = pics / "cache"  # not hidden: a user's choice
    for _ in range(2):
        result = build(pics, tmp_path / "site", cache, "--method", "random")
        assert result.exit_code == 0, result.output
    assert any(cache.rglob("*.jpg")) or any(
        cache.rglob("*.json")
    )  # the cache holds files the walk must skip
    assert len(orjson.loads((tmp_path / "site" / "gallery.json").read_bytes())["images"]) == 4


def test_the_walk_skips_the_builders_folders_wherever_they_nest(tmp_path):
    music = tmp_path / "music"
    (music / "dist" / "audio").mkdir(parents=True)
    (music / "a").mkdir()
    (music / "a" / "song.mp3").write_bytes(b"x")
    (music / "dist" / "audio" / "copy.mp3").write_bytes(b"x")
    link = tmp_path / "out-link"
    link.symlink_to(music / "dist")
    assert walk_files(music, {".mp3"}, (link,))[0] == [
        "a/song.mp3"
    ]  # the same folder, however named


def test_a_tree_1200_folders_deep_is_walked(tmp_path):
    here = tmp_path / "deep"
    parts = ["d"] * 1200
    deep = str(here)
    os.mkdir(deep)
    for part in parts:  # one by one: os.makedirs itself recurses
        deep = os.path.join(deep, part)
        os.mkdir(deep)
    Image.new("RGB", (8, 8)).save(os.path.join(deep, "x.jpg"))
    try:
        files, problems = walk_files(here, {".jpg"})
        assert files == ["/".join(parts) + "/x.jpg"] and problems == []
    # taken down here, one level at a time: pytest's own clean-up of old runs recurses and would
    # overflow
    finally:
        os.remove(os.path.join(deep, "x.jpg"))
        while deep != str(here):
            os.rmdir(deep)
            deep = os.path.dirname(deep)
        os.rmdir(here)


def test_an_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.jpg").write_bytes(b"x")
    (tmp_path / "locked").mkdir()
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, problems = walk_files(tmp_path, {".jpg"})
    assert files == ["ok/a.jpg"]
    assert problems == [
        ("locked", "folder cannot be read (Permission denied); its files are left out")
    ]


def test_avif_pictures_are_found():
    from builder.images import IMAGE_SUFFIXES

    assert ".avif" in IMAGE_SUFFIXES


def test_a_header_claiming_20000_by_20000_is_a_refusal_whoever_opens_it(tmp_path):
    from builder.images import open_picture

    from .conftest import png_claiming

    (tmp_path / "bomb.png").write_bytes(png_claiming(20_000, 20_000))
    jpeg = tmp_path / "bomb.jpg"
    photo((16, 16)).save(jpeg)
    data = bytearray(jpeg.read_bytes())
    at = data.find(b"\xff\xc0") + 5
    data[at : at + 4] = (20_000).to_bytes(2, "big") * 2
    jpeg.write_bytes(bytes(data))
    for path in (tmp_path / "bomb.png", jpeg):
        with pytest.raises(ImageError, match="claims more pixels than the builder accepts"):
            open_picture(path)
