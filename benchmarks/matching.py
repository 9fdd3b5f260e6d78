"""Music for a whole collection: how wide and how faithful the first tracks are, and how varied.

    python benchmarks/matching.py [--images ../shared/eval/emotion6/images] [--n 518] \
        [--no-allow-silent]
        [--small-seed 0]
    python benchmarks/matching.py --speed    # only the assignment: 10,000 targets on 10 tracks

Reads every picture of the folder with the learned method (as `builder build` does; the analyses are
cached in --cache-dir), assigns the music, and prints, against the whole catalogue (DEAM, 1802
tracks, with --allow-silent): the spread (standard deviation) of the first tracks per axis as a
share of the catalogue's, the Spearman rank correlation of the first tracks with the pictures'
readings per axis, how many different first tracks there are, the summed distance of the first
tracks to their targets against each picture's own nearest track, and whether every picture's `av`
agrees in sign with its quadrant. Then the assignment itself, on that catalogue and on a seeded
random sample of it as large as the collection (the targets mapped onto the sample as a build would
map them): how many first tracks lie in their picture's quadrant, how many pictures share a track,
the fitted repeat penalty, the summed distance against the nearest-track total, the same for the
fewest repeats the quadrants allow (the most variety), and the seconds each assignment took. Writes
nothing but the cache."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import cache_option, mirror_option

from builder import plane
from builder.music import matching
from builder.pipeline.context import Context
from builder.pipeline.run import analyse
from builder.settings import Settings

HERE = Path(__file__).resolve().parent.parent


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=Path, default=HERE.parent / "shared/eval/emotion6/images")
    mirror_option(ap)
    cache_option(ap)
    ap.add_argument(
        "--n", type=int, default=0, help="a seeded random sample of n pictures (0 = all)"
    )
    ap.add_argument(
        "--allow-silent",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the whole catalogue (default), or only tracks with audio",
    )
    ap.add_argument(
        "--small-seed", type=int, default=0, help="seed of the sample as large as the collection"
    )
    ap.add_argument(
        "--speed", action="store_true", help="time the assignment of 10,000 targets on 10 tracks"
    )
    args = ap.parse_args()
    if args.speed:
        return speed()
    from builder.images import list_images

    files = list_images(args.images)
    if args.n:
        files = sorted(
            np.random.default_rng(0).choice(files, min(args.n, len(files)), replace=False).tolist()
        )
    settings = Settings(
        input=args.images,
        out=Path("/nonexistent-out"),
        mirror=args.mirror.resolve(),
        cache_dir=args.cache_dir,
        offline=True,
        allow_silent=args.allow_silent,
    )
    ctx = Context(settings)
    g = analyse(ctx, files=files)
    cat = np.array([(t.valence, t.arousal) for t in ctx.catalogue.tracks])
    av = np.array([im.av for im in g.images])
    first = np.array([(im.tracks[0].valence, im.tracks[0].arousal) for im in g.images])
    m = g.matching
    print(
        f"{len(g.images)} pictures of {args.images} ({len(g.failed)} failed); catalogue "
        f"{g.catalogue.name}, {g.catalogue.size} tracks"
    )
    for k, axis in enumerate(("valence", "arousal")):
        print(
            f"{axis:8s} sd: pictures' readings {av[:, k].std():.3f}, first tracks "
            f"{first[:, k].std():.3f}, catalogue {cat[:, k].std():.3f} -> first tracks / catalogue "
            f"{first[:, k].std() / cat[:, k].std():.2f}; Spearman(readings, first tracks) "
            f"{spearman(av[:, k], first[:, k]):.3f}"
        )
    print(
        f"distinct first tracks: {m.distinct_first} of {m.pictures} pictures (each track at most "
        f"{m.capacity}x)"
    )
    print(
        f"summed distance to targets: assigned {m.total:.3f}, each picture's nearest "
        f"{m.nearest_total:.3f} ({(m.total / m.nearest_total - 1) * 100:+.1f} %)"
    )
    shares = [np.mean([im.quadrant == q for im in g.images]) for q in (1, 2, 3, 4)]
    cat_shares = [np.mean([plane.quadrant(tuple(t)) == q for t in cat]) for q in (1, 2, 3, 4)]
    print(
        "quadrant shares q1-q4: pictures "
        + " ".join(f"{100 * x:.0f}%" for x in shares)
        + ", catalogue "
        + " ".join(f"{100 * x:.0f}%" for x in cat_shares)
        + f"; valence-arousal correlation: pictures "
        f"{np.corrcoef(av.T)[0, 1]:+.2f}, catalogue {np.corrcoef(cat.T)[0, 1]:+.2f}"
    )
    agree = sum(plane.quadrant(im.av) == im.quadrant for im in g.images)
    target_agree = sum(plane.quadrant(im.target) == im.quadrant for im in g.images)
    print(
        f"quadrant agrees with the signs of av: {agree} of {len(g.images)}; with the target's: "
        f"{target_agree}"
    )
    quads = [im.quadrant for im in g.images]
    targets = np.array([im.target for im in g.images])
    report(f"whole catalogue ({len(cat)} tracks)", targets, cat, quads)
    rng = np.random.default_rng(args.small_seed)
    small = cat[np.sort(rng.choice(len(cat), min(len(cat), len(g.images)), replace=False))]
    table = matching.calibration_table(small)
    model = ctx.feeling
    small_targets = []
    for im in g.images:  # as learned.record maps a reading onto a catalogue
        t = matching.calibrate(im.av, model.calibration, table)
        small_targets.append(
            t if plane.quadrant(t) == im.quadrant else matching.quadrant_middle(im.quadrant, table)
        )
    report(
        f"a sample as large as the collection ({len(small)} tracks)",
        np.array(small_targets),
        small,
        quads,
    )


def speed() -> None:
    """10,000 pictures spread over the plane on 10 tracks (2-3 per quadrant): about 1000 uses per
    track."""
    rng = np.random.default_rng(0)
    targets = rng.normal(0, 0.4, (10_000, 2)).clip(-1, 1)
    tracks = np.array([[0.3, 0.4], [0.7, 0.2], [0.5, 0.8], [-0.3, 0.5], [-0.6, 0.2], [-0.4, -0.3]])
    tracks = np.r_[tracks, [[-0.2, -0.7], [-0.8, -0.5], [0.5, -0.5], [0.2, -0.2]]]
    matching.assign(targets[:50], tracks)  # imports and first calls out of the timing
    report(
        "10,000 pictures on 10 tracks", targets, tracks, [plane.quadrant(tuple(t)) for t in targets]
    )


def report(name: str, targets: np.ndarray, tracks: np.ndarray, quads: list[int]) -> None:
    t0 = time.perf_counter()
    a = matching.assign(targets, tracks, quadrants=quads)
    took = time.perf_counter() - t0
    fewest = matching.assign(targets, tracks, quadrants=quads, penalty=matching.MAX_PENALTY)
    print(f"{name}:")
    for label, x in (("fitted penalty", a), ("fewest repeats", fewest)):
        print(
            f"  {label:14s} first tracks in the picture's quadrant {x.kept} of {len(quads)} "
            f"({sum(x.off_quadrant)} pictures whose quadrant has no track); "
            f"{len(quads) - len(set(x.first))} pictures share a track (a track at most "
            f"{x.capacity}x); penalty {x.penalty:.4f}; summed distance {x.total:.2f} against the "
            f"nearest-track total {x.nearest_total:.2f} "
            f"({(x.total / x.nearest_total - 1) * 100:+.1f} %)"
        )
    print(f"  the fitted assignment took {took:.2f} s")


if __name__ == "__main__":
    main()
