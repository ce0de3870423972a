"""Images on the mirror: how much the archive grows, and what it costs a run.

    .venv/bin/python bench/images.py [--posts 1000] [--rounds 2] [--json FILE] [--keep DIR]

No network: every image is made here and served on 127.0.0.1 by a server in
its own process (one core for it, one for newsmirror on a 2-core machine).

1. golden: the images of the golden posts (../shared/golden and the seed).
   Each post's body goes through the sanitiser (as a run would do: lazy
   images get their real src, tracking pixels go), then each image URL is
   served from a loopback copy made here: a synthetic picture of the size
   the post's <img width/height> or the URL (w400-h300, 1024x768_,
   max/1024, w:1280/p:16x9, YouTube's hqdefault) gives, else 1200x800 for JPEG, 1000x700 for
   PNG (a screenshot: photo area, flat bars, text) and 480x270 with 12
   frames for GIF. They are served as a CDN would (JPEG quality 85). The
   real images are not available offline, so the bytes depend on this
   generator: the table says how many bits per pixel the served photos have.
2. synthetic: `--posts` posts (10 feeds) of Chinese text, each with a lead
   photo of its own (800x533 to 2048x1365, JPEG quality 85), 30% with a
   second photo, 20% with a PNG chart, 50% with their feed's banner (one per
   feed: the same bytes in many posts). Cold runs of `newsmirror run`
   (clean mode, no full text) into new archives, images on and off,
   alternating, `--rounds` times each: time and CPU of the run, bytes of
   _posts/ and assets/, and the size of `newsmirror bundle` of the archive.

Figures: bytes stored per post, the archive's growth (posts + assets against
posts alone), what the hosts served against what was stored, the formats
chosen, and the run's time with images against without (same feeds, same
machine, alternating).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from xml.sax.saxutils import escape

import lxml.html
from common import ServerProcess, _paragraph_pool, load_average, run_child, serve_until_closed
from PIL import Image, ImageDraw, ImageFilter

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = [*sorted((SHARED / "golden").glob("*.md")), *sorted((SHARED / "golden" / "variants").glob("*.md")),
          *sorted((SHARED / "seed").glob("*.md"))]  # fmt: skip
FEEDS = 10
_NEWSMIRROR = "import sys; from newsmirror.cli import main; sys.exit(main(sys.argv[1:]))"


# --- pictures -------------------------------------------------------------------


def photo_pixels(width: int, height: int, rnd: random.Random) -> Image.Image:
    """A photo-like picture: soft colour fields, sharp-edged shapes, fine grain."""

    def layer(grid: int) -> Image.Image:
        gh = max(2, grid * height // width)
        small = Image.frombytes("RGB", (grid, gh), rnd.randbytes(grid * gh * 3))
        return small.resize((width, height), Image.Resampling.BICUBIC)

    image = Image.blend(layer(6), layer(40), 0.3)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rnd.randrange(width), rnd.randrange(height), rnd.randrange(10, max(11, width // 6))
        points = [(x + rnd.randrange(-r, r), y + rnd.randrange(-r, r)) for _ in range(5)]
        draw.polygon(points, fill=tuple(rnd.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    image = Image.blend(image, layer(max(2, width // 3)), 0.12)
    return Image.blend(image, Image.effect_noise((width, height), 30).convert("RGB"), 0.10)


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def screenshot_png(width: int, height: int, rnd: random.Random) -> bytes:
    """An app screenshot: a photo area, flat bars and lines of text."""
    image = Image.new("RGB", (width, height), (245, 245, 245))
    image.paste(photo_pixels(width, height // 2, rnd), (0, height // 5))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 10), fill=(30, 60, 120))
    for y in range(height * 3 // 4, height - 12, 18):
        draw.text((16, y), "".join(rnd.choice("abcdefghij klmnop") for _ in range(width // 8)),
                  fill=(40, 40, 40))  # fmt: skip
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def chart_png(width: int, height: int, rnd: random.Random) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for x in range(20, width - 20, 24):
        top = rnd.randrange(20, height - 20)
        draw.rectangle((x, top, x + 16, height - 20), fill=(40, 100, 170))
    for y in range(20, height, 40):
        draw.line((0, y, width, y), fill=(210, 210, 210))
    draw.text((10, 4), "Figure 1", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def animated_gif(width: int, height: int, rnd: random.Random, frames: int = 12) -> bytes:
    base = photo_pixels(width, height, rnd).quantize(64)
    pictures = []
    for i in range(frames):
        frame = base.copy().convert("RGB")
        ImageDraw.Draw(frame).ellipse((i * width // frames, height // 3, i * width // frames + 40,
                                       height // 3 + 40), fill=(255, 200, 0))  # fmt: skip
        pictures.append(frame.quantize(64))
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return out.getvalue()


# --- the golden posts' images ------------------------------------------------------------

_DIMENSIONS = (
    re.compile(r"/w(\d+)-h(\d+)/"),  # Blogger
    re.compile(r"/(\d{3,4})x(\d{3,4})_"),  # CNA
)


def golden_size(url: str, width: str | None, height: str | None, kind: str) -> tuple[int, int]:
    if width and height and width.isdigit() and height.isdigit() and int(width) > 1:
        return int(width), int(height)
    for pattern in _DIMENSIONS:
        if match := pattern.search(url):
            return int(match[1]), int(match[2])
    if match := re.search(r"/w:(\d+)/p:(\d+)x(\d+)/", url):  # RFI
        w = int(match[1])
        return w, w * int(match[3]) // int(match[2])
    if match := re.search(r"/max/(\d+)/", url):  # Medium
        return int(match[1]), int(match[1]) * 2 // 3
    if "/hqdefault." in url:  # YouTube thumbnails the sanitiser puts in place of videos
        return 480, 360
    if match := re.search(r"master(\d+)\.", url):  # NYT
        return int(match[1]), int(match[1]) * 2 // 3
    return {"png": (1000, 700), "gif": (480, 270)}.get(kind, (1200, 800))


def golden_images(rnd: random.Random) -> tuple[dict[str, bytes], list[dict]]:
    """Path -> bytes to serve, and per golden post its sanitised body with
    image URLs pointing at those paths (as `{ORIGIN}/g/...`)."""
    from newsmirror.archive.sanitize import sanitize_html
    from newsmirror.site.reader import post_body_html, split_front_matter

    served: dict[str, bytes] = {}
    posts = []
    for path in GOLDEN:
        text = path.read_text(encoding="utf-8")
        front, body = split_front_matter(text)
        link = re.search(r"^from:\s*(\S+)", front or "", re.MULTILINE)
        html = sanitize_html(post_body_html(body), link[1] if link else None)
        root = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
        images = 0
        for img in root.iter("img"):
            url = img.get("src") or ""
            if not url.startswith("http"):
                continue
            kind = "png" if ".png" in url.lower() else "gif" if ".gif" in url.lower() else "jpg"
            name = hashlib.sha1(url.encode()).hexdigest()[:16] + "." + kind
            if name not in served:
                w, h = golden_size(url, img.get("width"), img.get("height"), kind)
                served[name] = (screenshot_png(w, h, rnd) if kind == "png"
                                else animated_gif(w, h, rnd) if kind == "gif"
                                else jpeg(photo_pixels(w, h, rnd)))  # fmt: skip
            img.set("src", "{ORIGIN}/g/" + name)
            images += 1
        body_html = lxml.html.tostring(root, encoding="unicode")[len("<div>") : -len("</div>")]
        posts.append({"name": path.name, "bytes": path.stat().st_size, "images": images,
                      "html": body_html, "link": link[1] if link else "https://example.org/"})  # fmt: skip
    return served, posts


# --- synthetic feeds ---------------------------------------------------------------------

_PHOTO_SIZES = ((800, 533), (1200, 800), (1600, 900), (2048, 1365))


def synthetic_site(posts: int, origin: str, seed: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(feed path -> RSS bytes, image path -> bytes) for `posts` posts in FEEDS feeds."""
    rnd = random.Random(seed)
    pool = _paragraph_pool(rnd)
    bases = [photo_pixels(2400, 1600, rnd) for _ in range(12)]
    images: dict[str, bytes] = {}
    for f in range(FEEDS):
        images[f"banner/{f}.jpg"] = jpeg(photo_pixels(1200, 300, rnd))

    def unique_photo(name: str) -> str:
        w, h = rnd.choice(_PHOTO_SIZES)
        base = rnd.choice(bases)
        x, y = rnd.randrange(base.width - w + 1), rnd.randrange(base.height - h + 1)
        picture = base.crop((x, y, x + w, y + h))
        draw = ImageDraw.Draw(picture)  # a few shapes of its own: no two photos alike
        for _ in range(6):
            cx, cy = rnd.randrange(w), rnd.randrange(h)
            draw.ellipse((cx, cy, cx + rnd.randrange(20, 200), cy + rnd.randrange(20, 200)),
                         fill=tuple(rnd.randrange(256) for _ in range(3)))  # fmt: skip
        images[name] = jpeg(picture)
        return name

    items: dict[int, list[str]] = {f: [] for f in range(FEEDS)}
    now = datetime(2024, 6, 1, tzinfo=UTC)
    for i in range(posts):
        f = i % FEEDS
        parts = [f"<p>{p}</p>" for p in rnd.sample(pool, 6)]
        figures = [unique_photo(f"p/{i}-a.jpg")]
        if rnd.random() < 0.3:
            figures.append(unique_photo(f"p/{i}-b.jpg"))
        if rnd.random() < 0.2:
            images[f"c/{i}.png"] = chart_png(rnd.choice((640, 800)), 420, rnd)
            figures.append(f"c/{i}.png")
        if rnd.random() < 0.5:
            figures.append(f"banner/{f}.jpg")
        for k, name in enumerate(figures):
            parts.insert(1 + 2 * k, f'<figure><img src="{origin}/img/{name}" alt="图"></figure>')
        link = f"{origin}/a/{f}/{i}.html"
        published = now - timedelta(minutes=7 * i)
        items[f].append(
            f"<item><title>第{i}篇 {escape(pool[i % len(pool)][:18])}</title><link>{link}</link>"
            f"<guid>{link}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<content:encoded><![CDATA[{''.join(parts)}]]></content:encoded></item>"
        )
    feeds = {
        f"feed/{f}.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>图片源 {f}</title><link>{origin}/</link><description>b</description>"
            + "".join(entries) + "</channel></rss>"
        ).encode()
        for f, entries in items.items()
    }
    return feeds, images


