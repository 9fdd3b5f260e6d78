"""The visitor's words: the message catalogues (one per language, messages/<lang>.json, en.json the
reference) and the sentences the pages and the viewer say about a picture and its music."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path, PurePosixPath

from builder.records import Gallery, ImageRecord

MESSAGES_DIR = Path(__file__).parent / "messages"
QUADRANT_RULES = ("reading", "vote", "av", "user", "random")  # each has a message rule_<name>


def load_messages(lang: str = "en") -> dict[str, str]:
    """The visitor's words in one language. A key missing from a catalogue falls back to English (a
    test keeps every catalogue complete, so this only guards a half-written third language)."""
    english = json.loads((MESSAGES_DIR / "en.json").read_text(encoding="utf-8"))
    if lang == "en":
        return english
    return {**english, **json.loads((MESSAGES_DIR / f"{lang}.json").read_text(encoding="utf-8"))}


class Words:
    """t("key", name=value) formats a message; tn("key", n) picks key_one or key_other by n."""

    def __init__(self, lang: str = "en"):
        self.lang = lang
        self.messages = load_messages(lang)

    def t(self, key: str, **values) -> str:
        text = self.messages[key]  # a missing key is a bug in a template: fail the build loudly
        return text.format(**values) if values else text

    def tn(self, key: str, n: int, **values) -> str:
        return self.t(f"{key}_one" if n == 1 else f"{key}_other", n=n, **values)

    def quadrant(self, q: int) -> str:
        return self.t(f"quadrant_{q}")


SEEN_THRESHOLD = 0.4  # a classifier label is shown from this probability on: usually right there
# (benchmarks/seen_threshold.py; docs/gallery.md)
DEGREES = (0.05, 0.15, 0.35)  # |valence| or |arousal| from which a reading is slight, fair, strong
MOVED_LEAST = 0.02  # a feature group that moved the reading less than this is not named
# the learned model's feature groups (builder.picture.feeling) -> their message key
GROUPS = {
    "the look of the picture (classifier features)": "group_look",
    "word ratings of what the classifier saw": "group_word_ratings",
    "detected objects": "group_objects",
    "word vectors of what the classifier saw": "group_word_vectors",
    "colour": "group_colour",
    "where the quadrant lines are drawn": "group_origin",
}


def degree(x: float) -> int:
    """0 (neither one way nor the other) to 3 (strongly): a reading's distance from the middle,
    in words rather than decimals."""
    return sum(abs(x) >= d for d in DEGREES)


def feeling_words(point: tuple[float, float], w: Words) -> str:
    """A point of the plane as a visitor says it: "slightly pleasant and fairly calm"."""
    parts = []
    for axis, x in zip(("valence", "arousal"), point):
        k = degree(x)
        parts.append(w.t(f"{axis}_{'neutral' if not k else ('up' if x > 0 else 'down')}_{k}"))
    return w.t("feeling_pair", valence=parts[0], arousal=parts[1])


def reads_as(q: int, w: Words) -> str:
    """A quadrant as the builder's reading, not a fact: "reads as calm–pleasant"."""
    return w.t("reads_as", quadrant=w.quadrant(q))


def _sentences(w: Words, *parts: str) -> str:
    return w.t("sentence_break").join(p for p in parts if p)


def quadrant_pictures(gallery: Gallery) -> Counter[int]:
    """How many of the gallery's pictures read in each quadrant: counted once by the writers of the
    pages and the data, and passed to explain (counting it for each picture is quadratic)."""
    return Counter(im.quadrant for im in gallery.images)


def first_reason(
    im: ImageRecord, gallery: Gallery, w: Words, counts: Counter[int] | None = None
) -> str:
    """Why the picture's first track is this one, from the facts gallery.json keeps (ImageRecord.
    reason, shared and pinned, Matching.quadrant_tracks): the curator chose it; the closest track;
    a close one, the closest going to other pictures; no track in this feeling, so the nearest
    elsewhere; and whether other pictures play it too, and why."""
    reason = "pinned" if im.pinned else im.reason
    said = {
        "pinned": lambda: w.t("why_pinned"),
        "nearest": lambda: w.t("why_nearest", quadrant=w.quadrant(im.quadrant)),
        "close": lambda: w.t("why_close", quadrant=w.quadrant(im.quadrant)),
        "off_quadrant": lambda: w.t("why_off_quadrant", quadrant=w.quadrant(im.quadrant)),
    }[reason]()
    if not im.shared:
        return said
    matching = gallery.matching
    tracks = matching.quadrant_tracks[im.quadrant - 1] if matching else 0
    pictures = (counts if counts is not None else quadrant_pictures(gallery))[im.quadrant]
    if reason in ("pinned", "off_quadrant") or not tracks:
        why = w.tn("why_shared", im.shared)
    elif tracks < pictures:
        why = w.tn("why_shared_few", im.shared, tracks=tracks, pictures=pictures)
    else:
        why = w.tn("why_shared_far", im.shared)
    return _sentences(w, said, why)


