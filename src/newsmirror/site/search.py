"""The client-side search index, as small `.js` files (script tags work from file://).

Two segments: `main` (all posts at the last full index) and `delta` (posts
added or changed since, up to DELTA_MAX), so adding posts rewrites only the
small delta segment. Each segment is sharded by FNV-1a of the term; a shard
maps term -> ascending post ids, gap-encoded. `static/search.js` reads them.
"""

from __future__ import annotations

import json
import pickle
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Protocol

from . import textutil
from .textutil import INDEX_CHARS, fnv1a, index_terms, index_text, leading_text

DELTA_MAX = 2000
DELTA_SHARDS = 64
DOC_CHUNK = 256
Write = Callable[[str, bytes], object]  # writes a file of the site: (path, bytes)


def post_terms(title: str, author: str, source: str, content_html: str) -> str:
    """A post's index terms, space-separated (compact to keep in the cache)."""
    return index_terms(title, _rest(author, source, content_html))


def index_post(postings: Postings, pid: int, title: str, author: str, source: str,
               content_html: str) -> None:  # fmt: skip
    """`postings.add(pid, post_terms(...))`, without making the terms' string."""
    postings.add_text(pid, index_text(title), index_text(_rest(author, source, content_html)))


def _rest(author: str, source: str, content_html: str) -> str:
    # One text for all but the title: tokens never span the joining space.
    return f"{author} {source} {leading_text(content_html, INDEX_CHARS)}"


def _js(call: str, *args: object) -> str:
    return f"{call}({','.join(json.dumps(a, ensure_ascii=False, separators=(',', ':')) for a in args)});\n"


class Postings(Protocol):
    """term -> post ids for one segment: `_textscan.Postings` or `PyPostings`."""

    def add(self, pid: int, terms: str) -> None: ...
    def add_text(self, pid: int, title: str, rest: str) -> None: ...
    def count(self) -> int: ...
    def take(self, part: int = 0, parts: int = 1) -> bytes: ...
    def merge(self, data: bytes) -> None: ...
    def shard_js(self, seg: str, i: int, shards: int) -> bytes: ...


class PyPostings:
    """term -> post ids, added post by post, for one segment's shard files.

    The reference for `_textscan.Postings` (the same methods and output; see
    `new_postings`). A full index is built as posts are parsed, so that their
    term strings need not all be kept (100,000 posts: ~500 MB of them).
    Compact arrays, not lists of int objects: 100,000 real posts make ~80M postings.
    """

    def __init__(self) -> None:
        self._ids: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
        self._total = 0
        self._shards: list[list[str]] | None = None

    def add(self, pid: int, terms: str) -> None:
        if self._shards is not None:
            raise RuntimeError("Postings.add after shard_js")
        ids = self._ids
        for term in terms.split():
            ids[term].append(pid)
            self._total += 1

    def add_text(self, pid: int, title: str, rest: str) -> None:
        """`add(pid, index_terms(title, rest))`, of texts already through `index_text`."""
        self.add(pid, textutil.text_terms(title, rest))

    def count(self) -> int:
        return self._total

    def take(self, part: int = 0, parts: int = 1) -> bytes:
        """Every `parts`-th term's ids, from the `part`-th, for `merge` in another
        process; they leave this one (handed over in parts, they are never all
        held twice)."""
        if not 0 <= part < parts:
            raise ValueError("part out of range")
        taken = {}
        for term in list(self._ids)[part::parts]:
            ids = self._ids[term]
            if ids:
                taken[term] = ids
                self._ids[term] = array("I")
                self._total -= len(ids)
        return pickle.dumps(taken, protocol=pickle.HIGHEST_PROTOCOL)

    def merge(self, data: bytes) -> None:
        if self._shards is not None:
            raise RuntimeError("Postings.merge after shard_js")
        for term, ids in pickle.loads(data).items():
            self._ids[term].extend(ids)
            self._total += len(ids)

    def shard_js(self, seg: str, i: int, shards: int) -> bytes:
        """Shard i's JavaScript, UTF-8; its terms' ids are dropped once written."""
        if self._shards is None or len(self._shards) != shards:
            self._shards = [[] for _ in range(shards)]
            for term in sorted(self._ids):  # the same files whoever collected which posts
                self._shards[fnv1a(term) % shards].append(term)
        group = {}
        for term in self._shards[i]:
            ids = sorted(self._ids.pop(term, ()))
            gaps = [ids[0]] + [b - a for a, b in zip(ids, ids[1:], strict=False)] if ids else []
            group[term] = ",".join(map(str, gaps))
        return _js("nmSearchShard", seg, i, group).encode()


def new_postings() -> Postings:
    """Postings in C when `_textscan` is compiled (~8x faster), else in Python."""
    scan = textutil._textscan
    return scan.Postings() if scan else PyPostings()


def write_postings(postings: Postings, seg: str, write: Write,
                   shards: int | None = None) -> tuple[int, list[str]]:  # fmt: skip
    """Write a segment's shard files; returns (shard count, files written)."""
    if shards is None:  # about 4,000 postings per shard, a power of two
        count = postings.count()
        shards = 16
        while shards < count // 4000 and shards < 4096:
            shards *= 2
    files = []
    for i in range(shards):
        rel = f"search/{seg}/{i}.js"
        write(rel, postings.shard_js(seg, i, shards))
        files.append(rel)
    return shards, files


def write_segment(
    seg: str,
    terms_by_id: Iterable[tuple[int, str]],
    write: Write,
    shards: int | None = None,
) -> tuple[int, list[str]]:
    """Write one segment's shard files from (post id, terms) pairs."""
    postings = new_postings()
    for pid, terms in sorted(terms_by_id):
        postings.add(pid, terms)
    return write_postings(postings, seg, write, shards)


def docs_chunk_js(chunk: int, rows: list[list | int]) -> str:
    """Result metadata for ids chunk*DOC_CHUNK...: [title, url, day, source, lang] or 0."""
    return _js("nmSearchDocs", chunk, rows)


def manifest_js(main_shards: int, tombstones: Iterable[int], stamp: str) -> str:
    manifest = {
        "v": stamp,
        "segments": [
            {"name": "main", "shards": main_shards},
            {"name": "delta", "shards": DELTA_SHARDS},
        ],
        "docChunk": DOC_CHUNK,
        "tomb": sorted(tombstones),
    }
    return "window.nmSearchManifest=" + json.dumps(manifest, separators=(",", ":")) + ";\n"