# --- the server -------------------------------------------------------------------------


def _serve(conn: Connection, posts: int, seed: int) -> None:
    from aiohttp import web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    golden_served, golden_posts = golden_images(random.Random(seed))
    feeds, images = synthetic_site(posts, origin, seed)
    files = {**{f"g/{k}": v for k, v in golden_served.items()}, **feeds,
             **{f"img/{k}": v for k, v in images.items()}}  # fmt: skip

    async def handle(request: web.Request) -> web.Response:
        body = files.get(request.match_info["path"])
        if body is None:
            raise web.HTTPNotFound()
        kind = request.match_info["path"].rsplit(".", 1)[-1]
        types = {"xml": "application/rss+xml", "jpg": "image/jpeg", "png": "image/png",
                 "gif": "image/gif"}  # fmt: skip
        return web.Response(body=body, content_type=types.get(kind, "application/octet-stream"))

    app = web.Application()
    app.router.add_get("/{path:.+}", handle)

    def ready() -> dict:
        photo_bits = [
            len(v) * 8 / (Image.open(io.BytesIO(v)).width * Image.open(io.BytesIO(v)).height)
            for k, v in images.items() if k.startswith("p/")
        ]  # fmt: skip
        return {"origin": origin, "golden": golden_posts,
                "golden_served": {k: len(v) for k, v in golden_served.items()},
                "synthetic_images": {k: len(v) for k, v in images.items()},
                "photo_bits_per_pixel": statistics.median(photo_bits)}  # fmt: skip

    asyncio.run(serve_until_closed(app, [sock], conn, ready, backlog=512))


