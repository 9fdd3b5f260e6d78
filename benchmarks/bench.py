"""Build speed: per-stage milliseconds per picture and pictures per second, cold and warm, 1 and N workers.

    python benchmarks/bench.py [--mirror ../shared/mirror] [--oasis ../shared/eval/oasis-dev/images] [--n 100]
                               [--workers 1,0]

Cold = a fresh, empty cache folder (every picture decoded, detected, rendered). Warm = the same build again
on that cache (analyses and rendered copies reused). Model loading is reported apart from the per-picture
figures (in the main process; workers load their own, inside the wall time). Workers 0 = one per core; with
several workers the stage figures are summed over the workers (work, not wall time). Prints a table; writes
nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from builder.context import Context
from builder.files import tune_allocator
from builder.gallery.site import write_site
from builder.pipeline import MODEL_STAGES, Stats, analyse
from builder.settings import Settings

HERE = Path(__file__).resolve().parent.parent


def run(
    label: str,
    input_dir: Path,
    files: list[str] | None,
    mirror: Path,
    cache: Path,
    out: Path,
    method: str,
    workers: int,
) -> None:
    settings = Settings(
        input=input_dir, out=out, mirror=mirror, cache_dir=cache, offline=True, method=method, workers=workers
    )
    ctx = Context(settings)
    t0 = time.perf_counter()
    _ = ctx.index, ctx.mapper, ctx.detector  # load everything once, outside the per-picture figures
    if method == "caption":
        _ = ctx.faces, ctx.segmenter, ctx.namer, ctx.scene, ctx.tagger
    if method == "learned":
        _ = ctx.scene, ctx.feeling
    load_s = time.perf_counter() - t0
    for phase in ("cold", "warm"):
        stats = Stats()
        t0 = time.perf_counter()
        gallery = analyse(ctx, stats=stats, files=files)
        t1 = time.perf_counter()
        write_site(gallery, input_dir, out, cache, stats.hashes, index=ctx.index, workers=settings.worker_count())
        t2 = time.perf_counter()
        n = len(gallery.images)
        stats.add("site", (t2 - t1) * 1000 / max(n, 1))
        per = stats.per_picture(n)
        model = sum(v for k, v in per.items() if k in MODEL_STAGES)
        stages = "  ".join(f"{k} {v:6.1f}" for k, v in per.items())
        print(
            f"{label:<9} {method:<7} workers {settings.worker_count()} {phase:<4} n={n:<4} load {load_s:4.2f} s | "
            f"ms/picture: {stages} | model {model:5.1f} other {sum(per.values()) - model:5.1f} | "
            f"total {t2 - t0:6.2f} s = {n / (t2 - t0):6.1f} pictures/s ({stats.cached} cached, "
            f"{len(gallery.failed)} failed) | peak RSS main {_peak_mb(resource.RUSAGE_SELF):.0f} MB, "
            f"largest worker {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )
        load_s = 0.0


def _peak_mb(who: int) -> float:
    """Peak resident memory so far (RUSAGE_CHILDREN: the largest finished child, here a worker)."""
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    tune_allocator()  # as the `builder` command does
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--mirror", type=Path, default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror"))
    )
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument("--n", type=int, default=100, help="how many OASIS photos (the first n by name)")
    ap.add_argument("--methods", default="learned,objects,caption", help="comma-separated methods to time")
    ap.add_argument("--workers", default="1,0", help="comma-separated worker counts to time (0 = one per core)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for method in args.methods.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                key = f"{method}-{workers}"
                run(
                    "demo",
                    HERE / "images",
                    None,
                    args.mirror.resolve(),
                    tmp / f"cache-demo-{key}",
                    tmp / f"out-demo-{key}",
                    method,
                    workers,
                )
                if args.oasis.is_dir():
                    files = sorted(
                        p.name for p in args.oasis.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                    )
                    run(
                        f"oasis{args.n}",
                        args.oasis,
                        files[: args.n],
                        args.mirror.resolve(),
                        tmp / f"cache-oasis-{key}",
                        tmp / f"out-oasis-{key}",
                        method,
                        workers,
                    )
                else:
                    print(f"(no OASIS folder at {args.oasis}; skipped)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
