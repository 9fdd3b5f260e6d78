"""Finding and reading pictures. Every failure becomes an ImageError with a reason a person
understands."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from builder.errors import ImageError
from builder.files import SIZE_LIMITS, over_limit, unreadable_input, walk_files

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".avif",
    ".heic",
    ".heif",
}
# Pillow refuses images over twice this many pixels as decompression bombs; 150 MP lets a real 100
# MP photo through and refuses a header that claims 60000 x 60000.
Image.MAX_IMAGE_PIXELS = 150_000_000
# Pillow's warnings (a large picture, a damaged EXIF block) are never the user's to read: what
# matters about a picture the builder says itself. One filter for the whole process, set once,
# rather than warnings.catch_warnings() around each read: that swaps the process's filters, and
# pictures are read while another thread imports torch, whose import briefly hides a warning of its
# own that the swap brought back.
warnings.filterwarnings("ignore", module=r"PIL(\.|$)")


def list_images(root: Path, exclude: Path | tuple[Path, ...] | None = None) -> list[str]:
    """Picture files under root, relative POSIX paths, sorted (builder.files.walk_files: links to
    folders not followed, the builder's own folders in `exclude` skipped). Unreadable sub-folders:
    see find_images."""
    return find_images(root, exclude)[0]


def find_images(
    root: Path, exclude: Path | tuple[Path, ...] | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """(pictures, [(sub-folder, why it could not be read)]) under root."""
    excluded = (exclude,) if isinstance(exclude, Path) else tuple(exclude or ())
    return walk_files(root, IMAGE_SUFFIXES, excluded)


def read_picture(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their sha256 (the cache key), read once: what is analysed is what was
    hashed. Only a regular file within the size limit for a picture is read
    (builder.files.SIZE_LIMITS), so a 3 GB file named .jpg costs nothing and a named pipe does not
    block the build. Read failures become ImageError."""
    try:
        st = os.stat(path)
        why = unreadable_input(st, "picture")
        if why:
            raise ImageError(why)
        with open(path, "rb") as f:
            data = f.read(
                SIZE_LIMITS["picture"] + 1
            )  # a file that grew since stat is still bounded
        if not data:
            raise ImageError("empty file (0 bytes)")
        if len(data) > SIZE_LIMITS["picture"]:
            raise ImageError(
                over_limit(len(data), "picture") or "is over the size limit for a picture"
            )
        return data, hashlib.sha256(data).hexdigest()
    except PermissionError:
        raise ImageError("cannot be read (permission denied)") from None
    except FileNotFoundError:
        raise ImageError("disappeared during the build, or is a broken link") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not a picture") from None
    except MemoryError:
        raise ImageError("there was not enough memory to read it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError("is a link that leads back to itself (a loop of links)") from None
        raise ImageError(f"cannot be read ({exc.strerror or exc})") from None


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes, with read failures turned into ImageError."""
    return read_picture(path)[1]


def read_verified(path: Path, sha256: str) -> io.BytesIO:
    """The picture's bytes, checked against the hash it was read with: a picture replaced or removed
    since is an ImageError, so no render of other content is ever stored under that hash."""
    try:
        data, digest = read_picture(path)
    except ImageError as exc:
        if "disappeared" in str(exc):
            raise ImageError("disappeared after it was read; it is left out") from None
        raise ImageError(f"{exc} now; it is left out") from None
    if digest != sha256:
        raise ImageError(
            "changed after it was read; it is left out (build again to include its new content)"
        )
    return named_bytes(data, path.name)


def named_bytes(data: bytes, name: str) -> io.BytesIO:
    """Bytes to decode, with the file's name (for messages that depend on its suffix)."""
    buf = io.BytesIO(data)
    buf.name = name
    return buf


def open_picture(path: Path | io.BytesIO) -> Image.Image:
    """A picture opened for decoding (nothing decoded yet), or ImageError with the reason, from its
    header alone: not a picture, HEIC, a header that claims more pixels than the builder accepts (a
    decompression bomb: a 200-byte file can claim 20000 x 20000), or, for formats other than JPEG
    (which is decoded at reduced size: Image.draft), more memory to decode than DECODE_LIMIT. For
    whatever reads pictures: the analysis, the copies, the film's frames."""
    try:
        im = Image.open(path)
        if im.format != "JPEG":
            try:  # other formats decode whole: look at the header's size first
                _check_decoded_size(im)
            except ImageError:
                im.close()
                raise
        return im
    except Image.DecompressionBombError:
        raise ImageError(
            "refused: the image claims more pixels than the builder accepts "
            f"({Image.MAX_IMAGE_PIXELS * 2:,}); it may be a decompression bomb"
        ) from None
    except UnidentifiedImageError:
        suffix = Path(
            str(getattr(path, "name", path))
        ).suffix.lower()  # a BytesIO carries its file's name
        if suffix in (".heic", ".heif"):
            raise ImageError("HEIC/HEIF pictures are not supported; convert it to JPEG") from None
        raise ImageError("not a picture the builder can read (unknown or damaged format)") from None
    except MemoryError:
        raise ImageError("there was not enough memory to decode it") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"damaged or truncated picture ({exc})") from None


def open_upright(
    path: Path | io.BytesIO, max_side: int, srgb: bool = False
) -> tuple[Image.Image, int, int]:
    """Open, take the first frame, apply EXIF orientation, convert to RGB, downscale to max_side.

    srgb: convert the colours from the picture's embedded ICC profile to sRGB (what the gallery's
    copies are shown as: a Display-P3 or Adobe RGB photo would otherwise look duller). The analysis
    reads the pixels as stored, as its models were fitted. Returns (image, original upright width,
    original upright height).
    """
    im = open_picture(path)
    w, h = im.size
    try:
        if im.format == "JPEG":
            im.draft(
                "RGB", (max_side, max_side)
            )  # decode at reduced size: bounded memory for huge JPEGs
        im.seek(0)
        im.load()
    except MemoryError:
        raise ImageError("there was not enough memory to decode it") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
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


DECODE_LIMIT = (
    600 << 20
)  # bytes that decoding one picture may take, its conversions to RGB included
_MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "La": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
}


