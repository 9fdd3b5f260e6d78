"""Reading audio: decode (PyAV), resample to 16 kHz mono (soxr), mel patches for musicnn, and tags
(mutagen).

Why these libraries: PyAV wraps FFmpeg's decoders, so mp3, wav, flac, ogg/vorbis, opus and m4a/aac
all decode through one maintained code path with wheels that need no system FFmpeg, and it can seek,
so a long file is read through a bounded number of windows instead of whole. soxr is the resampler
librosa itself uses (musicnn was trained on librosa-resampled audio); it is one small wheel. mutagen
reads ID3, Vorbis comments, MP4 and FLAC tags without decoding audio.

The mel front end is musicnn's: STFT with n_fft 512, hop 256, periodic Hann window, centred with
zero padding; power spectrum; 96 mel bands on the Slaney scale with Slaney area normalisation from 0
Hz to 8 kHz (librosa's defaults, which musicnn used); log10(10000 x + 1); patches of 187 frames
(about 3 s) without overlap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.music.musicnn import N_MELS, PATCH_FRAMES

SR = 16000
N_FFT = 512
HOP = 256
AUDIO_SUFFIXES = (
    ".mp3",
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".mp4",
    ".wma",
    ".aif",
    ".aiff",
    ".webm",
)
# shorter than this is not music we can read (one patch is 3 s; shorter ones are repeat-padded)
MIN_SECONDS = 1.0
WHOLE_UP_TO_S = 60.0  # read files up to this long whole
WINDOWS = 6  # longer files: this many windows ...
WINDOW_S = 10.0  # ... of this many seconds each, spread evenly
SILENCE_RMS = 1e-4  # about -80 dBFS
# The most audio decoded from one file read "whole": a stream whose container states no duration (a
# 2-hour recording of a radio stream, say) or states a false one is read this far and no further (18
# MB of samples).
DECODE_BUDGET_S = 300.0


class AudioError(Exception):
    """One audio file cannot be read; scoring goes on without it. The message is the reason shown
    to the user."""


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32 mono at SR; for long files the windows one after another
    duration_s: float  # of the whole file
    windows: int  # 1 when read whole
    # each piece of `samples`: (seconds into the file where it begins, how many samples it has)
    pieces: tuple[tuple[float, int], ...] = ()


def _resampler(rate: int):
    import soxr

    return soxr.ResampleStream(rate, SR, 1, dtype="float32", quality="HQ")


def decode(path: Path) -> Decoded:
    """16 kHz mono float32 samples; long files through WINDOWS windows of WINDOW_S seconds
    (bounded time and memory)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioError("no audio stream")
            stream = streams[0]
            duration = _duration(container, stream)
            if duration is None or duration <= WHOLE_UP_TO_S:
                samples = _read(container, stream, start=None, seconds=DECODE_BUDGET_S)
                duration = len(samples) / SR  # of what was read, when the file does not say
                return Decoded(samples, duration, 1, ((0.0, len(samples)),))
            step = (duration * 0.9 - WINDOW_S) / max(WINDOWS - 1, 1)
            starts = [duration * 0.05 + i * step for i in range(WINDOWS)]
            parts = [_read(container, stream, start=t, seconds=WINDOW_S) for t in starts]
            pieces = tuple((round(t, 3), len(p)) for t, p in zip(starts, parts))
            return Decoded(np.concatenate(parts), duration, WINDOWS, pieces)
    except AudioError:
        raise
    except av.error.InvalidDataError as exc:
        raise AudioError(f"not a readable audio file ({_short(exc)})") from None
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(f"cannot decode ({_short(exc)})") from None
    except MemoryError:
        raise AudioError("there was not enough memory to decode it") from None
    except OSError as exc:
        raise AudioError(f"cannot read ({exc.strerror or exc})") from None


def _short(exc: Exception) -> str:
    """FFmpeg's reason without the errno and the file name (which the summary already shows)."""
    text = getattr(exc, "strerror", None) or str(exc).split(": '", 1)[0]
    return re.sub(r"^\[Errno -?\d+\]\s*", "", str(text))[:160]


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _read(container, stream, start: float | None, seconds: float | None) -> np.ndarray:
    """Decode from `start` (seconds; None = the beginning) for `seconds` (None = to the end), as
    16 kHz mono."""
    if start is not None:
        container.seek(int(start * 1_000_000), any_frame=False, backward=True)
    resampler = None
    chunks: list[np.ndarray] = []
    have, want = 0, None if seconds is None else int(seconds * SR)
    for frame in container.decode(stream):
        if frame.sample_rate is None or frame.sample_rate <= 0:
            raise AudioError("the stream has no sample rate")
        if (
            start is not None
            and frame.time is not None
            and frame.time + frame.samples / frame.sample_rate < start
        ):
            continue
        data = frame.to_ndarray()
        if data.dtype.kind in "iu":
            data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
        mono = (
            data.reshape(-1, frame.samples).mean(axis=0)
            if frame.format.is_planar
            else data.reshape(frame.samples, -1).mean(axis=1)
        )
        if resampler is None:
            resampler = _resampler(frame.sample_rate)
        out = resampler.resample_chunk(np.ascontiguousarray(mono, dtype=np.float32))
        chunks.append(out)
        have += len(out)
        if want is not None and have >= want:
            break
    if resampler is not None and (want is None or have < want):
        chunks.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples[:want] if want is not None else samples


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above (librosa's htk=False)."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    return np.where(
        log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0), mel
    )


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(
        m >= 15.0, 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3)
    )


