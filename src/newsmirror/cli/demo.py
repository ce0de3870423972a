"""`newsmirror demo`: mirror the built-in demo feeds, served on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import newsmirror

from ..demo import FEEDS, DemoServer
from .common import build_site_and_report
from .run import run_with_progress


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="mirror the built-in demo feeds, served on 127.0.0.1 (no internet needed)",
    )
    demo.add_argument(
        "--archive", type=Path, default=Path("demo-mirror"), help="where (default: ./demo-mirror)"
    )
    demo.add_argument("--build", action="store_true", help="build the site afterwards")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.archive, build=args.build)
    return 0


def run_demo(archive: Path, *, build: bool = False) -> None:
    """Serve the demo feeds, mirror them into `archive`, optionally build the site."""
    archive.mkdir(parents=True, exist_ok=True)
    with DemoServer() as server:
        subs = [{"site": site, "url": server.feed_url(name)} for site, name, _ in FEEDS]
        (archive / "subs.json").write_text(
            json.dumps(subs, ensure_ascii=False, indent=4), encoding="utf-8"
        )
        run_with_progress(archive, newsmirror.RunOptions(), newsmirror.load_settings(archive))
    print(f"posts: {archive / '_posts'}")
    if build:
        build_site_and_report(archive, None, full=False)
        print(f"site: open {(archive / '_site' / 'index.html').resolve().as_uri()}")
