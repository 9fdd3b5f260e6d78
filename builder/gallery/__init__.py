"""The gallery wing: what the builder writes — the static site (site) and the output folder it owns (outdir). It
may use the hall and builder.records; it never imports the picture or music wings (tests/test_architecture.py)."""
