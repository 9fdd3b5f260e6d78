"""Object detectors. Each backend turns model output into plain Detection records at this boundary.

Backends:
- ``yolo-fastest`` (default): Yolo-Fastest 1.1-XL, COCO 80 classes, in the builder's runtime
  (builder.assets.runtime: its ONNX file, made from the Darknet cfg and weights by
  `builder/lab/convert.py`, with the YOLO layers' decoding as OpenCV DNN does it). OpenCV still
  makes the input blob and suppresses overlapping boxes; `YoloFastestOpenCV`, the network in OpenCV
  DNN as it ran before, is the reference the ONNX file is compared with.
- ``ssd300``: torchvision SSD300-VGG16, the detector family of the original method.
- ``maskrcnn``: torchvision Mask R-CNN ResNet-50 FPN, as in the original method.
The torchvision backends load torchvision's official COCO weights through the asset registry; with
``random_init=True`` they run randomly initialised (used by tests here, where no weights can be
downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from builder.assets import AssetStore
from builder.errors import MissingDependency, UsageError
from builder.records import Detection

DETECTORS = ("yolo-fastest", "ssd300", "maskrcnn")
# Darknet's coco.names uses older spellings; the official COCO names (as torchvision has them) read
# better and are words the word vectors know ("diningtable" is not).
DARKNET_TO_COCO = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}


class Detector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Detections for an RGB uint8 image of shape (H, W, 3)."""


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependency(
            "the yolo-fastest detector needs opencv-python-headless; install it"
        ) from exc
    return cv2


class YoloFastest:
    """Yolo-Fastest in the builder's runtime: the rows OpenCV DNN's Darknet YOLO layers give (box
    centre, size, objectness, class scores), from the ONNX file."""

    name = "yolo-fastest"

    def __init__(
        self,
        model_path: str,
        names: list[str],
        *,
        conf: float = 0.25,
        nms: float = 0.45,
        size: int = 320,
        cache: Path | None = None,
    ):
        from builder.assets.runtime import load

        self.net = load(model_path, cache)
        self.names, self.conf, self.nms, self.size = names, conf, nms, size

    @classmethod
    def from_store(cls, store: AssetStore, **kw) -> YoloFastest:
        path = str(store.resolve("yolo-fastest-onnx"))
        return cls(path, coco_names(store), cache=store.cache_dir, **kw)

    def rows(self, blob: np.ndarray) -> np.ndarray:
        return self.net(blob)[0]

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        cv2 = _cv2()
        blob = cv2.dnn.blobFromImage(
            rgb, 1 / 255.0, (self.size, self.size), swapRB=False, crop=False
        )
        return self._detections(cv2, self.rows(blob))

    def _detections(self, cv2, rows: np.ndarray) -> list[Detection]:
        scores = rows[:, 5:]
        cls = scores.argmax(axis=1)
        conf = scores[np.arange(len(rows)), cls]
        keep = conf >= self.conf
        if not keep.any():
            return []
        rows, cls, conf = rows[keep], cls[keep], conf[keep]
        cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        x0, y0 = np.clip(cx - w / 2, 0, 1), np.clip(cy - h / 2, 0, 1)
        x1, y1 = np.clip(cx + w / 2, 0, 1), np.clip(cy + h / 2, 0, 1)
        boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
        idx = cv2.dnn.NMSBoxesBatched(
            boxes.tolist(), conf.tolist(), cls.tolist(), self.conf, self.nms
        )
        out = [
            Detection(
                self.names[int(cls[i])],
                round(float(conf[i]), 4),
                (
                    round(float(x0[i]), 4),
                    round(float(y0[i]), 4),
                    round(float(x1[i]), 4),
                    round(float(y1[i]), 4),
                ),
            )
            for i in np.asarray(idx).reshape(-1)
        ]
        return sorted(out, key=lambda d: -d.score)


