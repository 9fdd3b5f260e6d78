"""The Ray executor (--executor ray) on a local Ray instance started here: the same records as local
workers."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import orjson
import pytest

from builder.errors import UsageError

from .conftest import MIRROR, cli_build, photo, requires_import, requires_mirror

pytestmark = [requires_mirror, requires_import("ray")]


@pytest.fixture(scope="module")
def ray_instance():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_tasks_give_the_same_records_as_local_workers(ray_instance, tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(12):
        photo((360, 240), seed=200 + i).save(pics / f"r{i:02d}.jpg")
    (pics / "broken.jpg").write_text("not a picture")
    galleries = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        result = cli_build(
            pics, out, tmp_path / f"cache-{executor}", "--executor", executor, "--workers", "1"
        )
        assert result.exit_code == 1 and "broken.jpg: not a picture" in result.output, result.output
        galleries[executor] = (out / "gallery.json").read_bytes()
    assert galleries["local"] == galleries["ray"]
    g = orjson.loads(galleries["ray"])
    assert len(g["images"]) == 12 and [f["file"] for f in g["failed"]] == ["broken.jpg"]
    # the analyses came back into this machine's cache: a second build reads them all from it
    again = cli_build(pics, tmp_path / "again", tmp_path / "cache-ray", "--executor", "ray")
    assert "(12 cached, 1 failed)" in again.output, again.output


@pytest.mark.slow
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
    (reading, failure, _), node = executors._ray_task(s, stages.worker_setup, job, data)
    assert failure is None and reading.width == 320 and reading.ingredients is not None
    assert node == ray_instance.get_runtime_context().get_node_id()


@pytest.mark.slow
def test_the_build_says_how_many_pictures_the_cluster_analysed_on_how_many_nodes(
    ray_instance, tmp_path
):
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import Stats
    from builder.settings import Settings

    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(3):
        photo((320, 240), seed=300 + i).save(pics / f"n{i}.jpg")
    (pics / "broken.jpg").write_text("not a picture")
    s = Settings(
        input=pics,
        out=tmp_path / "out",
        mirror=MIRROR,
        cache_dir=tmp_path / "cache",
        offline=True,
        executor="ray",
    )
    stats = Stats()
    gallery = analyse(Context(s), stats=stats)
    assert len(gallery.images) == 3 and len(gallery.failed) == 1
    assert stats.notes == ["the Ray cluster analysed 3 pictures on 1 node"]


class FakeRay:
    """ray.init as Ray 2.60 fails against a cluster that refuses the token: its core writes
    InvalidAuthToken lines to file descriptor 2, then Python gets only a ConnectionError."""

    class exceptions:
        class RayError(Exception):
            pass

    def __init__(self, said: bytes, error: Exception | None):
        self.said, self.error = said, error

    def init(self, **kw):
        import os

        os.write(2, self.said)
        if self.error is not None:
            raise self.error


def test_a_cluster_that_refuses_the_token_is_named_with_rays_token_authentication(capfd):
    from builder.errors import UsageError
    from builder.pipeline.executors import _join

    line = (
        b"gcs_client.cc:210: Failed to get cluster ID from GCS server: Unauthenticated: RPC "
        b"error: InvalidAuthToken: Authentication token is missing or incorrect\n"
    )
    refused = FakeRay(
        line * 3, ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379")
    )
    with pytest.raises(UsageError) as err:
        _join(refused, "10.0.0.1:6379")
    message = str(err.value)
    assert message.startswith("could not join the Ray cluster at 10.0.0.1:6379")
    for name in ("token authentication", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "~/.ray/auth_token"):
        assert name in message
    assert "InvalidAuthToken" not in capfd.readouterr().err  # one sentence, not Ray's lines
    # another failure keeps Ray's own words, and what it wrote reaches the terminal
    other = FakeRay(b"something else\n", ConnectionError("Failed to connect"))
    with pytest.raises(UsageError, match="Failed to connect") as err:
        _join(other, "10.0.0.1:6379")
    assert "RAY_AUTH" not in str(err.value) and "something else" in capfd.readouterr().err


def test_joining_a_cluster_sends_this_machines_token_when_the_mode_is_unset(tmp_path, monkeypatch):
    """`ray start --head` turns token authentication on wherever ~/.ray/auth_token exists, but a
    driver with RAY_AUTH_MODE unset sends no token: the builder asks for token mode before Ray is
    imported (Ray reads it then) when this machine has a token, and leaves a mode it was given."""

    from builder.pipeline.executors import _token_mode

    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.setenv(name, "")  # recorded, so what the test sets is undone after it
        monkeypatch.delenv(name)
    _token_mode("10.0.0.1:6379")
    assert "RAY_AUTH_MODE" not in os.environ  # no token here: nothing to send
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t" * 32)
    _token_mode(None)  # a Ray instance started here: Ray's own default
    assert "RAY_AUTH_MODE" not in os.environ
    _token_mode("10.0.0.1:6379")
    assert os.environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    _token_mode("10.0.0.1:6379")
    assert os.environ["RAY_AUTH_MODE"] == "disabled"


def test_an_unreachable_ray_address_is_refused_in_seconds():
    import socket

    from builder.pipeline.executors import _reachable

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(UsageError, match="nothing answers"):
        _reachable(f"127.0.0.1:{port}", timeout_s=2)
