"""Does clustering object pixels in CIELAB name colours better than clustering in RGB (as
published)?

    python benchmarks/colour_space.py

Cases: shaded objects with a highlight on a plain background, made in code (ground truth = the
colour family of the object's base colour), and a few hand-boxed regions of the demo photos whose
colour is plain to see. The full colour path runs for each (GrabCut mask -> k-means k=3 -> CIEDE2000
name); a name counts as right when it falls in the expected family. Prints accuracy per space.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.color import deltaE_ciede2000

from builder.images import read_rgb
from builder.picture.colours import (
    ColourNamer,
    colour_names,
    dominant_colour,
    object_pixels,
    to_lab,
)
from builder.picture.words import load_glove

FAMILIES = {
    "red": {"red", "crimson", "maroon", "tomato"},
    "orange": {"orange", "coral", "chocolate", "salmon"},
    "yellow": {"gold", "yellow", "khaki", "wheat"},
    "green": {"green", "lime", "olive"},
    "blue": {"blue", "navy", "aqua", "turquoise"},
    "purple": {"purple", "indigo", "violet", "orchid", "plum", "thistle", "lavender"},
    "pink": {"pink", "orchid", "violet"},
    "brown": {"brown", "tan", "chocolate", "maroon"},
    "white": {"white", "snow", "ivory", "linen", "beige"},
    "grey": {"gray", "grey", "silver"},
    "black": {"black"},
}
BASES = {
    "red": (200, 30, 35),
    "orange": (235, 130, 20),
    "yellow": (240, 210, 30),
    "green": (40, 140, 50),
    "blue": (30, 70, 190),
    "purple": (110, 40, 140),
    "pink": (240, 160, 190),
    "brown": (120, 70, 40),
    "white": (245, 245, 240),
    "grey": (128, 128, 128),
    "black": (20, 20, 22),
}
DEMO = Path(__file__).resolve().parent.parent / "images"
PHOTO_CASES = [  # (file, box as fractions, family): regions whose colour is plain to see
    ("astronaut.jpg", (0.02, 0.55, 0.55, 1.0), "orange"),
    ("yellow-flower.jpg", (0.45, 0.25, 0.85, 0.75), "yellow"),
    ("green-meadow.jpg", (0.1, 0.1, 0.9, 0.9), "green"),
    ("coffee.jpg", (0.1, 0.05, 0.75, 0.85), "red"),
    ("storm.jpg", (0.0, 0.0, 1.0, 0.5), "grey"),
]


def synthetic(base, seed):
    rng = np.random.default_rng(seed)
    h, w = 200, 260
    bg = rng.integers(0, 256, 3)
    img = np.zeros((h, w, 3)) + bg
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((xx - 130) / 80) ** 2 + ((yy - 100) / 60) ** 2 <= 1
    shade = 0.55 + 0.55 * (1 - (yy - 40) / 120).clip(0, 1)  # lit from above
    obj = np.array(base)[None, None] * shade[..., None]
    spot = ((xx - 110) ** 2 + (yy - 70) ** 2) < 90
    obj[spot] = 250
    img[inside] = obj[inside]
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    return img, (40 / w, 30 / h, 220 / w, 170 / h)


def main() -> None:
    namer = ColourNamer(colour_names(load_glove().key_to_index))
    cases = [
        (synthetic(BASES[f], seed), f, f"synthetic {f} #{seed}") for f in BASES for seed in range(3)
    ]
    for name, box, family in PHOTO_CASES:
        rgb, _, _ = read_rgb(DEMO / name, 512)
        cases.append(((rgb, box), family, name))
    scores = {"rgb": 0, "lab": 0}
    delta = {"rgb": [], "lab": []}
    for (img, box), family, label in cases:
        px, _ = object_pixels(img, "thing", box, None, [])
        found = {space: dominant_colour(px, space) for space in scores}
        names = {space: namer.name(c).name for space, c in found.items()}
        for space, n in names.items():
            scores[space] += n in FAMILIES[family]
            if label.startswith("synthetic"):  # distance to the object's true base colour
                delta[space].append(
                    deltaE_ciede2000(
                        to_lab(np.array(found[space]))[0], to_lab(np.array(BASES[family]))[0]
                    )
                )
        print(f"{label:<24} expected {family:<7} rgb -> {names['rgb']:<10} lab -> {names['lab']}")
    for space, s in scores.items():
        print(
            f"{space}: {s}/{len(cases)} named in the right family ({100 * s / len(cases):.0f} %); "
            f"synthetic: dominant colour {np.mean(delta[space]):.1f} CIEDE2000 from the true base "
            "colour"
        )


if __name__ == "__main__":
    main()
