"""The built site as a reader sees it: real headless Chromium, served on 127.0.0.1 and from file://."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from test_site import GOLDEN, SEED, internal_targets, make_archive

from newsmirror.site import build_site
from newsmirror.site.reader import read_post
from newsmirror.site.textutil import html_to_text, search_tokens

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium/chromedriver not installed (/usr/bin)",
    ),  # fmt: skip
]


BROKEN_IMAGE_POST = (
    "---\nlayout: post\ntitle: 图片坏了\ndate: 2020-01-01T00:00:00Z\nauthor: 测试\n"
    "from: https://example.org/x\ntags: [ 测试 ]\ncategories: [ 测试 ]\n---\n\n------\n\n"
    '<div>\n<p>前面的文字<img src="https://image.invalid/missing.png" alt="图片说明">'
    "后面的文字紧跟着</p>\n</div>\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = make_archive(tmp_path_factory.mktemp("browser") / "archive")
    (archive / "_posts" / "2020-01-01-图片坏了.md").write_text(BROKEN_IMAGE_POST, encoding="utf-8")
    build_site(archive)
    return archive / "_site"


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module", params=["light", "dark"])
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=412,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"):  # fmt: skip
        opts.add_argument(flag)
    if request.param == "dark":
        opts.add_argument("--force-dark-mode")
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    drv.scheme = request.param  # type: ignore[attr-defined]
    yield drv
    drv.quit()


def console_errors(drv) -> list[str]:  # type: ignore[no-untyped-def]
    # External thumbnails cannot load without network: not a site error.
    return [e["message"] for e in drv.get_log("browser")
            if e["level"] == "SEVERE" and "ytimg.com" not in e["message"]
            and "weserv.nl" not in e["message"] and "net::ERR" not in e["message"]]  # fmt: skip


@pytest.mark.parametrize("mode", ["http", "file"])
def test_reader_journey(driver, site: Path, served: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = served if mode == "http" else site.resolve().as_uri() + "/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    tag = f"{mode}-{driver.scheme}"

    driver.get(base + "index.html")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    assert len(driver.find_elements(By.CSS_SELECTOR, "ul.posts li")) >= 20
    driver.save_screenshot(str(SHOTS / f"home-{tag}.png"))
    driver.find_element(By.CSS_SELECTOR, "ul.posts li .meta a").click()
    assert "/sources/" in driver.current_url
    driver.save_screenshot(str(SHOTS / f"source-{tag}.png"))
    driver.find_element(By.CSS_SELECTOR, "ul.posts li a").click()
    assert "/posts/" in driver.current_url
    assert (
        driver.find_element(By.CSS_SELECTOR, "a.original").get_attribute("href").startswith("http")
    )
    driver.save_screenshot(str(SHOTS / f"post-{tag}.png"))

    driver.get(base + "search.html?q=" + quote("混管阳"))
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li")
    )
    titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert any("混管阳" in t for t in titles), titles
    driver.find_element(By.CSS_SELECTOR, "#search-results li a").click()
    assert "混管阳" in driver.find_element(By.TAG_NAME, "h1").text
    driver.get(base + "search.html?q=" + quote("鼓楼分局"))
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li")
    )
    driver.save_screenshot(str(SHOTS / f"search-{tag}.png"))
    assert console_errors(driver) == []


def test_link_checker_on_built_site(site: Path) -> None:
    for page in site.rglob("*.html"):
        for link, target in internal_targets(page):
            assert target.is_file(), f"{page}: broken link {link}"


def _search(driver, base: str, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "search.html?q=" + quote(query))
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "search-status").text not in ("", d.find_element(
            By.ID, "search-status").get_attribute("data-loading"))
    )  # fmt: skip
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#search-results li a")]


@pytest.mark.parametrize("mode", ["http", "file"])
def test_search_finds_posts_in_either_script(driver, site: Path, served: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    base = served if mode == "http" else site.resolve().as_uri() + "/"
    found = {}
    for query in ("乌克兰", "烏克蘭", "北約 乌克兰"):
        found[query] = set(_search(driver, base, query))
        assert any("北約秘書長訪南韓" in t for t in found[query]), (query, found[query])
        assert any("北约领导人" in t for t in found[query]), (query, found[query])
    assert found["乌克兰"] == found["烏克蘭"]
    assert console_errors(driver) == []


def test_browser_tokens_equal_the_index_tokens_on_real_text(driver, site: Path) -> None:  # type: ignore[no-untyped-def]
    """search.js folds and cuts a query as the index was made (scriptfold.py's table)."""
    driver.get(site.resolve().as_uri() + "/search.html")
    texts = []
    for path in GOLDEN + SEED:
        post, content = read_post(path)
        texts.append(post.title + " " + html_to_text(content)[:3000])
    texts.append("臺灣 裡面 綫 麼 乾隆 ＡＢＣ abc 北約烏克蘭")
    got = driver.execute_script("return arguments[0].map(t => window.nmSearchTokens(t));", texts)
    for text, tokens in zip(texts, got, strict=True):
        assert set(tokens) == search_tokens(text), text[:40]


def test_one_search_box_on_the_search_page(driver, site: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(site.resolve().as_uri() + "/search.html")
    boxes = [
        e for e in driver.find_elements(By.CSS_SELECTOR, "input[type=search]") if e.is_displayed()
    ]
    assert len(boxes) == 1 and boxes[0].get_attribute("id") == "q"
    driver.get(site.resolve().as_uri() + "/index.html")
    boxes = [
        e for e in driver.find_elements(By.CSS_SELECTOR, "input[type=search]") if e.is_displayed()
    ]
    assert len(boxes) == 1  # the header's, on every other page


_CONTRAST_JS = """
function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return m.slice(0, 3); }
function lum(c) { const l = c.map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; }
function bg(el) { while (el) { const b = getComputedStyle(el).backgroundColor;
  if (!/rgba\\(.*, 0\\)$/.test(b) && b !== 'transparent') return b; el = el.parentElement; } return 'rgb(255,255,255)'; }
return arguments[0].map(sel => { const el = document.querySelector(sel); if (!el) return [sel, 0];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bg(el)));
  return [sel, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });
"""


def test_text_contrast_meets_wcag_aa_in_the_browser(driver, site: Path) -> None:  # type: ignore[no-untyped-def]
    """Computed colours, in light and dark mode (the driver fixture runs both)."""
    post = next(site.glob("posts/2023/01/北約*.html"))
    checks = {
        post: ["a.original", "article h1", "article .meta time", "article .meta a.source",
               ".content p", "header .brand", "header nav a", "footer.site a"],
        site / "index.html": ["ul.posts li > a", "ul.posts .excerpt", "ul.posts .meta time",
                              "ul.posts .meta a", "h1 a.feed"],
        site / "search.html": ["button[type=submit]", "#search-hint"],
    }  # fmt: skip
    scheme = driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
    assert scheme == (driver.scheme == "dark")
    for page, selectors in checks.items():
        driver.get(page.resolve().as_uri())
        ratios = driver.execute_script(_CONTRAST_JS, selectors)
        low = [(sel, round(r, 2)) for sel, r in ratios if r < 4.5]
        assert low == [], f"{driver.scheme}: {page.name}: {low}"


def test_alt_text_of_a_failed_image_stays_off_the_text(driver, site: Path) -> None:  # type: ignore[no-untyped-def]
    page = next(site.glob("posts/2020/01/*.html"))
    driver.get(page.resolve().as_uri())
    box = driver.execute_script("""
        const img = document.querySelector('.content img'), p = img.parentElement;
        const r = document.createRange(), before = p.firstChild, after = img.nextSibling;
        r.selectNodeContents(before); const b = r.getBoundingClientRect();
        r.selectNodeContents(after); const a = r.getBoundingClientRect();
        const i = img.getBoundingClientRect();
        return {complete: img.complete && img.naturalWidth === 0, before: b.bottom, top: i.top,
                bottom: i.bottom, after: a.top, height: i.height};""")
    assert box["complete"]  # it did fail
    assert box["height"] > 0 and box["before"] <= box["top"] + 1, box
    assert box["after"] >= box["bottom"] - 1, box  # the text after it starts below it
