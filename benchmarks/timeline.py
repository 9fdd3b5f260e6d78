"""When each step of one cold build starts and ends, in seconds from the start of its process.

    python benchmarks/timeline.py [--mirror ../shared/mirror]
                                  [--oasis ../shared/eval/oasis-dev/images]
                                  [--n 60] [--workers 0] [--repeat 1]

Copies the first --n photos of oasis-dev into a temporary folder and builds them with the learned
method, cold (an empty cache), in a fresh process as `builder build` runs, with --workers (0: the
default). The build's own functions are wrapped, in that process only, to print when they start and
end: the checks, the catalogue and the music index, the models' loading (each network and the
solver, in the loading thread), the analysis of the pictures the cache lacks (and how many of their
copies the main process made while the models loaded), the music, where each song starts, and
writing and swapping the site. Times count from just before the process was started, so the
interpreter's start and the imports are in them. What no core shares with another shows here: the
start before the models begin to load and the end after the last picture. Writes nothing outside a
temporary folder.
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

from common import mirror_option

HERE = Path(__file__).resolve().parent.parent


def child(start: float, argv: list[str]) -> None:
    """Run `builder build ARGV` in this process, printing each wrapped step's start and end."""

    def say(what: str) -> None:
        print(f"@ {time.time() - start:7.3f} {what}", file=sys.stderr, flush=True)

    import builder.gallery.site as site
    import builder.pipeline.build as pb
    import builder.pipeline.context as context
    import builder.pipeline.run as run
    import builder.pipeline.stages as stages
    from builder.pipeline import executors

    say("imports done")

    def wrap(owner, name: str, label: str | None = None, note=None) -> None:
        f = getattr(owner, name)

        def wrapped(*a, **k):
            say(f"{label or name} starts")
            try:
                return f(*a, **k)
            finally:
                say(f"{label or name} ends" + (f" ({note()})" if note else ""))

        setattr(owner, name, wrapped)

    copies = [0]  # made by the main process while the models load (before the analysis starts)
    made = stages._copies
    analysing = [False]

    def counted(*a, **k):
        copies[0] += not analysing[0]
        return made(*a, **k)

    stages._copies = counted
    for module, name in ((pb, "check_outputs"), (run, "choose_music"), (run, "with_starts")):
        wrap(module, name)
    wrap(site, "write_site", "writing and swapping the site")
    here = executors.LocalProcesses._map_here

    def map_here(*a, **k):
        analysing[0] = True
        say(f"analysing starts ({copies[0]} pictures' copies made while the models loaded)")
        try:
            return here(*a, **k)
        finally:
            say("analysing ends")

    executors.LocalProcesses._map_here = map_here
    for prop in ("catalogue", "index", "feeling", "detector", "scene", "lite"):
        cached = context.Context.__dict__[prop]
        cached.func = _timed(cached.func, f"ctx.{prop}", say)

    def solver(index) -> None:
        say("solver import starts")
        import scipy.optimize  # noqa: F401

        say("solver import ends")

    import builder.music.index as mi

    mi.MusicIndex.load_solver = solver
    first = [True]
    work = stages.Worker.__call__
    main = os.getpid()

    def call(self, job, data=None):
        if first[0] and os.getpid() == main:
            first[0] = False
            say("the main process starts its first picture")
        return work(self, job, data)

    stages.Worker.__call__ = call
    from builder.cli import app

    try:
        app(["build", *argv])
    finally:
        say("end")


def _timed(f, label: str, say):
    def timed(self):
        say(f"{label} starts")
        try:
            return f(self)
        finally:
            say(f"{label} ends")

    return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mirror_option(ap)
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ap.add_argument("--start", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.start, args.child)
        return
    photos = sorted(
        p for p in args.oasis.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    if len(photos) < args.n:
        sys.exit(f"{args.oasis} has {len(photos)} photos, fewer than --n {args.n}")
    with tempfile.TemporaryDirectory(prefix="timeline-") as tmp:
        src = Path(tmp) / "photos"
        src.mkdir()
        for p in photos[: args.n]:
            shutil.copyfile(p, src / p.name)
        for round_ in range(args.repeat):
            out, cache = Path(tmp) / f"out{round_}", Path(tmp) / f"cache{round_}"
            build = [str(src), "--out", str(out), "--cache-dir", str(cache)]
            build += ["--mirror", str(args.mirror), "--offline", "--workers", str(args.workers)]
            start = time.time()
            done = subprocess.run(
                [sys.executable, __file__, "--start", repr(start), "--child", *build],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                sys.exit(done.stdout + done.stderr)
            print(f"round {round_ + 1}: {args.n} photos, --workers {args.workers}, cold")
            for line in done.stderr.splitlines():
                if line.startswith("@ "):
                    print(" ", line[2:])


if __name__ == "__main__":
    main()
