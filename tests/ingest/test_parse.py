"""parse_feed over small realistic documents: formats, charsets, dates, attacks."""

from __future__ import annotations

import http.server
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror.ingest.parse import parse_date, parse_feed
from newsmirror.models import FeedError

URL = "https://example.org/feed.xml"


def test_rss_091_with_netscape_doctype() -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old News</title><link>http://old.example/</link>
<item><title>Caf\xe9 opens</title><link>http://old.example/cafe</link>
<description>A new caf\xe9.</description></item></channel></rss>"""
    feed = parse_feed(body, url=URL)
    assert feed.title == "Old News"
    [entry] = feed.entries
    assert entry.title == "Café opens"
    assert entry.link == "http://old.example/cafe"
    assert entry.content == "A new café."
    assert entry.published is None


def test_rss_10_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://rdf.example/"><title>RDF</title><link>http://rdf.example/</link></channel>
<item rdf:about="http://rdf.example/1"><title>One</title><link>http://rdf.example/1</link>
<dc:creator>Ann</dc:creator><dc:date>2017-06-15T10:29:47-07:00</dc:date>
<description>first</description></item></rdf:RDF>"""
    [entry] = parse_feed(body, url=URL).entries
    assert (entry.title, entry.link, entry.author) == ("One", "http://rdf.example/1", "Ann")
    assert entry.published == datetime(2017, 6, 15, 17, 29, 47, tzinfo=UTC)


RSS20 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel><title>Blog</title><link>https://blog.example/</link>
<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
<item><title>  Spaced &amp;quot;title&amp;quot;  </title><link>/posts/1</link>
<guid isPermaLink="false">post-1</guid><dc:creator>Tom &amp;#38; Jerry</dc:creator>
<category>news</category><category>tech</category>
<pubDate>Mon, 30 Jan 2023 04:47:00 -0800</pubDate>
<description>Short summary</description>
<content:encoded><![CDATA[<p>Full</p>
<pre>  code
  block</pre>]]></content:encoded>
<enclosure url="https://blog.example/i.jpg" type="image/jpeg" length="10"/></item>
</channel></rss>"""


def test_rss20_content_encoded_and_dc_creator() -> None:
    feed = parse_feed(RSS20, url="https://blog.example/feed/")
    assert feed.ttl_minutes == 30
    [entry] = feed.entries
    # Outer spaces are kept: the archive format keeps them (golden Blogger post).
    assert entry.title == "  Spaced &quot;title&quot;  "
    assert entry.link == "https://blog.example/posts/1"
    assert entry.guid == "post-1"
    assert entry.author == "Tom &#38; Jerry"
    assert entry.content == "<p>Full</p>\n<pre>  code\n  block</pre>"
    assert entry.content_is_html
    assert entry.summary == "Short summary"
    assert entry.tags == ["news", "tech"]
    assert entry.thumbnail == "https://blog.example/i.jpg"
    assert entry.base_url == "https://blog.example/feed/"
    assert entry.published == datetime(2023, 1, 30, 12, 47, tzinfo=UTC)


def test_atom_with_xml_base_and_plain_text_content() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/">
<title>Atom</title><link href="https://atom.example/"/>
<entry><title type="text">A &lt;b&gt; entry</title><link href="entries/1"/><id>urn:uuid:1</id>
<author><name>Jo</name><email>jo@atom.example</email></author>
<updated>2024-02-03T04:05:06Z</updated>
<summary>sum</summary><content type="text">plain
text</content></entry></feed>"""
    [entry] = parse_feed(body, url=URL).entries
    assert entry.title == "A <b> entry"
    assert entry.link == "https://atom.example/blog/entries/1"
    assert entry.base_url == "https://atom.example/blog/"
    assert entry.guid == "urn:uuid:1"
    assert entry.author == "Jo"
    assert (entry.content, entry.content_is_html) == ("plain\ntext", False)
    assert entry.summary == "sum"
    assert entry.published == datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_youtube_media_group() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
 xmlns="http://www.w3.org/2005/Atom"><title>Chan</title>
