"""Reading audio files (builder/music/audio.py): the tags that name a track (artist before album
artist, no publisher taken for a licence, control characters out) and decoding bounded in time when
a file does not state its duration."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import MIRROR, requires_mirror


def test_audio_without_a_stated_duration_is_decoded_within_the_budget(tmp_path, monkeypatch):
    import wave

    from builder.music import audio

    p = tmp_path / "stream.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(8000 * 20) / 5) * 8000).astype("<i2").tobytes())
    monkeypatch.setattr(
        audio, "_duration", lambda container, stream: None
    )  # the container says nothing
    monkeypatch.setattr(audio, "DECODE_BUDGET_S", 4.0)
    decoded = audio.decode(p)
    assert len(decoded.samples) == 4 * audio.SR and decoded.duration_s == pytest.approx(4.0)


@requires_mirror
def test_the_tracks_artist_beats_the_album_artist_and_a_publisher_is_no_licence(tmp_path):
    import shutil

    from mutagen.id3 import ID3, TIT2, TPE1, TPE2, TPUB

    from builder.music.audio import read_tags

    clip = tmp_path / "clip.mp3"
    shutil.copyfile(MIRROR / "deam" / "MEMD_audio" / "2.mp3", clip)
    tags = ID3()
    tags.add(TPE2(encoding=3, text="Various Artists"))  # first in the file
    tags.add(TPE1(encoding=3, text="The Band"))
    tags.add(TIT2(encoding=3, text="Song"))
    tags.add(TPUB(encoding=3, text="Big Label Records"))
    tags.save(clip)
    read = read_tags(clip)
    assert (read.artist, read.title, read.licence) == ("The Band", "Song", "")


def test_control_characters_are_taken_out_of_tags():
    from builder.music.audio import _tag_text

    assert _tag_text("Na\x00me\x1b[31m red") == "Name[31m red"
