"""The published caption method (`--method caption`): a caption of the scene (template or BLIP),
enriched with each face's expression and each object's dominant colour, gives the impression words;
from there it is the object method's clusters and vote. `caption-plain` is the caption alone (no
faces, no colours)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from builder.picture.methods.base import object_records
from builder.picture.methods.objects import Objects
from builder.records import Caption as CaptionRecord
from builder.records import CaptionToken, Colour, Detection, FaceRecord, Impression, ObjectRecord

if TYPE_CHECKING:
    from builder.picture.reading import Context, Reading
    from builder.settings import Settings


def person_region(
    detections: list[Detection], margin: float = 0.05
) -> tuple[float, float, float, float] | None:
    """The box around every detected person, a little larger (a head can stick out); None without
    people."""
    people = [d.box for d in detections if d.label == "person"]
    if not people:
        return None
    return (
        max(0.0, min(b[0] for b in people) - margin),
        max(0.0, min(b[1] for b in people) - margin),
        min(1.0, max(b[2] for b in people) + margin),
        min(1.0, max(b[3] for b in people) + margin),
    )


class Caption(Objects):
    @property
    def enriched(self) -> bool:  # with faces' expressions and objects' colours
        return self.name == "caption"

    def cache_key(self, s: Settings) -> str:
        return f"-{s.captioner}-{s.colour_space}"

    def load(self, ctx: Context) -> None:
        super().load(ctx)
        _ = ctx.tagger, ctx.captioner if ctx.settings.captioner == "blip" else ctx.scene
        if self.enriched:
            _ = ctx.faces, ctx.segmenter, ctx.namer

    def faces(self, ctx: Context, r: Reading) -> None:
        """Faces are looked for where the detector saw people (the expression words go before person
        words)."""
        region = person_region(r.detections) if self.enriched else None
        if region is not None:
            r.faces = [
                FaceRecord(f.box, f.expression, f.confidence, f.probabilities)
                for f in ctx.faces.read(r.rgb, region)
            ]

    def colours(self, ctx: Context, r: Reading) -> None:
        if not self.enriched or not r.detections:
            return
        from builder.picture.colours import COCO_TO_VOC, dominant_colour, object_pixels

        seg = None
        if any(d.label in COCO_TO_VOC for d in r.detections) and not r.masks:
            seg = ctx.segmenter.segment(r.rgb)
        r.colours = []
        assert r.rgb is not None  # recognisers run on decoded pictures only
        for i, d in enumerate(r.detections):
            mask = r.masks[i] if r.masks and i < len(r.masks) else None
            px, how = object_pixels(
                r.rgb, d.label, d.box, seg, ctx.segmenter.labels if seg is not None else [], mask
            )
            rgb = dominant_colour(px, ctx.settings.colour_space)
            r.colours.append(Colour(ctx.namer.name(rgb).name, rgb, how))

    def caption(self, ctx: Context, r: Reading) -> None:
        if ctx.settings.captioner == "blip":
            r.caption_text, r.caption_source = ctx.captioner.caption(r.rgb), "blip"
            return
        from builder.picture.caption import template_caption

        r.scene = [{"label": lb.label, "score": lb.score} for lb in ctx.scene.top(r.rgb, 3)]
        scene = r.scene[0]["label"] if r.scene and r.scene[0]["score"] >= 0.2 else None
        r.caption_text, r.caption_source = (
            template_caption([d.label for d in r.detections], scene),
            "template",
        )

    def impressions(self, ctx: Context, r: Reading) -> None:
        from builder.picture.caption import content_words, enrich

        object_records(r)  # the words come from the caption, not from the objects' labels
        if self.enriched:
            faces = sorted(r.faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            largest: dict[
                str, ObjectRecord
            ] = {}  # one colour per label: that of its largest instance
            for o in sorted(
                r.objects, key=lambda o: -(o.box[2] - o.box[0]) * (o.box[3] - o.box[1])
            ):
                if o.colour and o.label not in largest:
                    largest[o.label] = o
            tokens = enrich(
                r.caption_text,
                [f.expression for f in faces],
                [(lb, o.colour.name) for lb, o in largest.items() if o.colour],
                ctx.mapper.similarity,
            )
        else:
            tokens = enrich(r.caption_text, [], [], ctx.mapper.similarity)
        enriched = " ".join(t.text for t in tokens)
        r.caption = CaptionRecord(
            r.caption_text,
            r.caption_source,
            enriched,
            tuple(CaptionToken(t.text, t.kind) for t in tokens),
        )
        top_words = ctx.settings.top_words
        pairs = [
            (w, word, sim)
            for w in content_words(enriched, ctx.tagger)
            for word, sim in ctx.mapper.top(w, top_words)
        ]
        top = max((sim for _, _, sim in pairs), default=0.0)
        for source, word, sim in pairs:
            weight = max(sim, 0.0) / top if top > 0 else 0.0
            if (
                weight > 0
            ):  # normalised so that the most similar impression word of the caption weighs 1
                r.impressions.append(
                    Impression(
                        word.word,
                        round(word.valence, 4),
                        round(word.arousal, 4),
                        round(weight, 4),
                        source,
                        round(sim, 4),
                    )
                )