<entry><id>yt:video:abc</id><yt:videoId>abc</yt:videoId><title>Video</title>
<link rel="alternate" href="https://www.youtube.com/watch?v=abc"/>
<author><name>Chan</name><uri>https://www.youtube.com/channel/UC1</uri></author>
<published>2024-01-02T03:04:05+00:00</published>
<media:group><media:title>Video</media:title>
<media:thumbnail url="https://i1.ytimg.com/vi/abc/hqdefault.jpg" width="480" height="360"/>
<media:description>Line one &lt;not a tag&gt;
Line two</media:description></media:group></entry></feed>"""
    [entry] = parse_feed(body, url=URL).entries
    assert entry.content == "Line one <not a tag>\nLine two"
    assert entry.content_is_html is False
    assert entry.summary is None
    assert entry.thumbnail == "https://i1.ytimg.com/vi/abc/hqdefault.jpg"
    assert entry.author == "Chan"
    assert entry.link == "https://www.youtube.com/watch?v=abc"


def test_blogger_keeps_milliseconds() -> None:
    body = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:blogger='http://schemas.google.com/blogger/2008'>
<id>tag:blogger.com,1999:blog-1</id><title type='text'>Blogspot</title>
<entry><id>tag:blogger.com,1999:blog-1.post-2</id>
<published>2023-01-30T04:47:00.007-08:00</published><updated>2023-01-31T01:00:00.000-08:00</updated>
<title type='text'>Post</title><content type='html'>&lt;p&gt;Hi&lt;/p&gt;</content>
<link rel='alternate' type='text/html' href='https://x.blogspot.com/2023/01/post.html' title='Post'/>
<author><name>Blogger Person</name><email>noreply@blogger.com</email></author></entry></feed>"""
    [entry] = parse_feed(body, url=URL).entries
    assert entry.published == datetime(2023, 1, 30, 12, 47, 0, 7000, tzinfo=UTC)
    assert entry.author == "Blogger Person"
    assert (entry.content, entry.content_is_html) == ("<p>Hi</p>", True)


def test_wordpress_feed() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel><title>WP</title>
<atom:link href="https://wp.example/feed/" rel="self" type="application/rss+xml" />
<link>https://wp.example</link><sy:updatePeriod>
	daily	</sy:updatePeriod><sy:updateFrequency>
	1	</sy:updateFrequency><generator>https://wordpress.org/?v=6.4</generator>
