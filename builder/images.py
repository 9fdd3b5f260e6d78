"""Finding and reading pictures. Every failure becomes an ImageError with a reason a person understands."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from builder.errors import ImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
# Pillow refuses images over twice this many pixels as decompression bombs; 150 MP lets a real 100 MP photo
# through and refuses a header that claims 60000 x 60000.
Image.MAX_IMAGE_PIXELS = 150_000_000


def list_images(root: Path, exclude: Path | None = None) -> list[str]:
    """Picture files under root, relative POSIX paths, sorted. Symlinked folders are not followed (no loops)."""
    found = []
    exclude = exclude.resolve() if exclude else None
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (exclude is None or (here / d).resolve() != exclude)
        )
        for name in filenames:
            if name.startswith("."):
                continue
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append((here / name).relative_to(root).as_posix())
    return sorted(found)


def read_picture(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their sha256 (the cache key), read once: what is analysed is what was hashed.
    Read failures become ImageError."""
    try:
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        with open(path, "rb") as f:
            data = f.read()
        if not data:
            raise ImageError("empty file (0 bytes)")
        return data, hashlib.sha256(data).hexdigest()
    except PermissionError:
        raise ImageError("cannot be read (permission denied)") from None
    except FileNotFoundError:
        raise ImageError("disappeared during the build, or is a broken link") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not a picture") from None
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})") from None


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes, with read failures turned into ImageError."""
    return read_picture(path)[1]


def read_verified(path: Path, sha256: str) -> io.BytesIO:
    """The picture's bytes, checked against the hash it was read with: a picture replaced or removed since is an
    ImageError, so no render of other content is ever stored under that hash."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError("disappeared after it was read; it is left out") from None
    except OSError as exc:
        raise ImageError(f"cannot be read any more ({exc.strerror or exc}); it is left out") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ImageError("changed after it was read; it is left out (build again to include its new content)")
    return named_bytes(data, path.name)


def named_bytes(data: bytes, name: str) -> io.BytesIO:
    """Bytes to decode, with the file's name (for messages that depend on its suffix)."""
    buf = io.BytesIO(data)
    buf.name = name
    return buf


def open_upright(path: Path | io.BytesIO, max_side: int, srgb: bool = False) -> tuple[Image.Image, int, int]:
    """Open, take the first frame, apply EXIF orientation, convert to RGB, downscale to max_side.

    srgb: convert the colours from the picture's embedded ICC profile to sRGB (what the gallery's copies are
    shown as: a Display-P3 or Adobe RGB photo would otherwise look duller). The analysis reads the pixels as
    stored, as its models were fitted. Returns (image, original upright width, original upright height).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
            w, h = im.size
            if im.format == "JPEG":
                im.draft("RGB", (max_side, max_side))  # decode at reduced size: bounded memory for huge JPEGs
            im.seek(0)
            im.load()
    except Image.DecompressionBombError:
        raise ImageError(
            "refused: the image claims more pixels than the builder accepts "
            f"({Image.MAX_IMAGE_PIXELS * 2:,}); it may be a decompression bomb"
        ) from None
    except UnidentifiedImageError:
        suffix = Path(str(getattr(path, "name", path))).suffix.lower()  # a BytesIO carries its file's name
        if suffix in (".heic", ".heif"):
            raise ImageError("HEIC/HEIF pictures are not supported; convert it to JPEG") from None
        raise ImageError("not a picture the builder can read (unknown or damaged format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"damaged or truncated picture ({exc})") from None
    orientation = im.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    im = ImageOps.exif_transpose(im)
    if srgb:
        im = to_srgb(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        flat = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(flat, im)
    if im.mode == "I;16" or im.mode.startswith("I"):
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() or 1.0
        im = Image.fromarray((arr / top * 255).astype(np.uint8))
    im = im.convert("RGB")
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return im, w, h


def to_srgb(im: Image.Image) -> Image.Image:
    """The picture in sRGB, converted from its embedded ICC profile (RGB and CMYK pictures); unchanged when it has
    none, when the profile is sRGB already, or when the profile cannot be read (the pixels are then taken as
    sRGB, as browsers do with an untagged picture)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "CMYK"):
        return im
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            return im
        return ImageCms.profileToProfile(im, profile, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


_SRGB = []


def _srgb_profile():
    if not _SRGB:
        from PIL import ImageCms

        _SRGB.append(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")))
    return _SRGB[0]


def read_rgb(path: Path | io.BytesIO, max_side: int) -> tuple[np.ndarray, int, int]:
    """Upright RGB uint8 array (downscaled to max_side) and the original upright width and height."""
    im, w, h = open_upright(path, max_side)
    return np.asarray(im, dtype=np.uint8), w, h
