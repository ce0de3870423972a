from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import lxml.html
import pytest
from loopback import LoopbackServer, hang
from readability import Document

from newsmirror.ingest.article import drop_title_heading
from newsmirror.ingest.article.blocks import page_blocks
from newsmirror.ingest.article.generic import (
    CJK_MIN_TEXT,
    LATIN_MIN_TEXT,
    min_text_length,
    parse_page,
)
from newsmirror.ingest.article.kinds import drop_page_chrome
from newsmirror.ingest.article.readability_doc import ReadabilityDocument
from newsmirror.ingest.extract import (
    FulltextResult,
    decode_page,
    extract_article,
    fulltext_for,
    looks_like_summary,
    text_length,
)
from newsmirror.ingest.fetch import Fetcher, FetchSettings
from newsmirror.ingest.rules import SiteRule, load_rules
from newsmirror.models import Entry, FetchResult

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from extract_corpora import part_of  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
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


def test_utf8_page_with_a_few_broken_bytes_stays_utf8() -> None:
    # As a browser reads it: one stray Latin-1 byte does not make the page Mac Roman.
    text = "Sprzeciw wobec ataków na Fundację – zażółć gęślą jaźń. " * 20
    body = f"<meta charset='utf-8'><p>{text}</p><p>caf\xe9</p>".encode("utf-8", "surrogateescape")
    body = body.replace(b"caf\xc3\xa9", b"caf\xe9")
    page = decode_page(body, None)
    assert text in page and "caf\ufffd" in page
    # A page in a single-byte charset that claims UTF-8 is not read as broken UTF-8.
    latin = ("Übergrößenträger fährt schön " * 20).encode("latin-1")
    assert "\ufffd" not in decode_page(b"<meta charset='utf-8'><p>" + latin + b"</p>", None)


def test_header_charset_that_lies_falls_back() -> None:
    body = "<p>中文内容，编码其实是 UTF-8。</p>".encode()
    assert "中文内容" in decode_page(body, "text/html; charset=ascii-lies")


# Development pages only (bench/extract_corpora.part_of): the test part is the bench's.
@pytest.mark.parametrize("name", ["pixnet", "gmw", "youth"])
def test_extract_article_on_real_chinese_pages(name: str) -> None:
    assert part_of(name) == "dev"
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


ZH_PARAGRAPHS = [
    "市政府昨天公布了新的城市更新计划，将在未来五年内改造老旧小区，增加公共绿地，并完善社区养老和托育服务。",
    "根据计划，全市将优先改造建成时间较早、设施老化的住宅小区，重点解决加装电梯、管网更新和停车难等问题。",
    "负责人表示，改造资金由财政补贴、企业投资和居民出资共同承担，具体方案将充分听取居民意见后再确定。",
    "专家认为，这一计划有助于提升居民生活质量，但也需要防止大拆大建，注意保护城市的历史风貌和街巷肌理。",
    "部分居民对计划表示欢迎，也有居民担心施工期间的噪音和出行不便，希望相关部门提前做好沟通和安排。",
    "计划还提出，将建立长效管理机制，鼓励居民参与社区治理，让改造后的小区既好看又好住，实现共建共享。",
]
# A Chinese news page laid out like many portals: an article wrapper holding a
# header (headline, source and time), the body, and a footer with the editor line.
ZH_PAGE = (
    "<html><head><meta charset='utf-8'><title>城市更新计划公布 五年改造老旧小区_新闻_示例网</title>"
    "</head><body><div class='header'><a href='/'>首页</a> <a href='/news'>新闻</a></div>"
    "<div class='main'><div class='left article'>"
    "<div class='top'><h1>城市更新计划公布 五年改造老旧小区</h1>"
    "<div class='info'><span class='source'>示例日报</span> <span>2024年3月1日08:30</span></div>"
    "</div><div class='box'><div class='line'></div><div id='text'>"
    + "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
    + "</div></div><div class='bottom'><div class='editor'>[责任编辑：王小明]</div>"
    "<div class='cmt'><a href='#'>我要评论(3)</a></div></div></div>"
    "<div class='right'><ul>"
    + "".join(f"<li><a href='/n/{i}'>热门新闻标题第{i}条，点击查看详情</a></li>" for i in range(12))
    + "</ul></div></div></body></html>"
)


