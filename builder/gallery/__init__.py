"""The gallery wing: what the builder writes. write_site (site) joins the pictures' copies (copies),
the slideshow's order (order), the data files (data), the pages (pages) and the visitor's words
(text), and swaps the new gallery into the output folder it owns (outdir). It may use the hall and
builder.records; it never imports the picture or music wings (tests/test_architecture.py)."""
