"""The site's settings: the `[site]` table of the archive's newsmirror.toml."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..archive.config import CONFIG_FILE, check_table, definitions, read_config
from ..archive.remotes import load_remotes, site_mirrors
from ..models import ConfigError, setting
from ..util.urls import is_http_url

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
        "mirrors": "镜像", "mirrors_intro": "这个地址打不开时，可以试试下面的其他地址。",
        "no_mirrors": "这个存档没有列出其他地址。",
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
        "mirrors": "鏡像", "mirrors_intro": "這個地址打不開時，可以試試下面的其他地址。",
        "no_mirrors": "這個存檔沒有列出其他地址。",
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
        "mirrors": "Mirrors", "mirrors_intro": "If this address is blocked, try another one below.",
        "no_mirrors": "This archive lists no other addresses.",
    },
}  # fmt: skip


DEFAULT_TITLE = "My mirror"


@dataclass(frozen=True)
class SiteConfig:
    title: str = setting(DEFAULT_TITLE, "the site's name, on every page and in its feed")
    url: str = setting(
        "", "the site's absolute URL (https://...), for its feed and sitemap; empty: relative links"
    )
    lang: str = setting(
        "zh-Hans", "the interface language: zh-Hans, zh-Hant or en", choices=tuple(UI_STRINGS)
    )
    page_size: int = setting(30, "posts per list page", minimum=5, maximum=500)
    # (name, base URL) of the places the site is served: [site] url, then the
    # base_url of each [[publish.remotes]]; every page's footer lists them (not a setting).
    mirrors: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# The [site] table of newsmirror.toml, for validation and docs/configuration.md.
SITE_SETTINGS = definitions("site", "site", SiteConfig)


def load_site_config(archive: Path) -> SiteConfig:
    """Read and check `[site]` of `archive/newsmirror.toml`; defaults when absent.
    The mirror list comes from `[site] url` and the remotes' `base_url`."""
    path = archive / CONFIG_FILE
    values = check_table(path, "[site]", read_config(archive).get("site", {}), SITE_SETTINGS)
    url = values.get("url", "")
    if url and not is_http_url(url):
        raise ConfigError(path, f"[site]: url must be an http(s) URL or empty, got {url!r}")
    values["url"] = url.rstrip("/")
    mirrors = _with_own_url(values["url"], site_mirrors(load_remotes(archive)))
    return SiteConfig(**values, mirrors=tuple(mirrors))


def _with_own_url(url: str, mirrors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The site's own URL first, unless a remote lists it already."""
    if not url or any(m.rstrip("/") == url for _, m in mirrors):
        return mirrors
    return [("site", url + "/"), *mirrors]
