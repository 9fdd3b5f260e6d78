"""What a build measures of itself: milliseconds per picture per stage, and the `--stats` file."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import orjson

MODEL_STAGES = (
    "detect",
    "faces",
    "colours",
    "caption",
    "scene",
)  # the stages that run models (methods.Method)
PER_BUILD = ("recommend", "site")  # recorded once a build, as milliseconds per picture


@dataclass
class Stats:
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cached: int = 0
    hashes: dict[str, str] = field(default_factory=dict)  # picture -> sha256 of its file
    notes: list[str] = field(default_factory=list)  # for the summary: what a Ray cluster analysed

    def add(self, stage: str, ms: float) -> None:
        self.stage_ms[stage].append(ms)

    def per_picture(self, pictures: int) -> dict[str, float]:
        """Milliseconds per picture for each stage: the stage's total over every picture built
        (cached ones too, whose recognisers cost nothing), so the figures add up to the build's work
        per picture. Stages recorded once a build (PER_BUILD) are recorded per picture already."""
        n = max(1, pictures)
        return {
            k: round(sum(v) / (len(v) if k in PER_BUILD else n), 3)
            for k, v in self.stage_ms.items()
        }

    def to_json(self, wall_s: float, pictures: int, workers: int) -> bytes:
        """The --stats file. model_ms: model inference per picture (the recogniser stages);
        other_ms: the rest, writing the site included. With several workers stage times are summed
        over the workers (work, not wall time)."""
        per = self.per_picture(pictures)
        model = sum(v for k, v in per.items() if k in MODEL_STAGES)
        return orjson.dumps(
            {
                "wall_s": round(wall_s, 3),
                "pictures": pictures,
                "cached": self.cached,
                "workers": workers,
                "stage_ms": per,
                "model_ms": round(model, 3),
                "other_ms": round(sum(per.values()) - model, 3),
            },
            option=orjson.OPT_INDENT_2,
        )
