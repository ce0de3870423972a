"""Images into assets/: real fetches from 127.0.0.1, real Pillow decoding and encoding."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import re
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from conftest import write_subs
from feeds import rss, rss_item
from loopback import LoopbackServer
from PIL import Image, ImageDraw, ImageFilter

from newsmirror.archive.config import ImageSettings, load_settings
from newsmirror.archive.sanitize import sanitize_html
from newsmirror.cli import main
from newsmirror.ingest.encode import encode_image
from newsmirror.ingest.fetch import Fetcher, FetchSettings
from newsmirror.ingest.images import ImageStore, mirror_images, sniff_image_type
from newsmirror.ingest.report import ImageTally
from newsmirror.models import ConfigError

PAGE = "https://news.example.org/a.html"


def photo(width: int, height: int, seed: int = 0, quality: int = 92) -> bytes:
    """A photo-like JPEG: smooth colour fields with fine grain, as a camera gives."""
    rnd = random.Random(seed)
    small = Image.new("RGB", (16, 9))
    small.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(16 * 9)])
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, grain, 0.12).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def graphic(width: int, height: int, fmt: str = "PNG") -> bytes:
    """A chart-like image: few flat colours and lines."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i in range(0, width, 40):
        draw.rectangle((i, height - (i * 7) % height, i + 30, height), fill=(30, 90, 160))
        draw.line((0, i % height, width, i % height), fill=(200, 200, 200))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def animated_gif(width: int, height: int, frames: int = 4) -> bytes:
    pictures = [Image.new("RGB", (width, height), (i * 60, 20, 200 - i * 40)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return out.getvalue()


def raw_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size built with zlib (a huge one compresses to little)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = (b"\x00" + b"\x00" * ((width + 7) // 8)) * height
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")  # fmt: skip


def page_for(html: str) -> str:
    """A page on the images' own host:port (the loopback server): a private-address
    policy lets a page's images come from where the page does."""
    found = re.search(r"http://127\.0\.0\.1:\d+", html)
    return found.group(0) + "/a.html" if found else PAGE


def mirror(html: str, archive: Path, settings: ImageSettings | None = None) -> tuple[str, ImageTally]:
    async def go() -> tuple[str, ImageTally]:
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            return await mirror_images(html, fetcher, archive, page_url=page_for(html),
                                       settings=settings)  # fmt: skip

    return asyncio.run(go())


def srcs(html: str) -> list[tuple[str | None, str | None]]:
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return [(i.get("src"), i.get("data-original-src")) for i in root.iter("img")]


def stored(archive: Path, src: str) -> bytes:
    return (archive / src.lstrip("/")).read_bytes()


def asset_files(archive: Path) -> list[Path]:
    return sorted(p for p in (archive / "assets").rglob("*") if p.is_file())


def test_sniffing_uses_bytes_not_names() -> None:
    assert sniff_image_type(graphic(8, 8)) == "image/png"
    assert sniff_image_type(photo(8, 8)) == "image/jpeg"
    assert sniff_image_type(b"GIF89a....") == "image/gif"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"<html>not an image</html>") is None
    assert sniff_image_type(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is None


def test_images_are_stored_once_by_the_hash_of_the_served_bytes(
    server: LoopbackServer, archive: Path
) -> None:
    pic = photo(640, 360)
    a = server.route("/a.jpg", pic, headers={"Content-Type": "image/jpeg"})
    b = server.route("/same-bytes.jpg", pic, headers={"Content-Type": "image/jpeg"})
    c = server.route("/c.png", graphic(300, 200), headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    html = f'<p>x</p><img src="{a}" alt="a"><img src="{b}"><img src="{c}"><img src="{a}">'
    out, tally = mirror(html, archive)
    assert tally.skipped == [] and tally.stored == 2 and tally.reused == 1
    digest = hashlib.sha256(pic).hexdigest()
    got = srcs(out)
    assert got[0][0] == got[1][0] == got[3][0]
    assert got[0][0].startswith(f"/assets/{digest[:2]}/{digest}.")
    assert [o for _, o in got] == [a, b, c, a]
    assert len(asset_files(archive)) == 2
    assert len(server.requests_for("/a.jpg")) == 1  # the repeat in the post is not fetched again
    # A second post with the same image reuses the stored file: no decode, no write.
    path = archive / got[0][0].lstrip("/")
    mtime = path.stat().st_mtime_ns
    out2, tally2 = mirror(f'<img src="{b}">', archive)
    assert srcs(out2) == [(got[0][0], b)] and tally2.stored == 0 and tally2.reused == 1
    assert path.stat().st_mtime_ns == mtime
    # The rewritten post passes the sanitiser unchanged in its image attributes.
    assert srcs(sanitize_html(out, None)) == srcs(out)


def test_wide_photos_are_scaled_and_stored_in_the_smaller_format(
    server: LoopbackServer, archive: Path
) -> None:
    pic = photo(2400, 1600, quality=95)
    url = server.route("/wide.jpg", pic, headers={"Content-Type": "image/jpeg"})
    out, tally = mirror(f'<img src="{url}">', archive, ImageSettings(image_max_width=1000))
    [(src, _)] = srcs(out)
    data = stored(archive, src)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1000, 667)
        fmt = image.format
    assert src.endswith({"WEBP": ".webp", "JPEG": ".jpg"}[fmt])
    assert len(data) < len(pic) / 3
    assert tally.bytes_fetched == len(pic) and tally.bytes_stored == len(data)
    # What was stored is the smaller of the two re-encodings of the scaled picture.
    with Image.open(io.BytesIO(pic)) as image:
        scaled = image.resize((1000, 667), Image.Resampling.LANCZOS)
    sizes = {}
    for name, options in (("WEBP", {"quality": 80, "method": 4}),
                          ("JPEG", {"quality": 80, "optimize": True, "progressive": True})):  # fmt: skip
        buf = io.BytesIO()
        scaled.save(buf, name, **options)
        sizes[name] = len(buf.getvalue())
    assert len(data) == min(sizes.values()) and fmt == min(sizes, key=sizes.__getitem__)


def test_an_already_small_file_is_kept_as_served() -> None:
    squeezed = photo(600, 400, quality=20)
    result = encode_image(squeezed, "image/jpeg", ImageSettings())
    assert result.how == "original" and result.data == squeezed


def test_graphics_stay_lossless_and_photos_saved_as_png_do_not() -> None:
    chart = graphic(800, 500)
    encoded = encode_image(chart, "image/png", ImageSettings())
    assert encoded.how in ("png", "webp-lossless", "original")
    with Image.open(io.BytesIO(encoded.data)) as got, Image.open(io.BytesIO(chart)) as want:
        assert got.convert("RGB").tobytes() == want.convert("RGB").tobytes()
    with Image.open(io.BytesIO(photo(800, 500))) as image:
        buf = io.BytesIO()
        image.save(buf, "PNG")
    photo_png = buf.getvalue()
    encoded = encode_image(photo_png, "image/png", ImageSettings())
    assert encoded.how in ("webp", "jpeg") and len(encoded.data) < len(photo_png) / 4


def test_animated_gifs_are_kept_as_they_are_and_still_ones_re_encoded() -> None:
    moving = animated_gif(1600, 100)
    with Image.open(io.BytesIO(moving)) as image:
        assert image.n_frames == 4
    result = encode_image(moving, "image/gif", ImageSettings(image_max_width=800))
    assert result.how == "animated" and result.data == moving and result.mime == "image/gif"
    still = graphic(1600, 400, "GIF")
    result = encode_image(still, "image/gif", ImageSettings(image_max_width=800))
    assert result.mime in ("image/png", "image/webp")
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (800, 200)


def test_exif_orientation_is_applied_before_the_exif_is_dropped() -> None:
    image = Image.new("RGB", (300, 100), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif, quality=95)
    result = encode_image(buf.getvalue(), "image/jpeg", ImageSettings())
    with Image.open(io.BytesIO(result.data)) as got:
        assert got.size == (100, 300)


def test_what_is_left_on_its_host_is_reported_with_why(
    server: LoopbackServer, archive: Path
) -> None:
    big = server.route("/big.jpg", photo(1200, 800), headers={"Content-Type": "image/jpeg"})
    lie = server.route("/lie.png", "<html><body>login</body></html>", headers={"Content-Type": "image/png"})  # fmt: skip
    missing = server.route("/gone.png", "not found", status=404)
    svg = server.route("/x.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                       headers={"Content-Type": "image/svg+xml"})  # fmt: skip
    broken = server.route("/broken.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 200, headers={"Content-Type": "image/jpeg"})  # fmt: skip
    bomb = server.route("/bomb.png", raw_png(5000, 5000), headers={"Content-Type": "image/png"})
    ok = server.route("/ok.png", graphic(40, 40), headers={"Content-Type": "image/png"})
    urls = (big, lie, missing, svg, broken, bomb, ok)
    html = "".join(f'<img src="{u}">' for u in urls)
    out, tally = mirror(html, archive, ImageSettings(image_max_bytes=60_000, image_max_pixels=10_000_000))
    got = srcs(out)
    assert [s for s, _ in got[:6]] == list(urls[:6])
    assert got[6][0].startswith("/assets/")
    why = dict(line.split(": ", 1) for line in tally.skipped)
    assert set(why) == set(urls[:6])
    assert "over the 60000-byte cap per image" in why[big]
    assert why[lie] == "not an image (served as image/png)"
    assert "404" in why[missing]
    assert why[svg].startswith("not an image")
    assert "cannot decode" in why[broken]
    assert "5000x5000 pixels, over the 10000000-pixel cap" in why[bomb]
    assert tally.skipped_by_reason == {"too large": 2, "not an image": 2, "download failed": 1,
                                       "not decodable": 1}  # fmt: skip
    assert all("\n" not in line for line in tally.skipped)
    files = asset_files(archive)
    assert len(files) == 1 and not any(p.name.startswith(".nm-tmp-") for p in files)


def test_the_archive_budget_stops_new_images(server: LoopbackServer, archive: Path) -> None:
    first = server.route("/1.jpg", photo(500, 300, seed=1), headers={"Content-Type": "image/jpeg"})
    second = server.route("/2.jpg", photo(500, 300, seed=2), headers={"Content-Type": "image/jpeg"})
    out, tally = mirror(f'<img src="{first}">', archive, ImageSettings())
    used = sum(p.stat().st_size for p in asset_files(archive))
    settings = ImageSettings(image_budget=used + 100)  # room for a few bytes, not an image
    out, tally = mirror(f'<img src="{first}"><img src="{second}">', archive, settings)
    assert [s.startswith("/assets/") for s, _ in srcs(out)] == [True, False]
    assert tally.reused == 1 and tally.skipped_by_reason == {"budget used up": 1}
    assert f"the archive's image budget ({used + 100} bytes) is used up" in tally.skipped[0]
    assert len(asset_files(archive)) == 1


def test_per_post_cap(server: LoopbackServer, archive: Path) -> None:
    urls = [server.route(f"/{i}.png", graphic(20 + i, 20), headers={"Content-Type": "image/png"})
            for i in range(4)]  # fmt: skip
    out, tally = mirror("".join(f'<img src="{u}">' for u in urls), archive, ImageSettings(images_per_post=3))
    got = [s for s, _ in srcs(out)]
    assert all(s.startswith("/assets/") for s in got[:3]) and got[3] == urls[3]
    assert tally.skipped == [f"{urls[3]}: over 3 images in one post"]


def test_relative_and_data_images(server: LoopbackServer, archive: Path) -> None:
    server.route("/rel/p.png", graphic(30, 30), headers={"Content-Type": "image/png"})

    async def go() -> tuple[str, ImageTally]:
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            return await mirror_images(
                '<img src="p.png"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
                fetcher,
                archive,
                page_url=server.url("/rel/index.html"),
            )

    out, tally = asyncio.run(go())
    got = srcs(out)
    assert got[0][0].startswith("/assets/") and got[0][1] == server.url("/rel/p.png")
    assert got[1][0].startswith("data:image/gif")
    assert tally.skipped == []


def test_no_images_leaves_html_untouched(archive: Path) -> None:
    html = "<p>No images, {{ liquid }}</p>"
    out, tally = mirror(html, archive)
    assert out == html and tally == ImageTally()


def test_a_run_shares_one_fetch_per_url_across_feeds(server: LoopbackServer, archive: Path) -> None:
    logo = server.route("/logo.png", graphic(64, 64), headers={"Content-Type": "image/png"})
    slow = server.route("/slow.jpg", photo(300, 200), headers={"Content-Type": "image/jpeg"})

    async def go() -> list[ImageTally]:
        store = ImageStore(archive, ImageSettings())
        tallies = [ImageTally() for _ in range(6)]
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            await asyncio.gather(*(
                store.mirror(f'<img src="{logo}"><img src="{slow}">', fetcher, page_url=page_for(logo),
                             tally=t) for t in tallies))  # fmt: skip
        return tallies

    tallies = asyncio.run(go())
    assert len(server.requests_for("/logo.png")) == 1 and len(server.requests_for("/slow.jpg")) == 1
    assert sum(t.stored for t in tallies) == 2 and sum(t.reused for t in tallies) == 10


def test_settings_are_checked(archive: Path) -> None:
    (archive / "newsmirror.toml").write_text("[settings]\nimage_max_width = 640\nimage_budget = 1000000\n")
    settings = load_settings(archive)
    assert settings.images.image_max_width == 640 and settings.images.image_budget == 1_000_000
    assert settings.feed_defaults.mirror_images is True  # on by default
    for bad in ("image_quality = 0", "image_budget = -1", 'image_max_width = "wide"',
                "image_max_bytes = true"):  # fmt: skip
        (archive / "newsmirror.toml").write_text(f"[settings]\n{bad}\n")
        with pytest.raises(ConfigError, match=bad.split(" ")[0]):
            load_settings(archive)


def feed_with_images(server: LoopbackServer, archive: Path) -> tuple[str, str]:
    """A feed whose post holds two images on the feed's own host:port, one gone."""
    pic = server.route("/img/photo.jpg", photo(1800, 1000), headers={"Content-Type": "image/jpeg"})
    gone = server.route("/img/gone.jpg", "gone", status=404)
    body = f'<p>Text.</p><img src="{pic}" alt="photo"><p>More.</p><img src="{gone}">'
    feed = rss([rss_item(title="With images", link=server.url("/post/1"), content_encoded=body,
                         published=datetime(2024, 5, 1, tzinfo=UTC))])  # fmt: skip
    url = server.route("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
    write_subs(archive, [("Pictures", url)])
    return pic, gone


def test_a_run_mirrors_images_by_default_and_reports_the_rest(
    server: LoopbackServer, archive: Path
) -> None:
    pic, gone = feed_with_images(server, archive)
    assert main(["run", "--archive", str(archive), "--log-format", "json"]) == 0
    [post] = list((archive / "_posts").iterdir())
    text = post.read_text(encoding="utf-8")
    src = next(s for s, o in srcs(text.split("\n---\n", 1)[1]) if o == pic)
    assert src.startswith("/assets/") and (archive / src.lstrip("/")).is_file()
    assert f'src="{gone}"' in text
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    images = report["summary"]["images"]
    assert images["stored"] == 1 and images["skipped"] == 1
    assert images["skipped_by_reason"] == {"download failed": 1}
    assert 0 < images["bytes_stored"] < images["bytes_fetched"]
    [feed] = report["feeds"]
    assert feed["images"]["skipped"][0].startswith(f"{gone}: ") and "404" in feed["images"]["skipped"][0]


def test_mirror_images_false_leaves_images_on_their_hosts(
    server: LoopbackServer, archive: Path
) -> None:
    pic, _ = feed_with_images(server, archive)
    (archive / "newsmirror.toml").write_text("[settings]\nmirror_images = false\n")
    assert main(["run", "--archive", str(archive)]) == 0
    [post] = list((archive / "_posts").iterdir())
    assert f'src="{pic}"' in post.read_text(encoding="utf-8")
    assert not (archive / "assets").exists() and not server.requests_for("/img/photo.jpg")


def test_images_on_another_private_host_follow_the_fetch_policy(
    server: LoopbackServer, archive: Path
) -> None:
    with LoopbackServer() as other:  # 127.0.0.1 on another port: not the feed's host:port
        far = other.route("/far.jpg", photo(300, 200), headers={"Content-Type": "image/jpeg"})
        feed = rss([rss_item(title="Far image", link=server.url("/post/far"),
                             content_encoded=f'<p>x</p><img src="{far}">',
                             published=datetime(2024, 5, 2, tzinfo=UTC))])  # fmt: skip
        url = server.route("/far.xml", feed, headers={"Content-Type": "application/rss+xml"})
        write_subs(archive, [("Far", url)])
        assert main(["run", "--archive", str(archive), "-q"]) == 0
        report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
        [outcome] = report["feeds"]
        assert any(far in line for line in outcome["refused"])  # reported once, as refused
        assert outcome["images"]["skipped"] == [] and not other.requests_for("/far.jpg")
        [post] = list((archive / "_posts").iterdir())
        assert f'src="{far}"' in post.read_text(encoding="utf-8")

        (archive / "newsmirror.toml").write_text("[settings]\nallow_private_networks = true\n")
        shutil.rmtree(archive / "_posts")
        shutil.rmtree(archive / ".newsmirror")
        assert main(["run", "--archive", str(archive), "-q"]) == 0
        [post] = list((archive / "_posts").iterdir())
        assert 'src="/assets/' in post.read_text(encoding="utf-8")
