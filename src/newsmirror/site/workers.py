"""The build's worker processes: each parses a share of the posts and renders their pages.

A post is read once per build: the worker that parses it keeps its content
and later renders its page, so render jobs go to the worker that owns the
post. Each worker is a one-process pool, which makes "the same worker" easy to
address. Content kept per worker is capped (KEEP_CHARS); beyond that, or for a
post no worker parsed, the page renderer reads the file again.
"""

from __future__ import annotations

import functools
import gc
import itertools
import multiprocessing
import multiprocessing.pool
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from ..models import NewsmirrorError
from . import search
from .config import SiteConfig
from .reader import ParsedPost, PostReadError, read_post
from .render import PostPageJob, PostRenderer
from .watch import PostWatch

KEEP_CHARS = 40_000_000  # per worker: ~10,000 posts of 4,000 characters each
CHUNK = 64  # posts per task: fewer, larger pickles


class ParseResult(NamedTuple):
    """One post file read: its fields, or None and the error in `terms`."""

    name: str
    post: ParsedPost | None
    terms: str  # its index terms ("" when they went to postings), or the error


class HandoverError(NewsmirrorError):
    """The workers' search postings could not be passed on through a temp folder."""


def parse_one(posts_dir: Path, name: str, postings: search.Postings | None = None,
              pid: int = 0) -> tuple[ParseResult, str | None]:  # fmt: skip
    """Parse one post: its `ParseResult` and its content (None when unreadable).

    With `postings`, the post's terms go there (as `pid`) and the result has "".
    """
    try:
        post, content = read_post(posts_dir / name)
    except PostReadError as e:
        return ParseResult(name, None, str(e)), None
    if postings is not None:
        search.index_post(postings, pid, post.title, post.author, post.source, content)
        return ParseResult(name, ParsedPost.of(post), ""), content
    terms = search.post_terms(post.title, post.author, post.source, content)
    return ParseResult(name, ParsedPost.of(post), terms), content


class _WorkerState:
    def __init__(self, posts_dir: Path, out: Path, config: SiteConfig,
                 watch: dict[str, PostWatch] | None) -> None:  # fmt: skip
        self.posts_dir = posts_dir
        self.renderer = PostRenderer(posts_dir, out, config, watch)
        self.kept: dict[str, str] = {}
        self.kept_chars = 0
        self.postings: search.Postings | None = None  # when this worker indexes its posts


_state: _WorkerState | None = None


def _init(posts_dir: Path, out: Path, config: SiteConfig,
          watch: dict[str, PostWatch] | None = None) -> None:  # fmt: skip
    global _state
    gc.enable()  # forked from a build that turned it off
    _state = _WorkerState(posts_dir, out, config, watch)


def _parse_chunk(task: tuple[list[str], bool, list[int] | None]) -> list[tuple]:
    """Parse a chunk of posts: their ParseResults as plain tuples (NamedTuples pickle
    ~5x slower; `Workers.parse` names them again)."""
    names, keep, pids = task
    assert _state is not None
    postings = None  # without pids, the terms go back with the results
    if pids is not None:
        if _state.postings is None:
            _state.postings = search.new_postings()
        postings = _state.postings
    results = []
    for k, name in enumerate(names):
        result, content = parse_one(_state.posts_dir, name, postings,
                                    pids[k] if pids is not None else 0)  # fmt: skip
        if keep and content is not None and _state.kept_chars + len(content) <= KEEP_CHARS:
            _state.kept[name] = content
            _state.kept_chars += len(content)
        results.append((result.name, tuple(result.post) if result.post else None, result.terms))
    return results


def _take_postings(task: tuple[int, int, str]) -> str:
    """Part `part` of `parts` of this worker's postings (from parse(..., pids=...)),
    written to a file in `folder`: its path."""
    part, parts, folder = task
    assert _state is not None
    taken = b""
    if _state.postings is not None:
        taken = _state.postings.take(part, parts)
        if part == parts - 1:
            _state.postings = None
    path = os.path.join(folder, f"{os.getpid()}-{part}")
    with open(path, "wb") as f:
        f.write(taken)
    return path


