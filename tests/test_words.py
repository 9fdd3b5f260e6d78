import numpy as np
import pytest

from builder.picture.words import ImpressionMapper, impression_vocabulary, load_nrc_vad, lookup_key

from .conftest import requires_mirror


@requires_mirror
def test_vocabulary_is_russells_28_with_nrc_values(store):
    path = store.resolve("nrc-vad")
    raw = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        w, v, a, _ = line.split("\t")
        raw[w] = (float(v), float(a))
    lex = load_nrc_vad(path)
    assert "null" in lex  # the word "null" is a word
    vocab = impression_vocabulary(lex)
    assert len(vocab) == 28 == len(set(w.word for w in vocab))
    for w in vocab:
        v, a = raw[lookup_key(w.word)]
        assert w.valence == pytest.approx(2 * v - 1) and w.arousal == pytest.approx(2 * a - 1)
    happy = next(w for w in vocab if w.word == "happy")
    sad = next(w for w in vocab if w.word == "sad")
    assert happy.valence > 0.5 > sad.valence


class TinyVectors:
    """Stands in for gensim KeyedVectors: a dict of 3-d vectors."""

    def __init__(self, table):
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.key_to_index = {k: i for i, k in enumerate(self.table)}

    def __getitem__(self, key):
        return self.table[key]


def test_mapper_ranks_by_cosine_similarity_and_averages_phrases():
    from builder.picture.words import ImpressionWord

    vocab = (
        ImpressionWord("happy", 0.9, 0.5),
        ImpressionWord("sad", -0.6, -0.3),
        ImpressionWord("calm", 0.7, -0.8),
    )
    vectors = TinyVectors(
        {
            "happy": [1, 0, 0],
            "sad": [0, 1, 0],
            "calm": [0, 0, 1],
            "cake": [0.9, 0.1, 0.2],
            "rain": [0.1, 0.8, 0.3],
            "teddy": [1, 0, 0],
            "bear": [0, 0, 1],
        }
    )
    m = ImpressionMapper(vectors, vocab)
    top = m.top("cake", 2)
    assert [w.word for w, _ in top] == ["happy", "calm"]
    assert top[0][1] > top[1][1]
    assert [w.word for w, _ in m.top("rain", 1)] == ["sad"]
    sims = dict((w.word, s) for w, s in m.top("teddy bear", 3))
    assert sims["happy"] == pytest.approx(sims["calm"]) and sims["sad"] == pytest.approx(0)
    assert m.top("unknownword") == []


@requires_mirror
def test_glove_maps_real_words_to_fitting_impressions(mapper):
    for word, expected in [
        ("joy", "happy"),
        ("fear", "afraid"),
        ("rage", "angry"),
        ("quiet", "calm"),
    ]:
        assert mapper.top(word, 5)[0][0].word == expected
    sims = [s for _, s in mapper.top("cake", 5)]
    assert len(sims) == 5 and sims == sorted(sims, reverse=True)


def test_other_word_vectors_load_from_kv_and_word2vec_files(tmp_path):
    from gensim.models import KeyedVectors

    from builder.picture.words import load_vectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(
        ["happy", "sad", "cake"], np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0]], dtype=np.float32)
    )
    kv.save(str(tmp_path / "v.kv"))
    kv.save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    for name in ("v.kv", "v.txt", "v.bin"):
        loaded = load_vectors(tmp_path / name)
        assert loaded.most_similar("cake", topn=1)[0][0] == "happy"
    (tmp_path / "bad.kv").write_text("not vectors")
    with pytest.raises(Exception, match="cannot load word vectors"):
        load_vectors(tmp_path / "bad.kv")
