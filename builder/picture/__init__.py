"""The picture wing: everything that reads a picture — the recognisers (detect, faces, colours,
caption, scene, backbone), the word vectors and lexicon (words), the published method's maths
(affect), the learned model as a build loads it (feeling; fitted and cross-validated in
builder.lab.fitting) and each --method (methods/). It may use the foundation; it never imports the
music or gallery wings, nor the roof (tests/test_architecture.py)."""
