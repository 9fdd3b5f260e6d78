"""Music catalogues annotated in valence/arousal: DEAM from the asset registry, or a user's own CSV.

DEAM rates each song on 1-9; we map to [-1, 1] as (x - 5) / 4.

The 2013 swap: in DEAM's static_annotations_averaged_songs_1_2000.csv the columns labelled valence
and arousal are swapped for songs 1-1000 (the 2013 set). Evidence (shared/README.md): for those
songs the column labelled valence correlates 0.96 with emoMusic's time-averaged *arousal*, Rock has
its highest and Classical its lowest mean (the pattern arousal shows in 2014), and its spread is the
larger one, as arousal's is. With ``swap_2013=True`` (the default) we swap them back;
``--no-deam-2013-swap`` keeps the file as labelled.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.assets import AssetStore
from builder.errors import UsageError
from builder.files import regular_input, spreadsheet_text
from builder.music.moments import Moment, deam_moments, from_cell
from builder.records import Track

SWAP_2013_LAST_ID = 1000


@dataclass(frozen=True)
class Catalogue:
    name: str
    tracks: tuple[Track, ...]
    # track id -> where in the track the music feels how (builder.music.moments): DEAM's ratings
    # through time, the listener's windowed reading, or a catalogue CSV's `moments` column; a track
    # without any plays from where it stops being quiet
    moments: Mapping[str, tuple[Moment, ...]] = field(default_factory=dict, compare=False)

    @property
    def content_hash(self) -> str:
        """Hash of what the index depends on: ids and coordinates, in order."""
        h = hashlib.sha256()
        for t in self.tracks:
            h.update(f"{t.id}\t{t.valence:.6f}\t{t.arousal:.6f}\n".encode())
        return h.hexdigest()[:16]

    def by_id(self) -> dict[str, Track]:
        return {t.id: t for t in self.tracks}

    def playable(self) -> Catalogue:
        kept = tuple(t for t in self.tracks if t.audio)
        if len(kept) == len(self.tracks):
            return self
        return Catalogue(self.name + " (playable)", kept, self.moments)

    def without(self, licences: tuple[str, ...] = (), genres: tuple[str, ...] = ()) -> Catalogue:
        """Leave out tracks whose licence or genre contains any of the texts (case-insensitive).
        When licences are filtered, a track of unknown licence is left out too: its use cannot be
        shown to be allowed."""
        lic = [x.lower() for x in licences]
        gen = [x.lower() for x in genres]

        def keep(t: Track) -> bool:
            if lic and (not t.licence or any(x in t.licence.lower() for x in lic)):
                return False
            return not any(x in (t.genre or "").lower() for x in gen)

        kept = tuple(t for t in self.tracks if keep(t))
        if len(kept) == len(self.tracks):
            return self
        return Catalogue(self.name + " (filtered)", kept, self.moments)


def deam_scale(x: float) -> float:
    return (x - 5.0) / 4.0


def _read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip().replace(" ", "") for h in next(reader)]
        return [dict(zip(header, (c.strip() for c in row))) for row in reader if row]


def load_deam_annotations(
    path_1_2000: Path, path_2000_2058: Path, *, swap_2013: bool
) -> dict[str, tuple[float, float]]:
    """song id -> (valence, arousal) on DEAM's 1-9 scale, with the 2013 correction applied if
    asked."""
    out: dict[str, tuple[float, float]] = {}
    for path in (path_1_2000, path_2000_2058):
        for row in _read_rows(path):
            sid = str(int(float(row["song_id"])))
            v, a = float(row["valence_mean"]), float(row["arousal_mean"])
            if swap_2013 and int(sid) <= SWAP_2013_LAST_ID:
                v, a = a, v
            out[sid] = (v, a)
    return out


def load_deam_metadata(paths: dict[str, Path]) -> dict[str, tuple[str, str, str]]:
    """song id -> (artist, title, genre). Column orders differ per year (see shared/README.md)."""
    meta: dict[str, tuple[str, str, str]] = {}
    # (artist, title, genre) column positions; the 2013 file's second column holds file names.
    layout = {"2013": (2, 3, 4), "2014": (1, 3, 4), "2015": (2, 1, 4)}
    for year, path in paths.items():
        ia, it, ig = layout[year]
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                if len(row) <= max(ia, it, ig) or not row[0].strip():
                    continue
                try:
                    sid = str(int(float(row[0])))
                except ValueError:
                    continue
                meta[sid] = (_clean(row[ia]), _clean(row[it]), _clean(row[ig]))
    return meta


def _clean(text: str) -> str:
    return " ".join(text.split())


def _text(value) -> str:
    """A catalogue cell as the builder keeps it: NUL and other control characters out (they cut
    strings short in C libraries and confuse terminals), surrounding space off, and a
    spreadsheet's protective quote removed."""
    if not isinstance(value, str):
        return ""
    cleaned = "".join(ch for ch in value if ch >= " " or ch == "\t").replace("\x7f", "")
    return spreadsheet_text(cleaned.strip())


