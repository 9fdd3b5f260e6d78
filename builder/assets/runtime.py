"""Running the shipped networks: OpenVINO on the CPU, one thread a process, float32 arithmetic.

Both wings read their networks through here (EfficientNet-Lite2 and the Yolo-Fastest detector for
pictures, the musicnn taggers for music): ONNX files made from the upstream weights by `python -m
builder.lab.convert`, shipped as package data and checked by sha256 through the asset registry.
OpenVINO was chosen by measurement on the 2-core machine (`benchmarks/runtimes.py`; docs/speed.md):
EfficientNet-Lite2 in float32 ran as fast as in ONNX Runtime and faster than in LiteRT (XNNPACK) or
torch, the detector in a third of OpenCV DNN's time, and the int8 musicnn tagger 3.7 times as fast
as in float32, where ONNX Runtime's int8 kernels were slower than its float ones.

Each process runs its networks on one thread (the builder's parallelism is processes, one per core);
its threads are not pinned to cores, so processes forked from one that loaded a network do not all
run on the core it was pinned to; and the arithmetic stays float32 where the CPU offers bfloat16
(OpenVINO's default on CPUs with AMX), so a reading does not depend on the machine it was made on.

Compiling a network takes OpenVINO a few tenths of a second; with `cache` (the builder's cache
folder) the compiled network is kept there and read back by later builds (in a folder of this
machine's CPU and OpenVINO version: a compiled network is made for the CPU it was compiled on).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from builder.errors import MissingDependency

CONFIG = {
    "INFERENCE_NUM_THREADS": 1,
    "NUM_STREAMS": 1,
    "PERFORMANCE_HINT": "LATENCY",
    "INFERENCE_PRECISION_HINT": "f32",
    "ENABLE_CPU_PINNING": False,
}


@lru_cache(maxsize=1)
def _core() -> Any:
    try:
        import openvino
    except ImportError as exc:  # a dependency: only a broken install gets here
        raise MissingDependency(
            "the builder's networks need the package openvino (pip install openvino)"
        ) from exc
    return openvino.Core()


@lru_cache(maxsize=1)
def _machine() -> str:
    """This CPU and OpenVINO version, as a folder name for compiled networks."""
    import openvino

    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        pass
    name = _core().get_property("CPU", "FULL_DEVICE_NAME")
    return hashlib.sha256(f"{name}|{flags}|{openvino.__version__}".encode()).hexdigest()[:16]


class Network:
    """One compiled network and its request: call it with the inputs in order, get the outputs in
    order (copies, float32 unless the network says otherwise)."""

    def __init__(self, path: str | Path, cache: Path | None = None):
        self.path = Path(path)
        config: dict = dict(CONFIG)
        if cache is not None:
            config["CACHE_DIR"] = str(cache / "openvino" / _machine())
        try:
            self.compiled = _core().compile_model(str(path), "CPU", config)
        except RuntimeError:
            if cache is None:
                raise
            self.compiled = _core().compile_model(str(path), "CPU", CONFIG)  # without the cache
        self.request = self.compiled.create_infer_request()

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        result = self.request.infer(dict(enumerate(inputs)), share_outputs=False)
        return [np.asarray(v) for v in result.to_tuple()]


def one_thread() -> None:
    """One thread a process for the numeric libraries too. numpy's OpenBLAS otherwise runs a matrix
    product (the mel filters, the feeling models) on every core and keeps its threads spinning for
    a while after it: on the cores where the other processes run their networks (an int8 musicnn
    call after a clip's mel took twice its time). For the libraries loaded already (threadpoolctl)
    and those loaded later (scipy's own OpenBLAS, torch's OpenMP: they read the environment)."""
    import os

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency of scikit-learn: only a broken install gets here
        return
    threadpool_limits(1)


def load(path: str | Path, cache: Path | None = None) -> Network:
    """The network of the ONNX file at path, compiled (or read back compiled from `cache`)."""
    return Network(path, cache)
