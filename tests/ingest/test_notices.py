"""Removal notices: notice pages are recognised, articles never are.

The corpus test runs the classifier, with the real extractor, over every
article page of ../shared/corpus/pages (readability's test pages and
trafilatura's evaluation pages). The thresholds in notices.py were set
looking at the development half only (pages whose path hashes even); the
other half is the held-out test part. Both must give no notice.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from conftest import SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.ingest.extract import decode_page, extract_article, text_of
from newsmirror.ingest.notices import removal_notice, token_count
from newsmirror.ingest.rules import load_rules

PAGES = SHARED / "corpus" / "pages"

# Notices as sites serve them (WeChat, Weibo, Zhihu, news sites, blogs).
ZH_HANS_NOTICES = [
    "该内容已被发布者删除",
    "此内容因违规无法查看",
    "此内容被多人投诉，相关的内容无法进行查看。",
    "抱歉，您访问的页面不存在",
    "该文章已被删除",
    "该微博已被作者删除",
    "文章不存在或已被删除",
    "该帖子已被管理员屏蔽",
    "很抱歉，您要找的页面走丢了",
    "由于涉嫌违反相关法律法规和政策，此内容已被屏蔽",
]
ZH_HANT_NOTICES = [
    "該內容已被發布者刪除",
    "此內容因違規無法查看",
    "抱歉，您訪問的頁面不存在",
    "此文章已下架",
    "找不到網頁",
    "該影片已被移除",
]
EN_NOTICES = [
    "This article has been removed.",
    "Sorry, the page you are looking for could not be found.",
    "Page not found",
    "This story has been taken down at the request of the publisher.",
    "404 - Page Not Found",
    "The content you requested is no longer available.",
    "This video has been removed for violating our community guidelines.",
]
ALL_NOTICES = ZH_HANS_NOTICES + ZH_HANT_NOTICES + EN_NOTICES


def page(body: str, title: str = "新闻网") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body>{body}</body></html>"
    )


def chrome(links: list[str], footer: str) -> tuple[str, str]:
    nav = "<header><nav>" + "".join(f"<a href='/{i}'>{t}</a>" for i, t in enumerate(links))
    return nav + "</nav></header>", f"<footer><p>{footer}</p></footer>"


def article_text(html: str, url: str = "https://news.example/a/1") -> str:
    return text_of(extract_article(html, url))


@pytest.mark.parametrize("notice", ALL_NOTICES)
def test_each_notice_is_recognised_among_page_chrome(notice):
    head, foot = chrome(["首页", "国际", "财经", "Sports", "Opinion"], "© 2026 新闻网 版权所有")
    html = page(f"{head}<main><div class='msg'><h2>{notice}</h2><a href='/'>返回首页</a></div></main>{foot}")
    found = removal_notice(html, lambda: article_text(html))
    assert found is not None, notice


def test_a_notice_in_the_title_counts_when_the_page_has_no_article():
    html = page("<div id='app'><a href='/'>Home</a></div>", title="404 Not Found | Example News")
    found = removal_notice(html, "")
    assert found is not None and "title" in found.evidence


def test_an_article_quoting_a_notice_is_not_a_notice():
    paragraphs = "".join(
        f"<p>第{i}段：记者调查发现，多篇报道在发布数小时后被删除，读者只能看到一行提示，"
        "有关部门没有回应置评请求，平台的审核规则也未公开说明。</p>"
        for i in range(8)
    )
    quote = "<p>点开链接，页面只显示“该内容已被发布者删除”，评论区也随之消失。</p>"
    html = page(f"<article><h1>被删除的文章</h1>{paragraphs}{quote}</article>")
    assert token_count(article_text(html)) > 200
    assert removal_notice(html, lambda: article_text(html)) is None


def test_a_short_page_without_a_notice_phrase_is_not_a_notice():
    html = page("<article><p>今日无更新。</p></article>")
    assert removal_notice(html, lambda: article_text(html)) is None


def test_the_extractor_is_not_run_on_a_page_without_any_notice_phrase():
    calls = []

    def extract() -> str:
        calls.append(1)
        return ""

    assert removal_notice(page("<p>一篇普通的短文。</p>"), extract) is None
    assert calls == []


def test_site_rules_catch_a_notice_the_generic_phrases_miss():
    rules = load_rules([{"host": "news.example", "removed_text": ["此文已被河蟹"]}])
    html = page("<div class='tip'>此文已被河蟹</div>")
    rule = rules.rule_for("https://news.example/a/1")
    assert removal_notice(html, "", None) is None
    found = removal_notice(html, "", rule)
    assert found is not None and "news.example rule" in found.evidence


def test_the_shipped_wechat_rule_sees_its_notice_element():
    rule = load_rules([]).rule_for("https://mp.weixin.qq.com/s/abcdef")
    html = page("<div class='weui-msg'><h2 class='weui-msg__title'>内容无法查看</h2></div>")
    found = removal_notice(html, "", rule)
    assert found is not None and "weui-msg__title" in found.evidence


def test_a_site_rule_element_on_a_long_article_does_not_count():
    rule = load_rules([]).rule_for("https://mp.weixin.qq.com/s/abcdef")
    body = "<p>" + "正文内容。" * 200 + "</p>"
    html = page(f"<div id='js_content'>{body}</div><div class='global_error_msg'>提示</div>")
    assert removal_notice(html, lambda: article_text(html, "https://mp.weixin.qq.com/s/a"), rule) is None


# --- the shared page corpus -------------------------------------------------


def corpus_pages() -> list[Path]:
    readability = sorted((PAGES / "readability" / "test" / "test-pages").glob("*/source.html"))
    trafilatura = sorted((PAGES / "trafilatura-eval" / "tests" / "eval").glob("*.html"))
    return readability + trafilatura


def split_of(path: Path) -> str:
    """dev (thresholds looked at) or test (held out), by a hash of the path."""
    digest = hashlib.sha1(str(path.relative_to(PAGES)).encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def classify_file(path: Path) -> tuple[str, str | None]:
    html = decode_page(path.read_bytes(), None)

    def extracted() -> str:
        try:
            return text_of(extract_article(html, "https://example.org/article"))
        except Exception:  # noqa: BLE001 - the extractor fails on a few pages; no text then
            return ""

    found = removal_notice(html, extracted)
    return str(path.relative_to(PAGES)), found.evidence if found else None


@pytest.mark.slow
def test_no_article_in_the_shared_page_corpus_is_a_removal_notice():
    pages = corpus_pages()
    assert len(pages) > 1000, "the shared page corpus is missing"
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(classify_file, pages, chunksize=16))
    wrong = {split: [r for r in results if r[1] and split_of(PAGES / r[0]) == split]
             for split in ("dev", "test")}  # fmt: skip
    assert wrong == {"dev": [], "test": []}


# --- hypothesis: notice pages and article pages ------------------------------


@cache
def long_articles() -> list[str]:
    """Article pages of the corpus's dev split with a long extracted text: the
    Chinese ones and a spread of the others."""
    dev = [p for p in corpus_pages() if split_of(p) == "dev"]
    cjk = [p for p in dev if any(k in str(p) for k in ("pixnet", "yahoo", "qq", "sina", ".cn", ".tw"))]
    sample = cjk + dev[:: max(1, len(dev) // 24)]
    chosen = []
    for path in sample:
        html = decode_page(path.read_bytes(), None)
        try:
            long_enough = token_count(article_text(html)) > 300 and "</p>" in html
        except Exception:  # noqa: BLE001 - the extractor fails on a few pages
            long_enough = False
        if long_enough:
            chosen.append(html)
    return chosen


NAV_WORDS = ["首页", "新闻", "國際", "财经", "體育", "Home", "World", "Business", "登录", "订阅"]


@st.composite
def notice_pages(draw: st.DrawFn) -> str:
    notice = draw(st.sampled_from(ALL_NOTICES))
    links = draw(st.lists(st.sampled_from(NAV_WORDS), min_size=0, max_size=12))
    footer = draw(st.sampled_from(["© 2026 新闻网", "關於我們 | 聯絡我們", "Privacy · Terms", ""]))
    head, foot = chrome(links, footer)
    wrap = draw(st.sampled_from(["<div class='error'>{}</div>", "<main><p>{}</p></main>",
                                 "<section><h1>{}</h1><a href='/'>返回首页</a></section>"]))  # fmt: skip
    title = draw(st.sampled_from(["新闻网", "微信公众平台", notice[:20], "Example News"]))
    return page(head + wrap.format(notice) + foot, title=title)


@st.composite
def articles_quoting_notices(draw: st.DrawFn) -> str:
    html = draw(st.sampled_from(long_articles()))
    notice = draw(st.sampled_from(ALL_NOTICES))
    where = draw(st.sampled_from(["title", "paragraph", "both"]))
    if where in ("paragraph", "both"):
        marks = [i for i in range(len(html)) if html.startswith("</p>", i)]
        cut = marks[draw(st.integers(0, len(marks) - 1))]
        html = html[:cut] + f" “{notice}”" + html[cut:]
    if where in ("title", "both"):
        html = html.replace("<title>", f"<title>{notice} - ", 1)
    return html


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notice_pages())
def test_notice_pages_are_notices(html):
    assert removal_notice(html, lambda: article_text(html)) is not None


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles_quoting_notices())
def test_articles_quoting_a_notice_are_never_notices(html):
    assert removal_notice(html, lambda: article_text(html)) is None


def test_the_hypothesis_articles_are_long_articles():
    assert len(long_articles()) >= 15


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"host": "x.org", "removed_text": [""]}, "removed_text must be a list of non-empty phrases"),
        ({"host": "x.org", "removed_text": 3}, "removed_text must be a list"),
        ({"host": "x.org", "removed_selector": ["div[["]}, "removed_selector selector 'div[['"),
    ],
)
def test_bad_notice_rules_are_one_line_errors(rule, message):
    from newsmirror.models import ConfigError

    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_rules([rule])
