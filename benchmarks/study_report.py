"""How long `builder study report` takes, and how much memory, on large answers files.

    python benchmarks/study_report.py [--lines 1000000] [--work /tmp/study-bench]

Makes a study of 20 pictures and three conditions in code (no gallery needed: the report's reading
and figures are builder.lab.study.read_answers and report, which the command runs), simulates
visitors as the tests do (each places 10 pictures and rates the three conditions' music of each: 40
lines a visitor) and writes two answers files of --lines lines: one device exported again and again
(400 visitors, their lines repeated: nearly every line a duplicate), and as many different visitors
as the lines hold (every line kept). Each file is read and reported in its own process; the script
prints per file its size, the visitors and judgements kept, the seconds to read the lines, the
seconds to compute every figure with its 1000-draw interval, and the peak resident memory of that
process (ru_maxrss). Writes only under --work.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import orjson

GID = "g-benchmark"
CONDITIONS = ("gallery", "objects", "random")
PICTURES = 20


def design():
    from builder.lab.study import Design

    pictures = {
        f"p{i:02d}.jpg": {
            "gallery": {"track": f"t{i}", "quadrant": i % 4 + 1},
            "objects": {"track": f"o{i}", "quadrant": (i + i % 2) % 4 + 1},
            "random": {"track": f"r{i}", "quadrant": None},
        }
        for i in range(PICTURES)
    }
    return Design.from_json({"gallery": GID, "conditions": list(CONDITIONS), "pictures": pictures})


def visitor_lines(rng: random.Random, visitor: str) -> bytes:
    out = []
    for k, p in enumerate(rng.sample(range(PICTURES), 10)):
        base = {"gallery": GID, "visitor": visitor, "picture": f"p{p:02d}.jpg"}
        base["at"] = f"2026-12-01T10:{k:02d}:00.000Z"
        v, a = rng.uniform(-1, 1), rng.uniform(-1, 1)
        out.append({**base, "kind": "place", "valence": round(v, 2), "arousal": round(a, 2)})
        for c, shift in zip(CONDITIONS, (1.0, 0.3, 0.0)):
            score = min(5, max(1, round(2.5 + shift + rng.gauss(0, 0.8))))
            track = f"{c[0] if c != 'gallery' else 't'}{p}"
            out.append({**base, "kind": "rate", "condition": c, "track": track, "score": score})
    return b"".join(orjson.dumps(x) + b"\n" for x in out)


def write_files(work: Path, lines: int) -> dict[str, Path]:
    rng = random.Random(0)
    work.mkdir(parents=True, exist_ok=True)
    repeated, distinct = work / "repeated.jsonl", work / "distinct.jsonl"
    body = b"".join(visitor_lines(rng, f"v{v:06d}") for v in range(400))
    with open(repeated, "wb") as fh:
        for _ in range(-(-lines // (400 * 40))):
            fh.write(body)
    with open(distinct, "wb") as fh:
        for v in range(-(-lines // 40)):
            fh.write(visitor_lines(rng, f"d{v:07d}"))
    return {"one device exported again and again": repeated, "different visitors": distinct}


def one(path: Path) -> None:
    """Read and report one file in this process; print its figures as one JSON line."""
    from builder.lab.study import read_answers, report

    d = design()
    started = time.perf_counter()
    answers = read_answers([path], d)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    result = report(d, answers)
    report_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "lines": answers.lines,
        "visitors": result["visitors"],
        "judgements": result["judgements"],
        "read_s": round(read_s, 1),
        "report_s": round(report_s, 1),
        "peak_mb": round(peak_mb),
    }
    print(orjson.dumps(figures).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/study-bench"))
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one)
    for name, path in write_files(args.work, args.lines).items():
        run = [sys.executable, __file__, "--one", str(path)]
        done = subprocess.run(run, capture_output=True, text=True, check=True)
        f = orjson.loads(done.stdout.strip().splitlines()[-1])
        size = path.stat().st_size / (1 << 20)
        print(
            f"{name}: {f['lines']:,} lines ({size:.0f} MB), {f['visitors']:,} visitors, "
            f"{f['judgements']:,} judgements kept; read {f['read_s']} s, figures "
            f"{f['report_s']} s, peak memory {f['peak_mb']} MB"
        )


if __name__ == "__main__":
    main()
