"""The static site builder on the golden posts plus hostile ones: reader, pages, links, search."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from newsmirror.site import BuildError, build_site
from newsmirror.site.reader import parse_front_matter, read_post
from newsmirror.site.render import clean_for_page
from newsmirror.site.search import post_terms
from newsmirror.site.textutil import (
    detect_lang,
    fnv1a,
    html_to_text,
    leading_text,
    nfkc,
    search_tokens,
    slugify,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
GOLDEN = sorted((SHARED / "golden").glob("*.md")) + sorted(
    (SHARED / "golden" / "variants").glob("*.md")
)
SEED = sorted((SHARED / "seed").glob("*.md"))

HOSTILE = {
    "2023-02-01-Back\\slash: title # 1.md": (
        '---\nlayout: post\ntitle: "Back\\slash \\d title"\ndate: 2023-02-01T01:02:03.000Z\n'
        "author: Name: With # colon, comma\nfrom: https://example.org/a?b=1\ntags: [ A, B: site ]\n"
        "categories: [ A, B: site ]\n---\n<!--NaN-->\n[x](https://example.org/a?b=1)\n------\n\n"
        '<div>\n<p>正文{{ liquid }}</p><script>alert(1)</script><img src="/assets/ab/abc.png" onerror="x()">'
        '<iframe src="https://evil.example/"></iframe>\n</div>\n'
    ),
    "2023-02-02-plain.md": "no front matter at all, just text 中文测试内容\n",
}


def make_archive(root: Path) -> Path:
    posts = root / "_posts"
    posts.mkdir(parents=True)
    for p in GOLDEN + SEED:
        shutil.copy(p, posts / p.name)
    for name, text in HOSTILE.items():
        (posts / name).write_text(text, encoding="utf-8")
    (root / "assets" / "ab").mkdir(parents=True)
    (root / "assets" / "ab" / "abc.png").write_bytes(b"\x89PNG fake")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = make_archive(tmp_path_factory.mktemp("site") / "archive")
    report = build_site(archive)
    assert report.posts == len(GOLDEN) + len(SEED) + len(HOSTILE)
    assert report.warnings == []
    return archive


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.langs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key) and not (tag == "a" and key == "src"):
                self.links.append(a[key] or "")
        if tag == "html":
            self.langs.append(a.get("lang") or "")


def internal_targets(page: Path) -> list[tuple[str, Path]]:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    out = []
    for link in parser.links:
        parts = urlsplit(link)
        if parts.scheme or link.startswith("//") or link.startswith("#"):
            continue
        assert not link.startswith("/"), f"{page}: root-absolute link {link}"
        out.append((link, (page.parent / unquote(parts.path)).resolve()))
    return out


def test_reader_accepts_every_golden_post() -> None:
    for path in GOLDEN + SEED:
        post, content = read_post(path)
        assert post.title and post.source and post.link.startswith("http"), path.name
        assert post.date.year >= 2020
    post, _ = read_post(next(p for p in GOLDEN if "混管阳" in p.name))
    assert post.title == '今天我被通知"混管阳"了，他们让我不动，但又不联系我【罗宾VLOG】'
    post, _ = read_post(next(p for p in GOLDEN if "&quot;" in p.name))
    assert post.title == '北约领导人呼吁韩国"加强"军援乌克兰力度'
    post, _ = read_post(next(p for p in GOLDEN if "小小只" in p.name))
    assert (post.author, post.source) == ("九歌Vlog", "九哥记")
    assert post.thumbnail == "https://i.ytimg.com/vi/ypCujsox6ws/hqdefault.jpg"
    post, _ = read_post(next(p for p in GOLDEN if "ChinaFile" in p.name))
    assert post.author == "Annie Jieping Zhang, Li Yuan & more"


def test_front_matter_yaml_cannot_parse_is_read_line_by_line() -> None:
    fm = HOSTILE["2023-02-01-Back\\slash: title # 1.md"].split("---\n")[1]
    data = parse_front_matter(fm)
    assert data["title"] == "Back\\slash \\d title"
    assert data["author"] == "Name: With # colon, comma"
    assert data["categories"] == ("A, B: site",)


def test_lang_slug_and_tokens() -> None:
    assert detect_lang("北約秘書長訪南韓 促增對烏克蘭軍援") == "zh-Hant"
    assert detect_lang("北约领导人呼吁韩国加强军援乌克兰力度") == "zh-Hans"
    assert detect_lang("China's Lies: Its History") == "en"
    slug = slugify('今天我被通知\\"混管阳"了: a/b?*|<>')
    assert not set(slug) & set('\\/:*?"<>|') and "混管阳" in slug
    assert slugify("CON") == "_CON" and slugify("...") == "post"
    assert {"清零", "共存", "openai"} <= search_tokens("清零or共存 OpenAI")
    assert fnv1a("清零") == 0x811C9DC5 ^ 0 or fnv1a("清零") != fnv1a("共存")


def test_every_post_has_a_page_with_its_parts(built: Path) -> None:
    site = built / "_site"
    pages = list((site / "posts").rglob("*.html"))
    assert len(pages) == len(GOLDEN) + len(SEED) + len(HOSTILE)
    video = next(p for p in pages if "小小只" in p.name).read_text()
    assert '<html lang="zh-Hans">' in video or 'lang="zh-Hans"' in video
    assert "九歌Vlog" in video and "hqdefault.jpg" in video
    assert 'class="original" href="https://www.youtube.com/watch?v=ypCujsox6ws"' in video
    trad = next(p for p in pages if "北約秘書長" in p.name).read_text()
    assert '<article lang="zh-Hant">' in trad
    same = next(p for p in pages if "OpenAI" in p.name).read_text()
    assert 'class="author"' not in same  # author == source: not repeated
    hostile = next(p for p in pages if "Back" in p.name).read_text()
    assert "<script" not in hostile.split("</header>")[1] and "onerror" not in hostile
    assert '<iframe src="https://evil.example/"' not in hostile and "{{ liquid }}" in hostile
    assert 'src="../../../assets/ab/abc.png"' in hostile
    assert (site / "assets/ab/abc.png").is_file()


def test_site_parts_exist_and_are_light(built: Path) -> None:
    site = built / "_site"
    for rel in ("index.html", "404.html", "feed.xml", "sitemap.xml", "search.html",
                "archive/index.html", "sources/index.html", "tags/index.html",
                "archive/2023/01.html"):  # fmt: skip
        assert (site / rel).is_file(), rel
    feeds = list((site / "sources").glob("*/feed.xml"))
    assert len(feeds) >= 10
    assert "<feed" in feeds[0].read_text()
    # What every page loads; the 繁/简 tables (opencc-*.js) load on a reader's first switch.
    css_js = sum(p.stat().st_size for p in (site / "static").iterdir()
                 if not p.name.startswith("opencc-"))  # fmt: skip
    assert css_js < 50_000


def test_link_checker_every_internal_link_resolves(built: Path) -> None:
    site = (built / "_site").resolve()
    pages = list(site.rglob("*.html"))
    assert len(pages) > 40
    checked = 0
    for page in pages:
        for link, target in internal_targets(page):
            assert target.is_file(), f"{page.relative_to(site)}: broken link {link}"
            checked += 1
    assert checked > 500


def search_py(site: Path, query: str) -> set[str]:
    """What static/search.js does, in Python: intersect the terms' postings per segment."""
    manifest = json.loads(re.search(r"=(\{.*\});", (site / "search/manifest.js").read_text())[1])
    terms = search_tokens(query)
    found: set[int] = set()
    for seg in manifest["segments"]:
        hit: set[int] | None = None
        for term in terms:
            shard = (site / f"search/{seg['name']}/{fnv1a(term) % seg['shards']}.js").read_text()
            data = json.loads(shard[shard.index("{") : shard.rindex("}") + 1])
            ids, last = set(), 0
            for i, g in enumerate(data.get(term, "").split(",") if term in data else []):
                last = last + int(g) if i else int(g)
                ids.add(last)
            hit = ids if hit is None else hit & ids
        found |= {i for i in hit or set() if seg["name"] != "main" or i not in manifest["tomb"]}
    urls = set()
    for pid in found:
        chunk = (site / f"search/docs/{pid // manifest['docChunk']}.js").read_text()
        rows = json.loads(chunk[chunk.index("[") : chunk.rindex("]") + 1])
        urls.add(rows[pid % manifest["docChunk"]][1])
    return urls


