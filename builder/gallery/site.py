"""Writes the static gallery: pages that open from file:// and from any static host.

Layout of OUT:
  index.html              thumbnails of every picture
  pages/<slug>.html       one page per picture (links are relative, so the folder can move)
  img/<slug>-<side>.webp|jpg, thumbs/...  display copies (<= 1600 px) and thumbnails (<= 480 px):
                          WebP at each size, JPEG at the largest only (the <img> fallback); sRGB
  audio/<id>.mp3          only the audio of tracks actually recommended
  index-2.html, index-q1.html ...  further pages of the index, and each quadrant's pages
  gallery.json            the output contract (docs/gallery.md "Output")
  film.js                 `window.GALLERY_FILM = null;` until `builder film` writes a film into it
  study.html, data/study.js  the visitors' study, in a gallery built with --study (docs/study.md)
  catalogue.js, data/     the catalogue and the data shards as classic scripts (gallery.data)
  music-index.hnsw        the hnswlib index of the catalogue used
  static/                 CSS and the scripts of each feature; messages.js (the visitor's words in
                          the gallery's language); photoswipe.umd.min.js, photoswipe.css (the
                          viewer, copied from the npm tarball)

Who writes what: copies (the pictures' copies and the audio), order (the slideshow's walk), data
(gallery.json and the data scripts), pages (the Jinja pages), text (every word the visitor reads).
Everything is written to a temporary folder beside OUT and swapped in at the end, so a failed or
interrupted build leaves the previous gallery as it was (builder.gallery.outdir). Of the old
gallery only the user's own files are carried over: never a temporary file or a cache folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from builder import signals
from builder.files import atomic_path
from builder.gallery import data, pages
from builder.gallery.copies import AudioCopies, Copies, mean_colour, picture_copies, slug_for
from builder.gallery.order import slideshow_order
from builder.gallery.outdir import (
    carry_foreign,
    exchange,
    foreign_files,
    locked,
    look_into,
    normal_permissions,
    sync_tree,
    write_marker,
)
from builder.gallery.text import Words
from builder.records import Failure, Gallery, ImageRecord, Study


def prepare_out(out: Path) -> tuple[list[str], list[str]]:
    """Refuse an OUT that this builder did not write (nothing of the user's is ever deleted); return
    the files in it that the builder did not write, which the new gallery will keep, and those of
    the builder's that are no part of a gallery (temporary files of a writer that died, a cache
    folder), which it leaves out (builder.gallery.outdir)."""
    real = Path(os.path.realpath(out))
    return look_into(real)  # one look at the old gallery


def write_site(
    gallery: Gallery,
    input_dir: Path,
    out: Path,
    cache_dir: Path,
    hashes: dict[str, str],
    index: Any = None,
    progress: Callable[..., Iterable] | None = None,
    all_audio: bool = False,
    workers: int = 1,
    viewer: Path | None = None,
) -> Gallery:
    """Write the whole gallery into a temporary folder, then swap it in place of OUT. Returns the
    final Gallery.

    viewer: the PhotoSwipe npm tarball (asset "photoswipe"); without it the index's cards open the
    picture pages (the CLI always gives it: a missing one is an error before the build starts).
    index: the MusicIndex used (saved into OUT, and its catalogue inlined for exploring the plane);
    all_audio: copy the audio of every catalogue track (a small, playable catalogue), so that tracks
    found by exploring the plane play too. Otherwise only recommended audio is copied. Pictures that
    vanished or changed since they were read are moved to `failed`. workers: threads that render the
    picture copies the analysis did not make (Pillow decodes, scales and encodes without holding the
    GIL). See builder.gallery.outdir for ownership, the lock and the swap.
    """
    out = Path(
        os.path.realpath(out)
    )  # links resolved: the lock and the swap are of the real folder
    with locked(out):
        foreign = foreign_files(out)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-{os.getpid()}-"))
        try:
            final = _write_into(
                tmp,
                gallery,
                input_dir,
                cache_dir,
                hashes,
                index,
                progress,
                all_audio,
                workers,
                viewer,
            )
            carry_foreign(out, tmp, foreign)
            write_marker(tmp, final.version, foreign)
            normal_permissions(tmp)
            # on disk before it replaces the old gallery: a power cut leaves one whole gallery
            sync_tree(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # the swap and the old gallery's removal: a signal waits, then says which side it is
        with signals.held():
            try:
                old = exchange(tmp, out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            signals.leaves(f"the new gallery was already in place in {out}")
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return final


def _write_into(
    tmp: Path,
    gallery: Gallery,
    input_dir: Path,
    cache_dir: Path,
    hashes: dict[str, str],
    index,
    progress,
    all_audio: bool,
    workers: int = 1,
    viewer: Path | None = None,
) -> Gallery:
    for sub in ("pages", "img", "thumbs", "audio", "static"):
        (tmp / sub).mkdir()
    audio = AudioCopies(tmp)
    final, renders = _with_copies(
        tmp, gallery, input_dir, cache_dir, hashes, progress, workers, audio
    )
    data.write_gallery_json(tmp, final)
    if index is not None:
        index.save(tmp / "music-index.hnsw")
        tracks = index.catalogue.tracks
        data.write_catalogue(
            tmp, index.catalogue.name, tracks, audio.copy if all_audio else audio.get
        )
    data.write_film_placeholder(tmp)
    licence = pages.copy_static(tmp, viewer, study=final.study is not None)
    words = Words(final.lang)
    data.write_messages(tmp, words)
    title = final.title or Path(os.path.abspath(input_dir)).name
    env = pages.environment(words, title, licence, cache_dir)
    pages.write_pages(tmp, env, final, renders, words)
    data.write_shards(tmp, final, renders, words)
    if final.study is not None:
        data.write_study(tmp, final)
    return final


def _with_copies(
    tmp: Path,
    gallery: Gallery,
    input_dir: Path,
    cache_dir: Path,
    hashes: dict[str, str],
    progress,
    workers: int,
    audio: AudioCopies,
) -> tuple[Gallery, dict[str, Copies]]:
    """The gallery as written: each picture with its copies, page and the audio it plays inside OUT
    (a picture whose copies cannot be made moves to `failed`), in the slideshow's order."""
    images = []
    renders: dict[str, Copies] = {}
    failed = list(gallery.failed)

    def copies(im: ImageRecord) -> tuple[Copies | str, str]:
        made = picture_copies(im, input_dir, tmp, cache_dir, hashes[im.file])
        if isinstance(made, str):
            return made, ""
        return made, _colour(tmp / made["thumb"]["webp"][0][0], cache_dir, hashes[im.file])

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        mapped = pool.map(copies, gallery.images)
        made = list(
            mapped if progress is None else progress(mapped, "writing pages", len(gallery.images))
        )
    for im, (result, colour) in zip(gallery.images, made):
        if isinstance(result, str):
            failed.append(Failure(im.file, result))
            continue
        renders[im.file] = result
        tracks = tuple(replace(t, audio=audio.copy(t)) for t in im.tracks)
        images.append(
            replace(
                im,
                tracks=tracks,
                page=f"pages/{slug_for(im.file)}.html",
                image=result["image"]["default"],
                thumb=result["thumb"]["default"],
                colour=colour,
            )
        )
    # how many other pictures of this gallery (those whose copies were made) share a first track
    firsts = Counter(im.tracks[0].id for im in images if im.tracks)
    images = [replace(im, shared=firsts[im.tracks[0].id] - 1) if im.tracks else im for im in images]
    final = replace(
        gallery,
        images=tuple(images),
        study=_study_copies(gallery.study, renders, audio),
        # the curator's order when the pipeline gives one (builder.curation), else the walk
        slideshow=tuple(f for f in gallery.slideshow if f in renders)
        if gallery.slideshow
        else tuple(slideshow_order(images)),
        slideshow_by="curator" if gallery.slideshow else "feeling",
        failed=tuple(sorted(failed, key=lambda f: f.file)),
    )
    return final, renders