def _render_chunk(jobs: list[tuple]) -> tuple[int, int]:
    """Render a batch of post pages (PostPageJobs as plain tuples); returns (written, skipped)."""
    assert _state is not None
    writer = _state.renderer.writer
    w0, s0 = writer.written, writer.skipped
    for raw in jobs:
        job = PostPageJob._make(raw)
        content = _state.kept.pop(job.name, None)
        if content is not None:
            _state.kept_chars -= len(content)
        _state.renderer.render(job, content)
    return writer.written - w0, writer.skipped - s0


class Workers:
    """`count` worker processes forked from the build (so they share its loaded state)."""

    def __init__(self, count: int, posts_dir: Path, out: Path, config: SiteConfig,
                 watch: dict[str, PostWatch] | None = None) -> None:  # fmt: skip
        ctx = multiprocessing.get_context("fork")
        self.pools = [ctx.Pool(1, _init, (posts_dir, out, config, watch)) for _ in range(count)]
        self.owner: dict[str, int] = {}  # post name -> the worker keeping its content
        self._handover: str | None = None  # a temp folder for take_postings' parts

    def parse(self, names: list[str], *, keep: bool = True,
              pids: dict[str, int] | None = None) -> Iterator[ParseResult]:  # fmt: skip
        """Parse posts across the workers; results come in no particular order.

        With `pids`, each worker adds its posts' terms to postings of its own
        (collected by `take_postings`) and the results carry no terms: 10,000
        posts have ~8 million postings, too many for the main process to take
        one by one.
        """
        n = len(self.pools)
        chunks = [names[i : i + CHUNK] for i in range(0, len(names), CHUNK)]
        streams = []
        for w, pool in enumerate(self.pools):
            mine = chunks[w::n]
            if keep:
                self.owner.update((name, w) for chunk in mine for name in chunk)
            tasks = [(c, keep, None if pids is None else [pids[name] for name in c]) for c in mine]
            streams.append(pool.imap(_parse_chunk, tasks))
        for batch in itertools.chain.from_iterable(itertools.zip_longest(*streams)):
            if batch is not None:
                for name, post, terms in batch:
                    yield ParseResult(name, None if post is None else ParsedPost._make(post), terms)

    def take_postings(self, parts: int = 8) -> list[Callable[[], bytes]]:
        """Each worker's postings, in `parts` parts (`search.Postings.merge` takes
        them); queued now, before any render job, so they come while pages render.

        A part comes back in a file, not through the pool's result pipe: a part
        is megabytes, which the pipe passes 64 KB at a time, each waiting for the
        pool's result thread to get the GIL from this busy process. The workers
        sat idle for ~0.3 s of a 10,000-post build before their first page.
        """
        if self._handover is None:
            try:
                self._handover = tempfile.mkdtemp(prefix="newsmirror-postings-")
            except OSError as e:
                raise HandoverError(f"{e.filename}: cannot make a temp folder for the search "
                                    f"index ({e.strerror})") from None  # fmt: skip
        return [functools.partial(_read_part, pool.apply_async(_take_postings,
                                                               ((part, parts, self._handover),)))
                for part in range(parts) for pool in self.pools]  # fmt: skip

    def render(self, jobs: list[PostPageJob]) -> list[multiprocessing.pool.AsyncResult]:
        """Start rendering post pages, each on the worker that keeps its content."""
        shares: list[list[PostPageJob]] = [[] for _ in self.pools]
        unowned = []
        for job in jobs:
            w = self.owner.get(job.name)
            (unowned if w is None else shares[w]).append(job)
        for job in unowned:  # to the least busy worker
            min(shares, key=len).append(job)
        return [pool.map_async(_render_chunk, [list(map(tuple, share[i : i + 50]))
                                               for i in range(0, len(share), 50)])
                for pool, share in zip(self.pools, shares, strict=True) if share]  # fmt: skip

    def close(self) -> None:
        for pool in self.pools:
            pool.close()
        for pool in self.pools:
            pool.join()
        if self._handover is not None:
            shutil.rmtree(self._handover, ignore_errors=True)


def _read_part(result: multiprocessing.pool.AsyncResult) -> bytes:
    try:
        path = result.get()  # an OSError of the worker's write comes here too
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
    except OSError as e:
        raise HandoverError(f"{e.filename}: cannot pass on a part of the search index "
                            f"({e.strerror})") from None  # fmt: skip
    return data
