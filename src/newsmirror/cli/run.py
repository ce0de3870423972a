"""`newsmirror run`: fetch every feed once and write new items as posts."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
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


def add_fetch_options(p: argparse.ArgumentParser, deadline: str) -> None:
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
        "--deadline", type=float, metavar="SECONDS", help=f"{deadline} {_from_settings('deadline')}"
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
    add_fetch_options(
        p,
        "the most time one feed may take: its fetch, retries and redirects included, "
        "then its article pages and images. Items still waiting for those when it passes are "
        "written with the feed's own content. Not counted: waiting for a connection slot, and "
        "waiting for earlier feeds (dedupe goes in subscription order)",
    )
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
    interactive = sys.stderr.isatty() and not as_json
    if interactive:
        total = len(newsmirror.load_subscriptions(archive, settings.feed_defaults))
        with Progress(
            TextColumn("{task.fields[what]:<5}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.description}"), transient=True,
        ) as progress:  # fmt: skip
            on_feed, on_items = _progress_bars(progress, total)
            report = newsmirror.mirror(
                archive, options, settings, on_feed=on_feed, on_items=on_items
            )
    else:
        on_feed, on_items = _progress_lines()
        report = newsmirror.mirror(archive, options, settings, on_feed=on_feed, on_items=on_items)
    report.write_json(archive / ".newsmirror" / "reports")
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif interactive:
        print_summary(report)
    else:
        print(report.summary_line())
    return report


def _progress_bars(
    progress: Progress, feeds: int
) -> tuple[Callable[[FeedOutcome], None], Callable[[str, int, int], None]]:
    """Two bars: feeds done, and the items of the feeds at work (a feed of 700
    items shows its progress, not 0 of 1 feeds for minutes)."""
    feed_bar = progress.add_task("", total=feeds, what="feeds")
    item_bar = progress.add_task("", total=0, what="items", visible=False)
    per_feed: dict[str, tuple[int, int]] = {}

    def on_feed(outcome: FeedOutcome) -> None:
        progress.update(feed_bar, advance=1, description=outcome.site)

    def on_items(site: str, done: int, todo: int) -> None:
        per_feed[site] = (done, todo)
        progress.update(
            item_bar,
            completed=sum(d for d, _ in per_feed.values()),
            total=sum(t for _, t in per_feed.values()),
            description=f"{site} {done}/{todo}",
            visible=True,
        )

    return on_feed, on_items


def _progress_lines() -> tuple[Callable[[FeedOutcome], None], Callable[[str, int, int], None]]:
    """Log lines: one per feed, and now and then one for a feed with many items."""
    log = logging.getLogger("newsmirror")
    last_logged: dict[str, float] = {}

    def on_feed(outcome: FeedOutcome) -> None:
        level = logging.WARNING if outcome.status == "failed" else logging.INFO
        log.log(level, outcome_line(outcome), extra={"fields": {"feed": outcome.url}})
        for problem in outcome.item_errors:
            log.warning("item error in %s: %s", outcome.site, problem)
        for refusal in outcome.refused:
            log.warning("refused in %s: %s", outcome.site, refusal)

    def on_items(site: str, done: int, todo: int) -> None:
        now = time.monotonic()
        if todo >= ITEMS_LOGGED_FROM and now - last_logged.get(site, 0.0) >= 10:
            last_logged[site] = now
            log.info("  .. %s: %d of %d new items done", site, done, todo)

    return on_feed, on_items


ITEMS_LOGGED_FROM = 50  # without a terminal, feeds with this many new items log their progress
