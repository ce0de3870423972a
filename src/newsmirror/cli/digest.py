"""`newsmirror digest`: one day's posts as an EPUB 3 or one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

import newsmirror

from ..models import ConfigError
from .bundle import parse_day
from .common import add_archive


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "digest",
        parents=[common],
        help="one day's posts as an EPUB 3 or one self-contained HTML file",
        description="Write the posts of one day (UTC) as an EPUB 3 (a table of contents per "
        "source, images inside) or as one HTML file with its images as data: URIs. Images "
        "not mirrored into the archive become links.",
    )
    add_archive(p)
    p.add_argument("--date", type=parse_day, required=True, help="the day (YYYY-MM-DD, UTC)")
    p.add_argument("--format", choices=("epub", "html"), default="epub", help="default: epub")
    p.add_argument("--out", type=Path, help="default: ./digest-YYYY-MM-DD.epub (or .html)")
    p.set_defaults(func=_cmd_digest)


def _cmd_digest(args: argparse.Namespace) -> int:
    if not args.archive.is_dir():
        raise ConfigError(args.archive, "no such archive folder")
    out = args.out or Path(f"digest-{args.date.isoformat()}.{args.format}")
    digest, size = newsmirror.write_digest(args.archive, args.date, args.format, out)
    print(
        f"{out}: {digest.posts} posts from {len(digest.sources)} sources,"
        f" {len(digest.images)} images, {size / 1e6:.1f} MB"
    )
    return 0
