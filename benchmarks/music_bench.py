"""Listening speed: how many times faster than real time `builder music score` reads music, cold and
warm.

    python benchmarks/music_bench.py [--mirror ../shared/mirror] [--audio ../shared/eval/music-4q]
    [--n 40]

Cold = a fresh cache: every file decoded, resampled, turned into mel patches, tagged by musicnn (the
MTT model, and the MSD one when the shipped feeling head reads it; --msd on/off forces it), its
classic and harmonic features computed, and the windowed reading of builds and `music score`
(windows: each window's classic and harmonic features; the taggers' outputs are the file's own);
per-stage seconds are summed over the files (one process). Then `builder music score` itself, in a
fresh process as a user runs it (start-up included, the default workers: one listening process per
core), on the same files, cold and warm; and the same cold listening in this process with one
worker, without the windows (as the lab's fitting listens). Also times one long file (made here: 20
minutes of noise and tones, WAV) to show that long files cost a bounded number of windows. Prints a
table; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import mirror_option

from builder.assets import AssetStore
from builder.assets.runtime import one_thread
from builder.files import tune_allocator
from builder.music.audio import check_audible, decode, log_mel_and_power, patches
from builder.music.audiofeatures import classic_features, harmonic_features
from builder.music.listen import Listener, list_audio, window_features
from builder.music.musicnn import load_tagger
from builder.settings import usable_cores

HERE = Path(__file__).resolve().parent.parent


STAGES = ("decode", "mel", "musicnn", "msd", "classic", "harmonic", "windows")


def stage_times(files: list[Path], tagger, msd_tagger=None, repeats: int = 1) -> dict[str, float]:
    """Seconds per stage summed over the files; with repeats > 1, each file's stages are run that
    many times and the least time of each stage is kept (on a shared machine, the time the work
    itself takes)."""
    t = {**dict.fromkeys(STAGES, 0.0), "audio_s": 0.0}
    for f in files:
        best = _file_stages(f, tagger, msd_tagger)
        for _ in range(repeats - 1):
            best = {
                k: min(v, w)
                for (k, v), w in zip(best.items(), _file_stages(f, tagger, msd_tagger).values())
            }
        for k, v in best.items():
            t[k] += v
    return t


def _file_stages(f: Path, tagger, msd_tagger) -> dict[str, float]:
    t = {**dict.fromkeys(STAGES, 0.0), "audio_s": 0.0}
    t0 = time.perf_counter()
    d = decode(f)
    check_audible(d)
    t1 = time.perf_counter()
    mel, power = log_mel_and_power(d.samples)
    p = patches(mel)
    t2 = time.perf_counter()
    mtt = tagger(p)
    t3 = time.perf_counter()
    msd = msd_tagger(p) if msd_tagger is not None else (np.zeros((1, 0)), np.zeros((1, 0)))
    t4 = time.perf_counter()
    classic_features(d.samples, power=power)
    t5 = time.perf_counter()
    harmonic_features(d.samples)
    t6 = time.perf_counter()
    window_features(d, power, mtt, msd)
    t7 = time.perf_counter()
    for k, a, b in zip(STAGES, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
        t[k] += b - a
    t["audio_s"] = d.duration_s
    return t


def main() -> None:
    tune_allocator()  # as the `builder` command does
    one_thread()  # as the listener does
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    ap.add_argument("--audio", type=Path, default=HERE.parent / "shared/eval/music-4q")
    ap.add_argument("--n", type=int, default=40, help="how many files (the first n by path)")
    ap.add_argument(
        "--msd",
        choices=("auto", "on", "off"),
        default="auto",
        help="hear with the MSD tagger too: as the shipped head needs (auto), always, or never "
        "(the version-1 cost)",
    )
    ap.add_argument(
        "--repeats", type=int, default=1, help="run each file's stages this often, keep the least"
    )
    ap.add_argument(
        "--stages-only", action="store_true", help="skip the score command and the long file"
    )
    args = ap.parse_args()
    import openvino

    print(f"openvino {openvino.__version__}, one thread a process, {os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="music-bench-"))
    try:
        store = AssetStore(tmp / "cache", args.mirror.resolve(), offline=True)
        tagger = load_tagger(store.resolve("musicnn-mtt-onnx"), "MTT")
        files = [args.audio / f for f in list_audio(args.audio)[: args.n]]
        tagger(np.zeros((1, 187, 96), np.float32))  # warm the kernels once
        # auto: what a build would hear with the shipped head
        msd = {"on": True, "off": False}.get(args.msd, Listener(store, tmp / "cache").msd)
        msd_tagger = load_tagger(store.resolve("musicnn-msd-onnx"), "MSD") if msd else None
        if msd_tagger is not None:
            msd_tagger(np.zeros((1, 187, 96), np.float32))
        print(f"MSD tagger: {'heard' if msd else 'not heard'} (--msd {args.msd})")
        t = stage_times(files, tagger, msd_tagger, args.repeats)
        busy = sum(t[k] for k in STAGES)
        n = len(files)
        print(f"{n} files, {t['audio_s']:.0f} s of audio ({t['audio_s'] / n:.1f} s a file)")
        print("per file, ms: " + "  ".join(f"{k} {1000 * t[k] / n:6.1f}" for k in STAGES))
        print(f"stages: {busy / n * 1000:.0f} ms a file = {t['audio_s'] / busy:.0f}x real time")
        if args.stages_only:
            return
        # the command as a user runs it, in a fresh process: cold, then warm
        folder = args.audio if args.n >= 10**6 else _subset(files, args.audio, tmp)
        workers = usable_cores()
        for phase in ("cold", "warm"):
            cmd = [sys.executable, "-m", "builder", "music", "score", str(folder)]
            cmd += ["--out", str(tmp / "catalogue.csv"), "--cache-dir", str(tmp / "command")]
            cmd += ["--mirror", str(args.mirror.resolve()), "--offline"]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            said = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(
                f"builder music score {phase} ({workers} workers): {wall:.2f} s = "
                f"{t['audio_s'] / wall:.0f}x real time ({said})"
            )
        t0 = time.perf_counter()
        scored, failed, cached = Listener(store, tmp / "one", msd=msd).score(folder, workers=1)
        wall = time.perf_counter() - t0
        print(
            f"score cold in this process, 1 worker: {len(scored)} files ({cached} cached, "
            f"{len(failed)} failed) in {wall:.2f} s = {t['audio_s'] / wall:.0f}x real time"
        )
        long = _long_file(tmp)
        t0 = time.perf_counter()
        d = decode(long)
        tagger(patches(log_mel_and_power(d.samples)[0]))
        print(
            f"long file: {d.duration_s / 60:.0f} min read through {d.windows} windows in "
            f"{time.perf_counter() - t0:.2f} s ({len(d.samples) / 16000:.0f} s of audio analysed)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _subset(files: list[Path], root: Path, tmp: Path) -> Path:
    """A folder of copies of the chosen files, so `score` walks exactly them (links out of a music
    folder are refused by design)."""
    d = tmp / "subset"
    if not d.exists():
        for f in files:
            copy = d / f.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, copy)
    return d


def _long_file(tmp: Path) -> Path:
    import wave

    rate, seconds = 16000, 20 * 60
    rng = np.random.default_rng(0)
    path = tmp / "long.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        for minute in range(seconds // 60):
            t = np.arange(60 * rate) / rate
            x = 0.2 * np.sin(2 * np.pi * (200 + 20 * minute) * t) + 0.05 * rng.standard_normal(
                len(t)
            )
            w.writeframes((x * 32767).astype(np.int16).tobytes())
    return path


if __name__ == "__main__":
    main()
