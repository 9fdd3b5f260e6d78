"""Which CPU runtime runs the builder's networks fastest for the same readings, on one thread.

    pip install -e '.[convert]'
    python benchmarks/runtimes.py [--mirror ../shared/mirror] [--n 60] [--rounds 15]
        [--photos ../shared/eval/oasis-dev/images] [--only lite2,yolo,musicnn]
        [--tflite lite2.tflite]

EfficientNet-Lite2 (one 260 x 260 picture), Yolo-Fastest (one 320 x 320 blob: OpenCV DNN as the
builder ran it before, against the network the conversion script rebuilds from the Darknet files, in
ONNX Runtime and OpenVINO, float32) and the musicnn MTT tagger (the ten 3 s patches of a 30 s
clip), each exported from torch as builder/lab/convert.py does, then run on one thread by: torch
eager (today's float path), ONNX Runtime float32 and int8 (static quantisation, QDQ: weights int8
per channel, activations uint8 per tensor; calibrated on the demo photos and their mirror images, or
on the CC BY DEAM clips of the mirror), OpenVINO float32, bfloat16 (its default on CPUs with AMX)
and int8 (the same QDQ file), NNCF's int8 for OpenVINO when nncf is installed, and LiteRT (XNNPACK)
float32 when --tflite names EfficientNet-Lite2 converted by litert-torch, and for musicnn the MTT
file the builder ships (its front end int8, its mid end float32)
(the LiteRT file: `litert_torch.convert(Lite2Torch(...).module(), (torch.zeros(1, 260, 260, 3),))`;
litert-torch pins other versions of the packages the builder uses, so it is made in a virtual
environment of its own).

The candidates are timed in turns, one call each per round (the cores are shared and their speed
drifts), and each line gives the median and the spread (fastest, slowest) of the rounds. Then each
candidate's readings are compared with torch's: for Lite2 on the first --n photos (pooled features:
the largest difference and the smallest cosine; the top class), for musicnn on the mirror's two
example clips (the tag probabilities averaged over a clip, as listening does).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import mirror_option

from builder.assets import AssetStore
from builder.assets.runtime import CONFIG
from builder.images import read_rgb

HERE = Path(__file__).resolve().parent.parent


def ort_session(path: Path):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = o.inter_op_num_threads = 1
    s = ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return lambda x: s.run(None, {name: x})


def openvino(path: Path, precision: str = "f32"):
    import openvino as ov

    req = ov.Core().compile_model(
        str(path), "CPU", {**CONFIG, "INFERENCE_PRECISION_HINT": precision}
    )
    req = req.create_infer_request()
    return lambda x: [np.asarray(v) for v in req.infer({0: x}, share_outputs=False).to_tuple()]


def tflite(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp, outs = it.get_input_details()[0], it.get_output_details()
    order = sorted(outs, key=lambda o: -int(o["shape"][-1] == 1000))  # (probabilities, pooled)

    def run(x):
        it.set_tensor(inp["index"], x)
        it.invoke()
        return [it.get_tensor(o["index"]) for o in order]

    return run


def quantise(src: Path, dst: Path, samples: list[dict]) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre))
    quantize_static(
        str(pre),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["Conv"],
    )


def nncf_int8(src: Path, dst: Path, samples: list[np.ndarray]) -> Path | None:
    try:
        import nncf
        import openvino as ov
    except ImportError:
        return None
    model = nncf.quantize(
        ov.Core().read_model(str(src)), nncf.Dataset(samples), subset_size=len(samples)
    )
    ov.save_model(model, str(dst))
    return dst


def time_turns(candidates: dict, x: np.ndarray, rounds: int) -> dict[str, list[float]]:
    for run in candidates.values():
        run(x)  # the first call allocates
    times: dict[str, list[float]] = {k: [] for k in candidates}
    for _ in range(rounds):
        for k, run in candidates.items():
            t = time.perf_counter()
            run(x)
            times[k].append((time.perf_counter() - t) * 1000)
    return times


def report_times(what: str, times: dict[str, list[float]]) -> None:
    print(
        f"\n{what}: ms a call, median (fastest-slowest) of {len(next(iter(times.values())))} rounds"
    )
    for k, v in times.items():
        print(f"  {k:<22} {np.median(v):7.1f}  ({min(v):.1f}-{max(v):.1f})")


def lite2(args, store: AssetStore, tmp: Path) -> None:
    import torch

    from builder.lab.convert import export, half_weights
    from builder.picture.backbone import SIZE, Lite2Torch, pixels

    torch.set_num_threads(1)
    source = Lite2Torch.from_store(store)
    f32 = tmp / "lite2.onnx"
    export(source.module(), torch.zeros(1, SIZE, SIZE, 3), f32, ["pixels"], ["probs", "pooled"])
    import onnx

    half = onnx.load(str(f32))
    half_weights(half)
    f16w = tmp / "lite2-f16w.onnx"
    onnx.save(half, str(f16w))
    demo = [read_rgb(p, 1024)[0] for p in sorted((HERE / "images").glob("*.jpg"))]
    calib = [pixels(v)[None] for rgb in demo for v in (rgb, np.ascontiguousarray(rgb[:, ::-1]))]
    int8 = tmp / "lite2-int8.onnx"
    quantise(f32, int8, [{"pixels": x} for x in calib])
    module = source.module()

    def torch_run(x):
        with torch.inference_mode():
            return [t.numpy() for t in module(torch.from_numpy(x))]

    candidates = {
        "torch eager float32": torch_run,
        "onnxruntime float32": ort_session(f32),
        "onnxruntime int8": ort_session(int8),
        "openvino float32": openvino(f32),
        "openvino f16 weights": openvino(f16w),
        "openvino bfloat16": openvino(f32, "bf16"),
        "openvino int8": openvino(int8),
    }
    nncf_path = nncf_int8(f32, tmp / "lite2-nncf.xml", calib)
    if nncf_path is not None:
        candidates["openvino nncf int8"] = openvino(nncf_path)
    if args.tflite:
        candidates["litert xnnpack float32"] = tflite(args.tflite)
    x = calib[0].astype(np.float32)
    report_times("EfficientNet-Lite2, one picture", time_turns(candidates, x, args.rounds))
    photos = sorted(
        p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )[: args.n]
    inputs = [pixels(read_rgb(p, 1024)[0])[None] for p in photos]
    ref = [candidates["torch eager float32"](x) for x in inputs]
    print(f"\nEfficientNet-Lite2 against torch on {len(photos)} photos of {args.photos}")
    for k, run in candidates.items():
        got = [run(x) for x in inputs]
        diff = max(float(np.abs(g[1] - r[1]).max()) for g, r in zip(got, ref))
        cos = min(
            float((g[1] * r[1]).sum() / np.linalg.norm(g[1]) / np.linalg.norm(r[1]))
            for g, r in zip(got, ref)
        )
        top = sum(int(g[0].argmax() == r[0].argmax()) for g, r in zip(got, ref))
        print(
            f"  {k:<22} max |pooled diff| {diff:.4f}  min cosine {cos:.4f}  "
            f"same top class {top}/{len(ref)}"
        )


def yolo(args, store: AssetStore, tmp: Path) -> None:
    import cv2
    import torch

    from builder.lab.convert import darknet, export
    from builder.picture.detect import YoloFastestOpenCV

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    cfg = store.resolve("yolo-fastest-1.1-xl-cfg").read_text(encoding="utf-8")
    net, (height, width) = darknet(cfg, store.resolve("yolo-fastest-1.1-xl-weights").read_bytes())
    f32 = tmp / "yolo.onnx"
    export(net, torch.zeros(1, 3, height, width), f32, ["blob"], ["rows"])
    reference = YoloFastestOpenCV.from_store(store)
    candidates = {
        "opencv dnn float32": lambda x: [reference.rows(x)],
        "onnxruntime float32": ort_session(f32),
        "openvino float32": openvino(f32),
    }
    rgb = read_rgb(HERE / "images" / "astronaut.jpg", 1024)[0]
    blob = cv2.dnn.blobFromImage(rgb, 1 / 255.0, (width, height), swapRB=False, crop=False)
    report_times(
        "Yolo-Fastest 1.1-XL, one 320 x 320 blob", time_turns(candidates, blob, args.rounds)
    )


def musicnn(args, store: AssetStore, tmp: Path) -> None:
    import torch

    from builder.lab.convert import calibration_clips, export
    from builder.music.audio import decode, log_mel, patches
    from builder.music.musicnn import N_MELS, PATCH_FRAMES, TorchTagger

    torch.set_num_threads(1)
    source = TorchTagger(store.resolve("musicnn-mtt"), "MTT")
    f32 = tmp / "musicnn.onnx"
    export(source.net, torch.zeros(1, PATCH_FRAMES, N_MELS), f32, ["mel"], ["probs", "embedding"])
    cut = [p for clip in calibration_clips(store) for p in patches(log_mel(decode(clip).samples))]
    int8 = tmp / "musicnn-int8.onnx"
    quantise(f32, int8, [{"mel": np.ascontiguousarray(p[None], dtype=np.float32)} for p in cut])

    def per_patch(run):
        return lambda x: [
            np.concatenate(o) for o in zip(*(run(np.ascontiguousarray(p[None])) for p in x))
        ]

    candidates = {
        "torch eager float32": lambda x: [a.numpy() for a in source.net(torch.from_numpy(x))],
        "onnxruntime float32": per_patch(ort_session(f32)),
        "onnxruntime int8": per_patch(ort_session(int8)),
        "openvino float32": per_patch(openvino(f32)),
        "openvino bfloat16": per_patch(openvino(f32, "bf16")),
        "openvino int8": per_patch(openvino(int8)),
        # what ships: the front end int8, the mid end float32 (builder/lab/convert.py)
        "openvino as shipped": per_patch(openvino(store.resolve("musicnn-mtt-onnx"))),
    }
    examples = sorted((store.resolve("musicnn-mtt").parent / "examples").glob("*.mp3"))
    clips = [patches(log_mel(decode(c).samples)).astype(np.float32) for c in examples]
    with torch.inference_mode():
        report_times(
            "musicnn MTT, the 10 patches of a 30 s clip",
            time_turns(candidates, clips[0][:10], args.rounds),
        )
        ref = [candidates["torch eager float32"](c) for c in clips]
        print(
            f"\nmusicnn MTT against torch on the {len(clips)} example clips "
            "(mean over a clip's patches)"
        )
        for k, run in candidates.items():
            got = [run(c) for c in clips]
            diff = max(float(np.abs(g[0].mean(0) - r[0].mean(0)).max()) for g, r in zip(got, ref))
            top = all(
                list(np.argsort(-g[0].mean(0))[:5]) == list(np.argsort(-r[0].mean(0))[:5])
                for g, r in zip(got, ref)
            )
            print(f"  {k:<22} max |tag probability diff| {diff:.4f}  same top 5 tags: {top}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    ap.add_argument("--photos", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument("--n", type=int, default=60, help="photos to compare readings on")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", default="lite2,yolo,musicnn")
    ap.add_argument(
        "--tflite", type=Path, help="EfficientNet-Lite2 converted by litert-torch (see above)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = AssetStore(Path(tmp) / "cache", args.mirror.resolve(), offline=True)
        if "lite2" in args.only:
            lite2(args, store, Path(tmp))
        if "yolo" in args.only:
            yolo(args, store, Path(tmp))
        if "musicnn" in args.only:
            musicnn(args, store, Path(tmp))


if __name__ == "__main__":
    main()
