from __future__ import annotations

import asyncio
from pathlib import Path

import lxml.html
import pytest
from loopback import LoopbackServer, hang

from newsmirror.extract import (
    FulltextResult,
    decode_page,
    extract_article,
    fulltext_for,
    looks_like_summary,
    text_length,
)
from newsmirror.fetch import Fetcher, FetchSettings
from newsmirror.models import Entry, FetchResult
from newsmirror.rules import SiteRule, load_rules

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus/pages/readability/test/test-pages"
HTML = {"Content-Type": "text/html; charset=utf-8"}
LONG = "<p>" + "This is a complete sentence of the full article text. " * 12 + "</p>"
ARTICLE_PAGE = (
    "<html><head><title>T</title></head><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav>"
    "<article><h1>Headline</h1>"
    + "".join(
        f"<p>Paragraph {i} of the article explains, in some detail, what happened on the day "
        f"and why it matters to the people who live there, according to witnesses.</p>"
        for i in range(12)
    )
    + "</article><footer>Copyright footer</footer></body></html>"
)


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        "<p>Short teaser.</p>",
        LONG.replace("</p>", " And then…</p>"),
        LONG.replace("</p>", " [...]</p>"),
        LONG + '<p><a href="https://x.org/1">Read more</a></p>',
        LONG + '<p><a href="https://x.org/1">阅读全文</a></p>',
        LONG + '<a href="https://x.org/1">閱讀全文 »</a>',
        LONG + '<p><a href="https://x.org/1">继续阅读</a></p>',
        LONG + '<p><a href="https://x.org/1">more</a></p>',
    ],
)
def test_summaries_are_detected(content: str | None) -> None:
    assert looks_like_summary(content)


@pytest.mark.parametrize(
    "content",
    [
        LONG,
        LONG
        + '<p>See <a href="https://x.org/more">more on this</a> at the site, and more text.</p>',
        "<p>" + "北約秘書長今天敦促南韓增加對烏克蘭的軍事援助，他說這就是現實。" * 8 + "</p>",
    ],
)
def test_full_articles_are_not_summaries(content: str) -> None:
    assert not looks_like_summary(content)


def test_text_length_ignores_markup_and_scripts() -> None:
    assert text_length("<p>ab <b>c</b></p><script>var x = 1;</script>") == 3
    assert text_length(None) == 0


@pytest.mark.parametrize(
    ("encoding", "header"),
    [("gb18030", None), ("gbk", "text/html; charset=gbk"), ("big5", None), ("big5", "text/html")],
)
def test_chinese_pages_decode_with_their_charset(encoding: str, header: str | None) -> None:
    text = (
        "北約秘書長訪南韓 促增對烏克蘭軍援"
        if encoding == "big5"
        else "北约秘书长访问韩国 促增对乌克兰军援"
    )
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">'
    body = f"<html><head>{meta}</head><body><p>{text}</p></body></html>".encode(encoding)
    assert text in decode_page(body, header)


def test_decode_detects_charset_when_none_is_declared() -> None:
    text = "北约秘书长今天敦促韩国增加对乌克兰的军事援助。他说，这就是现实。" * 5
    assert text in decode_page(f"<p>{text}</p>".encode("gb18030"), None)


def test_header_charset_that_lies_falls_back() -> None:
    body = "<p>中文内容，编码其实是 UTF-8。</p>".encode()
    assert "中文内容" in decode_page(body, "text/html; charset=ascii-lies")


@pytest.mark.parametrize("name", ["pixnet", "gmw", "qq"])
def test_extract_article_on_real_chinese_pages(name: str) -> None:
    page = CORPUS / name
    html = extract_article((page / "source.html").read_bytes(), "http://fakehost/test/page.html")
    expected = (page / "expected.html").read_text("utf-8")
    assert html is not None
    ours = "".join(lxml.html.fragment_fromstring(html, create_parent="div").text_content().split())
    paragraphs = [
        "".join(p.text_content().split())
        for p in lxml.html.fragment_fromstring(expected, create_parent="div").iter("p")
    ]
    long_ones = [p for p in paragraphs if len(p) > 30]
    assert long_ones
    assert all(p in ours for p in long_ones)


def test_extract_article_returns_none_without_content() -> None:
    assert (
        extract_article(
            "<html><body><script>var a = 1;</script><div> </div></body></html>", "https://x.org/"
        )
        is None
    )
    assert extract_article(b"", "https://x.org/") is None


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _fulltext(
    entry: Entry, rule: SiteRule | None = None, mode: str = "auto", **settings: float
) -> FulltextResult:  # type: ignore[type-arg]
    fs = FetchSettings(retries=0, **settings)  # type: ignore[arg-type]
    async with Fetcher(fs) as fetcher:
        return await fulltext_for(entry, fetcher, rule, mode)  # type: ignore[arg-type]


