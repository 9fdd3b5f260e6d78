"""The music wing: everything that reads, indexes and matches music — decoding audio (audio,
audiofeatures), the music tagger (musicnn), its feeling head as a build loads it (feeling; fitted
and measured in builder.lab.music), listening to a folder (listen), catalogues (catalogue), the
nearest-track index (index) and the collection-wide assignment (matching). It may use the
foundation; it never imports the picture or gallery wings, nor the roof
(tests/test_architecture.py)."""
