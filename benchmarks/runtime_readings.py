"""Are the readings kept? The learned method's reading with EfficientNet-Lite2 and the Yolo-Fastest
detector run in the builder's runtime (their ONNX files, builder.assets.runtime) against the same
reading with Lite2 in torch eager and the detector in OpenCV DNN (the path before), on every photo
of the rated sets; and the music head's reading with the int8 musicnn taggers in the runtime against
the same with the torch taggers, on every clip of music-4q.

    python benchmarks/runtime_readings.py [--mirror ../shared/mirror] [--eval ../shared/eval]
                                          [--n 0]
                                          [--sets oasis-dev,emotion6,gaped-dev,music-4q]

Each photo is analysed once by the build's own stages (builder.pipeline.analyse_one, cold, in this
process, one thread), with a Lite2 and a detector that each run both networks on the same pixels:
the build's reading comes from the runtime's outputs, the reference reading from the same
ingredients with torch's Lite2 features and OpenCV's detections in their place (MobileNetV2 and the
colour statistics are the same for both). Both go through the shipped feeling model (valence and
arousal relative to its quadrant origin, as `record` reads them). Per set and over all: Pearson r
of valence and of arousal, the share of photos in the same quadrant, the largest difference of a
reading, and the largest difference of a Lite2 pooled feature; and the photos whose detections'
labels differ. --n: only the first n photos of each set (0: all).

Music the same way: each clip is heard once by the listener (builder.music.listen.Listener.hear:
decoding, mel patches, the classic and harmonic features), with taggers that run both the runtime's
network and torch's on the same patches; the shipped music head reads both (valence and arousal in
[-1, 1]; the quadrant is the plane's). The largest difference of a tag probability (a clip's mean,
as listened) is printed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
from common import mirror_option

from builder import plane
from builder.files import tune_allocator
from builder.images import find_images
from builder.picture.backbone import Lite2, Lite2Torch
from builder.picture.detect import YoloFastest, YoloFastestOpenCV
from builder.pipeline.context import Context
from builder.pipeline.executors import single_threaded
from builder.pipeline.stages import analyse_one
from builder.settings import Settings

HERE = Path(__file__).resolve().parent.parent
FOLDERS = {
    "oasis-dev": "oasis-dev/images",
    "emotion6": "emotion6/images",
    "gaped-dev": "gaped-dev",
    "music-4q": "music-4q",
}


class Both:
    """Lite2 in the runtime, with torch's output for the same pixels kept aside."""

    def __init__(self, runtime: Lite2, reference: Lite2Torch):
        self.runtime, self.reference = runtime, reference
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.last = self.reference.run(rgb)
        return self.runtime.run(rgb)


class BothDetectors:
    """The detector in the runtime, with OpenCV DNN's detections of the same pixels kept aside."""

    name = "yolo-fastest"

    def __init__(self, runtime: YoloFastest, reference: YoloFastestOpenCV):
        self.runtime, self.reference, self.names = runtime, reference, runtime.names
        self.last: list = []

    def detect(self, rgb: np.ndarray) -> list:
        self.last = self.reference.detect(rgb)
        return self.runtime.detect(rgb)


def read_set(name: str, folder: Path, n: int, mirror: Path, cache: Path) -> dict[str, np.ndarray]:
    settings = Settings(
        input=folder, out=cache / "out", mirror=mirror, cache_dir=cache / name, offline=True
    )
    store = settings.store()
    both = Both(Lite2.from_store(store), Lite2Torch.from_store(store))
    conf = settings.min_score
    detectors = BothDetectors(
        YoloFastest.from_store(store, conf=conf), YoloFastestOpenCV.from_store(store, conf=conf)
    )
    ctx = Context(settings, lite=both, detector=detectors)
    model = ctx.feeling
    files = find_images(folder)[0]
    files = files[:n] if n else files
    rows: dict[str, list] = {"new": [], "old": [], "pooled": [], "labels": []}
    t0 = time.perf_counter()
    for rel in files:
        sha = hashlib.sha256((folder / rel).read_bytes()).hexdigest()
        reading, failure, _ = analyse_one(ctx, rel, sha)
        if (
            failure is not None
            or reading is None
            or reading.ingredients is None
            or both.last is None
        ):
            print(f"  {rel}: {failure.reason if failure else 'no reading'}")
            continue
        ing = reading.ingredients
        probs, pooled = both.last
        old_detections = [(d.label, d.box) for d in detectors.last]
        old = dataclasses.replace(
            ing,
            lite_pooled=np.round(pooled, 4),
            lite_probs=np.round(probs, 5),
            detections=old_detections,
        )
        rows["labels"].append([lb for lb, _ in ing.detections] != [lb for lb, _ in old_detections])
        rows["new"].append(model.relative(model.predict([ing])[0]))
        rows["old"].append(model.relative(model.predict([old])[0]))
        rows["pooled"].append(float(np.abs(ing.lite_pooled - old.lite_pooled).max()))
    print(f"{name}: {len(rows['new'])} photos read in {time.perf_counter() - t0:.0f} s", flush=True)
    return {k: np.array(v) for k, v in rows.items()}


