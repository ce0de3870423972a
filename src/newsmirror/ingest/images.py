"""Mirror a post's images into the archive, so they load where image hosts are blocked.

On by default (`mirror_images`, per feed or in [settings]). Each image is
fetched once per run, checked, scaled down to `image_max_width` and
re-encoded by Pillow (encode.py says how), then stored once, by the SHA-256
of the bytes its host served: `assets/<first 2 hex>/<sha256>.<ext>`. The same
picture in a thousand posts is one file, and a second post with it costs
neither a decode nor a write. The `src` is rewritten to the absolute path
`/assets/ab/<sha256>.<ext>`, the original URL kept in `data-original-src`;
the site builder turns the absolute path into a relative one per page.
Run it after `sanitize_html`, so tracking pixels are gone before any fetch;
the attributes it writes pass the sanitiser too.

What is left on its original host, and why (over the size cap, over the
archive's budget, not an image, HTTP error...), goes into the run report
(`FeedOutcome.images`). The type is sniffed from the bytes, never taken from
Content-Type; SVG is never mirrored (it can carry scripts).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin

from ..archive.config import ImageSettings
from ..archive.fsutil import atomic_write
from ..archive.sanitize import parse_fragment, serialize_fragment
from ..models import FetchResult
from .encode import EXTENSIONS, EncodeError, encode_image, sniff_image_type
from .report import ImageTally

IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"

__all__ = ["ImageStore", "mirror_images", "sniff_image_type", "asset_path", "IMAGE_ACCEPT"]


class ImageFetcher(Protocol):
    """What images are fetched with. The pipeline passes one that applies the
    fetch policy for addresses from feed content and reports its refusals."""

    async def fetch(self, url: str, *, accept: str = ...) -> FetchResult: ...


def asset_path(digest: str, mime: str) -> str:
    """`assets/ab/<sha256>.<ext>`, relative to the archive root."""
    return f"assets/{digest[:2]}/{digest}.{EXTENSIONS[mime]}"


Key = tuple[str, str]  # (the feed the post comes from, the image URL)


class ImageStore:
    """The archive's `assets/` for one run: the budget left, and each image
    URL's outcome in this run (a logo in every post of a feed is fetched
    once). Outcomes are kept per feed: the fetch policy for addresses from
    feed content depends on the feed, so one feed never gets an image that
    only another feed was allowed to fetch."""

    def __init__(self, archive: Path, settings: ImageSettings) -> None:
        self.archive = archive
        self.settings = settings
        self._used: int | None = None  # bytes under assets/, summed on first need
        self._by_url: dict[Key, tuple[str | None, str]] = {}  # -> (/assets/..., why not)
        self._pending: dict[Key, asyncio.Future[tuple[str | None, str]]] = {}

    def used(self) -> int:
        if self._used is None:
            self._used = _folder_size(self.archive / "assets")
        return self._used

    async def mirror(
        self,
        html: str,
        fetcher: ImageFetcher,
        *,
        page_url: str,
        tally: ImageTally,
        feed: str = "",
    ) -> str:
        """The post's HTML with its images stored and `src` pointing at them;
        what was skipped, and why, goes into `tally` (not the images the fetch
        policy refused: the fetcher reports those). `feed` is the post's feed."""
        root = parse_fragment(html) if html else None
        if root is None:
            return html
        done: dict[str, str | None] = {}  # url -> /assets/... (None: left as it was)
        for img in root.iter("img"):
            src = (img.get("src") or "").strip()
            if not src or src.startswith("/assets/") or src.lower().startswith("data:"):
                continue
            url = urljoin(page_url, src)
            if not url.lower().startswith(("http://", "https://")):
                continue
            if url not in done:
                if len(done) >= self.settings.images_per_post:
                    tally.skip(url, f"over {self.settings.images_per_post} images in one post", "per post")
                    done[url] = None
                    continue
                path, why = await self._one((feed, url), fetcher, tally)
                if path is None and why:
                    tally.skip(url, why, _reason(why))
                done[url] = path
            if done[url] is not None:
                img.set("src", done[url])
                img.set("data-original-src", url)
        if not any(done.values()):
            return html
        return serialize_fragment(root)

    async def _one(
        self, key: Key, fetcher: ImageFetcher, tally: ImageTally
    ) -> tuple[str | None, str]:
        known = self._by_url.get(key)
        if known is not None:
            if known[0] is not None:
                tally.reused += 1
            return known
        pending = self._pending.get(key)
        if pending is not None:  # another post of the feed is fetching it right now
            path, why = await asyncio.shield(pending)
            if path is not None:
                tally.reused += 1
            return path, why
        future: asyncio.Future[tuple[str | None, str]] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        outcome: tuple[str | None, str] = (None, "not fetched: the feed's time ran out")
        try:
            outcome = await self._fetch_and_store(key[1], fetcher, tally)
            self._by_url[key] = outcome
        except Exception as e:  # never lose a post for an image
            outcome = (None, f"internal error: {type(e).__name__}: {e}")
            self._by_url[key] = outcome
        finally:  # also when the feed's deadline cancels this: others may wait on it
            del self._pending[key]
            future.set_result(outcome)
        return outcome

    async def _fetch_and_store(
        self, url: str, fetcher: ImageFetcher, tally: ImageTally
    ) -> tuple[str | None, str]:
        """The image's /assets/ path, or None and why not ("" when the fetch
        policy refused it: the fetcher has reported that already)."""
        settings = self.settings
        try:
            result = await fetcher.fetch(url, accept=IMAGE_ACCEPT)
        except Exception as e:  # a fetcher is meant not to raise
            return None, f"fetch failed: {type(e).__name__}"
        if result.refused:
            return None, ""
        if not result.ok:
            return None, result.error or f"HTTP {result.status}"
        data = result.body or b""
        if len(data) > settings.image_max_bytes:
            return None, f"{len(data)} bytes, over the {settings.image_max_bytes}-byte cap per image"
        mime = sniff_image_type(data)
        if mime is None:
            claimed = result.headers.get("content-type", "unknown type").split(";")[0]
            return None, f"not an image (served as {claimed})"
        digest = hashlib.sha256(data).hexdigest()
        existing = self._stored(digest)
        if existing is not None:  # the same bytes came from another URL or an earlier run
            tally.reused += 1
            return existing, ""
        if self.used() >= settings.image_budget:
            return None, f"the archive's image budget ({settings.image_budget} bytes) is used up"
        try:
            encoded = await asyncio.to_thread(encode_image, data, mime, settings)
        except EncodeError as e:
            return None, str(e)
        if self.used() + len(encoded.data) > settings.image_budget:
            return None, f"the archive's image budget ({settings.image_budget} bytes) is used up"
        rel = asset_path(digest, encoded.mime)
        if atomic_write(self.archive / rel, encoded.data, exclusive=True):
            self._used = self.used() + len(encoded.data)  # False: another writer won, same bytes
        tally.stored += 1
        tally.bytes_fetched += len(data)
        tally.bytes_stored += len(encoded.data)
        tally.formats[encoded.how] = tally.formats.get(encoded.how, 0) + 1
        return "/" + rel, ""

    def _stored(self, digest: str) -> str | None:
        for mime in EXTENSIONS:
            rel = asset_path(digest, mime)
            if os.path.exists(self.archive / rel):
                return "/" + rel
        return None


async def mirror_images(
    html: str,
    fetcher: ImageFetcher,
    archive: Path,
    *,
    page_url: str,
    settings: ImageSettings | None = None,
) -> tuple[str, ImageTally]:
    """One post's images, on their own (a run shares one `ImageStore`)."""
    tally = ImageTally()
    store = ImageStore(archive, settings or ImageSettings())
    out = await store.mirror(html, fetcher, page_url=page_url, tally=tally)
    return out, tally


_REASONS = (
    ("byte cap", "too large"),
    ("pixel", "too large"),
    ("budget", "budget used up"),
    ("not an image", "not an image"),
    ("decode", "not decodable"),
    ("internal error", "internal error"),
)


def _reason(why: str) -> str:
    """The kind of reason, for the run report's counts (the rest failed to download)."""
    return next((kind for words, kind in _REASONS if words in why), "download failed")


def _folder_size(folder: Path) -> int:
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total
