"""Finding the feed behind a page, on a loopback server; and the hint `run` gives
when a subscription is a page."""

from __future__ import annotations

import pytest
from feeds import atom_entry, atom_feed, rss, rss_item
from loopback import LoopbackServer

from newsmirror.archive.config import FetchSettings
from newsmirror.ingest.discover import find_feed
from newsmirror.ingest.feedlinks import common_feed_urls, linked_feeds
from newsmirror.ingest.parse import parse_feed
from newsmirror.models import FeedError

FAST = FetchSettings(retries=0, deadline=10)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


def page(head: str) -> str:
    return f"<!DOCTYPE html><html><head><title>博客</title>{head}</head><body>正文</body></html>"


def test_linked_feeds_in_page_order_resolved_against_base() -> None:
    html = page(
        '<base href="https://blog.example/sub/">'
        '<link rel="stylesheet" href="/s.css">'
        '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
        '<link rel="Alternate" type="application/rss+xml; charset=utf-8" href="/rss.xml#x">'
        '<link rel="alternate" type="text/html" hreflang="en" href="/en/">'
        '<link rel="alternate" type="application/feed+json" href="https://j.example/feed.json">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
    ).encode()
    assert linked_feeds(html, "https://blog.example/page") == [
        "https://blog.example/sub/atom.xml",
        "https://blog.example/rss.xml",
        "https://j.example/feed.json",
    ]
    assert linked_feeds(b"", "https://blog.example/") == []


def test_common_paths_beside_the_page_then_at_the_root() -> None:
    urls = common_feed_urls("https://blog.example/blog")
    assert urls[0] == "https://blog.example/blog/feed"
    assert "https://blog.example/feed" in urls and "https://blog.example/index.xml" in urls
    assert len(urls) == len(set(urls))


def test_a_feed_url_is_taken_as_it_is(server: LoopbackServer) -> None:
    server.route("/f.xml", rss([rss_item(title="a", link="https://x.example/1")], title="  新 闻\n"), headers=RSS)
    found = find_feed(server.url("/f.xml"), FAST)
    assert (found.url, found.title, found.items, found.via) == (server.url("/f.xml"), "新 闻", 1, "given")


def test_a_page_leads_to_the_feed_it_links(server: LoopbackServer) -> None:
    server.route("/", page('<link rel="alternate" type="application/rss+xml" href="/broken.xml">'
                           '<link rel="alternate" type="application/atom+xml" href="/atom">'), headers=HTML)  # fmt: skip
    server.route("/broken.xml", "<html>not a feed</html>", headers=HTML)
    entry = atom_entry(title="t", link="https://x.example/1", published="2023-01-30T00:00:00Z",
                       author=None, content="<p>x</p>", entry_id="tag:1")  # fmt: skip
    server.route("/atom", atom_feed([entry], title="Atom 博客"),
                 headers={"Content-Type": "application/atom+xml"})  # fmt: skip
    found = find_feed(server.url("/"), FAST)
    assert (found.url, found.title, found.via) == (server.url("/atom"), "Atom 博客", "linked")


def test_a_link_to_another_private_host_follows_the_fetch_policy() -> None:
    # The page is the user's choice; the feed it links is the page's content.
    with LoopbackServer() as blog, LoopbackServer() as internal:
        internal.route("/feed", rss([], title="internal"), headers=RSS)
        link = f'<link rel="alternate" type="application/rss+xml" href="{internal.url("/feed")}">'
        blog.route("/", page(link), headers=HTML)
        with pytest.raises(FeedError, match="which is no usable feed"):
            find_feed(blog.url("/"), FAST)
        assert internal.requests == []
        found = find_feed(blog.url("/"), FetchSettings(retries=0, allow_private_networks=True))
        assert (found.url, found.via) == (internal.url("/feed"), "linked")


def test_a_page_without_links_is_tried_at_the_usual_paths(server: LoopbackServer) -> None:
    server.route("/blog/", page(""), headers=HTML)
    server.route("/index.xml", rss([], title="Hugo"), headers=RSS)
    found = find_feed(server.url("/blog/"), FAST)
    assert (found.url, found.via) == (server.url("/index.xml"), "guessed")
    tried = [r.path for r in server.requests]
    assert tried.index("/blog/feed") < tried.index("/feed") < tried.index("/index.xml")


def test_no_feed_anywhere_is_one_line(server: LoopbackServer) -> None:
    server.route("/", page('<link rel="alternate" type="application/rss+xml" href="/gone.xml">'), headers=HTML)
    with pytest.raises(FeedError) as e:
        find_feed(server.url("/"), FAST)
    message = str(e.value)
    assert "\n" not in message
    assert f"its page links to {server.url('/gone.xml')}, which is no usable feed" in message
    assert "/rss.xml" in message


def test_a_dead_url_is_one_line() -> None:
    with pytest.raises(FeedError, match="cannot connect"):
        find_feed("http://127.0.0.1:9/feed", FAST)


def test_parsing_a_page_names_the_feed_it_links() -> None:
    html = page('<link rel="alternate" type="application/rss+xml" href="/feed">').encode()
    with pytest.raises(FeedError) as e:
        parse_feed(html, url="https://blog.example/", content_type="text/html")
    assert str(e.value) == (
        "https://blog.example/: not a feed: got an HTML page;"
        " it links to https://blog.example/feed \N{EM DASH} use that"
    )
    with pytest.raises(FeedError) as e:
        parse_feed(page("").encode(), url="https://blog.example/", content_type="text/html")
    assert str(e.value) == "https://blog.example/: not a feed: got an HTML page"
