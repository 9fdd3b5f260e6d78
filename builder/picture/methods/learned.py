"""The learned reading (`--method learned`, the default): two ImageNet classifiers, the detector and
colour statistics give a picture's ingredients; the fitted model (builder.picture.feeling) turns
them into valence and arousal; music is matched to the whole collection at once (through the
Context's music index)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from builder import plane
from builder.picture.feeling import Ingredients
from builder.picture.methods.base import Method
from builder.records import Contribution, ImageRecord, Matching, Seen

if TYPE_CHECKING:
    from builder.picture.reading import Context, Reading
    from builder.settings import Settings

# what the cached ingredients hold (EfficientNet-Lite2, one view, run from its ONNX file in the
# builder's runtime: its features differ from torch's in the third decimal): part of the cache key
INGREDIENTS = "lite2x1-onnx"


class Learned(Method):
    def cache_key(self, s: Settings) -> str:
        return f"-{INGREDIENTS}"  # the ingredients, not the fit: a new model file reuses the cache

    def check_cached(self, ctx: Context, ingredients: Ingredients | None) -> None:
        # both classifiers' readings, whichever the model file uses, so that `builder fit` can
        # choose
        if (
            ingredients is None
            or ingredients.probs.shape != (len(ctx.feeling.tables["label_va"]),)
            or ingredients.pooled.shape != (1280,)
            or ingredients.lite_pooled is None
            or ingredients.lite_pooled.shape != (1280,)
            or ingredients.lite_probs is None
            or ingredients.lite_probs.shape != (1000,)
        ):
            raise ValueError(
                "the learned method's ingredients are missing or of another model's shape"
            )

    def prepare(self, ctx: Context) -> None:
        _ = ctx.feeling

    def load(self, ctx: Context) -> None:
        """The detector and both classifiers (the mapper, faces and colour models are not this
        method's); and, as the pictures are to be analysed, the solver of the collection's music
        (`finish`), whose import then overlaps the start of the build instead of adding to its end.
        """
        _ = ctx.detector, ctx.scene, ctx.lite
        ctx.index.load_solver()

    def scene(self, ctx: Context, r: Reading) -> None:
        """Both classifiers' probabilities and pooled features, with the detections and colour
        statistics."""
        assert (
            r.rgb is not None and r.colour is not None
        )  # recognisers run on decoded pictures only
        probs, pooled = ctx.scene.run(r.rgb)
        # and of the mirror image: averaging the two views steadies the reading (see README)
        probs_m, pooled_m = ctx.scene.run(np.ascontiguousarray(r.rgb[:, ::-1]))
        probs, pooled = (probs + probs_m) / 2, (pooled + pooled_m) / 2
        lite_probs, lite_pooled = ctx.lite.run(r.rgb)
        r.ingredients = Ingredients.make(
            pooled,
            probs,
            r.colour,
            [(d.label, d.box) for d in r.detections],
            lite_pooled,
            lite_probs,
        )
        top = np.argsort(-probs)[:3]
        r.scene = [{"label": ctx.scene.labels[i], "score": round(float(probs[i]), 4)} for i in top]

    def record(
        self, ctx: Context, r: Reading, means: tuple[float, ...], user: dict[str, int]
    ) -> ImageRecord:
        """The reading in the frame its quadrant is read in (relative to the reference), and the
        point where its music is looked for (the music index's `target`). Tracks are chosen in
        `finish`, for the collection."""
        model = ctx.feeling
        ing = r.ingredients
        assert ing is not None, "the scene stage (or the cache) gives every reading its ingredients"
        av = model.relative(model.predict([ing])[0])
        # the curator's quadrant (--curation or --quadrants) is kept, whatever --narrow says
        if r.file in user:
            chosen, rule = user[r.file], "user"
        else:
            chosen, rule = plane.quadrant(av), "reading"
        target = av if model.calibration is None else ctx.index.target(av, model.calibration)
        if plane.quadrant(target) != chosen:  # a quadrant given by the user: its music's middle
            target = ctx.index.quadrant_middle(chosen)
        target = (round(target[0], 4), round(target[1], 4))
        contributions = tuple(
            Contribution(g, round(v, 4), round(a, 4)) for g, v, a in model.contributions(ing)
        )
        probs = model.label_probs(ing)  # what the word ratings read: both classifiers' labels
        top = [
            int(i) for i in np.argsort(-probs, kind="stable")[:6] if i != 0 and probs[i] >= 0.01
        ][:5]
        seen = tuple(Seen(ctx.imagenet_labels[i], round(float(probs[i]), 4)) for i in top)
        return ImageRecord(
            file=r.file,
            av=av,
            quadrant=chosen,
            impressions=(),
            clusters=(),
            tracks=(),
            objects=tuple(r.objects),
            width=r.width,
            height=r.height,
            quadrant_rule=rule,
            target=target,
            contributions=contributions,
            seen=seen,
        )

    def finish(
        self, ctx: Context, records: list[ImageRecord], per_picture: int = 3
    ) -> tuple[list[ImageRecord], Matching | None]:
        """First tracks for the whole collection at once (the music index's `assign`: each in its
        picture's quadrant where the catalogue has a track there, repeats traded against distance),
        then the next nearest ones. A picture the curator pinned a track to (ctx.pins) has it first
        and is not solved for; its pin counts as a use of that track, so no other picture takes it
        first where the quadrant offers another."""
        from dataclasses import replace

        if not records:
            return records, None
        tracks = ctx.catalogue.tracks
        pinned = [ctx.pins.get(im.file) for im in records]
        solved = [im for im, p in zip(records, pinned) if p is None]
        used = np.bincount(
            np.array([p for p in pinned if p is not None], dtype=int), minlength=len(tracks)
        )
        targets = np.array([im.target for im in solved], dtype=np.float64).reshape(-1, 2)
        result = ctx.index.assign(
            targets,
            quadrants=[im.quadrant for im in solved],
            repeats=ctx.settings.repeats,
            used=used,
        )
        chosen = iter(zip(result.first, result.off_quadrant))
        points = ctx.index.points  # the catalogue's tracks, in its order
        where = plane.quadrants(points)
        out, firsts = [], []
        for im, pin in zip(records, pinned):
            assert im.target is not None  # record() gives every picture its target
            # the curator's pin is no note that the music left the picture's quadrant
            first, off = (pin, False) if pin is not None else next(chosen)
            firsts.append(first)
            rest = [i for i in ctx.index.nearest_ids(im.target, per_picture + 1) if i != first][
                : per_picture - 1
            ]
            out.append(
                replace(
                    im,
                    tracks=(tracks[first], *(tracks[i] for i in rest)),
                    off_quadrant=off,
                    reason=_reason(im, first, pin is not None, off, points, where),
                )
            )
        # pictures, distinct_first and capacity count the pinned pictures too; the distances and the
        # quadrant counts are of the pictures solved for (pictures - in_quadrant - off_quadrant were
        # pinned)
        return out, Matching(
            len(records),
            len(set(firsts)),
            round(result.total, 4),
            round(result.nearest_total, 4),
            result.capacity,
            repeats=result.cap,
            repeat_penalty=round(result.penalty, 4),
            bound=result.bound,
            in_quadrant=result.kept,
            off_quadrant=sum(result.off_quadrant),
            quadrant_tracks=(
                int((where == 1).sum()),
                int((where == 2).sum()),
                int((where == 3).sum()),
                int((where == 4).sum()),
            ),
        )

    def reference(self, ctx: Context) -> tuple[float, float] | None:
        v, a = (round(float(x), 4) for x in ctx.feeling.reference)
        return v, a


def _reason(
    im: ImageRecord, first: int, pinned: bool, off: bool, points: np.ndarray, where: np.ndarray
) -> str:
    """Why the picture's first track is this one (ImageRecord.reason): the curator's pin, no track
    in its quadrant, or whether it is the closest track of its quadrant to the target (ties count as
    closest)."""
    if pinned:
        return "pinned"
    if off:
        return "off_quadrant"
    assert im.target is not None
    own = points[where == im.quadrant]
    if not len(own):  # not expected: a picture whose quadrant has no track is off_quadrant
        return "off_quadrant"
    best = float(np.linalg.norm(own - np.asarray(im.target), axis=1).min())
    mine = float(np.linalg.norm(points[first] - np.asarray(im.target)))
    return "nearest" if mine <= best + 1e-9 else "close"
