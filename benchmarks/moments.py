"""The right moment of each song: how much closer the excerpt a picture hears is to where its music
was looked for (its target), now that a track plays from its moment nearest the target
(builder.music.moments) instead of from its first loud moment.

    python benchmarks/moments.py                     # oasis-dev's out-of-fold targets
    python benchmarks/moments.py --with-set ../shared/eval/emotion6:1-9:5:valence \\
        --with-set ../shared/eval/gaped-dev:0-100:50:valence   # folds trained as the model was
    python benchmarks/moments.py --images images/    # the demo, read as a build reads it
    python benchmarks/moments.py --images images/ --catalogue mirrored   # its 10 playable clips

The feeling of an excerpt is what DEAM's editors annotated in it: their ratings through time (the
2013 songs, twice a second from 15 s to 45 s of each clip), averaged over the 12 s window. The
catalogue is DEAM's songs that were rated through time (744; `--catalogue mirrored`: the ten of them
whose clips the mirror holds, as the quick-start gallery), at their corrected static points, as a
build places them. The targets:

- `--rated FOLDER:LO-HI:MID` (default oasis-dev): the learned method's out-of-fold readings of the
  rated photos (5 folds by theme; `--with-set` puts other rated sets in every fold's training, as
  `builder evaluate --with-set` does), mapped onto the catalogue and assigned their first tracks as
  `builder evaluate` maps and assigns them (builder.lab.evaluate.out_of_fold_targets);
- `--images DIR`: the shipped model's readings of a folder, as `builder build` reads it (the
  pipeline, with the catalogue as a --catalogue CSV): pictures it was not fitted on.

For each picture and its first track it prints the distance from the target to: the chosen moment
(the window nearest the target); the first loud moment's window (builder.music.excerpt's start,
where the track stops being quiet: the ratings begin at 15 s, so a loud start before 15 s, which
every mirrored clip has (0 s), is read from the first rated window, 15-27 s, the rated music
nearest it; a track without audio in the mirror is taken to be loud from its start as they are);
the mean of all the track's rated windows; and the track's static point (what the assignment
uses). Means over the pictures with 95 % intervals (themes, or pictures, resampled with
replacement), and the paired gain of the chosen moment over the first loud moment's window.
Writes nothing but the cache (and a temporary catalogue).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import cache_option, mirror_option

from builder.assets import AssetStore
from builder.lab.metrics import resample_groups, span
from builder.music import moments as mo
from builder.music.catalogue import Catalogue, load_deam

HERE = Path(__file__).resolve().parent.parent


def catalogue_of(store: AssetStore, which: str) -> Catalogue:
    """DEAM's songs rated through time (which: "rated"), or those of them with audio
    ("mirrored")."""
    deam = load_deam(store)
    kept = tuple(t for t in deam.tracks if t.id in deam.moments and (which == "rated" or t.audio))
    return Catalogue(f"DEAM rated through time ({which})", kept, deam.moments)


def loud_starts(cat: Catalogue, cache_dir: Path) -> dict[str, float]:
    """Where each track with audio stops being quiet (the start a build gave it before)."""
    from builder.music.excerpt import cached_loud_start

    return {t.id: cached_loud_start(Path(t.audio), cache_dir) for t in cat.tracks if t.audio}


def frame_figures(store: AssetStore) -> None:
    """How the songs' moments, averaged, lie against their static points: the same frame, and the
    2013 correction (the static file's columns swapped back) is what makes them agree."""
    from builder.music.catalogue import deam_scale, load_deam_annotations

    found = mo.deam_moments(store)
    ids = sorted(found, key=int)
    mean = np.array([np.mean([(m.valence, m.arousal) for m in found[i]], axis=0) for i in ids])
    paths = (store.resolve("deam-static-1-2000"), store.resolve("deam-static-2000-2058"))
    said = []
    for swap in (True, False):
        static = load_deam_annotations(*paths, swap_2013=swap)
        point = np.array([[deam_scale(x) for x in static[i]] for i in ids])
        r = [np.corrcoef(mean[:, k], point[:, k])[0, 1] for k in (0, 1)]
        said.append(f"r {r[0]:.3f} / {r[1]:.3f}" + ("" if swap else " without the 2013 swap"))
        if swap:
            sd = f"sd across songs: moments' means {mean[:, 0].std():.3f} / {mean[:, 1].std():.3f}"
            sd += f", static points {point[:, 0].std():.3f} / {point[:, 1].std():.3f}"
            gap = np.abs(mean - point).mean(axis=0)
    print(
        f"{len(ids)} songs rated through time, their moments' mean against their static point "
        f"(valence / arousal): {said[0]} ({said[1]}); {sd}; mean |difference| "
        f"{gap[0]:.3f} / {gap[1]:.3f}"
    )


def first_loud_window(moments: tuple[mo.Moment, ...], loud: float) -> mo.Moment:
    """The rated window the first loud moment plays: the first that begins at or after it."""
    return next((m for m in moments if m.start >= loud - 1e-9), moments[-1])


def rated_targets(args, store: AssetStore, cat: Catalogue):
    """(targets, first track ids, fold groups) from the learned method's out-of-fold readings."""
    from builder.lab.evaluate import out_of_fold_targets, trains_arousal
    from builder.lab.fitting import cross_validate, theme_groups
    from builder.lab.ratings import read_rated, read_rated_set
    from builder.music.index import MusicIndex
    from builder.pipeline.context import Context
    from builder.settings import Settings

    def context_for(folder: Path) -> Context:
        settings = Settings(
            input=folder,
            out=Path("/nonexistent-out"),
            mirror=args.mirror.resolve(),
            cache_dir=args.cache_dir,
            offline=True,
            allow_silent=True,
        )
        return Context(settings, store)

    rated = read_rated_set(args.rated)
    ctx = context_for(rated.images)
    model = ctx.feeling
    readings = read_rated(ctx, rated.ratings.images)
    others = [
        (
            [r.ingredients for r in read_rated(context_for(s.images), s.ratings.images)],
            s.ratings.va,
            s.arousal,
            theme_groups(s.ratings.themes),
        )
        for s in (read_rated_set(text) for text in args.with_set)
    ]
    groups = theme_groups(rated.ratings.themes)
    lines: dict = {}
    pred, quads = cross_validate(
        [r.ingredients for r in readings],
        rated.ratings.va,
        groups,
        model.tables,
        spec=model.spec,
        rule=model.meta.get("origin_rule", "mean rating"),
        others=others,
        arousal=trains_arousal(model.meta, rated.ratings),
        decide_on=model.meta.get("origin_decided_on", "arousal sets"),
        lines=lines,
    )
    index = MusicIndex(cat, args.cache_dir)
    targets = out_of_fold_targets(pred, quads, lines, index.table)
    first = index.assign(targets, quadrants=quads.tolist()).first
    ids = [cat.tracks[i].id for i in first]
    return targets, ids, groups, f"{len(targets)} out-of-fold readings of {rated.name}"


def build_targets(args, store: AssetStore, cat: Catalogue, folder: Path):
    """(targets, first track ids, groups, label) of a folder read as `builder build` reads it, with
    the catalogue as a --catalogue CSV holding DEAM's moments and the mirror's audio (the build's
    own starts of the tracks with audio are then checked against the moments chosen here)."""
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.settings import Settings

    path = folder / "catalogue.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "artist", "valence", "arousal", "audio", "moments"])
        for t in cat.tracks:
            audio = os.path.relpath(t.audio, folder) if t.audio else ""
            cell = mo.to_cell(cat.moments[t.id])
            w.writerow([t.id, t.title, t.artist, t.valence, t.arousal, audio, cell])
    settings = Settings(
        input=args.images,
        out=Path("/nonexistent-out"),
        mirror=args.mirror.resolve(),
        cache_dir=args.cache_dir,
        offline=True,
        catalogue=path,
        audio_root=store.optional("deam-audio"),
        allow_silent=args.catalogue == "rated",
    )
    g = analyse(Context(settings, store))
    if g.failed:
        print(f"{len(g.failed)} pictures failed, e.g. {g.failed[0].file}: {g.failed[0].reason}")
    images = [im for im in g.images if im.tracks]
    played = [im for im in images if im.tracks[0].audio]
    agree = sum(
        im.tracks[0].start == mo.nearest(cat.moments[im.tracks[0].id], im.target).start
        for im in played
    )
    if played:
        print(f"the build's own start is the chosen moment's for {agree} of {len(played)} pictures")
    targets = np.array([im.target for im in images], np.float64)
    ids = [im.tracks[0].id for im in images]
    groups = np.arange(len(ids)).astype(str)
    return targets, ids, groups, f"{len(ids)} pictures of {args.images}, read as a build reads them"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rated", default=str(HERE.parent / "shared/eval/oasis-dev") + ":1-7:4")
    ap.add_argument("--with-set", action="append", default=[], help="as builder evaluate's")
    ap.add_argument("--images", type=Path, help="a folder read as a build reads it instead")
    ap.add_argument("--catalogue", choices=("rated", "mirrored"), default="rated")
    mirror_option(ap)
    cache_option(ap)
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()

    store = AssetStore(args.cache_dir, args.mirror.resolve(), offline=True)
    frame_figures(store)
    cat = catalogue_of(store, args.catalogue)
    if not cat.tracks:
        sys.exit("no DEAM song rated through time was found in the mirror")
    loud = loud_starts(cat, args.cache_dir)
    if loud:
        print(
            f"the {len(loud)} clips with audio stop being quiet at "
            + ", ".join(f"{v:g}" for v in sorted(set(loud.values())))
            + " s (builder.music.excerpt)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        if args.images is None:
            targets, ids, groups, label = rated_targets(args, store, cat)
        else:
            targets, ids, groups, label = build_targets(args, store, cat, Path(tmp))
    print(f"{label}; catalogue: {cat.name}, {len(cat.tracks)} tracks")

    rows = {"chosen moment": [], "first loud moment": [], "mean of the rated windows": []}
    rows["the track's static point"] = []
    points = {t.id: (t.valence, t.arousal) for t in cat.tracks}
    later, starts = 0, []
    for target, tid in zip(targets, ids):
        found = cat.moments[tid]
        chosen = mo.nearest(found, target)
        first = first_loud_window(found, max(loud.get(tid, 0.0), found[0].start))
        later += chosen.start > first.start
        starts.append(chosen.start)
        mean = np.mean([(m.valence, m.arousal) for m in found], axis=0)
        for name, p in (
            ("chosen moment", (chosen.valence, chosen.arousal)),
            ("first loud moment", (first.valence, first.arousal)),
            ("mean of the rated windows", mean),
            ("the track's static point", points[tid]),
        ):
            rows[name].append(float(np.hypot(*(np.asarray(p) - target))))
    d = {k: np.array(v) for k, v in rows.items()}
    before = [loud.get(t, 0.0) < cat.moments[t][0].start for t in ids]
    print(
        f"first tracks: {len(set(ids))} different; with audio in the mirror: "
        f"{sum(t in loud for t in ids)} pictures, whose first loud moment lies before the "
        f"ratings begin in {sum(b for b, t in zip(before, ids) if t in loud)}"
    )
    w = resample_groups(groups, args.draws, seed=0)

    def mean_span(x: np.ndarray) -> str:
        lo, hi = span((w @ x) / w.sum(axis=1))
        return f"{x.mean():.4f} ({lo:.4f}-{hi:.4f})"

    print(f"mean distance to the target (95 % interval, {args.draws} draws):")
    for name, x in d.items():
        print(f"  {name:28s} {mean_span(x)}")
    gain = d["first loud moment"] - d["chosen moment"]
    print(
        f"the chosen moment is closer than the first loud moment's window by {mean_span(gain)}, "
        f"{100 * gain.mean() / d['first loud moment'].mean():.1f} % of its distance; closer for "
        f"{int((gain > 1e-9).sum())} of {len(gain)} pictures, as close for the others"
    )
    print(
        f"chosen starts: median {np.median(starts):.1f} s (15-33 s possible); later than the first "
        f"loud moment's window for {later} of {len(starts)} pictures"
    )


if __name__ == "__main__":
    main()
