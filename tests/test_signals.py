"""Ctrl-C, SIGTERM and SIGHUP from the command's first instruction to its last (builder/signals.py):
a sentence and 128 + N, never a traceback; nohup respected; the swap a section no signal splits."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import orjson
import pytest

from builder import signals

from .conftest import (
    BUILDER,
    MIRROR,
    build,
    leftovers,
    photo,
    requires_mirror,
    run_builder,
    tree,
    wait_for,
)


def child_signals(ignore: tuple[int, ...] = ()):
    """preexec_fn: the child's dispositions set explicitly (the test run itself may be a background
    job that ignores SIGINT), then the ones it should inherit as ignored."""

    def setup():
        signals.in_child_default()
        for sig in ignore:
            signal.signal(sig, signal.SIG_IGN)
        os.setsid()

    return setup


def spawn(*args: str, ignore: tuple[int, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BUILDER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=child_signals(ignore),
        env={**os.environ, "BUILDER_MIRROR": str(MIRROR)},
    )


needs_command = pytest.mark.skipif(
    not BUILDER.exists(), reason="needs the installed `builder` command"
)


def handles(pid: int, sig: int) -> bool:
    """Whether process pid has a handler of its own for sig (Linux reports it in /proc/PID/status,
    SigCgt)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


@needs_command
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads handlers from /proc")
@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_while_the_command_loads_is_a_sentence_not_a_traceback(tmp_path, sig, code, word):
    proc = spawn("build", str(tmp_path), "--out", str(tmp_path / "o"))
    # the first thing builder.__main__ does is to handle SIGTERM (Python itself handles SIGINT from
    # its start): from then on, while the heavy modules load, a signal must end it with a sentence
    wait_for(lambda: handles(proc.pid, signal.SIGTERM) or proc.poll() is not None, timeout=30)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code and f"{word}: nothing was changed" in output, (
        proc.returncode,
        output,
    )
    assert "Traceback" not in output


@needs_command
@requires_mirror
@pytest.mark.slow
def test_nohup_keeps_a_build_going_through_a_hangup(pics, tmp_path):
    out = tmp_path / "site"
    args = [
        "build",
        str(pics),
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
        "--offline",
        "--method",
        "random",
    ]
    proc = spawn(*args, ignore=(signal.SIGHUP,))
    wait_for(lambda: (tmp_path / ".site.lock").exists() or proc.poll() is not None)
    proc.send_signal(signal.SIGHUP)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "hung up" not in output, output
    assert (out / "index.html").is_file()


@needs_command
@requires_mirror
@pytest.mark.slow
def test_fit_stopped_by_a_signal_says_so_and_writes_no_model(tmp_path):
    rated = tmp_path / "rated"
    rated.mkdir()
    rows = ["image,valence,arousal"]
    for i in range(40):
        photo((300, 220), seed=i).save(rated / f"r{i:02d}.jpg")
        rows.append(f"r{i:02d}.jpg,{1 + i % 7},{1 + (i * 3) % 5}")
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    cache, model = tmp_path / "cache", tmp_path / "model.npz"
    proc = spawn(
        "fit",
        str(rated),
        str(tmp_path / "ratings.csv"),
        "--out",
        str(model),
        "--cache-dir",
        str(cache),
    )
    wait_for(
        lambda: any((cache / "analysis").rglob("*.json")) or proc.poll() is not None, timeout=300
    )
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, output
    assert (
        "terminated: the model file was left as it was" in output and "Traceback" not in output
    ), output
    assert (
        not model.exists()
        and [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []
    )


@pytest.fixture
def handled():
    """builder.signals installed in this (the test's main) thread, the previous handlers restored
    after."""
    before = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    for (
        sig
    ) in signals.HANDLED:  # the test run may itself be a background job that inherited "ignore"
        signal.signal(sig, signal.SIG_DFL)
    signals.install()
    signals.start()
    yield
    for sig, old in before.items():
        signal.signal(sig, old)


@requires_mirror
def test_a_signal_just_after_the_swap_says_the_new_gallery_is_in_place(
    pics, tmp_path, session_cache, monkeypatch, handled
):
    from builder.gallery import site

    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    photo(seed=99).save(pics / "new.jpg")
    real = site.exchange

    def then_signal(tmp, target):
        old = real(tmp, target)
        os.kill(os.getpid(), signal.SIGTERM)  # delivered now, handled when the swap's section ends
        return old

    monkeypatch.setattr(site, "exchange", then_signal)
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 143, result.output
    assert "terminated: the new gallery was already in place" in result.output
    assert "left as it was" not in result.output
    names = {im["file"] for im in orjson.loads((out / "gallery.json").read_bytes())["images"]}
    assert "new.jpg" in names and leftovers(out) == []  # the new one whole, the old one wholly gone


def test_without_an_atomic_exchange_a_signal_between_the_renames_waits(
    tmp_path, monkeypatch, handled
):
    from builder.gallery import outdir

    out, tmp = tmp_path / "site", tmp_path / ".site.building-1"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp.mkdir()
    (tmp / "new.txt").write_text("new")
    monkeypatch.setattr(outdir, "_renameat2", lambda: None)
    real, calls = os.replace, []

    def replace(a, b):
        real(a, b)
        calls.append(b)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # between the two renames

    monkeypatch.setattr(outdir.os, "replace", replace)
    with pytest.raises(signals.Interrupted):
        outdir.exchange(tmp, out)
    assert len(calls) == 2 and (out / "new.txt").read_text() == "new"


def test_an_inherited_ignore_is_respected():
    before = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        handled = signals.install()
        assert signal.SIGHUP not in handled and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.SIGTERM in handled
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


@requires_mirror
@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
@pytest.mark.parametrize(
    "sig, code, word",
    [
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hung up"),
        (signal.SIGINT, 130, "interrupted"),
    ],
)
def test_signals_end_with_a_message_and_leave_nothing_behind(many, tmp_path, sig, code, word):
    out, cache = tmp_path / "site", tmp_path / "cache"
    (many / "m00.jpg").rename(tmp_path / "m00.jpg")
    first = run_builder(many, out, cache, "--method", "random")
    assert first.wait(timeout=300) == 0
    before = tree(out)
    (tmp_path / "m00.jpg").rename(many / "m00.jpg")
    proc = run_builder(many, out, tmp_path / "cold-cache")
    analysed = tmp_path / "cold-cache" / "analysis"
    wait_for(
        lambda: any(analysed.rglob("*.json")) or proc.poll() is not None, timeout=300
    )  # mid-analysis
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == code and word in output and "Traceback" not in output, output
    assert tree(out) == before and leftovers(out) == []
