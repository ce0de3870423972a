"""The site's settings: the `[site]` table of the archive's newsmirror.toml."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..archive.remotes import load_remotes, site_mirrors
from ..models import ConfigError

UI_STRINGS: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "sources": "来源", "archive": "归档", "tags": "标签", "categories": "分类",
        "search": "搜索", "original": "阅读原文", "watch": "观看视频", "more_from": "更多来自",
        "newer": "较新", "older": "较早", "latest": "最新文章", "not_found": "找不到这个页面。",
        "results": "条结果", "no_results": "没有找到结果", "loading": "搜索中…",
        "mirrors": "镜像", "mirrors_intro": "这个地址打不开时，可以试试下面的其他地址。",
        "no_mirrors": "这个存档没有列出其他地址。",
    },
    "zh-Hant": {
        "sources": "來源", "archive": "歸檔", "tags": "標籤", "categories": "分類",
        "search": "搜尋", "original": "閱讀原文", "watch": "觀看影片", "more_from": "更多來自",
        "newer": "較新", "older": "較早", "latest": "最新文章", "not_found": "找不到這個頁面。",
        "results": "筆結果", "no_results": "沒有找到結果", "loading": "搜尋中…",
        "mirrors": "鏡像", "mirrors_intro": "這個地址打不開時，可以試試下面的其他地址。",
        "no_mirrors": "這個存檔沒有列出其他地址。",
    },
    "en": {
        "sources": "Sources", "archive": "Archive", "tags": "Tags", "categories": "Categories",
        "search": "Search", "original": "Read the original", "watch": "Watch the video",
        "more_from": "More from", "newer": "Newer", "older": "Older", "latest": "Latest posts",
        "not_found": "This page does not exist.", "results": "results",
        "no_results": "No results", "loading": "Searching…",
        "mirrors": "Mirrors", "mirrors_intro": "If this address is blocked, try another one below.",
        "no_mirrors": "This archive lists no other addresses.",
    },
}  # fmt: skip


@dataclass(frozen=True)
class SiteConfig:
    title: str = "newsmirror"
    url: str = ""  # absolute site URL, for feeds and the sitemap; relative links otherwise
    lang: str = "zh-Hans"  # the interface language: zh-Hans, zh-Hant or en
    page_size: int = 30
    # (name, base URL) of the places the site is served: [site] url, then the
    # base_url of each [[publish.remotes]]; every page's footer lists them.
    mirrors: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def load_site_config(archive: Path) -> SiteConfig:
    """Read `[site]` from `archive/newsmirror.toml`; defaults when absent."""
    path = archive / "newsmirror.toml"
    if not path.is_file():
        return SiteConfig(title=archive.resolve().name or "newsmirror")
    mirrors = site_mirrors(load_remotes(archive))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("site", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(path, f"not valid TOML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "[site] must be a table")
    cfg = SiteConfig(
        title=str(data.get("title", archive.resolve().name or "newsmirror")),
        url=str(data.get("url", "")).rstrip("/"),
        lang=str(data.get("lang", "zh-Hans")),
        page_size=data.get("page_size", 30),
        mirrors=tuple(_with_own_url(str(data.get("url", "")).rstrip("/"), mirrors)),
    )
    if cfg.lang not in UI_STRINGS:
        raise ConfigError(path, f"[site] lang must be one of {', '.join(UI_STRINGS)}")
    if not isinstance(cfg.page_size, int) or not 5 <= cfg.page_size <= 500:
        raise ConfigError(path, "[site] page_size must be a whole number from 5 to 500")
    return cfg


def _with_own_url(url: str, mirrors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The site's own URL first, unless a remote lists it already."""
    if not url or any(m.rstrip("/") == url for _, m in mirrors):
        return mirrors
    return [("site", url + "/"), *mirrors]
