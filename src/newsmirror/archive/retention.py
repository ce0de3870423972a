"""Retention: move old posts out of `_posts/` into `archived/YYYY-MM-DD/`.

That is the layout existing mirrors already use
(`archived/2023-01-30/2023-01-30-title.md`). Nothing is ever deleted or
overwritten, and the items stay in the state database's `seen` table, so a
moved post is never fetched again as new.
"""

from __future__ import annotations

import filecmp
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ..models import NewsmirrorError
from .fsutil import TEMP_PREFIX, ArchiveLock, _fsync_dir

_DATED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-.*\.md$", re.DOTALL)


class RetentionError(NewsmirrorError):
    """A post could not be moved."""


def post_date(name: str) -> date | None:
    """The date in a post's file name, or None for files that are not dated posts."""
    match = _DATED.match(name)
    if not match or name.startswith(TEMP_PREFIX):
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def plan_retention(archive: Path, days: int, *, now: datetime | None = None) -> list[Path]:
    """The posts in `_posts/` dated more than `days` days before `now` (UTC)."""
    if days < 1:
        raise RetentionError(f"retention: --days must be at least 1, got {days}")
    cutoff = ((now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=days)).date()
    posts = archive / "_posts"
    if not posts.is_dir():
        return []
    old: list[Path] = []
    for path in sorted(posts.iterdir()):
        when = post_date(path.name)
        if when is not None and when < cutoff and path.is_file():
            old.append(path)
    return old


def apply_retention(
    archive: Path, days: int, *, now: datetime | None = None, dry_run: bool = False
) -> list[Path]:
    """Move posts older than `days` days to `archived/<date>/<name>`; returns
    where each one now is. Holds the archive lock, so a run and retention
    never race. With `dry_run`, only says where they would go."""
    with ArchiveLock(archive):
        old = plan_retention(archive, days, now=now)
        if dry_run:
            return [_target_dir(archive, p) / p.name for p in old]
        return [_move(p, _target_dir(archive, p)) for p in old]


def _target_dir(archive: Path, post: Path) -> Path:
    return archive / "archived" / post.name[:10]


def _move(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = source.name[: -len(".md")]
    for n in range(1, 1000):
        target = folder / (source.name if n == 1 else f"{stem}-{n}.md")
        if target.exists() and filecmp.cmp(source, target, shallow=False):
            source.unlink()  # the very same post is already archived
            _fsync_dir(source.parent)
            return target
        try:
            # link + unlink never replaces an existing name, unlike rename.
            os.link(source, target)
        except FileExistsError:
            continue
        except OSError as e:
            raise RetentionError(f"{source}: cannot move to {target}: {e.strerror}") from None
        _fsync_dir(folder)
        source.unlink()
        _fsync_dir(source.parent)
        return target
    raise RetentionError(f"{source}: too many different posts named {source.name} in {folder}")
