"""Our site stage against a peer's: sigal (a static gallery generator, `pip install -e '.[bench]'`)
and `write_site` make their copies of the same photos in one run, under the same load, one core
each.

    python benchmarks/peers.py [--photos ../shared/eval/oasis-dev/images] [--n 100] [--repeat 3]
    [--cores 1]

sigal (its defaults: one copy at most 640 x 480 and one 280 x 210 thumbnail, JPEG, and its HTML
pages) against ours (WebP at every display and thumbnail size, one JPEG of each, our HTML pages and
gallery.json), each from an empty output and cache, alternating, --repeat times; milliseconds a
picture of wall time, and the CPU time of the process tree. Our records come from the random method
(it reads only each picture's size), made before the clock starts: what is timed is writing the
site. Prints one line per run and the medians.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import mirror_option

HERE = Path(__file__).resolve().parent.parent


def cpu_s() -> float:
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run_sigal(photos: Path, tmp: Path, cores: int) -> tuple[float, float]:
    sigal = Path(sys.executable).with_name("sigal")
    if not sigal.exists():
        raise SystemExit("sigal is not installed: pip install -e '.[bench]' (or pip install sigal)")
    out = tmp / "sigal-out"
    shutil.rmtree(out, ignore_errors=True)
    conf = tmp / "sigal.conf.py"
    conf.write_text(f"source = {str(photos)!r}\ndestination = {str(out)!r}\n", encoding="utf-8")
    t0, c0 = time.perf_counter(), cpu_s()
    subprocess.run(
        [str(sigal), "build", "-q", "-c", str(conf), "-n", str(cores)], check=True, cwd=tmp
    )
    return time.perf_counter() - t0, cpu_s() - c0


def run_ours(photos: Path, tmp: Path, cores: int, gallery, hashes, index) -> tuple[float, float]:
    from builder.gallery.site import write_site

    out, cache = tmp / "ours-out", tmp / "ours-cache"
    for d in (out, cache):
        shutil.rmtree(d, ignore_errors=True)
    t0, c0 = time.perf_counter(), cpu_s()
    write_site(gallery, photos, out, cache, hashes, index=index, workers=cores)
    return time.perf_counter() - t0, cpu_s() - c0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--photos", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    mirror_option(ap)
    ap.add_argument("--n", type=int, default=100, help="how many photos (the first n by name)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cores", type=int, default=1, help="sigal's --ncpu and our rendering threads")
    args = ap.parse_args()
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import Stats
    from builder.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="peers-"))
    try:
        photos = tmp / "photos"  # the same n photos for both (sigal takes a folder)
        photos.mkdir()
        for p in sorted(
            q for q in args.photos.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png")
        )[: args.n]:
            shutil.copyfile(p, photos / p.name)
        s = Settings(
            input=photos,
            out=tmp / "ours-out",
            mirror=args.mirror.resolve(),
            cache_dir=tmp / "records-cache",
            offline=True,
            method="random",
            workers=1,
        )
        ctx, stats = Context(s), Stats()
        gallery = analyse(ctx, stats=stats)
        n = len(gallery.images)
        times: dict[str, list[float]] = {"sigal": [], "ours": []}
        cpus: dict[str, list[float]] = {"sigal": [], "ours": []}
        for rep in range(args.repeat):
            for who in ("sigal", "ours"):
                if who == "sigal":
                    wall, cpu = run_sigal(photos, tmp, args.cores)
                else:
                    wall, cpu = run_ours(photos, tmp, args.cores, gallery, stats.hashes, ctx.index)
                times[who].append(wall * 1000 / n)
                cpus[who].append(cpu * 1000 / n)
                print(
                    f"run {rep + 1} {who:<5} {n} photos: {wall * 1000 / n:6.1f} ms a picture "
                    f"(CPU {cpus[who][-1]:6.1f} ms)"
                )
        for who, ms in times.items():
            print(
                f"median {who:<5} {statistics.median(ms):6.1f} ms a picture "
                f"(runs {', '.join(f'{m:.1f}' for m in ms)}); "
                f"CPU {statistics.median(cpus[who]):.1f} ms (runs "
                f"{', '.join(f'{m:.1f}' for m in cpus[who])})"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
