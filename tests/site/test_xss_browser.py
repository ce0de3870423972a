"""XSS payloads go feed -> post -> built page, and none runs in real Chromium.

Every payload of tests/data/xss_payloads.txt becomes one feed item (some also
in the title and author), newsmirror ingests them in its default clean mode,
builds the site, and headless Chromium opens every post page with alert(),
confirm() and prompt() replaced by a counter set before any page script runs.
"""

from __future__ import annotations

import functools
import http.server
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_subs
from feeds import rss, rss_item

from newsmirror.cli import main
from newsmirror.site import build_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAYLOADS = (
    (Path(__file__).resolve().parents[1] / "data" / "xss_payloads.txt").read_text().splitlines()
)
MARKER = "SAFEWORD123"
TRAP = (
    "window.__xss = 0;"
    "window.alert = window.confirm = window.prompt = function () { window.__xss += 1; };"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium/chromedriver not installed (/usr/bin)",
    ),
]


def test_no_payload_runs_and_text_survives(server, archive, tmp_path):
    assert len(PAYLOADS) >= 150
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    items = [
        rss_item(
            title=(payload if i < 20 else f"payload {i}"),
            link=f"https://xss.example/{i}",
            published=t0 + timedelta(minutes=i),
            creator=(payload if i < 20 else None),
            content_encoded=payload,
        )
        for i, payload in enumerate(PAYLOADS)
    ]
    server.route("/xss.xml", rss(items))
    write_subs(archive, [("XSS", server.url("/xss.xml"))])
    assert main(["run", "--archive", str(archive), "--fulltext", "never", "-q"]) == 0
    assert len(list((archive / "_posts").iterdir())) == len(PAYLOADS)
    build_site(archive)
    site = archive / "_site"
    pages = sorted(site.glob("posts/**/*.html"))
    assert len(pages) == len(PAYLOADS)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
    ):  # fmt: skip
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    ran, shown, stored = [], 0, 0
    try:
        drv.set_page_load_timeout(20)
        drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
        # The trap must catch a payload that does run, or this test proves nothing.
        (site / "trap-check.html").write_text('<img src="nowhere.png" onerror="alert(1)">')
        drv.get(base + "trap-check.html")
        assert drv.execute_script("return window.__xss") == 1
        for page in pages:
            drv.get(base + page.relative_to(site).as_posix())
            # Move over and focus everything, for handlers that need a user.
            drv.execute_script(
                "for (const el of document.querySelectorAll('*')) {"
                " el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));"
                " if (el.focus) el.focus(); }"
            )
            if drv.execute_script("return window.__xss") != 0:
                ran.append(page.name)
            html = page.read_text(encoding="utf-8")
            if MARKER in html:
                stored += 1
                if MARKER in drv.find_element("tag name", "body").text:
                    shown += 1
    finally:
        drv.quit()
        httpd.shutdown()
    assert ran == [], f"payloads ran on {ran}"
    # What the sanitiser kept as text is what the reader sees.
    assert shown == stored
    assert stored >= 0.9 * len(PAYLOADS), f"marker text survived on only {stored} pages"
    print(f"\n{len(PAYLOADS)} payloads, 0 ran, marker text visible on {shown} pages")
