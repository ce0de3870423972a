"""The site's settings: the `[site]` table of the archive's newsmirror.toml.

`site_config_from(table, path, archive)` validates a `[site]` table already
read (every command that loads settings can call it, so a bad value is
reported at load, not only at build); `load_site_config(archive)` reads the
file and calls it.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..models import ConfigError

UI_STRINGS: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "sources": "来源", "archive": "归档", "tags": "标签", "categories": "分类",
        "search": "搜索", "original": "阅读原文", "watch": "观看视频", "more_from": "更多来自",
        "newer": "较新的文章", "older": "较早的文章", "latest": "最新文章",
        "not_found": "找不到这个页面。", "results": "条结果", "no_results": "没有找到结果",
        "loading": "搜索中…", "feed": "订阅", "page": "第 {page} 页", "newest": "最新",
        "numbered": "页码按时间排，第 1 页最早", "posts": "{n} 篇", "last_post": "最近一篇",
        "tags_none": "标签都与来源同名，见来源页。", "cats_none": "分类都与来源同名，见来源页。",
        "footer_feed": "Atom 订阅源（供 RSS 阅读器使用）", "made_with": "由 newsmirror 生成",
        "search_hint": "简体、繁体都能搜到", "utc": "UTC",
    },
    "zh-Hant": {
        "sources": "來源", "archive": "歸檔", "tags": "標籤", "categories": "分類",
        "search": "搜尋", "original": "閱讀原文", "watch": "觀看影片", "more_from": "更多來自",
        "newer": "較新的文章", "older": "較早的文章", "latest": "最新文章",
        "not_found": "找不到這個頁面。", "results": "筆結果", "no_results": "沒有找到結果",
        "loading": "搜尋中…", "feed": "訂閱", "page": "第 {page} 頁", "newest": "最新",
        "numbered": "頁碼按時間排，第 1 頁最早", "posts": "{n} 篇", "last_post": "最近一篇",
        "tags_none": "標籤都與來源同名，見來源頁。", "cats_none": "分類都與來源同名，見來源頁。",
        "footer_feed": "Atom 訂閱源（供 RSS 閱讀器使用）", "made_with": "由 newsmirror 產生",
        "search_hint": "簡體、繁體都能搜到", "utc": "UTC",
    },
    "en": {
        "sources": "Sources", "archive": "Archive", "tags": "Tags", "categories": "Categories",
        "search": "Search", "original": "Read the original", "watch": "Watch the video",
        "more_from": "More from", "newer": "Newer posts", "older": "Older posts",
        "latest": "Latest posts", "not_found": "This page does not exist.",
        "results": "results", "no_results": "No results", "loading": "Searching…",
        "feed": "Subscribe", "page": "Page {page}", "newest": "newest",
        "numbered": "pages are numbered from the oldest", "posts": "{n} posts",
        "last_post": "latest", "tags_none": "Every tag is a source's name: see Sources.",
        "cats_none": "Every category is a source's name: see Sources.",
        "footer_feed": "Atom feed (for feed readers)", "made_with": "Made with newsmirror",
        "search_hint": "Simplified and traditional Chinese find the same posts", "utc": "UTC",
    },
}  # fmt: skip
# Other spellings of the interface languages, accepted as `lang` (case does not matter).
LANG_ALIASES = {
    "zh-hans": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-hans-cn": "zh-Hans",
    "zh": "zh-Hans", "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant", "zh-hant-tw": "zh-Hant", "zh-hant-hk": "zh-Hant", "en": "en",
    "en-us": "en", "en-gb": "en",
}  # fmt: skip
# Every [site] setting and one line of help (for generated docs: docs/configuration.md).
SITE_HELP = {
    "title": "the site's name, in every page's header (default: the archive folder's name)",
    "url": "the site's absolute URL, for feeds and the sitemap (default: relative links only)",
    "lang": "the interface language: zh-Hans, zh-Hant or en (zh-CN, zh-TW, zh-HK accepted)",
    "page_size": "posts per listing page, 5 to 500",
}
SITE_KEYS = tuple(SITE_HELP)


@dataclass(frozen=True)
class SiteConfig:
    title: str = "newsmirror"
    url: str = ""  # absolute site URL, for feeds and the sitemap; relative links otherwise
    lang: str = "zh-Hans"  # the interface language: zh-Hans, zh-Hant or en
    page_size: int = 30

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def site_lang(value: object, path: Path) -> str:
    """The interface language `value` names (zh-Hans, zh-Hant or en); ConfigError if none."""
    lang = LANG_ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if lang is None:
        raise ConfigError(path, f"[site] lang = {value!r} is not a language the site has; use "
                                f"{', '.join(UI_STRINGS)} (or zh-CN, zh-TW, zh-HK)")  # fmt: skip
    return lang


def site_config_from(table: object, path: Path, archive: Path) -> SiteConfig:
    """Validate a `[site]` table read from `path`; ConfigError names the bad setting."""
    if not isinstance(table, dict):
        raise ConfigError(path, "[site] must be a table")
    unknown = sorted(set(table) - set(SITE_KEYS))
    if unknown:
        raise ConfigError(path, f"[site]: unknown setting {unknown[0]!r} "
                                f"(settings: {', '.join(SITE_KEYS)})")  # fmt: skip
    title = table.get("title", archive.resolve().name or "newsmirror")
    url = table.get("url", "")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(path, "[site] title must be a non-empty string")
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        raise ConfigError(path, "[site] url must be an absolute http(s) URL, or left out")
    page_size = table.get("page_size", 30)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 5 <= page_size <= 500:
        raise ConfigError(path, "[site] page_size must be a whole number from 5 to 500")
    return SiteConfig(title=title.strip(), url=url.rstrip("/"),
                      lang=site_lang(table.get("lang", "zh-Hans"), path), page_size=page_size)  # fmt: skip


def load_site_config(archive: Path) -> SiteConfig:
    """Read `[site]` from `archive/newsmirror.toml`; defaults when absent."""
    path = archive / "newsmirror.toml"
    if not path.is_file():
        return SiteConfig(title=archive.resolve().name or "newsmirror")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(path, f"not valid TOML ({e})") from None
    return site_config_from(data.get("site", {}), path, archive)
