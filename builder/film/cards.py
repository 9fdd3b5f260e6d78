"""The words on the film's cards: the title card (the exhibition's title, the intro's first
paragraph, how many pictures) and the end cards, which credit every track heard, the model that
read the pictures and the rated photos it was fitted on, and the music's ratings, on as many
cards as they need at a legible size (no licence reasoning: that is for the curator, in the
command's summary and the chapters JSON)."""

from __future__ import annotations

import re

from builder.film import layout
from builder.film import text as tx
from builder.gallery.text import Words
from builder.records import Gallery

END_MIN_S, END_MAX_S = 5.0, 15.0


# ---- the credits ------------------------------------------

# the rated sets a learned model may be fitted on (its meta `ratings`), as the credits name them
RATED_SETS = {
    "oasis": "OASIS (Kurdi, Lozano & Banaji 2017)",
    "emotion6": "Emotion6 (Peng et al. 2015)",
    "gaped": "GAPED (Dan-Glauser & Scherer 2011)",
}
BACKBONES = {"mobilenet_v2": "MobileNetV2", "efficientnet_lite2": "EfficientNet-Lite2"}


def model_meta() -> dict[str, str]:
    """The learned model's meta (which rated sets it was fitted on, its backbones); {} when the
    model file cannot be read. Read from the model the builder ships, which builds use."""
    import numpy as np

    from builder.picture.feeling import MODEL_PATH

    try:
        with np.load(MODEL_PATH, allow_pickle=False) as z:
            return dict(str(s).split("=", 1) for s in z["meta"].tolist() if "=" in str(s))
    except (OSError, KeyError, ValueError):
        return {}


def _names(text: str, known: dict[str, str]) -> list[str]:
    out = []
    for part in text.split("+"):
        key = re.sub(r"-(dev|test|train)$", "", part.strip().lower())
        if key:
            out.append(known.get(key, part.strip()))
    return out


def reading_credits(gallery: Gallery, words: Words) -> list[str]:
    """Whose data and models read the feelings: the learned model and the rated photos it was
    fitted on, or the published methods' models; and the music's ratings."""
    lines = []
    if gallery.method.startswith("learned"):
        meta = model_meta()
        sets = _names(meta.get("ratings", ""), RATED_SETS)
        nets = _names(meta.get("backbones", ""), BACKBONES)
        if sets:
            lines.append(
                words.t(
                    "film_credit_model",
                    backbones=" + ".join(nets) or "—",
                    sets=", ".join(sets),
                )
            )
    else:
        lines.append(words.t("credits_models"))
    if gallery.catalogue.name.startswith("DEAM"):
        lines.append(words.t("film_credit_deam"))
    else:
        lines.append(words.t("film_credit_catalogue", name=gallery.catalogue.name))
    return lines


def end_pages(
    size: tuple[int, int],
    heading: str,
    rows: list[str],
    after: list[str],
    fonts: tuple[str, ...],
) -> list[list[tx.Item]]:
    """The credits on as many cards as they need at a legible size: each card its heading, then
    rows as many as fit (never a word cut), the reading's credits and notes on the last."""
    _, _, width, height = layout.card_box(size)
    px = round(size[1] * layout.CARD_PX)
    head = tx.Item(heading, 1.4, layout.TEXT)
    tail = [tx.Item(t, 0.75, layout.FAINT, gap=1.2 if k == 0 else 0.3) for k, t in enumerate(after)]

    def tall(items: list[tx.Item]) -> int:
        return sum(ln.height for ln in tx.lay_out(items, px, width, fonts)[0])

    room = height - tall([head])
    pages: list[list[tx.Item]] = []
    page: list[tx.Item] = []
    used = 0
    for k, r in enumerate(rows):
        item = tx.Item(r, 1.0, layout.DIM, max_lines=3, gap=0.6 if k == 0 else 0.0)
        need = tall([item]) + (round(px * tx.LEADING * 0.4) if not page else 0)
        if page and used + need > room:
            pages.append(page)
            page, used = [], 0
        page.append(item)
        used += need
    if tail and page and used + tall(tail) > room:
        pages.append(page)
        page = []
    pages.append(page + tail)
    return [[head, *p] for p in pages]


def end_seconds(items: list[tx.Item]) -> float:
    return min(END_MAX_S, max(END_MIN_S, 3.0 + 0.5 * (len(items) - 1)))


def title_items(
    title: str, intro: str, pictures: int, notes: list[str], words: Words
) -> list[tx.Item]:
    """The title card's words: the exhibition's title, the intro's first paragraph, how many
    pictures, and the notes (a silent film says so)."""
    items = [tx.Item(title, 2.0, layout.TEXT, max_lines=2)]
    if intro:
        items.append(tx.Item(intro, 1.0, layout.DIM, max_lines=4, gap=0.5))
    items.append(tx.Item(words.tn("n_pictures", pictures), 0.8, layout.FAINT, gap=1.0))
    items += [tx.Item(n, 0.8, layout.FAINT, max_lines=2) for n in notes]
    return items
