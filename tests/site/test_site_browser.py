"""The built site as a reader sees it: real headless Chromium, served on 127.0.0.1 and from file://."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from test_site import internal_targets, make_archive

from newsmirror.site import build_site

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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = make_archive(tmp_path_factory.mktemp("browser") / "archive")
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
