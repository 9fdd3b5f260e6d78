"""Build speed and memory: per-stage milliseconds per picture and pictures per second, cold and
warm, 1 and N workers, with the peak memory of the whole process tree.

    python benchmarks/bench.py [--mirror ../shared/mirror] [--oasis ../shared/eval/oasis-dev/images]
                               [--n 100] [--methods learned] [--workers 1,0] [--repeat 1]

Each build runs in a fresh process, as `builder build` does: cold = an empty cache folder (models
loaded, every picture decoded, analysed and rendered), warm = the same build again in a new process
on that cache (analyses and rendered copies reused). The total is the whole build's wall time from
the start of its process (the interpreter's own start and every import included), model loading
included; each build also says when its first picture was analysed, counted from the start of its
process, and how long the build went on after the last one was (the collection's music, the site,
the swap). Workers 0 = the default (one per core, as many as the memory holds); with several workers
the stage figures are summed over the workers (work, not wall time). Memory is sampled over the
build's process and its workers (resident sizes every 50 ms; proportional and private sizes every
0.5 s, as reading those slows the process read): "tree RSS" adds their resident sizes (weights
shared by forked workers counted in each), "tree PSS" their proportional sizes (shared pages split
between the processes that share them: what the build takes from the machine), and "per worker" is
the largest private (unshared) memory of one worker process. The last line gives the cold speed-up
of each worker count over the first, measured under the same load. Writes nothing outside a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import mirror_option

HERE = Path(__file__).resolve().parent.parent


class TreeMemory:
    """Samples, in a thread, the memory of a process and all its descendants (Linux /proc)."""

    def __init__(self, pid: int, every_s: float = 0.05):
        self.pid, self.every_s = pid, every_s
        self.rss = self.pss = self.worker_private = 0  # peaks, kB
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.every_s):
            tree = self._tree()
            self.rss = max(self.rss, sum(_rss(pid) for pid in tree))
            tick += 1
            if (
                tick % ROLLUP_EVERY
            ):  # smaps_rollup walks every page of a process under its memory lock:
                # read every 50 ms it slowed the build it measured (most with several workers)
                continue
            pss = 0
            for pid in tree:
                figures = _rollup(pid)
                pss += figures.get("Pss", 0)
                if pid != self.pid:
                    private = figures.get("Private_Clean", 0) + figures.get("Private_Dirty", 0)
                    self.worker_private = max(self.worker_private, private)
            self.pss = max(self.pss, pss)

    def _tree(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:  # a process may end while it is read
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


ROLLUP_EVERY = (
    10  # the proportional and private figures are read every 10th sample (0.5 s), the RSS every one
)
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss(pid: int) -> int:
    """Resident size in kB from /proc/PID/statm (cheap: no page walk)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _rollup(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return {}
    return {k.rstrip(":"): int(v) for k, v, *_ in (ln.split() for ln in lines)}


def since_start() -> float:
    """Seconds since this process started (Linux /proc: the interpreter's own start included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    return float(Path("/proc/uptime").read_text().split()[0]) - started


class Clock:
    """The build's progress bars, timed: when each bar's first and last item were done. With workers
    the pictures are analysed under "analysing pictures"; with one worker, as they are read."""

    def __init__(self):
        self.done: dict[str, list[float]] = {}

    def __call__(self, items, label: str, total: int):
        for item in items:
            yield item  # the next item is asked for once this one is done
            self.done.setdefault(label, []).append(since_start())

    def analysed(self) -> tuple[float, float] | None:
        """(when the first picture was analysed, when the last one was), seconds since start."""
        times = next((v for k, v in self.done.items() if k.startswith("analysing")), None)
        times = times or self.done.get("reading pictures")
        return (times[0], times[-1]) if times else None


def one(args) -> None:
    """One build in this process (the child of `main`): prints one line of figures as key=value."""
    from builder.files import tune_allocator
    from builder.gallery.site import write_site
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import MODEL_STAGES, Stats
    from builder.settings import Settings

    tune_allocator()  # as the `builder` command does
    files = sorted(args.files.split("\n")) if args.files else None
    settings = Settings(
        input=args.input,
        out=args.out,
        mirror=args.mirror,
        cache_dir=args.cache,
        offline=True,
        method=args.method,
        workers=args.workers,
    )
    import dataclasses

    settings = dataclasses.replace(
        settings, workers=settings.worker_count()
    )  # as the `builder` command does
    # as the `builder` command does: each picture's copies made where it is analysed
    ctx = Context(settings, copies=True)
    stats = Stats()
    clock = Clock()
    gallery = analyse(ctx, clock, stats=stats, files=files)
    t1 = time.perf_counter()
    write_site(
        gallery,
        args.input,
        args.out,
        args.cache,
        stats.hashes,
        index=ctx.index,
        workers=settings.workers,
    )
    t2 = time.perf_counter()
    n = len(gallery.images)
    stats.add("site", (t2 - t1) * 1000 / max(n, 1))
    per = stats.per_picture(n)
    model = sum(v for k, v in per.items() if k in MODEL_STAGES)
    stages = "  ".join(f"{k} {v:6.1f}" for k, v in per.items())
    end = since_start()
    analysed = clock.analysed()
    first = f"{analysed[0]:5.2f}" if analysed else "  -  "
    last = f"{end - analysed[1]:5.2f}" if analysed else "  -  "
    print(
        f"workers {settings.workers} n={n:<4} | ms/picture: {stages} | model {model:5.1f} other "
        f"{sum(per.values()) - model:5.1f} | first picture analysed {first} s after the process "
        f"started, last one {last} s before the end | total {end:6.2f} s = "
        f"{n / end:6.1f} pictures/s ({stats.cached} cached, {len(gallery.failed)} failed)"
    )
    print(f"TOTAL {end}")


def build(
    label: str,
    phase: str,
    method: str,
    workers: int,
    input_dir: Path,
    files,
    args,
    tmp: Path,
    key: str,
):
    cmd = [
        sys.executable,
        __file__,
        "--one",
        "--input",
        str(input_dir),
        "--out",
        str(tmp / f"out-{key}"),
        "--cache",
        str(tmp / f"cache-{key}"),
        "--mirror",
        str(args.mirror.resolve()),
        "--method",
        method,
        "--workers",
        str(workers),
        "--files",
        "\n".join(files or []),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    output, _ = proc.communicate()
    memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"the build failed ({proc.returncode}): {output}")
    line, total = output.strip().splitlines()[-2:]
    print(
        f"{label:<9} {method:<7} {phase:<4} {line} | peak tree RSS {memory.rss / 1024:.0f} MB, "
        "tree PSS "
        f"{memory.pss / 1024:.0f} MB, per worker {memory.worker_private / 1024:.0f} MB",
        flush=True,
    )
    return float(total.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument(
        "--n", type=int, default=100, help="how many OASIS photos (the first n by name)"
    )
    ap.add_argument(
        "--methods", default="learned,objects,caption", help="comma-separated methods to time"
    )
    ap.add_argument(
        "--workers", default="1,0", help="comma-separated worker counts to time (0 = the default)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="time each configuration this many times")
    ap.add_argument("--no-demo", action="store_true", help="only the OASIS photos")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    for name in ("input", "out", "cache"):
        ap.add_argument(f"--{name}", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        args.workers = int(args.workers)
        return one(args)
    sets = [] if args.no_demo else [("demo", HERE / "images", None)]
    if args.oasis.is_dir():
        files = sorted(
            p.name for p in args.oasis.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        sets.append((f"oasis{args.n}", args.oasis, files[: args.n]))
    else:
        print(f"(no OASIS folder at {args.oasis}; skipped)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for method in args.methods.split(","):
            for label, input_dir, files in sets:
                cold: dict[str, list[float]] = {}
                for rep in range(args.repeat):
                    for workers in args.workers.split(","):
                        key = f"{label}-{method}-{workers}-{rep}"
                        t = build(
                            label, "cold", method, int(workers), input_dir, files, args, tmp, key
                        )
                        cold.setdefault(workers, []).append(t)
                        build(label, "warm", method, int(workers), input_dir, files, args, tmp, key)
                first = args.workers.split(",")[0]
                for workers, times in cold.items():
                    if workers != first:
                        ratios = sorted(a / b for a, b in zip(cold[first], times))
                        print(
                            f"{label:<9} {method:<7} cold speed-up of --workers {workers} over "
                            f"--workers {first}: " + ", ".join(f"{r:.2f}x" for r in ratios)
                        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
