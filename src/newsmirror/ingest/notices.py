"""Removal notices: the page a site serves, often with HTTP 200, where an
article was deleted or censored ("该内容已被发布者删除", "此內容因違規無法查看",
"This article has been removed", "Page not found").

A notice is recognised by two things together: a notice phrase (generic ones
below, in simplified and traditional Chinese and English, or a site rule's
`removed_text` / `removed_selector`) in the page's title or main text, AND no
article on the page: its extracted text is short. An article that quotes a
notice ("微信文章显示“该内容已被发布者删除”") has a long text and is never a
notice; a short article page without a notice phrase is never one either.
Missing a notice is the safe mistake (the post simply stays "alive"); calling a
live article deleted is the one this module is built to avoid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html
from lxml import etree

from ..util.scriptfold import fold
from ..util.text import TOKEN_CJK, char_class
from .rules import SiteRule

# An article with more tokens (words, single CJK characters) than this is an
# article, whatever phrase it holds. Notice pages measured while writing this:
# 5 to 40 tokens; the shortest article in the readability corpus has ~90.
MAX_NOTICE_TOKENS = 80
# Page text outside the chrome (nav, header, footer, aside, forms) that is
# longer than this is a page with content, even when the extractor found none.
MAX_NOTICE_PAGE_TOKENS = 250

_TOKEN = re.compile(rf"[{char_class(TOKEN_CJK)}]|[^\W_]+")  # as extraction counts tokens

# Written in simplified script: pages are folded to it first (normalise), so
# that one list of patterns covers both scripts.
_ZH_OBJECT = "(?:文章|内容|帖子|贴文|页面|网页|微博|回答|条目|视频|影片|动态|笔记|日志|日记|作品|新闻|资讯|报道|报导|信息|消息|帐号|账号)"
_ZH_REMOVED = "(?:删除|屏蔽|下架|移除|撤下|撤回|隐藏|封禁|关闭)"

GENERIC_NOTICES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Chinese (traditional is mapped to simplified first).
        rf"(?:该|此|本|这[篇个条]?){_ZH_OBJECT}(?:已经?|已)?(?:被)?(?:作者|发布者|发布人|管理员|用户|博主|版主|原作者)?{_ZH_REMOVED}",
        rf"{_ZH_OBJECT}(?:已经?|已)(?:被)?(?:作者|发布者|管理员|用户|博主)?{_ZH_REMOVED}",
        rf"{_ZH_OBJECT}(?:不存在|已失效|已过期|无法(?:查看|显示|访问|打开))",
        rf"(?:您|你)(?:所|要|想)?(?:访问|请求|查看|浏览|查找|找)的{_ZH_OBJECT}(?:不存在|已经?被?删除|已下线|已下架|找不到|无法(?:访问|显示))",
        r"(?:因|由于|涉嫌)(?:违规|违反(?:相关)?(?:法律|法规|规定|政策|社区公约|用户协议))",
        r"找不到(?:该|此|这个|您要的|你要的|相关)?(?:页面|网页|文章|内容)",
        r"(?:页面|网页)(?:未找到|走丢了|飞走了|去火星了|不见了)",
        r"被多人投诉",
        # English.
        r"(?<![a-z])(?:this|the) (?:article|story|post|page|content|video|item|entry|tweet)s? (?:has|have|was|were) (?:been )?(?:removed|deleted|taken down|unpublished|withdrawn|retracted)",
        r"(?<![a-z])(?:page|article|story|post|content|document) (?:was )?not found(?![a-z])",
        r"(?<![a-z])(?:page|article|story|post|content) (?:you|you're|you are) (?:were |are )?(?:looking for|requested|trying to (?:reach|view|access|find))",
        r"(?<![a-z])(?:could not|couldn't|can't|cannot|can not|unable to) (?:be )?find (?:the|that|this) (?:page|article|story|post|content)",
        r"(?<![a-z])(?:article|story|post|page|content|video|item|link)s? (?:\w+ ){0,4}(?:is|are|has been) no longer (?:available|accessible|online)(?![a-z])",
        r"(?<!\d)(?:404|410)(?!\d).{0,20}(?<![a-z])(?:error|not found|gone)(?![a-z])|(?<![a-z])error\W{0,3}(?:404|410)(?!\d)",
        r"(?<![a-z])(?:removed|deleted|taken down) (?:at the request of|for violating|due to (?:a )?(?:legal|copyright|violation))",
        r"(?<![a-z])content (?:is )?(?:unavailable|not available)(?![a-z])",
        r"(?<![a-z])this (?:page|content|article) (?:isn't|is not|is no longer) available(?![a-z])",
    )
)

_CHROME = (
    "nav", "header", "footer", "aside", "form", "menu", "[role=navigation]",
    "[role=banner]", "[role=contentinfo]", "[role=complementary]",
)  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """Why a page is a removal notice: the phrase or selector, and where it was."""

    evidence: str  # e.g. 'removal notice in the title: "404 Not Found"'


def removal_notice(
    page: str | lxml.html.HtmlElement | None,
    article_text: str | Callable[[], str | None] | None,
    rule: SiteRule | None = None,
) -> Notice | None:
    """Is `page` (HTML) a removal notice? `article_text` is the text the
    extractor finds on it (None or "" when none), or a function giving it: it
    is called only when the page holds a notice phrase at all. Never raises."""
    root = _root(page)
    if root is None:
        return None
    title = _title(root)
    main = _main_text(root)
    by_rule = _site_rule_match(root, title, main, rule) if rule is not None else ""
    if not by_rule and not notice_phrase(title) and not notice_phrase(main):
        return None  # nearly every page ends here, without extracting anything
    text = article_text() if callable(article_text) else article_text
    if text and token_count(text) > MAX_NOTICE_TOKENS:
        return None  # an article, whatever it quotes
    if not text and token_count(main) > MAX_NOTICE_PAGE_TOKENS:
        return None  # a page of content the extractor could not place
    if by_rule and (not text or _site_rule_match(root, title, text, rule)):  # type: ignore[arg-type]
        return Notice(by_rule)
    for where, body in (("title", title), ("text", text or main)):
        phrase = notice_phrase(body)
        if phrase:
            return Notice(f'removal notice in the {where}: "{phrase}"')
    return None


def notice_phrase(text: str | None) -> str | None:
    """The first generic notice phrase in `text`, as it appears there."""
    if not text:
        return None
    folded = normalise(text)
    for pattern in GENERIC_NOTICES:
        match = pattern.search(folded)
        if match:
            return match.group(0)
    return None


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits), folded to simplified script (the
    phrases are written in it), whitespace collapsed."""
    text = fold(unicodedata.normalize("NFKC", text))
    return re.sub(r"\s+", " ", text).strip()


