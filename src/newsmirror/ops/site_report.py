"""What a site build says when it is done, on the command line and in `watch`'s log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..util.text import plural

if TYPE_CHECKING:
    from ..site.build import BuildReport


def index_uri(out: Path) -> str:
    """The site's front page as a file:// URL: the site works opened from disk."""
    return (out / "index.html").resolve().as_uri()


def describe_build(result: BuildReport, out: Path) -> list[str]:
    """Two lines: what was built, and where to open it."""
    return [
        f"site: {plural(result.posts, 'post')}, {plural(result.pages_written, 'page')} written,"
        f" {result.pages_skipped} unchanged, in {result.seconds:.2f}s",
        f"open {index_uri(out)}",
    ]
