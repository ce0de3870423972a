"""Mirror a post's images into the archive, so they load where image CDNs are blocked.

Each image is stored once, by content: `assets/<first 2 hex>/<sha256>.<ext>`.
The `src` is rewritten to the absolute path `/assets/ab/<sha256>.<ext>` and the
original URL is kept in `data-original-src`; the site builder turns the
absolute path into a relative one per page (posts sit at different depths).
Run it after `sanitize_html`, so tracking pixels are gone before any fetch;
the attributes it writes pass the sanitiser too.

The type is sniffed from the bytes (magic numbers), never taken from
Content-Type alone; SVG is never mirrored (it can carry scripts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin

from ..archive.fsutil import atomic_write
from ..archive.sanitize import parse_fragment, serialize_fragment
from ..models import FetchResult

IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
}


class ImageFetcher(Protocol):
    """What images are fetched with. The pipeline passes one that applies the
    fetch policy for addresses from feed content and reports its refusals."""

    async def fetch(self, url: str, *, accept: str = ...) -> FetchResult: ...


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 5 * 2**20
    max_count: int = 30
    types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")


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


def asset_path(data: bytes, mime: str) -> str:
    """`assets/ab/<sha256>.<ext>`, relative to the archive root."""
    digest = hashlib.sha256(data).hexdigest()
    return f"assets/{digest[:2]}/{digest}.{_EXTENSIONS[mime]}"


async def mirror_images(
    html: str,
    fetcher: ImageFetcher,
    archive: Path,
    *,
    page_url: str,
    limits: ImageLimits = ImageLimits(),
) -> tuple[str, list[str]]:
    """Store the post's images under `archive/assets/` and point `src` at them.

    Returns the rewritten HTML and one warning line per image left as it was,
    except images the fetch policy refused: the fetcher reports those.
    """
    root = parse_fragment(html) if html else None
    if root is None:
        return html, []
    warnings: list[str] = []
    stored: dict[str, str] = {}  # original URL -> /assets/... path
    count = 0
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if not src or src.startswith("/assets/") or src.lower().startswith("data:"):
            continue
        url = urljoin(page_url, src)
        if not url.lower().startswith(("http://", "https://")):
            continue
        if url not in stored:
            if count >= limits.max_count:
                warnings.append(
                    f"{page_url}: image {url} not mirrored (over {limits.max_count} images)"
                )
                continue
            count += 1
            path, problem = await _mirror_one(url, fetcher, archive, limits)
            if path is None:
                if problem:
                    warnings.append(f"{page_url}: image {url} not mirrored ({problem})")
                continue
            stored[url] = path
        img.set("src", stored[url])
        img.set("data-original-src", url)
    if not stored:
        return html, warnings
    return serialize_fragment(root), warnings


async def _mirror_one(
    url: str, fetcher: ImageFetcher, archive: Path, limits: ImageLimits
) -> tuple[str | None, str]:
    """The image's /assets/ path, or None and why not ("" when the fetch
    policy refused it: the fetcher has reported that already)."""
    try:
        result = await fetcher.fetch(url, accept=IMAGE_ACCEPT)
    except Exception as e:  # a fetcher is meant not to raise; never lose the post for an image
        return None, f"fetch failed: {type(e).__name__}"
    if result.refused:
        return None, ""
    if not result.ok:
        return None, result.error or f"HTTP {result.status}"
    data = result.body or b""
    if len(data) > limits.max_bytes:
        return None, f"{len(data)} bytes, over the {limits.max_bytes}-byte cap"
    mime = sniff_image_type(data)
    if mime is None:
        claimed = result.headers.get("content-type", "unknown type").split(";")[0]
        return None, f"not an image (served as {claimed})"
    if mime not in limits.types:
        return None, f"{mime} is not an allowed image type"
    rel = asset_path(data, mime)
    target = archive / rel
    if not target.exists():
        atomic_write(target, data, exclusive=True)  # False if another writer won: same bytes
    return "/" + rel, ""