<item><title>Hello world!</title><link>https://wp.example/2024/01/hello-world/</link>
<dc:creator><![CDATA[admin]]></dc:creator><pubDate>Tue, 02 Jan 2024 10:00:00 +0000</pubDate>
<category><![CDATA[Uncategorized]]></category><guid isPermaLink="false">https://wp.example/?p=1</guid>
<description><![CDATA[Welcome to WordPress. [&#8230;]]]></description>
<content:encoded><![CDATA[<p>Welcome to WordPress. This is your first post.</p>]]></content:encoded>
<slash:comments>1</slash:comments></item></channel></rss>"""
    feed = parse_feed(body, url="https://wp.example/feed/")
    assert feed.ttl_minutes == 24 * 60
    [entry] = feed.entries
    assert entry.author == "admin"
    assert entry.guid == "https://wp.example/?p=1"
    assert entry.content == "<p>Welcome to WordPress. This is your first post.</p>"
    assert entry.summary == "Welcome to WordPress. [&#8230;]"
    assert entry.tags == ["Uncategorized"]


def test_medium_feed() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom"
 version="2.0" xmlns:cc="http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html">
<channel><title><![CDATA[Stories by Kim on Medium]]></title><link>https://medium.com/@kim</link>
<item><title><![CDATA[Why \xe4\xb8\xad\xe6\x96\x87 matters]]></title>
<link>https://medium.com/@kim/why-abc123?source=rss-1</link>
<guid isPermaLink="false">https://medium.com/p/abc123</guid><category><![CDATA[china]]></category>
<dc:creator><![CDATA[Kim]]></dc:creator><pubDate>Sat, 06 Jan 2024 08:09:10 GMT</pubDate>
<atom:updated>2024-01-06T08:09:10.123Z</atom:updated>
<content:encoded><![CDATA[<h3>Why</h3><p>Because.</p>]]></content:encoded></item></channel></rss>"""
    [entry] = parse_feed(body, url="https://medium.com/feed/@kim").entries
    assert entry.title == "Why 中文 matters"
    assert entry.author == "Kim"
    assert entry.guid == "https://medium.com/p/abc123"
    assert entry.published == datetime(2024, 1, 6, 8, 9, 10, tzinfo=UTC)
    assert entry.content == "<h3>Why</h3><p>Because.</p>"
    assert entry.summary is None


def test_json_feed() -> None:
    body = """{"version": "https://jsonfeed.org/version/1.1", "title": "JSON 博客",
     "home_page_url": "https://json.example/", "items": [
       {"id": "2", "title": "二", "content_text": "plain\\ntext", "url": "/2",
        "date_published": "2024-03-04T05:06:07.890+08:00", "tags": ["a"],
        "authors": [{"name": "Lee"}],
        "attachments": [{"url": "https://json.example/p.png", "mime_type": "image/png"}]},
       {"id": 1, "content_html": "<p>one</p>", "summary": "s", "url": "https://json.example/1"},
       "not an object"]}""".encode()
    feed = parse_feed(body, url="https://json.example/feed.json")
    assert (feed.title, feed.link) == ("JSON 博客", "https://json.example/")
    first, second = feed.entries
    assert (first.title, first.link, first.guid, first.author) == (
        "二",
        "https://json.example/2",
        "2",
        "Lee",
    )
    assert (first.content, first.content_is_html) == ("plain\ntext", False)
    assert first.published == datetime(2024, 3, 3, 21, 6, 7, 890000, tzinfo=UTC)
    assert first.thumbnail == "https://json.example/p.png"
    assert (second.guid, second.content, second.summary) == ("1", "<p>one</p>", "s")
    assert len(feed.item_errors) == 1 and "item 3" in feed.item_errors[0]


# --- charsets ---------------------------------------------------------------------

CHINESE_TITLE = "镕基新闻：台灣與香港的讀者"  # 镕/灣 need GBK/Big5 beyond the base sets


def _feed_in(encoding: str, declared: str | None, title: str) -> bytes:
    decl = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    text = (
        f'{decl}<rss version="2.0"><channel><title>{title}</title>'
        f"<item><title>{title}</title><link>http://cn.example/1</link>"
        f"<description>{title}</description></item></channel></rss>"
    )
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "declared", "content_type", "title"),
    [
        ("gb18030", "gb2312", None, "镕基新闻"),  # GBK char under a GB2312 label
        ("gbk", "GBK", "text/xml; charset=iso-8859-1", "简体中文新闻"),  # header lies
        ("gb18030", "gb18030", "application/rss+xml; charset=utf-8", "新闻 𠀀"),
        ("gbk", None, "text/xml", "简体中文新闻标题，今天的天气很好"),  # no declaration
        ("big5", "big5", None, "繁體中文新聞"),
        ("big5hkscs", "big5", "text/xml; charset=big5", "香港新聞 綫上"),
        ("big5", None, "application/xml; charset=windows-1252", "繁體中文新聞標題，今天的天氣很好"),
        ("shift_jis", "Shift_JIS", None, "日本語のニュース"),
        ("euc-kr", "EUC-KR", "text/xml; charset=utf-8", "한국어 뉴스"),
        ("utf-8", "gb2312", None, "声明错误的UTF-8"),  # declaration wrong, bytes UTF-8
        ("utf-8", None, "text/xml; charset=big5", "繁體與简体"),
    ],
)
def test_charsets_decode_to_the_right_text(
    encoding: str, declared: str | None, content_type: str | None, title: str
) -> None:
    body = _feed_in(encoding, declared, title)
    feed = parse_feed(body, url=URL, content_type=content_type)
    assert feed.title == title
    assert feed.entries[0].title == title
    assert feed.entries[0].content == title


def test_charset_repair_is_reported_as_a_warning() -> None:
    body = _feed_in("gbk", "GBK", "简体中文新闻")
    feed = parse_feed(body, url=URL, content_type="text/xml; charset=iso-8859-1")
    assert any("gb18030" in w for w in feed.warnings)


def test_latin1_feed_is_not_redetected_as_something_else() -> None:
    title = "Líder na pesquisa de intenção de voto não é o mesmo"
    feed = parse_feed(_feed_in("latin-1", "ISO-8859-1", title), url=URL)
    assert feed.entries[0].title == title


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 30 Jan 2023 04:47:00 -0800", datetime(2023, 1, 30, 12, 47, tzinfo=UTC)),
        ("Mon, 30 Jan 2023 04:47:00 GMT", datetime(2023, 1, 30, 4, 47, tzinfo=UTC)),
        ("2023-01-30T04:47:00.007-08:00", datetime(2023, 1, 30, 12, 47, 0, 7000, tzinfo=UTC)),
        ("2023-01-30T04:47:00.1239Z", datetime(2023, 1, 30, 4, 47, 0, 123000, tzinfo=UTC)),
        ("2023-01-30", datetime(2023, 1, 30, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("not a date at all", None),
        ("Mon, 99 Foo 2023 99:99:99 +9999", None),
        ("9999-12-31T23:59:59-23:59", None),
    ],
)
def test_parse_date(raw: str | None, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_dates_in_items_missing_garbage_and_updated_fallback() -> None:
    body = b"""<rss version="2.0"><channel><title>D</title>
<item><title>none</title><link>http://d.example/1</link></item>
<item><title>garbage</title><link>http://d.example/2</link><pubDate>yesterday-ish</pubDate></item>
</channel></rss>"""
    none, garbage = parse_feed(body, url=URL).entries
    assert none.published is None and garbage.published is None
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><title>u</title><id>x</id><updated>2020-05-06T07:08:09.5+02:00</updated></entry></feed>"""
    [entry] = parse_feed(atom, url=URL).entries
    assert entry.published == datetime(2020, 5, 6, 5, 8, 9, 500000, tzinfo=UTC)


# --- isolation, not-a-feed ----------------------------------------------------------


def test_one_broken_item_does_not_lose_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    import newsmirror.ingest.parse as parse_module

    real = parse_module._thumbnail

    def fails_on_second(raw, base_url):  # type: ignore[no-untyped-def]
        if raw.get("title") == "B":
            raise ValueError("bad thumbnail")
        return real(raw, base_url)

    monkeypatch.setattr(parse_module, "_thumbnail", fails_on_second)
    body = b"""<rss version="2.0"><channel><title>I</title>
<item><title>A</title><link>http://i.example/a</link></item>
<item><title>B</title><link>http://i.example/b</link></item>
<item><title>C</title><link>http://i.example/c</link></item></channel></rss>"""
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == ["A", "C"]
    assert feed.item_errors == [f"{URL}: item 2 'B': bad thumbnail"]


def test_bozo_feed_with_entries_is_kept_with_a_warning() -> None:
    body = b"""<rss version="2.0"><channel><title>Broken & bad</title>
<item><title>Still here</title><link>http://b.example/1</link></item></channel>"""
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == ["Still here"]
    assert feed.warnings and all("\n" not in w for w in feed.warnings)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty document"),
        (b"  \n\t ", "empty document"),
        (
            b"<!DOCTYPE html><html><head><title>Hi</title></head><body>page</body></html>",
            "HTML page",
        ),
        (b"<html><body><p>no doctype</p></body></html>", "HTML page"),
        (b'{"status": "ok", "data": [1, 2]}', "JSON that is not a JSON Feed"),
        (b"[1, 2, 3]", "JSON that is not a JSON Feed"),
        (b'{"broken": ', "invalid JSON"),
        (b"<?xml version='1.0'?><config><option>1</option></config>", "XML without items"),
    ],
)
def test_not_a_feed_is_one_line_feed_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(body, url=URL)
    message = str(caught.value)
    assert reason in message and URL in message and "\n" not in message


