"""The film's pictures: cards, pictures, motion, crossfades, fonts and text fitting.

Frames are composed with numpy, Pillow and OpenCV at the output size. Each picture is decoded
once, at the size it is shown (JPEG draft mode), into a base PRE_ZOOM larger than it is shown;
each frame of the zoom is one bilinear warp of a crop of that base (--motion gentle); crossfades
are uint16 blends. A chapter's look is prepared when first needed and dropped once the film has
passed it.
"""

from __future__ import annotations

import bisect
from functools import lru_cache
from pathlib import Path

import numpy as np

from builder.film.plan import Chapter, FilmFileMissing, Plan, crossfade
from builder.music.licences import short_licence
from builder.records import Track

PRE_ZOOM = 1.08  # the gentle motion zooms within this much of the picture
BACKGROUND = (16, 16, 18)
TEXT, DIM = (235, 235, 235), (160, 160, 165)
MOTIONS = ("gentle", "none")


@lru_cache(maxsize=1)
def _font_file() -> str | None:
    """DejaVu Sans from matplotlib's data (a dependency, found without importing it): it has the
    dashes, accents and most scripts that titles and captions hold. None where it is absent:
    Pillow's own font is used."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


@lru_cache(maxsize=32)
def _font(px: int):
    from PIL import ImageFont

    px = max(8, px)
    if _font_file():
        return ImageFont.truetype(_font_file(), px)
    # Pillow's own scalable font (it lacks a few signs, e.g. dashes)
    return ImageFont.load_default(size=px)


def _fit_text(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _who(track: Track) -> str:
    return f"{track.title or track.id} — {track.artist or 'unknown artist'}"


def picture_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the area a picture is contained in; the caption line is below it."""
    w, h = size
    margin, band = round(h * 0.035), round(h * 0.085)
    return margin, margin, w - 2 * margin, h - 2 * margin - band


