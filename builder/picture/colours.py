"""Object masks, dominant colours and their names.

Masks: DeepLabv3 MobileNetV2 (PASCAL VOC, TFLite) inside each detection box for the classes it
knows; OpenCV GrabCut seeded by the box otherwise (or when DeepLab finds none of the class there);
Mask R-CNN's own masks when that detector is used.

Dominant colour: k-means with k = 3 on the mask's pixels (as published); the largest cluster's
centre is named by the nearest colour under CIEDE2000. Clustering runs in CIELAB by default
(``space="lab"``; see benchmarks/colour_space.py and docs/pictures.md for the measurement);
``space="rgb"`` is the published variant.

Colour names: the CSS4 names that ship in matplotlib, kept when the name is one common English word
that the word vectors know (rank < 30,000 in GloVe's frequency order), because the name is later
read as a word. "peru" is dropped: in text it is a country, not a colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from builder.assets import AssetStore
from builder.errors import MissingDependency
from builder.records import Box

# COCO label -> PASCAL VOC label for the classes DeepLab knows.
COCO_TO_VOC = {
    "airplane": "aeroplane",
    "bicycle": "bicycle",
    "bird": "bird",
    "boat": "boat",
    "bottle": "bottle",
    "bus": "bus",
    "car": "car",
    "cat": "cat",
    "chair": "chair",
    "cow": "cow",
    "dining table": "diningtable",
    "dog": "dog",
    "horse": "horse",
    "motorcycle": "motorbike",
    "person": "person",
    "potted plant": "pottedplant",
    "sheep": "sheep",
    "couch": "sofa",
    "train": "train",
    "tv": "tvmonitor",
}
EXCLUDED_NAMES = {"peru"}


@dataclass(frozen=True)
class NamedColour:
    name: str
    rgb: tuple[int, int, int]


def colour_names(
    word_rank: Mapping[str, int] | None = None, max_rank: int = 30000
) -> list[NamedColour]:
    """CSS4 colour names; with word_rank (a vectors' key_to_index), only those among its max_rank
    commonest words."""
    try:
        from matplotlib.colors import CSS4_COLORS, to_rgb
    except ImportError as exc:
        raise MissingDependency("colour names come from matplotlib; install it") from exc
    out = []
    for name, hexcode in CSS4_COLORS.items():
        if name in EXCLUDED_NAMES or (
            word_rank is not None and word_rank.get(name, max_rank) >= max_rank
        ):
            continue
        r, g, b = (int(round(255 * c)) for c in to_rgb(hexcode))
        out.append(NamedColour(name, (r, g, b)))
    return out


def to_lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(rgb, dtype=np.float64).reshape(-1, 1, 3) / 255.0).reshape(-1, 3)


class ColourNamer:
    def __init__(self, names: list[NamedColour]):
        self.names = names
        self.lab = to_lab(np.array([n.rgb for n in names]))

    def name(self, rgb: Sequence[float] | np.ndarray) -> NamedColour:
        from skimage.color import deltaE_ciede2000

        lab = to_lab(np.asarray(rgb))[0]
        d = deltaE_ciede2000(np.repeat(lab[None], len(self.lab), 0), self.lab)
        return self.names[int(np.argmin(d))]


def dominant_colour(
    pixels: np.ndarray, space: str = "lab", k: int = 3, sample: int = 2000, seed: int = 0
) -> tuple[int, int, int]:
    """RGB of the largest of k clusters of the pixels (N x 3 uint8), clustered in RGB or CIELAB."""
    from sklearn.cluster import KMeans

    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 3)
    if len(px) > sample:
        px = px[np.random.default_rng(seed).choice(len(px), sample, replace=False)]
    feats = to_lab(px) if space == "lab" else px
    k = min(k, len(np.unique(feats, axis=0)))
    km = KMeans(n_clusters=k, n_init=2, max_iter=100, random_state=seed).fit(feats)
    largest = int(np.argmax(np.bincount(km.labels_, minlength=k)))
    members = px[km.labels_ == largest]
    r, g, b = (int(round(c)) for c in members.mean(axis=0))
    return r, g, b


TFLITE_THREADS = 2  # worker processes set 1 (builder.pipeline.executors.single_threaded)


def _tflite(path: str, preserve_all_tensors: bool = False):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependency(
            "this stage needs ai-edge-litert (TFLite runtime); install it"
        ) from exc
    import warnings

    with warnings.catch_warnings(), _without_native_info():
        warnings.simplefilter(
            "ignore"
        )  # preserving tensors is called a debugging aid; we need one of them
        it = Interpreter(
            model_path=path,
            num_threads=TFLITE_THREADS,
            experimental_preserve_all_tensors=preserve_all_tensors,
        )
        it.allocate_tensors()
    return it


@contextmanager
def _without_native_info():
    """TFLite's C++ writes "INFO: Created TensorFlow Lite XNNPACK delegate" straight to file
    descriptor 2, and no setting of the Python package turns it off: hold fd 2 in a temporary file
    while the interpreter is made, then pass on every line but the INFO ones (warnings and errors
    still reach the user)."""
    import os
    import sys
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:  # no stderr to speak of
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [
                line
                for line in held.read().decode("utf-8", "replace").splitlines(True)
                if not line.startswith("INFO:")
            ]
            if kept:
                sys.stderr.write("".join(kept))


class Segmenter:
    """DeepLabv3 MobileNetV2 PASCAL VOC: one class id per pixel."""

    def __init__(self, model_path: str, labels: list[str]):
        self.it = _tflite(model_path)
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]
        self.size = int(self.inp["shape"][1])
        self.labels = labels

    @classmethod
    def from_store(cls, store: AssetStore) -> Segmenter:
        labels = store.resolve("deeplab-labels").read_text(encoding="utf-8").splitlines()[:21]
        return cls(str(store.resolve("deeplab-v3-mnv2")), [lb.strip() for lb in labels])

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        from PIL import Image

        h, w = rgb.shape[:2]
        x = np.asarray(
            Image.fromarray(rgb).resize((self.size, self.size), Image.Resampling.BILINEAR), np.uint8
        )
        self.it.set_tensor(self.inp["index"], x[None].astype(self.inp["dtype"]))
        self.it.invoke()
        seg = self.it.get_tensor(self.out["index"])[0].astype(np.uint8)
        return np.asarray(Image.fromarray(seg).resize((w, h), Image.Resampling.NEAREST))


def box_pixels(box: Box, shape: Sequence[int]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    return (
        int(x0 * w),
        int(y0 * h),
        max(int(x0 * w) + 1, int(np.ceil(x1 * w))),
        max(int(y0 * h) + 1, int(np.ceil(y1 * h))),
    )


def grabcut_mask(rgb: np.ndarray, box: Box, max_side: int = 160, iterations: int = 3) -> np.ndarray:
    """Foreground mask of the box's region (shape of the box crop), GrabCut seeded by the box."""
    import cv2

    x0, y0, x1, y1 = box_pixels(box, rgb.shape)
    h, w = rgb.shape[:2]
    # work on the box plus a margin, downscaled, so GrabCut has background to learn from and stays
    # fast
    mx, my = max(2, (x1 - x0) // 10), max(2, (y1 - y0) // 10)
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
    crop = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1, ::-1])
    scale = min(1.0, max_side / max(crop.shape[:2]))
    small = cv2.resize(
        crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale)))
    )
    rect = (
        int((x0 - cx0) * scale),
        int((y0 - cy0) * scale),
        max(1, int((x1 - x0) * scale)),
        max(1, int((y1 - y0) * scale)),
    )
    mask = np.zeros(small.shape[:2], np.uint8)
    try:
        if min(small.shape[:2]) < 3 or rect[2] >= small.shape[1] and rect[3] >= small.shape[0]:
            raise ValueError("box covers the whole crop")
        cv2.grabCut(
            small,
            mask,
            rect,
            np.zeros((1, 65)),
            np.zeros((1, 65)),
            iterations,
            cv2.GC_INIT_WITH_RECT,
        )
        fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    except (cv2.error, ValueError):
        fg = np.zeros(small.shape[:2], np.uint8)
        fg[rect[1] : rect[1] + rect[3], rect[0] : rect[0] + rect[2]] = 1
    full = cv2.resize(fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    return full[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0].astype(bool)


def object_pixels(
    rgb: np.ndarray,
    label: str,
    box: Box,
    seg: np.ndarray | None,
    voc_labels: list[str],
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """The object's pixels and how they were masked ('maskrcnn', 'deeplab', 'grabcut' or 'box')."""
    x0, y0, x1, y1 = box_pixels(box, rgb.shape)
    crop = rgb[y0:y1, x0:x1]
    if mask is not None and mask.shape == rgb.shape[:2] and mask[y0:y1, x0:x1].sum() >= 20:
        return crop[mask[y0:y1, x0:x1]], "maskrcnn"
    voc = COCO_TO_VOC.get(label)
    if seg is not None and voc in voc_labels:
        m = seg[y0:y1, x0:x1] == voc_labels.index(voc)
        if m.sum() >= 20:
            return crop[m], "deeplab"
    m = grabcut_mask(rgb, box)
    if m.sum() >= 20:
        return crop[m], "grabcut"
    return crop.reshape(-1, 3), "box"
