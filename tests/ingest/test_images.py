from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from pathlib import Path

import lxml.html
from loopback import LoopbackServer

from newsmirror.archive.sanitize import sanitize_html
from newsmirror.ingest.fetch import Fetcher, FetchSettings
from newsmirror.ingest.images import ImageLimits, mirror_images, sniff_image_type

PAGE = "https://news.example.org/a.html"


def png(width: int, height: int, seed: int = 0) -> bytes:
    """A valid PNG (8-bit greyscale) built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes((x * 7 + y + seed) % 256 for x in range(width)) for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows, 0))
        + chunk(b"IEND", b"")
    )


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)


DEFAULT_LIMITS = ImageLimits()


def mirror(html: str, archive: Path, limits: ImageLimits = DEFAULT_LIMITS) -> tuple[str, list[str]]:
    async def go() -> tuple[str, list[str]]:
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            return await mirror_images(html, fetcher, archive, page_url=PAGE, limits=limits)

    return asyncio.run(go())


def srcs(html: str) -> list[tuple[str | None, str | None]]:
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return [(i.get("src"), i.get("data-original-src")) for i in root.iter("img")]


def test_sniffing_uses_bytes_not_names() -> None:
    assert sniff_image_type(png(2, 2)) == "image/png"
    assert sniff_image_type(JPEG) == "image/jpeg"
    assert sniff_image_type(b"GIF89a....") == "image/gif"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"<html>not an image</html>") is None
    assert sniff_image_type(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is None


def test_images_are_stored_by_hash_once_and_rewritten(
    server: LoopbackServer, archive: Path
) -> None:
    pic = png(16, 16)
    a = server.route("/a.png", pic, headers={"Content-Type": "image/png"})
    b = server.route("/same-bytes.png", pic, headers={"Content-Type": "image/png"})
    j = server.route("/c.jpg", JPEG, headers={"Content-Type": "application/octet-stream"})
    html = f'<p>x</p><img src="{a}" alt="a"><img src="{b}"><img src="{j}"><img src="{a}">'
    out, warnings = mirror(html, archive)
    assert warnings == []
    digest = hashlib.sha256(pic).hexdigest()
    png_path = f"/assets/{digest[:2]}/{digest}.png"
    jpg_digest = hashlib.sha256(JPEG).hexdigest()
    assert srcs(out) == [
        (png_path, a),
        (png_path, b),
        (f"/assets/{jpg_digest[:2]}/{jpg_digest}.jpg", j),
        (png_path, a),
    ]
    assert (archive / png_path.lstrip("/")).read_bytes() == pic
    assert sorted(p.name for p in (archive / "assets").rglob("*") if p.is_file()) == sorted(
        [f"{digest}.png", f"{jpg_digest}.jpg"]
    )
    assert len(server.requests_for("/a.png")) == 1  # the repeat in the post is not fetched again
    # A second post with the same image reuses the stored file.
    mtime = (archive / png_path.lstrip("/")).stat().st_mtime_ns
    out2, _ = mirror(f'<img src="{a}">', archive)
    assert srcs(out2) == [(png_path, a)]
    assert (archive / png_path.lstrip("/")).stat().st_mtime_ns == mtime
    # The rewritten post passes the sanitiser unchanged in its image attributes.
    assert srcs(sanitize_html(out, None)) == srcs(out)


def test_bad_images_keep_their_src_with_a_warning(server: LoopbackServer, archive: Path) -> None:
    big = server.route("/big.png", png(400, 400), headers={"Content-Type": "image/png"})
    html_lie = server.route(
        "/lie.png", "<html><body>login</body></html>", headers={"Content-Type": "image/png"}
    )
    missing = server.route("/gone.png", "not found", status=404)
    svg = server.route("/x.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                       headers={"Content-Type": "image/svg+xml"})  # fmt: skip
    ok = server.route("/ok.png", png(4, 4), headers={"Content-Type": "image/png"})
    html = "".join(f'<img src="{u}">' for u in (big, html_lie, missing, svg, ok))
    out, warnings = mirror(html, archive, ImageLimits(max_bytes=100_000))
    got = srcs(out)
    assert [s for s, _ in got[:4]] == [big, html_lie, missing, svg]
    assert got[4][0].startswith("/assets/")
    assert len(warnings) == 4
    assert "over the 100000-byte cap" in warnings[0] and big in warnings[0]
    assert "not an image (served as image/png)" in warnings[1]
    assert "HTTP 404" in warnings[2] or "404" in warnings[2]
    assert "not an image" in warnings[3]
    assert all(w.startswith(PAGE) and "\n" not in w for w in warnings)
    files = [p for p in (archive / "assets").rglob("*") if p.is_file()]
    assert len(files) == 1 and not any(p.name.startswith(".nm-tmp-") for p in files)


def test_count_and_type_caps(server: LoopbackServer, archive: Path) -> None:
    urls = [
        server.route(f"/{i}.png", png(2, 2, seed=i), headers={"Content-Type": "image/png"})
        for i in range(4)
    ]
    gif = server.route("/g.gif", b"GIF89a" + b"\x00" * 20, headers={"Content-Type": "image/gif"})
    out, warnings = mirror(
        "".join(f'<img src="{u}">' for u in [*urls, gif]),
        archive,
        ImageLimits(max_count=3, types=("image/png",)),
    )
    got = [s for s, _ in srcs(out)]
    assert all(s.startswith("/assets/") for s in got[:3])
    assert got[3:] == [urls[3], gif]
    assert "over 3 images" in warnings[0] and "over 3 images" in warnings[1]


def test_relative_and_data_images(server: LoopbackServer, archive: Path) -> None:
    server.route("/rel/p.png", png(3, 3), headers={"Content-Type": "image/png"})

    async def go() -> tuple[str, list[str]]:
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            return await mirror_images(
                '<img src="p.png"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
                fetcher,
                archive,
                page_url=server.url("/rel/index.html"),
            )

    out, warnings = asyncio.run(go())
    got = srcs(out)
    assert got[0][0].startswith("/assets/") and got[0][1] == server.url("/rel/p.png")
    assert got[1][0].startswith("data:image/gif")
    assert warnings == []


def test_no_images_leaves_html_untouched(archive: Path) -> None:
    html = "<p>No images, {{ liquid }}</p>"
    assert mirror(html, archive) == (html, [])
