"""The README's demo: built-in feeds served on 127.0.0.1, mirrored and built."""

from __future__ import annotations

import json
import socket
from contextlib import ExitStack

from conftest import posts_of

import newsmirror
from newsmirror.cli import main
from newsmirror.demo import DEMO_MARK, PREFERRED_PORT, DemoServer, recorded_port


def test_demo_mirrors_every_kind_of_feed_and_builds(tmp_path, capsys):
    archive = tmp_path / "demo"
    assert main(["demo", "--archive", str(archive), "--build", "-q"]) == 0
    posts = posts_of(archive)
    assert len(posts) == 7
    text = "\n".join(posts.values())
    assert "这是一条用 GBK 编码发布的新闻" in text  # the GBK feed decoded
    assert "现在真不能做核酸，一做就混阳。<br>喜欢猫咪" in text  # YouTube, line break kept
    full = next(t for n, t in posts.items() if "只有摘要" in n)
    assert "这是文章的第二段" in full  # full text from the article page
    assert "热门新闻一" not in full and "首页" not in full and "更多文章" not in full
    assert "<script" not in text
    assert (archive / "_site" / "index.html").is_file()
    assert main(["demo", "--archive", str(archive), "-q"]) == 0  # a rerun adds nothing
    assert posts_of(archive) == posts


def test_the_demo_archive_says_its_server_is_gone(tmp_path, capsys):
    archive = tmp_path / "demo"
    assert main(["demo", "--archive", str(archive), "--build", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"open {(archive / '_site' / 'index.html').resolve().as_uri()}" in out
    assert newsmirror.load_site_config(archive).title == "newsmirror demo"
    assert main(["run", "--archive", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `newsmirror demo` again" in err
    # Its posts and site stay usable, and its own commands still work.
    assert main(["build", "--archive", str(archive), "-q"]) == 0
    assert main(["status", "--archive", str(archive)]) == 0
    # While a demo serves the feeds at the same address, a run over the archive
    # works (the port is another when a parallel test holds the preferred one).
    recorded = (archive / DEMO_MARK).read_text().strip()
    with DemoServer() as server:
        expected = 0 if server.base == recorded else 2
        assert main(["run", "--archive", str(archive), "-q"]) == expected
    # Feeds of the user's own beside the demo's: the run goes on.
    subs = json.loads((archive / "subs.json").read_text(encoding="utf-8"))
    subs.append({"site": "mine", "url": "http://127.0.0.1:9/feed.xml"})
    (archive / "subs.json").write_text(json.dumps(subs), encoding="utf-8")
    assert main(["run", "--archive", str(archive), "-q"]) == 0


def listening(stack: ExitStack, port: int) -> bool:
    """Hold `port` of 127.0.0.1 until `stack` closes; False when someone else has it."""
    s = stack.enter_context(socket.socket())
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        return False
    s.listen()
    return True


def test_a_demo_rerun_serves_its_feeds_where_the_first_run_did(tmp_path, capsys):
    # The first run cannot have the preferred port (a parallel demo holds it);
    # the rerun can. Its items' links hold the first port: served elsewhere,
    # every item would be new again, and every post duplicated.
    archive = tmp_path / "demo"
    with ExitStack() as stack:
        listening(stack, PREFERRED_PORT)
        assert main(["demo", "--archive", str(archive), "-q"]) == 0
    first_port = recorded_port(archive)
    assert first_port is not None and first_port != PREFERRED_PORT
    posts = posts_of(archive)
    assert len(posts) == 7
    assert main(["demo", "--archive", str(archive), "-q"]) == 0
    assert posts_of(archive) == posts
    assert recorded_port(archive) == first_port


def test_a_demo_rerun_refuses_in_one_line_when_its_port_is_taken(tmp_path, capsys):
    archive = tmp_path / "demo"
    assert main(["demo", "--archive", str(archive), "-q"]) == 0
    posts = posts_of(archive)
    port = recorded_port(archive)
    assert port is not None
    capsys.readouterr()
    with ExitStack() as stack:
        assert listening(stack, port)
        assert main(["demo", "--archive", str(archive), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port}" in err and "in use" in err, err
    assert posts_of(archive) == posts