class BothTaggers:
    """A musicnn tagger in the runtime, with torch's output for the same patches kept aside."""

    def __init__(self, runtime, reference):
        self.runtime, self.reference, self.tags = runtime, reference, runtime.tags
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.last = self.reference(patches)
        return self.runtime(patches)

    def top_tags(self, probs: np.ndarray, k: int) -> list[str]:
        return self.runtime.top_tags(probs, k)


def read_music(folder: Path, n: int, mirror: Path, cache: Path) -> dict[str, np.ndarray]:
    from builder.assets import AssetStore
    from builder.music.listen import Listener, list_audio
    from builder.music.musicnn import Tagger, TorchTagger

    store = AssetStore(cache / "music", mirror, offline=True)
    taggers = {
        ds: BothTaggers(
            Tagger(store.resolve(f"musicnn-{ds.lower()}-onnx"), ds),
            TorchTagger(store.resolve(f"musicnn-{ds.lower()}"), ds),
        )
        for ds in ("MTT", "MSD")
    }
    listener = Listener(
        store, cache / "music", msd=True, tagger=taggers["MTT"], msd_tagger=taggers["MSD"]
    )
    files = list_audio(folder)
    files = files[:n] if n else files
    new, old, probs = [], [], []
    t0 = time.perf_counter()
    for rel in files:
        heard, _ = listener.hear(folder / rel)
        (p, e), (mp, me) = taggers["MTT"].last, taggers["MSD"].last  # type: ignore[misc]

        def mean(x: np.ndarray) -> tuple[float, ...]:
            return tuple(round(float(v), 6) for v in x.mean(axis=0))

        torch_heard = dataclasses.replace(
            heard, tag_probs=mean(p), embedding=mean(e), msd_probs=mean(mp), msd_embedding=mean(me)
        )
        new.append(listener.head.features_of(heard))
        old.append(listener.head.features_of(torch_heard))
        probs.append(
            max(
                np.abs(np.subtract(heard.tag_probs, torch_heard.tag_probs)).max(),
                np.abs(np.subtract(heard.msd_probs, torch_heard.msd_probs)).max(),
            )
        )
    print(f"music-4q: {len(new)} clips heard in {time.perf_counter() - t0:.0f} s", flush=True)
    return {
        "new": listener.head.predict(np.array(new))[0],
        "old": listener.head.predict(np.array(old))[0],
        "pooled": np.array(probs),
    }


def report(name: str, r: dict[str, np.ndarray]) -> None:
    new, old = r["new"], r["old"]
    rv = np.corrcoef(new[:, 0], old[:, 0])[0, 1]
    ra = np.corrcoef(new[:, 1], old[:, 1])[0, 1]
    same = np.mean([plane.quadrant(tuple(a)) == plane.quadrant(tuple(b)) for a, b in zip(new, old)])
    print(
        f"{name:<10} n={len(new):<5} r valence {rv:.4f}  r arousal {ra:.4f}  "
        f"same quadrant {100 * same:.1f} %  "
        f"max |reading diff| {np.abs(new - old).max():.4f}  max |{r.get('what', 'pooled')} diff| "
        f"{r['pooled'].max():.4f}"
        + (f"  other labels {int(r['labels'].sum())}" if "labels" in r else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    ap.add_argument("--eval", type=Path, default=HERE.parent / "shared/eval")
    ap.add_argument("--sets", default=",".join(FOLDERS))
    ap.add_argument("--n", type=int, default=0, help="the first n photos of each set (0: all)")
    args = ap.parse_args()
    tune_allocator()
    single_threaded()  # as a build's processes run
    results, music = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            folder, mirror = args.eval / FOLDERS[name], args.mirror.resolve()
            if name == "music-4q":
                music = read_music(folder, args.n, mirror, Path(tmp))
            else:
                results[name] = read_set(name, folder, args.n, mirror, Path(tmp))
    if results:
        print("\nthe runtime's readings against the path before (torch's Lite2, OpenCV's detector)")
        for name, r in results.items():
            report(name, r)
        keys = ("new", "old", "pooled", "labels")
        report("all", {k: np.concatenate([r[k] for r in results.values()]) for k in keys})
    if music is not None:
        print("\nthe music head's readings with the runtime's taggers against torch's")
        report("music-4q", {**music, "what": "tag probability"})


if __name__ == "__main__":
    main()
