"""An exhibition's study made in code: a study design, visitors simulated with a known effect, the
figures computed plainly from the lines (the independent computation the report is held to), and the
demo gallery given a study object (the build's own option comes with the study page)."""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path
from statistics import mean

import orjson

from builder.lab.study import Design

GID = "g-0123456789abcdef"
CONDITIONS = ("gallery", "objects", "random")
QUADRANT_POINTS = {1: (0.5, 0.5), 2: (-0.5, 0.5), 3: (-0.5, -0.5), 4: (0.5, -0.5)}
SHIFTS = {"objects": 0.3, "random": 0.0}  # scores: random around 2.5, objects 0.3 higher
SPREAD = 0.8  # the spread of one visitor's score around its condition's


def design(n: int = 20, fail_objects: int = 2) -> Design:
    """n pictures; the gallery reads each picture's true quadrant, the object method every other one
    right; the object method could not recommend for the first fail_objects pictures."""
    pictures = {}
    for i in range(n):
        q = i % 4 + 1
        pictures[f"p{i:02d}.jpg"] = {
            "gallery": {"track": f"t{i}", "quadrant": q},
            "objects": {
                "track": None if i < fail_objects else f"o{i}",
                "quadrant": q if i % 2 == 0 else q % 4 + 1,
            },
            "random": {"track": f"r{i}", "quadrant": None},
        }
    return Design.from_json({"gallery": GID, "conditions": list(CONDITIONS), "pictures": pictures})


def simulate(
    d: Design, visitors: int = 40, effect: float = 1.0, seed: int = 1, per_visitor: int = 10
) -> list[dict]:
    """Each visitor judges per_visitor pictures: a point near the centre of the quadrant the gallery
    reads (another quadrant one time in five), and scores: random around 2.5, objects 0.3 higher,
    the gallery `effect` higher, rounded to 1-5."""
    rng = random.Random(seed)
    lines = []
    files = sorted(d.pictures)
    for v in range(visitors):
        visitor = f"v{v:03d}"
        for k, p in enumerate(rng.sample(files, min(per_visitor, len(files)))):
            q = d.pictures[p]["gallery"].quadrant
            if rng.random() < 0.2:
                q = rng.choice([x for x in (1, 2, 3, 4) if x != q])
            x, y = QUADRANT_POINTS[q]
            at = f"2026-12-0{1 + v % 9}T10:{k:02d}:00Z"
            base = {"gallery": d.gallery, "visitor": visitor, "picture": p, "at": at}
            lines.append(
                {
                    **base,
                    "kind": "place",
                    "valence": round(x + rng.uniform(-0.4, 0.4), 2),
                    "arousal": round(y + rng.uniform(-0.4, 0.4), 2),
                }
            )
            for c, shift in (("gallery", effect), *SHIFTS.items()):
                pick = d.pictures[p][c]
                if pick.track is None:
                    lines.append({**base, "kind": "fail", "condition": c})
                    continue
                score = min(5, max(1, round(2.5 + shift + rng.gauss(0, SPREAD))))
                lines.append(
                    {**base, "kind": "rate", "condition": c, "track": pick.track, "score": score}
                )
    return lines


def expected_score(shift: float) -> float:
    """The mean score simulate gives a condition `shift` above 2.5: its true value, rounding and the
    ends of the scale included."""

    def below(x: float) -> float:  # P(2.5 + shift + N(0, SPREAD) < x)
        return 0.5 * (1 + math.erf((x - 2.5 - shift) / (SPREAD * math.sqrt(2))))

    edges = [-math.inf, 1.5, 2.5, 3.5, 4.5, math.inf]
    return sum(k * (below(edges[k]) - below(edges[k - 1])) for k in range(1, 6))


def write(path: Path, lines: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def quadrant_of(v: float, a: float) -> int:
    return (1 if v >= 0 else 2) if a >= 0 else (4 if v >= 0 else 3)


def independent(d: Design, lines: list[dict]) -> dict:
    """The figures computed plainly, from the lines as they are (no duplicates, one judgement
    each)."""
    scores: dict[tuple[str, str], list[int]] = {}
    people: list[int] = []
    read: dict[str, list[int]] = {"gallery": [], "objects": []}
    for x in lines:
        if x["kind"] == "rate":
            scores.setdefault((x["picture"], x["condition"]), []).append(x["score"])
        elif x["kind"] == "place":
            people.append(quadrant_of(x["valence"], x["arousal"]))
            for c in read:
                read[c].append(d.pictures[x["picture"]][c].quadrant)
    per = {c: {p: mean(s) for (p, cc), s in scores.items() if cc == c} for c in CONDITIONS}
    recall = {
        c: {
            q: mean(r == q for t, r in zip(people, read[c]) if t == q)
            for q in (1, 2, 3, 4)
            if q in people
        }
        for c in read
    }
    out = {
        "mean": {c: mean(per[c].values()) for c in CONDITIONS},
        "fits": {c: mean(m >= 4 for m in per[c].values()) for c in CONDITIONS},
        "overall": {c: mean(t == r for t, r in zip(people, read[c])) for c in read},
        "recall": recall,
        "balanced": {c: mean(recall[c].values()) for c in read},
        "visitors": {q: people.count(q) / len(people) for q in (1, 2, 3, 4)},
        "reads": {c: {q: read[c].count(q) / len(people) for q in (1, 2, 3, 4)} for c in read},
    }
    for b in ("random", "objects"):
        both = [p for p in per["gallery"] if p in per[b]]
        out[f"gallery-{b}"] = mean(per["gallery"][p] - per[b][p] for p in both)
    return out


def demo_design(gallery_json: dict, gid: str = GID) -> dict:
    """A study object for a built gallery, as `builder build --study` writes it in gallery.json: the
    gallery's own first track and quadrant; an object method that reads every other picture in the
    next quadrant and could not recommend for the first; a random track that reads no quadrant."""
    pictures = {}
    tracks = [im["tracks"][0]["id"] for im in gallery_json["images"] if im["tracks"]]
    for i, im in enumerate(gallery_json["images"]):
        q = im["quadrant"]
        pictures[im["file"]] = {
            "gallery": {"track": im["tracks"][0]["id"], "quadrant": q},
            "objects": {
                "track": None if i == 0 else tracks[(i + 1) % len(tracks)],
                "quadrant": q if i % 2 == 0 else q % 4 + 1,
            },
            "random": {"track": tracks[(i + 3) % len(tracks)], "quadrant": None},
        }
    # every track a condition picks, once, as the build lists them (the gallery's own tracks)
    by_id = {t["id"]: t for im in gallery_json["images"] for t in im["tracks"]}
    picked = sorted({p["track"] for picks in pictures.values() for p in picks.values()} - {None})
    study = {"gallery": gid, "conditions": list(CONDITIONS), "pictures": pictures}
    return {**study, "tracks": [by_id[t] for t in picked]}


def gallery_with_study(built: Path, into: Path, gid: str = GID) -> Path:
    """A copy of a built gallery whose gallery.json holds a study (the built one is left alone)."""
    shutil.copytree(built, into, symlinks=True)
    path = into / "gallery.json"
    data = orjson.loads(path.read_bytes())
    data["study"] = demo_design(data, gid)
    path.write_bytes(orjson.dumps(data))
    return into
