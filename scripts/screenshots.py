"""Screenshots of the built site for docs/screenshots/: home, a post, a source and search,
1280 and 390 px wide, light (and dark at 390 px), in Debian's headless Chromium (no
network: remote images fail, as they do for readers who cannot reach their hosts).

    .venv/bin/python scripts/screenshots.py [OUT]

The site is built from the golden and seed posts in ../shared; a third of them get a
local image first, as `mirror_images` gives them (remote images cannot load here).
"""

from __future__ import annotations

import shutil
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def png(w: int, h: int, seed: int) -> bytes:
    """A soft two-colour gradient, as a stand-in photo."""
    a = ((seed * 53) % 200 + 30, (seed * 97) % 200 + 30, (seed * 31) % 200 + 30)
    b = ((seed * 17) % 120 + 100, (seed * 71) % 120 + 90, (seed * 43) % 120 + 110)
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            t = (x / w + y / h) / 2
            row += bytes(int(a[i] + (b[i] - a[i]) * t) for i in range(3))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))  # fmt: skip


def demo_archive(root: Path) -> Path:
    from newsmirror.site import build_site

    posts = root / "_posts"
    posts.mkdir(parents=True)
    (root / "assets" / "demo").mkdir(parents=True)
    sources = sorted((SHARED / "golden").glob("*.md")) + sorted((SHARED / "seed").glob("*.md"))
    for i, p in enumerate(sources):
        text = p.read_text(encoding="utf-8")
        if i % 3 == 0 or "北約" in p.name:
            (root / "assets" / "demo" / f"{i}.png").write_bytes(png(320, 240, i))
            text = text.replace("<div>", f'<div>\n<p><img src="/assets/demo/{i}.png" alt="配图"></p>', 1)
        (posts / p.name).write_text(text, encoding="utf-8")
    (root / "newsmirror.toml").write_text('[site]\ntitle = "新闻镜像"\nlang = "zh-Hans"\npage_size = 10\n',
                                          encoding="utf-8")  # fmt: skip
    build_site(root)
    return root / "_site"


def shoot(site: Path, out: Path) -> list[Path]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = site.resolve().as_uri() + "/"
    post = next(site.glob("posts/2023/01/北約*.html")).resolve().as_uri()
    shots = []
    for width, height, scheme in ((1280, 900, "light"), (390, 844, "light"), (390, 844, "dark")):
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--force-device-scale-factor=1",
                     # Remote hosts fail at once, as blocked ones do for many readers
                     # (here there is no network): their thumbnails are dropped.
                     "--host-resolver-rules=MAP * ~NOTFOUND",
                     f"--window-size={max(width, 500)},{height}"):  # fmt: skip
            opts.add_argument(flag)
        if scheme == "dark":
            opts.add_argument("--force-dark-mode")
            opts.add_argument("--blink-settings=preferredColorScheme=0")
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        # Headless windows are at least 500 px wide: a phone's width is emulated.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})  # fmt: skip
        try:
            driver.get(base + "sources/index.html")
            source = driver.find_element(By.CSS_SELECTOR, "ul.terms li a").get_attribute("href")
            pages = {"home": base + "index.html", "post": post, "source": source,
                     "search": base + "search.html?q=" + quote("乌克兰")}  # fmt: skip
            for name, url in pages.items():
                driver.get(url)
                if name == "search":
                    WebDriverWait(driver, 10).until(
                        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li"))  # fmt: skip
                time.sleep(0.3)
                path = out / f"{name}-{width}{'-dark' if scheme == 'dark' else ''}.png"
                driver.save_screenshot(str(path))
                shots.append(path)
        finally:
            driver.quit()
    return shots


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nm-shots-"))
    try:
        for path in shoot(demo_archive(work / "archive"), out):
            print(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
