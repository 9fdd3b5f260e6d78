"""Where a track stops being quiet, and how loud it is: what the slideshow and the film need to play
an excerpt.

- `loud_start(path)`: the first 0.5 s window whose RMS is within 20 dB of the track's loud level
  (the 95th percentile of the windows' levels, so one click or one drum hit does not set it). A
  quiet fade-in or a silent lead-in is skipped; a track that is loud from the start gives 0. Only
  the first MAX_DECODE_S seconds are decoded, whatever the file's length, so a two-hour recording
  costs what a short one costs.
- `integrated_loudness(samples, rate)`: ITU-R BS.1770-4 / EBU R128 integrated loudness in LUFS
  (K-weighting, 400 ms blocks with 75 % overlap, absolute gate at -70 LUFS, relative gate 10 LU
  below). Written here with scipy.signal (a dependency already) instead of adding pyloudnorm: the
  standard fits in thirty lines and its reference values are tested (tests/test_excerpt.py).
- `cached_loud_start(path, cache_dir)`: loud_start cached by the audio's sha256 (decoding costs
  time; hashing a file is cheap), so a rebuild does not decode the same tracks again.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson

from builder.assets import sha256_file
from builder.files import atomic_path

WINDOW_S = 0.5
QUIET_DB = 20.0  # a window this far below the loud level is part of a quiet opening
LOUD_PERCENTILE = 95
MAX_DECODE_S = 120.0  # never decode more than this of one track
ANALYSIS_RATE = 16000
EXCERPT_VERSION = 1  # bump when loud_start changes, so cached starts are recomputed


class ExcerptError(Exception):
    """A track cannot be decoded; the message is the reason shown to the user."""


def read_audio(
    path: Path,
    start: float = 0.0,
    seconds: float = MAX_DECODE_S,
    rate: int = 48000,
    channels: int = 2,
) -> np.ndarray:
    """(samples, channels) float32 at `rate` from `start` seconds for at most `seconds` (fewer if
    the file ends)."""
    import av

    layout = "stereo" if channels == 2 else "mono"
    want = int(round(seconds * rate))
    chunks: list[np.ndarray] = []
    have = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ExcerptError("no audio stream")
            stream = container.streams.audio[0]
            if start > 0:
                container.seek(int(start * 1_000_000), any_frame=False, backward=True)
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            # the decoded frames (an MP3's hold 1,152 samples) are gathered into about a second each
            # before resampling: the same samples, at less than half the time of resampling every
            # frame
            fifo = av.AudioFifo()
            # samples (at `rate`) to drop before `start`: a seek lands on the packet before it
            skip = None

            def take(piece) -> None:
                nonlocal skip, have
                for out in resampler.resample(piece):
                    data = out.to_ndarray().reshape(-1, channels)
                    if skip:
                        cut = min(skip, len(data))
                        data, skip = data[cut:], skip - cut
                    chunks.append(data)
                    have += len(data)

            for frame in container.decode(stream):
                if skip is None:
                    skip = max(
                        0,
                        int(
                            round(((start - frame.time) if frame.time is not None else 0.0) * rate)
                        ),
                    )
                frame.pts = (
                    None  # the FIFO checks timestamps for gaps; the samples alone matter here
                )
                fifo.write(frame)
                while fifo.samples >= frame.sample_rate:
                    take(fifo.read(frame.sample_rate))
                if have >= want:
                    break
            else:
                take(
                    fifo.read()
                )  # what is left (None when nothing is), then what the resampler holds
                take(None)
    except ExcerptError:
        raise
    except av.error.FFmpegError as exc:
        raise ExcerptError(
            f"cannot decode {path.name} ({getattr(exc, 'strerror', None) or exc})"
        ) from None
    except OSError as exc:
        raise ExcerptError(f"cannot read {path.name} ({exc.strerror or exc})") from None
    samples = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    return np.ascontiguousarray(samples[:want], dtype=np.float32)


def window_levels(mono: np.ndarray, rate: int, window_s: float = WINDOW_S) -> np.ndarray:
    """RMS level in dBFS of each whole window (a last partial window is left out)."""
    n = int(rate * window_s)
    k = len(mono) // n
    if k == 0:
        return np.zeros(0)
    blocks = mono[: k * n].astype(np.float64).reshape(k, n)
    return 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)


def start_of(mono: np.ndarray, rate: int) -> float:
    """Seconds where the samples stop being quiet (see the module's docstring); 0 for silence or
    a short clip."""
    levels = window_levels(mono, rate)
    if len(levels) == 0:
        return 0.0
    loud = float(np.percentile(levels, LOUD_PERCENTILE))
    if loud < -80.0:  # silence throughout: there is no opening to skip
        return 0.0
    first = int(np.argmax(levels >= loud - QUIET_DB))
    return first * WINDOW_S


def loud_start(path: Path) -> float:
    """Seconds into the track where it stops being quiet (decodes at most MAX_DECODE_S seconds)."""
    mono = read_audio(Path(path), 0.0, MAX_DECODE_S, rate=ANALYSIS_RATE, channels=1)[:, 0]
    return start_of(mono, ANALYSIS_RATE)


def cached_loud_start(path: Path, cache_dir: Path) -> float:
    """loud_start, remembered under the cache dir by the audio's content hash."""
    entry = cache_dir / "excerpt" / f"v{EXCERPT_VERSION}" / f"{sha256_file(Path(path))}.json"
    try:
        value = float(orjson.loads(entry.read_bytes())["start"])
        if math.isfinite(value) and value >= 0:
            return value
    except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        pass  # absent or damaged: computed again
    value = loud_start(path)
    try:
        with atomic_path(entry) as tmp:
            tmp.write_bytes(orjson.dumps({"start": value}))
    except OSError:
        pass  # a cache that cannot take the entry costs time next build, never this one
    return value


def _biquads(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770's K-weighting at any sample rate: the high shelf (+4 dB above ~1.7 kHz, the head's
    effect) and the RLB high pass (~38 Hz), from their analogue prototypes by the bilinear
    transform as libebur128 does (at 48 kHz these are the coefficients printed in the standard,
    to eight decimals)."""
    f0, g, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (g / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array(
        [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    )
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [(shelf_b, shelf_a), (hp_b, hp_a)]


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS of (n,) or (n, channels) samples (left/right weighted 1, as
    BS.1770 for stereo); -inf when everything is below the absolute gate."""
    from scipy.signal import lfilter

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    for b, a in _biquads(rate):
        x = lfilter(b, a, x, axis=0)
    block, step = int(0.4 * rate), int(0.1 * rate)
    if len(x) < block:
        return -math.inf
    starts = np.arange(0, len(x) - block + 1, step)
    power = np.cumsum(np.concatenate([np.zeros((1, x.shape[1])), x**2]), axis=0)
    z = (power[starts + block] - power[starts]) / block  # mean square per block and channel
    per_block = z.sum(axis=1)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(per_block)
    kept = loud > -70.0
    if not kept.any():
        return -math.inf
    relative = -0.691 + 10 * math.log10(per_block[kept].mean()) - 10.0
    kept &= loud > relative
    return -0.691 + 10 * math.log10(per_block[kept].mean())