def _clip_licences(audio_dir: Path) -> dict[str, str]:
    index = audio_dir / "clips_index.csv"
    if not index.exists():
        return {}
    return {r["song_id"]: r.get("licence_id3_TCOP", "") for r in _read_rows(index)}


def load_deam(store: AssetStore, *, swap_2013: bool = True) -> Catalogue:
    ann = load_deam_annotations(
        store.resolve("deam-static-1-2000"),
        store.resolve("deam-static-2000-2058"),
        swap_2013=swap_2013,
    )
    meta = load_deam_metadata(
        {y: store.resolve(f"deam-metadata-{y}") for y in ("2013", "2014", "2015")}
    )
    audio_dir = store.optional("deam-audio")
    licences = _clip_licences(audio_dir) if audio_dir else {}
    tracks = []
    for sid in sorted(ann, key=int):
        v, a = ann[sid]
        artist, title, genre = meta.get(sid, ("", f"DEAM song {sid}", ""))
        audio = audio_dir / f"{sid}.mp3" if audio_dir else None
        tracks.append(
            Track(
                id=sid,
                title=title or f"DEAM song {sid}",
                artist=artist,
                genre=genre,
                valence=round(deam_scale(v), 6),
                arousal=round(deam_scale(a), 6),
                audio=str(audio) if audio is not None and audio.is_file() else None,
                licence=licences.get(sid) or None,
            )
        )
    # the 2013 songs' ratings through time, where found (not downloaded: the film and the excerpts
    # do without them)
    return Catalogue("DEAM", tuple(tracks), deam_moments(store))


REQUIRED = ("id", "title", "artist", "valence", "arousal")
TEXT_CAP = 200  # characters of a track's id, title, artist, genre or licence (a page shows them)

# How each container the builder decodes begins (its "magic"): a row's audio must be audio by its
# content, not by its name, before it is copied into a gallery.
_AUDIO_STARTS = (
    b"ID3",  # MP3 with its tags first
    b"fLaC",
    b"OggS",  # Ogg Vorbis, Opus, FLAC in Ogg
    b"\x1a\x45\xdf\xa3",  # Matroska, WebM
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF: WMA
    b"#!AMR",
    b"MAC ",  # Monkey's Audio
    b"wvpk",  # WavPack
    b"MPCK",  # Musepack
    b"TTA1",
    b".snd",  # Sun/NeXT audio
    b"caff",  # Core Audio
)


def sounds_like_audio(head: bytes) -> bool:
    """Whether a file's first 16 bytes begin an audio container or stream the builder decodes."""
    if head.startswith(_AUDIO_STARTS):
        return True
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[4:8] == b"ftyp":  # MP4 / M4A
        return True
    # an MPEG audio frame or an ADTS (AAC) header: 11 bits of sync; no text file begins with 0xFF
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _not_audio(path: Path) -> str | None:
    """Why the file at path is not taken as a track's audio (not a regular file, empty, over the
    size limit, not audio by its content), or None."""
    from builder.files import open_input, unreadable_input

    try:
        fh, st = open_input(path)
        with fh:
            why = unreadable_input(st, "audio file")
            if why is None and not sounds_like_audio(fh.read(16)):
                why = "is not an audio file by its content"
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or exc})"
    return why


def _confined_audio(
    roots: tuple[Path, ...],
    given: str,
    line: int,
    problems: list[str],
    exclude: tuple[Path, ...] = (),
) -> str | None:
    """The audio file a row names, only if it lies inside the catalogue's folder or a folder the
    user named with --audio-root (links resolved), outside the folders in `exclude` (the gallery
    being written, the cache), and is an audio file by its content: a catalogue must never get a
    file from elsewhere (/etc/passwd, ../../private) or a file that is not audio (the catalogue
    itself) copied into a publishable gallery."""
    if Path(given).is_absolute() or given.startswith("~"):
        problems.append(
            f"line {line}: audio path {given!r} is absolute; paths must be relative to the "
            "catalogue's folder; track kept without audio"
        )
        return None
    try:
        resolved = (roots[0] / given).resolve()
    except (OSError, RuntimeError, ValueError):
        resolved = None
    if resolved is None or not any(root in resolved.parents for root in roots):
        problems.append(
            f"line {line}: audio path {given!r} leaves the catalogue's folder (name the folder "
            "with --audio-root to allow it); track kept without audio"
        )
        return None
    if not resolved.exists():
        problems.append(f"line {line}: audio file {given!r} not found; track kept without audio")
        return None
    for folder in exclude:
        real = folder.resolve()
        if resolved == real or real in resolved.parents:
            problems.append(
                f"line {line}: audio file {given!r} lies in {folder}, which the build writes; "
                "track kept without audio"
            )
            return None
    why = _not_audio(resolved)
    if why is not None:
        problems.append(f"line {line}: audio file {given!r} {why}; track kept without audio")
        return None
    return str(resolved)