def mel_filters(sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, Slaney-normalised (constant energy per band)."""
    fft_freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


MEL_FILTERS = mel_filters()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(
    np.float32
)  # periodic Hann


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(frames, 1 + N_FFT // 2) power spectrum, frames centred on multiples of HOP (zero padding
    at the ends)."""
    padded = np.pad(samples.astype(np.float32), N_FFT // 2)
    n = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, (n, N_FFT), (padded.strides[0] * HOP, padded.strides[0])
    )
    spec = np.fft.rfft(frames * _WINDOW, axis=1)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def log_mel_and_power(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((frames, 96) musicnn input log10(10000 * mel power + 1), the power spectrogram it came
    from)."""
    power = power_spectrogram(samples)
    return np.log10(10000.0 * (power @ MEL_FILTERS.T) + 1.0), power


def log_mel(samples: np.ndarray) -> np.ndarray:
    return log_mel_and_power(samples)[0]


def patches(mel: np.ndarray) -> np.ndarray:
    """(n, 187, 96) non-overlapping patches; a clip shorter than one patch is repeated to fill it
    (as musicnn was trained: 'repeat-pad')."""
    if len(mel) == 0:
        return np.zeros((0, PATCH_FRAMES, N_MELS), np.float32)
    if len(mel) < PATCH_FRAMES:
        mel = np.tile(mel, (math.ceil(PATCH_FRAMES / len(mel)), 1))
    n = 1 + (len(mel) - PATCH_FRAMES) // PATCH_FRAMES
    return np.stack([mel[i * PATCH_FRAMES : (i + 1) * PATCH_FRAMES] for i in range(n)]).astype(
        np.float32
    )


def check_audible(decoded: Decoded) -> None:
    """Raise AudioError for clips too short or too quiet to say anything about."""
    seconds = len(decoded.samples) / SR
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"too short ({seconds:.1f} s; at least {MIN_SECONDS:g} s of audio is needed)"
        )
    if not np.isfinite(decoded.samples).all():
        raise AudioError("the decoded audio holds invalid samples")
    if float(np.sqrt(np.mean(decoded.samples.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise AudioError("silent (no signal above -80 dBFS)")


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str
    genre: str
    licence: str


def read_tags(path: Path) -> Tags:
    """Title, artist, genre and licence (copyright / licence tags) from the file's tags, else from
    its name.

    A file name 'Artist - Title.mp3' gives both; otherwise the name is the title and the artist
    is empty."""
    found: dict[str, str] = {}
    try:
        import mutagen

        f = mutagen.File(str(path), easy=False)
        tags = getattr(f, "tags", None) or {}
        rank: dict[
            str, int
        ] = {}  # of each field, the most fitting tag wins, whatever the file's order
        for key in list(tags.keys()):
            value = _tag_text(tags[key])
            if not value:
                continue
            k = str(key).lower()
            for field, names in _TAG_NAMES.items():
                at = next((i for i, n in enumerate(names) if k == n or k.startswith(n + ":")), None)
                if at is not None and at < rank.get(field, len(names)):
                    found[field], rank[field] = value, at
    except Exception:  # noqa: BLE001 - a tag library that trips over a file must not stop scoring it
        found = {}
    stem = " ".join(path.stem.replace("_", " ").split())
    artist, _, title = stem.partition(" - ")
    if not title:
        artist, title = "", stem
    return Tags(
        title=found.get("title") or title,
        artist=found.get("artist") or artist,
        genre=found.get("genre", ""),
        licence=found.get("licence", ""),
    )


# ID3 frames, Vorbis comments, MP4 atoms and ASF names for each field, lower-case, the most fitting
# first: the track's artist before the album artist (a compilation's is "Various Artists"). A
# publisher (TPUB) is not a licence: it names a company, not what the listener may do.
_TAG_NAMES = {
    "title": ("tit2", "title", "\xa9nam", "©nam"),
    "artist": (
        "tpe1",
        "artist",
        "\xa9art",
        "©art",
        "author",
        "tpe2",
        "albumartist",
        "album artist",
        "aart",
    ),
    "genre": ("tcon", "genre", "\xa9gen", "©gen", "gnre"),
    "licence": ("tcop", "wcop", "copyright", "license", "licence", "cprt"),
}


def _tag_text(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    text = getattr(value, "text", None)
    if text is not None:
        value = text[0] if isinstance(text, list) and text else text
    url = getattr(value, "url", None)
    if url:
        value = url
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None:
        return ""
    text = "".join(
        ch for ch in str(value) if ch >= " " or ch in "\t\n"
    )  # NUL and control characters out
    return " ".join(text.split())[:300]
