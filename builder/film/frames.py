"""The film's pictures: cards, pictures, motion, crossfades, and the words drawn over them.

Frames are composed with numpy, Pillow and OpenCV at the output size. Each picture is decoded
once, at the size it is shown (JPEG draft mode), into a base layout.PRE_ZOOM larger than shown, and
never enlarged past MAX_ENLARGE of its copy's pixels: a blurred, darkened fill of the same picture
takes the rest of the frame. Each frame of the zoom is one bilinear warp of a crop of that base
(--motion gentle); crossfades are uint16 blends.

Words are a layer of their own over the pictures: a chapter's words fade out in the half of the
crossfade before its cut and the next chapter's fade in after it, so two captions are never seen
at once. A chapter's look is prepared when first needed and dropped once the film has passed it.
"""

from __future__ import annotations

import bisect

import numpy as np

from builder.film import layout
from builder.film import text as tx
from builder.film.plan import Chapter, FilmFileMissing, Plan, crossfade

BACKGROUND = (16, 16, 18)
FILL_LIGHT = 0.38  # the blurred fill behind a picture, this bright, so it never competes with it
MOTIONS = ("gentle", "none")


def draw_lines(
    size: tuple[int, int], box: tuple[int, int, int, int], lines: list[tx.Line], fonts
) -> dict | None:
    """Lines centred in box as a layer: the rows it covers, their colour and coverage (0..256), or
    None for no words. A soft shadow under the letters keeps them legible on any picture."""
    from PIL import Image, ImageDraw, ImageFilter

    lines = [ln for ln in lines if ln.text]
    if not lines:
        return None
    w = size[0]
    x, y, bw, bh = box
    total = sum(ln.height for ln in lines)
    top = y + max(0, (bh - total) // 2)
    pad = max(2, round(size[1] * 0.01))
    y0, y1 = max(0, top - pad), min(size[1], top + total + pad)
    ink = Image.new("RGBA", (w, y1 - y0), (0, 0, 0, 0))
    shade = Image.new("L", (w, y1 - y0), 0)
    d, s = ImageDraw.Draw(ink), ImageDraw.Draw(shade)
    at = top - y0
    for ln in lines:
        f = tx.font_for(ln.text, ln.px, fonts)
        centre = (x + bw // 2, at + ln.height // 2)
        d.text(centre, ln.text, font=f, fill=(*ln.colour, 255), anchor="mm")
        s.text(centre, ln.text, font=f, fill=150, anchor="mm")
        at += ln.height
    shade = shade.filter(ImageFilter.GaussianBlur(max(1.0, size[1] / 500)))
    rgba = np.asarray(ink).astype(np.uint16)
    a = rgba[..., 3:4]
    sh = np.asarray(shade).astype(np.uint16)[..., None]
    # the letters over their shadow: colour where the letters are, black under their edges
    cover = a + ((256 - a) * sh >> 8)
    colour = np.where(cover > 0, (rgba[..., :3] * a) // np.maximum(cover, 1), 0)
    cols = np.flatnonzero(cover.max(axis=(0, 2)))
    x0, x1 = (int(cols[0]), int(cols[-1]) + 1) if len(cols) else (0, w)
    return {
        "rows": (y0, y1),
        "cols": (x0, x1),
        "colour": colour[:, x0:x1].astype(np.uint32),
        "cover": (cover[:, x0:x1] + (cover[:, x0:x1] > 127)).astype(np.uint32),
    }


def overlay(frame: np.ndarray, layer: dict | None, alpha: float) -> np.ndarray:
    """frame with the words of layer drawn at alpha (0..1); frame itself is not changed."""
    k = int(round(min(1.0, max(0.0, alpha)) * 256))
    if layer is None or k <= 0:
        return frame
    (y0, y1), (x0, x1) = layer["rows"], layer["cols"]
    out = frame.copy()
    part = out[y0:y1, x0:x1].astype(np.uint32)
    a = (layer["cover"] * np.uint32(k)) >> 8  # 0..256 (uint32: 256 x 256 overflows uint16)
    out[y0:y1, x0:x1] = ((part * (256 - a) + layer["colour"] * a) >> 8).astype(np.uint8)
    return out


class Looks:
    """Each chapter's look, prepared when first needed and dropped once the film has passed it."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.w, self.h = plan.options.size
        self.xf = crossfade(plan.options)
        self.ready: dict[int, dict] = {}
        self.ends = [c.end for c in plan.chapters]

    def _plain(self) -> np.ndarray:
        frame = np.empty((self.h, self.w, 3), np.uint8)
        frame[:] = BACKGROUND
        return frame

    def _card(self, c: Chapter) -> dict:
        size = (self.w, self.h)
        x, y, bw, bh = layout.card_box(size)
        lines, _ = tx.fit(
            c.items,
            bw,
            bh,
            round(self.h * layout.CARD_PX),
            max(8, round(self.h * layout.CARD_MIN_PX)),
            self.plan.fonts,
        )
        return {
            "bg": self._plain(),
            "words": draw_lines(size, (x, y, bw, bh), lines, self.plan.fonts),
        }

    def _picture(self, c: Chapter, index: int) -> dict:
        import cv2
        from PIL import Image

        size = (self.w, self.h)
        bx, by, box_w, box_h = layout.picture_box(size)
        fw, fh, _ = layout.shown_size(c.pixels, size, self.plan.options.motion)
        zoom = layout.PRE_ZOOM if self.plan.options.motion == "gentle" else 1.0
        bw, bh = round(fw * zoom), round(fh * zoom)
        try:
            with Image.open(c.image) as src:
                src.draft("RGB", (bw, bh))  # a JPEG decodes at the smallest scale >= (bw, bh)
                base = np.asarray(src.convert("RGB").resize((bw, bh), Image.Resampling.LANCZOS))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise FilmFileMissing(
                f"cannot read the picture copy {c.image} ({exc}); build the gallery again"
            ) from None
        # the fill: the picture covering the frame, blurred and darkened (made from a small copy:
        # a bilinear enlargement of 1/24 of the frame is itself a blur)
        sw, sh = max(4, self.w // 24), max(4, self.h // 24)
        cover = max(sw / bw, sh / bh)
        cw, ch = max(1, round(sw / cover)), max(1, round(sh / cover))
        crop = base[(bh - ch) // 2 : (bh - ch) // 2 + ch, (bw - cw) // 2 : (bw - cw) // 2 + cw]
        small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 1.2)
        bg = cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_LINEAR)
        bg = (bg.astype(np.float32) * FILL_LIGHT + np.float32(BACKGROUND[0] * 0.5)).astype(np.uint8)
        x, y = bx + (box_w - fw) // 2, by + (box_h - fh) // 2
        lines = layout.band_lines(size, c.heading, c.caption, c.track_line, self.plan.fonts)
        look = {
            "bg": bg,
            "base": base,
            "rect": (x, y, fw, fh),
            "index": index,
            "words": draw_lines(size, layout.band_box(size), lines, self.plan.fonts),
        }
        if zoom == 1.0:
            frame = bg.copy()
            frame[y : y + fh, x : x + fw] = base
            look["still"] = frame
        return look

    def look(self, i: int) -> dict:
        if i not in self.ready:
            c = self.plan.chapters[i]
            look = self._card(c) if c.kind != "picture" else self._picture(c, i)
            if c.kind != "picture":
                look["still"] = look["bg"]
            self.ready[i] = look
            for k in [k for k in self.ready if k < i - 1]:
                del self.ready[k]
        return self.ready[i]

    def render(self, i: int, t: float) -> np.ndarray:
        """Chapter i's picture (no words) as seen at time t, moving through its visible span."""
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
        z = 1 + (layout.PRE_ZOOM - 1) * (u if inward else 1 - u)
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

    def words_alpha(self, i: int, t: float) -> float:
        """How visible chapter i's words are at t: faded in after the cut that opens the chapter,
        out before the cut that closes it, each over half the crossfade."""
        c, half = self.plan.chapters[i], self.xf / 2
        if half <= 0:
            return 1.0
        a_in = 1.0 if i == 0 else (t - c.start) / half
        a_out = 1.0 if i == len(self.plan.chapters) - 1 else (c.end - t) / half
        return min(1.0, max(0.0, min(a_in, a_out)))

    def frame(self, t: float) -> np.ndarray:
        chapters = self.plan.chapters
        h = self.xf / 2
        i = min(bisect.bisect_right(self.ends, t), len(chapters) - 1)  # the chapter t lies in
        c = chapters[i]
        words = self.look(i)["words"]
        alpha = self.words_alpha(i, t)
        if i + 1 < len(chapters) and t >= c.end - h:  # crossfading into the next chapter
            a, b, mix = i, i + 1, (t - (c.end - h)) / self.xf
        elif i > 0 and t < c.start + h:  # crossfading out of the previous one
            a, b, mix = i - 1, i, (t - (c.start - h)) / self.xf
        else:
            look = self.look(i)
            if "still" in look and alpha >= 1.0:  # a still chapter with its words: made once
                if "full" not in look:
                    look["full"] = overlay(look["still"], words, 1.0)
                return look["full"]
            return overlay(self.render(i, t), words, alpha)
        k = int(round(min(1.0, max(0.0, mix)) * 256))
        if k <= 0:
            pictures = self.render(a, t)
        elif k >= 256:
            pictures = self.render(b, t)
        else:
            one, two = self.render(a, t).astype(np.uint16), self.render(b, t).astype(np.uint16)
            pictures = ((one * (256 - k) + two * k) >> 8).astype(np.uint8)
        return overlay(pictures, words, alpha)
