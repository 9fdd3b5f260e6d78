"""How fast `builder film` makes a film: seconds of film per second of work (the target: >= 3x at
1280x720).

    python benchmarks/film.py GALLERY [--size 1280x720] [--seconds 8] [--motion gentle] [--fps 25]
        [--repeat 1] [--intro-chars N]

GALLERY is a folder written by `builder build` (e.g. `builder build images --out /tmp/demo-dist`).
The film is written to a temporary folder and removed. Prints the film's length, the wall time, the
real-time factor (film seconds / wall seconds), the CPU time of every thread (composing, conversion,
x264, sound) per frame and what two idle cores would make of it. On a busy machine the wall figure
is low and the CPU figure is the one to compare; quote both with the core count and the load.
--intro-chars N films a copy of the gallery whose intro is one line of N characters without a space
(the title card's text fitting must stay linear).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import orjson

from builder import film as fm
from builder.film.frames import Looks


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("gallery", type=Path)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--motion", default="gentle", choices=fm.MOTIONS)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--intro-chars", type=int, default=0)
    args = ap.parse_args()
    options = fm.Options(
        size=fm.parse_size(args.size), fps=args.fps, seconds=args.seconds, motion=args.motion
    )

    composing = [0.0]
    frame = Looks.frame

    def timed(self, t):
        t0 = time.thread_time()  # CPU time of the composing thread alone
        try:
            return frame(self, t)
        finally:
            composing[0] += time.thread_time() - t0

    Looks.frame = timed  # measure the composing alone, in the real run
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        gallery = args.gallery
        if args.intro_chars:
            gallery = Path(tmp) / "gallery"
            shutil.copytree(args.gallery, gallery, symlinks=True)
            data = orjson.loads((gallery / "gallery.json").read_bytes())
            data["intro"] = "x" * args.intro_chars
            (gallery / "gallery.json").write_bytes(orjson.dumps(data))
        for _ in range(args.repeat):
            composing[0] = 0.0
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            plan = fm.make_film(gallery, Path(tmp) / "bench.mp4", options)
            wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (
                r1.ru_stime - r0.ru_stime
            )  # every thread: x264's too
            if best is None or wall < best[0]:
                best = (wall, composing[0], plan, cpu)
    wall, compose, plan, cpu = best
    frames = round(plan.duration * args.fps)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"film {plan.duration:.1f} s ({frames} frames, {args.size}, {args.fps} fps, motion "
        f"{args.motion}, {sum(c.kind == 'picture' for c in plan.chapters)} pictures x "
        f"{args.seconds:g} s)"
    )
    print(f"wall {wall:.1f} s -> {plan.duration / wall:.2f}x real time")
    print(
        f"CPU {cpu:.1f} s ({cpu / frames * 1000:.1f} ms a frame, of which composing "
        f"{compose / frames * 1000:.1f} ms); "
        f"on two idle cores at best {plan.duration / max(cpu / 2, compose):.2f}x real time (CPU "
        "time / 2 cores)"
    )
    print(f"cores {os.cpu_count()}, load average {load:.2f} (a busy machine lowers the figures)")


if __name__ == "__main__":
    main()