def explain(
    im: ImageRecord,
    gallery: Gallery,
    words: Words | None = None,
    counts: Counter[int] | None = None,
) -> dict[str, str]:
    """Per recommended track, a sentence (in the gallery's language) tracing it back to what pulled
    it there."""
    w = words or Words()
    notes: dict[str, str] = {}
    if im.tracks and (im.pinned or im.reason):
        notes[im.tracks[0].id] = first_reason(im, gallery, w, counts)
    if gallery.method.startswith("learned"):
        for n, t in enumerate(im.tracks):
            if t.id in notes:
                continue
            ordinal = w.t(f"ordinal_{n + 1}") if n + 1 in (2, 3) else w.t("ordinal_n", n=n + 1)
            notes[t.id] = (
                w.t("why_learned_first") if n == 0 else w.t("why_learned_other", ordinal=ordinal)
            )
        return notes
    for c in im.clusters:
        if c.track is None or c.track in notes or c.track not in {t.id for t in im.tracks}:
            continue
        members = [im.impressions[i] for i in c.members if i < len(im.impressions)]
        if not members:
            continue
        heaviest = sorted(members, key=lambda m: -m.weight)
        top_words = list(dict.fromkeys(m.word for m in heaviest))[:5]
        sources = list(dict.fromkeys(m.source for m in heaviest))[:5]
        notes[c.track] = w.tn(
            "why_cluster",
            len(members),
            words=", ".join(top_words),
            sources=", ".join(repr(s) for s in sources),
            quadrant=w.quadrant(c.quadrant),
        )
    for t in im.tracks:
        if t.id not in notes:
            notes[t.id] = (
                w.t("why_fallback", fallback=im.fallback)
                if im.fallback
                else w.t("why_chosen_quadrant")
            )
    return notes


def plot_summary(im: ImageRecord, gallery: Gallery, words: Words | None = None) -> str:
    """The plane in words, for people who cannot see it."""
    w = words or Words()
    name = w.quadrant(im.quadrant)
    if im.target is not None:
        return w.t(
            "summary_target",
            quadrant=reads_as(im.quadrant, w),
            feeling=feeling_words(im.target, w),
            size=gallery.catalogue.size,
        )
    if (
        im.impressions
        and gallery.method.startswith(("objects", "caption"))
        and sum(im.quadrant_counts)
    ):
        share = im.quadrant_counts[im.quadrant - 1] / sum(im.quadrant_counts)
        how = w.t("summary_share", share=f"{100 * share:.0f}")
    else:
        how = im.fallback or w.t("rule_other")
    return w.tn(
        "summary_feeling",
        len(im.clusters),
        quadrant=name,
        how=how,
        feeling=feeling_words(im.av, w),
        words=len(im.impressions),
    )


def rule_text(im: ImageRecord, w: Words) -> str:
    """How the picture's quadrant was decided, in words."""
    return w.t(f"rule_{im.quadrant_rule}" if im.quadrant_rule in QUADRANT_RULES else "rule_other")


def seen_labels(im: ImageRecord) -> list[str]:
    """What the classifiers saw with a confidence that makes it usually right (SEEN_THRESHOLD)."""
    return [s.label for s in im.seen if s.score >= SEEN_THRESHOLD]


def seen_text(im: ImageRecord, w: Words) -> str:
    """What was seen, in one line: the classifiers' confident labels (learned) or the detected
    objects; "" where nothing was seen with confidence. The labels stay as the classifier names them
    (English: the pages mark them so)."""
    if im.seen or not im.objects:
        labels = seen_labels(im)
        return w.t("classifier_saw") + " " + ", ".join(labels) if labels else ""
    return w.t("what_was_seen") + ": " + ", ".join(dict.fromkeys(o.label for o in im.objects))


def moved(im: ImageRecord, w: Words) -> list[str]:
    """What moved the reading most (learned): up to three feature groups, each with what it did in
    words ("the colours: more pleasant, a little calmer"); groups that barely moved it are left out.
    """
    top = sorted(im.contributions or (), key=lambda c: -(abs(c.valence) + abs(c.arousal)))[:3]
    out = []
    for c in top:
        effects = []
        for axis, x in (("valence", c.valence), ("arousal", c.arousal)):
            if abs(x) < MOVED_LEAST:
                continue
            effect = w.t(f"moved_{axis}_{'up' if x > 0 else 'down'}")
            effects.append(effect if abs(x) >= DEGREES[1] else w.t("a_little", what=effect))
        if effects:
            group = w.t(GROUPS[c.group]) if c.group in GROUPS else c.group
            out.append(w.t("moved_group", group=group, effects=w.t("list_join").join(effects)))
    return out


def moved_text(im: ImageRecord, w: Words) -> str:
    """moved() in one line."""
    groups = moved(im, w)
    return w.t("moved_by") + " " + w.t("group_join").join(groups) if groups else ""


def method_words(method: str, w: Words) -> str:
    """How the pictures were read ("learned:yolo-fastest"), in the visitor's words; "" for a method
    these words do not know."""
    kind = method.split(":")[0]
    kind = "caption" if kind.startswith("caption") else kind
    return w.t(f"method_{kind}") if kind in ("learned", "objects", "caption", "random") else ""


def display_name(im: ImageRecord) -> str:
    """A picture's name for a visitor: its title, else its file name without folder or extension
    (only as a last resort)."""
    if im.title:
        return im.title
    name = PurePosixPath(im.file).name
    stem = PurePosixPath(name).stem
    return stem or name


def alt_text(im: ImageRecord) -> str:
    """What a picture shows, in words: the curator's (sheet), else its caption, else its name."""
    return im.alt or (im.caption.text if im.caption and im.caption.text else display_name(im))
