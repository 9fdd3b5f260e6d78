"""The visitor's words: the message catalogues (one per language, messages/<lang>.json, en.json the
reference) and the sentences the pages and the viewer say about a picture and its music."""

from __future__ import annotations

import json
from pathlib import Path

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


def explain(im: ImageRecord, method: str = "", words: Words | None = None) -> dict[str, str]:
    """Per recommended track, a sentence (in the gallery's language) tracing it back to what pulled
    it there."""
    w = words or Words()
    notes: dict[str, str] = {}
    if method.startswith("learned"):
        for n, t in enumerate(im.tracks):
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
            quadrant=name,
            valence=f"{im.target[0]:+.2f}",
            arousal=f"{im.target[1]:+.2f}",
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
        valence=f"{im.av[0]:+.2f}",
        arousal=f"{im.av[1]:+.2f}",
        words=len(im.impressions),
    )


def rule_text(im: ImageRecord, w: Words) -> str:
    """How the picture's quadrant was decided, in words."""
    return w.t(f"rule_{im.quadrant_rule}" if im.quadrant_rule in QUADRANT_RULES else "rule_other")


def seen_text(im: ImageRecord, w: Words) -> str:
    """What was seen, in one line: the classifiers' top labels (learned) or the detected objects."""
    if im.seen:
        labels = ", ".join(f"{s.label} ({100 * s.score:.0f} %)" for s in im.seen)
        return w.t("classifier_saw") + " " + labels
    if im.objects:
        return w.t("what_was_seen") + ": " + ", ".join(dict.fromkeys(o.label for o in im.objects))
    return ""


def moved_text(im: ImageRecord, w: Words) -> str:
    """What moved the reading most (learned): the three largest contributions, in one line."""
    top = sorted(im.contributions or (), key=lambda c: -(abs(c.valence) + abs(c.arousal)))[:3]
    if not top:
        return ""
    return (
        w.t("moved_by")
        + " "
        + "; ".join(
            f"{c.group} ({w.t('valence')} {c.valence:+.2f}, {w.t('arousal')} {c.arousal:+.2f})"
            for c in top
        )
    )


def alt_text(im: ImageRecord) -> str:
    """What a picture shows, in words: the curator's (sheet), else its caption, else its file."""
    return getattr(im, "alt", "") or (
        im.caption.text if im.caption and im.caption.text else im.file
    )