def test_summary_is_replaced_by_the_page(server: LoopbackServer) -> None:
    url = server.route("/a.html", ARTICLE_PAGE, headers=HTML)
    entry = Entry(link=url, content="<p>What happened on the day…</p>")
    result = run(_fulltext(entry))
    assert result.source == "page" and result.warning is None
    assert "Paragraph 11 of the article" in result.content
    assert "Copyright footer" not in result.content
    assert server.requests_for("/a.html")[0].headers["Accept"].startswith("text/html")


def test_gbk_page_is_decoded_right(server: LoopbackServer) -> None:
    body = ARTICLE_PAGE.replace("Paragraph", "第段落").encode("gbk")
    url = server.route("/gbk.html", body, headers={"Content-Type": "text/html; charset=GBK"})
    result = run(_fulltext(Entry(link=url, content="")))
    assert result.source == "page" and "第段落 11" in result.content


def test_full_feed_content_is_kept_without_fetching(server: LoopbackServer) -> None:
    url = server.route("/a.html", ARTICLE_PAGE, headers=HTML)
    result = run(_fulltext(Entry(link=url, content=LONG)))
    assert result == FulltextResult(LONG, "feed", None)
    assert server.requests_for("/a.html") == []


def test_never_and_always_modes(server: LoopbackServer) -> None:
    url = server.route("/a.html", ARTICLE_PAGE, headers=HTML)
    teaser = "<p>Teaser…</p>"
    assert run(_fulltext(Entry(link=url, content=teaser), mode="never")).content == teaser
    always = run(_fulltext(Entry(link=url, content=LONG), mode="always"))
    assert always.source == "page" and "Paragraph 3" in always.content
    # A site rule refines the default `auto`.
    rule = SiteRule(host="127.0.0.1", fulltext="never")
    assert run(_fulltext(Entry(link=url, content=teaser), rule=rule)).source == "feed"


def test_feed_as_long_as_the_page_is_kept_under_auto(server: LoopbackServer) -> None:
    url = server.route("/a.html", ARTICLE_PAGE, headers=HTML)
    feed = (
        ARTICLE_PAGE.split("<article>")[1]
        .split("</article>")[0]
        .replace("witnesses.</p>", "witnesses…</p>")
    )
    result = run(_fulltext(Entry(link=url, content=feed)))
    assert result.source == "feed" and result.content == feed and result.warning is None


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"body": "oops", "status": 500}, "HTTP 500"),
        ({"body": "<html><body><script>var a = 1;</script><div> </div></body></html>", "headers": HTML},
         "no article content found on the page"),
        ({"body": b"\x89PNG\r\n\x1a\n", "headers": {"Content-Type": "image/png"}},
         "page is image/png, not HTML"),
    ],
)  # fmt: skip
def test_page_failures_keep_feed_content(server: LoopbackServer, route: dict, reason: str) -> None:  # type: ignore[type-arg]
    url = server.route("/p.html", **route)
    result = run(_fulltext(Entry(link=url, content="<p>The teaser…</p>")))
    assert result.source == "feed" and result.content == "<p>The teaser…</p>"
    assert result.warning is not None and url in result.warning and reason in result.warning
    assert "\n" not in result.warning


def test_page_timeout_keeps_feed_content(server: LoopbackServer) -> None:
    url = server.route("/slow.html", handler=hang())
    entry = Entry(link=url, content="<p>The teaser…</p>")
    result = run(_fulltext(entry, deadline=0.5, read_timeout=0.3))
    assert result.source == "feed" and result.content == "<p>The teaser…</p>"
    assert result.warning and url in result.warning


class RaisingFetcher:
    async def fetch(self, url: str, **kw: object) -> FetchResult:
        raise TimeoutError("read timed out")


def test_fetcher_that_raises_keeps_feed_content() -> None:
    entry = Entry(link="https://example.org/a", content="<p>Teaser…</p>")
    result = run(fulltext_for(entry, RaisingFetcher(), None, "auto"))
    assert result.content == "<p>Teaser…</p>"
    assert (
        result.warning
        == "https://example.org/a: full text not used (fetch failed: TimeoutError read timed out)"
    )


def test_item_without_link_keeps_feed_content() -> None:
    result = run(
        fulltext_for(Entry(guid="tag:x", content="<p>T…</p>"), RaisingFetcher(), None, "always")
    )
    assert result.content == "<p>T…</p>" and result.warning == "tag:x: no article link to fetch"


def test_cna_rule_cleans_feed_content_too() -> None:
    seed = next((SHARED / "seed").glob("*.md")).read_text("utf-8")
    body = seed.split("<div>\n", 1)[1].rsplit("\n</div>", 1)[0]
    rule = load_rules().rule_for("https://www.cna.com.tw/news/aopl/202301300091.aspx")
    entry = Entry(link="https://www.cna.com.tw/news/aopl/202301300091.aspx", content=body)
    result = run(fulltext_for(entry, RaisingFetcher(), rule, "never"))
    assert "敦促南韓增加對烏克蘭的軍事援助" in result.content
    assert "（譯者：鄭詩韻/核稿：陳昱婷）" in result.content
    for junk in ("#史托騰柏格", "聚焦新聞", "瞄準太空經濟", "owl-carousel", "陳建仁31日上任"):
        assert junk not in result.content, junk
