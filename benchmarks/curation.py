"""What the curator's say costs: reading a picture's own title and description from its header, and
reading, checking and applying a sheet for a large collection.

    python benchmarks/curation.py [--images images] [--rows 100000]

Metadata: builder.images.read_metadata over every picture of --images (bytes already in memory, as
the decode stage has them), best of 5 rounds, milliseconds per picture. Sheet: a generated sheet of
--rows pictures (title, caption, order, quadrant, every tenth hidden) read and checked
(curation.read_sheet, Sheet.check_pictures) and applied to as many records (curation.apply). Prints
figures; writes only a temporary file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from builder.images import list_images, read_metadata
from builder.pipeline import curation
from builder.records import ImageRecord

HERE = Path(__file__).resolve().parent.parent


def metadata_ms(folder: Path) -> tuple[int, float]:
    datas = [(folder / f).read_bytes() for f in list_images(folder)]
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for d in datas:
            read_metadata(d)
        best = min(best, time.perf_counter() - t0)
    return len(datas), best * 1000 / max(1, len(datas))


def sheet_s(rows: int) -> tuple[float, float]:
    files = [f"album-{i // 1000:03d}/picture-{i:06d}.jpg" for i in range(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.csv"
        lines = ["image,title,caption,order,quadrant,hide"]
        for i, f in enumerate(files):
            lines.append(
                f'{f},Picture {i},"A caption, with a comma, for picture '
                f'{i}",{rows - i},{i % 4 + 1},{i % 10 == 0}'
            )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        sheet = curation.read_sheet(path)
        sheet.check_pictures(files)
        read = time.perf_counter() - t0
    hidden = sheet.hidden
    records = [
        ImageRecord(f, (0.0, 0.0), 1, (), (), (), (), 10, 10) for f in files if f not in hidden
    ]
    t0 = time.perf_counter()
    curation.apply(records, sheet, {}, {})
    return read, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=Path, default=HERE / "images")
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    n, ms = metadata_ms(args.images)
    print(f"metadata: {n} pictures, {ms:.3f} ms per picture (header only, best of 5)")
    read, applied = sheet_s(args.rows)
    print(
        f"sheet of {args.rows} rows: read and checked in {read:.2f} s, applied in {applied:.2f} s"
    )


if __name__ == "__main__":
    main()
