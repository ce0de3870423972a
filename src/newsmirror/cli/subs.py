"""`newsmirror subs`: list, import, export and revive subscriptions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import newsmirror

from ..archive.fsutil import atomic_write
from .common import add_archive


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    subs = sub.add_parser("subs", parents=[common], help="list, import or export subscriptions")
    subs_sub = subs.add_subparsers(dest="subs_command", required=True, metavar="ACTION")
    s_list = subs_sub.add_parser("list", parents=[common], help="list the feeds")
    add_archive(s_list)
    s_list.set_defaults(func=cmd_subs_list)
    s_import = subs_sub.add_parser("import", parents=[common], help="add the feeds of an OPML file")
    add_archive(s_import)
    s_import.add_argument("opml", type=Path, help="the OPML file")
    s_import.set_defaults(func=cmd_subs_import)
    s_export = subs_sub.add_parser("export", parents=[common], help="write the feeds as OPML")
    add_archive(s_export)
    s_export.add_argument("-o", "--out", type=Path, help="file to write (default: stdout)")
    s_export.set_defaults(func=cmd_subs_export)

    s_enable = subs_sub.add_parser(
        "enable", parents=[common], help="revive a dead feed (by site name or URL)"
    )
    add_archive(s_enable)
    s_enable.add_argument("feed", help="the feed's site name or URL")
    s_enable.set_defaults(func=cmd_subs_enable)


def cmd_subs_list(args: argparse.Namespace) -> int:
    for s in newsmirror.load_subscriptions(args.archive):
        print(f"{s.site}\t{s.url}")
    return 0


def cmd_subs_import(args: argparse.Namespace) -> int:
    added, existing = newsmirror.import_opml(args.archive, args.opml)
    print(f"{added} feeds added to {args.archive / 'subs.json'}, {existing} already there")
    return 0


def cmd_subs_export(args: argparse.Namespace) -> int:
    text = newsmirror.to_opml(newsmirror.load_subscriptions(args.archive))
    if args.out:
        atomic_write(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_subs_enable(args: argparse.Namespace) -> int:
    for url in newsmirror.enable_feed(args.archive, args.feed):
        print(f"enabled {url}")
    return 0
