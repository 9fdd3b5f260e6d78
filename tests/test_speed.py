"""Fast and frugal: the worker count the memory holds, workers forked from the main process (which
analyses too), the same records whatever the workers, and a build the cache serves that loads no
model. The pictures' copies (one decode each, sRGB): tests/test_copies.py."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from builder import settings
from builder.cli import app
from builder.pipeline import executors
from builder.settings import MEMORY_MB, Settings, memory_workers
from tests.conftest import MIRROR, cli_build, photo, requires_mirror

build = cli_build


# ---- how many workers ----------------------------------------------------------------------------


def test_the_default_worker_count_is_what_both_the_cores_and_the_memory_allow(tmp_path):
    s = Settings(input=tmp_path)  # --workers 0, the default method
    main, each = MEMORY_MB["learned"]
    plenty = main + 20 * each
    assert s.worker_count(cores=4, available_mb=plenty) == 4  # the cores are the limit
    assert (
        s.worker_count(cores=16, available_mb=main + 2.5 * each) == 3
    )  # the main process and two forked
    assert (
        s.worker_count(cores=16, available_mb=main / 2) == 1
    )  # too little for any: the main process alone
    assert s.worker_count(cores=16, available_mb=None) == 16  # memory unknown: the cores decide
    assert (
        Settings(input=tmp_path, workers=5).worker_count(cores=2, available_mb=main / 2) == 5
    )  # asked for
    random_main, random_each = MEMORY_MB["random"]
    assert (
        memory_workers("random", random_main + 10 * random_each) == 11
    )  # a lighter method fits more


def test_asking_for_more_workers_than_the_memory_holds_warns_with_the_figures(tmp_path):
    main, each = MEMORY_MB["learned"]
    s = Settings(input=tmp_path, workers=8)
    warning = s.worker_warning(available_mb=main + each)
    assert (
        warning is not None
        and "--workers 8" in warning
        and f"{main} MB" in warning
        and f"{each} MB" in warning
    )
    assert "2 workers would fit" in warning
    assert s.worker_warning(available_mb=main + 10 * each) is None
    assert (
        Settings(input=tmp_path).worker_warning(available_mb=1) is None
    )  # the default never warns


@requires_mirror
def test_the_build_warns_once_and_still_builds(tmp_path, monkeypatch):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(3):
        photo(seed=i).save(pics / f"p{i}.jpg")
    monkeypatch.setattr(settings, "available_memory_mb", lambda: 100.0)
    result = build(
        pics, tmp_path / "site", tmp_path / "cache", "--method", "random", "--workers", "3"
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("warning: --workers 3 may need") == 1, result.output
    assert "0.1 GB is available" in result.output


# ---- workers forked from the main process --------------------------------------------------------


def _no_setup(s: Settings):
    raise AssertionError("forked workers are handed the main process's work, never set up")


def _where(job, data):
    return (job[0], os.getpid()), None, {"work": 0.0}


def test_forked_workers_and_the_main_process_share_the_pictures_in_order(tmp_path):
    if not executors.can_fork():
        pytest.skip("workers are forked on Linux only")
    jobs = [(f"p{i}.jpg", "sha") for i in range(12)]
    seen = []

    def progress(items, label, total):
        for item in items:
            seen.append(item)
            yield item

    outcomes = executors.LocalProcesses(Settings(input=tmp_path), 3, _no_setup, here=_where).map(
        jobs, progress
    )
    assert [o[0][0] for o in outcomes] == [
        j[0] for j in jobs
    ]  # one outcome per job, in the jobs' order
    pids = {o[0][1] for o in outcomes}
    assert (
        os.getpid() in pids and len(pids) >= 2
    )  # this process analysed some, forked workers the others
    assert len(seen) == len(jobs)  # the bar moved once per picture


def test_a_single_picture_is_analysed_here_without_a_worker(tmp_path):
    outcomes = executors.LocalProcesses(Settings(input=tmp_path), 4, _no_setup, here=_where).map(
        [("a", "s")]
    )
    assert outcomes[0][0] == ("a", os.getpid())


@requires_mirror
@pytest.mark.slow
def test_one_two_and_three_workers_read_the_same(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(5):
        photo((400, 300), seed=40 + i).save(pics / f"w{i}.jpg")
    galleries = {}
    for n in (1, 2, 3):
        result = build(pics, tmp_path / f"site{n}", tmp_path / f"cache{n}", "--workers", str(n))
        assert result.exit_code == 0, result.output
        galleries[n] = (tmp_path / f"site{n}" / "gallery.json").read_bytes()
    assert (
        galleries[1] == galleries[2] == galleries[3]
    )  # byte for byte: readings, quadrants, tracks


# ---- a build the cache serves --------------------------------------------------------------------


@requires_mirror
def test_a_build_the_cache_serves_whole_loads_no_model_library(tmp_path):
    """A rebuild of analysed pictures imports neither torch nor the other models' libraries (seconds
    each)."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import DEMO

    pics = tmp_path / "pics"
    pics.mkdir()
    for p in sorted(DEMO.glob("*.jpg"))[:2]:
        shutil.copy(p, pics / p.name)
    args = [
        "build",
        str(pics),
        "--out",
        str(tmp_path / "site"),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    args += ["--mirror", str(MIRROR), "--offline"]
    assert (
        CliRunner().invoke(app, args + ["--workers", "1"]).exit_code == 0
    )  # cold, in this process
    code = (
        "import atexit, runpy, sys; "
        "models = ('torch', 'cv2', 'ai_edge_litert', 'openvino'); "
        "atexit.register(lambda: print('loaded:', [m for m in models if m in sys.modules])); "
        "sys.argv = ['builder', *sys.argv[1:]]; runpy.run_module('builder', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "(2 cached, 0 failed)" in done.stdout + done.stderr and "loaded: []" in done.stdout, (
        done.stdout
    )