def _check_decoded_size(im: Image.Image) -> None:
    """Refuse, from the header alone, a picture whose decoding would take more than DECODE_LIMIT (a
    small TIFF or PNG can claim gigapixels; Pillow's own bomb check lets through up to twice
    MAX_IMAGE_PIXELS). The estimate: the decoded pixels, an RGBA copy (flattening, conversion), and
    for 16-bit images the float64 rescaling."""
    w, h = im.size
    per_pixel = _MODE_BYTES.get(im.mode, 4) + 4 + (8 if im.mode.startswith("I") else 0)
    need = w * h * per_pixel
    if need > DECODE_LIMIT:
        from builder.files import size_text

        raise ImageError(
            f"is {w:,} x {h:,} pixels (about {size_text(need)} to decode), over the "
            f"{size_text(DECODE_LIMIT)} the builder spends on one picture in this format; save it "
            "as JPEG or smaller"
        )


def to_srgb(im: Image.Image) -> Image.Image:
    """The picture in sRGB, converted from its embedded ICC profile (RGB and CMYK pictures);
    unchanged when it has none, when the profile is sRGB already, or when the profile cannot be read
    (the pixels are then taken as sRGB, as browsers do with an untagged picture)."""
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
    """Upright RGB uint8 array (downscaled to max_side) and the original upright width and
    height."""
    im, w, h = open_upright(path, max_side)
    return np.asarray(im, dtype=np.uint8), w, h


# ---- the picture's own title and description (metadata) ------------------------------------------

# What cameras write into ImageDescription when the photographer wrote nothing: not a description.
CAMERA_PLACEHOLDERS = {
    "",
    "olympus digital camera",
    "sony dsc",
    "default",
    "image",
    "picture",
    "dcim",
    "camera",
}
XMP_DC = "{http://purl.org/dc/elements/1.1/}"
XMP_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read_metadata(data: bytes | io.BytesIO) -> tuple[str, str]:
    """The picture's own (title, description) from its metadata, raw (builder.curation.clean makes
    them fit for a page); empty where it has none. Read from the header only, no pixel is decoded.
    Where several are present: XMP dc:title / dc:description, then IPTC object name or headline /
    caption, then EXIF XPTitle / ImageDescription. A damaged header gives ("", ""): a caption is
    never worth failing a picture for."""
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            xmp_title, xmp_description = _xmp(_xmp_packet(im))
            iptc = _iptc(im)
            exif = im.getexif()
            exif_title = _xp(exif.get(0x9C9B))
            exif_description = _text(exif.get(0x010E))
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on damaged headers; the picture's read says why
        return "", ""
    if exif_description.strip().lower() in CAMERA_PLACEHOLDERS:
        exif_description = ""
    title = xmp_title or iptc.get((2, 5)) or iptc.get((2, 105)) or exif_title
    description = xmp_description or iptc.get((2, 120)) or exif_description
    return title or "", description or ""


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.split(b"\x00", 1)[0]
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return value if isinstance(value, str) else ""


def _xp(value) -> str:
    """EXIF XP* tags: UTF-16LE bytes (or a tuple of byte values), NUL-terminated."""
    if isinstance(value, tuple):
        value = bytes(value)
    if not isinstance(value, bytes):
        return ""
    return value.decode("utf-16-le", errors="replace").split("\x00", 1)[0]


def _iptc(im: Image.Image) -> dict[tuple[int, int], str]:
    from PIL import IptcImagePlugin

    info = IptcImagePlugin.getiptcinfo(im) or {}
    utf8 = info.get((1, 90)) in (
        b"\x1b%G",
        [b"\x1b%G"],
    )  # the coded character set: ESC % G is UTF-8
    out = {}
    for key in ((2, 5), (2, 105), (2, 120)):
        value = info.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, bytes):
            try:
                out[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                out[key] = "" if utf8 else value.decode("latin-1")
    return out


def _xmp_packet(im: Image.Image) -> bytes | str | None:
    """Where each format keeps its XMP packet (JPEG APP1, PNG iTXt, WebP chunk, TIFF tag 700)."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        if im.info.get(key):
            return im.info[key]
    tags = getattr(im, "tag_v2", None)
    return tags.get(700) if tags is not None else None


def _xmp(packet: bytes | str | None) -> tuple[str, str]:
    """dc:title and dc:description of an XMP packet (the x-default language, else the first). Parsed
    with the standard library; a packet that declares a DTD or entities is refused (XMP never needs
    one, and entity expansion is how XML is made to eat memory)."""
    import xml.etree.ElementTree as ET

    if not packet:
        return "", ""
    try:
        text = packet if isinstance(packet, str) else bytes(packet).decode("utf-8")
    except UnicodeDecodeError:
        return "", ""  # XMP in images is UTF-8; anything else is not worth guessing at
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        return "", ""
    try:
        root = ET.fromstring(text.strip("\ufeff\x00 \r\n\t"))
    except (ET.ParseError, ValueError):
        return "", ""

    def alt(tag: str) -> str:
        for el in root.iter(XMP_DC + tag):
            items = list(el.iter(XMP_RDF + "li"))
            best = next(
                (li for li in items if li.get(XML_LANG) == "x-default"), items[0] if items else el
            )
            text = "".join(best.itertext()).strip()
            if text:
                return text
        return ""

    return alt("title"), alt("description")
