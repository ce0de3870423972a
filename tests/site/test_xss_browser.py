"""XSS payloads go feed -> post -> built site, and none runs in real Chromium.

Each of the 190 payloads of tests/data/xss_payloads.txt is the site name, the
title, the author and the content of one feed's item. newsmirror ingests the
190 feeds in its default clean mode and builds the site; headless Chromium
then opens every page of it (posts, listing pages, sources, tags, dates,
404) and search-result pages that, together, show every hostile title.

What counts as a payload that ran, on any page:
- any script the site did not ship: every page is served with a strict
  Content-Security-Policy-Report-Only (scripts only from the site's own
  files; no inline script, event handler attribute, javascript: URL, eval,
  plugin or frame); Chromium reports each violation to the test server;
- any request to the sentinel hosts the payloads name (xss.example,
  evil.example), and any request other than an image or media to another
  host (CDP Network events from the performance log; no DNS: every host but
  127.0.0.1 resolves to nothing);
- any navigation the page starts itself (meta refresh, location=...): CDP
  Page.frameRequestedNavigation, and the page's URL after the checks;
- alert / confirm / prompt / print, replaced before any page script runs;
- markup that would run on a user's click: an on* attribute, a javascript:,
  vbscript: or data:text/html URL, a script, iframe, object, embed, base or
  meta refresh element the site did not write, in the DOM as Chromium built it.
Each detector is first shown to fire on a page where a payload does run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import http.server
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from conftest import tool_path, write_subs
from feeds import rss, rss_item

import newsmirror.site
from newsmirror.cli import main
from newsmirror.site import build_site

CHROMIUM = tool_path("chromium")
CHROMEDRIVER = tool_path("chromedriver")
PAYLOADS = (
    (Path(__file__).resolve().parents[1] / "data" / "xss_payloads.txt").read_text().splitlines()
)
MARKER = "SAFEWORD123"
SENTINELS = {"xss.example", "evil.example"}  # hosts the payloads load scripts from
ARTICLES = "news.example"  # item links: relative URLs in content resolve here (images)
SITE_SOURCE = Path(newsmirror.site.__file__).parent


def own_handlers() -> set[tuple[str, str]]:
    """The event handler attributes the site's own templates and page code write
    (e.g. onerror="this.remove()" on a listing's thumbnail): the only ones allowed."""
    found = set()
    for path in [*SITE_SOURCE.glob("templates/*.html"), *SITE_SOURCE.glob("*.py")]:
        for name, code in re.findall(r"\b(on[a-z]+)=\"([^\"]*)\"", path.read_text(encoding="utf-8")):
            found.add((name, html.unescape(code)))
    return found


def csp() -> str:
    """Scripts only from the site's own files; of inline handlers, only the site's own."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in sorted({code for _, code in own_handlers()})
    )
    handlers = f"'unsafe-hashes' {hashes}" if hashes else "'none'"
    return (
        "default-src 'self'; script-src 'self';"
        f" script-src-attr {handlers};"
        " object-src 'none'; frame-src 'none'; child-src 'none'; worker-src 'none';"
        " base-uri 'none'; form-action 'self'; connect-src 'self';"
        " style-src 'self' 'unsafe-inline'; img-src * data:; media-src *; font-src 'self';"
        " report-uri /__csp-report"
    )
TRAP = (
    "window.__dialogs = 0;"
    "window.alert = window.confirm = window.prompt = window.print ="
    " function () { window.__dialogs += 1; };"
)
INTERACT = (
    "for (const el of document.querySelectorAll('*')) {"
    " for (const type of ['mouseover', 'mouseenter', 'pointerover'])"
    "  el.dispatchEvent(new MouseEvent(type, {bubbles: true}));"
    " if (el.focus) el.focus(); }"
)
# Markup that runs script when a reader clicks, or a browser parses it.
AUDIT = r"""
const own = new Set(arguments[0]);
const handlers = new Set(arguments[1]);
const bad = [];
const scheme = /^(javascript|vbscript|data:text\/html|data:application\/xhtml)/;
for (const el of document.querySelectorAll('*')) {
  const tag = el.tagName.toLowerCase();
  for (const a of el.attributes) {
    const name = a.name.toLowerCase();
    if (name.startsWith('on')) {
      if (!handlers.has(name + '=' + a.value)) bad.push(tag + ' ' + name + '=' + a.value.slice(0, 40));
    }
    else if (scheme.test(a.value.replace(/[\u0000-\u0020]/g, '').toLowerCase()))
      bad.push(tag + ' ' + name + '=' + a.value.slice(0, 40));
  }
  if (tag === 'script' && !own.has(new URL(el.getAttribute('src') || '#inline', location.href).pathname))
    bad.push('script ' + (el.getAttribute('src') || 'inline'));
  if (['iframe', 'frame', 'object', 'embed', 'applet', 'base', 'portal'].includes(tag)) bad.push(tag);
  if (tag === 'meta' && el.hasAttribute('http-equiv')) bad.push('meta http-equiv');
  if (tag === 'form' && new URL(el.action, location.href).origin !== location.origin) bad.push('form action');
}
return bad;
"""

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Site:
    """The built site on 127.0.0.1, every response with the CSP; reports collected."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reports: list[dict] = []
        site, policy = self, csp()

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self) -> None:
                self.send_header("Content-Security-Policy-Report-Only", policy)
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/__csp-report":
                    site.reports.append(json.loads(body).get("csp-report", {}))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """190 feeds: payload i is feed i's site name, and its item's title, author and content."""
    from loopback import LoopbackServer

    archive = tmp_path_factory.mktemp("xss") / "mirror"
    archive.mkdir()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    with LoopbackServer() as server:
        subs = []
        for i, payload in enumerate(PAYLOADS):
            item = rss_item(title=payload, link=f"https://{ARTICLES}/{i}", creator=payload,
                            published=t0 + timedelta(days=3 * i), content_encoded=payload)  # fmt: skip
            subs.append((payload, server.route(f"/x{i}.xml", rss([item], title=payload))))
        write_subs(archive, subs)
        assert main(["run", "--archive", str(archive), "--fulltext", "never", "-q"]) == 0
    assert len(list((archive / "_posts").iterdir())) == len(PAYLOADS)
    build_site(archive)
    yield archive / "_site"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path_factory.mktemp('chrome')}",
        # No DNS, no network: every host but the test server resolves to nothing.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(20)
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
    yield drv
    drv.quit()


