"""How well the builder reads a picture's feeling, against people's ratings (in the spirit of the
paper's Table 1): what `builder evaluate` runs.

People's quadrant of a photo comes from its mean ratings against the scale's midpoint (OASIS: 1-7,
midpoint 4). Per method: people's and the method's quadrant shares, per-quadrant agreement (recall),
overall agreement, balanced agreement (mean of the four recalls, so always answering the commonest
quadrant scores 25 %), Pearson r of `av` against the mean ratings, and the confusion matrix
(builder.lab.metrics); the tables are builder.lab.report's. A model fitted on the very photos it is
measured on is refitted out of fold (builder.lab.fitting.cross_validate), so no figure is in-sample.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder.errors import UsageError
from builder.lab.fitting import cross_validate, ratings_fingerprint, theme_groups
from builder.lab.metrics import baselines, metrics, music_baseline, music_metrics
from builder.lab.ratings import RatedSet, Ratings, read_rated
from builder.music.matching import calibration_table
from builder.plane import quadrant, quadrants

if TYPE_CHECKING:
    from builder.lab.study import Placed


def in_training(meta: dict, readings) -> tuple[int | None, str]:
    """(how many of these photos the model was fitted on, by content; None when the model does not
    say)."""
    listed = meta.get("photos_sha256")
    if not listed:
        return None, (
            "this model file does not list the photos it was fitted on; if any of these photos "
            "were among them the learned row is IN-SAMPLE and flatters the model (refit with "
            "`builder fit` to record them)"
        )
    known = set(listed.split(","))
    n = sum(1 for r in readings if r.sha256[:16] in known)
    return (
        n,
        f"{n} of these {len(readings)} photos were among the photos the model was fitted on "
        "(by content)",
    )


def out_of_fold_targets(
    pred: np.ndarray, quads: np.ndarray, lines: dict, catalogue_table: np.ndarray
) -> np.ndarray:
    """Where a build would look for music for each out-of-fold reading (learned.record): the reading
    relative to its fold's origin, mapped onto the catalogue by the calibration of the readings that
    fold's lines were drawn through (lines, as fitting.cross_validate fills it), and sent to the
    middle of the quadrant's music where the mapping leaves the picture's quadrant (quads: the
    cross-validated row's, so the music row and the picture row judge the same quadrants)."""
    from builder.music.matching import calibrate, quadrant_middle

    tables = {k: calibration_table(seen) for k, seen in lines["through"].items()}
    targets = np.zeros_like(pred)
    for i, k in enumerate(lines["fold"].tolist()):
        t = calibrate(tuple(pred[i] - lines["origin"][k]), tables[k], catalogue_table)
        targets[i] = (
            t if quadrant(t) == quads[i] else quadrant_middle(int(quads[i]), catalogue_table)
        )
    return targets


def evaluate(
    settings_for,
    ratings: Ratings,
    methods: list[str],
    progress=None,
    with_sets: list[RatedSet] = (),
    context_for=None,
    music_labels: dict[str, int] | None = None,
) -> tuple[dict[str, dict], dict]:
    """Run each method over the rated photos. settings_for(method) gives the Settings of that run.

    The learned method is cross-validated (5 folds grouped by theme) when the shipped model was
    fitted on these very photos, so no figure is in-sample; with_sets are then in every fold's
    training, as `builder fit --set` trains with them (context_for(images folder) gives the Context
    that reads a set's photos). Returns (results, notes).

    music_labels (track id -> labelled quadrant; the settings then name a --music folder): the
    pictures' first tracks are chosen as a build would choose them, from that folder read by
    listening, and results["music"] holds, per method, how often the first track's label agrees with
    people's quadrant of the picture. The learned method's tracks are assigned from its out-of-fold
    readings (out_of_fold_targets), with the build's assignment."""
    from builder.pipeline.context import Context, no_progress
    from builder.pipeline.run import analyse

    progress = progress or no_progress
    people = quadrants(ratings.va)
    groups = theme_groups(ratings.themes)
    results: dict[str, dict] = {}
    music: dict[str, dict] = {}
    notes: dict[str, str] = {}
    colour_va = None
    for method in methods:
        ctx = Context(settings_for(method))
        if music_labels is not None:
            ctx.listen(progress)  # with its own progress bar, before the pictures (as a build does)
        model = ctx.feeling if method == "learned" else None
        seen, seen_note = (
            (None, "")
            if model is None
            else in_training(model.meta, read_rated(ctx, ratings.images))
        )
        if model is not None and (
            ratings_fingerprint(ratings.images) in model.meta.get("fingerprint", "").split("+")
            or seen
        ):
            # a set's photos would be in every fold's training: figures in-sample
            for other in with_sets:
                if ratings_fingerprint(other.ratings.images) == ratings_fingerprint(ratings.images):
                    raise UsageError(
                        f"--with-set {other.name} is the set being measured; give the other sets "
                        "the model was fitted on"
                    )
            readings = read_rated(ctx, ratings.images, progress)
            others = training_sets(with_sets, context_for, progress)
            lines: dict = {}
            pred, quads = cross_validate(
                [r.ingredients for r in readings],
                ratings.va,
                groups,
                model.tables,
                spec=model.spec,
                rule=model.meta.get("origin_rule", "mean rating"),
                others=others,
                arousal=trains_arousal(model.meta, ratings),
                # a model that does not say drew its lines on the sets whose arousal trains
                decide_on=model.meta.get("origin_decided_on", "arousal sets"),
                lines=lines,
            )
            results["learned (5-fold CV by theme)"] = metrics(
                people, quads, pred, ratings.va, groups
            )
            if music_labels is not None:
                music.update(
                    learned_music(ctx, pred, quads, lines, ratings, groups, people, music_labels)
                )
            # the same estimates, quadrants chosen by other rules (README "Choosing the quadrant")
            under = {"variant_of": "learned (5-fold CV by theme)"}
            results["quadrant by scale midpoint"] = {
                **metrics(people, quadrants(pred), pred, ratings.va),
                **under,
            }
            results["quadrant by collection median"] = {
                **metrics(people, quadrants(pred - np.median(pred, axis=0)), pred, ratings.va),
                **under,
            }
            notes["learned"] = learned_note(model.meta, ratings, with_sets) + (
                f"; {seen_note}" if seen else ""
            )
            colour_va = np.array([r.colour_av for r in readings])
            continue
        if method == "learned" and with_sets:
            notes["learned"] = (
                "--with-set was not used: the model was not fitted on these photos, so it was "
                "measured as it is"
            )
        if method == "learned" and seen is None:
            notes["learned"] = (
                notes.get("learned", "") + "; " if "learned" in notes else ""
            ) + seen_note
        gallery = analyse(ctx, progress, files=ratings.images)
        by_file = {im.file: im for im in gallery.images}
        missing = [f for f in ratings.images if f not in by_file]
        if missing:
            raise UsageError(f"{method}: {len(missing)} rated photos failed, e.g. {missing[0]}")
        va = np.array([by_file[f].av for f in ratings.images])
        q = np.array([by_file[f].quadrant for f in ratings.images])
        label = {
            "objects": "objects (published)",
            "caption": "caption (published)",
            "random": "random tracks",
        }
        results[label.get(method, method)] = metrics(people, q, va, ratings.va, groups)
        if music_labels is not None:
            firsts = [by_file[f].tracks[0].id if by_file[f].tracks else "" for f in ratings.images]
            music[label.get(method, method)] = music_metrics(
                people, firsts, music_labels, ratings.va, groups
            )
        if method in ("objects", "caption"):  # the published vote against the simpler sign of av
            results[f"{method}, quadrant of av"] = {
                **metrics(people, quadrants(va), va, ratings.va),
                "variant_of": label.get(method, method),
            }
        if colour_va is None:
            readings = read_rated(ctx, ratings.images)  # all cached by now
            colour_va = np.array([r.colour_av for r in readings])
    results.update(baselines(ratings, colour_va))
    if music_labels is not None:
        ids = [t.id for t in ctx.catalogue.tracks]
        music["a catalogue track at random (expected)"] = music_baseline(people, ids, music_labels)
        results["music"] = music
    return results, notes


def training_sets(with_sets: list[RatedSet], context_for, progress) -> list[tuple]:
    """The other rated sets a model was fitted on, as fitting.cross_validate puts them in every
    fold's training: (ingredients, ratings, whether their arousal trains, fold groups)."""
    return [
        (
            [r.ingredients for r in read_rated(context_for(s.images), s.ratings.images, progress)],
            s.ratings.va,
            s.arousal,
            theme_groups(s.ratings.themes),
        )
        for s in with_sets
    ]


def evaluate_study(
    ctx,
    rated: RatedSet,
    where: Placed,
    with_sets: list[RatedSet] = (),
    context_for=None,
    progress=None,
) -> tuple[dict[str, dict], dict]:
    """How the learned model (ctx.feeling, the Context of the gallery's folder) reads an
    exhibition's visitors: each picture's display copy read as a build reads it, against the
    visitors' mean placed point (builder.lab.study.rated_set, `where`), with 95 % intervals from
    resampling visitors (study.placed_intervals), beside the baselines. A model fitted on these
    pictures is refitted out of fold (5 folds, each picture its own group, weighted as `builder
    fit` weighs them; with_sets in every fold's training, as with `builder evaluate --with-set`),
    so no figure is in-sample. Returns (results, notes)."""
    from builder.lab.study import placed_intervals
    from builder.pipeline.context import no_progress

    progress = progress or no_progress
    model = ctx.feeling
    readings = read_rated(ctx, rated.ratings.images, progress)
    ings = [r.ingredients for r in readings]
    seen, seen_note = in_training(model.meta, readings)
    notes: dict[str, str] = {}
    fingerprints = model.meta.get("fingerprint", "").split("+")
    if ratings_fingerprint(rated.ratings.images) in fingerprints or seen:
        pred, quads = cross_validate(
            ings,
            rated.ratings.va,
            np.array(rated.ratings.themes),
            model.tables,
            spec=model.spec,
            rule=model.meta.get("origin_rule", "mean rating"),
            others=training_sets(with_sets, context_for, progress),
            decide_on=model.meta.get("origin_decided_on", "arousal sets"),
            weights=rated.ratings.weights,
        )
        name = "learned (5-fold CV by picture)"
        notes["learned"] = learned_note(model.meta, rated.ratings, with_sets, "picture") + (
            f"; {seen_note}" if seen else ""
        )
    else:
        pred = model.predict(ings)
        # the quadrant a build gives the picture (methods.learned: relative, then its signs)
        quads = np.array([quadrant(model.relative(p)) for p in pred])
        name = "learned"
        if seen is None:
            notes["learned"] = seen_note
    row = metrics(quadrants(where.va), quads, pred, where.va)
    row["interval_95"] = placed_intervals(where, pred, quads)
    colour_va = np.array([r.colour_av for r in readings])
    return {name: row, **baselines(rated.ratings, colour_va)}, notes


def learned_music(
    ctx, pred, quads, lines: dict, ratings: Ratings, groups, people, labels: dict[str, int]
) -> dict[str, dict]:
    """The learned method's first tracks from its out-of-fold readings and the cross-validated row's
    quadrants (lines: where each fold's lines were drawn, fitting.cross_validate): assigned for the
    whole collection as a build assigns them, and, for comparison, each picture's nearest track in
    its quadrant (no variety)."""
    from builder.music.matching import assign

    targets = out_of_fold_targets(pred, quads, lines, ctx.index.table)
    ids = [t.id for t in ctx.catalogue.tracks]
    built = ctx.index.assign(targets, quadrants=quads.tolist(), repeats=ctx.settings.repeats)
    nearest = assign(targets, ctx.index.points, quadrants=quads.tolist(), penalty=0.0)
    return {
        "learned (5-fold CV by theme), as built": music_metrics(
            people, [ids[i] for i in built.first], labels, ratings.va, groups
        ),
        "each picture's nearest track in its quadrant": {
            **music_metrics(people, [ids[i] for i in nearest.first], labels, ratings.va, groups),
            "variant_of": "learned (5-fold CV by theme), as built",
        },
    }


def trains_arousal(meta: dict, ratings: Ratings) -> bool:
    """Whether the model was fitted on these photos' arousal ratings too (not a set given as
    :valence)."""
    names = dict(zip(meta.get("fingerprint", "").split("+"), meta.get("ratings", "").split("+")))
    name = names.get(ratings_fingerprint(ratings.images))
    return name is None or name in meta.get("arousal_from", meta.get("ratings", "")).split("+")


def learned_note(
    meta: dict, ratings: Ratings, with_sets: list[RatedSet], grouped_by: str = "theme"
) -> str:
    """What the learned row of a cross-validated evaluation measured, and what it left out."""
    added = (
        f" with {', '.join(s.name for s in with_sets)} in every fold's training"
        if with_sets
        else " alone"
    )
    note = (
        "the model was fitted on these photos, so a model of its kind was refitted on these "
        f"photos{added} in 5 folds grouped by {grouped_by}, and each photo was read by a model "
        f"that never saw its {grouped_by} (its quadrant lines drawn by the model's rule through "
        "the other folds' readings"
        + (", of every set read out of fold, as `builder fit` draws them)" if with_sets else ")")
    )
    if not trains_arousal(meta, ratings):
        note += "; as in the model, their arousal ratings did not train (valence only)"
    names = meta.get("ratings", "").split("+")
    scales = meta.get("scale", "").split("; ")
    arousal_from = set(meta.get("arousal_from", meta.get("ratings", "")).split("+"))
    used = {ratings_fingerprint(ratings.images)} | {
        ratings_fingerprint(s.ratings.images) for s in with_sets
    }
    missing = [
        f"{name} ({scale}{'' if name in arousal_from else ', valence only'})"
        for f, name, scale in zip(meta.get("fingerprint", "").split("+"), names, scales)
        if f not in used
    ]
    if missing:
        note += (
            f"; the model was also fitted on {', '.join(missing)}: add it with --with-set "
            "FOLDER:MIN-MAX:MIDPOINT[:valence] to measure the model as it was fitted"
        )
    return note


def temporary_out() -> Path:
    return Path(tempfile.mkdtemp(prefix="builder-evaluate-")) / "out"
