"""The film's sound: each segment's excerpt decoded, levelled and faded; the segments mixed block
by block.

Each picture's track plays from its Track.start (the moment chosen for the picture, else where
it stops being quiet); a track several pictures in a row hear plays on from the first one's start;
consecutive tracks crossfade (equal power); each track's excerpt is brought to TARGET_LUFS of
integrated loudness (BS.1770, builder.music.excerpt) with its peak kept under -1 dBFS.
"""

from __future__ import annotations

import math

import numpy as np

from builder.film.plan import FilmFileMissing, Plan
from builder.music.excerpt import MAX_DECODE_S, ExcerptError, integrated_loudness, read_audio

RATE = 48000  # audio sample rate of the film
TARGET_LUFS = -16.0  # integrated loudness of every excerpt (a common level for films shared online)
PEAK = 10 ** (-1 / 20)  # the gain never lifts an excerpt's sample peak above -1 dBFS


class Mixer:
    """The film's sound, block by block: each segment's excerpt decoded when first heard (at
    most MAX_DECODE_S, or the whole song of --one-song; looped if the track is shorter than the
    time it plays), levelled, faded in and out, summed."""

    def __init__(self, plan: Plan):
        self.segments = plan.segments
        self.data: dict[int, np.ndarray] = {}
        self.first = 0  # segments before this one have been heard to their end

    def _load(self, k: int) -> np.ndarray:
        seg = self.segments[k]
        need = min(seg.a1 - seg.a0, seg.decode_s or MAX_DECODE_S)
        try:
            x = read_audio(seg.audio, seg.music.start, need + 0.1, rate=RATE, channels=2)
        except ExcerptError as exc:
            raise FilmFileMissing(
                f"cannot play {seg.audio.name}: {exc}; build the gallery again"
            ) from None
        if len(x) < RATE // 2 and seg.music.start > 0:  # Track.start at the very end: from the top
            x = read_audio(seg.audio, 0.0, need + 0.1, rate=RATE, channels=2)
        if len(x) < RATE // 10:
            x = np.zeros((RATE, 2), np.float32)
        loud = integrated_loudness(x, RATE)
        gain = 1.0
        if math.isfinite(loud):
            gain = 10 ** ((TARGET_LUFS - loud) / 20)
            peak = float(np.abs(x).max())
            if peak > 0:
                gain = min(gain, PEAK / peak)
            seg.loudness = round(loud, 2)
        seg.gain_db = round(20 * math.log10(gain), 2) if gain > 0 else 0.0
        seg.loop_s = len(x) / RATE
        edge = min(len(x) // 4, RATE // 50)  # 20 ms at the ends, so a loop joins without a click
        ramp = np.linspace(0.0, 1.0, edge, dtype=np.float32)[:, None]
        x *= np.float32(gain)  # in place: a whole song (--one-song) is hundreds of MB
        x[:edge] *= ramp
        x[len(x) - edge :] *= ramp[::-1]
        return x

    def block(self, s0: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        # segments are in time order: look only at those near s0
        for k in range(self.first, len(self.segments)):
            seg = self.segments[k]
            b0, b1 = round(seg.a0 * RATE), round(seg.a1 * RATE)
            if b0 >= s0 + n:
                break
            lo, hi = max(s0, b0), min(s0 + n, b1)
            if s0 >= b1:  # passed for good (blocks come in order): free its samples
                self.data.pop(k, None)
                if k == self.first:
                    self.first += 1
                continue
            if k not in self.data:
                self.data[k] = self._load(k)
            x = self.data[k]
            pos = np.arange(lo - b0, hi - b0)
            part = x[pos % len(x)]
            tsec = pos / RATE
            env = np.ones(len(pos), np.float32)
            if seg.fade_in > 0:
                env *= np.sin(0.5 * np.pi * np.clip(tsec / seg.fade_in, 0, 1)).astype(np.float32)
            if seg.fade_out > 0:
                rest = (b1 - b0) / RATE - tsec
                env *= np.sin(0.5 * np.pi * np.clip(rest / seg.fade_out, 0, 1)).astype(np.float32)
            out[lo - s0 : hi - s0] += part * env[:, None]
        return np.clip(out, -1.0, 1.0)
