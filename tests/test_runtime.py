"""The builder's runtime (builder.assets.runtime): a default build without torch, the networks it
runs, and their files checked like every other asset."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from .conftest import DEMO, MIRROR, requires_import, requires_mirror

# Run as a build's only process or as its parent: records in OUT every process (forked workers too,
# which inherit the hook) that imports a module named in HEAVY, then runs `builder`.
WATCH = """
import os, sys
HEAVY, OUT = ("torch", "torchvision"), os.environ["WATCH_OUT"]

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY:
            with open(os.path.join(OUT, f"{name}-{os.getpid()}"), "w") as f:
                f.write(name)
        return None

sys.meta_path.insert(0, Watch())
import runpy
sys.argv = ["builder", *sys.argv[1:]]
runpy.run_module("builder", run_name="__main__")
"""


@requires_mirror
@requires_import("openvino")
@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_default_build_imports_neither_torch_nor_torchvision(tmp_path, workers):
    pics = tmp_path / "pics"
    pics.mkdir()
    for p in sorted(DEMO.glob("*.jpg"))[:4]:
        shutil.copy(p, pics / p.name)
    seen = tmp_path / "seen"
    seen.mkdir()
    args = ["build", str(pics), "--out", str(tmp_path / "site"), "--workers", workers]
    args += ["--cache-dir", str(tmp_path / "cache"), "--mirror", str(MIRROR), "--offline"]
    done = subprocess.run(
        [sys.executable, "-c", WATCH, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "WATCH_OUT": str(seen)},
    )
    assert done.returncode == 0, done.stderr
    assert "built 4 pictures (0 cached, 0 failed)" in done.stdout + done.stderr
    assert sorted(p.name for p in seen.iterdir()) == []


def test_one_thread_a_process_leaves_torch_alone_until_it_is_imported():
    code = (
        "import sys; from builder.pipeline.executors import single_threaded; single_threaded(); "
        "print('torch' in sys.modules); import torch; print(torch.get_num_threads())"
    )
    pytest.importorskip("torch")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "1"]  # not imported by it; one thread once imported


@requires_mirror
@requires_import("openvino")
def test_a_network_gives_its_outputs_as_copies_of_the_same_reading(store):
    from builder.assets.runtime import load

    net = load(store.resolve("musicnn-mtt-onnx"))
    x = np.random.default_rng(0).uniform(0, 3, (1, 187, 96)).astype(np.float32)
    first = net(x)
    kept = [a.copy() for a in first]
    other = net(x + 1)  # another reading must not overwrite the arrays handed out before
    assert [a.shape for a in first] == [(1, 50), (1, 200)]
    assert all(np.array_equal(a, b) for a, b in zip(first, kept))
    assert not np.array_equal(first[0], other[0])  # (and it is another reading)
    assert all(np.array_equal(a, b) for a, b in zip(first, net(x)))


@requires_mirror
def test_the_converted_networks_are_package_data_checked_by_their_sha256(tmp_path):
    from builder.assets import REGISTRY, AssetStore

    store = AssetStore(tmp_path / "cache", MIRROR, offline=True)
    for name in (
        "efficientnet-lite2-onnx",
        "yolo-fastest-onnx",
        "musicnn-mtt-onnx",
        "musicnn-msd-onnx",
    ):
        assert REGISTRY[name].made_by == "builder/lab/convert.py"
        path, where = store.locate(name)
        assert where == "package" and path is not None and path.suffix == ".onnx"


def test_a_converted_network_that_is_missing_says_how_to_remake_it(tmp_path):
    from dataclasses import replace

    from builder.assets import REGISTRY, AssetStore
    from builder.errors import AssetMissing

    store = AssetStore(tmp_path / "cache", None, offline=False)
    entry = REGISTRY["musicnn-mtt-onnx"]
    store.registry["gone"] = replace(entry, name="gone", package="builder/no/such.onnx")
    with pytest.raises(AssetMissing, match="builder/lab/convert.py"):
        store.resolve("gone")
    with pytest.raises(AssetMissing, match="reinstall the builder"):
        store.fetch("gone")


@pytest.mark.parametrize("shape", [(7, 5, 3), (480, 640, 3), (1001, 333, 3)])
def test_colour_statistics_are_the_channels_extremes_read_as_fractions(shape):
    """Taken on the bytes for speed, they are the same numbers as on the pixels scaled to [0, 1]."""
    from builder.picture.feeling import colour_stats

    rgb = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    rgb[: shape[0] // 3] = 0  # black pixels: saturation 0, not a division by zero
    x = rgb[:: max(1, shape[0] // 256), :: max(1, shape[1] // 256)].reshape(-1, 3) / 255
    mx, mn = x.max(axis=1), x.min(axis=1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-12), 0.0)
    expected = np.array([mx.mean(), sat.mean(), mx.std(), sat.std()])
    assert np.array_equal(colour_stats(rgb), expected)


@requires_mirror
@requires_import("openvino")
def test_a_network_compiled_once_is_read_back_from_the_cache(store, tmp_path):
    from builder.assets.runtime import load

    path = store.resolve("musicnn-mtt-onnx")
    x = np.random.default_rng(1).uniform(0, 3, (1, 187, 96)).astype(np.float32)
    plain = load(path)(x)
    first = load(path, tmp_path)(x)
    blobs = list((tmp_path / "openvino").rglob("*.blob"))
    kept = {b: (b.stat().st_ino, b.stat().st_mtime_ns) for b in blobs}
    again = load(path, tmp_path)(x)
    after = {
        b: (b.stat().st_ino, b.stat().st_mtime_ns) for b in (tmp_path / "openvino").rglob("*.blob")
    }
    assert kept and after == kept  # read, not made again
    assert all(
        np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(plain, first, again)
    )
