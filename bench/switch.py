"""The 繁/简 switch: the bytes it adds, and how long converting a long post takes
in Chromium, with the CPU throttled as on a phone.

    .venv/bin/python bench/switch.py [--rounds 5] [--rates 1,4,6] [--json FILE]

A site is built from the golden posts (../shared/golden). Bytes: what every
page gains (the script tag, the lang attributes of header and footer), the
switch script every page loads, and the tables loaded on the first switch
(raw and gzip -6, as a web server would send them). Time: real headless
Chromium (Debian's) opens the longest simplified post over file://, its CPU
throttled by DevTools (Emulation.setCPUThrottlingRate: 4x and 6x slow a
desktop core to a mid-range and a low-end phone, as Chrome's DevTools
presets do), then switches it to traditional; and the longest traditional
post to simplified. Each round is a fresh page load. Reported per rate, as
medians: loading the table (fetch and run its script), building its maps,
and converting the page's text; the sum is what a reader waits for on the
first switch of a page (later pages pay all three again: a page keeps no
state; "maps" is the table's start, the maps of phrase groups are made while
converting, as characters come). The machine is shared (2 cores) with other
work: timings are noisy, so the range of the rounds is printed too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chromium import chromium  # noqa: E402

from newsmirror.site import build_site  # noqa: E402
from newsmirror.site.reader import read_post  # noqa: E402

GOLDEN = ROOT.parent / "shared" / "golden"


def longest(posts: list[Path], lang: str) -> Path:
    sized = [(len(re.sub(r"<[^>]+>", "", read_post(p)[1])), p) for p in posts
             if read_post(p)[0].lang == lang]  # fmt: skip
    return max(sized)[1]


def page_of(site: Path, post: Path) -> Path:
    title = read_post(post)[0].title
    for page in (site / "posts").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "<title>" in text and title.replace('"', "&#34;") in text.split("</h1>")[0]:
            return page
    raise SystemExit(f"no page for {post.name}")


def sizes(site: Path) -> dict:
    def both(path: Path) -> dict:
        data = path.read_bytes()
        return {"raw": len(data), "gzip": len(gzip.compress(data, 6))}

    index = (site / "index.html").read_text(encoding="utf-8")
    tag = re.search(r'<script src="[^"]*zh-switch\.js" defer></script>\n?', index).group(0)
    langs = len(re.findall(r'<(?:header|footer) class="site" lang="[^"]*"', index))
    return {
        "per_page": len(tag.encode()) + langs * len(' lang="zh-Hans"'),
        "switch_js": both(site / "static" / "zh-switch.js"),
        "s2t_table": both(site / "static" / "opencc-s2t.js"),
        "t2s_table": both(site / "static" / "opencc-t2s.js"),
    }


_SWITCH = """
var done = arguments[arguments.length - 1], started = performance.now();
nmOpenCC.show(arguments[0], function () {
  var t = nmOpenCC.timings, name = arguments[0];
  done({total: performance.now() - started, timings: t});
});
"""


def measure(page: Path, target: str, rates: list[int], rounds: int, profile: Path) -> dict:
    name = "s2t" if target == "hant" else "t2s"
    out: dict = {}
    with chromium(profile, width=412, height=900) as driver:
        driver.set_script_timeout(120)
        for rate in rates:
            rows = []
            for _ in range(rounds):
                driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 1})
                driver.get(page.resolve().as_uri())
                driver.execute_script("localStorage.clear()")
                driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": rate})
                got = driver.execute_async_script(_SWITCH, target)
                t = got["timings"]
                rows.append({"load": t[f"{name}-load"] - t[f"{name}-parse"],
                             "parse": t[f"{name}-parse"], "convert": t["convert"],
                             "total": got["total"]})  # fmt: skip
            out[rate] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            out[rate]["total_min"] = min(r["total"] for r in rows)
            out[rate]["total_max"] = max(r["total"] for r in rows)
            out[rate]["text_chars"] = driver.execute_script(
                "return document.querySelector('article').textContent.length")
        driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 1})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rates", default="1,4,6")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    work = Path(tempfile.mkdtemp(prefix="nm-bench-switch-"))
    try:
        archive = work / "archive"
        (archive / "_posts").mkdir(parents=True)
        posts = sorted(GOLDEN.glob("*.md"))
        for p in posts:
            shutil.copy(p, archive / "_posts" / p.name)
        build_site(archive)
        site = archive / "_site"
        result = {"bytes": sizes(site), "runs": {}}
        for lang, target in (("zh-Hans", "hant"), ("zh-Hant", "hans")):
            post = longest(posts, lang)
            page = page_of(site, post)
            result["runs"][target] = {"post": post.name,
                                      "rates": measure(page, target, rates, args.rounds,
                                                       work / f"profile-{target}")}  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(result, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def report(result: dict, rounds: int) -> None:
    b = result["bytes"]
    print(f"# bench/switch.py: {rounds} rounds per rate; shared 2-core machine, timings are noisy")
    print(f"every page: +{b['per_page']} bytes of HTML; zh-switch.js {b['switch_js']['raw']} bytes "
          f"({b['switch_js']['gzip']} gzip), loaded by every page")  # fmt: skip
    for name in ("s2t", "t2s"):
        t = b[f"{name}_table"]
        print(f"opencc-{name}.js on first switch: {t['raw'] / 1e3:.0f} KB ({t['gzip'] / 1e3:.0f} KB gzip)")
    for target, run in result["runs"].items():
        first = next(iter(run["rates"].values()))
        print(f"\n{'to traditional' if target == 'hant' else 'to simplified'}: {run['post']} "
              f"({first['text_chars']} characters in the article)")  # fmt: skip
        print(f"{'CPU':>5} {'load ms':>9} {'maps ms':>9} {'convert ms':>11} {'total ms':>9}"
              f" {'(min-max)':>12}")  # fmt: skip
        for rate, m in run["rates"].items():
            print(f"{str(rate) + 'x':>5} {m['load']:>9.0f} {m['parse']:>9.0f} {m['convert']:>11.0f} "
                  f"{m['total']:>9.0f} {m['total_min']:>5.0f}-{m['total_max']:.0f}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
