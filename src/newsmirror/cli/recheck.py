"""`newsmirror recheck`: fetch the originals of recent posts again and record
deletions, edits and returns (see `newsmirror.recheck`)."""

from __future__ import annotations

import argparse
import json
import logging

import newsmirror

from .common import add_archive, add_command
from .run import add_fetch_options, settings_from_args

log = logging.getLogger("newsmirror")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "recheck", "re-fetch the originals of recent posts: deleted, edited, back",
        "Fetch the original page of each post that is due on its re-check schedule ([recheck] "
        "in newsmirror.toml; by default 1h, 6h, 1d, 3d, 7d and 30d after capture) with "
        "conditional GET. A deletion (404/410/451, a redirect to the home page or a listing, a "
        "removal notice) confirmed by two checks --confirm-after minutes apart adds `deleted:` "
        "to the post's front matter; edits keep every version of the text in "
        ".newsmirror/history/.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument(
        "--confirm-after",
        type=float,
        metavar="MINUTES",
        help="minutes between the two checks that confirm a deletion "
        "(default: [recheck] confirm_after, else 60)",
    )
    p.add_argument(
        "--all", action="store_true", help="check every watched post now, due or not"
    )
    p.add_argument(
        "--max-checks", type=int, help="checks in this run (default: [recheck] max_per_run, else 2000)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_fetch_options(p, "the most time one original's fetch may take, retries and redirects included")
    p.set_defaults(func=cmd_recheck)


def cmd_recheck(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.confirm_after is not None and args.confirm_after < 0:
        raise newsmirror.ConfigError("--confirm-after", "must be 0 minutes or more")
    if args.max_checks is not None and args.max_checks < 1:
        raise newsmirror.ConfigError("--max-checks", "must be 1 or more")
    options = newsmirror.RecheckOptions(
        confirm_after=None if args.confirm_after is None else args.confirm_after * 60.0,
        everything=args.all,
        max_checks=args.max_checks,
    )

    def on_event(event: newsmirror.RecheckEvent) -> None:
        level = logging.WARNING if event.kind in ("deleted", "edited", "back") else logging.INFO
        log.log(level, event.line(), extra={"fields": {"post": event.post, "kind": event.kind}})

    report = newsmirror.recheck(args.archive, options, settings, on_event=on_event)
    report.write_json(args.archive / ".newsmirror" / "reports")
    for problem in report.errors:
        log.warning(problem)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary_line())
    return 0
