"""Running the shipped networks: OpenVINO on the CPU, one thread a process, float32 arithmetic.

Both wings read their networks through here (EfficientNet-Lite2 for pictures, the musicnn taggers
for music): ONNX files made from the upstream weights by `tools/convert_models.py`, shipped as
package data and checked by sha256 through the asset registry. OpenVINO was chosen by measurement on
the 2-core machine (`benchmarks/runtimes.py`; docs/speed.md): EfficientNet-Lite2 in float32 ran as
fast as in ONNX Runtime and faster than in LiteRT (XNNPACK) or torch, and the int8 musicnn taggers
ran three to four times as fast as in float32, where ONNX Runtime's int8 kernels were slower than
its float ones.

Each process runs its networks on one thread (the builder's parallelism is processes, one per core);
its threads are not pinned to cores, so processes forked from one that loaded a network do not all
run on the core it was pinned to; and the arithmetic stays float32 where the CPU offers bfloat16
(OpenVINO's default on CPUs with AMX), so a reading does not depend on the machine it was made on.
"""

from __future__ import annotations

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


class Network:
    """One compiled network and its request: call it with the inputs in order, get the outputs in
    order (copies, float32 unless the network says otherwise)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.compiled = _core().compile_model(str(path), "CPU", CONFIG)
        self.request = self.compiled.create_infer_request()

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        result = self.request.infer(dict(enumerate(inputs)), share_outputs=False)
        return [np.asarray(v) for v in result.to_tuple()]


def load(path: str | Path) -> Network:
    return Network(path)
