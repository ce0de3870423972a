"""`newsmirror bundle`: the archive's site as one zip, for offline reading."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import newsmirror

from ..models import ConfigError
from .common import add_archive


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bundle",
        parents=[common],
        help="write the site, images and search included, as one zip for offline reading",
        description="Build the archive's site into one zip: unzipped anywhere, its index.html "
        "opens from disk and works like the site (search included). --since and --source "
        "make smaller bundles. The archive's own _site/ and build cache are not touched.",
    )
    add_archive(p)
    p.add_argument("--out", type=Path, required=True, help="the zip to write (FILE.zip)")
    p.add_argument("--since", type=parse_day, help="only posts from this day on (YYYY-MM-DD)")
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only this source's posts (its site name; repeat for more)",
    )
    p.set_defaults(func=_cmd_bundle)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_bundle(args: argparse.Namespace) -> int:
    if not args.archive.is_dir():
        raise ConfigError(args.archive, "no such archive folder")
    with newsmirror.ArchiveLock(args.archive):  # a run must not write posts meanwhile
        report = newsmirror.bundle_site(
            args.archive, args.out, since=args.since, sources=args.source
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"{report.path}: {report.posts} posts, {report.files} files, {report.bytes / 1e6:.1f} MB")
    return 0
