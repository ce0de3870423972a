"""`newsmirror bundle`: the archive's site as one zip, for offline reading."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import newsmirror

from .common import add_archive, add_command


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "bundle",
        "write the site, images and search included, as one zip for offline reading",
        "Build the archive's site into one zip: unzipped anywhere, its index.html "
        "opens from disk and works like the site (search included). --since and --source "
        "make smaller bundles. The archive's own _site/ and build cache are not touched.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--out", type=Path, required=True,
                   help="the zip to write, FILE.zip (required: no default)")  # fmt: skip
    p.add_argument("--since", type=parse_day,
                   help="only posts from this day on, YYYY-MM-DD (default: every post)")  # fmt: skip
    p.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source's posts, by its site name; repeat for more (default: every source)",
    )
    p.set_defaults(func=_cmd_bundle)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_bundle(args: argparse.Namespace) -> int:
    with newsmirror.ArchiveLock(args.archive):  # a run must not write posts meanwhile
        report = newsmirror.bundle_site(
            args.archive, args.out, since=args.since, sources=args.source or ()
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"{report.path}: {report.posts} posts, {report.files} files, {report.bytes / 1e6:.1f} MB")
    return 0
