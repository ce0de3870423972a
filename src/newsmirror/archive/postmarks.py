"""Marks added to a post after it was written (docs/format.md): `deleted:
<time>` in its front matter when its original is confirmed deleted, and
`edited: <time>` when it was last seen edited.

A key goes after the fixed keys, just before the closing `---`; nothing else
in the file changes, and the file is replaced atomically. When the original
comes back, `deleted:` is removed again (the history file keeps both events),
so it always says what is true now. Changing the file also makes the site
render the post's page again, with its badge or revision list.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from .fsutil import atomic_write
from .history import iso_time
from .store import post_link

MarkKey = Literal["deleted", "edited"]
_MARK_LINE = {key: re.compile(rf"^{key}:[ \t]*(.*?)\s*$") for key in get_args(MarkKey)}


def find_post(archive: Path, name: str, link: str) -> Path | None:
    """The post file `name` in `_posts/`, or where retention moved it
    (`archived/<date>/`, maybe renamed `-2.md`): checked by its `from:` link."""
    candidates = [archive / "_posts" / name]
    day = archive / "archived" / name[:10]
    if day.is_dir():
        stem = name[: -len(".md")] if name.endswith(".md") else name
        candidates.append(day / name)
        candidates += sorted(day.glob(f"{_glob_escape(stem)}-*.md"))
    for path in candidates:
        if path.is_file():
            found = post_link(path)
            if found == link or (found is None and path == candidates[0]):
                return path
    return None


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _split(text: str) -> tuple[list[str], int] | None:
    """The file's lines (ends kept) and the index of the closing `---`."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == "---":
            return lines, index
    return None


def post_mark(text: str, key: MarkKey) -> str | None:
    """The value of a mark (`deleted` or `edited`) in a post's front matter, or None."""
    split = _split(text)
    if split is None:
        return None
    lines, end = split
    for line in lines[1:end]:
        match = _MARK_LINE[key].match(line)
        if match:
            return match.group(1) or None
    return None


def deleted_mark(text: str) -> str | None:
    return post_mark(text, "deleted")


def set_mark(path: Path, key: MarkKey, when: datetime) -> bool:
    """Write `<key>: <when>` into the post's front matter (replacing an older
    one). False when the file has no front matter to hold it."""
    return _rewrite(path, key, f"{key}: {iso_time(when.astimezone(UTC).timestamp())}")


def set_deleted(path: Path, when: datetime) -> bool:
    return set_mark(path, "deleted", when)


def clear_deleted(path: Path) -> bool:
    """Remove the `deleted:` mark; False when there was none."""
    return _rewrite(path, "deleted", None)


def touch(path: Path) -> None:
    """A new mtime, so that an incremental site build renders the post's page
    again (for news that is in its history file only)."""
    os.utime(path)


def _rewrite(path: Path, key: MarkKey, mark: str | None) -> bool:
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="surrogateescape")
    split = _split(text)
    if split is None:
        return False
    lines, end = split
    kept = [line for line in lines[1:end] if not _MARK_LINE[key].match(line)]
    if mark is None and len(kept) == end - 1:
        return False
    newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
    added = [mark + newline] if mark is not None else []
    new = "".join([lines[0], *kept, *added, *lines[end:]])
    if new == text:
        return False
    atomic_write(path, new.encode("utf-8", errors="surrogateescape"))
    return True
