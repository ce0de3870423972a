"""`newsmirror status`, `watch`, `publish`, `retention` and `enable`: operating a mirror."""

from __future__ import annotations

import argparse
import json
import sys

import newsmirror

from ..ops.status import health_json, print_plain, print_rich
from ..util.durations import parse_duration
from .common import add_archive
from .subs import cmd_subs_enable


def register_status(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status",
        parents=[common],
        help="health of every feed, broken feeds first",
        description="One row per feed: state, last success, failure streak, posts in the "
        "last 7 and 30 days, next check and the last error. Broken feeds come first.",
    )
    add_archive(p)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_cmd_status)


def _cmd_status(args: argparse.Namespace) -> int:
    rows = newsmirror.feed_health(args.archive)
    if args.json:
        print(json.dumps(health_json(rows), ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        print_rich(rows)
    else:
        print_plain(rows, sys.stdout)
    return 0


def register_watch(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "watch",
        parents=[common],
        help="ingest (and build, when configured) in a loop until stopped",
        description="Run ingest every --every (+-10%% jitter); each feed is fetched only when "
        "its own next check is due. SIGTERM or Ctrl-C stops cleanly.",
    )
    add_archive(p)
    p.add_argument("--every", default="30m", help="loop period: 90s, 30m, 1h (default 30m)")
    p.add_argument("--max-runs", type=int, help="stop after this many runs")
    p.set_defaults(func=_cmd_watch)


def _cmd_watch(args: argparse.Namespace) -> int:
    newsmirror.watch(args.archive, parse_duration(args.every), max_runs=args.max_runs)
    return 0


def register_publish(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "publish",
        parents=[common],
        help="git commit the new posts and push, if a remote is configured",
        description="Commit _posts/, archived/, assets/ and the subscription files with a "
        "message counting the new posts per source, then push. Nothing new: no commit.",
    )
    add_archive(p)
    p.add_argument("--no-push", action="store_true", help="commit only")
    p.set_defaults(func=_cmd_publish)


def _cmd_publish(args: argparse.Namespace) -> int:
    result = newsmirror.publish(args.archive, push=not args.no_push)
    print(result.message)
    if result.pushed:
        print(f"pushed to {result.remote}")
    return 0


def register_retention(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "retention",
        parents=[common],
        help="move posts older than N days from _posts/ to archived/YYYY-MM-DD/",
        description="Nothing is deleted; moved items are never fetched again as new.",
    )
    add_archive(p)
    p.add_argument("--days", type=int, help="default: retention_days from newsmirror.toml")
    p.add_argument("--dry-run", action="store_true", help="only list what would move")
    p.set_defaults(func=_cmd_retention)


def _cmd_retention(args: argparse.Namespace) -> int:
    days = args.days
    if days is None:
        days = newsmirror.load_settings(args.archive).retention_days
    if days is None:
        print("retention is off (no --days, no retention_days in newsmirror.toml)")
        return 0
    moved = newsmirror.apply_retention(args.archive, days, dry_run=args.dry_run)
    for path in moved:
        print(f"{'would move to' if args.dry_run else 'moved to'} {path}")
    print(f"{len(moved)} posts {'to move' if args.dry_run else 'moved'}")
    return 0


def register_enable(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "enable",
        parents=[common],
        help="revive a dead feed (by site name or URL)",
        description="Clear a feed's dead mark and failure streak; the next run tries it.",
    )
    add_archive(p)
    p.add_argument("feed", help="the feed's site name or URL")
    p.set_defaults(func=_cmd_enable)


def _cmd_enable(args: argparse.Namespace) -> int:
    return cmd_subs_enable(args)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for register_one in (
        register_status,
        register_watch,
        register_publish,
        register_retention,
        register_enable,
    ):
        register_one(sub, common)
