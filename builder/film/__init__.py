"""The exhibition as a film: `builder film GALLERY --out FILM.mp4`.

The built gallery is the one source of truth: its gallery.json (order, captions, tracks, licences, where each
track stops being quiet), its display copies of the pictures and its audio. Nothing is analysed again. This lives
in the hall because it joins the gallery (what was built) and the music wing (decoding and loudness), as the
pipeline joins pictures and music; no wing imports another.

The film: a title card, then each picture of the slideshow's order for --seconds, contained on a dark background
with a caption line, a slow zoom and drift (--motion gentle), crossfades between chapters, and an end card that
credits every track heard with its artist and licence and says which tracks were left out and why.

The sound: each picture plays the first of its tracks whose licence allows synchronising it with pictures (see
`licence_verdict`), from where the track stops being quiet (Track.start); where none does, the previous track
plays on; consecutive tracks crossfade (equal power); each track's excerpt is brought to TARGET_LUFS of integrated
loudness (BS.1770, builder.music.excerpt) with its peak kept under -1 dBFS.

Speed: frames are composed with numpy, Pillow and OpenCV at the output size. Each picture is decoded once, at the
size it is shown (JPEG draft mode), into a base PRE_ZOOM larger than it is shown; each frame of the zoom is one
bilinear warp of a crop of that base; crossfades are uint16 blends; one thread composes frames ahead while x264
encodes on its own threads (docs/film.md has the figures).
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import orjson

from builder.errors import BuilderError, UsageError
from builder.files import atomic_path, inside
from builder.gallery.outdir import MARKER, built_files, owned
from builder.music.excerpt import ExcerptError, integrated_loudness, read_audio
from builder.music.licences import is_own_music, licence_verdict, short_licence

RATE = 48000  # audio sample rate of the film
TITLE_S = 4.0
END_MIN_S, END_MAX_S = 5.0, 15.0
XFADE_S = 1.0  # crossfade between chapters (at most a third of a chapter)
PRE_ZOOM = 1.08  # the gentle motion zooms within this much of the picture
TARGET_LUFS = -16.0  # integrated loudness of every excerpt (a common level for films shared online)
PEAK = 10 ** (-1 / 20)  # the gain never lifts an excerpt's sample peak above -1 dBFS
AUDIO_BLOCK = 1024 * 45  # samples mixed at a time (AAC frames are 1024 samples)
LOOKAHEAD = 3  # frames composed ahead of the encoder
PRESET, CRF = "veryfast", "23"
# veryfast with a lighter motion search: the pictures move slowly and smoothly, so a diamond search and less
# sub-pixel refinement find the motion as well; x264's CPU a 720p frame 12.4 -> 8.8 ms for a file 12 % larger
X264_PARAMS = "rc-lookahead=10:subme=1:me=dia:trellis=0"
BACKGROUND = (16, 16, 18)
TEXT, DIM = (235, 235, 235), (160, 160, 165)
MOTIONS = ("gentle", "none")


class FilmFileMissing(BuilderError):
    """A picture or audio file the gallery names is not there (exit 3, like any missing file)."""

    exit_code = 3


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT (e.g. 1920x1080 or 1280x720)")
    w, h = int(m[1]), int(m[2])
    if w % 2 or h % 2 or not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise UsageError(
            f"--size {text}: width and height must be even numbers between 64x64 and 7680x4320"
        )
    return w, h


@dataclass(frozen=True)
class Options:
    size: tuple[int, int] = (1920, 1080)
    fps: int = 25
    seconds: float = 8.0
    motion: str = "gentle"
    allow_licences: tuple[str, ...] = ()


@dataclass(frozen=True)
class Music:
    id: str
    title: str
    artist: str
    licence: str | None
    audio: Path  # absolute, inside the gallery
    start: float


@dataclass
class Chapter:
    kind: str  # "title", "picture" or "end"
    start: float
    end: float
    heading: str  # what the chapter is called (picture: its title or file name)
    file: str | None = None
    image: Path | None = None
    music: Music | None = None  # what is heard during the chapter
    plays_on: bool = False  # the previous track plays on (no track of this picture may be used)
    caption: str = ""


@dataclass
class Segment:
    """One track heard without a break: [a0, a1] seconds of the film, from music.start."""

    music: Music
    a0: float
    a1: float
    fade_in: float
    fade_out: float
    loop_s: float | None = (
        None  # length of the decoded excerpt (it loops when the track is shorter)
    )
    gain_db: float = 0.0
    loudness: float | None = None


@dataclass
class Plan:
    folder: Path
    title: str
    intro: str
    silent: str | None
    chapters: list[Chapter]
    segments: list[Segment]
    credited: list[Music]
    left_out: list[tuple[Music, str]]
    duration: float
    options: Options
    notes: list[str] = field(default_factory=list)  # shown on the title card
    warnings: list[str] = field(default_factory=list)  # for the command's summary only


def read_gallery(folder: Path) -> dict:
    """gallery.json of a gallery this builder wrote; UsageError for any other folder."""
    if not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder; give the folder `builder build` wrote (its --out)"
        )
    if not owned(folder):
        raise UsageError(
            f"{folder} is not a gallery written by `builder build` (no {MARKER} or gallery.json); "
            "give the folder the build wrote (its --out)"
        )
    try:
        data = orjson.loads((folder / "gallery.json").read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UsageError(
            f"cannot read {folder / 'gallery.json'} ({exc}); build the gallery again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise UsageError(
            f"{folder / 'gallery.json'} is not a gallery description; build the gallery again"
        )
    return data


def _file_in(folder: Path, rel: str | None, what: str) -> Path:
    if not rel:
        raise FilmFileMissing(f"the gallery names no {what}; build the gallery again")
    path = folder / rel
    if not inside(path, folder):
        raise UsageError(
            f"{folder / 'gallery.json'} names a {what} outside the gallery ({rel}); build it again"
        )
    if not path.is_file():
        raise FilmFileMissing(f"the gallery's {what} {rel} is missing; build the gallery again")
    return path


def make_plan(folder: Path, data: dict, options: Options) -> Plan:
    """Chapters, the music heard in each, and what was left out: everything but the pixels and samples."""
    catalogue = str((data.get("catalogue") or {}).get("name") or "")
    images = {im.get("file"): im for im in data["images"]}
    order = [
        f
        for f in (data.get("slideshow") or [im.get("file") for im in data["images"]])
        if f in images
    ]
    if not order:
        raise UsageError(f"the gallery in {folder} holds no pictures; nothing to make a film of")
    title = str(data.get("title") or "") or folder.resolve().name
    intro = next((ln.strip() for ln in str(data.get("intro") or "").splitlines() if ln.strip()), "")
    seconds, xf = options.seconds, min(XFADE_S, options.seconds / 3)
    chapters = [Chapter("title", 0.0, TITLE_S, title)]
    left_out: dict[str, tuple[Music, str]] = {}
    playing: Music | None = None
    t = TITLE_S
    for f in order:
        im = images[f]
        chosen = None
        for tr in im.get("tracks") or []:
            if not tr.get("audio"):
                continue  # a track the gallery does not play cannot be heard in the film either
            music = Music(
                str(tr.get("id")),
                str(tr.get("title") or ""),
                str(tr.get("artist") or ""),
                tr.get("licence"),
                folder / str(tr.get("audio")),
                max(0.0, float(tr.get("start") or 0.0)),
            )
            ok, why = licence_verdict(
                music.licence, is_own_music(catalogue, music.id), options.allow_licences
            )
            if ok:  # only a track that will be heard must be there
                chosen = replace(music, audio=_file_in(folder, tr.get("audio"), "audio file"))
                break
            left_out.setdefault(music.id, (music, why))
        heading = str(im.get("title") or "") or str(f)
        plays_on = chosen is None and playing is not None
        playing = chosen or playing
        caption = heading
        if playing is not None:
            caption += f"  ·  {playing.title or playing.id}" + (
                f" — {playing.artist}" if playing.artist else ""
            )
        chapters.append(
            Chapter(
                "picture",
                t,
                t + seconds,
                heading,
                file=str(f),
                image=_file_in(folder, im.get("image"), "picture copy"),
                music=playing,
                plays_on=plays_on,
                caption=caption,
            )
        )
        t += seconds
    credited = list({c.music.id: c.music for c in chapters if c.music is not None}.values())
    left = [v for k, v in left_out.items() if k not in {m.id for m in credited}]
    silent = data.get("silent")
    notes = []
    if silent:  # the reason (gallery.json `silent`) is long and for the curator: the summary and chapters have it
        notes.append("This film is silent: the gallery plays no music")
    elif not credited:
        notes.append(
            "This film is silent: no track of the gallery may be put to pictures (see the end)"
        )
    end_s = min(END_MAX_S, max(END_MIN_S, 3.0 + 0.5 * (len(credited) + len(left))))
    chapters.append(Chapter("end", t, t + end_s, "Music"))
    duration = t + end_s
    # segments: consecutive chapters hearing the same track, its sound overlapping the neighbours' by the crossfade
    segments: list[Segment] = []
    for c in chapters:
        if c.music is None:
            continue
        if (
            segments
            and segments[-1].music.id == c.music.id
            and math.isclose(segments[-1].a1, c.start + xf / 2)
        ):
            segments[-1].a1 = c.end + xf / 2
            continue
        segments.append(Segment(c.music, c.start - xf / 2, c.end + xf / 2, xf, xf))
    if segments:  # the last track plays on under the end card and fades out with it
        segments[-1].a1, segments[-1].fade_out = duration, min(3.0, end_s)
    return Plan(
        folder,
        title,
        intro,
        str(silent) if silent else None,
        chapters,
        segments,
        credited,
        left,
        duration,
        options,
        notes,
    )


# ---- pictures --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _font_file() -> str | None:
    """DejaVu Sans from matplotlib's data (a dependency, found without importing it): it has the dashes, accents
    and most scripts that titles and captions hold. None where it is absent: Pillow's own font is used."""
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
    return ImageFont.load_default(
        size=px
    )  # Pillow's own scalable font (it lacks a few signs, e.g. dashes)


