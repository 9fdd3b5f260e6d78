"""Build speed: per-stage milliseconds per picture and pictures per second, cold and warm.

    python benchmarks/bench.py [--mirror ../shared/mirror] [--oasis ../shared/eval/oasis-dev/images] [--n 100]

Cold = a fresh, empty cache folder (every picture decoded, detected, rendered). Warm = the same build again
on that cache (analyses and rendered copies reused). Model loading is reported apart from the per-picture
figures. Prints a table; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from builder.pipeline import Context, Stats, analyse
from builder.settings import Settings
from builder.site import write_site

HERE = Path(__file__).resolve().parent.parent


def run(label: str, input_dir: Path, files: list[str] | None, mirror: Path, cache: Path, out: Path,
        method: str) -> None:
    settings = Settings(input=input_dir, out=out, mirror=mirror, cache_dir=cache, offline=True, method=method)
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
        write_site(gallery, input_dir, out, cache, stats.hashes, index=ctx.index)
        t2 = time.perf_counter()
        n = len(gallery.images)
        stages = "  ".join(f"{k} {statistics.mean(v):7.1f}" for k, v in stats.stage_ms.items())
        print(f"{label:<10} {method:<8} {phase:<5} n={n:<4} load {load_s:5.2f} s | ms/picture: {stages}  "
              f"site {(t2 - t1) * 1000 / max(n, 1):7.1f} | total {t2 - t0:6.2f} s = {n / (t2 - t0):6.1f} pictures/s"
              f"  ({stats.cached} cached, {len(gallery.failed)} failed)")
        load_s = 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror")))
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument("--n", type=int, default=100, help="how many OASIS photos (the first n by name)")
    ap.add_argument("--methods", default="learned,objects,caption", help="comma-separated methods to time")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for method in args.methods.split(","):
            run("demo", HERE / "images", None, args.mirror.resolve(), tmp / f"cache-demo-{method}",
                tmp / "out-demo", method)
            if args.oasis.is_dir():
                files = sorted(p.name for p in args.oasis.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
                run(f"oasis{args.n}", args.oasis, files[: args.n], args.mirror.resolve(), tmp / f"cache-oasis-{method}",
                    tmp / "out-oasis", method)
            else:
                print(f"(no OASIS folder at {args.oasis}; skipped)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
