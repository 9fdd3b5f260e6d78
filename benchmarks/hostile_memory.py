"""Peak memory and time of `builder build` on one hostile input at a time (the bound kept: under
1.5 GB, under a minute).

    BUILDER_MIRROR=../shared/mirror python benchmarks/hostile_memory.py [--work /tmp/hostile]
    [--method random]

Each case is a folder of two small good photos and one bad input, built in its own process (`builder
build --offline`); the script prints per case the exit status, the peak resident memory of that
process and its children (ru_maxrss), the wall time, and the reason the builder gave for the bad
input. Cases: a sparse 3 GB file named .jpg, a PNG whose header claims 12,000 x 12,000 pixels, a
TIFF claiming 12,000 x 12,000, a named pipe named .jpg, a link loop, and the good photos alone as
the baseline. Writes only under --work."""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF header: one strip, RGB 8-bit, uncompressed, whose data is not
    there."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 200),
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, width * height * 3),
    ]
    ifd = (
        struct.pack("<H", len(entries))
        + b"".join(struct.pack("<HHII", *e) for e in entries)
        + b"\0\0\0\0"
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 64


def make_cases(work: Path) -> dict[str, Path]:
    cases = {}
    for name in (
        "baseline",
        "sparse-3gb-jpg",
        "png-144mp-header",
        "tiff-144mp-header",
        "fifo",
        "link-loop",
    ):
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(
                d / f"good{i}.jpg"
            )
        cases[name] = d
    with open(cases["sparse-3gb-jpg"] / "huge.jpg", "wb") as f:
        f.truncate(3 << 30)
    (cases["png-144mp-header"] / "wide.png").write_bytes(png_claiming(12_000, 12_000))
    (cases["tiff-144mp-header"] / "wide.tif").write_bytes(tiff_claiming(12_000, 12_000))
    os.mkfifo(cases["fifo"] / "pipe.jpg")
    (cases["link-loop"] / "loop.jpg").symlink_to(cases["link-loop"] / "loop.jpg")
    return cases


def run(folder: Path, work: Path, method: str) -> tuple[int, float, float, str]:
    """(exit status, peak MB, seconds, the failure lines) of one build in a fresh process."""
    builder = Path(sys.executable).with_name("builder")
    cmd = [str(builder), "build", str(folder), "--out", str(work / f"out-{folder.name}")]
    cmd += ["--cache-dir", str(work / "cache"), "--offline", "--method", method]
    # ru_maxrss of RUSAGE_CHILDREN is the largest of the children waited for so far: run each case
    # through a fresh python that reports its own child's peak
    probe = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True,timeout=300);"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "time.perf_counter()-t);"
        "print(p.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd], capture_output=True, text=True, timeout=400
    ).stdout
    head, _, rest = out.partition("\n")
    code, kb, seconds = head.split()
    failed = " | ".join(
        line.strip() for line in rest.splitlines() if "failed:" in line or "error" in line
    )
    return int(code), int(kb) / 1024, float(seconds), failed


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/hostile-memory"))
    ap.add_argument("--method", default="random")
    args = ap.parse_args()
    cases = make_cases(args.work)
    print(f"{'case':22} {'exit':>4} {'peak MB':>8} {'s':>6}  reason")
    for name, folder in cases.items():
        code, mb, seconds, why = run(folder, args.work, args.method)
        print(f"{name:22} {code:4d} {mb:8.0f} {seconds:6.1f}  {why}")


if __name__ == "__main__":
    main()
