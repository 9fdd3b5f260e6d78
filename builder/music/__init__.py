"""The music wing: everything that reads, indexes and matches music — decoding audio (audio, audiofeatures), the
music tagger (musicnn), its feeling head (feeling), listening to a folder (listen), catalogues (catalogue), the
nearest-track index (index), the collection-wide assignment (matching) and measuring the reading (evaluate). It
may use the hall and builder.records; it never imports the picture or gallery wings (tests/test_architecture.py)."""