class ImageServer:
    def __init__(self, posts: int, seed: int = 7) -> None:
        self._server = ServerProcess(_serve, (posts, seed), "image server", 1800)

    def __enter__(self) -> dict:
        return self._server.start()

    def __exit__(self, *exc: object) -> None:
        self._server.close()


# --- the measurements ---------------------------------------------------------------------


@dataclass
class GoldenRow:
    post: str
    post_bytes: int
    images: int
    served_bytes: int
    stored_bytes: int
    left_on_host: int


def measure_golden(info: dict, work: Path) -> list[GoldenRow]:
    """Mirror each golden post's images into one archive, as a run would."""
    from newsmirror.archive.config import ImageSettings
    from newsmirror.ingest.fetch import Fetcher, FetchSettings
    from newsmirror.ingest.images import ImageStore
    from newsmirror.ingest.report import ImageTally

    archive = work / "golden"
    archive.mkdir()

    async def go() -> list[GoldenRow]:
        store = ImageStore(archive, ImageSettings())
        rows = []
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            for post in info["golden"]:
                tally = ImageTally()
                html = post["html"].replace("{ORIGIN}", info["origin"])
                # A fetch with no feed origin is not filtered (loopback copies of public images).
                await store.mirror(html, fetcher, page_url=post["link"], tally=tally)
                rows.append(GoldenRow(post["name"], post["bytes"], post["images"],
                                      tally.bytes_fetched, tally.bytes_stored, len(tally.skipped)))  # fmt: skip
        return rows

    return asyncio.run(go())


