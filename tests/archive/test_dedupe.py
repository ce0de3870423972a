"""The keys items are known by: exact, canonical, never substrings."""

from __future__ import annotations

import pytest

from newsmirror.archive.dedupe import item_keys, primary_key
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
