"""The index stage: the search index's segments, manifest and result chunks (search.py
holds the format)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import search
from .cache import SiteCache
from .pages import Planner
from .records import PV, Plan, ReadPosts, Rec, Scanned, day
from .workers import ParseResult, Workers, parse_one


@dataclass
class SearchState:
    """What the cache keeps of the index between builds."""

    main_shards: int
    main_next_id: int  # ids are never reused: the main segment holds the live ids below this
    delta: dict[int, str]  # post id -> terms, of posts added or changed since the main segment
    tomb: set[int]  # ids in the main segment that are gone or changed

    @classmethod
    def of(cls, cache: SiteCache, fresh: bool) -> SearchState:
        state = {} if fresh else cache.search
        return cls(int(state.get("main_shards", 0)), int(state.get("main_next_id", 0)),  # type: ignore[call-overload]
                   {int(k): v for k, v in state.get("delta", {}).items()},  # type: ignore[attr-defined]
                   set(state.get("tomb", [])))  # type: ignore[call-overload]  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return {"main_shards": self.main_shards, "main_next_id": self.main_next_id,
                "delta": {str(k): v for k, v in self.delta.items()}, "tomb": sorted(self.tomb)}  # fmt: skip


def rebuild_index(cache: SiteCache, fresh: bool, to_parse: int) -> bool:
    """Write a new main search segment (else add to the delta segment)?"""
    state = {} if fresh else cache.search
    delta = state.get("delta", {})
    return not state.get("main_shards") or len(delta) + to_parse > search.DELTA_MAX  # type: ignore[arg-type]


def parse_here(posts_dir: Path, names: list[str]) -> Iterator[ParseResult]:
    """Parse posts in this process (few of them: workers cost more)."""
    for name in names:
        yield parse_one(posts_dir, name)[0]


def _write_main(postings: search.Postings, scanned: Scanned, plan: Plan, read: ReadPosts,
                workers: Workers | None, write: search.Write) -> SearchState:  # fmt: skip
    """A new main segment of every post: those not read in this build are read again."""
    by_id = plan.by_id
    reread = {read.rows[n].id for n in read.terms}
    missing = [by_id[i].name for i in by_id if i not in reread]
    if missing:
        parsed = (workers.parse(missing, keep=False) if workers
                  else parse_here(scanned.posts_dir, missing))  # fmt: skip
        ids = {by_id[i].name: i for i in by_id}
        for result in parsed:
            if result.post is not None:
                postings.add(ids[result.name], result.terms)
    main_shards, _ = search.write_postings(postings, "main", write)
    return SearchState(main_shards, scanned.cache.next_id, {}, set())


def _update_delta(state: SearchState, plan: Plan, read: ReadPosts) -> bool:
    """Re-read and removed posts into the delta segment; whether it changed."""
    for pid in plan.removed_ids:
        state.delta.pop(pid, None)
        if pid < state.main_next_id:
            state.tomb.add(pid)
    for name, terms in read.terms.items():
        pid = read.rows[name].id
        state.delta[pid] = terms
        if pid < state.main_next_id:
            state.tomb.add(pid)
    return bool(plan.removed_ids or read.terms)


def _doc_chunks(planner: Planner, by_id: dict[int, Rec], changed: set[int] | None) -> None:
    """Search results' metadata, DOC_CHUNK posts by id to a file; `changed`: the only
    chunks that may differ (None: any)."""
    size = search.DOC_CHUNK
    for k in {pid // size for pid in by_id}:
        rel = f"search/docs/{k}.js"
        if changed is not None and k not in changed and planner.same(rel):
            continue
        members = [by_id[i] for i in range(k * size, (k + 1) * size) if i in by_id]

        def render(k: int = k, members: list[Rec] = members) -> str:
            rows: list[list | int] = [0] * size
            for r in members:
                rows[r.id % size] = [r.post.title, r.url, day(r), r.post.source, r.post.lang]
            return search.docs_chunk_js(k, rows)

        planner.page(rel, hash(tuple(map(PV, members))), render)


def index_search(planner: Planner, scanned: Scanned, read: ReadPosts, plan: Plan,
                 workers: Workers | None) -> None:  # fmt: skip
    """Write the search index: a new main segment when `read.postings` is one
    (the posts read in this build are in it), else the delta segment."""
    postings, write = read.postings, planner.writer.write
    while read.worker_postings:  # each part dropped once merged
        postings.merge(read.worker_postings.pop(0)())  # type: ignore[union-attr]
    state = SearchState.of(scanned.cache, scanned.fresh)
    if postings is not None:
        state = _write_main(postings, scanned, plan, read, workers, write)
        delta_dirty = True
    else:
        delta_dirty = _update_delta(state, plan, read)
    if delta_dirty:
        search.write_segment("delta", state.delta.items(), write, shards=search.DELTA_SHARDS)
    main_files = [f"search/main/{i}.js" for i in range(state.main_shards)]
    for rel in main_files + [f"search/delta/{i}.js" for i in range(search.DELTA_SHARDS)]:
        planner.keep(rel)
    shards, tomb, stamp = state.main_shards, state.tomb, scanned.stamp
    planner.page("search/manifest.js", (shards, tuple(sorted(tomb)), stamp),
                 lambda: search.manifest_js(shards, tomb, stamp))  # fmt: skip
    _doc_chunks(planner, plan.by_id, None if plan.check_all else plan.touched.doc_chunks)
    scanned.cache.search = state.as_dict()
