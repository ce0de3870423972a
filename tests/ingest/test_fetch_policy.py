"""The fetch policy for addresses that come from feed content (issue 13, item 1),
end to end: a default run refuses them, `allow_private_networks` allows them."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import posts_of, write_subs
from feeds import rss, rss_item
from loopback import ForwardProxy, LoopbackServer, forward_proxy, loopback_server

from newsmirror.cli import main

T0 = datetime(2024, 5, 1, tzinfo=UTC)
INTERNAL = (
    "<html><body><article><p>" + "Internal admin page. " * 60 + "</p></article></body></html>"
)
METADATA = "http://169.254.169.254/latest/pic.png"  # the cloud metadata address


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def other() -> Iterator[LoopbackServer]:
    """A second loopback server: another port, so not the feed's host."""
    with loopback_server() as srv:
        yield srv


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as p:
        yield p


def feed(page: str, image: str, *more: str) -> bytes:
    return rss(
        [
            rss_item(title="Teaser pointing inside", link=page, published=T0,
                     description="<p>Read on…</p>"),
            picture("Picture from inside", image),
            *more,
        ]
    )  # fmt: skip


def picture(title: str, image: str) -> str:
    story = "<p>" + "A long enough story. " * 20 + f'</p><img src="{image}">'
    return rss_item(title=title, link=f"https://news.example/{len(title)}", published=T0,
                    content_encoded=story)  # fmt: skip


def mirror(archive: Path, settings: str) -> dict:
    (archive / "newsmirror.toml").write_text(f"[settings]\nmirror_images = true\n{settings}")
    assert main(["run", "--archive", str(archive), "-q", "--json"]) == 0
    return json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())


def post_text(archive: Path, title: str) -> str:
    [text] = [t for t in posts_of(archive).values() if f'title: "{title}"' in t]
    return text


@pytest.mark.parametrize("allow", [False, True])
def test_a_page_on_another_loopback_port_and_a_link_local_image(
    server: LoopbackServer,
    other: LoopbackServer,
    proxy: ForwardProxy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    allow: bool,
) -> None:
    """Done-when of issue 13: a default run refuses an item page on another
    loopback port and an image on a link-local address; with
    `allow_private_networks = true` it fetches both. The proxy answers for
    169.254.169.254 (and forwards the rest), so nothing leaves the machine."""
    page = other.route("/admin", INTERNAL, headers={"Content-Type": "text/html"})
    proxy.route(METADATA, png(), headers={"Content-Type": "image/png"})
    server.route("/f.xml", feed(page, METADATA))
    archive = tmp_path / "mirror"
    archive.mkdir()
    write_subs(archive, [("站", server.url("/f.xml"))])
    settings = f'proxy = "{proxy.base_url}"\n' + (
        "allow_private_networks = true\n" if allow else ""
    )
    report = mirror(archive, settings)
    capsys.readouterr()
    [outcome] = report["feeds"]
    assert outcome["new_posts"] == 2  # the items are kept either way
    teaser, picture = (
        post_text(archive, "Teaser pointing inside"),
        post_text(archive, "Picture from inside"),
    )
    if allow:
        assert outcome["refused"] == []
        assert "Internal admin page." in teaser
        # Stored re-encoded (ingest/encode.py): in whichever format is smaller.
        assert 'src="/assets/' in picture
        assert [p for p in (archive / "assets").rglob("*") if p.is_file()]
        assert [r.path for r in other.requests] == ["/admin"]
    else:
        assert outcome["refused"] == [
            f"item 'Teaser pointing inside': refused {page}: 127.0.0.1 is a loopback address",
            f"item 'Picture from inside': refused {METADATA}: 169.254.169.254 is a link-local address",
        ]
        assert "Internal admin page." not in teaser and "Read on" in teaser
        assert f'src="{METADATA}"' in picture and not (archive / "assets").exists()
        assert other.requests == []
        assert not [r for r in proxy.requests if r.target in (page, METADATA)]


@pytest.mark.parametrize("allow", [False, True])
def test_names_are_checked_after_resolution_without_a_proxy(
    server: LoopbackServer,
    other: LoopbackServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    allow: bool,
) -> None:
    """No proxy: `localhost` resolves to a loopback address, which the
    connector refuses; the feed's own host and port stay allowed."""
    page = f"http://localhost:{other.port}/admin"
    other.route("/admin", INTERNAL, headers={"Content-Type": "text/html"})
    other.route("/pic.png", png(), headers={"Content-Type": "image/png"})
    image = f"http://localhost:{other.port}/pic.png"
    own = server.route("/own.png", png() + b"own", headers={"Content-Type": "image/png"})
    server.route("/f.xml", feed(page, image, picture("Picture from the feed's own host", own)))
    archive = tmp_path / "mirror"
    archive.mkdir()
    write_subs(archive, [("站", server.url("/f.xml"))])
    report = mirror(archive, "allow_private_networks = true\n" if allow else "")
    capsys.readouterr()
    [outcome] = report["feeds"]
    teaser = post_text(archive, "Teaser pointing inside")
    if allow:
        assert outcome["refused"] == [] and "Internal admin page." in teaser
        assert sorted(r.path for r in other.requests) == ["/admin", "/pic.png"]
    else:
        assert [line.split(": refused ")[0] for line in outcome["refused"]] == [
            "item 'Teaser pointing inside'",
            "item 'Picture from inside'",
        ]
        assert all(
            "localhost resolves to" in line and "loopback" in line for line in outcome["refused"]
        )
        assert other.requests == []
    # The feed's own host and port: the user chose it, so its images come.
    assert server.requests_for("/own.png")
