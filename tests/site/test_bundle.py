"""`newsmirror bundle`: the zip, unzipped into a fresh folder, is the whole site
(link-checked), and works in real headless Chromium over file://."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from chromium import chromium, console_errors, needs_chromium
from PIL import Image
from test_site import internal_targets, make_archive

from newsmirror.cli import main

PICTURE_POST = "2024-05-01-图片新闻.md"


def add_picture_post(archive: Path) -> str:
    """A post showing a mirrored image; returns the image's assets/ path."""
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 40, 40)).save(buf, "PNG")
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    rel = f"assets/{digest[:2]}/{digest}.png"
    (archive / rel).parent.mkdir(parents=True, exist_ok=True)
    (archive / rel).write_bytes(data)
    (archive / "_posts" / PICTURE_POST).write_text(
        "---\nlayout: post\ntitle: \"图片新闻\"\ndate: 2024-05-01T08:00:00.000Z\n"
        "author: 图片社\nfrom: https://pics.example.org/1\ntags: [ 图片社 ]\n"
        "categories: [ 图片社 ]\n---\n<!--1714550400000-->\n"
        "[图片新闻](https://pics.example.org/1)\n------\n\n"
        f'<div><p>红色方块。</p><img src="/{rel}" data-original-src="https://pics.example.org/a.png"'
        ' alt="方块"></div>\n',
        encoding="utf-8",
    )
    return rel


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = make_archive(tmp_path_factory.mktemp("bundle") / "archive")
    return folder, add_picture_post(folder)


def unzip(bundle: Path, into: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        assert all(n.startswith(f"{bundle.stem}/") for n in names)  # one folder
        zf.extractall(into)
    return into / bundle.stem


@pytest.fixture(scope="module")
def full(archive: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = archive
    out = tmp_path_factory.mktemp("out") / "mirror-offline.zip"
    assert main(["bundle", "--archive", str(folder), "--out", str(out)]) == 0
    return unzip(out, tmp_path_factory.mktemp("fresh"))


def post_pages(site: Path) -> list[Path]:
    return sorted((site / "posts").rglob("*.html"))


def test_the_whole_site_is_in_the_bundle_and_the_archive_is_untouched(
    archive: tuple[Path, str], full: Path
) -> None:
    folder, image = archive
    for needed in ("index.html", "search.html", "search/manifest.js", "static/style.css",
                   "sitemap.xml", image):  # fmt: skip
        assert (full / needed).is_file(), needed
    assert (full / image).read_bytes() == (folder / image).read_bytes()
    assert (full / "assets" / "ab" / "abc.png").is_file()
    assert len(post_pages(full)) == len(list((folder / "_posts").iterdir()))
    assert not (full / ".newsmirror-stamp").exists()
    assert not (folder / "_site").exists() and not (folder / ".newsmirror" / "site-cache").exists()
    for page in full.rglob("*.html"):
        for link, target in internal_targets(page):
            assert target.is_file(), f"{page}: broken link {link}"


def test_source_and_since_make_smaller_bundles(
    archive: tuple[Path, str], tmp_path: Path, full: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, image = archive
    out = tmp_path / "pictures.zip"
    assert main(["bundle", "--archive", str(folder), "--out", str(out), "--source", "图片社"]) == 0
    assert "1 posts" in capsys.readouterr().out
    site = unzip(out, tmp_path / "a")
    assert [p.name for p in post_pages(site)] == ["图片新闻.html"]
    assert (site / image).is_file() and not (site / "assets" / "ab" / "abc.png").exists()
    # The static files (the 繁/简 tables: 1.1 MB) are in every bundle; the rest shrinks.
    def content_bytes(site: Path) -> int:
        return sum(p.stat().st_size for p in site.rglob("*")
                   if p.is_file() and p.relative_to(site).parts[0] != "static")  # fmt: skip

    assert content_bytes(site) < content_bytes(full) / 10

    recent = tmp_path / "recent.zip"
    assert main(["bundle", "--archive", str(folder), "--out", str(recent),
                 "--since", "2023-06-01"]) == 0  # fmt: skip
    site = unzip(recent, tmp_path / "b")
    pages = post_pages(site)
    assert 0 < len(pages) < len(post_pages(full))
    assert all(p.parent.parent.name >= "2023" for p in pages)
    assert all(p.parent.name >= "06" for p in pages if p.parent.parent.name == "2023")


def test_bad_requests_are_one_line(
    archive: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = archive
    out = tmp_path / "x.zip"
    assert main(["bundle", "--archive", str(folder), "--out", str(out), "--source", "无此来源"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no source named '无此来源'" in err and "图片社" in err
    assert main(["bundle", "--archive", str(folder), "--out", str(out), "--since", "2030-01-01"]) == 2
    assert "no posts from 2030-01-01 on" in capsys.readouterr().err
    assert main(["bundle", "--archive", str(folder), "--out", str(tmp_path / "x.tar")]) == 2
    assert "must end in .zip" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["bundle", "--archive", str(folder), "--out", str(out), "--since", "yesterday"])
    assert stop.value.code == 2
    assert not out.exists() and not list(tmp_path.glob(".nm-tmp-*"))


@pytest.mark.browser
@needs_chromium
def test_the_unzipped_bundle_works_in_chromium_over_file(
    full: Path, tmp_path: Path, archive: tuple[Path, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _, image = archive
    base = full.resolve().as_uri() + "/"
    with chromium(tmp_path / "profile") as driver:
        driver.get(base + "index.html")
        assert len(driver.find_elements(By.CSS_SELECTOR, "ul.posts li")) >= 20
        link = next(a for a in driver.find_elements(By.CSS_SELECTOR, "ul.posts li a")
                    if a.text == "图片新闻")  # fmt: skip
        link.click()
        assert driver.current_url.startswith("file://") and "/posts/2024/05/" in driver.current_url
        img = driver.find_element(By.CSS_SELECTOR, "article .content img")
        WebDriverWait(driver, 10).until(lambda d: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", img) == 120)  # fmt: skip
        assert img.get_attribute("src").endswith(image.rsplit("/", 1)[1])

        driver.get(base + "search.html?q=" + quote("鼓楼分局"))
        WebDriverWait(driver, 10).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li")
        )
        driver.find_element(By.CSS_SELECTOR, "#search-results li a").click()
        assert "鼓楼分局" in driver.find_element(By.TAG_NAME, "h1").text
        assert console_errors(driver) == []