def load_csv_catalogue(
    path: Path, audio_root: Path | None = None, exclude: tuple[Path, ...] = ()
) -> tuple[Catalogue, list[str]]:
    """A user's catalogue: id,title,artist,valence,arousal[,audio,licence[,genre[,moments]]],
    valence/arousal in [-1, 1] (moments: builder.music.moments.to_cell, as `builder music score`
    writes them).

    Rows with a missing id or a missing, non-numeric or out-of-range value are skipped and reported
    (second return value); audio paths are relative to the CSV's folder and must stay inside it or
    inside audio_root (the user's --audio-root), outside the folders in `exclude`, and name audio
    files by their content (else the track is kept without audio, and reported).
    """
    regular_input(
        path, "catalogue"
    )  # a named pipe would block for ever, a huge file fill the memory
    rows: list[tuple[int, dict[str, str] | None, int | str]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in fields]
            if missing:
                raise UsageError(
                    f"catalogue {path} lacks the column(s) {', '.join(missing)}; "
                    f"expected {','.join(REQUIRED)}[,audio,licence]"
                )
            last = (
                reader.line_num
            )  # where the previous row ended: a bad row starts on the next line
            while True:
                try:
                    raw = next(reader)
                except StopIteration:
                    break
                except (
                    csv.Error
                ) as exc:  # one bad row (a field over csv's limit, say) costs that row only
                    rows.append((last + 1, None, str(exc)))
                    last = reader.line_num
                    continue
                last = reader.line_num
                extra = raw.pop(
                    None, None
                )  # a row with more fields than the header puts the rest under None
                row = {(k or "").strip().lower(): _text(v) for k, v in raw.items()}
                rows.append((reader.line_num, row, len(extra) if extra else 0))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read catalogue {path}: {exc}") from exc
    roots = (path.resolve().parent,) + ((audio_root.resolve(),) if audio_root is not None else ())
    tracks, problems, seen = [], [], set()
    moments: dict[str, tuple[Moment, ...]] = {}
    for line, r, extra in rows:
        if r is None:
            problems.append(f"line {line}: {extra}; row skipped")
            continue
        if extra:
            problems.append(
                f"line {line}: {extra} more field{'s' * (extra != 1)} than the header; row skipped"
            )
            continue
        try:
            v, a = float(r["valence"]), float(r["arousal"])
        except (TypeError, ValueError):
            problems.append(f"line {line}: valence/arousal missing or not a number")
            continue
        if not r["id"]:
            problems.append(f"line {line}: empty id")
            continue
        if not all(math.isfinite(x) and -1.0 <= x <= 1.0 for x in (v, a)):
            problems.append(f"line {line}: valence/arousal outside [-1, 1]")
            continue
        if len(r["id"]) > TEXT_CAP:
            problems.append(f"line {line}: id of {len(r['id']):,} characters (at most {TEXT_CAP})")
            continue
        if r["id"] in seen:
            problems.append(f"line {line}: duplicate id {r['id']!r}")
            continue
        seen.add(r["id"])
        for key in ("title", "artist", "genre", "licence"):
            if len(r.get(key) or "") > TEXT_CAP:
                problems.append(
                    f"line {line}: {key} of {len(r[key]):,} characters, cut to {TEXT_CAP}"
                )
                r[key] = r[key][: TEXT_CAP - 1] + "…"
        audio = r.get("audio") or None
        if audio:
            audio = _confined_audio(roots, audio, line, problems, exclude)
        tracks.append(
            Track(
                r["id"],
                r["title"],
                r["artist"],
                v,
                a,
                genre=r.get("genre", ""),
                audio=audio,
                licence=r.get("licence") or None,
            )
        )
        if r.get("moments"):
            try:
                found = from_cell(r["moments"])
                if found:
                    moments[r["id"]] = found
            except ValueError as exc:
                problems.append(
                    f"line {line}: moments cannot be read ({exc}); the track plays from where "
                    "it stops being quiet"
                )
    if not tracks:
        raise UsageError(
            f"catalogue {path} has no usable rows ({'; '.join(problems[:5]) or 'it is empty'})"
        )
    return Catalogue(path.stem, tuple(tracks), moments), problems
