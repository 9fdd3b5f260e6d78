"""Classic audio features: the baseline the learned music reading must beat (`builder music
evaluate`).

Fourteen numbers a clip, each a textbook descriptor: loudness (RMS in dB: mean, spread), brightness
(spectral centroid and 85 % roll-off), spectral flux (mean, spread), noisiness (zero-crossing rate,
spectral flatness), tempo (the strongest periodicity of the onset envelope between 40 and 200 BPM,
and how strong it is) and mode (correlation of the chroma with the Krumhansl-Kessler major and minor
key profiles, the best of each over the 12 keys, and their difference). They are computed from the
same 16 kHz samples as musicnn's input.
"""

from __future__ import annotations

import numpy as np

from builder.music.audio import HOP, MEL_FILTERS, N_FFT, SR, power_spectrogram

NAMES = (
    "loudness_db",
    "loudness_sd",
    "centroid_khz",
    "centroid_sd",
    "rolloff_khz",
    "flux",
    "flux_sd",
    "zcr",
    "flatness",
    "tempo_bpm",
    "tempo_strength",
    "major",
    "minor",
    "major_minus_minor",
)

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _chroma_map() -> np.ndarray:
    freqs = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    out = np.zeros((12, len(freqs)), np.float32)
    ok = (freqs >= 55.0) & (freqs <= 4000.0)
    pc = np.round(12 * np.log2(freqs[ok] / 440.0)).astype(int) % 12  # 0 = A
    out[(pc + 9) % 12, np.flatnonzero(ok)] = 1.0  # 0 = C
    return out


_CHROMA = _chroma_map()


def _key_strength(chroma: np.ndarray, profile: np.ndarray) -> float:
    c = chroma - chroma.mean()
    best = -1.0
    for k in range(12):
        p = np.roll(profile, k) - profile.mean()
        denom = np.linalg.norm(c) * np.linalg.norm(p)
        best = max(best, float(c @ p / denom) if denom > 0 else 0.0)
    return best


def _tempo(onset: np.ndarray) -> tuple[float, float]:
    fps = SR / HOP
    o = onset - onset.mean()
    if len(o) < 4 or not np.any(o):
        return 0.0, 0.0
    ac = np.correlate(o, o, mode="full")[len(o) - 1 :]
    ac = ac / ac[0]
    lags = np.arange(len(ac))
    bpm = np.where(lags > 0, 60.0 * fps / np.maximum(lags, 1), 0.0)
    band = (bpm >= 40) & (bpm <= 200)
    if not band.any():
        return 0.0, 0.0
    prior = np.exp(
        -0.5 * (np.log2(np.maximum(bpm, 1e-9) / 120.0)) ** 2
    )  # a mild preference for ~120 BPM
    score = np.where(band, ac * prior, -np.inf)
    lag = int(np.argmax(score))
    return float(bpm[lag]), float(ac[lag])


def classic_features(samples: np.ndarray, power: np.ndarray | None = None) -> np.ndarray:
    """The 14 features of NAMES for 16 kHz mono samples (power: their power spectrogram, if
    already made)."""
    power = power_spectrogram(samples) if power is None else power
    freqs = np.linspace(0, SR / 2, power.shape[1])
    total = power.sum(axis=1) + 1e-12
    rms_db = 10 * np.log10(power.mean(axis=1) * 2 / N_FFT + 1e-10)
    centroid = (power @ freqs) / total / 1000.0
    cum = np.cumsum(power, axis=1)
    rolloff = freqs[np.argmax(cum >= 0.85 * cum[:, -1:], axis=1)] / 1000.0
    mag = np.sqrt(power)
    norm = mag / (mag.sum(axis=1, keepdims=True) + 1e-12)
    flux = np.sqrt((np.diff(norm, axis=0) ** 2).sum(axis=1)) if len(norm) > 1 else np.zeros(1)
    flatness = np.exp(np.log(power + 1e-12).mean(axis=1)) / (power.mean(axis=1) + 1e-12)
    signs = np.signbit(samples)
    zcr = float(np.mean(signs[1:] != signs[:-1])) if len(samples) > 1 else 0.0
    mel = np.log10(10000.0 * (power @ MEL_FILTERS.T) + 1.0)
    onset = np.maximum(np.diff(mel, axis=0), 0).sum(axis=1) if len(mel) > 1 else np.zeros(1)
    tempo, strength = _tempo(onset)
    chroma = (power @ _CHROMA.T).mean(axis=0)
    major, minor = _key_strength(chroma, MAJOR), _key_strength(chroma, MINOR)
    return np.array(
        [
            rms_db.mean(),
            rms_db.std(),
            centroid.mean(),
            centroid.std(),
            rolloff.mean(),
            flux.mean(),
            flux.std(),
            zcr,
            flatness.mean(),
            tempo,
            strength,
            major,
            minor,
            major - minor,
        ],
        np.float64,
    )