class Looks:
    """Each chapter's look, prepared when first needed and dropped once the film has passed it."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.w, self.h = plan.options.size
        self.xf = crossfade(plan.options)
        self.ready: dict[int, dict] = {}
        self.ends = [c.end for c in plan.chapters]

    def _canvas(self):
        from PIL import Image

        return Image.new("RGB", (self.w, self.h), BACKGROUND)

    def _card(self, c: Chapter) -> np.ndarray:
        from PIL import ImageDraw

        img = self._canvas()
        draw = ImageDraw.Draw(img)
        w, h = self.w, self.h
        lines: list[tuple[str, int, tuple[int, int, int]]] = []
        if c.kind == "title":
            lines.append((self.plan.title, round(h * 0.07), TEXT))
            if self.plan.intro:
                lines.append((self.plan.intro, round(h * 0.035), DIM))
            n = sum(ch.kind == "picture" for ch in self.plan.chapters)
            lines.append((f"{n} picture{'s' * (n != 1)}", round(h * 0.03), DIM))
            lines += [(note, round(h * 0.03), DIM) for note in self.plan.notes]
        else:
            rows = [(f"{_who(m)} · {short_licence(m.licence)}", TEXT) for m in self.plan.credited]
            gone = [(f"{_who(m)}: {why}", DIM) for m, why in self.plan.left_out]
            size = max(
                10, min(round(h * 0.032), int(h * 0.8 / max(1, len(rows) + len(gone) + 4) / 1.35))
            )
            lines.append(("Music" if rows else "No music", round(size * 1.5), TEXT))
            lines += [(text, size, colour) for text, colour in rows]
            if gone:
                lines.append(("Left out", round(size * 1.2), TEXT))
                lines += [(text, size, colour) for text, colour in gone]
            lines += [(note, size, DIM) for note in self.plan.notes]
        heights = [round(px * 1.35) for _, px, _ in lines]
        y = (h - sum(heights)) // 2
        for (text, px, colour), lh in zip(lines, heights):
            font = _font(px)
            text = _fit_text(draw, text, font, int(w * 0.9))
            draw.text((w // 2, y + lh // 2), text, font=font, fill=colour, anchor="mm")
            y += lh
        return np.asarray(img).copy()

    def _picture(self, c: Chapter, index: int) -> dict:
        from PIL import Image, ImageDraw

        w, h = self.w, self.h
        margin, _, box_w, box_h = picture_box((w, h))
        band = h - 2 * margin - box_h
        canvas = self._canvas()
        draw = ImageDraw.Draw(canvas)
        font = _font(round(h * 0.03))
        draw.text(
            (w // 2, h - margin - band // 2),
            _fit_text(draw, c.caption, font, int(w * 0.92)),
            font=font,
            fill=TEXT,
            anchor="mm",
        )
        try:
            with Image.open(c.image) as src:
                scale = min(box_w / src.width, box_h / src.height)
                fw, fh = max(2, round(src.width * scale)), max(2, round(src.height * scale))
                zoom = PRE_ZOOM if self.plan.options.motion == "gentle" else 1.0
                bw, bh = round(fw * zoom), round(fh * zoom)
                src.draft(
                    "RGB", (bw, bh)
                )  # a JPEG decodes at the smallest scale that is still >= (bw, bh)
                base = src.convert("RGB").resize((bw, bh), Image.Resampling.LANCZOS)
        except OSError as exc:
            raise FilmFileMissing(
                f"cannot read the picture copy {c.image} ({exc}); build the gallery again"
            ) from None
        x, y = margin + (box_w - fw) // 2, margin + (box_h - fh) // 2
        look = {
            "bg": np.asarray(canvas).copy(),
            "base": np.asarray(base),
            "rect": (x, y, fw, fh),
            "index": index,
        }
        if zoom == 1.0:
            frame = look["bg"].copy()
            frame[y : y + fh, x : x + fw] = look["base"]
            look["still"] = frame
        return look

    def look(self, i: int) -> dict:
        if i not in self.ready:
            c = self.plan.chapters[i]
            self.ready[i] = {"still": self._card(c)} if c.kind != "picture" else self._picture(c, i)
            for k in [k for k in self.ready if k < i - 1]:
                del self.ready[k]
        return self.ready[i]

    def render(self, i: int, t: float) -> np.ndarray:
        """Chapter i as seen at time t (its picture moving through its visible span)."""
        look = self.look(i)
        if "still" in look:
            return look["still"]
        import cv2

        c = self.plan.chapters[i]
        x, y, fw, fh = look["rect"]
        base = look["base"]
        bh, bw = base.shape[:2]
        u = min(1.0, max(0.0, (t - (c.start - self.xf / 2)) / (c.end - c.start + self.xf)))
        inward = look["index"] % 2 == 1  # alternate zooming in and out, and the drift's direction
        z = 1 + (PRE_ZOOM - 1) * (u if inward else 1 - u)
        cw, ch = bw / z, bh / z
        drift = 0.3 + 0.4 * (u if inward else 1 - u)
        x0, y0 = (bw - cw) * drift, (bh - ch) * 0.5
        # the crop (x0, y0, cw, ch) of the base, scaled to (fw, fh): one bilinear warp with
        # sub-pixel position, so the motion is smooth (OpenCV's SIMD warp: a third of Pillow's
        # resize time at 720p)
        m = np.array([[cw / fw, 0.0, x0], [0.0, ch / fh, y0]], np.float32)
        frame = look["bg"].copy()
        frame[y : y + fh, x : x + fw] = cv2.warpAffine(
            base,
            m,
            (fw, fh),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return frame

    def frame(self, t: float) -> np.ndarray:
        chapters = self.plan.chapters
        h = self.xf / 2
        i = min(bisect.bisect_right(self.ends, t), len(chapters) - 1)  # the chapter t lies in
        c = chapters[i]
        if i + 1 < len(chapters) and t >= c.end - h:  # crossfading into the next chapter
            a, b, alpha = i, i + 1, (t - (c.end - h)) / self.xf
        elif i > 0 and t < c.start + h:  # crossfading out of the previous one
            a, b, alpha = i - 1, i, (t - (c.start - h)) / self.xf
        else:
            return self.render(i, t)
        k = int(round(min(1.0, max(0.0, alpha)) * 256))
        if k <= 0:
            return self.render(a, t)
        if k >= 256:
            return self.render(b, t)
        one, two = self.render(a, t).astype(np.uint16), self.render(b, t).astype(np.uint16)
        return ((one * (256 - k) + two * k) >> 8).astype(np.uint8)
