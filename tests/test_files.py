"""One way to write a file the builder owns (builder/files.py): atomic, with permissions from the
umask, under exactly the name given."""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

from builder.files import atomic_path, write_atomic

from .conftest import with_umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "feeling-model.npz"
    target.write_bytes(b"the old model")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        write_atomic(target, b"half a new model")
    assert target.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeling-model.npz"]


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_their_permissions_from_the_umask(tmp_path, mask, mode):
    with with_umask(mask):
        write_atomic(tmp_path / "stats.json", b"{}")
        with atomic_path(tmp_path / "c.csv") as tmp:
            tmp.write_text("id\n")
    for name in ("stats.json", "c.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_models_are_written_under_exactly_the_name_given(tmp_path):
    from builder.music.feeling import MusicFeelingModel
    from builder.picture.feeling import FeelingModel

    music = MusicFeelingModel.load()
    music.save(tmp_path / "music-model")
    picture = FeelingModel.load()
    picture.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model",
        "music-model",
    ]  # no .npz added, no temporary
    again = MusicFeelingModel.load(tmp_path / "music-model")
    assert np.array_equal(again.learned.valence.coef, music.learned.valence.coef)
    assert np.array_equal(FeelingModel.load(tmp_path / "model").coef, picture.coef)
