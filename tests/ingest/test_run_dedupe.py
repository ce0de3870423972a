"""Exact, deterministic dedupe over a whole run (issue 12, item 3), end to end:
feeds on a loopback server finishing in different orders, real runs, real files."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import posts_of, write_subs
from feeds import rss, rss_item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback import LoopbackServer

from newsmirror.ingest.pipeline import RunOptions, run

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FROM = re.compile(r"^from: (.*)$", re.M)
TAGS = re.compile(r"^tags: \[ (.*) \]$", re.M)


def links_of(archive: Path) -> list[str]:
    return [FROM.search(text).group(1) for text in posts_of(archive).values()]  # type: ignore[union-attr]


def mirror(archive: Path, content: str = "raw", fulltext: str = "never", **options) -> None:
    report = run(archive, RunOptions(content=content, fulltext=fulltext, now=NOW, **options))  # type: ignore[arg-type]
    assert not [f.reason for f in report.feeds if f.status == "failed"]


def new_archive(root: Path, name: str, subs: list[tuple[str, str]]) -> Path:
    folder = root / name
    folder.mkdir()
    write_subs(folder, subs)
    (folder / "allurls.dat").write_text("")  # the old generator's ledger, kept in step
    return folder


def test_items_sharing_a_link_within_one_feed_are_written_once(
    server: LoopbackServer, tmp_path: Path
) -> None:
    items = [
        rss_item(title=f"copy {i}", link="https://news.example/same", published=T0 + timedelta(i))
        for i in range(3)
    ] + [rss_item(title="other", link="https://news.example/other", published=T0)]
    server.route("/f.xml", rss(items))
    archive = new_archive(tmp_path, "a", [("s", server.url("/f.xml"))])
    mirror(archive)
    posts = posts_of(archive)
    assert sorted(links_of(archive)) == ["https://news.example/other", "https://news.example/same"]
    # The oldest of the copies is the one kept (the old generator's order too).
    assert any('title: "copy 0"' in text for text in posts.values())


def test_the_earlier_subscription_wins_whichever_feed_finishes_first(
    server: LoopbackServer, tmp_path: Path
) -> None:
    def doc(name: str) -> bytes:
        return rss([rss_item(title=f"{name}'s copy", link="https://wire.example/s", published=T0)])

    subs = [("第一", server.url("/first.xml")), ("第二", server.url("/second.xml"))]
    for slow in ("first", "second"):
        for name in ("first", "second"):
            server.route(f"/{name}.xml", doc(name), delay=0.4 if name == slow else 0)
        archive = new_archive(tmp_path, f"slow-{slow}", subs)
        mirror(archive)
        [text] = posts_of(archive).values()
        assert 'title: "first\'s copy"' in text and "tags: [ 第一 ]" in text


def overlapping_feeds(feeds: int, seed: int) -> dict[str, bytes]:
    """Feeds that share links with each other (wire stories, cross-posts), and
    same-day, same-title items with different links (file name clashes)."""
    rng = random.Random(seed)
    docs = {}
    for n in range(feeds):
        items = []
        for i in range(8):
            story = rng.randrange(40)
            day = T0 + timedelta(days=story % 5, minutes=n)
            title = "每日简报" if story % 7 == 0 else f"故事 {story}"
            link = f"https://wire.example/{story}" if story % 7 else f"https://s{n}.example/d/{i}"
            items.append(
                rss_item(title=title, link=link, published=day, content_encoded=f"<p>{n}/{i}</p>")
            )
        docs[f"/f{n}.xml"] = rss(items)
    return docs


@pytest.mark.slow
@pytest.mark.parametrize("content", ["raw", "clean"])
def test_cold_runs_over_the_same_feeds_write_identical_archives(
    server: LoopbackServer, tmp_path: Path, content: str
) -> None:
    """Done-when of issue 12: two cold runs over the same feeds, three times,
    write identical archives (names, bytes and the ledger), however the feeds'
    answers are delayed; no link is written twice."""
    docs = overlapping_feeds(24, seed=12)
    subs = [(f"源{n}", server.url(f"/f{n}.xml")) for n in range(24)]
    archives = []
    for attempt in range(6):
        rng = random.Random(attempt)
        for path, body in docs.items():
            server.route(path, body, delay=rng.choice([0, 0, 0.05, 0.2]))
        archive = new_archive(tmp_path, f"run{attempt}", subs)
        mirror(archive, content=content, workers=attempt % 2)
        archives.append(archive)
    first = posts_of(archives[0])
    links = links_of(archives[0])
    assert len(links) == len(set(links)) > 24
    assert any(name.endswith("-2.md") for name in first)  # clashing names were numbered
    for other in archives[1:]:
        assert posts_of(other) == first
        assert (other / "allurls.dat").read_text() == (archives[0] / "allurls.dat").read_text()


def test_full_text_is_fetched_only_for_new_items(server: LoopbackServer, tmp_path: Path) -> None:
    page = "<html><body><article><p>" + "Full text. " * 80 + "</p></article></body></html>"
    for i in range(4):
        server.route(f"/p/{i}.html", page, headers={"Content-Type": "text/html"})
    teaser = "<p>Teaser…</p>"
    a = [
        rss_item(title=f"a{i}", link=server.url(f"/p/{i}.html"), published=T0, description=teaser)
        for i in range(3)
    ]
    # The second feed repeats items 1 and 2 of the first and has one of its own.
    b = [
        rss_item(title=f"b{i}", link=server.url(f"/p/{i}.html"), published=T0, description=teaser)
        for i in (1, 2, 3)
    ]
    server.route("/a.xml", rss(a), delay=0.3)  # the first feed finishes last
    server.route("/b.xml", rss(b))
    archive = new_archive(tmp_path, "a", [("A", server.url("/a.xml")), ("B", server.url("/b.xml"))])
    mirror(archive, content="clean", fulltext="auto")
    assert sorted(TAGS.search(t).group(1) for t in posts_of(archive).values()) == [  # type: ignore[union-attr]
        "A",
        "A",
        "A",
        "B",
    ]
    assert [len(server.requests_for(f"/p/{i}.html")) for i in range(4)] == [1, 1, 1, 1]


LINKS = st.integers(0, 9).map(lambda n: f"https://wire.example/{n}")
ITEM = st.tuples(LINKS, st.integers(0, 3), st.sampled_from(["简报", "News", "快讯"]))
FEED_ITEMS = st.lists(st.lists(ITEM, min_size=1, max_size=6), min_size=1, max_size=5)


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(feeds=FEED_ITEMS, delays=st.lists(st.sampled_from([0, 0.05, 0.15]), min_size=5, max_size=5))
def test_random_overlapping_feeds(
    server: LoopbackServer, tmp_path_factory: pytest.TempPathFactory, feeds, delays
) -> None:
    """Random feeds sharing links and titles, answered with random delays and
    then with the delays reversed: every link is written exactly once, by the
    first feed (in subscription order) that has it, and both runs agree."""
    subs = [(f"源{n}", server.url(f"/h{n}.xml")) for n in range(len(feeds))]
    root = tmp_path_factory.mktemp("prop")
    results = []
    for attempt, order in enumerate((delays, delays[::-1])):
        for n in range(len(feeds)):
            server.route(f"/h{n}.xml", feed_doc(feeds[n]), delay=order[n])
        archive = new_archive(root, f"run{attempt}", subs)
        mirror(archive)
        results.append(posts_of(archive))
        links = links_of(archive)
        assert sorted(links) == sorted({link for items in feeds for link, _, _ in items})
        for text in posts_of(archive).values():
            link = FROM.search(text).group(1)  # type: ignore[union-attr]
            owner = next(n for n, items in enumerate(feeds) if any(x[0] == link for x in items))
            assert f"tags: [ 源{owner} ]" in text
    assert results[0] == results[1]


def feed_doc(items: list[tuple[str, int, str]]) -> bytes:
    return rss(
        [
            rss_item(title=title, link=link, published=T0 + timedelta(days=day))
            for link, day, title in items
        ]
    )
