"""The 繁/简 switch in real headless Chromium over file://: its conversion equals
OpenCC's own (the OpenCC library, on the golden posts and Chinese test pages),
it converts what its element's language says, remembers the choice across
pages, converts search results as they come, and goes back to the text as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from chromium import chromium, console_errors, needs_chromium
from markupsafe import escape
from test_site import GOLDEN, SEED

from newsmirror.site import build_site
from newsmirror.site.reader import read_post
from newsmirror.site.scriptswitch import conversion, convert, table_js

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"
SIMPLIFIED = next(p for p in GOLDEN if "清零" in p.name)  # ~90 KB of simplified text
TRADITIONAL = next(p for p in GOLDEN if "工廠" in p.name)


def plain_texts() -> list[str]:
    """Chinese text to convert: the golden posts, and Chinese pages of the test corpora."""
    texts = []
    for path in GOLDEN + SEED:
        post, body = read_post(path)
        texts.append(post.title + "\n" + re.sub(r"<[^>]+>", "", body))
    for page in ("readability/test/test-pages/pixnet", "readability/test/test-pages/yahoo-4"):
        html = (CORPUS / page / "expected.html").read_text(encoding="utf-8")
        texts.append(re.sub(r"<[^>]+>", "", html))
    return texts


def test_the_python_model_of_the_tables_is_opencc() -> None:
    opencc = pytest.importorskip("opencc")
    for name in ("s2t", "t2s"):
        reference = opencc.OpenCC(name)
        for text in plain_texts():
            assert convert(name, text) == reference.convert(text)
    norm, chars, phrases = conversion("s2t")
    assert len(phrases) > 40_000 and len(chars) > 3_000 and len(norm) > 500
    js = table_js("t2s")
    assert js.startswith("/* newsmirror t2s table") and "nmOpenCC.define(" in js


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("switch") / "archive"
    (archive / "_posts").mkdir(parents=True)
    for p in GOLDEN + SEED:
        shutil.copy(p, archive / "_posts" / p.name)
    build_site(archive)
    return archive / "_site"


def page_of(site: Path, post: Path) -> Path:
    title = read_post(post)[0].title
    for page in (site / "posts").rglob("*.html"):
        if f"<h1>{escape(title)}</h1>" in page.read_text(encoding="utf-8"):
            return page
    raise AssertionError(title)


def test_the_build_writes_the_tables_once(site: Path) -> None:
    for name in ("s2t", "t2s"):
        text = (site / "static" / f"opencc-{name}.js").read_text(encoding="utf-8")
        assert text.startswith(f"/* newsmirror {name} table") and text.endswith(");\n")
    assert 'static/zh-switch.js" defer></script>' in (site / "index.html").read_text()




def click(driver, script: str) -> None:  # type: ignore[no-untyped-def]
    driver.find_element("css selector", f'.zh-switch button[data-script="{script}"]').click()


def wait_converted(driver, script: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "var b = document.querySelector('.zh-switch button[data-script=\"' + arguments[0] + '\"]');"
        "return b && b.getAttribute('aria-pressed') === 'true';", script))  # fmt: skip


@pytest.mark.browser
@needs_chromium
def test_the_browser_converts_as_opencc_does(site: Path, tmp_path: Path) -> None:
    opencc = pytest.importorskip("opencc")
    with chromium(tmp_path / "profile") as driver:
        driver.get((site / "index.html").resolve().as_uri())
        for name, script in (("s2t", "hant"), ("t2s", "hans")):
            click(driver, script)
            wait_converted(driver, script)
            got = driver.execute_script(
                "var name = arguments[0];"
                "return arguments[1].map(function (t) { return nmOpenCC.convert(name, t); });",
                name, plain_texts())  # fmt: skip
            reference = opencc.OpenCC(name)
            assert got == [reference.convert(t) for t in plain_texts()]
        assert console_errors(driver) == []


@pytest.mark.browser
@needs_chromium
def test_a_reader_switches_scripts_and_the_choice_follows_them(site: Path, tmp_path: Path) -> None:
    opencc = pytest.importorskip("opencc")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    s2t, t2s = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")
    simplified, traditional = page_of(site, SIMPLIFIED), page_of(site, TRADITIONAL)
    with chromium(tmp_path / "profile") as driver:
        driver.get(simplified.resolve().as_uri())
        article = driver.find_element(By.TAG_NAME, "article")
        assert article.get_attribute("lang") == "zh-Hans"
        h1, body = driver.find_element(By.TAG_NAME, "h1").text, article.text
        click(driver, "hant")
        wait_converted(driver, "hant")
        assert driver.find_element(By.TAG_NAME, "h1").text == s2t.convert(h1)
        assert article.get_attribute("lang") == "zh-Hant"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hant"
        converted = article.text
        assert converted != body and "頭髮" not in body
        # Another page, over file://: the choice is remembered.
        driver.get(traditional.resolve().as_uri())
        wait_converted(driver, "hant")
        nav = driver.find_element(By.CSS_SELECTOR, "header.site nav").text
        assert "來源" in nav  # the interface, zh-Hans, shown in traditional
        driver.get(simplified.resolve().as_uri())
        wait_converted(driver, "hant")
        assert driver.find_element(By.TAG_NAME, "article").text == converted
        # The pressed button again: the page as written.
        click(driver, "hant")
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "article").get_attribute("lang") == "zh-Hans")  # fmt: skip
        assert driver.find_element(By.TAG_NAME, "article").text == body
        # Simplified for a traditional post.
        driver.get(traditional.resolve().as_uri())
        title = driver.find_element(By.TAG_NAME, "h1").text
        click(driver, "hans")
        wait_converted(driver, "hans")
        assert driver.find_element(By.TAG_NAME, "h1").text == t2s.convert(title) != title
        # Search results arrive after the conversion: they are converted too.
        driver.get((site / "search.html").resolve().as_uri() + "?q=" + quote("工廠"))  # (search folding of scripts is not in this branch)
        wait_converted(driver, "hans")
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li a"))
        titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#search-results li a")]
        assert any("工厂订定锐减" in t for t in titles), titles
        assert console_errors(driver) == []


def test_tables_are_generated_once_per_data_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsmirror.site import scriptswitch

    archive = tmp_path / "archive"
    (archive / "_posts").mkdir(parents=True)
    shutil.copy(SIMPLIFIED, archive / "_posts" / SIMPLIFIED.name)
    build_site(archive, tmp_path / "one")
    made = (tmp_path / "one" / "static" / "opencc-s2t.js").read_text(encoding="utf-8")

    def no_generation(name: str) -> str:
        raise AssertionError("generated again")

    monkeypatch.setattr(scriptswitch, "table_js", no_generation)
    build_site(archive, tmp_path / "one")  # the output has them
    build_site(archive, tmp_path / "two", full=True)  # a new folder: from the build cache
    assert (tmp_path / "two" / "static" / "opencc-s2t.js").read_text(encoding="utf-8") == made
    other = tmp_path / "other"  # a new archive, no build cache: from the user's cache
    shutil.copytree(archive / "_posts", other / "_posts")
    build_site(other)
    assert (other / "_site" / "static" / "opencc-s2t.js").read_text(encoding="utf-8") == made
    assert (other / ".newsmirror" / "site-cache" / "opencc-s2t.js").is_file()
    monkeypatch.setattr(scriptswitch, "header", lambda name: f"/* another version {name} */\n")
    with pytest.raises(AssertionError, match="generated again"):
        build_site(archive, tmp_path / "three")