def _text(html: str | None) -> str:
    assert html is not None
    return "".join(lxml.html.fragment_fromstring(html, create_parent="div").text_content().split())


def test_chinese_byline_and_editor_line_are_kept() -> None:
    text = _text(extract_article(ZH_PAGE, "https://news.example.cn/a/1.html"))
    assert all(p in text for p in ZH_PARAGRAPHS)
    # Short CJK lines next to the body: readability-lxml alone drops them (< 25 chars).
    assert "示例日报2024年3月1日08:30" in text
    assert "[责任编辑：王小明]" in text
    # The headline repeats the page title (the post has its own title); the sidebar is chrome.
    assert "城市更新计划公布" not in text
    assert "热门新闻" not in text and "首页" not in text


def _min_text_length(html: str) -> int:
    root = parse_page(html)
    assert root is not None
    drop_page_chrome(root)
    return min_text_length(page_blocks(root))


def test_min_text_length_follows_the_script() -> None:
    assert _min_text_length(ZH_PAGE) == CJK_MIN_TEXT
    assert _min_text_length(ARTICLE_PAGE) == LATIN_MIN_TEXT
    assert _min_text_length("<html><body></body></html>") == LATIN_MIN_TEXT


def test_chinese_commas_count_in_readability_scores() -> None:
    sentence = "第一句话，第二句话，第三句话，第四句话。"  # three full-width commas
    html = f"<html><body><div id='a'><p>{sentence * 2}</p></div></body></html>"

    def score_of_a(document: Document) -> float:
        scores = document.score_paragraphs()
        return next(v["content_score"] for k, v in scores.items() if k.get("id") == "a")

    ours = score_of_a(ReadabilityDocument(html, min_text_length=10))
    base = score_of_a(Document(html, min_text_length=10))
    assert ours - base == pytest.approx(6)


def test_in_page_links_weigh_less_in_link_density() -> None:
    url = "https://news.example.cn/a/1.html"
    html = (
        "<html><body><div id='d'><a href='#comments'>评论评论评论</a>正文正文正文正文正文正文正文"
        "</div><div id='e'><a href='https://other.example/x'>评论评论评论</a>正文正文正文正文正文正文正文"
        "</div></body></html>"
    )
    document = ReadabilityDocument(html, url=url)
    root = document._html(True)
    in_page, elsewhere = root.get_element_by_id("d"), root.get_element_by_id("e")
    assert document.get_link_density(elsewhere) == pytest.approx(6 / 20)
    assert document.get_link_density(in_page) == pytest.approx(0.3 * 6 / 20)
    # As readability.js: a bare "#" or the page's own address is an ordinary link.
    for href in ("#", url):
        div = lxml.html.fragment_fromstring(f"<div><a href='{href}'>评论评论评论</a>正文正文</div>")
        assert document.get_link_density(div) == pytest.approx(6 / 10)


@pytest.mark.parametrize(
    ("article", "title", "kept_heading"),
    [
        ("<h1>城市更新计划公布</h1><p>正文。</p>", "城市更新计划公布_新闻_示例网", False),
        ("<h2>Storm hits the coast</h2><p>Text.</p>", "Storm hits the coast | Example News", False),
        ("<h2>Background</h2><p>Text.</p>", "Storm hits the coast | Example News", True),
        # A heading after body text is a section title even if it echoes the title.
        ("<p>Text first.</p><h2>Storm hits the coast</h2>", "Storm hits the coast", True),
    ],
)
def test_heading_that_repeats_the_title_is_dropped(
    article: str, title: str, kept_heading: bool
) -> None:
    out = drop_title_heading(article, title)
    root = lxml.html.fragment_fromstring(out, create_parent="div")
    assert bool(root.xpath("//h1|//h2")) is kept_heading
    assert root.xpath("//p")


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
