"""The picture wing: everything that reads a picture — the recognisers (detect, faces, colours, caption, scene,
backbone), the word vectors and lexicon (words), the published method's maths (affect), the learned model
(feeling) and each --method (methods/). It may use the hall and builder.records; it never imports the music or
gallery wings (tests/test_architecture.py)."""
