"""The film as a file: the MP4 (H.264 video, AAC sound, chapter markers), its chapters JSON and
film.js.

One thread composes frames ahead (builder.film.frames; Pillow and numpy let go of the GIL) while
this one converts them to 4:2:0 and hands them to x264, whose own threads encode; the sound
(builder.film.sound) is mixed a block at a time and kept a little ahead of the pictures,
interleaved in the file.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import orjson

from builder.film.frames import Looks
from builder.film.layout import band_box, shown_size
from builder.film.plan import Chapter, Plan
from builder.film.sound import RATE, TARGET_LUFS, Mixer
from builder.records import Track

AUDIO_BLOCK = 1024 * 45  # samples mixed at a time (AAC frames are 1024 samples)
LOOKAHEAD = 3  # frames composed ahead of the encoder
PRESET, CRF = "veryfast", "23"
# veryfast with a lighter motion search: the pictures move slowly and smoothly, so a diamond search
# and less sub-pixel refinement find the motion as well, for less CPU a frame and a somewhat larger
# file (timed by hand on the demo's frames)
X264_PARAMS = "rc-lookahead=10:subme=1:me=dia:trellis=0"
MADE_BY = "gallery-builder film"  # in the MP4's comment and the chapters JSON's made_by


def no_progress(items, label, total):
    yield from items


def chapter_markers(plan: Plan) -> list[dict]:
    """The MP4's chapter markers (players show them as a chapter list), in milliseconds."""
    return [
        {
            "id": n + 1,
            "start": round(c.start * 1000),
            "end": round(c.end * 1000),
            "time_base": Fraction(1, 1000),
            "metadata": {"title": c.heading},  # the cards' in the gallery's language
        }
        for n, c in enumerate(plan.chapters)
    ]


def _video_stream(container, plan: Plan):
    """H.264 in yuv420p at the plan's size and rate, tagged with the conversion of its pixels."""
    video = container.add_stream(
        "libx264",
        rate=plan.options.fps,
        options={"preset": PRESET, "crf": CRF, "x264-params": X264_PARAMS},
    )
    video.width, video.height = plan.options.size
    video.pix_fmt = "yuv420p"
    # say which conversion made the pixels, so players do not guess BT.709 for HD sizes and shift
    # the colours: FFmpeg's SMPTE170M (BT.601), stable numbers, in the MPEG (limited) range
    cc = video.codec_context
    cc.colorspace = cc.color_primaries = cc.color_trc = 6
    cc.color_range = 1
    return video


def render(plan: Plan, path: Path, progress=no_progress) -> None:
    """Encode the plan into an MP4 at path: H.264 (yuv420p) + AAC, moov atom first, with chapter
    markers."""
    import av
    import cv2

    o = plan.options
    looks, mixer = Looks(plan), Mixer(plan)
    frames = max(1, round(plan.duration * o.fps))
    total_samples = round(frames / o.fps * RATE)
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        container.metadata["title"] = plan.title
        container.metadata["comment"] = MADE_BY  # so a later film knows the file is one it made
        container.set_chapters(chapter_markers(plan))
        video = _video_stream(container, plan)
        audio = container.add_stream("aac", rate=RATE, layout="stereo")
        audio.bit_rate = 160_000
        done = 0

        def compose(k: int):
            # RGB to 4:2:0 with BT.601 limited-range coefficients, as swscale's default (and the
            # stream's tags)
            yuv = cv2.cvtColor(looks.frame(k / o.fps), cv2.COLOR_RGB2YUV_I420)
            vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            vf.pts, vf.time_base = k, Fraction(1, o.fps)
            return vf

        # one thread composes the next frames (Pillow and numpy let go of the GIL) while this one
        # converts and hands frames to x264, whose own threads encode: the two cores stay busy
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="film-frames") as pool:
            pending = deque(pool.submit(compose, k) for k in range(min(LOOKAHEAD, frames)))
            try:
                for n in progress(range(frames), "making the film", frames):
                    vf = pending.popleft().result()
                    if n + LOOKAHEAD < frames:
                        pending.append(pool.submit(compose, n + LOOKAHEAD))
                    container.mux(video.encode(vf))
                    ahead = min(total_samples, round((n + 1) / o.fps * RATE) + AUDIO_BLOCK)
                    # keep the sound a little ahead of the pictures, interleaved in the file
                    while done < ahead:
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


