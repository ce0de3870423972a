"""`newsmirror run`: fetch every feed once and write new items as posts."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

import newsmirror

from ..archive.config import SETTINGS, toml_value
from ..demo import check_demo_server
from ..ingest.report import FeedOutcome, RunReport, outcome_line, print_summary
from .common import EXIT_FAILED, add_archive, add_command, build_site_and_report


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    run = add_command(
        sub, common, "run", "fetch every feed once and write new items as posts",
        "Fetch every feed in ARCHIVE/subs.json (and newsmirror.toml) once; every "
        "new item becomes one post in ARCHIVE/_posts/. State is kept in ARCHIVE/.newsmirror/. "
        "Options left out take the archive's settings (docs/configuration.md).",
    )  # fmt: skip
    add_archive(run)
    add_run_options(run)
    run.set_defaults(func=cmd_run)


def _from_settings(name: str) -> str:
    """'(default: [settings] NAME, else VALUE)' for an option that overrides a setting."""
    d = next(d for d in SETTINGS if d.name == name)
    value = "the environment" if d.default is None else toml_value(d.default)
    return f"(default: [settings] {name}, else {value})"


def add_fetch_options(p: argparse.ArgumentParser, what: str) -> None:
    """How requests are made (`settings_from_args` reads them)."""
    p.add_argument("--user-agent", help=f"User-Agent header {_from_settings('user_agent')}")
    p.add_argument("--proxy", help=f"http:// or socks5:// proxy {_from_settings('proxy')}")
    p.add_argument(
        "--concurrency",
        type=int,
        help=f"requests in flight overall {_from_settings('concurrency')}",
    )
    p.add_argument(
        "--per-host", type=int, help=f"requests in flight per host {_from_settings('per_host')}"
    )
    p.add_argument(
        "--timeout",
        type=float,
        help="connect and read timeout in seconds (default: [settings] connect_timeout and "
        "read_timeout, else 10 and 30)",
    )
    p.add_argument(
        "--deadline", type=float, help=f"seconds per {what} {_from_settings('deadline')}"
    )
    p.add_argument(
        "--max-bytes",
        type=int,
        help=f"largest response body accepted, in bytes {_from_settings('max_bytes')}",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--content",
        choices=("clean", "raw"),
        help="clean: full text, sanitised; raw: the feed's content as given, only control "
        "characters removed and lines joined (default: each feed's content option, else clean)",
    )
    p.add_argument(
        "--fulltext",
        choices=("auto", "always", "never"),
        help="fetch article pages: auto (for summaries), always, never "
        "(default: each feed's fulltext option, else auto)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if any feed failed")
    p.add_argument(
        "--build", action="store_true", help="build the site after ingesting (setting: build)"
    )
    add_fetch_options(p, "feed")
    p.add_argument("--only-due", action="store_true", help="skip feeds not due for a check")
    p.add_argument(
        "--workers",
        type=int,
        help="processes that parse feeds and render posts beside the main one "
        "(default: one per core, up to 4, for runs of 50+ feeds on a multi-core machine; else 0)",
    )
    p.add_argument("--include-dead", action="store_true", help="also try feeds marked dead")
    p.add_argument("--json", action="store_true", help="print the run report as JSON")


def settings_from_args(args: argparse.Namespace) -> newsmirror.Settings:
    overrides = {
        "user_agent": args.user_agent,
        "proxy": args.proxy,
        "concurrency": args.concurrency,
        "per_host": args.per_host,
        "connect_timeout": args.timeout,
        "read_timeout": args.timeout,
        "deadline": args.deadline,
        "max_bytes": args.max_bytes,
    }
    return newsmirror.load_settings(args.archive, **overrides)


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    check_demo_server(args.archive)
    if not newsmirror.load_subscriptions(args.archive, settings.feed_defaults):
        logging.getLogger("newsmirror").warning(
            "no feeds yet: add one with `newsmirror subs add URL --archive %s`", args.archive
        )
    options = newsmirror.RunOptions(
        content=args.content,
        fulltext=args.fulltext,
        only_due=args.only_due,
        include_dead=args.include_dead,
        workers=args.workers,
    )
    report = run_with_progress(args.archive, options, settings, as_json=args.json)
    if args.build or settings.build:
        build_site_and_report(args.archive, None, full=False)
    return EXIT_FAILED if args.strict and report.failed else 0


def run_with_progress(
    archive: Path,
    options: newsmirror.RunOptions,
    settings: newsmirror.Settings,
    *,
    as_json: bool = False,
) -> RunReport:
    """Run the pipeline with a rich progress bar on a terminal, plain lines otherwise."""
    log = logging.getLogger("newsmirror")
    interactive = sys.stderr.isatty() and not as_json
    if interactive:
        total = len(newsmirror.load_subscriptions(archive, settings.feed_defaults))
        with Progress(
            TextColumn("fetching"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("", total=total)

            def on_feed(outcome: FeedOutcome) -> None:
                progress.update(task, advance=1, description=outcome.site)

            report = newsmirror.mirror(archive, options, settings, on_feed=on_feed)
    else:

        def on_feed(outcome: FeedOutcome) -> None:
            level = logging.WARNING if outcome.status == "failed" else logging.INFO
            log.log(level, outcome_line(outcome), extra={"fields": {"feed": outcome.url}})
            for problem in outcome.item_errors:
                log.warning("item error in %s: %s", outcome.site, problem)

        report = newsmirror.mirror(archive, options, settings, on_feed=on_feed)
    report.write_json(archive / ".newsmirror" / "reports")
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif interactive:
        print_summary(report)
    else:
        print(report.summary_line())
    return report
