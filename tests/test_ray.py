"""The Ray executor (--executor ray) on a local Ray instance started here: the same records as local workers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app

from .conftest import MIRROR, photo, requires_import, requires_mirror

pytestmark = [requires_mirror, requires_import("ray"), pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_instance():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_tasks_give_the_same_records_as_local_workers(ray_instance, tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(12):
        photo((360, 240), seed=200 + i).save(pics / f"r{i:02d}.jpg")
    (pics / "broken.jpg").write_text("not a picture")
    galleries = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        result = CliRunner().invoke(
            app,
            [
                "build",
                str(pics),
                "--out",
                str(out),
                "--mirror",
                str(MIRROR),
                "--cache-dir",
                str(tmp_path / f"cache-{executor}"),
                "--offline",
                "--executor",
                executor,
                "--workers",
                "1",
            ],
        )
        assert result.exit_code == 1 and "broken.jpg: not a picture" in result.output, result.output
        galleries[executor] = (out / "gallery.json").read_bytes()
    assert galleries["local"] == galleries["ray"]
    g = orjson.loads(galleries["ray"])
    assert len(g["images"]) == 12 and [f["file"] for f in g["failed"]] == ["broken.jpg"]
    # the analyses came back into this machine's cache: a second build reads them all from it
    again = CliRunner().invoke(
        app,
        [
            "build",
            str(pics),
            "--out",
            str(tmp_path / "again"),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(tmp_path / "cache-ray"),
            "--offline",
            "--executor",
            "ray",
        ],
    )
    assert "(12 cached, 1 failed)" in again.output, again.output


def test_ray_tasks_bring_the_bytes_so_nodes_need_not_see_the_input(ray_instance, tmp_path):
    from builder.pipeline import executors, stages
    from builder.settings import Settings

    pics = tmp_path / "pics"
    pics.mkdir()
    photo(seed=5).save(pics / "only.jpg")
    data = (pics / "only.jpg").read_bytes()
    s = Settings(
        input=Path("/nonexistent/input"),
        out=tmp_path / "o",
        mirror=MIRROR,
        cache_dir=tmp_path / "c",
        offline=True,
    )
    job = ("only.jpg", hashlib.sha256(data).hexdigest())
    reading, failure, _ = executors._ray_task(s, stages.worker_setup, job, data)
    assert failure is None and reading.width == 320 and reading.ingredients is not None
