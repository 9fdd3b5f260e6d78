"""Audio made in code, encoded with PyAV (FFmpeg) into real containers: wav, flac, mp3, ogg, opus,
m4a."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CODECS = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".mp3": "libmp3lame",
    ".ogg": "vorbis",
    ".opus": "libopus",
    ".m4a": "aac",
}


def tone(
    seconds: float,
    rate: int = 44100,
    freq: float = 440.0,
    beat_hz: float = 0.0,
    noise: float = 0.0,
    amp: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """A stereo test signal: a tone, optionally pulsed (beat_hz) and with noise. Shape (2, n),
    float32."""
    t = np.arange(int(seconds * rate)) / rate
    x = amp * np.sin(2 * np.pi * freq * t) + amp / 2 * np.sin(2 * np.pi * 1.5 * freq * t)
    if beat_hz:
        x *= 0.5 + 0.5 * (np.sin(2 * np.pi * beat_hz * t) > 0)
    if noise:
        x += noise * np.random.default_rng(seed).standard_normal(len(t))
    return np.stack([x, 0.9 * x]).astype(np.float32)


def write_audio(
    path: Path, samples: np.ndarray, rate: int = 44100, tags: dict[str, str] | None = None
) -> Path:
    """Encode (channels, n) float samples into the container the suffix names."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    codec = CODECS[path.suffix.lower()]
    if codec == "libopus":
        rate = 48000 if rate not in (8000, 12000, 16000, 24000, 48000) else rate
    fmt = "ipod" if path.suffix.lower() == ".m4a" else None
    with av.open(str(path), "w", format=fmt) as out:
        for k, v in (tags or {}).items():
            out.metadata[k] = v
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}  # FFmpeg's own Vorbis encoder
        frame_size = stream.codec_context.frame_size or 1024
        s16 = codec == "pcm_s16le"
        data = np.clip(samples, -1, 1)
        data = (data * 32767).astype(np.int16) if s16 else data.astype(np.float32)
        fmt_name = "s16" if s16 else "fltp"
        for start in range(0, data.shape[1], frame_size):
            chunk = data[:, start : start + frame_size]
            if s16:
                frame = av.AudioFrame.from_ndarray(
                    chunk.T.reshape(1, -1).copy(), format=fmt_name, layout="stereo"
                )
            else:
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(chunk), format=fmt_name, layout="stereo"
                )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
