"""`newsmirror digest`: one day as EPUB 3 (checked by Debian's epubcheck) and as
one self-contained HTML file (checked in real headless Chromium over file://)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import lxml.html
import pytest
from chromium import chromium, console_errors, needs_chromium
from PIL import Image
from test_site import GOLDEN, SEED

from newsmirror.archive.sanitize import sanitize_html
from newsmirror.cli import main

EPUBCHECK = Path("/usr/share/java/epubcheck.jar")
DAY = "2023-01-30"
READABILITY = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "corpus" / "pages" / "readability" / "test" / "test-pages"
)  # fmt: skip


def store_image(archive: Path, image: Image.Image, fmt: str, ext: str) -> str:
    buf = io.BytesIO()
    image.save(buf, fmt)
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    rel = f"assets/{digest[:2]}/{digest}.{ext}"
    (archive / rel).parent.mkdir(parents=True, exist_ok=True)
    (archive / rel).write_bytes(buf.getvalue())
    return rel


def post_text(title: str, when: str, source: str, body: str) -> str:
    link = f"https://example.org/{hashlib.sha1(title.encode()).hexdigest()[:8]}"
    return (f'---\nlayout: post\ntitle: "{title}"\ndate: {when}\nauthor: {source}\n'
            f"from: {link}\ntags: [ {source} ]\ncategories: [ {source} ]\n---\n<!--0-->\n"
            f"[{title}]({link})\n------\n\n<div>{body}</div>\n")  # fmt: skip


def readability_test_split() -> list[Path]:
    """readability's pages, odd positions: the split the XHTML repairs were not tuned on
    (they were tuned on the even ones)."""
    pages = sorted(p for p in READABILITY.iterdir() if (p / "expected.html").is_file())
    return [p for i, p in enumerate(pages) if i % 2 == 1]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest") / "archive"
    posts = root / "_posts"
    posts.mkdir(parents=True)
    for p in GOLDEN + SEED:
        shutil.copy(p, posts / p.name)
    photo = store_image(root, Image.linear_gradient("L").resize((300, 200)).convert("RGB"), "WEBP", "webp")
    badge = store_image(root, Image.new("RGBA", (64, 64), (0, 128, 0, 128)), "WEBP", "webp")
    chart = store_image(root, Image.new("P", (90, 60), 3), "PNG", "png")
    body = (f'<p>图一：</p><figure><img src="/{photo}" alt="渐变" data-original-src="https://x.example/a.jpg">'
            f"<figcaption>说明</figcaption></figure><p><img src=\"/{badge}\"> 与 <img src=\"/{chart}\" alt=\"图表\"></p>"
            '<p><a href="https://x.example/"><img src="https://x.example/remote.jpg" alt="远程"></a>'
            '<img src="https://x.example/r2.jpg"></p>')  # fmt: skip
    (posts / f"{DAY}-图片新闻.md").write_text(
        post_text("图片新闻", f"{DAY}T09:00:00.000Z", "纽约时报", body), encoding="utf-8")  # fmt: skip
    (posts / "2023-01-29-前一天.md").write_text(
        post_text("前一天", "2023-01-29T09:00:00.000Z", "纽约时报", "<p>不在这天</p>"),
        encoding="utf-8")  # fmt: skip
    moved = root / "archived" / DAY
    moved.mkdir(parents=True)
    (moved / f"{DAY}-已归档.md").write_text(
        post_text("已归档", f"{DAY}T23:30:00.000Z", "中央社", "<p>退休的帖子</p>"), encoding="utf-8")  # fmt: skip
    for n, page in enumerate(readability_test_split()):
        html = sanitize_html((page / "expected.html").read_text(encoding="utf-8", errors="replace"),
                             f"https://example.org/{page.name}/").replace("\n", " ")  # fmt: skip
        (posts / f"{DAY}-{page.name}.md").write_text(
            post_text(page.name, f"{DAY}T{n % 24:02d}:10:00.000Z", "readability", html),
            encoding="utf-8")  # fmt: skip
    return root


@pytest.fixture(scope="module")
def epub_file(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("epub") / "day.epub"
    assert main(["digest", "--archive", str(archive), "--date", DAY, "--out", str(out)]) == 0
    return out


def test_the_epub_has_a_contents_entry_per_source_and_its_images(epub_file: Path) -> None:
    with zipfile.ZipFile(epub_file) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"application/epub+zip"
        names = zf.namelist()
        nav = lxml.html.fromstring(zf.read("EPUB/nav.xhtml"))
        pages = {n: zf.read(n).decode() for n in names if n.endswith(".xhtml")}
    sources = [li for li in nav.xpath("//nav/ol/li") if li.find("ol") is not None]
    titles = {li.find("a").text: [a.text for a in li.findall("ol/li/a")] for li in sources}
    readability = len(readability_test_split())
    assert sorted(len(v) for v in titles.values()) == sorted([2, 1, 1, 1, 1, 1, readability])
    assert titles["纽约时报"] == ["图片新闻", "世界翘首以盼，中国游客何时全面回归？"]  # by time
    assert titles["中央社"] == ["已归档"]  # from archived/
    assert "前一天" not in json.dumps(titles, ensure_ascii=False)
    assert list(titles)[0] == "readability"  # most posts first
    images = sorted(n for n in names if n.startswith("EPUB/images/"))
    assert sorted(n.rsplit(".", 1)[1] for n in images) == ["jpg", "png", "png"]  # WebP converted
    picture_page = next(text for text in pages.values() if "<h1>图片新闻</h1>" in text)
    assert len(re.findall(r'<img src="images/', picture_page)) == 3
    assert '<a href="https://x.example/r2.jpg">[图片]</a>' in picture_page
    assert "<span>[图片: 远程]</span>" in picture_page  # inside a link: no link in a link
    assert "x.example/remote.jpg" not in picture_page


@pytest.mark.slow
@pytest.mark.skipif(not EPUBCHECK.is_file(), reason="Debian's epubcheck not installed")
def test_epubcheck_passes_the_epub_with_no_message(epub_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "epubcheck.json"
    proc = subprocess.run(["java", "-jar", str(EPUBCHECK), str(epub_file), "--json", str(report)],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    data = json.loads(report.read_text())
    messages = [f"{m['ID']} {m['message']} {m['locations'][:1]}" for m in data["messages"]]
    assert messages == [] and proc.returncode == 0, messages[:10]
    assert data["checker"]["nFatal"] == data["checker"]["nError"] == data["checker"]["nWarning"] == 0
    assert data["publication"]["ePubVersion"].startswith("3")


@pytest.fixture(scope="module")
def html_file(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "day.html"
    assert main(["digest", "--archive", str(archive), "--date", DAY, "--format", "html",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


def test_the_html_digest_is_one_self_contained_file(html_file: Path) -> None:
    page = lxml.html.fromstring(html_file.read_bytes())
    srcs = [img.get("src") for img in page.iter("img")]
    assert len(srcs) == 3 and all(s.startswith("data:image/") for s in srcs)
    assert not page.xpath("//script | //link[@rel='stylesheet'] | //iframe")
    ids = {el.get("id") for el in page.iter() if el.get("id")}
    anchors = [a.get("href")[1:] for a in page.xpath("//nav//a")]
    assert anchors and all(a in ids for a in anchors)
    remote = [a.get("href") for a in page.xpath("//article//a") if "x.example" in a.get("href", "")]
    assert "https://x.example/r2.jpg" in remote


def test_no_posts_that_day_is_one_line(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.epub"
    assert main(["digest", "--archive", str(archive), "--date", "2001-01-01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no posts dated 2001-01-01" in err and not out.exists()


@pytest.mark.browser
@needs_chromium
def test_the_html_digest_shows_its_images_offline_in_chromium(html_file: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as driver:
        driver.get(html_file.resolve().as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1)")
        assert widths == [300, 64, 90]
        assert driver.find_element("css selector", "nav ol li a").text
        assert console_errors(driver) == []
