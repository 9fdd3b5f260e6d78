"""Whether builds read the same: compares the gallery.json of two or more galleries (every field of
every picture's record, the failures and the collection's figures; the builder's version is left
out).

    python benchmarks/same_records.py [--ignore image,thumb] OUT_A/gallery.json OUT_B/gallery.json
    [...]

Prints one line per gallery against the first and exits 1 when any differs (and where: the first few
fields). Used to check that worker counts and speed changes leave readings, quadrants and tracks as
they were. --ignore: fields of each picture's record left out (e.g. the paths of its copies, when
the copies changed)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson


def differences(a, b, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k), b.get(k), f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"[:200]]


def main() -> int:
    args = sys.argv[1:]
    ignore: set[str] = set()
    if args[:1] == ["--ignore"] and len(args) > 1:
        ignore, args = set(args[1].split(",")), args[2:]
    paths = [Path(p) for p in args]
    if len(paths) < 2:
        print(__doc__)
        return 2
    galleries = [orjson.loads(p.read_bytes()) for p in paths]
    for g in galleries:
        g.pop("version", None)
        for im in g.get("images", []):
            for key in ignore:
                im.pop(key, None)
    status = 0
    for p, g in zip(paths[1:], galleries[1:]):
        diff = differences(galleries[0], g)
        print(
            f"{p}: {'same' if not diff else f'{len(diff)} differences'} as {paths[0]} "
            f"({len(g['images'])} pictures)"
        )
        for d in diff[:5]:
            print("   ", d)
        status |= bool(diff)
    return status


if __name__ == "__main__":
    sys.exit(main())