def folder_bytes(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return sum(p.stat().st_size for p in files), len(files)


def run_once(info: dict, work: Path, name: str, images: bool) -> dict:
    archive = work / name
    archive.mkdir()
    subs = [{"site": f"图片源{f}", "url": f"{info['origin']}/feed/{f}.xml"} for f in range(FEEDS)]
    (archive / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
    (archive / "newsmirror.toml").write_text(
        f"[settings]\nmirror_images = {'true' if images else 'false'}\n", encoding="utf-8"
    )
    run = run_child([sys.executable, "-c", _NEWSMIRROR, "run", "--archive", str(archive),
                     "--content", "clean", "--fulltext", "never", "-q"])  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"newsmirror run failed ({run.returncode}): {run.stderr[-2000:]}")
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    posts_bytes, posts = folder_bytes(archive / "_posts")
    assets_bytes, assets = folder_bytes(archive / "assets")
    bundle = bundle_bytes(archive, work) if images else None
    shutil.rmtree(archive)
    return {"images": images, "seconds": run.seconds, "cpu_seconds": run.cpu_seconds,
            "posts": posts, "posts_bytes": posts_bytes, "assets_bytes": assets_bytes,
            "asset_files": assets, "report": report["summary"]["images"],
            "bundle_bytes": bundle}  # fmt: skip


def bundle_bytes(archive: Path, work: Path) -> int:
    """The size of `newsmirror bundle` of the archive (its site with the images)."""
    from newsmirror.site.bundle import bundle_site

    out = work / "bundle.zip"
    size = bundle_site(archive, out).bytes
    out.unlink()
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", type=Path, help="work folder (kept); default: a temp one")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nm-bench-images-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# bench/images.py: {args.posts} synthetic posts, {args.rounds} rounds; "
          f"{load_average()} (shared machine: timings are noisy)")  # fmt: skip
    with ImageServer(args.posts) as info:
        golden = measure_golden(info, work)
        runs = []
        for r in range(args.rounds):
            for images in (True, False):
                runs.append(run_once(info, work, f"run-{r}-{'on' if images else 'off'}", images))
    result = {"golden": [asdict(g) for g in golden], "runs": runs,
              "photo_bits_per_pixel": info["photo_bits_per_pixel"],
              "served_images": len(info["synthetic_images"]),
              "served_bytes": sum(info["synthetic_images"].values())}  # fmt: skip
    print_golden(golden)
    print_synthetic(result, args.posts)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_golden(rows: list[GoldenRow]) -> None:
    print("\n## golden posts (synthetic loopback copies of their images)")
    print(f"{'post':<44} {'post KB':>8} {'imgs':>5} {'served KB':>10} {'stored KB':>10} {'left':>5}")
    for r in rows:
        if r.images:
            print(f"{r.post[:44]:<44} {r.post_bytes / 1e3:>8.1f} {r.images:>5} "
                  f"{r.served_bytes / 1e3:>10.1f} {r.stored_bytes / 1e3:>10.1f} {r.left_on_host:>5}")  # fmt: skip
    posts = sum(r.post_bytes for r in rows)
    stored = sum(r.stored_bytes for r in rows)
    served = sum(r.served_bytes for r in rows)
    with_images = sum(1 for r in rows if r.images)
    print(f"total: {len(rows)} posts ({with_images} with images), {posts / 1e3:.1f} KB of posts; "
          f"images served {served / 1e3:.1f} KB, stored {stored / 1e3:.1f} KB "
          f"({stored / max(1, served):.2f} of served); archive growth x{(posts + stored) / posts:.2f}; "
          f"{stored / len(rows) / 1e3:.1f} KB of images per post")  # fmt: skip


