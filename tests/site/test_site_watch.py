"""The site shows what re-checking found: badges, the deleted posts' page and
Atom feed, revisions with both texts and a diff, filters on source pages;
every link relative (file://). The archive is made for real: feeds and
article pages on 127.0.0.1, `newsmirror run`, then `newsmirror recheck`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from lxml import etree, html
from originals import HTML, PARAGRAPHS, Site, notice_page
from test_site import internal_targets

import newsmirror
from newsmirror.site.watch import diff_html

EDITED = PARAGRAPHS[:2] + ["编者按：本文部分内容已根据有关方面要求修改。"] + PARAGRAPHS[3:]


def recheck(archive: Path) -> None:
    newsmirror.recheck(archive, newsmirror.RecheckOptions(confirm_after=0, everything=True))


def set_lang(archive: Path, lang: str) -> None:
    toml = archive / "newsmirror.toml"
    toml.write_text(toml.read_text() + f'\n[site]\nlang = "{lang}"\n', encoding="utf-8")


@pytest.fixture
def watched(server, archive) -> Site:
    """Post 1's original deleted (a notice), post 2's edited, post 0 untouched."""
    site = Site(server, archive, n=3)
    site.ingest()
    recheck(archive)
    site.server.route(site.path(1), notice_page("该内容已被发布者删除"), headers=HTML)
    site.serve(2, EDITED, etag='"v2-2"')
    recheck(archive)
    recheck(archive)
    return site


def page_of(site: Site, i: int) -> Path:
    out = site.archive / "_site"
    [found] = [p for p in (out / "posts").rglob("*.html")
               if f"<h1>第{i}条新闻</h1>" in p.read_text("utf-8")]  # fmt: skip
    return found


def text_of(path: Path) -> str:
    return " ".join(html.fromstring(path.read_text(encoding="utf-8")).text_content().split())


def test_a_deleted_post_has_a_badge_with_the_day_and_when_it_was_last_seen(watched):
    newsmirror.build_site(watched.archive)
    deleted_day = watched.marks()[1][:10]
    page = text_of(page_of(watched, 1))
    assert f"原文已删除 · {deleted_day}" in page
    assert "最后一次看到原文" in page
    assert "原文已删除 ·" not in text_of(page_of(watched, 0))


def test_the_deleted_posts_page_and_its_atom_feed(watched):
    newsmirror.build_site(watched.archive)
    out = watched.archive / "_site"
    listing = (out / "deleted" / "index.html").read_text(encoding="utf-8")
    assert "第1条新闻" in listing and "第0条新闻" not in listing and "第2条新闻" not in listing
    feed = etree.fromstring((out / "deleted" / "feed.xml").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = feed.xpath("//a:entry/a:title/text()", namespaces=ns)
    assert titles == ["第1条新闻"]
    [link] = feed.xpath("//a:entry/a:link[@rel='alternate']/@href", namespaces=ns)
    assert (out / "deleted" / unquote(link)).resolve() == page_of(watched, 1).resolve()
    assert feed.xpath("//a:entry/a:updated/text()", namespaces=ns) == [watched.marks()[1]]
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="deleted/index.html"' in home  # reachable from every page


def test_an_edited_post_lists_its_revisions_and_the_diff_shows_both_texts(watched):
    newsmirror.build_site(watched.archive)
    post = page_of(watched, 2)
    tree = html.fromstring(post.read_text(encoding="utf-8"))
    revisions = tree.cssselect("ol.revisions li")
    assert len(revisions) == 2
    [link] = {a.get("href").split("#")[0] for a in tree.cssselect("ol.revisions a")}
    page = (post.parent / unquote(link)).resolve()
    rtree = html.fromstring(page.read_text(encoding="utf-8"))
    versions = rtree.cssselect("section.version")
    assert len(versions) == 2
    assert "编者按" in versions[0].text_content() and "居民代表说" in versions[1].text_content()
    [diff] = rtree.cssselect("section.diff")
    assert "编者按" in "".join(i.text_content() for i in diff.cssselect("ins"))
    assert "居民代表说" in "".join(d.text_content() for d in diff.cssselect("del"))


def test_source_pages_filter_deleted_and_edited_posts(watched):
    newsmirror.build_site(watched.archive)
    out = watched.archive / "_site"
    [source] = list((out / "sources").glob("*/index.html"))
    tree = html.fromstring(source.read_text(encoding="utf-8"))
    links = {a.text_content(): a.get("href") for a in tree.cssselect("nav.filters a")}
    assert set(links) == {"全部", "原文已删除", "原文已修改"}
    deleted = (source.parent / unquote(links["原文已删除"])).read_text(encoding="utf-8")
    edited = (source.parent / unquote(links["原文已修改"])).read_text(encoding="utf-8")
    assert "第1条新闻" in deleted and "第2条新闻" not in deleted
    assert "第2条新闻" in edited and "第1条新闻" not in edited


def test_every_link_works_from_disk(watched):
    newsmirror.build_site(watched.archive)
    out = watched.archive / "_site"
    pages = [*out.glob("deleted/*.html"), *out.rglob("revisions/**/*.html"),
             *out.glob("sources/*/*.html"), page_of(watched, 1), page_of(watched, 2)]  # fmt: skip
    assert len(pages) >= 6
    for page in pages:
        for link, target in internal_targets(page):
            assert target.is_file(), f"{page}: broken link {link}"


@pytest.mark.parametrize(("lang", "badge"), [("zh-Hant", "原文已刪除"), ("en", "Original deleted")])
def test_the_badge_speaks_the_sites_language(watched, lang, badge):
    set_lang(watched.archive, lang)
    newsmirror.build_site(watched.archive)
    assert f"{badge} · {watched.marks()[1][:10]}" in text_of(page_of(watched, 1))


def test_an_incremental_build_follows_a_return(watched):
    newsmirror.build_site(watched.archive)
    watched.serve(1, PARAGRAPHS, etag='"v1-1"')
    recheck(watched.archive)
    assert watched.marks()[1] is None
    report = newsmirror.build_site(watched.archive)
    assert report.pages_written > 0
    assert "原文已删除 ·" not in text_of(page_of(watched, 1))
    listing = (watched.archive / "_site" / "deleted" / "index.html").read_text(encoding="utf-8")
    assert "第1条新闻" not in listing


def test_the_diff_is_by_character_for_cjk_and_by_word_for_latin():
    cjk = diff_html("市政府宣布了新的方案。", "市政府撤回了新的方案。")
    assert "<del>宣布</del><ins>撤回</ins>" in cjk
    latin = diff_html("The minister said the plan was final.", "The minister said the plan was withdrawn.")
    assert "<del>final</del><ins>withdrawn</ins>" in latin
    numbers = diff_html("死亡人数为3人，其中两人重伤。", "死亡人数为30人，其中五人重伤。")
    assert "<del>3</del><ins>30</ins>人" in numbers and "<del>两</del><ins>五</ins>" in numbers
    rewritten = diff_html("居民代表说，他们此前已经多次递交材料。", "编者按：本文已修改。")
    assert rewritten == "<p><del>居民代表说，他们此前已经多次递交材料。</del><ins>编者按：本文已修改。</ins></p>"
    assert "<del>" not in diff_html("same\ntext", "same\ntext")
    assert "&lt;script&gt;" in diff_html("a", "<script>")


def test_the_reader_reads_a_marked_post_as_the_same_post(tmp_path):
    from datetime import UTC, datetime

    from test_site import GOLDEN

    from newsmirror.archive.postmarks import set_deleted, set_mark
    from newsmirror.site.reader import parse_front_matter, read_post, split_front_matter

    path = tmp_path / GOLDEN[0].name
    path.write_bytes(GOLDEN[0].read_bytes())
    before = read_post(path)
    set_mark(path, "edited", datetime(2026, 11, 29, tzinfo=UTC))
    set_deleted(path, datetime(2026, 11, 30, tzinfo=UTC))
    after = read_post(path)
    assert after == before
    front, _ = split_front_matter(path.read_text(encoding="utf-8"))
    assert parse_front_matter(front)["title"] == before[0].title
