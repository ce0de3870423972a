"""The `newsmirror` command: a thin layer over the library.

Exit codes: 0 done (feeds may have failed; see the report), 1 `--strict` and
something failed, 2 bad config or usage, 3 the archive is locked by another run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .fsutil import ArchiveLocked
from .models import ConfigError, NewsmirrorError

EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 1, 2, 3
ITEMS_LOGGED_FROM = 50  # without a terminal, feeds with this many new items log their progress


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose - args.quiet, args.log_format)
    try:
        return int(args.func(args) or 0)
    except ArchiveLocked as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except ConfigError as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except NewsmirrorError as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("newsmirror: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    common.add_argument("-q", "--quiet", action="count", default=0, help="less log output")
    common.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log line format"
    )
    parser = argparse.ArgumentParser(
        prog="newsmirror",
        description="Mirror news and blog feeds into a self-hosted archive of Jekyll posts.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[common],
        help="fetch every feed once and write new items as posts",
        description="Fetch every feed in ARCHIVE/subs.json (and newsmirror.toml) once; every "
        "new item becomes one post in ARCHIVE/_posts/. State is kept in ARCHIVE/.newsmirror/.",
    )
    add_archive(run)
    add_run_options(run)
    run.set_defaults(func=cmd_run)

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

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="mirror the built-in demo feeds, served on 127.0.0.1 (no internet needed)",
    )
    demo.add_argument(
        "--archive", type=Path, default=Path("demo-mirror"), help="where (default: ./demo-mirror)"
    )
    demo.add_argument("--build", action="store_true", help="build the site afterwards")
    demo.set_defaults(func=cmd_demo)

    for register in _extra_commands():
        register(sub, common)
    return parser


def add_archive(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--archive",
        type=Path,
        default=Path("."),
        help="the archive folder, holding subs.json and _posts/ (default: .)",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--content",
        choices=("clean", "raw"),
        help="clean: full text, sanitised (default); raw: the feed's content as given, "
        "only control characters removed and lines joined",
    )
    p.add_argument(
        "--fulltext",
        choices=("auto", "always", "never"),
        help="fetch article pages: auto (for summaries, default), always, never",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if any feed failed")
    p.add_argument("--build", action="store_true", help="build the site after ingesting")
    p.add_argument("--user-agent", help="User-Agent header for every request")
    p.add_argument("--proxy", help="http:// or socks5:// proxy (default: from the environment)")
    p.add_argument("--concurrency", type=int, help="requests in flight overall (default 64)")
    p.add_argument("--per-host", type=int, help="requests in flight per host (default 6)")
    p.add_argument("--timeout", type=float, help="connect and read timeout in seconds")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="the most time one feed may take (default 90): its fetch, retries and redirects "
        "included, then its article pages and images. Items still waiting for those when it "
        "passes are written with the feed's own content. Not counted: waiting for a "
        "connection slot, and waiting for earlier feeds (dedupe goes in subscription order)",
    )
    p.add_argument("--max-bytes", type=int, help="largest response body accepted, in bytes")
    p.add_argument("--only-due", action="store_true", help="skip feeds not due for a check")
    p.add_argument(
        "--workers",
        type=int,
        help="processes that parse feeds and render posts beside the main one "
        "(default: one per core, up to 4, for runs of 50+ feeds on a multi-core machine; else 0)",
    )
    p.add_argument("--include-dead", action="store_true", help="also try feeds marked dead")
    p.add_argument("--json", action="store_true", help="print the run report as JSON")


def setup_logging(level: int, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("newsmirror")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if level == 0 else logging.DEBUG if level > 0 else logging.WARNING)
    root.propagate = False


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        return json.dumps(data, ensure_ascii=False)


# --- run --------------------------------------------------------------------------


def settings_from_args(args: argparse.Namespace):  # -> Settings
    from .config import load_settings

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
    return load_settings(args.archive, **overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import RunOptions

    settings = settings_from_args(args)
    options = RunOptions(
        content=args.content,
        fulltext=args.fulltext,
        only_due=args.only_due,
        include_dead=args.include_dead,
        workers=args.workers,
    )
    report = run_with_progress(args.archive, options, settings, as_json=args.json)
    if args.build or settings.build:
        build_site_cli(args.archive, None, full=False)
    return EXIT_FAILED if args.strict and report.failed else 0


def run_with_progress(archive: Path, options, settings, *, as_json: bool = False):
    """Run the pipeline with a rich progress bar on a terminal, plain lines otherwise."""
    from .pipeline import run
    from .report import outcome_line, print_summary
    from .subscriptions import load_subscriptions

    log = logging.getLogger("newsmirror")
    interactive = sys.stderr.isatty() and not as_json
    if interactive:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        total = len(load_subscriptions(archive, settings.feed_defaults))
        with Progress(
            TextColumn("{task.fields[what]:<8}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.description}"), transient=True,
        ) as progress:  # fmt: skip
            feeds = progress.add_task("", total=total, what="feeds")
            items = progress.add_task("", total=0, what="items", visible=False)
            # Items of the feeds that have decided which of their items are new,
            # so a feed of 700 items shows its progress, not 0 of 1 feeds.
            per_feed: dict[str, tuple[int, int]] = {}

            def on_feed(outcome) -> None:
                progress.update(feeds, advance=1, description=outcome.site)

            def on_items(site: str, done: int, todo: int) -> None:
                per_feed[site] = (done, todo)
                progress.update(
                    items,
                    completed=sum(d for d, _ in per_feed.values()),
                    total=sum(t for _, t in per_feed.values()),
                    description=f"{site} {done}/{todo}",
                    visible=True,
                )

            report = run(archive, options, settings, on_feed=on_feed, on_items=on_items)
    else:

        def on_feed(outcome) -> None:
            level = logging.WARNING if outcome.status == "failed" else logging.INFO
            log.log(level, outcome_line(outcome), extra={"fields": {"feed": outcome.url}})
            for problem in outcome.item_errors:
                log.warning("item error in %s: %s", outcome.site, problem)
            for refusal in outcome.refused:
                log.warning("refused in %s: %s", outcome.site, refusal)

        last_logged: dict[str, float] = {}

        def on_items(site: str, done: int, todo: int) -> None:
            # A line now and then for feeds with many items (full text takes time).
            now = time.monotonic()
            if todo >= ITEMS_LOGGED_FROM and now - last_logged.get(site, 0.0) >= 10:
                last_logged[site] = now
                log.info("  .. %s: %d of %d new items done", site, done, todo)

        report = run(archive, options, settings, on_feed=on_feed, on_items=on_items)
    report.write_json(archive / ".newsmirror" / "reports")
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif interactive:
        print_summary(report)
    else:
        print(report.summary_line())
    return report


# --- subs ---------------------------------------------------------------------------


def cmd_subs_list(args: argparse.Namespace) -> int:
    from .subscriptions import load_subscriptions

    for s in load_subscriptions(args.archive):
        print(f"{s.site}\t{s.url}")
    return 0


def cmd_subs_import(args: argparse.Namespace) -> int:
    from .subscriptions import import_opml

    added, existing = import_opml(args.archive, args.opml)
    print(f"{added} feeds added to {args.archive / 'subs.json'}, {existing} already there")
    return 0


def cmd_subs_export(args: argparse.Namespace) -> int:
    from .fsutil import atomic_write
    from .subscriptions import load_subscriptions, to_opml

    text = to_opml(load_subscriptions(args.archive))
    if args.out:
        atomic_write(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_subs_enable(args: argparse.Namespace) -> int:
    from .status import enable_feed

    for url in enable_feed(args.archive, args.feed):
        print(f"enabled {url}")
    return 0


# --- demo and build -------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.archive, build=args.build)
    return 0


def build_site_cli(archive: Path, out: Path | None, *, full: bool) -> None:
    from .site import build_site

    result = build_site(archive, out, full=full)
    print(
        f"site: {result.posts} posts, {result.pages_written} pages written,"
        f" {result.pages_skipped} unchanged, in {result.seconds:.2f}s"
    )


def _extra_commands() -> list[
    Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]
]:
    from . import commands

    return commands.REGISTER


if __name__ == "__main__":
    sys.exit(main())