# Harmonic features (what valence may hear that the taggers do not). Their own STFT: the musicnn one
# (512 points at 16 kHz, 31 Hz a bin) cannot tell neighbouring semitones apart below about 500 Hz,
# where most harmony lies; 4096 points (3.9 Hz a bin, 256 ms) can from about 65 Hz up.
HARMONIC_NAMES = (
    *(f"chroma_{p}" for p in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")),
    # the best correlation of the mean chroma with the 24 Krumhansl-Kessler key profiles
    "key_clarity",
    # at the tonic of the best of the 24 keys, major minus minor correlation: > 0 sounds major
    "mode",
    # the same, per frame, averaged: how major the moments are, whatever the global key
    "mode_frames",
    "key_clarity_frames",  # the best key correlation per frame, averaged: how tonal the moments are
    *(
        f"tonal_centroid_{i}" for i in range(6)
    ),  # Harte et al. (2006): fifths, minor thirds, major thirds
    "harmonic_change",  # mean distance between successive tonal centroids (Harte's harmonic change)
)
HARMONIC_FFT = 4096
HARMONIC_HOP = 2048
_HANN_H = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(HARMONIC_FFT) / HARMONIC_FFT)).astype(
    np.float32
)


def _fine_chroma_map() -> np.ndarray:
    """(12, bins) weights: each FFT bin from 65 Hz to 2.1 kHz to its nearest pitch class (0 = C),
    bins far from any semitone (more than a quarter tone off) weighted down, so leakage between
    notes counts less."""
    freqs = np.fft.rfftfreq(HARMONIC_FFT, 1 / SR)
    out = np.zeros((12, len(freqs)), np.float32)
    ok = np.flatnonzero((freqs >= 65.0) & (freqs <= 2100.0))
    semis = 12 * np.log2(freqs[ok] / 440.0)
    near = np.round(semis)
    weight = np.cos(np.pi * (semis - near)) ** 2  # 1 on the note, 0.5 a quarter tone off
    out[(near.astype(int) + 9) % 12, ok] = weight
    return out


_FINE_CHROMA = _fine_chroma_map()
_KEYS = np.stack(
    [np.roll(p, k) - p.mean() for p in (MAJOR, MINOR) for k in range(12)]
)  # (24, 12): 12 major keys then 12 minor, tonic C..B
_KEYS /= np.linalg.norm(_KEYS, axis=1, keepdims=True)
# Harte, Sandler & Gasser (2006): the 6-d tonal centroid, pitch classes on three circles
_TC_ANGLES = np.arange(12)
_TONAL = np.stack(
    [
        np.sin(_TC_ANGLES * 7 * np.pi / 6),
        np.cos(_TC_ANGLES * 7 * np.pi / 6),
        0.5 * np.sin(_TC_ANGLES * 3 * np.pi / 2),
        0.5 * np.cos(_TC_ANGLES * 3 * np.pi / 2),
        np.sin(_TC_ANGLES * 2 * np.pi / 3),
        np.cos(_TC_ANGLES * 2 * np.pi / 3),
    ]
)  # (6, 12)


def chroma_frames(samples: np.ndarray) -> np.ndarray:
    """(frames, 12) chroma, each frame summing to 1 (silent frames all zero); 0 = C."""
    x = samples.astype(np.float32)
    if len(x) < HARMONIC_FFT:
        x = np.pad(x, (0, HARMONIC_FFT - len(x)))
    n = 1 + (len(x) - HARMONIC_FFT) // HARMONIC_HOP
    frames = np.lib.stride_tricks.as_strided(
        x, (n, HARMONIC_FFT), (x.strides[0] * HARMONIC_HOP, x.strides[0])
    )
    spec = np.abs(np.fft.rfft(frames * _HANN_H, axis=1))
    # magnitude, not power (a loud bass note should not drown the rest of the chord) and not
    # log-compressed: the compression lifts the noise floor, spread over hundreds of bins, above the
    # few bins of the notes
    c = spec @ _FINE_CHROMA.T
    total = c.sum(axis=1, keepdims=True)
    return np.where(total > 1e-9, c / np.maximum(total, 1e-9), 0.0)


def _key_correlations(chroma: np.ndarray) -> np.ndarray:
    """(n, 24) Pearson correlation of each chroma row with the 24 key profiles (0 for a flat
    row)."""
    c = chroma - chroma.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(c, axis=1, keepdims=True)
    return np.where(norm > 1e-12, (c / np.maximum(norm, 1e-12)) @ _KEYS.T, 0.0)


def _mode(keys: np.ndarray) -> np.ndarray:
    """(n,) major minus parallel-minor correlation at the tonic of each row's best key. (Best
    major minus best minor would not do: a major triad fits its relative minor about as well as
    its own major key.)"""
    tonic = keys.argmax(axis=1) % 12
    rows = np.arange(len(keys))
    return keys[rows, tonic] - keys[rows, 12 + tonic]


def harmonic_features(samples: np.ndarray) -> np.ndarray:
    """The len(HARMONIC_NAMES) = 23 features of HARMONIC_NAMES for 16 kHz mono samples."""
    frames = chroma_frames(samples)
    voiced = frames[frames.sum(axis=1) > 0]
    if len(voiced) == 0:
        return np.zeros(len(HARMONIC_NAMES))
    mean = voiced.mean(axis=0)
    keys = _key_correlations(mean[None])[0]
    per = _key_correlations(voiced)
    centroid = voiced @ _TONAL.T  # (n, 6)
    change = np.linalg.norm(np.diff(centroid, axis=0), axis=1).mean() if len(centroid) > 1 else 0.0
    return np.concatenate(
        [
            mean,
            [
                keys.max(),
                _mode(keys[None])[0],
                _mode(per).mean(),
                per.max(axis=1).mean(),
            ],
            centroid.mean(axis=0),
            [change],
        ]
    ).astype(np.float64)
