"""The settings: each declared once (builder.settings), the `builder build` options made from them,
and the Context that a build reads them with, read-only once made."""

import ast
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from builder.cli import app
from builder.settings import PANELS, OptionSpec, Settings, option_specs

from .conftest import ROOT


def _build_params() -> dict:
    group = typer.main.get_command(app)
    ctx = group.make_context("builder", ["build"], resilient_parsing=True)
    return {p.name: p for p in group.get_command(ctx, "build").params}


def test_every_build_option_is_a_setting_with_its_declared_default_help_and_flags():
    params = _build_params()
    assert set(params) == {f.name for f in fields(Settings)} | {"playable_only"}
    for f in fields(Settings):
        spec, param = f.metadata["option"], params[f.name]
        assert isinstance(spec, OptionSpec) and spec.help == param.help, f.name
        if f.name == "input":
            assert param.param_type_name == "argument" and param.required
            continue
        default = None if f.default is MISSING else f.default  # a computed default: None here
        assert param.default == (list(default) if isinstance(default, tuple) else default), f.name
        assert param.opts[0] == "--" + f.name.replace("_", "-"), f.name
        assert param.envvar == spec.envvar, f.name
        assert (param.secondary_opts == [f"--no-{f.name.replace('_', '-')}"]) == (default is True)
    assert params["out"].opts == ["--out", "-o"] and params["playable_only"].hidden


def test_the_settings_module_describes_options_without_the_cli_library():
    tree = ast.parse((ROOT / "builder" / "settings.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {"typer", "click"} & imported


def test_build_help_groups_the_options_in_panels():
    specs = option_specs()
    assert {s.panel for s in specs.values()} - {None} == set(PANELS) and len(PANELS) >= 4
    help_text = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "200"}).output
    for panel in PANELS:
        assert f"─ {panel} ─" in help_text, panel
    # a panel holds its own options: --workers is shown under Speed, after the Music panel's
    # --repeats
    assert help_text.index("─ Speed ─") < help_text.index("--workers")
    assert (
        help_text.index("─ Music ─") < help_text.index("--repeats") < help_text.index("─ Speed ─")
    )


def test_the_options_a_build_is_given_become_its_settings(tmp_path, monkeypatch):
    """The build command's parameters reach the Settings unchanged: parsed by the CLI, then made
    into Settings by builder.cli.options.settings_from, the pipeline's build gets what was asked."""
    import builder.pipeline.build as pipeline_build
    from builder.errors import OutputError

    seen = {}

    def stop(settings, store, progress):
        seen["settings"] = settings
        raise OutputError("stopped by the test")

    monkeypatch.setattr(pipeline_build, "build", stop)
    (tmp_path / "pics").mkdir()
    args = ["--exclude-genre", "rock", "--exclude-genre", "jazz", "--no-deam-2013-swap"]
    args += ["--playable-only", "--allow-silent", "--top-words", "7", "--kiosk", "--offline"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(
        app, ["build", str(tmp_path / "pics"), "--out", str(tmp_path / "o"), *args]
    )
    assert result.exit_code == 5 and "stopped by the test" in result.output, result.output
    s = seen["settings"]
    assert s.exclude_genre == ("rock", "jazz") and s.deam_2013_swap is False
    assert s.allow_silent is False  # --playable-only, the former opt-in, still wins
    assert (s.top_words, s.kiosk, s.offline, s.method) == (7, True, True, "learned")
    assert (s.out, s.cache_dir) == (tmp_path / "o", tmp_path / "cache")


def _catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "cat.csv"
    path.write_text(
        "id,title,artist,valence,arousal\na,A,X,0.5,0.5\nb,B,Y,2.0,0.1\nc,C,Z,-0.5,-0.5\n",
        encoding="utf-8",
    )
    return path


def test_a_context_is_read_only_and_computes_the_catalogues_problems_once(tmp_path):
    from builder.pipeline.context import Context

    s = Settings(input=tmp_path, catalogue=_catalogue(tmp_path), cache_dir=tmp_path / "cache")
    ctx = Context(s)
    with pytest.raises(AttributeError, match="read-only"):
        ctx.copies = True
    assert Context(s, copies=True).copies and not ctx.copies
    assert [t.id for t in ctx.catalogue.tracks] == ["a", "c"]
    assert len(ctx.catalogue_problems) == 1 and "line 3" in ctx.catalogue_problems[0]
    assert ctx.catalogue is ctx.catalogue  # read once
    assert ctx.silent is not None and "no track of the catalogue" in ctx.silent
    assert ctx.sheet is None and ctx.pins == {}


def test_the_sheets_pins_are_computed_from_the_sheet_and_the_catalogue(tmp_path):
    from builder.pipeline.context import Context

    (tmp_path / "a.mp3").write_bytes(b"ID3 audio by its first bytes, not decoded here")
    catalogue = tmp_path / "cat.csv"
    catalogue.write_text(
        "id,title,artist,valence,arousal,audio\nc,C,Z,-0.5,-0.5,\na,A,X,0.5,0.5,a.mp3\n",
        encoding="utf-8",
    )
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image,track\np.jpg,a.mp3\nq.jpg,c\nr.jpg,nosuch\n", encoding="utf-8")
    s = Settings(
        input=tmp_path,
        catalogue=catalogue,
        curation=sheet,
        allow_silent=True,
        cache_dir=tmp_path / "cache",
    )
    ctx = Context(s)
    pinned, warnings = ctx.pinned
    assert {f: t.id for f, t in pinned.items()} == {"p.jpg": "a"}  # by its audio file's name
    assert ctx.pins == {"p.jpg": 1}  # the catalogue's numbering, as the music index has it
    assert len(warnings) == 2 and "row 3: track 'c' has no audio file" in warnings[0]
    assert "row 4: no track 'nosuch'" in warnings[1]
    assert ctx.pinned is ctx.pinned and not ctx.sheet.warnings  # computed once, kept apart