def print_synthetic(result: dict, posts: int) -> None:
    runs = result["runs"]
    on = [r for r in runs if r["images"]]
    off = [r for r in runs if not r["images"]]
    print(f"\n## {posts} synthetic posts: {result['served_images']} distinct images served, "
          f"{result['served_bytes'] / 1e6:.1f} MB (photos: median "
          f"{result['photo_bits_per_pixel']:.2f} bits per pixel, JPEG quality 85)")  # fmt: skip
    print(f"{'run':<8} {'seconds':>8} {'cpu s':>8} {'posts':>6} {'_posts MB':>10} {'assets MB':>10} "
          f"{'files':>6} {'stored':>7} {'reused':>7} {'left':>5}  formats")  # fmt: skip
    for r in runs:
        rep = r["report"]
        print(f"{'images' if r['images'] else 'none':<8} {r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f} "
              f"{r['posts']:>6} {r['posts_bytes'] / 1e6:>10.2f} {r['assets_bytes'] / 1e6:>10.2f} "
              f"{r['asset_files']:>6} {rep['stored']:>7} {rep['reused']:>7} {rep['skipped']:>5}  "
              f"{json.dumps(rep['formats'])}")  # fmt: skip
    first = on[0]
    per_post = first["assets_bytes"] / max(1, first["posts"])
    growth = (first["posts_bytes"] + first["assets_bytes"]) / max(1, first["posts_bytes"])
    wall = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(on, off, strict=True))
    cpu = statistics.median(a["cpu_seconds"] / b["cpu_seconds"] for a, b in zip(on, off, strict=True))
    print(f"offline bundle of the archive with its images: {first['bundle_bytes'] / 1e6:.1f} MB")
    print(f"images stored per post: {per_post / 1e3:.1f} KB (served: "
          f"{result['served_bytes'] / max(1, posts) / 1e3:.1f} KB); archive growth x{growth:.2f}; "
          f"run with images / without: wall x{wall:.2f}, CPU x{cpu:.2f} (median of {len(on)} pairs)")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