class Trap:
    """Loads pages and records, per page, whatever ran (see the module docstring)."""

    def __init__(self, drv, site: Site) -> None:  # type: ignore[no-untyped-def]
        self.drv, self.site = drv, site
        self.found: dict[str, list[str]] = defaultdict(list)  # page path -> what ran
        self.foreign_images: Counter[str] = Counter()

    def visit(self, path: str, *, wait_for_results: bool = False) -> None:
        drv = self.drv
        drv.get_log("performance")  # drop the events of the last page
        url = self.site.base + path
        drv.get(url)
        if wait_for_results:
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(drv, 20).until(
                lambda d: d.find_element("id", "search-status").text
                not in ("", d.find_element("id", "search-status").get_attribute("data-loading"))
            )
        drv.execute_script(INTERACT)
        time.sleep(0.05)  # timers and handlers that fire after the events
        found = self.found[path]
        if drv.current_url != url:
            found.append(f"navigated to {drv.current_url}")
        if drv.execute_script("return window.__dialogs"):
            found.append("dialog")
        handlers = sorted(f"{name}={code}" for name, code in own_handlers())
        found += [f"markup: {b}" for b in drv.execute_script(AUDIT, sorted(self._own()), handlers)]
        for entry in drv.get_log("performance"):
            event = json.loads(entry["message"])["message"]
            params = event.get("params", {})
            if event["method"] == "Page.frameRequestedNavigation":
                found.append(f"navigation requested: {params.get('url', '')[:80]}")
            elif event["method"] == "Network.requestWillBeSent":
                target = urlsplit(params["request"]["url"])
                kind = params.get("type", "Other")
                if target.scheme in ("data", "blob") or target.netloc == urlsplit(url).netloc:
                    continue
                if target.hostname in SENTINELS or kind not in ("Image", "Media"):
                    found.append(f"request: {kind} {target.geturl()[:80]}")
                else:
                    self.foreign_images[target.hostname or "?"] += 1

    def _own(self) -> set[str]:
        """The site's own scripts: the .js files the build wrote (search.js, the
        search index, the 繁/简 switch and its tables)."""
        return {"/" + p.relative_to(self.site.root).as_posix() for p in self.site.root.rglob("*.js")}

    def collect_reports(self) -> None:
        """CSP reports arrive asynchronously: give the last ones time, then file them."""
        time.sleep(1.5)
        for report in self.site.reports:
            page = unquote(urlsplit(report.get("document-uri", "")).path).lstrip("/")
            what = report.get("violated-directive") or report.get("effective-directive")
            sample = (report.get("script-sample") or report.get("blocked-uri") or "")[:60]
            self.found[page].append(f"CSP {what}: {sample}")
        self.site.reports.clear()

    def ran(self) -> dict[str, list[str]]:
        return {page: found for page, found in self.found.items() if found}


PROOFS = {
    # page body -> the detector that must fire on it
    "inline.html": ("<script>document.title = 'ran'</script>", "CSP"),
    "handler.html": ('<img src="/nowhere.png" onerror="document.title = \'ran\'">', "CSP"),
    "module.html": ('<script type="module">import("//xss.example/m.js")</script>', "request"),
    "refresh.html": ('<meta http-equiv="refresh" content="0;url=/elsewhere.html">', "navigat"),
    "dialog.html": ('<img src="/nowhere.png" onerror="alert(1)">', "dialog"),
    "click.html": ('<a href="javascript:alert(1)">click me</a>', "markup"),
}


