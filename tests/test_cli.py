import subprocess
import sys

from typer.testing import CliRunner

from builder.cli import app
from builder.settings import documented_fields

from .conftest import ROOT


def test_help_does_not_import_heavy_packages():
    code = (
        "import sys; from typer.testing import CliRunner; from builder.cli import app; "
        "r = CliRunner().invoke(app, ['build', '--help']); assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('torch', 'torchvision', 'cv2', 'gensim', 'hnswlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_setting_is_a_build_option_and_documented_in_the_usage_page():
    readme = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
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
    """docs/usage.md's reference block is generated from the Typer app (docs/make_usage.py): a new or changed
    option fails here until the page is regenerated."""
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
