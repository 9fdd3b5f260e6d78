from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from builder.cli import app
from builder.errors import UsageError
from builder.settings import documented_fields

from .conftest import ROOT, build, photo, requires_mirror


def test_help_does_not_import_heavy_packages():
    code = (
        "import sys; from typer.testing import CliRunner; from builder.cli import app; r = "
        "CliRunner().invoke(app, ['build', '--help']); assert r.exit_code == 0, r.output; heavy = "
        "[m for m in ('torch', 'torchvision', 'cv2', 'gensim', 'hnswlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_setting_is_a_build_option_and_documented_in_the_usage_page():
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    readme = usage.split("<!-- begin: generated")[0]  # the hand-written table, not the CLI's block
    help_text = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "200"}).output
    for name, text in documented_fields():
        option = "--" + name.replace("_", "-")
        if name == "input":
            continue
        assert option in help_text, option
        assert f"`{option}" in readme, f"{option} is not in the settings table of docs/usage.md"
        assert text


def test_bad_option_values_are_usage_errors(tmp_path):
    (tmp_path / "pics").mkdir()
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(tmp_path / "pics"),
            "--method",
            "magic",
            "--offline",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "--method must be one of" in result.output
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(tmp_path / "pics"),
            "--narrow",
            "user",
            "--offline",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "--quadrants" in result.output


def test_the_usage_page_lists_every_command_and_option_as_the_cli_has_them():
    """docs/usage.md's reference block is generated from the Typer app (docs/make_usage.py): a new
    or changed option fails here until the page is regenerated."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_usage", ROOT / "docs" / "make_usage.py")
    make_usage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_usage)
    fresh = make_usage.generated()
    assert (
        "### `builder build`" in fresh
        and "`--music`" in fresh
        and "### `builder music score`" in fresh
    )
    assert make_usage.current() == fresh, "docs/usage.md is stale: run python docs/make_usage.py"


def test_version_comes_from_one_place():
    from builder import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"builder {__version__}"


def test_no_command_function_is_longer_than_sixty_lines():
    """Each command reads in a minute: what it prints lives in builder.cli.output, its options in
    builder.cli.options, its errors in builder.cli.boundary, and the build itself in the
    pipeline."""
    import ast

    long = []
    for path in sorted((ROOT / "builder" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_a_foreign_out_is_refused_before_any_asset_is_looked_for(tmp_path, monkeypatch):
    """Neither the mirror nor the cache holds the viewer (PhotoSwipe): a folder the builder did not
    write is still refused first, as bad usage."""
    monkeypatch.delenv("BUILDER_MIRROR", raising=False)
    (tmp_path / "pics").mkdir()
    photo().save(tmp_path / "pics" / "a.jpg")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    args = ["--out", str(mine), "--cache-dir", str(tmp_path / "empty-cache"), "--offline"]
    result = CliRunner().invoke(app, ["build", str(tmp_path / "pics"), *args])
    assert result.exit_code == 2, result.output
    assert "not written by this builder" in result.output and "photoswipe" not in result.output
    assert (mine / "thesis.docx").read_text() == "precious"
    empty = tmp_path / "new"  # where the builder may write, the missing viewer is the error
    result = CliRunner().invoke(
        app, ["build", str(tmp_path / "pics"), "--out", str(empty), *args[2:]]
    )
    assert result.exit_code == 3 and "photoswipe" in result.output, result.output


def test_every_command_has_one_error_boundary_and_debug_reraises(tmp_path):

    (tmp_path / "pics").mkdir()
    bad = ["build", str(tmp_path / "pics"), "--method", "magic", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, bad)
    assert result.exit_code == 2 and result.output.startswith("error: --method must be one of")
    result = CliRunner().invoke(app, [*bad, "--debug"])
    assert isinstance(result.exception, UsageError)  # its traceback, for whoever asked
    result = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "pics"), __file__, "--methods", "x"]
    )
    assert result.exit_code == 2 and result.output.startswith("error: unknown method(s) x")


@requires_mirror
def test_recommend_warns_of_rows_it_leaves_out(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title,artist,valence,arousal\na,A,x,0.1,0.2\nb,B,y,7,0.2\n")
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            "--valence",
            "0",
            "--arousal",
            "0",
            "--catalogue",
            str(p),
            "--allow-silent",
            "-k",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: catalogue line 3: valence/arousal outside [-1, 1]" in result.output


@requires_mirror
def test_recommend_hears_playable_only_over_allow_silent_as_build_does(tmp_path):
    from tests.audio_fixtures import tone, write_audio

    write_audio(tmp_path / "a.wav", tone(1.0, 22050), 22050)  # a track with audio, a silent one
    p = tmp_path / "c.csv"
    p.write_text("id,title,artist,valence,arousal,audio\nloud,A,x,0.9,0.9,a.wav\nhush,B,y,0,0,\n")
    near = ["recommend", "--valence", "0", "--arousal", "0", "--catalogue", str(p), "-k", "1"]
    silent = CliRunner().invoke(app, [*near, "--allow-silent"])
    assert silent.exit_code == 0 and silent.output.startswith("hush\t"), silent.output
    playable = CliRunner().invoke(app, [*near, "--allow-silent", "--playable-only"])
    assert playable.exit_code == 0 and playable.output.startswith("loud\t"), playable.output


@requires_mirror
def test_names_never_reach_the_terminal_raw(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    evil = "\x1b]0;pwned\x07\x1b[31mred\u202eevil.jpg"
    (d / evil).write_text("not a picture")
    result = build(d, tmp_path / "site", session_cache, "--method", "random")
    assert result.exit_code == 1
    assert (
        "\x1b" not in result.output
        and "\x07" not in result.output
        and "\u202e" not in result.output
    )
    assert "\\x1b]0;pwned\\x07\\x1b[31mred\\u202eevil.jpg" in result.output
