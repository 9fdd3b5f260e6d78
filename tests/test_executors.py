"""Where pictures are analysed (builder/pipeline/executors.py): the worker count the cores and the
memory allow, workers forked from the main process (which analyses too), the same records whatever
the workers, and Ctrl-C stopping them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import orjson
import pytest

from builder import settings
from builder.pipeline import executors
from builder.settings import MEMORY_MB, Settings, memory_workers

from .conftest import (
    BUILDER,
    build,
    leftovers,
    photo,
    requires_mirror,
    run_builder,
    tree,
    wait_for,
)


@pytest.fixture
def sixteen(tmp_path) -> Path:
    d = tmp_path / "sixteen"
    d.mkdir()
    for i in range(16):
        photo((400, 300), seed=100 + i).save(d / f"s{i:02d}.jpg")
    (d / "broken.jpg").write_text("not a picture")
    return d


@requires_mirror
@pytest.mark.slow
def test_workers_give_the_same_records_and_report_failures_as_one_process(sixteen, tmp_path):
    results = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        stats = tmp_path / f"s{n}.json"
        result = build(
            sixteen, out, tmp_path / f"cache{n}", "--workers", str(n), "--stats", str(stats)
        )
        assert result.exit_code == 1 and "broken.jpg: not a picture" in result.output, result.output
        results[n] = (out / "gallery.json").read_bytes(), orjson.loads(stats.read_bytes())
    assert results[1][0] == results[2][0]  # byte for byte
    for n, (_, timing) in results.items():
        assert timing["workers"] == n and timing["pictures"] == 16 and timing["cached"] == 0
        assert timing["model_ms"] > 0 and timing["other_ms"] > 0
        assert timing["model_ms"] + timing["other_ms"] == pytest.approx(
            sum(timing["stage_ms"].values()), abs=0.01
        )
        assert {"decode", "detect", "scene", "site"} <= set(timing["stage_ms"])


@requires_mirror
@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
def test_ctrl_c_stops_the_workers_and_keeps_the_previous_gallery(many, tmp_path):
    out = tmp_path / "site"
    (many / "m00.jpg").rename(tmp_path / "m00.jpg")
    assert run_builder(many, out, tmp_path / "c0", "--method", "random").wait(timeout=300) == 0
    before = tree(out)
    (tmp_path / "m00.jpg").rename(many / "m00.jpg")
    proc = run_builder(many, out, tmp_path / "c1", "--workers", "2")
    analysed = tmp_path / "c1" / "analysis"
    wait_for(
        lambda: any(analysed.rglob("*.json")) or proc.poll() is not None, timeout=300
    )  # workers analysing
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in output and "Traceback" not in output, output

    def gone() -> bool:  # no worker outlives the build (the whole process group goes)
        try:
            os.killpg(proc.pid, 0)
            return False
        except ProcessLookupError:
            return True

    wait_for(gone, timeout=10)
    assert tree(out) == before and leftovers(out) == []


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
