"""The keys items are known by: exact, canonical, never substrings."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.archive.dedupe import RunClaims, item_keys, name_key, primary_key
from newsmirror.util.urls import _canonical_slow, canonical_url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com/a", "https://example.com/a"),
        ("https://EXAMPLE.com:443/a#comments", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?id=1&fbclid=x", "https://example.com/a?id=1"),
        ("https://例子.测试/新闻", "https://xn--fsqu00a.xn--0zwm56d/%E6%96%B0%E9%97%BB"),
        ("https://example.com/./a/../b", "https://example.com/b"),
    ],
)
def test_same_article_same_key(a: str, b: str) -> None:
    assert primary_key(a) == primary_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a/1", "https://example.com/a/10"),  # a prefix is not a match
        ("https://example.com/a?id=1", "https://example.com/a?id=2"),
        ("https://example.com/a", "https://example.org/a"),
        ("https://medium.com/p?source=rss-1", "https://medium.com/p?source=rss-2"),
    ],
)
def test_different_articles_different_keys(a: str, b: str) -> None:
    assert primary_key(a) != primary_key(b)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?b=1&utm_x=2#f",
        "http://x.com/a#b",
        "https://x.com/p?q=%E4%B8%AD&z",
        "https://x.com/?fbclid=3",
        "HTTP://X.COM:80/A/./b/../c?Q=1#",
    ],
)
def test_fast_and_slow_canonical_forms_agree(url: str) -> None:
    assert canonical_url(url) == _canonical_slow(url)


def test_guids_are_scoped_to_their_feed_unless_they_are_urls() -> None:
    a = item_keys("https://x.com/1", "1234", "https://feed-a/rss")
    b = item_keys("https://x.com/2", "1234", "https://feed-b/rss")
    assert a[1] != b[1]  # the same bare guid in two feeds is two items
    c = item_keys("https://x.com/1", "https://x.com/1", "https://feed-a/rss")
    assert c == [primary_key("https://x.com/1")]  # a permalink guid is the link itself


# --- RunClaims: one decision per run, in subscription order ------------------------

Feed = list[list[str]]  # items, each a list of keys


def decide(
    feeds: list[Feed], archive: set[str], pauses: list[int], absent: set[int]
) -> list[list[int]]:
    """Run RunClaims the way the pipeline does, with feeds reaching their turn
    after `pauses[i]` trips through the event loop; feeds in `absent` drop out."""
    claims = RunClaims(len(feeds), lambda keys: archive.intersection(keys))
    result: list[list[int]] = [[] for _ in feeds]

    async def one(index: int) -> None:
        for _ in range(pauses[index]):
            await asyncio.sleep(0)
        if index in absent:
            claims.pass_turn(index)
            return
        items = list(enumerate(feeds[index]))
        unseen = claims.unseen(items, lambda item: item[1])
        await claims.turn(index)
        new = claims.claim(index, unseen, lambda item: item[1], lambda item: f"{item[0]}.md")
        result[index] = [i for (i, _), _ in new]

    async def go() -> None:
        await asyncio.gather(*(one(i) for i in range(len(feeds))))

    asyncio.run(go())
    return result


KEYS = st.sampled_from([f"url:https://x.example/{n}" for n in range(12)] + ["guid:a", "guid:b"])
FEEDS = st.lists(
    st.lists(st.lists(KEYS, min_size=1, max_size=2, unique=True), max_size=6), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    feeds=FEEDS,
    archive=st.sets(KEYS, max_size=3),
    pauses=st.lists(st.integers(0, 8), min_size=6, max_size=6),
    absent=st.sets(st.integers(0, 5), max_size=2),
)
def test_claims_are_the_same_whatever_order_feeds_arrive_in(
    feeds: list[Feed], archive: set[str], pauses: list[int], absent: set[int]
) -> None:
    got = decide(feeds, archive, pauses, absent)
    present = [feed if i not in absent else [] for i, feed in enumerate(feeds)]
    assert got == reference_claims(present, archive)
    # And nothing is claimed twice: no key belongs to two new items.
    claimed = [k for i, feed in enumerate(present) for j in got[i] for k in feed[j]]
    assert len(claimed) == len(set(claimed))
    assert archive.isdisjoint(claimed)


def reference_claims(feeds: list[Feed], archive: set[str]) -> list[list[int]]:
    """An item is new when none of its keys is in the archive or belongs to an
    earlier new item (a duplicate claims nothing: its other keys stay free)."""
    claimed: set[str] = set()
    new: list[list[int]] = []
    for feed in feeds:
        picked = []
        for i, keys in enumerate(feed):
            if archive.isdisjoint(keys) and claimed.isdisjoint(keys):
                picked.append(i)
                claimed.update(keys)
        new.append(picked)
    return new


def test_claiming_out_of_turn_is_refused() -> None:
    claims = RunClaims(2, lambda keys: set())
    with pytest.raises(RuntimeError, match="out of turn"):
        claims.claim(1, [["k"]], lambda item: item, lambda item: "a.md")


def test_a_shared_file_name_waits_for_the_earlier_feeds_post() -> None:
    async def go() -> list[str]:
        claims = RunClaims(2, lambda keys: set())
        order: list[str] = []
        [(_, first)] = claims.claim(0, [["a"]], lambda i: i, lambda i: "2024-01-01-Daily.md")
        await claims.turn(1)
        [(_, second)] = claims.claim(1, [["b"]], lambda i: i, lambda i: "2024-01-01-daily-2.md")
        assert second.after is first

        async def write_second() -> None:
            await second.turn()
            order.append("second")

        task = asyncio.ensure_future(write_second())
        for _ in range(5):
            await asyncio.sleep(0)
        order.append("first")
        first.done()
        await task
        return order

    assert asyncio.run(go()) == ["first", "second"]


def test_name_key_joins_numbered_names() -> None:
    assert name_key("2024-01-01-Daily-2.md") == name_key("2024-01-01-daily.md")
    assert name_key("2024-01-01-Daily.md") != name_key("2024-01-02-Daily.md")
