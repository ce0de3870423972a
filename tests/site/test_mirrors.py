"""The mirror list: mirrors.html and mirrors.json from the config, a footer on
every page that links to it and names the mirrors, re-rendered when the list changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lxml.html
from test_site import GOLDEN, internal_targets

from newsmirror.site import build_site

CONFIG = """[site]
title = "镜像测试"
url = "https://mirror.example.org/news"

[[publish.remotes]]
name = "github"
url = "git@github.com:me/news.git"
base_url = "https://me.github.io/news/"

[[publish.remotes]]
name = "codeberg"
url = "https://codeberg.org/me/news.git"
content = "site"
base_url = "https://me.codeberg.page/news/"

[[publish.remotes]]
name = "backup"
url = "/srv/backup.git"
"""


def archive_with(tmp_path: Path, config: str) -> Path:
    archive = tmp_path / "archive"
    (archive / "_posts").mkdir(parents=True)
    for p in GOLDEN[:6]:
        shutil.copy(p, archive / "_posts" / p.name)
    (archive / "newsmirror.toml").write_text(config, encoding="utf-8")
    return archive


def footer_mirrors(page: Path) -> list[str]:
    doc = lxml.html.fromstring(page.read_bytes())
    return [a.get("href") for a in doc.xpath("//footer//a[@class='mirror']")]


def test_every_build_lists_the_mirrors_and_every_page_links_to_them(tmp_path: Path) -> None:
    archive = archive_with(tmp_path, CONFIG)
    build_site(archive)
    site = archive / "_site"
    data = json.loads((site / "mirrors.json").read_text(encoding="utf-8"))
    assert data == {"title": "镜像测试", "mirrors": [
        {"name": "site", "url": "https://mirror.example.org/news/"},
        {"name": "github", "url": "https://me.github.io/news/"},
        {"name": "codeberg", "url": "https://me.codeberg.page/news/"}]}  # fmt: skip
    mirrors_page = lxml.html.fromstring((site / "mirrors.html").read_bytes())
    listed = [a.get("href") for a in mirrors_page.xpath("//ul[@class='mirrors']//a")]
    assert listed == [m["url"] for m in data["mirrors"]]
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        links = dict(internal_targets(page))
        to_list = [t for link, t in links.items() if link.endswith("mirrors.html")]
        assert to_list == [(site / "mirrors.html").resolve()], page
        assert footer_mirrors(page) == [m["url"] for m in data["mirrors"]], page


def test_a_changed_list_re_renders_the_pages(tmp_path: Path) -> None:
    archive = archive_with(tmp_path, CONFIG)
    build_site(archive)
    page = next((archive / "_site" / "posts").rglob("*.html"))
    (archive / "newsmirror.toml").write_text(
        CONFIG.replace("https://me.codeberg.page/news/", "https://news.example.net/"),
        encoding="utf-8",
    )
    build_site(archive)
    assert "https://news.example.net/" in footer_mirrors(page)
    assert "news.example.net" in (archive / "_site" / "mirrors.json").read_text()


def test_without_mirrors_the_page_says_so(tmp_path: Path) -> None:
    archive = archive_with(tmp_path, '[site]\nlang = "en"\n')
    build_site(archive)
    text = (archive / "_site" / "mirrors.html").read_text(encoding="utf-8")
    assert "This archive lists no other addresses." in text
    assert json.loads((archive / "_site" / "mirrors.json").read_text())["mirrors"] == []
    assert footer_mirrors(archive / "_site" / "index.html") == []