def token_count(text: str | None) -> int:
    """Words of Latin text plus single CJK characters."""
    return len(_TOKEN.findall(text or ""))


def _site_rule_match(root: lxml.html.HtmlElement, title: str, text: str, rule: SiteRule) -> str:
    for selector in rule.removed_selector:
        try:
            found = root.cssselect(selector)
        except Exception:  # noqa: BLE001 - a rule's selector was checked when loaded
            continue
        for el in found:
            shown = " ".join(el.text_content().split())
            if shown:
                return f'removal notice ({rule.host} rule, {selector}): "{shown[:80]}"'
    folded = normalise(f"{title} {text}")
    for phrase in rule.removed_text:
        if normalise(phrase) in folded:
            return f'removal notice ({rule.host} rule): "{phrase}"'
    return ""


def _root(page: str | lxml.html.HtmlElement | None) -> lxml.html.HtmlElement | None:
    if page is None:
        return None
    if not isinstance(page, str):
        return page
    if not page.strip():
        return None
    try:
        return lxml.html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        return None


def _title(root: lxml.html.HtmlElement) -> str:
    for content in root.xpath("//meta[@property='og:title']/@content"):
        if str(content).strip():
            return str(content).strip()
    return " ".join((root.findtext(".//title") or "").split())


def _main_text(root: lxml.html.HtmlElement) -> str:
    """The body's visible text without scripts, styles and page chrome.
    Works on a copy: the caller's tree is left as it was."""
    body = root.find("body")
    tree = lxml.html.fromstring(lxml.html.tostring(body if body is not None else root))
    for el in list(tree.iter("script", "style", "template", "noscript")):
        el.drop_tree()
    for selector in _CHROME:
        for el in tree.cssselect(selector):
            if el.getparent() is not None:
                el.drop_tree()
    return " ".join(tree.text_content().split())
