"""The viewer's files and what the index says, without a browser (the viewer in Chromium:
tests/test_browser.py; the visitor's words: tests/test_text.py)."""

import re
import shutil
import subprocess

import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app

from .conftest import DEMO, MIRROR, ROOT, requires_mirror


def test_no_library_file_is_committed():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert not [f for f in files.splitlines() if re.search(r"photoswipe|axe(\.min)?\.js", f, re.I)]


@requires_mirror
def test_a_missing_viewer_stops_the_build_before_it_starts(tmp_path):
    """A mirror without web/photoswipe-5.4.4.tgz: exit 3 naming the asset, nothing analysed or
    written."""
    mirror = tmp_path / "mirror"
    for item in MIRROR.iterdir():
        if item.name != "web":
            (mirror / item.name).parent.mkdir(parents=True, exist_ok=True)
            (mirror / item.name).symlink_to(item)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(DEMO),
            "--out",
            str(out),
            "--mirror",
            str(mirror),
            "--cache-dir",
            str(tmp_path / "c"),
        ]
        + ["--offline"],
    )
    assert result.exit_code == 3, result.output
    assert "photoswipe" in result.output and not (out / "index.html").exists()


@requires_mirror
def test_the_gallery_carries_the_viewer_and_says_where_it_came_from(demo_build):
    out, _ = demo_build
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert g["lang"] == "en" and g["kiosk"] is False
    for name in ("photoswipe.umd.min.js", "photoswipe.css", "messages.js"):
        assert (out / "static" / name).stat().st_size > 1000, name
    credits = (out / "credits.html").read_text(encoding="utf-8")
    assert (
        "PhotoSwipe 5.4.4" in credits and "Permission is hereby granted, free of charge" in credits
    )
    assert g["method"] in credits  # the method moved to "how this gallery was made"
    index = (out / "index.html").read_text(encoding="utf-8")
    header = index.split("</header>")[0]
    assert f'<h1 translate="no">{DEMO.name}</h1>' in header
    assert f"{len(g['images'])} pictures" in header
    assert g["method"] not in header and '<html lang="en">' in index
    assert 'src="static/photoswipe.umd.min.js"' in index and "script-src 'self'" in index
    # the viewer's shard: every picture, in gallery order, its first playing track and where it
    # starts, read by the column names the scripts read them by (data/columns.js)
    columns = orjson.loads((out / "data" / "columns.js").read_text().split(" = ", 1)[1][:-2])
    rows = orjson.loads(
        (out / "data" / "view-0.js").read_text().split('"] = ', 1)[1].rstrip().rstrip(";")
    )
    rows = [dict(zip(columns["view"], r)) for r in rows]
    assert [r["page"] for r in rows] == [im["page"] for im in g["images"]]
    for row, im in zip(rows, g["images"]):
        first = next(t for t in im["tracks"] if t["audio"])
        track = dict(zip(columns["track"], row["track"]))
        assert (
            track["id"] == first["id"]
            and track["audio"] == first["audio"]
            and track["start"] == first.get("start", 0.0)
        )
        assert (out / row["image"]).is_file() and f'data-id="{row["id"]}"' in "".join(
            p.read_text(encoding="utf-8") for p in out.glob("index*.html")
        )
