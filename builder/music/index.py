"""Nearest tracks in valence/arousal space: an hnswlib index over the catalogue, cached by content
hash.

Ties are common (DEAM ratings sit on a 0.1 grid), so results are re-ranked exactly by (distance,
catalogue order): hnswlib proposes candidates, numpy decides. The same rule is what exact search
does, which is what a test compares against.
"""

from __future__ import annotations

import dataclasses
import hashlib
from functools import cached_property
from pathlib import Path

import hnswlib
import numpy as np
import orjson

from builder.files import atomic_path
from builder.music import matching
from builder.music.catalogue import Catalogue
from builder.records import Point, Track


class MusicIndex:
    def __init__(
        self, catalogue: Catalogue, cache_dir: Path | None = None, *, ef: int = 200, m: int = 16
    ):
        if not catalogue.tracks:
            raise ValueError("cannot index an empty catalogue")
        self.catalogue = catalogue
        # float64 for the exact re-ranking, so the gallery's JavaScript (doubles) ranks exactly the
        # same way
        self.points = np.array([(t.valence, t.arousal) for t in catalogue.tracks], dtype=np.float64)
        self.ef = ef
        self.cache_dir = cache_dir
        self.index = hnswlib.Index(space="l2", dim=2)
        path = cache_dir / "index" / f"{catalogue.content_hash}.hnsw" if cache_dir else None
        self.cached = False
        if path is not None and path.exists():
            try:
                self.index.load_index(str(path), max_elements=len(self.points))
                self.cached = self.index.get_current_count() == len(self.points)
            except RuntimeError:
                self.cached = False
        if not self.cached:
            self.index = hnswlib.Index(space="l2", dim=2)
            self.index.init_index(
                max_elements=len(self.points), ef_construction=200, M=m, random_seed=7
            )
            self.index.add_items(self.points.astype(np.float32), np.arange(len(self.points)))
            if path is not None:
                try:
                    self.save(path)
                except OSError:
                    pass  # an unwritable cache costs the index's rebuild next time, nothing else
        self.index.set_ef(max(ef, 64))

    def save(self, path: Path) -> None:
        """Write the index atomically (temporary file, then rename)."""
        with atomic_path(path) as tmp:  # durable: a native reader may not survive a file cut short
            self.index.save_index(str(tmp))

    # What a method asks of the music (it reaches music through the Context's index, never by
    # import).

    @cached_property
    def table(self) -> np.ndarray:
        """matching.calibration_table of the catalogue's (valence, arousal): where targets are
        mapped."""
        return matching.calibration_table(self.points)

    def target(self, relative: Point, training: np.ndarray) -> Point:
        """Where a reading (relative to its training set's quadrant origin) looks for music in
        this catalogue's frame (matching.calibrate)."""
        return matching.calibrate(relative, training, self.table)

    def quadrant_middle(self, q: int) -> Point:
        """The middle of this catalogue's music in quadrant q (matching.quadrant_middle)."""
        return matching.quadrant_middle(q, self.table)

    def load_solver(self) -> None:
        """Import the assignment's solver (scipy.optimize: about half a second) now, not when the
        collection is read: a method that will solve for a collection calls it while its models
        load, where the import overlaps the other work of the build's start."""
        import scipy.optimize  # noqa: F401

    def assign(
        self,
        targets: np.ndarray,
        *,
        quadrants: list[int] | None = None,
        repeats: int = 0,
        used: np.ndarray | list[int] | None = None,
    ) -> matching.Assignment:
        """First tracks for a whole collection's targets at once, each in its picture's quadrant
        where this catalogue has a track there, a track a first track at most `repeats` times (0:
        automatic); used: per catalogue track, the uses the curator's pins already make of it
        (matching.assign)."""
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
        m = len(self.points)
        used = (
            np.zeros(m, dtype=np.int64)
            if used is None
            else np.asarray(used, dtype=np.int64).reshape(m)
        )
        path = self._assignment_path(targets, quadrants, repeats, used)
        if path is not None:
            found = _load_assignment(path, len(targets), len(self.points))
            if found is not None:
                return found
        result = matching.assign(
            targets, self.points, quadrants=quadrants, repeats=repeats, used=used
        )
        if path is not None:
            try:
                with atomic_path(path, durable=False) as tmp:  # checked when read
                    tmp.write_bytes(orjson.dumps(result))
            except OSError:
                pass  # an unwritable cache costs the assignment's time next build, nothing else
        return result

    def _assignment_path(
        self, targets: np.ndarray, quadrants: list[int] | None, repeats: int, used: np.ndarray
    ) -> Path | None:
        """Where the assignment of these targets is remembered: a rebuild of the same collection
        (the same readings, catalogue, --repeats and pinned uses) reuses it instead of solving it
        again (and loading the solver). The key holds matching.py's own source, so a changed rule
        never serves an old answer."""
        source = Path(matching.__file__)
        if self.cache_dir is None or not source.is_file():
            return None
        h = hashlib.sha256(source.read_bytes())
        quads = np.asarray(quadrants if quadrants is not None else [], dtype=np.int64)
        for part in (targets, self.points, quads, used):
            h.update(np.ascontiguousarray(part).tobytes() + b"|")
        h.update(str(int(repeats)).encode())
        return self.cache_dir / "assign" / f"{h.hexdigest()}.json"

    def nearest(self, point: Point, k: int = 1) -> list[Track]:
        return [self.catalogue.tracks[i] for i in self.nearest_ids(point, k)]

    def nearest_ids(self, point: Point, k: int = 1) -> list[int]:
        n = len(self.points)
        k = min(k, n)
        fetch = min(n, 2 * k + 16)
        labels, _ = self.index.knn_query(np.asarray([point], dtype=np.float32), k=fetch)
        cand = labels[0].astype(np.int64)
        dv, da = self.points[cand, 0] - float(point[0]), self.points[cand, 1] - float(point[1])
        d = dv * dv + da * da
        order = np.lexsort((cand, d))
        return [int(i) for i in cand[order[:k]]]


def _load_assignment(path: Path, n: int, m: int) -> matching.Assignment | None:
    """A remembered assignment, checked field by field: anything of the wrong shape is solved
    again."""
    try:
        d = orjson.loads(path.read_bytes())
        found = matching.Assignment(**d)
        first, off = [int(i) for i in found.first], [bool(x) for x in found.off_quadrant]
        if len(first) != n or len(off) != n or not all(0 <= i < m for i in first):
            raise ValueError("another collection's assignment")
        return dataclasses.replace(found, first=first, off_quadrant=off)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, orjson.JSONDecodeError):
        path.unlink(missing_ok=True)
        return None


def exact_nearest_ids(points: np.ndarray, point: Point, k: int) -> list[int]:
    dv, da = points[:, 0] - float(point[0]), points[:, 1] - float(point[1])
    d = dv * dv + da * da
    return [int(i) for i in np.lexsort((np.arange(len(points)), d))[:k]]
