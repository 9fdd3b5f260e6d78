"""The pipeline asks, the method answers: every --method is an object of builder.picture.methods,
and a new one plugs in without a change to the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.picture import methods
from builder.records import ImageRecord
from builder.settings import METHODS, Settings

from .conftest import MIRROR, photo, requires_mirror


def test_every_method_name_is_a_method_and_nothing_else_is():
    for name in METHODS:
        m = methods.get(name)
        assert isinstance(m, methods.Method) and m.name == name
    with pytest.raises(KeyError):
        methods.get("learnt")


def test_the_cache_key_holds_what_the_method_reads(tmp_path):
    from builder.pipeline.stages import analysis_path

    def path(**kw) -> Path:
        return analysis_path(Settings(input=tmp_path, cache_dir=tmp_path, **kw), "ab" * 32)

    # the captioner and colour space change a caption's analysis, not an object method's
    assert path(method="caption", captioner="template") != path(method="caption", captioner="blip")
    assert path(method="caption", colour_space="lab") != path(method="caption", colour_space="rgb")
    assert path(method="objects", captioner="template") == path(method="objects", captioner="blip")
    # every method keeps its own analyses
    assert len({path(method=m) for m in METHODS}) == len(METHODS)


class Brightness(methods.Method):
    """A method the pipeline has never heard of: a picture is as pleasant as it is bright."""

    def __init__(self):
        super().__init__(
            "random"
        )  # any valid name: Settings checks it; the answers are this object's
        self.asked: list[tuple[str, str]] = []

    def _ask(self, stage, r):
        self.asked.append((stage, r.file))

    def detect(self, ctx, r):
        self._ask("detect", r)

    def faces(self, ctx, r):
        self._ask("faces", r)

    def colours(self, ctx, r):
        self._ask("colours", r)

    def caption(self, ctx, r):
        self._ask("caption", r)

    def scene(self, ctx, r):
        self._ask("scene", r)
        r.scene = [{"label": "brightness", "score": round(float(r.rgb.mean() / 255), 4)}]

    def impressions(self, ctx, r):
        self._ask("impressions", r)
        super().impressions(ctx, r)

    def record(self, ctx, r, means, user):
        self._ask("record", r)
        av = (round(2 * r.scene[0]["score"] - 1, 4), 0.1)
        return ImageRecord(
            file=r.file,
            av=av,
            quadrant=1 if av[0] >= 0 else 2,
            impressions=(),
            clusters=(),
            tracks=tuple(ctx.index.nearest(av, 1)),
            objects=tuple(r.objects),
            width=r.width,
            height=r.height,
            quadrant_rule="brightness",
        )

    def finish(self, ctx, records):
        self.asked.append(("finish", str(len(records))))
        return records, None

    def label(self, s):
        return "brightness"


@requires_mirror
def test_a_new_method_plugs_in_without_touching_the_pipeline(tmp_path):
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import MODEL_STAGES

    pics = tmp_path / "pics"
    pics.mkdir()
    for i, level in enumerate((40, 120, 200)):
        img = np.asarray(photo(seed=i)).astype(int)
        img = np.clip(img - img.mean() + level, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(pics / f"p{i}.png")
    s = Settings(
        input=pics,
        out=tmp_path / "site",
        mirror=MIRROR,
        cache_dir=tmp_path / "c",
        offline=True,
        method="random",
        workers=1,
    )
    fresh = Brightness()
    g = analyse(Context(s, method=fresh))
    assert g.method == "brightness" and [im.quadrant_rule for im in g.images] == ["brightness"] * 3
    valence = [im.av[0] for im in sorted(g.images, key=lambda im: im.file)]
    assert (
        valence == sorted(valence) and valence[0] < 0 < valence[-1]
    )  # darker pictures read less pleasant
    for f in ("p0.png", "p1.png", "p2.png"):  # each stage asked in the pipeline's order, once
        assert [st for st, file in fresh.asked if file == f] == [
            *MODEL_STAGES,
            "impressions",
            "record",
        ]
    assert fresh.asked[-1] == ("finish", "3")

    cached = Brightness()  # the same pictures again: the recognisers are not asked, the rest is
    again = analyse(Context(s, method=cached))
    assert {st for st, _ in cached.asked} == {"impressions", "record", "finish"}
    assert [im.av for im in again.images] == [im.av for im in g.images]
