"""The build cache in `.newsmirror/site-cache/`: parsed posts and page signatures.

A rebuild stats `_posts/` and re-reads only files whose (mtime_ns, size)
changed; a page is re-rendered only when its signature (the versions of the
posts it shows and its navigation) changed. It is a pickle of plain builtins
only, read with an unpickler that refuses every class, so a tampered cache
cannot run code.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from ..fsutil import atomic_write

CACHE_FORMAT = 6


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"class {module}.{name} not allowed in the site cache")


@dataclass
class SiteCache:
    stamp: str = ""  # hash of templates, static files, config and builder code
    # name -> (id, mtime_ns, size, url, post fields tuple, quoted url)
    posts: dict[str, tuple] = field(default_factory=dict)
    pages: dict[str, object] = field(
        default_factory=dict
    )  # output path -> signature (mostly an int)
    search: dict[str, object] = field(default_factory=dict)
    next_id: int = 0
    source_dirs: dict[str, str] = field(default_factory=dict)  # source -> its pages' folder

    @staticmethod
    def path_for(archive: Path) -> Path:
        return archive / ".newsmirror" / "site-cache" / "cache.pickle"

    @classmethod
    def load(cls, archive: Path) -> SiteCache:
        """The saved cache, or an empty one if missing, stale or unreadable."""
        try:
            data = _BuiltinsOnly(io.BytesIO(cls.path_for(archive).read_bytes())).load()
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            return cls()
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return cls()
        return cls(data["stamp"], data["posts"], data["pages"], data["search"], data["next_id"],
                   data["source_dirs"])  # fmt: skip

    def save(self, archive: Path) -> None:
        data = {
            "format": CACHE_FORMAT,
            "stamp": self.stamp,
            "posts": self.posts,
            "pages": self.pages,
            "search": self.search,
            "next_id": self.next_id,
            "source_dirs": self.source_dirs,
        }
        atomic_write(self.path_for(archive), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