def _fit_text(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


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
        self.xf = min(XFADE_S, plan.options.seconds / 3)
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
            rows = [
                (
                    f"{m.title or m.id} — {m.artist or 'unknown artist'} · {short_licence(m.licence)}",
                    TEXT,
                )
                for m in self.plan.credited
            ]
            gone = [
                (f"{m.title or m.id} — {m.artist or 'unknown artist'}: {why}", DIM)
                for m, why in self.plan.left_out
            ]
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
        # the crop (x0, y0, cw, ch) of the base, scaled to (fw, fh): one bilinear warp with sub-pixel position, so
        # the motion is smooth (OpenCV's SIMD warp: a third of Pillow's resize time at 720p)
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


# ---- sound -----------------------------------------------------------------------------------------------------


class Mixer:
    """The film's sound, block by block: each segment's excerpt decoded when first heard (at most MAX_DECODE_S,
    looped if the track is shorter than the time it plays), levelled, faded in and out, summed."""

    def __init__(self, plan: Plan):
        self.segments = plan.segments
        self.data: dict[int, np.ndarray] = {}
        self.first = 0  # segments before this one have been heard to their end

    def _load(self, k: int) -> np.ndarray:
        from builder.music.excerpt import MAX_DECODE_S

        seg = self.segments[k]
        need = min(seg.a1 - seg.a0, MAX_DECODE_S)
        try:
            x = read_audio(seg.music.audio, seg.music.start, need + 0.1, rate=RATE, channels=2)
        except ExcerptError as exc:
            raise FilmFileMissing(
                f"cannot play {seg.music.audio.name}: {exc}; build the gallery again"
            ) from None
        if (
            len(x) < RATE // 2 and seg.music.start > 0
        ):  # Track.start at the very end: play from the beginning
            x = read_audio(seg.music.audio, 0.0, need + 0.1, rate=RATE, channels=2)
        if len(x) < RATE // 10:
            x = np.zeros((RATE, 2), np.float32)
        loud = integrated_loudness(x, RATE)
        gain = 1.0
        if math.isfinite(loud):
            gain = 10 ** ((TARGET_LUFS - loud) / 20)
            peak = float(np.abs(x).max())
            if peak > 0:
                gain = min(gain, PEAK / peak)
            seg.loudness = round(loud, 2)
        seg.gain_db = round(20 * math.log10(gain), 2) if gain > 0 else 0.0
        seg.loop_s = len(x) / RATE
        edge = min(len(x) // 4, RATE // 50)  # 20 ms at the ends, so a loop joins without a click
        ramp = np.linspace(0.0, 1.0, edge, dtype=np.float32)[:, None]
        x = x * np.float32(gain)
        x[:edge] *= ramp
        x[len(x) - edge :] *= ramp[::-1]
        return x

    def block(self, s0: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        for k in range(
            self.first, len(self.segments)
        ):  # segments are in time order: look only at those near s0
            seg = self.segments[k]
            b0, b1 = round(seg.a0 * RATE), round(seg.a1 * RATE)
            if b0 >= s0 + n:
                break
            lo, hi = max(s0, b0), min(s0 + n, b1)
            if s0 >= b1:  # passed for good (blocks come in order): free its samples
                self.data.pop(k, None)
                if k == self.first:
                    self.first += 1
                continue
            if k not in self.data:
                self.data[k] = self._load(k)
            x = self.data[k]
            pos = np.arange(lo - b0, hi - b0)
            part = x[pos % len(x)]
            tsec = pos / RATE
            env = np.ones(len(pos), np.float32)
            if seg.fade_in > 0:
                env *= np.sin(0.5 * np.pi * np.clip(tsec / seg.fade_in, 0, 1)).astype(np.float32)
            if seg.fade_out > 0:
                rest = (b1 - b0) / RATE - tsec
                env *= np.sin(0.5 * np.pi * np.clip(rest / seg.fade_out, 0, 1)).astype(np.float32)
            out[lo - s0 : hi - s0] += part * env[:, None]
        return np.clip(out, -1.0, 1.0)


# ---- the film --------------------------------------------------------------------------------------------------


def _no_progress(items, label, total):
    yield from items


def render(plan: Plan, path: Path, progress=_no_progress) -> None:
    """Encode the plan into an MP4 at path: H.264 (yuv420p) + AAC, moov atom first, with chapter markers."""
    import av
    import cv2

    o = plan.options
    w, h = o.size
    looks, mixer = Looks(plan), Mixer(plan)
    frames = max(1, round(plan.duration * o.fps))
    total_samples = round(frames / o.fps * RATE)
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        container.metadata["title"] = plan.title
        container.set_chapters(
            [
                {
                    "id": n + 1,
                    "start": round(c.start * 1000),
                    "end": round(c.end * 1000),
                    "time_base": Fraction(1, 1000),
                    "metadata": {
                        "title": c.heading if c.kind == "picture" else c.kind.capitalize()
                    },
                }
                for n, c in enumerate(plan.chapters)
            ]
        )
        video = container.add_stream(
            "libx264",
            rate=o.fps,
            options={"preset": PRESET, "crf": CRF, "x264-params": X264_PARAMS},
        )
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        # say which conversion made the pixels, so players do not guess BT.709 for HD sizes and shift the colours
        cc = video.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = (
            6  # FFmpeg's SMPTE170M (BT.601), stable numbers
        )
        cc.color_range = 1  # MPEG (limited) range
        audio = container.add_stream("aac", rate=RATE, layout="stereo")
        audio.bit_rate = 160_000
        done = 0

        def compose(k: int):
            # RGB to 4:2:0 with BT.601 limited-range coefficients, as swscale's default (and the stream's tags)
            yuv = cv2.cvtColor(looks.frame(k / o.fps), cv2.COLOR_RGB2YUV_I420)
            vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            vf.pts, vf.time_base = k, Fraction(1, o.fps)
            return vf

        # one thread composes the next frames (Pillow and numpy let go of the GIL) while this one converts and
        # hands frames to x264, whose own threads encode: the two cores stay busy
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="film-frames") as pool:
            pending = deque(pool.submit(compose, k) for k in range(min(LOOKAHEAD, frames)))
            try:
                for n in progress(range(frames), "making the film", frames):
                    vf = pending.popleft().result()
                    if n + LOOKAHEAD < frames:
                        pending.append(pool.submit(compose, n + LOOKAHEAD))
                    container.mux(video.encode(vf))
                    ahead = min(total_samples, round((n + 1) / o.fps * RATE) + AUDIO_BLOCK)
                    while (
                        done < ahead
                    ):  # keep the sound a little ahead of the pictures, interleaved in the file
                        done = _encode_audio(
                            container, audio, mixer, done, min(AUDIO_BLOCK, total_samples - done)
                        )
            finally:
                for f in pending:
                    f.cancel()
        while done < total_samples:
            done = _encode_audio(
                container, audio, mixer, done, min(AUDIO_BLOCK, total_samples - done)
            )
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    finally:
        container.close()


def _encode_audio(container, stream, mixer: Mixer, s0: int, n: int) -> int:
    import av

    block = mixer.block(s0, n)
    for k in range(0, n, 1024):
        part = np.ascontiguousarray(block[k : k + 1024].T)
        af = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = RATE, s0 + k, Fraction(1, RATE)
        container.mux(stream.encode(af))
    return s0 + n


def chapters_json(plan: Plan, film: Path) -> bytes:
    """FILM.json: every chapter with its start and end seconds, and what is heard in it."""
    by_id = {}
    for seg in plan.segments:
        by_id.setdefault(seg.music.id, seg)

    def heard_at(c: Chapter) -> dict | None:
        if c.music is None:
            return None
        seg = next(
            (
                s
                for s in plan.segments
                if s.music.id == c.music.id and s.a0 <= c.start + 1e-6 < s.a1
            ),
            None,
        )
        at = c.music.start
        if seg is not None:
            into = max(0.0, c.start - seg.a0)
            at = c.music.start + (into % seg.loop_s if seg.loop_s else into)
        return {
            "id": c.music.id,
            "title": c.music.title,
            "artist": c.music.artist,
            "licence": c.music.licence,
            "excerpt_start": round(at, 3),
            "plays_on": c.plays_on,
            "loudness_lufs": seg.loudness if seg else None,
            "gain_db": seg.gain_db if seg else None,
        }

    chapters = []
    for c in plan.chapters:
        entry = {
            "kind": c.kind,
            "start": round(c.start, 3),
            "end": round(c.end, 3),
            "title": c.heading,
        }
        if c.kind == "picture":
            entry["file"] = c.file
            entry["image"] = c.image.relative_to(plan.folder).as_posix() if c.image else None
        entry["track"] = heard_at(c)
        chapters.append(entry)
    return orjson.dumps(
        {
            "film": film.name,
            "gallery": str(plan.folder),
            "title": plan.title,
            "size": list(plan.options.size),
            "fps": plan.options.fps,
            "seconds": plan.options.seconds,
            "motion": plan.options.motion,
            "duration": round(plan.duration, 3),
            "silent": plan.silent or (None if plan.credited else "no track may be put to pictures"),
            "target_lufs": TARGET_LUFS,
            "chapters": chapters,
            "credits": [
                {"id": m.id, "title": m.title, "artist": m.artist, "licence": m.licence}
                for m in plan.credited
            ],
            "left_out": [
                {
                    "id": m.id,
                    "title": m.title,
                    "artist": m.artist,
                    "licence": m.licence,
                    "reason": why,
                }
                for m, why in plan.left_out
            ],
        },
        option=orjson.OPT_INDENT_2,
    )


def film_js(href: str, size: int, duration: float) -> str:
    """The gallery's film.js when the film lies inside it: where it is (relative to the gallery), its size in bytes
    and its length in seconds; the index's "Download the film" link reads it (site_template/static/gallery.js)."""
    from builder.gallery.site import script_json

    info = {"href": href, "size": size, "duration": round(duration, 1)}
    return f"window.GALLERY_FILM = {script_json(orjson.dumps(info))};\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_film(folder: Path, out: Path, options: Options, progress=_no_progress) -> Plan:
    """Read the gallery at folder and write the film to out (and its chapters to out.json), each renamed into
    place only when whole; when out lies inside the gallery, its film.js is pointed at the film."""
    from builder.gallery.outdir import locked

    folder = Path(os.path.abspath(folder))
    out = Path(os.path.abspath(out))
    data = read_gallery(folder)
    if options.motion not in MOTIONS:
        raise UsageError(f"--motion {options.motion!r}: choose {' or '.join(MOTIONS)}")
    if not (1 <= options.fps <= 120):
        raise UsageError("--fps must be between 1 and 120")
    if not (1.0 <= options.seconds <= 600):
        raise UsageError("--seconds must be between 1 and 600")
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out {out.name}: the film is an MP4; give a name ending in .mp4")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give the film's file name")
    into_gallery = inside(out, folder)
    plan = make_plan(folder, data, options)
    chapters_path = out.with_suffix(".json")
    if into_gallery:
        theirs = built_files(folder)
        for p in (out, chapters_path):
            if Path(os.path.relpath(p.resolve(), folder.resolve())).as_posix() in theirs:
                raise UsageError(
                    f"--out {out.name} would overwrite {p.name}, a file of the gallery; choose another name"
                )

    link = (
        into_gallery and (folder / "film.js").is_file()
    )  # a gallery built before film links has none to point

    def write() -> None:
        with atomic_path(out) as tmp_film, atomic_path(chapters_path) as tmp_json:
            render(plan, tmp_film, progress)
            tmp_json.write_bytes(chapters_json(plan, out))
            for tmp in (
                tmp_film,
                tmp_json,
            ):  # mkstemp makes 0600: a film is for sharing, like any file one saves
                os.chmod(tmp, 0o666 & ~_umask())
            size = tmp_film.stat().st_size
        if link:
            js = film_js(
                Path(os.path.relpath(out.resolve(), folder.resolve())).as_posix(),
                size,
                plan.duration,
            )
            with atomic_path(folder / "film.js") as tmp:
                tmp.write_text(js, encoding="utf-8")

    if into_gallery and not link:
        plan.warnings.append(
            "the gallery was built before film links: build it again, then make the film, to link it"
        )
    if into_gallery:
        with locked(folder):  # no build swaps the gallery while the film is written into it
            write()
    else:
        write()
    return plan