def _about(track: Track) -> dict:
    return {"id": track.id, "title": track.title, "artist": track.artist, "licence": track.licence}


def chapters_json(plan: Plan, film: Path) -> bytes:
    """FILM.json: every chapter with its start and end seconds, what is shown and heard in it, and
    the licences' reasons (the cards credit; the reasons are for the curator). Paths are relative
    to the gallery; the gallery's own place is not written (the file is published with it)."""
    size = plan.options.size

    def heard_at(c: Chapter) -> dict | None:
        if c.music is None:
            return None
        heard = (
            s for s in plan.segments if s.music.id == c.music.id and s.a0 <= c.start + 1e-6 < s.a1
        )
        seg = next(heard, None)
        at = c.music.start
        # a track several pictures in a row hear plays on from the first one's start
        if seg is not None:
            into = max(0.0, c.start - seg.a0)
            at = seg.music.start + (into % seg.loop_s if seg.loop_s else into)
        return {
            **_about(c.music),
            "excerpt_start": round(at, 3),
            "plays_on": c.plays_on,
            "loudness_lufs": seg.loudness if seg else None,
            "gain_db": seg.gain_db if seg else None,
        }

    chapters = []
    for c in plan.chapters:
        entry: dict = {
            "kind": c.kind,
            "start": round(c.start, 3),
            "end": round(c.end, 3),
            "title": c.heading,
        }
        if c.kind == "picture":
            fw, fh, scale = shown_size(c.pixels, size, plan.options.motion)
            entry.update(
                file=c.file,
                image=c.image.relative_to(plan.folder).as_posix() if c.image else None,
                caption=c.caption,
                track_line=c.track_line,
                # where the band of words is in the frame (x, y, width, height), for a check
                caption_box=list(band_box(size)),
                pixels=list(c.pixels),
                shown=[fw, fh],
                enlarged=round(scale, 3),
            )
            if c.feeling is not None:
                entry["song_feeling"] = list(c.feeling)
        else:
            entry["text"] = [it.text for it in c.items]
        entry["track"] = heard_at(c)
        chapters.append(entry)
    return orjson.dumps(
        {
            "made_by": MADE_BY,
            "film": film.name,
            "title": plan.title,
            "intro": plan.intro,
            "lang": plan.lang,
            "size": list(size),
            "fps": plan.options.fps,
            "seconds": plan.options.seconds,
            "motion": plan.options.motion,
            "order": plan.order,
            "song": _about(plan.song) if plan.song else None,
            "duration": round(plan.duration, 3),
            "silent": plan.silent or (None if plan.credited else "no track may be put to pictures"),
            "target_lufs": TARGET_LUFS,
            "chapters": chapters,
            "credits": [{**_about(m), "reason": plan.why.get(m.id, "")} for m in plan.credited],
            "left_out": [{**_about(m), "reason": why} for m, why in plan.left_out],
        },
        option=orjson.OPT_INDENT_2,
    )


def film_js(href: str, size: int, duration: float) -> str:
    """The gallery's film.js when the film lies inside it: where it is (relative to the gallery,
    URL-encoded: `a#b.mp4` is `a%23b.mp4`), its size in bytes and its length in seconds; the
    index's "Download the film" link reads it (site_template)."""
    from urllib.parse import quote

    from builder.gallery.data import script_json

    info = {"href": quote(href), "size": size, "duration": round(duration, 1)}
    return f"window.GALLERY_FILM = {script_json(orjson.dumps(info))};\n"
