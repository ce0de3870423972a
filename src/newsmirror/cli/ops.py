"""`newsmirror status`, `watch`, `publish` and `retention`: operating a mirror.

(Reviving a dead feed is `newsmirror subs enable`; the top-level `enable` that
duplicated it is gone.)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import newsmirror

from ..ops.status import health_json, print_plain, print_rich
from ..util.durations import parse_duration
from ..util.text import plural
from .common import EXIT_CONFIG, EXIT_PARTIAL, add_archive, add_command


def register_status(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "status", "health of every feed, broken feeds first",
        "One row per feed: state, last success, failure streak, new posts in the last 7 "
        "and 30 days (by when they were fetched), next check and the last error. Broken "
        "feeds come first: dead, failing, and rejecting (the feed answers but every item "
        "of its last document was rejected).",
    )  # fmt: skip
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
    p = add_command(
        sub, common, "watch", "ingest (and build, when configured) in a loop until stopped",
        "Run ingest every --every (±10% jitter); each feed is fetched only when "
        "its own next check is due. SIGTERM or Ctrl-C stops cleanly.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--every", default="30m", help="loop period: 90s, 30m, 1h")
    p.add_argument("--max-runs", type=int, help="stop after this many runs (default: never)")
    p.set_defaults(func=_cmd_watch)


def _cmd_watch(args: argparse.Namespace) -> int:
    newsmirror.watch(args.archive, parse_duration(args.every), max_runs=args.max_runs)
    return 0


def register_publish(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "publish", "git commit the new posts and push, if a remote is configured",
        "Commit _posts/, archived/, assets/ and the subscription files with a "
        "message counting the new posts per source, then push: to every [[publish.remotes]] "
        "of newsmirror.toml (one line per remote; exit 4 when some failed, 2 when all did), "
        "else to the branch's upstream or origin. Nothing new: no commit.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--no-push", action="store_true", help="commit only")
    p.add_argument(
        "--site",
        type=Path,
        metavar="DIR",
        help='push this built site folder to the content = "site" remotes (one commit, '
        "replacing their branch) instead of committing the archive (default: the archive)",
    )
    p.set_defaults(func=_cmd_publish)


def _cmd_publish(args: argparse.Namespace) -> int:
    if args.site is not None:
        result = newsmirror.publish_site(args.archive, args.site)
    else:
        result = newsmirror.publish(args.archive, push=not args.no_push)
    print(result.message)
    for remote in result.remotes:
        print(remote.line())
    if result.remote and result.pushed:
        print(f"pushed to {result.remote}")
    failed = len(result.failed_remotes)
    if failed and failed == len(result.remotes):
        return EXIT_CONFIG  # every remote refused: the command could not do its work
    return EXIT_PARTIAL if failed else 0


def register_retention(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "retention", "move posts older than N days from _posts/ to archived/YYYY-MM-DD/",
        "Move posts older than N days from _posts/ to archived/YYYY-MM-DD/. Nothing is "
        "deleted; moved items are never fetched again as new.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--days", type=int, help="the age in days (default: [settings] retention_days)")
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
    print(f"{plural(len(moved), 'post')} {'to move' if args.dry_run else 'moved'}")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for register_one in (
        register_status,
        register_watch,
        register_publish,
        register_retention,
    ):
        register_one(sub, common)
