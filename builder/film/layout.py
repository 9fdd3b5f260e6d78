"""Where things go in a frame: the picture's box, the caption band below it, the cards' text area,
and the sizes of their words, each a share of the frame's height so a film looks the same at every
size."""

from __future__ import annotations

import math

from builder.film import text as tx

MARGIN = 0.03  # of the height, around the picture and the band
BAND = 0.15  # the caption band below the picture: title, caption (two lines at most), track
TITLE_PX, CAPTION_PX, TRACK_PX = 0.036, 0.027, 0.022
CARD_PX, CARD_MIN_PX = 0.036, 0.022  # the cards' base text size, and the least it shrinks to

TEXT, DIM, FAINT = (238, 238, 238), (200, 200, 204), (165, 165, 172)
PRE_ZOOM = 1.08  # the gentle motion zooms within this much of the picture
MAX_ENLARGE = 1.5  # a picture is never shown larger than this many times its copy's pixels


def picture_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the area a picture is contained in; the caption band is below it."""
    w, h = size
    m, band = round(h * MARGIN), round(h * BAND)
    return m, m, w - 2 * m, h - 2 * m - band


def band_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the caption band: the picture's title, caption and track."""
    w, h = size
    m, band = round(h * MARGIN), round(h * BAND)
    return round(w * 0.05), h - m - band, w - 2 * round(w * 0.05), band


def card_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of a card's text."""
    w, h = size
    return round(w * 0.08), round(h * 0.1), w - 2 * round(w * 0.08), h - 2 * round(h * 0.1)


def band_items(title: str, caption: str, track: str) -> list[tx.Item]:
    """A picture's words in its band: the title, the curator's caption (its line breaks kept, two
    lines at most) and the track heard."""
    items = [tx.Item(title, 1.0, TEXT, max_lines=1)]
    if caption:
        lines = [ln.strip() for ln in caption.splitlines() if ln.strip()][:2]
        first = tx.Item(lines[0], CAPTION_PX / TITLE_PX, DIM, max_lines=2 if len(lines) < 2 else 1)
        items.append(first)
        if len(lines) > 1:
            items.append(tx.Item(lines[1], CAPTION_PX / TITLE_PX, DIM, max_lines=1))
    if track:
        items.append(tx.Item(track, TRACK_PX / TITLE_PX, FAINT, max_lines=1, gap=0.25))
    return items


def band_lines(
    size: tuple[int, int], title: str, caption: str, track: str, fonts: tuple[str, ...]
) -> list[tx.Line]:
    """The band's lines at the largest size that fits it (measure-and-bisect)."""
    _, _, bw, bh = band_box(size)
    h = size[1]
    lines, _ = tx.fit(
        band_items(title, caption, track),
        bw,
        bh,
        round(h * TITLE_PX),
        max(8, round(h * TITLE_PX * 0.6)),
        fonts,
    )
    return lines


def shown_size(
    pixels: tuple[int, int], size: tuple[int, int], motion: str
) -> tuple[int, int, float]:
    """(width, height) a picture copy of `pixels` is shown at, contained in the picture box and
    never enlarged past MAX_ENLARGE (the gentle zoom included), and the most it is enlarged."""
    _, _, box_w, box_h = picture_box(size)
    zoom = PRE_ZOOM if motion == "gentle" else 1.0
    pw, ph = pixels
    scale = min(box_w / pw, box_h / ph, MAX_ENLARGE / zoom)
    # rounded down, so the enlargement never passes the cap by a fraction of a pixel
    fw, fh = max(2, math.floor(pw * scale + 1e-9)), max(2, math.floor(ph * scale + 1e-9))
    return fw, fh, max(fw / pw, fh / ph) * zoom