def test_the_trap_fires_on_payloads_that_run(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name, (body, _) in PROOFS.items():
        (tmp_path / name).write_text(f"<!doctype html><title>{name}</title>{body}")
    (tmp_path / "elsewhere.html").write_text("<!doctype html><title>elsewhere</title>")
    site = Site(tmp_path)
    try:
        trap = Trap(browser, site)
        for name in PROOFS:
            trap.visit(name)
        time.sleep(1.0)  # the meta refresh
        trap.collect_reports()
    finally:
        site.close()
    for name, (_, detector) in PROOFS.items():
        assert any(detector in f for f in trap.found[name]), (name, trap.found[name])


def test_no_payload_runs_on_any_page(browser, hostile_site: Path) -> None:  # type: ignore[no-untyped-def]
    site = Site(hostile_site)
    pages = sorted(p.relative_to(hostile_site).as_posix() for p in hostile_site.rglob("*.html"))
    kinds = Counter(p.split("/")[0] if "/" in p else p for p in pages)
    assert kinds["posts"] == len(PAYLOADS) and kinds["sources"] > 150, kinds
    assert {"page", "archive", "tags", "index.html", "search.html"} <= set(kinds), kinds
    try:
        trap = Trap(browser, site)
        # The 繁/简 switch rewrites every page's text as it loads once chosen (the
        # choice is kept): choose 繁 first, so that each page is seen converted too.
        trap.visit("index.html")
        switched = browser.execute_script(
            "const b = document.querySelector('.zh-switch button[data-script=hant]');"
            "if (b) b.click(); return !!b;"
        )  # fmt: skip
        shown, stored = 0, 0
        for page in pages:
            trap.visit(quote(page))
            if page.startswith("posts/"):
                html = (hostile_site / page).read_text(encoding="utf-8")
                if MARKER in html.split('<div class="content">', 1)[-1]:
                    stored += 1
                    content = browser.find_element("css selector", "div.content").text
                    shown += MARKER in content
        if switched:  # the choice held on every later page
            pressed = browser.execute_script(
                "const b = document.querySelector('.zh-switch button[aria-pressed=true]');"
                "return b && b.dataset.script;"
            )  # fmt: skip
            assert pressed == "hant"
        titles_shown = search_result_pages(trap, hostile_site)
        trap.collect_reports()
    finally:
        site.close()
    ran = trap.ran()
    assert ran == {}, json.dumps(ran, ensure_ascii=False, indent=1)[:4000]
    # Every hostile title was on a search-result page the trap watched.
    assert titles_shown == len(PAYLOADS)
    # What the sanitiser kept as text is what the reader sees.
    assert shown == stored and stored >= 0.9 * len(PAYLOADS), (shown, stored)
    print(f"\n{len(PAYLOADS)} payloads as site name, title, author and content; "
          f"繁/简 switch {'on (繁)' if switched else 'absent'}; "
          f"{len(pages)} pages ({dict(kinds)}) and {len(trap.found) - len(pages)} search-result "
          f"pages showing all {titles_shown} titles: nothing ran; marker text visible on "
          f"{shown} of {stored} posts that kept it; images requested from "
          f"{dict(trap.foreign_images)}")  # fmt: skip


def search_result_pages(trap: Trap, site: Path) -> int:
    """Visit search.html?q=... for queries whose shown results (100 at most)
    together list every post; returns how many posts were shown."""
    drv = trap.drv
    drv.get(trap.site.base + "search.html")
    words = Counter(w for p in PAYLOADS for w in set(re.findall(r"[a-z0-9]{2,}", p.lower())))
    hits: dict[str, set[str]] = {}
    failed = []
    for word, _ in words.most_common():
        found = drv.execute_async_script(
            "const done = arguments[1];"
            "window.nmSearch(arguments[0]).then(r => done(r.map(x => x[1])), e => done(String(e)));",
            word,
        )  # fmt: skip
        if isinstance(found, str):  # e.g. "constructor" once found Object.prototype's
            failed.append(f"{word}: {found}")
        elif 0 < len(found) <= 100:  # all of them shown on the page
            hits[word] = set(found)
    assert failed == [], failed
    all_posts = {p.relative_to(site).as_posix() for p in (site / "posts").rglob("*.html")}
    shown: set[str] = set()
    while shown != all_posts:  # greedy: the query showing most posts not yet shown
        word = max(hits, key=lambda w: len(hits[w] - shown), default=None)
        if word is None or not hits[word] - shown:
            break
        trap.visit(f"search.html?q={quote(word)}", wait_for_results=True)
        listed = drv.execute_script(
            "return Array.from(document.querySelectorAll('#search-results a'), a => a.getAttribute('href'))"
        )  # fmt: skip
        shown |= {unquote(h) for h in listed}
        del hits[word]
    return len(shown & all_posts)
