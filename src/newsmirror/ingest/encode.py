"""An image's bytes -> the bytes the archive stores: scaled down and re-encoded with Pillow.

- Wider than `image_max_width`: scaled down (Lanczos), aspect kept. The EXIF
  orientation is applied first, since the re-encoded file has no EXIF.
- Re-encoded in its own format (JPEG progressive at `image_quality`, PNG at
  zlib level 9) and as WebP (lossy at `image_quality` for photos, lossless
  for PNG and GIF graphics); the smaller is stored. A PNG with more than
  4,096 colours and no transparency is a photo saved as PNG: it is stored
  lossy (WebP or JPEG), as a JPEG would be.
- The served bytes themselves are a candidate when the image needed no
  scaling: a file the host already squeezed is not made bigger.
- Animated GIF and WebP are kept as they are, not scaled: re-encoding every
  frame costs seconds of CPU per image on a small machine and a GIF's frames
  rarely shrink much; the per-image size cap still applies. A still GIF is
  stored as PNG or WebP, whichever is smaller.
- Nothing that decodes to more than `image_max_pixels` is decoded
  (decompression bombs); a file Pillow cannot decode is not stored.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from ..archive.config import ImageSettings
from ..models import NewsmirrorError

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
}
PHOTO_COLOURS = 4096  # more distinct colours than this: a photo, not a graphic
_FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class EncodeError(NewsmirrorError):
    """The image cannot be stored; the message says why, in a few words."""


@dataclass(frozen=True)
class Encoded:
    data: bytes
    mime: str
    how: str  # "webp", "jpeg", "png", "original", "animated": for the run report


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type the bytes really are, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


def encode_image(data: bytes, mime: str, settings: ImageSettings) -> Encoded:
    """The smallest acceptable encoding of `data` (a `mime` image); raises EncodeError."""
    image = _open(data, settings)
    if getattr(image, "n_frames", 1) > 1:
        return Encoded(data, mime, "animated")
    try:
        image = ImageOps.exif_transpose(image)
        scaled = image.width > settings.image_max_width
        if scaled:
            if image.mode not in ("L", "RGB", "RGBA"):  # palettes would scale as nearest
                image = image.convert("RGBA" if _has_alpha(image) else "RGB")
            height = max(1, round(image.height * settings.image_max_width / image.width))
            image = image.resize((settings.image_max_width, height), Image.Resampling.LANCZOS)
        candidates = _encodings(image, mime, settings.image_quality)
    except (OSError, ValueError, SyntaxError) as e:
        raise EncodeError(f"cannot decode the {mime} image ({e})") from None
    if not scaled:
        candidates.append(Encoded(data, mime, "original"))
    return min(candidates, key=lambda c: len(c.data))


def _open(data: bytes, settings: ImageSettings) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > settings.image_max_pixels:
                raise EncodeError(
                    f"{image.width}x{image.height} pixels, over the {settings.image_max_pixels}-pixel cap"
                )
            image.load()
    except EncodeError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise EncodeError("too many pixels to decode safely") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise EncodeError(f"cannot decode the image ({e})") from None
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info


def _lossy(image: Image.Image, alpha: bool) -> Image.Image:
    """The image in a mode the lossy encoders take (greyscale stays one channel)."""
    if alpha:
        return image.convert("RGBA")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def _encodings(image: Image.Image, mime: str, quality: int) -> list[Encoded]:
    alpha = _has_alpha(image)
    if mime in ("image/jpeg", "image/webp", "image/avif"):
        pixels = _lossy(image, alpha)
        found = [_save(pixels, "WEBP", "webp", quality=quality, method=4)]
        if not alpha:
            found.append(_save(pixels, "JPEG", "jpeg", quality=quality, optimize=True,
                               progressive=True))  # fmt: skip
        return found
    # PNG and still GIF: graphics, unless they are photos saved as PNG (the
    # lossless encoders take seconds on those, for files 10-20x the lossy ones).
    png = image if image.mode in ("1", "L", "P", "RGB", "RGBA", "LA") else image.convert("RGBA")
    webp = png if png.mode in ("RGB", "RGBA") else png.convert("RGBA" if alpha else "RGB")
    if not alpha and webp.getcolors(PHOTO_COLOURS) is None:
        pixels = _lossy(webp, False)
        return [
            _save(pixels, "WEBP", "webp", quality=quality, method=4),
            _save(pixels, "JPEG", "jpeg", quality=quality, optimize=True, progressive=True),
        ]
    # Faster settings than the encoders' best (optimize, method 4-6): on
    # charts they give the same sizes within 1%, in half the time.
    return [
        _save(png, "PNG", "png", compress_level=9),
        _save(webp, "WEBP", "webp-lossless", lossless=True, quality=50, method=2),
    ]


def _save(image: Image.Image, fmt: str, how: str, **options: object) -> Encoded:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return Encoded(out.getvalue(), _FORMAT_MIME[fmt], how)
