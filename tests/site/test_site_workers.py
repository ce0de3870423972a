"""Builds large enough for worker processes give the same site as a build in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_site import GOLDEN, HOSTILE, SEED

from newsmirror.site import build, build_site, workers

COPIES = 18  # x 22 posts: above build.POOL_THRESHOLD


def make_big_archive(root: Path) -> Path:
    posts = root / "_posts"
    posts.mkdir(parents=True)
    for k in range(COPIES):
        for p in GOLDEN + SEED:
            # Another day in the name (and so another page) for each copy.
            shutil.copy(p, posts / f"{2000 + k}{p.name[4:]}")
        for name, text in HOSTILE.items():
            (posts / f"{2000 + k}{name[4:]}").write_text(text, encoding="utf-8")
        # Words only this copy has: the workers meet search terms in another
        # order than one process does, and the index must not show it.
        unique = f"{chr(0x5000 + k)}{chr(0x5100 + k)}{chr(0x5200 + k)}"
        text = SEED[0].read_text(encoding="utf-8").replace("北約秘書長訪南韓", f"獨有{unique}")
        (posts / f"{2000 + k}-06-01-unique-{k}.md").write_text(text, encoding="utf-8")
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def count_worker_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker counts of the builds from now on, one entry per build that used workers."""
    started: list[int] = []

    class Spy(workers.Workers):
        def __init__(self, count: int, *args: object) -> None:
            started.append(count)
            super().__init__(count, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "Workers", Spy)
    return started


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_big_archive(tmp_path_factory.mktemp("big") / "archive")


@pytest.fixture(scope="module")
def in_one_process(archive: Path) -> dict[str, bytes]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "POOL_THRESHOLD", 10**9)
        mp.setattr(build, "Workers", None)  # would fail if used
        report = build_site(archive, archive / "one", full=True)
    assert report.posts == COPIES * (len(GOLDEN) + len(SEED) + len(HOSTILE) + 1)
    return tree(archive / "one")


@pytest.mark.parametrize("keep_chars", [workers.KEEP_CHARS, 0, 20_000])
def test_worker_build_matches_one_process_build(
    archive: Path,
    in_one_process: dict[str, bytes],
    keep_chars: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """With all, none or some of the content kept by the workers (the rest read again)."""
    started = count_worker_starts(monkeypatch)
    monkeypatch.setattr(workers, "KEEP_CHARS", keep_chars)  # forked workers inherit it
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    out = tmp_path / "site"
    build_site(archive, out, full=True)
    assert started == [2]
    got = tree(out)
    assert got.keys() == in_one_process.keys()
    differ = [rel for rel in got if got[rel] != in_one_process[rel]]
    assert differ == []


def test_worker_indexed_search_rolls_over_like_a_full_build(
    archive: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Enough new posts for workers, past DELTA_MAX: the new posts are indexed in the
    workers, the others are read again for their terms; search finds what a full build finds."""
    from test_site import search_py

    from newsmirror.site import search

    site_archive = tmp_path / "archive"
    shutil.copytree(archive / "_posts", site_archive / "_posts")
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    build_site(site_archive)
    monkeypatch.setattr(search, "DELTA_MAX", 100)
    started = count_worker_starts(monkeypatch)
    seed = SEED[0].read_text(encoding="utf-8")
    for i in range(build.POOL_THRESHOLD + 10):
        word = f"{chr(0x6000 + i)}{chr(0x6400 + i)}"
        (
            site_archive / "_posts" / f"2030-{1 + i // 28:02d}-{1 + i % 28:02d}-new-{i}.md"
        ).write_text(seed.replace("北約秘書長訪南韓", f"新篇{word}"), encoding="utf-8")
    build_site(site_archive)
    assert started == [2]
    site = site_archive / "_site"
    queries = ["新篇", f"{chr(0x6000)}{chr(0x6400)}", f"{chr(0x6005)}{chr(0x6405)}", "混管阳"]
    incremental = {q: search_py(site, q) for q in queries}
    assert len(incremental["新篇"]) == build.POOL_THRESHOLD + 10
    assert len(incremental[queries[1]]) == 1 and len(incremental["混管阳"]) == COPIES
    build_site(site_archive, full=True)
    assert {q: search_py(site, q) for q in queries} == incremental


def test_postings_parts_come_back_whole_and_leave_no_files(archive: Path, tmp_path: Path) -> None:
    """take_postings hands each part over in a temp file: the parts merge into what
    one process indexes, each file goes when read, and closing removes the folder,
    with parts never read too."""
    from newsmirror.site import search
    from newsmirror.site.config import load_site_config

    posts = archive / "_posts"
    names = sorted(p.name for p in posts.iterdir())
    first, second = names[:60], names[60:120]
    expected = search.new_postings()
    for pid, name in enumerate(first):
        workers.parse_one(posts, name, expected, pid)
    pool = workers.Workers(2, posts, tmp_path / "out", load_site_config(archive))
    try:
        list(pool.parse(first, pids={name: pid for pid, name in enumerate(first)}))
        got = search.new_postings()
        for read in pool.take_postings(parts=3):
            got.merge(read())
        assert pool._handover is not None
        folder = Path(pool._handover)
        assert list(folder.iterdir()) == []
        assert got.count() == expected.count() > 0
        shards = [got.shard_js("main", i, 16) for i in range(16)]
        assert shards == [expected.shard_js("main", i, 16) for i in range(16)]
        list(pool.parse(second, pids={name: pid for pid, name in enumerate(second)}))
        unread = pool.take_postings(parts=2)
        assert len(unread) == 4
    finally:
        pool.close()
    assert not folder.exists()


def test_no_temp_folder_for_the_postings_is_a_one_line_error(
    archive: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where no temp folder can be made, the build stops with an error naming it, not a traceback."""
    import tempfile

    from newsmirror.models import NewsmirrorError

    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(
        NewsmirrorError, match=r"missing/newsmirror-postings-\w+: cannot make a temp folder"
    ):
        build_site(archive, tmp_path / "site", full=True)
