"""Where a track stops being quiet and how loud it is (builder.music.excerpt): what the slideshow
and the film need to play an excerpt."""

from __future__ import annotations

import math

import numpy as np
import pytest

from builder.music import excerpt
from tests.audio_fixtures import tone, write_audio


def _sine(seconds: float, rate: int, dbfs: float, freq: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float64)


@pytest.mark.parametrize("rate", [48000, 44100])
def test_loudness_of_the_ebu_reference_sine(rate):
    # EBU Tech 3341 case 1: a 1 kHz stereo sine at -23 dBFS reads -23.0 LUFS (+-0.1)
    s = _sine(10, rate, -23.0)
    assert excerpt.integrated_loudness(np.stack([s, s], 1), rate) == pytest.approx(-23.0, abs=0.1)
    # one channel of it carries half the power: 3 dB less
    assert excerpt.integrated_loudness(s, rate) == pytest.approx(-26.0, abs=0.1)


def test_loudness_gates_silence_and_weights_low_frequencies_down():
    rate = 48000
    assert excerpt.integrated_loudness(np.zeros((rate * 3, 2)), rate) == -math.inf
    # the same tone with as much silence around it: the gates leave the silence out (only the few
    # 400 ms blocks that straddle the tone's edges pull it down a little); without gating it would
    # read 3 dB lower
    s = _sine(5, rate, -20.0)
    padded = np.concatenate([np.zeros(rate * 5), s, np.zeros(rate * 5)])
    assert excerpt.integrated_loudness(padded, rate) == pytest.approx(
        excerpt.integrated_loudness(s, rate), abs=0.5
    )
    # K-weighting: 30 Hz is weighed well below 1 kHz at the same level
    assert (
        excerpt.integrated_loudness(_sine(5, rate, -20.0, 30.0), rate)
        < excerpt.integrated_loudness(s, rate) - 1
    )


def test_start_of_skips_a_quiet_opening():
    rate = 16000
    quiet = 0.001 * np.random.default_rng(0).standard_normal(rate * 3)  # -60 dBFS for 3 s
    loud = _sine(6, rate, -10.0)
    assert excerpt.start_of(np.concatenate([quiet, loud]), rate) == pytest.approx(3.0, abs=0.5)
    assert excerpt.start_of(loud, rate) == 0.0
    assert excerpt.start_of(np.zeros(rate * 4), rate) == 0.0  # silence throughout: nothing to skip


def test_loud_start_of_a_real_file_and_its_cache(tmp_path, monkeypatch):
    rate = 44100
    samples = np.concatenate([np.zeros((2, rate * 4), np.float32), tone(6, rate)], axis=1)
    path = write_audio(tmp_path / "late.flac", samples, rate)
    assert excerpt.loud_start(path) == pytest.approx(4.0, abs=0.5)
    first = excerpt.cached_loud_start(path, tmp_path / "cache")
    monkeypatch.setattr(
        excerpt, "loud_start", lambda p: pytest.fail("decoded again despite the cache")
    )
    assert excerpt.cached_loud_start(path, tmp_path / "cache") == first


def test_read_audio_decodes_at_most_what_is_asked(tmp_path):
    path = write_audio(tmp_path / "t.wav", tone(10, 44100), 44100)
    x = excerpt.read_audio(path, 2.0, 3.0, rate=48000, channels=2)
    assert x.shape == (3 * 48000, 2)
    assert excerpt.read_audio(path, 8.0, 5.0).shape[0] == pytest.approx(
        2 * 48000, abs=2000
    )  # the file ends
