"""`newsmirror bundle`: the built site, images and search included, as one zip.

Unzipped anywhere, its `index.html` opens from disk (file://) and works like
the site: the site's links are relative and its search loads as scripts.
The zip holds one folder named after the zip, so unzipping leaves one folder.

The site is built afresh for the bundle, in a temporary "shadow" archive
whose `_posts/` and `assets/` link to the real ones: the archive's own build
cache and `_site/` are never touched (a build into another folder with the
archive's cache would make the next `newsmirror build` skip pages it never
wrote). With `since` or `sources`, the shadow links only the posts that
match, and only the images those posts show, so the bundle is smaller.
Text files are deflated; images, already compressed, are stored as they are.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..archive.config import CONFIG_FILE
from ..archive.fsutil import TEMP_PREFIX
from ..models import NewsmirrorError
from .build import STAMP_FILE, build_site
from .reader import PostReadError, read_post
from .scan import scan_posts

_ASSET_REF = re.compile(r"/assets/([0-9a-f]{2}/[0-9a-f]{16,64}\.[a-z]{3,4})\b")
_STORED_AS_IS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".zip", ".gz", ".epub")


class BundleError(NewsmirrorError):
    """The bundle cannot be made (no posts match, unwritable output...)."""


@dataclass
class BundleReport:
    path: Path
    posts: int
    files: int
    bytes: int  # the zip's size
    warnings: list[str]


def bundle_site(
    archive: Path,
    out: Path,
    *,
    since: date | None = None,
    sources: Iterable[str] = (),
) -> BundleReport:
    """Write the archive's site (posts from `since` on, of `sources` when given) to the zip `out`."""
    archive, out = Path(archive), Path(out)
    posts_dir = archive / "_posts"
    if not posts_dir.is_dir():
        raise BundleError(f"{archive}: no _posts/ folder, nothing to bundle")
    if out.suffix.lower() != ".zip":
        raise BundleError(f"{out}: the bundle's name must end in .zip")
    wanted = {s.strip() for s in sources if s.strip()}
    with tempfile.TemporaryDirectory(prefix="newsmirror-bundle-") as tmp:
        shadow = Path(tmp) / "archive"
        shadow.mkdir()
        if since is None and not wanted:
            (shadow / "_posts").symlink_to(posts_dir.resolve(), target_is_directory=True)
            if (archive / "assets").is_dir():
                (shadow / "assets").symlink_to((archive / "assets").resolve())
        else:
            _link_matching(archive, shadow, since, wanted)
        if (archive / CONFIG_FILE).is_file():
            shutil.copyfile(archive / CONFIG_FILE, shadow / CONFIG_FILE)
        site = Path(tmp) / "site"
        report = build_site(shadow, site, full=True)
        files, size = write_zip(site, out, top=out.stem)
    return BundleReport(out, report.posts, files, size, report.warnings)


def _link_matching(archive: Path, shadow: Path, since: date | None, wanted: set[str]) -> None:
    """Link the posts that match into `shadow/_posts`, and the images they show into `shadow/assets`."""
    posts_dir = archive / "_posts"
    seen_sources: set[str] = set()
    matched = 0
    assets: set[str] = set()
    for name in sorted(scan_posts(posts_dir)):
        path = posts_dir / name
        try:
            post, body = read_post(path)
        except PostReadError:
            continue  # the build reports unreadable posts; a filtered bundle leaves them out
        seen_sources.add(post.source)
        if wanted and post.source not in wanted:
            continue
        if since is not None and post.date.date() < since:
            continue
        target = shadow / "_posts" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
        matched += 1
        assets.update(_ASSET_REF.findall(body))
    missing = sorted(wanted - seen_sources)
    if missing:
        known = ", ".join(sorted(seen_sources)[:20])
        raise BundleError(f"{archive}: no source named {missing[0]!r} (sources: {known})")
    if not matched:
        when = f" from {since.isoformat()} on" if since else ""
        raise BundleError(f"{archive}: no posts{when} to bundle")
    for rel in sorted(assets):
        source = archive / "assets" / rel
        if source.is_file():
            target = shadow / "assets" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source.resolve())


def write_zip(site: Path, out: Path, *, top: str) -> tuple[int, int]:
    """Zip the folder `site` into `out` (atomically), under the folder `top`;
    returns (files, bytes of the zip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=out.parent)
    files = 0
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
            for path in sorted(site.rglob("*")):
                rel = path.relative_to(site).as_posix()
                if not path.is_file() or rel == STAMP_FILE or path.name.startswith("."):
                    continue
                stored = path.suffix.lower() in _STORED_AS_IS
                zf.write(path, f"{top}/{rel}",
                         compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                         compresslevel=None if stored else 6)  # fmt: skip
                files += 1
            zf.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise BundleError(f"{out}: cannot write the bundle ({e.strerror or e})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return files, out.stat().st_size
