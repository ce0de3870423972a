"""`newsmirror demo`: mirror the built-in demo feeds, served on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import newsmirror

from ..archive.fsutil import atomic_write
from ..demo import FEEDS, DemoServer, mark_demo_archive, recorded_port
from ..models import ConfigError
from .common import add_archive, add_command, build_site_and_report
from .run import run_with_progress


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    demo = add_command(
        sub, common, "demo", "mirror the built-in demo feeds (no internet needed)",
        "Serve the demo feeds shipped with newsmirror on 127.0.0.1 (RSS, Atom, YouTube, "
        "JSON Feed, a summary-only feed, a GBK-encoded feed), mirror them into an archive "
        "and stop serving them. Run it again to refresh that archive.",
    )  # fmt: skip
    add_archive(demo, needs_archive=False, default="demo-mirror")
    demo.add_argument("--build", action="store_true", help="build the site afterwards")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.archive, build=args.build)
    return 0


def run_demo(archive: Path, *, build: bool = False) -> None:
    """Serve the demo feeds, mirror them into `archive`, optionally build the site."""
    newsmirror.init_archive(archive, title="newsmirror demo")
    port = recorded_port(archive)
    try:
        server = DemoServer(port)
    except OSError:
        # Serving its feeds elsewhere would change every item's link: a duplicate of each post.
        raise ConfigError(archive, f"port {port}, where this demo archive's feeds are served, "
                                   "is in use (another `newsmirror demo` running?): end it "
                                   "and run again, or give another --archive") from None  # fmt: skip
    with server:
        subs = [{"site": site, "url": server.feed_url(name)} for site, name, _ in FEEDS]
        atomic_write(archive / "subs.json", json.dumps(subs, ensure_ascii=False, indent=4))
        mark_demo_archive(archive, server.base)
        run_with_progress(archive, newsmirror.RunOptions(), newsmirror.load_settings(archive))
    print(f"posts: {archive / '_posts'}")
    if build:
        build_site_and_report(archive, None, full=False)