def _study_copies(
    study: Study | None, renders: dict[str, Copies], audio: AudioCopies
) -> Study | None:
    """The study as written: the pictures the gallery holds, and the audio of every track a
    condition picks copied into OUT (what a visitor rates is in the gallery, whatever it plays
    elsewhere)."""
    if study is None:
        return None
    pictures = {f: picks for f, picks in study.pictures.items() if f in renders}
    picked = {p.track for picks in pictures.values() for p in picks.values()}
    tracks = tuple(replace(t, audio=audio.copy(t)) for t in study.tracks if t.id in picked)
    return replace(study, pictures=pictures, tracks=tracks)


def _colour(thumb: Path, cache_dir: Path, sha: str) -> str:
    """The picture's mean colour (copies.mean_colour), kept in the cache by content beside its
    renders, so a rebuild of many pictures decodes none of them again for it."""
    cached = cache_dir / "renders" / f"{sha}-mean.txt"
    try:
        known = cached.read_text(encoding="ascii").strip()
        if len(known) == 7 and known.startswith("#"):
            return known
    except (OSError, UnicodeDecodeError):
        pass
    colour = mean_colour(thumb)
    if colour:
        try:
            with atomic_path(cached, durable=False) as tmp:
                tmp.write_text(colour, encoding="ascii")
        except OSError:
            pass  # an unwritable cache costs the decoding next time, nothing else
    return colour
