"""Fuzz parse -> post: mutated feed bytes give a FeedError or usable posts, nothing else.

CI runs a short pass; for a long local run:
    HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import yaml
from feeds import atom_entry, atom_feed, rss, rss_item
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.archive.posts import PostError, render_post
from newsmirror.ingest.parse import parse_feed
from newsmirror.models import FeedError

settings.register_profile(
    "fuzz-ci",
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=50_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "fuzz-ci")

NOW = datetime(2026, 11, 25, tzinfo=UTC)
SEEDS = [
    rss(
        [
            rss_item(
                title="新聞 <b>one</b> & two",
                link="http://example.com/a?x=1&y=2",
                published=datetime(2025, 5, 1, tzinfo=UTC),
                content_encoded="<p>正文 <script>x()</script></p>",
                creator="作者",
            ),
            rss_item(title="second", link=None, guid="tag:2", description="<i>d</i>"),
        ]
    ),
    atom_feed(
        [
            atom_entry(
                title="Atom 條目",
                link="/rel/1",
                published="2024-02-29T23:59:59Z",
                author=None,
                content="<p>x</p>",
                entry_id="urn:1",
            )
        ]
    ),
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": '
    b'[{"id": "1", "url": "http://j/1", "title": "t", "content_html": "<p>c</p>"}]}',
]
DECLARATIONS = [
    b"utf-8",
    b"gbk",
    b"big5",
    b"utf-16",
    b"latin-1",
    b"bogus",
    b"",
    b"utf-32",
    b"x" * 300,
]


@st.composite
def mutated_feeds(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "encoding", "splice"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "encoding":
            data = bytearray(
                data.replace(
                    b'encoding="utf-8"', b'encoding="' + draw(st.sampled_from(DECLARATIONS)) + b'"'
                )
            )
        else:
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"<![CDATA[",
                        b"]]>",
                        b"&#0;",
                        b"<item>",
                        b"\xff\xfe",
                        b"<!DOCTYPE x>",
                    ]
                )
            )
    return bytes(data)


@given(
    body=mutated_feeds(),
    content_type=st.sampled_from([None, "text/xml", "text/html; charset=gbk", "application/json"]),
)
def test_mutated_feed_gives_feed_error_or_whole_posts(
    body: bytes, content_type: str | None
) -> None:
    try:
        parsed = parse_feed(body, url="http://example.com/feed.xml", content_type=content_type)
    except FeedError as error:
        assert "\n" not in str(error)
        return
    for entry in parsed.entries:
        for mode in ("clean", "raw"):
            try:
                post = render_post(
                    entry, "fuzz", now=NOW, content=mode, feed_url="http://example.com/feed.xml"
                )
            except PostError:
                continue
            head, sep, body_text = post.text[4:].partition("\n---\n")
            assert sep and body_text.endswith("</div>\n")
            meta = yaml.load(head, Loader=yaml.CSafeLoader)
            assert meta["from"] and post.filename.endswith(".md") and "/" not in post.filename


def test_surrogate_character_reference_is_a_feed_error_at_worst() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<description>&#xD800;t</description></channel></rss>"
    )
    try:
        parse_feed(body, url="http://example.com/feed.xml")
    except FeedError:
        pass


@pytest.mark.parametrize("name", [b"\x00utf-8", b"\x80utf-8"])
def test_odd_declared_encoding_is_a_feed_error_at_worst(name: bytes) -> None:
    body = SEEDS[0].replace(b'encoding="utf-8"', b'encoding="' + name + b'"')
    try:
        parse_feed(body, url="http://example.com/feed.xml")
    except FeedError:
        pass
