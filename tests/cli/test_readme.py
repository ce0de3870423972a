"""README's "Using it", followed as written: its code block is read from
README.md and run line by line in bash, from an empty folder, with the
example sites (hosts under example.com / example.org) served on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feeds import rss, rss_item
from loopback import LoopbackServer

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_URL = re.compile(r"https?://[a-z0-9.-]+\.example\.(?:com|org)")
NOW = datetime.now(UTC).replace(microsecond=0)


def using_it_commands() -> list[str]:
    """The lines of the first ```sh block under "## Using it"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's Using it has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def serve_examples(server: LoopbackServer) -> None:
    """The two example sites: a blog whose home page links its feed, and a news feed."""
    article = "<p>" + "全文在这里，足够长，不是摘要。" * 20 + "</p>"
    base = server.base_url

    def items(prefix: str, n: int) -> list[str]:
        return [
            rss_item(
                title=f"{prefix} {i}",
                link=f"{base}/{prefix}/{i}.html",
                published=NOW - timedelta(days=i),
                content_encoded=article,
            )
            for i in range(1, n + 1)
        ]

    server.route(
        "/",
        '<!doctype html><html><head><title>Blog</title><link rel="alternate" '
        'type="application/rss+xml" title="RSS" href="/feed.xml"></head><body>hi</body></html>',
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    server.route(
        "/feed.xml",
        rss(items("blog", 2), title="Example Blog"),
        headers={"Content-Type": "application/rss+xml"},
    )
    server.route(
        "/rss.xml", rss(items("news", 3), title="News"), headers={"Content-Type": "text/xml"}
    )


@pytest.mark.slow
def test_readme_using_it_runs_command_by_command(tmp_path: Path, server: LoopbackServer) -> None:
    serve_examples(server)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    # `. .venv/bin/activate` puts the venv's bin first on PATH; here it is this venv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    commands = using_it_commands()
    assert commands[0].startswith(". ") and "activate" in commands[0]
    assert commands[1].startswith("newsmirror init ")  # README starts with init
    ran = []
    for line in commands[1:]:
        command = EXAMPLE_URL.sub(server.base_url, line)
        proc = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        ran.append((line, proc.stdout))
    assert len(ran) >= 10 and sum(bool(EXAMPLE_URL.search(line)) for line, _ in ran) >= 2

    mirror = tmp_path / "mirror"
    subs = (mirror / "subs.json").read_text(encoding="utf-8")
    assert f"{server.base_url}/feed.xml" in subs  # the blog's page led to its feed
    assert "Example Blog" in subs  # named after the feed's title
    posts = sorted(p.name for p in (mirror / "_posts").iterdir())
    assert len(posts) == 5, posts
    assert (mirror / "_site" / "index.html").is_file()
    build_out = next(out for line, out in ran if line.startswith("newsmirror build"))
    assert f"open {(mirror / '_site' / 'index.html').resolve().as_uri()}" in build_out
    assert "<outline" in (tmp_path / "feeds.opml").read_text(encoding="utf-8")
    help_out = ran[-1][1]
    assert "--concurrency" in help_out and "default" in help_out