def test_empty_channel_is_a_feed_without_entries() -> None:
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', url=URL)
    assert feed.title == "Quiet" and feed.entries == []


def test_javascript_links_are_dropped() -> None:
    body = b"""<rss version="2.0"><channel><title>J</title>
<item><title>x</title><link>javascript:alert(1)</link><guid>g</guid></item></channel></rss>"""
    [entry] = parse_feed(body, url=URL).entries
    assert entry.link is None and entry.guid == "g"


# --- XML attacks --------------------------------------------------------------------


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.paths.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY evil "PWNED-FROM-NETWORK">')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    paths: list[str] = []
    _RecordingHandler.paths = paths
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", paths
    server.shutdown()
    server.server_close()


def _bounded(body: bytes) -> tuple[FeedError | None, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parse_feed(body, url=URL)
        error = None
    except FeedError as caught:
        error = caught
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, elapsed, peak


def test_billion_laughs_is_refused_cheaply() -> None:
    lols = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lols}]>'
        '<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item>'
        "</channel></rss>"
    ).encode()
    error, elapsed, peak = _bounded(body)
    assert error is not None and "refused: DTD entity declarations" in str(error)
    assert elapsed < 2 and peak < 20_000_000  # a generous bound: expansion would be GBs


def test_external_file_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    marker = f"MARKER-{time.time_ns()}"
    secret.write_text(marker)
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>&xxe;</title>'
        "<item><title>&xxe;</title><description>&xxe;</description></item></channel></rss>"
    ).encode()
    with pytest.raises(FeedError, match="refused: DTD entity declarations"):
        parse_feed(body, url=URL)


def test_external_entities_never_reach_the_network(loopback: tuple[str, list[str]]) -> None:
    base, paths = loopback
    attacks = [
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/entity">]>',
        f'<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "{base}/param"> %dtd;]>',
        f'<!DOCTYPE rss PUBLIC "-//x//y" "{base}/external.dtd" [<!ENTITY xxe SYSTEM "{base}/e2">]>',
    ]
    for doctype in attacks:
        body = (
            f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>&xxe;</title>'
            "<item><title>t</title></item></channel></rss>"
        ).encode()
        with pytest.raises(FeedError, match="refused"):
            parse_feed(body, url=URL)
    assert paths == []


def test_external_dtd_without_entities_parses_without_fetching(
    loopback: tuple[str, list[str]],
) -> None:
    base, paths = loopback
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{base}/rss.dtd">'
        '<rss version="2.0"><channel><title>T &amp; evil</title>'
        "<item><title>ok</title><link>http://ok.example/</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == ["ok"]
    assert "PWNED" not in (feed.title or "")
    assert paths == []


def test_literal_entity_declarations_still_work() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY copy "&#169;"><!ENTITY site "Example">]>
<rss version="2.0"><channel><title>&site; &copy;</title>
<item><title>&site; item</title><link>http://lit.example/</link></item></channel></rss>"""
    feed = parse_feed(body, url=URL)
    assert feed.title == "Example ©"
    assert feed.entries[0].title == "Example item"
