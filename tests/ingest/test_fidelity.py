"""Issue 12: the old generator's fields whichever parse path reads a feed,
real-world charsets and dates, and podcast enclosures.

The feeds are tests/data/oldgen_feeds/ (the differential test runs the old
generator on the same files, tests/test_oldgen_diff.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import posts_of, write_subs

from newsmirror.archive.posts import PostError, render_post
from newsmirror.cli import main
from newsmirror.ingest.dates import parse_date
from newsmirror.ingest.parse import choose_encoding, parse_feed
from newsmirror.models import Enclosure, Entry, ParsedFeed
from newsmirror.site import build_site

FEEDS = Path(__file__).resolve().parents[1] / "data" / "oldgen_feeds"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
URL = "https://feeds.example/feed.xml"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ILL_FORMED = b'<x:extra xmlns:x="urn:newsmirror:test">Tom & Jerry</x:extra>'


def feed(name: str, *, fast_path: bool = True, ill_formed: bool = False) -> ParsedFeed:
    body = (FEEDS / name).read_bytes()
    if ill_formed:  # one bad character anywhere: feedparser's loose parser reads it
        head, sep, rest = body.partition(b"<channel>")
        body = head + sep + ILL_FORMED + rest if sep else body
    return parse_feed(body, url=URL, content_type="application/xml", fast_path=fast_path)


def post(entry: Entry, site: str = "Site", mode: str = "raw") -> str:
    return render_post(entry, site, now=NOW, content=mode, feed_url=URL).text  # type: ignore[arg-type]


# --- item 4: the old generator's precedence -------------------------------------------------


def test_author_is_author_then_dc_creator_then_the_site_never_itunes_author() -> None:
    entries = feed("podcast-authors.rss").entries
    assert [e.author for e in entries] == [
        None,  # only itunes:author: the site name, as the old generator wrote
        "editor@pod.example (Ed)",
        "Cree Ator",
        "Second Choice",  # an empty <author> does not count
    ]
    assert "\nauthor: Pod\n" in post(entries[0], site="Pod")


def test_content_is_content_encoded_then_description_never_itunes_summary() -> None:
    entries = feed("itunes-summary.rss").entries
    assert [e.content for e in entries] == [
        'The description, with <a href="https://sum.example/x">a link</a>.',
        "Description second.",
        "<p>Full <em>body</em>.</p>",
    ]


def test_xhtml_content_keeps_its_outer_div_and_self_closes_empty_elements() -> None:
    entries = feed("xhtml-content.atom").entries
    assert entries[1].content == (
        '<div type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>one</p><br/><br/><hr/></div></div>"
    )
    assert entries[0].content.startswith(
        '<div type="xhtml" xml:base="https://x.example/base/">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><td>'
        '<a href="https://x.example/a?x=1&amp;y=2">'
        '<img src="https://x.example/i.png" alt="an &quot;image&quot;"/></a>'
    )
    # Mixed content keeps text and elements in their order (xml2js moved the
    # text first and grouped the elements).
    assert "submitted by <a href=\"https://x.example/u\">someone</a> to <a" in entries[2].content
    assert all("</br>" not in e.content and "</img>" not in e.content for e in entries)
    assert entries[3].content == "<p>escaped &amp; html</p>"
    assert entries[3].author == "Ann & Bob"


def test_html_written_unescaped_in_a_description_keeps_its_text_as_is() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        b"<link>https://m.example/1</link><description>&amp;lt;b&amp;gt; said "
        b'<a href="https://m.example/u">u</a> to <i>r</i></description></item></channel></rss>'
    )
    [entry] = parse_feed(body, url=URL).entries
    # rss-parser kept only the text (`&lt;b&gt; said  to `); the elements stay in place.
    assert entry.content == '<div>&lt;b&gt; said <a href="https://m.example/u">u</a> to <i>r</i></div>'


def test_atom_link_is_the_alternate_else_the_first_link() -> None:
    entries = feed("atom-links.atom").entries
    assert [e.link for e in entries[:2]] == ["https://l.example/1", "https://l.example/2.mp3"]
    assert entries[2].published == datetime(2020, 2, 3, 4, 34, 56, 789000, tzinfo=UTC)


# --- item 2 / the titles: one result whichever path reads the feed --------------------


@pytest.mark.parametrize("name", ["titles.rss", "authors-entities.rss"])
def test_titles_and_authors_do_not_depend_on_the_parse_path(name: str) -> None:
    fast = feed(name)
    assert fast.entries
    for other in (
        feed(name, fast_path=False),
        feed(name, ill_formed=True),
        feed(name.replace("titles.rss", "titles-feedparser.rss")),
    ):
        assert [(e.title, e.author, e.content) for e in other.entries] == [
            (e.title, e.author, e.content) for e in fast.entries
        ]


def test_titles_keep_outer_spaces_lose_controls_and_break_lines_between_words() -> None:
    entries = feed("titles.rss", ill_formed=True).entries
    titles = [render_post(e, "S", now=NOW, content="raw").text.split("\n")[2] for e in entries]
    assert titles == [
        'title: "  Leading and trailing spaces  "',
        'title: "Tab here"',
        'title: "Next line control"',  # U+0085 is a control: removed, not `…`
        'title: "Char ref next line"',
        'title: "Ampersand & co & double"',
        'title: "Line break"',
        'title: " CDATA with <b>markup</b> "',
        'title: "Mojibake Ã© stays"',  # no guessing at double-encoded text
    ]


def test_an_author_with_an_entity_reads_the_same_in_an_ill_formed_feed() -> None:
    for parsed in (feed("authors-entities.rss"), feed("authors-entities.rss", ill_formed=True)):
        assert parsed.entries[0].author == "Smith &co"
        assert parsed.entries[1].author == "  Spaced Name  "  # posts.py trims it
        assert parsed.entries[2].content == "Shows &lt;b&gt; literally &amp; more"  # decoded once


# --- links: guids ---------------------------------------------------------------------------


def test_a_guid_is_the_link_only_when_it_is_a_url(server, archive) -> None:
    server.route("/guids.xml", (FEEDS / "guids.rss").read_bytes(),
                 headers={"Content-Type": "application/rss+xml"})  # fmt: skip
    write_subs(archive, [("Guids", server.url("/guids.xml"))])
    assert main(["run", "--archive", str(archive), "--content", "raw", "--json", "-q"]) == 0
    links = sorted(
        line.removeprefix("from: ")
        for text in posts_of(archive).values()
        for line in text.split("\n")
        if line.startswith("from: ")
    )
    assert links == [
        "https://g.example/3",
        "https://g.example/from-guid",
        "tag:g.example,2020:item-1",  # the old generator wrote `from: tag:...` too
        "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
    ]
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    [error] = report["feeds"][0]["item_errors"]
    assert "'abc-123' is not a URL" in error and "\n" not in error


def item_both_ways(item: bytes) -> list[Entry]:
    """An item of a plain RSS 2.0 feed, read by the fast path and by feedparser."""
    body = b'<rss version="2.0"><channel><title>t</title><item><title>x</title>'
    body += item + b"</item></channel></rss>"
    return [parse_feed(body, url=URL, fast_path=fast).entries[0] for fast in (True, False)]


def test_a_relative_permalink_guid_is_not_made_into_a_link() -> None:
    for entry in item_both_ways(b"<guid>abc-123</guid>"):
        assert (entry.link, entry.guid) == (None, "abc-123")
        with pytest.raises(PostError, match="is not a URL"):
            render_post(entry, "S", now=NOW)


def test_javascript_links_still_never_become_posts() -> None:
    with pytest.raises(PostError):
        render_post(Entry(title="x", link="javascript:alert(1)"), "S", now=NOW)
    with pytest.raises(PostError):
        render_post(Entry(title="x", guid="data:text/html,<script>"), "S", now=NOW)


# --- item 5: charsets ----------------------------------------------------------------------


def test_undeclared_latin_text_is_windows_1252() -> None:
    entries = feed("latin1-undeclared-pt.rss").entries
    assert entries[0].title == "Prisão preventiva é mantida"  # not Baltic `Prisćo`
    assert entries[2].title == "Eleições: coração do país"
    # windows-1252's own characters (curly quotes, euro) are not latin-1 controls.
    body = '<rss version="2.0"><channel><item><title>“Preço” 5 €</title></item></channel></rss>'
    assert choose_encoding(body.encode("cp1252"), None) == "cp1252"
    assert parse_feed(body.encode("cp1252"), url=URL).entries[0].title == "“Preço” 5 €"


def test_the_uol_feed_reads_as_windows_1252() -> None:
    path = SHARED / "corpus/feeds/rss-parser/test/input/uolNoticias.rss"
    if not path.exists():
        pytest.skip("../shared/corpus is not there")
    entries = parse_feed(path.read_bytes(), url=URL).entries
    assert any("prisão" in (e.title or "") + (e.content or "") for e in entries)
    assert all(e.published and e.published.year == 2018 for e in entries)


@pytest.mark.parametrize(
    ("name", "title"),
    [("gb18030-undeclared.rss", "中国经济增长放缓，专家呼吁改革"),
     ("big5-undeclared.rss", "臺灣總統選舉結果揭曉")],  # fmt: skip
)
def test_undeclared_chinese_is_gb18030_or_big5(name: str, title: str) -> None:
    for content_type in ("application/xml", "text/html", None):
        body = (FEEDS / name).read_bytes()
        parsed = parse_feed(body, url=URL, content_type=content_type)
        assert parsed.entries[0].title == title


def test_gbk_only_characters_decode_as_gb18030() -> None:
    # 镕 and 喆 are outside GB2312: a GB2312 decoder fails on them.
    text = "朱镕基和张喆出席会议，讨论经济改革与发展的问题，并发表重要讲话。" * 3
    body = f'<rss version="2.0"><channel><item><title>{text}</title></item></channel></rss>'
    assert parse_feed(body.encode("gb18030"), url=URL).entries[0].title == text


# --- item 5: dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("Sáb, 01 Dez 2018 12:00:00 -0200", datetime(2018, 12, 1, 14, 0, tzinfo=UTC)),
        ("Qui, 07 Fev 2019 09:30:00 -0200", datetime(2019, 2, 7, 11, 30, tzinfo=UTC)),
        ("Lun, 24 Sep 2018 10:00:00 +0200", datetime(2018, 9, 24, 8, 0, tzinfo=UTC)),
        ("miércoles, 03 oct 2018 10:00:00 +0200", datetime(2018, 10, 3, 8, 0, tzinfo=UTC)),
        ("Mar, 04 Dic 2018 10:00:00 +0100", datetime(2018, 12, 4, 9, 0, tzinfo=UTC)),
        ("lun., 24 sept. 2018 10:00:00 +0200", datetime(2018, 9, 24, 8, 0, tzinfo=UTC)),
        ("ven, 10 août 2018 10:00:00 +0200", datetime(2018, 8, 10, 8, 0, tzinfo=UTC)),
        ("jeu., 06 févr. 2020 10:00:00 +0100", datetime(2020, 2, 6, 9, 0, tzinfo=UTC)),
        ("Mo, 24 Sep 2018 10:00:00 +0200", datetime(2018, 9, 24, 8, 0, tzinfo=UTC)),
        ("Di, 05 Mär 2019 10:00:00 +0100", datetime(2019, 3, 5, 9, 0, tzinfo=UTC)),
        ("Mi, 17 Okt 2018 10:00:00 +0200", datetime(2018, 10, 17, 8, 0, tzinfo=UTC)),
        ("Do, 24. Dez 2020 18:00:00 +0100", datetime(2020, 12, 24, 17, 0, tzinfo=UTC)),
        ("星期一, 24 九月 2018 10:00:00 +0800", datetime(2018, 9, 24, 2, 0, tzinfo=UTC)),
        ("周二, 25 9月 2018 10:00:00 +0800", datetime(2018, 9, 25, 2, 0, tzinfo=UTC)),
        ("週三，26 十二月 2018 10:00:00 +0800", datetime(2018, 12, 26, 2, 0, tzinfo=UTC)),
        ("Tue, 25 Sep 2018 11:00:00 +0800", datetime(2018, 9, 25, 3, 0, tzinfo=UTC)),
        ("Seg, 31 Fev 2018 10:00:00 -0300", None),  # no such day
        ("sometime last week", None),
    ],
)
def test_rfc822_dates_with_day_and_month_names_of_other_languages(
    raw: str, expected: datetime | None
) -> None:
    assert parse_date(raw) == expected


def test_dc_date_is_read_when_there_is_no_pubdate_and_pubdate_wins() -> None:
    entries = feed("dc-date.rss").entries
    assert entries[0].published == datetime(2019, 3, 4, 4, 6, 7, tzinfo=UTC)
    assert entries[1].published == datetime(2019, 3, 4, 10, 0, tzinfo=UTC)


def test_an_unreadable_date_is_in_the_run_report(server, archive) -> None:
    server.route("/dc.xml", (FEEDS / "dc-date.rss").read_bytes(),
                 headers={"Content-Type": "application/rss+xml"})  # fmt: skip
    write_subs(archive, [("DC", server.url("/dc.xml"))])
    assert main(["run", "--archive", str(archive), "--content", "raw", "-q"]) == 0
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    [warning] = [w for w in report["feeds"][0]["warnings"] if w.startswith("dates:")]
    assert "1 item(s)" in warning and "'sometime last week'" in warning
    assert "dated with the run's time" in warning


# --- item 6: enclosures ----------------------------------------------------------------------


def test_enclosures_of_every_kind_are_read_and_only_audio_and_video_kept() -> None:
    rss = feed("enclosures.rss").entries
    assert [[(x.url, x.kind) for x in e.enclosures] for e in rss] == [
        [("https://e.example/1.mp3", "audio")],
        [("https://e.example/2.webm", "video")],  # media:content
        [],  # an image is not an enclosure to play
    ]
    atom = feed("atom-links.atom").entries  # link rel="enclosure"
    assert [x.url for x in atom[1].enclosures] == ["https://l.example/2.mp3"]
    assert [x.kind for x in feed("podcast-authors.rss").entries[2].enclosures] == ["video"]
    json_feed = json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "1", "url": "https://j.example/1", "content_text": "x",
                   "attachments": [{"url": "https://j.example/1.m4a", "mime_type": "audio/x-m4a"}]}],
    })  # fmt: skip
    [entry] = parse_feed(json_feed.encode(), url=URL).entries
    assert [(x.url, x.kind) for x in entry.enclosures] == [("https://j.example/1.m4a", "audio")]


def test_enclosures_are_links_in_clean_posts_players_on_the_site_absent_in_raw(
    server, archive, tmp_path
) -> None:
    server.route("/pod.xml", (FEEDS / "enclosures.rss").read_bytes(),
                 headers={"Content-Type": "application/rss+xml"})  # fmt: skip
    write_subs(archive, [("Pod", server.url("/pod.xml"))])
    assert main(["run", "--archive", str(archive), "--fulltext", "never", "-q"]) == 0
    posts = posts_of(archive)
    audio = next(text for name, text in posts.items() if "Audio enclosure" in name)
    assert '<a href="https://e.example/1.mp3" type="audio/mpeg">🎧 1.mp3</a>' in audio
    video = next(text for name, text in posts.items() if "Video" in name)
    assert '<a href="https://e.example/2.webm" type="video/webm">🎬 2.webm</a>' in video
    image = next(text for name, text in posts.items() if "Image" in name)
    assert "3.jpg" not in image

    build_site(archive, tmp_path / "site")
    pages = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html")}
    page = next(text for text in pages.values() if "1.mp3" in text and "<audio" in text)
    assert '<audio controls preload="none" src="https://e.example/1.mp3"></audio>' in page
    assert any('<video controls preload="none" src="https://e.example/2.webm"' in t
               for t in pages.values())  # fmt: skip

    raw_archive = tmp_path / "raw"
    raw_archive.mkdir()
    write_subs(raw_archive, [("Pod", server.url("/pod.xml"))])
    assert main(["run", "--archive", str(raw_archive), "--content", "raw", "-q"]) == 0
    assert all("1.mp3" not in text for text in posts_of(raw_archive).values())


def test_enclosure_links_are_escaped_and_not_repeated() -> None:
    entry = Entry(
        title="t",
        link="https://p.example/1",
        content='<p><a href="https://cdn.example/a.mp3">listen</a></p>',
        enclosures=[
            Enclosure("https://cdn.example/a.mp3", "audio", "audio/mpeg"),
            Enclosure('https://cdn.example/b.mp3?"><script>', "audio", 'audio/mpeg"'),
        ],
    )
    text = post(entry, mode="clean")
    assert text.count("a.mp3") == 1  # the feed's own link: not added again
    assert '<a href="https://cdn.example/b.mp3?&quot;&gt;&lt;script&gt;" type="audio/mpeg&quot;">' in text
    assert "<script>" not in text


def test_an_absolute_link_is_written_as_javascript_serialises_it() -> None:
    for entry in item_both_ways(b"<link> https://e.example/a? </link>"):
        assert "\nfrom: https://e.example/a?\n" in post(entry)  # new URL(...).href keeps the `?`