def test_search_index_finds_chinese(built: Path) -> None:
    site = built / "_site"
    hits = search_py(site, "混管阳")
    assert any("混管阳" in u for u in hits)
    assert any("梁白端" in u for u in search_py(site, "鼓楼分局"))  # body text, not title
    assert search_py(site, "不存在的词语组合") == set()


def test_search_delta_rolls_into_a_new_main_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past DELTA_MAX changed posts, the main segment is rebuilt from every post:
    those parsed in this build and the others, read again."""
    from newsmirror.site import search

    monkeypatch.setattr(search, "DELTA_MAX", 3)
    archive = make_archive(tmp_path / "a")
    build_site(archive)
    site = archive / "_site"
    words = ["甲乙", "丙丁", "戊己", "庚辛", "壬癸"]
    for i, word in enumerate(words):
        text = _post("S", "S", f"post{i}").replace(f"<p>post{i}</p>", f"<p>{word}之文</p>")
        (archive / "_posts" / f"2024-03-0{i + 1}-post{i}.md").write_text(text)
        build_site(archive)
        assert all(len(search_py(site, w)) == 1 for w in words[: i + 1])
        assert any("混管阳" in u for u in search_py(site, "混管阳"))  # an untouched post
    queries = words + ["混管阳", "鼓楼分局"]
    incremental = {q: search_py(site, q) for q in queries}
    build_site(archive, full=True)
    assert {q: search_py(site, q) for q in queries} == incremental


def test_incremental_rebuild_touches_only_what_changed(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a")
    build_site(archive)
    site = archive / "_site"
    unrelated = next((site / "posts").rglob("*myflightradar24*.html"))
    before = unrelated.stat().st_mtime_ns
    again = build_site(archive)
    assert again.pages_written == 0
    new = archive / "_posts" / "2025-01-01-新文章测试.md"
    new.write_text((SEED[0]).read_text().replace("北約秘書長訪南韓", "新文章测试標題"))
    inc = build_site(archive)
    assert 3 <= inc.pages_written < 100  # incl. the 64 small search delta shards
    assert unrelated.stat().st_mtime_ns == before
    assert "新文章测试標題" in (site / "index.html").read_text()
    assert any("新文章测试" in u for u in search_py(site, "新文章"))
    new.unlink()
    build_site(archive)
    assert not list((site / "posts").rglob("*新文章测试*"))
    assert search_py(site, "新文章") == set()
    (archive / "newsmirror.toml").write_text('[site]\ntitle = "Other"\n')
    full = build_site(archive)
    pages = list(site.rglob("*.html"))
    assert full.pages_written >= len(pages) > 40  # every page shows the site title
    assert all("Other" in p.read_text(encoding="utf-8") for p in pages)


def test_sitemap_and_feeds_use_the_configured_site_url(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    archive = make_archive(tmp_path / "archive")
    (archive / "newsmirror.toml").write_text('[site]\nurl = "https://example.org/m&m/"\n')
    build_site(archive)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    sitemap = ElementTree.parse(archive / "_site" / "sitemap.xml")  # well-formed despite the &
    locs = [e.text or "" for e in sitemap.getroot().findall("s:url/s:loc", ns)]
    assert len(locs) == 1 + len(GOLDEN) + len(SEED) + len(HOSTILE)
    assert all(loc.startswith("https://example.org/m&m/") for loc in locs)
    assert locs[0] == "https://example.org/m&m/index.html"


def _post(tags: str, cats: str, title: str) -> str:
    return (f"---\nlayout: post\ntitle: {title}\ndate: 2024-03-0{len(title) % 9 + 1}T00:00:00Z\n"
            f"author: S\nfrom: https://example.org/{title}\ntags: [ {tags} ]\ncomments: true\n"
            f"categories: [ {cats} ]\n---\n\n------\n\n<div>\n<p>{title}</p>\n</div>\n")  # fmt: skip


def test_a_tag_holding_exactly_a_sources_posts_links_to_the_source(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir(parents=True)
    (posts / "2024-03-01-one.md").write_text(_post("S", "S", "one"))
    # Tags as a YAML list (not the old one-value `[ ... ]`): S and X.
    (posts / "2024-03-02-two.md").write_text(
        _post("S", "S", "two").replace("tags: [ S ]", "tags:\n  - S\n  - X")
    )
    build_site(tmp_path)
    site = tmp_path / "_site"
    links = Links()
    links.feed((site / "tags" / "index.html").read_text(encoding="utf-8"))
    # Tag S and category S are the source: the sources page lists it, the tags and
    # categories pages only what they add (tag X; no category).
    assert "../sources/S/index.html" not in links.links
    assert not (site / "tags" / "S").exists() and not (site / "categories" / "S").exists()
    x_page = next(link for link in links.links if "/X/" in link)
    assert x_page.startswith("../tags/") and (site / "tags" / x_page[len("../tags/") :]).is_file()
    categories = (site / "categories" / "index.html").read_text(encoding="utf-8")
    assert "分类都与来源同名" in categories and "../tags/index.html" in categories
    assert "S/index.html" in (site / "sources" / "index.html").read_text(encoding="utf-8")
    # A third post of source S without the tag: tag S no longer equals the source.
    (posts / "2024-03-03-three.md").write_text(_post("", "S", "three"))
    build_site(tmp_path)
    assert (site / "tags" / "S" / "index.html").is_file()
    assert "three" not in (site / "tags" / "S" / "index.html").read_text(encoding="utf-8")
    assert not (site / "categories" / "S").exists()


def test_post_pages_link_their_neighbours_within_the_source(tmp_path: Path) -> None:
    """Older/newer links to the adjacent posts of the same source; "nearby" lists
    the next few beyond those (escaped titles, their days)."""
    posts = tmp_path / "_posts"
    posts.mkdir()
    titles = {
        1: "First <one> & co",
        2: "Second",
        3: "Third",
        4: "Fourth",
        5: "Fifth 第五篇文章内容",
    }
    for day, title in titles.items():
        text = _post("S", "S", f"p{day}").replace(f"title: p{day}", f"title: '{title}'")
        text = re.sub(r"^date: .*$", f"date: 2024-05-0{day}T08:00:00Z", text, flags=re.M)
        (posts / f"2024-05-0{day}-p{day}.md").write_text(text)
    (posts / "2024-05-03-other.md").write_text(_post("T", "T", "other"))  # another source
    build_site(tmp_path)
    folder = tmp_path / "_site" / "posts" / "2024" / "05"
    middle = (folder / "p3.html").read_text()
    older = re.search(r'<a rel="prev" href="([^"]+)">← ([^<]*)</a>', middle)
    newer = re.search(r'<a rel="next" href="([^"]+)">([^<]*) →</a>', middle)
    assert older and newer
    assert (folder / older[1]).resolve() == (folder / "p2.html") and older[2] == "Second"
    assert (folder / newer[1]).resolve() == (folder / "p4.html") and newer[2] == "Fourth"
    nearby = re.findall(r'<li><a href="([^"]+)" lang="([^"]+)">([^<]*)</a> <time>([^<]*)</time>',
                        middle[middle.index('<section class="nearby">') :])  # fmt: skip
    assert nearby == [
        ("../../../posts/2024/05/p5.html", "zh-Hans", "Fifth 第五篇文章内容", "2024-05-05"),
        ("../../../posts/2024/05/p1.html", "en", html_escape("First <one> & co"), "2024-05-01"),
    ]


def test_missing_posts_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no _posts/"):
        build_site(tmp_path)


def test_build_time_cleaning_without_lxml_pass_stays_safe() -> None:
    dirty = (
        '<p onclick="x()">正文</p><script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">j</a><a href="/rel/page?a=1#f">r</a><q cite="javascript:x">q</q>'
        '<img src="/assets/ab/abc.png" onerror="x()"><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<img src="data:text/html;base64,PHNjcmlwdD4=">'
        f'<img src="data:image/png;base64,{"A" * 50_000}"><img src="a.png" width="10x" height="20">'
    )
    out = clean_for_page(dirty, "https://example.org/news/item.html", "../../../")
    assert "<p>正文</p>" in out and "alert" not in out and "onclick" not in out
    assert "<style" not in out and "javascript" not in out and "onerror" not in out
    assert '<a href="https://example.org/rel/page?a=1#f" rel="noopener noreferrer">r</a>' in out
    assert 'src="../../../assets/ab/abc.png"' in out
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in out
    assert "data:text/html" not in out and "A" * 100 not in out
    assert '<img src="https://example.org/news/a.png" height="20">' in out
    # No post link to resolve against: relative links are dropped, not left site-relative.
    assert 'href="/rel' not in clean_for_page('<a href="/rel">x</a>', "", "")


def test_build_time_cleaning_still_rewrites_embeds_and_lazy_images() -> None:
    out = clean_for_page(
        '<p>a</p><iframe src="https://www.youtube.com/embed/ypCujsox6ws"></iframe>'
        '<img data-src="https://example.org/lazy.jpg">',
        "https://example.org/post",
        "../",
    )
    assert "<iframe" not in out and "ypCujsox6ws" in out
    assert 'src="https://example.org/lazy.jpg"' in out
    pixel = '<p>a</p><img src="http://feeds.feedburner.com/~r/x/~4/abc" width="1" height="1">'
    assert "feedburner" not in clean_for_page(pixel, "https://example.org/post", "../")
    # Only tags are searched for what needs the rewrites: quotes must not hide any of it.
    for tricky in (
        '<img alt="1 > 0" src="https://pixel.wp.com/g.gif" width="1" height="1">',
        '<p class=it\'s>x</p><img src="https://pixel.wp.com/g.gif" width=1 height=1>',
        "<img alt='>' src=\"https://pixel.wp.com/g.gif\" width=1 height=1>",
    ):
        assert "pixel.wp.com" not in clean_for_page(tricky, "https://example.org/post", "../")
    upper = '<IFRAME SRC="https://www.youtube.com/embed/ypCujsox6ws"></IFRAME>'
    out = clean_for_page(upper, "https://example.org/post", "../")
    assert "<iframe" not in out.lower() and "ypCujsox6ws" in out


def test_leading_text_matches_full_conversion() -> None:
    body = (
        "<p>" + "新闻内容，" * 400 + '<a href="https://example.org/' + "x" * 3000 + '">链接</a></p>'
    )
    assert leading_text(body, 1500) == html_to_text(body)[:1500]
    markup_heavy = '<a href="https://example.org/long/url">字</a>' * 2000
    assert leading_text(markup_heavy, 1500) == html_to_text(markup_heavy)[:1500]
    script_late = (
        "<p>开头</p>" + "<b>x</b>" * 1000 + "<script>var secret = 1;</script>" + "尾" * 9000
    )
    assert leading_text(script_late, 1500) == html_to_text(script_late)[:1500]
    assert "secret" not in leading_text(script_late, 1500)
    for path in GOLDEN[:8]:
        _, content = read_post(path)
        assert leading_text(content, 1500) == html_to_text(content)[:1500], path.name


def test_nfkc_shortcut_equals_unicodedata() -> None:
    samples = [
        "清零，共存？（附多文链接）：",
        "ＡＢＣ１２３　全角",
        "Ａ\u0301",
        "ｶﾀｶﾅ ①② ﬁ",
        "plain ascii",
    ]
    for path in GOLDEN[:8]:
        samples.append(path.read_text(encoding="utf-8", errors="replace")[:3000])
    for text in samples:
        assert nfkc(text) == unicodedata.normalize("NFKC", text)
    assert search_tokens("ＯｐｅｎＡＩ，清零") == {"openai", "清零"}


def test_post_terms_cover_title_author_source_and_body() -> None:
    terms = set(
        post_terms("新闻标题", "Annie Zhang", "中国数字时代", "<p>鼓楼分局 <b>通报</b></p>").split()
    )
    assert {"新", "新闻", "闻标", "annie", "zhang", "中国", "时代", "鼓楼", "分局", "通报"} <= terms
    assert "<b>" not in terms and "b" not in terms


def test_listing_rows_escape_titles_and_link_relatively(tmp_path: Path) -> None:
    posts = tmp_path / "a" / "_posts"
    posts.mkdir(parents=True)
    (posts / "2024-03-04-tricky.md").write_text(
        '---\nlayout: post\ntitle: "A <b>&amp; \\"quoted\\" 标题"\ndate: 2024-03-04T05:06:07.000Z\n'
        "author: Someone\nfrom: https://example.org/x\ntags: [ Src <x> ]\ncomments: True\n"
        "categories: [ Src <x> ]\n---\n<!--ms-->\n[t](https://example.org/x)\n------\n\n"
        "<div>\n<p>正文内容足够长以便检测语言</p>\n</div>\n",
        encoding="utf-8",
    )
    build_site(tmp_path / "a")
    site = tmp_path / "a" / "_site"
    home = (site / "index.html").read_text()
    row = re.search(r'<ul class="posts">(.*?)</ul>', home, re.S)[1]
    assert row.startswith('<li lang="zh-Hans"><a href="posts/2024/03/')
    assert "A &lt;b&gt;&amp; &#34;quoted&#34; 标题</a>" in row
    assert "Src &lt;x&gt;</a> · <time>2024-03-04</time></span></li>" in row
    month = (site / "archive/2024/03.html").read_text()
    assert '<a href="../../posts/2024/03/' in month and 'href="../../sources/' in month
    assert '<a href="../../sources/index.html">' in month  # shared header, per depth
    source_page = next((site / "sources").glob("*/index.html")).read_text()
    assert '<a href="../../posts/2024/03/' in source_page
    assert "· <time>" not in source_page  # a source's own page does not repeat the source


def _pages(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in site.rglob("*.html")
        if "search" not in p.relative_to(site).parts[0]
    }


def _same_as_full_build(archive: Path, tmp: Path) -> None:
    """Every page of the incremental build equals the page a fresh full build makes."""
    fresh = tmp / "fresh" / archive.name
    shutil.rmtree(fresh.parent, ignore_errors=True)
    shutil.copytree(archive / "_posts", fresh / "_posts")
    shutil.copytree(archive / "assets", fresh / "assets")
    build_site(fresh, full=True)
    incremental, full = _pages(archive / "_site"), _pages(fresh / "_site")
    assert sorted(incremental) == sorted(full)
    differ = [rel for rel in full if incremental[rel] != full[rel]]
    assert differ == []


def test_incremental_pages_equal_a_full_build_after_insert_and_delete(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    posts = archive / "_posts"
    # A post dated between two golden posts of the same source: its neighbours' prev/next change.
    donor = next(p for p in SEED if "北約秘書長" in p.name)
    text = donor.read_text(encoding="utf-8")
    date = re.search(r"^date: (\S+)", text, re.M)[1]
    older = date.replace(date[:4], str(int(date[:4]) - 1), 1)
    (posts / "2000-01-01-inserted.md").write_text(
        text.replace(date, older).replace("北約秘書長訪南韓", "插入的文章"), encoding="utf-8"
    )
    report = build_site(archive)
    assert 0 < report.pages_written < 120
    _same_as_full_build(archive, tmp_path)
    donor_copy = posts / donor.name
    donor_copy.unlink()  # its neighbours now neighbour each other
    build_site(archive)
    _same_as_full_build(archive, tmp_path)


def test_incremental_pages_equal_a_full_build_after_an_edit_in_place(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    edited = archive / "_posts" / next(p for p in SEED if "北約秘書長" in p.name).name
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("北約秘書長訪南韓", "改過的標題"),
        encoding="utf-8",
    )
    report = build_site(archive)
    assert 0 < report.pages_written < 120
    site = archive / "_site"
    hits = search_py(site, "改過")
    assert len(hits) == 1 and "改過的標題" in (site / unquote(hits.pop())).read_text()
    _same_as_full_build(archive, tmp_path)


def test_cache_saves_only_changed_rows_and_survives_damage(tmp_path: Path) -> None:
    import sqlite3

    from newsmirror.site.cache import SiteCache

    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    db_path = SiteCache.path_for(archive)
    n_posts = len(GOLDEN) + len(SEED) + len(HOSTILE)
    with sqlite3.connect(db_path) as db:
        rows = dict(db.execute("SELECT name, sig FROM posts"))
        assert len(rows) == n_posts and None not in rows.values()
        db.execute("UPDATE posts SET author = 'marker' WHERE name = ?", (GOLDEN[0].name,))
    new = archive / "_posts" / "2025-01-01-新文章.md"
    new.write_text(SEED[0].read_text().replace("北約秘書長訪南韓", "新文章"), encoding="utf-8")
    build_site(archive)
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts + 1
        # An untouched post's row was not rewritten.
        assert db.execute(
            "SELECT author FROM posts WHERE name = ?", (GOLDEN[0].name,)
        ).fetchone() == ("marker",)
    new.unlink()
    build_site(archive)
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts
    db_path.write_bytes(b"not a database at all" * 100)  # damaged: a full build, no traceback
    for extra in db_path.parent.glob("cache.sqlite-*"):
        extra.unlink()
    report = build_site(archive)
    assert report.posts == n_posts and report.warnings == []
    _same_as_full_build(archive, tmp_path)


def test_incremental_pages_equal_a_full_build_when_posts_change_source(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    posts = archive / "_posts"
    # An edit moves a post to another, existing source (its own keeps a post); then a new
    # post brings a new source and tag.
    moved = posts / next(p for p in GOLDEN if "圍牆倒下" in p.name).name
    other = read_post(GOLDEN[0])[0].source
    text = moved.read_text(encoding="utf-8")
    assert read_post(moved)[0].source == "Matters" and other != "Matters"
    moved.write_text(text.replace("Matters ]", f"{other} ]"), encoding="utf-8")
    assert read_post(moved)[0].source == other
    assert 0 < build_site(archive).pages_written < 150
    _same_as_full_build(archive, tmp_path)
    (posts / "2024-06-01-全新来源.md").write_text(
        text.replace("Matters ]", "全新来源 ]").replace("圍牆倒下", "全新来源文章"),
        encoding="utf-8",
    )
    report = build_site(archive)
    assert 0 < report.pages_written < 150
    site = archive / "_site"
    assert "全新来源" in (site / "sources/index.html").read_text()
    _same_as_full_build(archive, tmp_path)


def test_scan_in_a_forked_process_finds_what_an_in_process_scan_finds(tmp_path: Path) -> None:
    from newsmirror.site.cache import SiteCache
    from newsmirror.site.scan import compare, scan_in_background, scan_posts

    archive = make_archive(tmp_path / "a")
    (archive / "_posts" / "2024").mkdir()
    (archive / "_posts" / "2024" / "2024-05-06-nested.md").write_text(
        SEED[0].read_text(), encoding="utf-8"
    )
    (archive / "_posts" / ".hidden.md").write_text("x", encoding="utf-8")
    (archive / "_posts" / "notes.txt").write_text("x", encoding="utf-8")
    build_site(archive)
    found = scan_posts(archive / "_posts")
    assert "2024/2024-05-06-nested.md" in found and ".hidden.md" not in found
    assert len(found) == len(GOLDEN) + len(SEED) + len(HOSTILE) + 1
    in_child = scan_in_background(archive / "_posts", SiteCache.path_for(archive), 0)()
    assert in_child == found
    cache = SiteCache.load(archive)
    try:
        assert compare(found, cache.posts, full=False).changed == {}
        gone = GOLDEN[0].name
        edited = dict(found)
        del edited[gone]
        edited[SEED[0].name] = (1, 2)
        changes = compare(edited, cache.posts, full=False)
        assert changes.changed == {SEED[0].name: (1, 2)} and changes.removed == {gone}
        assert len(compare(found, cache.posts, full=True).changed) == len(found)
    finally:
        cache.close()


def test_unusable_cache_is_one_clear_error(tmp_path: Path) -> None:
    from newsmirror.site.cache import SiteCache

    archive = make_archive(tmp_path / "a")
    SiteCache.path_for(archive).mkdir(parents=True)  # a folder where the file goes
    with pytest.raises(BuildError, match="cannot open the build cache"):
        build_site(archive)


def test_a_renamed_post_keeps_the_url_a_full_build_gives_it(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    posts = archive / "_posts"
    old = posts / next(p for p in SEED if "北約秘書長" in p.name).name
    old.rename(posts / old.name.replace(old.name[:10], "2023-01-31"))  # same title, new file
    build_site(archive)
    _same_as_full_build(archive, tmp_path)


def test_build_stopped_while_pages_render_keeps_the_last_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from newsmirror.site import build as site_build
    from newsmirror.site.cache import SiteCache

    archive = make_archive(tmp_path / "a" / "site")
    build_site(archive)
    n_posts = len(GOLDEN) + len(SEED) + len(HOSTILE)
    new = archive / "_posts" / "2025-01-01-新文章.md"
    new.write_text(SEED[0].read_text().replace("北約秘書長訪南韓", "新文章"), encoding="utf-8")

    def stop_at(done: str, count: int) -> None:
        if done == "post pages":  # the cache's rows are written by now, not committed
            raise KeyboardInterrupt

    monkeypatch.setattr(site_build, "_phase", stop_at)
    with pytest.raises(KeyboardInterrupt):
        build_site(archive)
    monkeypatch.undo()
    with sqlite3.connect(SiteCache.path_for(archive)) as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts
    report = build_site(archive)
    assert report.posts == n_posts + 1 and report.warnings == []
    _same_as_full_build(archive, tmp_path)


def test_output_writer_into_an_empty_folder_still_skips_and_replaces(tmp_path: Path) -> None:
    from newsmirror.site.output import OutputWriter

    out = tmp_path / "_site"
    first, second = OutputWriter(out), OutputWriter(out)  # both see a new folder
    assert first.write("a/b.html", "一") and first.written == 1
    # The second writer expected a new folder; a file already there is compared, not lost.
    assert not second.write("a/b.html", "一") and second.skipped == 1
    assert second.write("a/b.html", "二") and (out / "a" / "b.html").read_text() == "二"
    third = OutputWriter(out)  # not empty now: looks first, as before
    assert not third.write("a/b.html", "二") and third.skipped == 1
    assert [p.name for p in (out / "a").iterdir()] == ["b.html"]  # no temp files left


def test_build_counts_add_up_to_the_pages_on_disk(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a")
    site = archive / "_site"

    def on_disk() -> int:
        return sum(1 for p in site.rglob("*") if p.is_file() and p.name != ".newsmirror-stamp")

    first = build_site(archive)
    assert first.pages_written == on_disk() > 40 and first.pages_unchanged == 0
    for report in (build_site(archive), build_site(archive, full=True)):
        assert report.pages_written == 0 and report.pages_unchanged == on_disk()
        assert report.pages == on_disk() and report.pages_removed == 0
    gone = next((archive / "_posts").glob("*OpenAI*"))
    gone.unlink()
    after = build_site(archive)
    assert after.pages_removed >= 1 and after.pages_written > 0
    assert after.pages_written + after.pages_unchanged == on_disk()
    assert after.pages == on_disk() + after.pages_removed
    assert after.open_hint == f"open {(site / 'index.html').resolve().as_uri()} in a browser"


def test_excerpt_and_first_image_of_a_post() -> None:
    from newsmirror.site.reader import excerpt_of, first_image

    assert excerpt_of("标题 正文开始", "标题") == "正文开始"
    long = "中文" * 60
    assert excerpt_of(long, "") == "中文" * 40 + "…"
    english = "word " * 30
    cut = excerpt_of(english, "")
    assert cut.endswith("word…") and len(cut) <= 81
    link = "https://example.org/a/b.html"
    assert first_image('<img src="https://pixel.wp.com/g.gif"><img src="x.jpg">', link) == (
        "https://example.org/a/x.jpg"
    )
    assert first_image('<img width="1" height="1" src="https://a.org/p.gif">', link) == ""
    assert first_image('<img src="/assets/ab/c.png">', link) == "assets/ab/c.png"
    assert first_image("<img src='//cdn.org/i.png' alt=x>", link) == "https://cdn.org/i.png"
    for bad in ('<img src="javascript:alert(1)">', '<img src="data:image/png;base64,AA">'):
        assert first_image(bad, link) == ""
    assert first_image('<img src="x.jpg">', "") == ""  # nothing to resolve it against


def test_listing_rows_have_excerpts_thumbnails_and_source_marks(built: Path) -> None:
    home = (built / "_site" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<li [^>]*>.*?</li>", home)
    assert len(rows) >= 20
    assert sum('<p class="excerpt">' in r for r in rows) >= 12
    thumbs = re.findall(r'<img class="thumb"[^>]*>', home)
    assert thumbs and all('width="96" height="72"' in t and 'loading="lazy"' in t for t in thumbs)
    assert '<img class="thumb" src="assets/ab/abc.png"' in home  # a mirrored image, relative
    assert all('<span class="mark" style="--h:' in r for r in rows)


def test_pager_says_which_way_is_newer_and_old_pages_keep_their_urls(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a")
    (archive / "newsmirror.toml").write_text("[site]\npage_size = 5\n")
    build_site(archive)
    site = archive / "_site"
    n = len(GOLDEN) + len(SEED) + len(HOSTILE)
    numbered = sorted((site / "page").glob("*.html"))
    assert len(numbered) == n // 5 - 1  # the home page holds the newest 5 to 9
    home = (site / "index.html").read_text(encoding="utf-8")
    top = len(numbered) + 1
    assert f"第 {top} 页 · 最新" in home and "页码按时间排，第 1 页最早" in home
    assert f'<a rel="next" href="page/{top - 1}.html">较早的文章 →</a>' in home
    oldest = (site / "page" / "1.html").read_text(encoding="utf-8")
    assert "第 1 页" in oldest and '<a rel="prev" href="../page/2.html">← 较新的文章</a>' in oldest
    assert 'rel="next"' not in oldest
    before = {p.name: p.read_bytes() for p in numbered}
    for i in range(3):  # new posts: the numbered pages keep their posts and bytes
        (archive / "_posts" / f"2030-01-0{i + 1}-new{i}.md").write_text(_post("N", "N", f"new{i}"))
        build_site(archive)
        assert {p.name: p.read_bytes() for p in sorted((site / "page").glob("*.html"))} == before
