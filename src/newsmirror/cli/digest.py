"""`newsmirror digest`: one day's posts as an EPUB 3 or one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

import newsmirror

from .bundle import parse_day
from .common import add_archive, add_command


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "digest", "one day's posts as an EPUB 3 or one self-contained HTML file",
        "Write the posts of one day (UTC) as an EPUB 3 (a table of contents per "
        "source, images inside) or as one HTML file with its images as data: URIs. Images "
        "not mirrored into the archive become links.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--date", type=parse_day, required=True,
                   help="the day, YYYY-MM-DD, UTC (required: no default)")  # fmt: skip
    p.add_argument("--format", choices=("epub", "html"), default="epub", help="the file's format")
    p.add_argument("--out", type=Path, help="the file to write (default: ./digest-DAY.epub or .html)")
    p.set_defaults(func=_cmd_digest)


def _cmd_digest(args: argparse.Namespace) -> int:
    out = args.out or Path(f"digest-{args.date.isoformat()}.{args.format}")
    digest, size = newsmirror.write_digest(args.archive, args.date, args.format, out)
    print(
        f"{out}: {digest.posts} posts from {len(digest.sources)} sources,"
        f" {len(digest.images)} images, {size / 1e6:.1f} MB"
    )
    return 0