class YoloFastestOpenCV(YoloFastest):
    """The same network in OpenCV DNN from the Darknet files, as the builder ran it before: the
    reference for the ONNX file. Not on a build's path."""

    def __init__(self, cfg: str, weights: str, names: list[str], **kw):
        cv2 = _cv2()
        self.dnn = cv2.dnn.readNetFromDarknet(cfg, weights)
        self.out_names = self.dnn.getUnconnectedOutLayersNames()
        self.names = names
        self.conf, self.nms, self.size = (
            kw.get("conf", 0.25),
            kw.get("nms", 0.45),
            kw.get("size", 320),
        )

    @classmethod
    def from_store(cls, store: AssetStore, **kw) -> YoloFastestOpenCV:
        return cls(
            str(store.resolve("yolo-fastest-1.1-xl-cfg")),
            str(store.resolve("yolo-fastest-1.1-xl-weights")),
            coco_names(store),
            **kw,
        )

    def rows(self, blob: np.ndarray) -> np.ndarray:
        self.dnn.setInput(blob)
        return np.concatenate(
            [o.reshape(-1, o.shape[-1]) for o in self.dnn.forward(self.out_names)]
        )


def coco_names(store: AssetStore) -> list[str]:
    names = store.resolve("coco-names").read_text(encoding="utf-8").split("\n")
    return [DARKNET_TO_COCO.get(n.strip(), n.strip()) for n in names if n.strip()]


class TorchvisionDetector:
    """SSD300-VGG16 or Mask R-CNN from torchvision (COCO 91-id label space)."""

    ASSETS = {"ssd300": "torchvision-ssd300-vgg16", "maskrcnn": "torchvision-maskrcnn-resnet50-fpn"}

    def __init__(
        self, kind: str, weights_path: str | None, *, conf: float = 0.4, random_init: bool = False
    ):
        try:
            import torch
            from torchvision.models import detection as tvd
        except ImportError as exc:
            raise MissingDependency(
                f"the {kind} detector needs torch and torchvision; install them"
            ) from exc
        self.name = kind
        self.torch = torch
        if kind == "ssd300":
            self.categories = list(tvd.SSD300_VGG16_Weights.COCO_V1.meta["categories"])
            model = tvd.ssd300_vgg16(
                weights=None, weights_backbone=None, num_classes=len(self.categories)
            )
        elif kind == "maskrcnn":
            self.categories = list(tvd.MaskRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"])
            model = tvd.maskrcnn_resnet50_fpn(
                weights=None, weights_backbone=None, num_classes=len(self.categories)
            )
        else:
            raise UsageError(f"unknown torchvision detector '{kind}'")
        if not random_init:
            if weights_path is None:
                raise UsageError(f"weights for {kind} are needed (or random_init for tests)")
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        self.model = model.eval()
        self.conf = conf
        self.last_masks: list[
            np.ndarray
        ] = []  # Mask R-CNN masks of the last call (used by later stages)

    @classmethod
    def from_store(cls, kind: str, store: AssetStore, **kw) -> TorchvisionDetector:
        return cls(kind, str(store.resolve(cls.ASSETS[kind])), **kw)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        torch = self.torch
        h, w = rgb.shape[:2]
        x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
        with torch.inference_mode():
            out = self.model([x])[0]
        boxes = out["boxes"].cpu().numpy()
        labels = out["labels"].cpu().numpy()
        scores = out["scores"].cpu().numpy()
        masks = out.get("masks")
        dets, self.last_masks = [], []
        for i in np.flatnonzero(scores >= self.conf):
            label = (
                self.categories[int(labels[i])] if int(labels[i]) < len(self.categories) else "N/A"
            )
            if label in ("N/A", "__background__"):
                continue
            x0, y0, x1, y1 = boxes[i]
            dets.append(
                Detection(
                    label,
                    round(float(scores[i]), 4),
                    (
                        round(float(np.clip(x0 / w, 0, 1)), 4),
                        round(float(np.clip(y0 / h, 0, 1)), 4),
                        round(float(np.clip(x1 / w, 0, 1)), 4),
                        round(float(np.clip(y1 / h, 0, 1)), 4),
                    ),
                )
            )
            if masks is not None:
                self.last_masks.append(masks[i, 0].cpu().numpy() > 0.5)
        return dets


def make_detector(name: str, store: AssetStore, **kw) -> Detector:
    if name == "yolo-fastest":
        return YoloFastest.from_store(store, **kw)
    if name in TorchvisionDetector.ASSETS:
        return TorchvisionDetector.from_store(name, store, **kw)
    raise UsageError(f"unknown detector '{name}'; choose one of {', '.join(DETECTORS)}")
