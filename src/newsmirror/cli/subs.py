"""`newsmirror subs`: add, remove, list, import, export and revive subscriptions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

import newsmirror

from ..archive.fsutil import atomic_write
from ..archive.subscriptions import SUBS_FILE, check_new, shared_sites
from ..util.text import plural
from .common import add_archive, add_command


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    subs = add_command(
        sub, common, "subs", "add, remove, list, import or export feeds",
        "The archive's feeds: subs.json (and [[feeds]] in newsmirror.toml).",
    )  # fmt: skip
    actions = subs.add_subparsers(dest="subs_command", required=True, metavar="ACTION")
    for register_one in (_register_add, _register_by_feed, _register_list, _register_io):
        register_one(actions, common)


def _register_by_feed(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The actions on one listed feed, named by its URL or site name."""
    for name, help, description, feed_help, func in (
        ("remove", "remove a feed from subs.json (its posts stay)", None,
         "the feed's URL, or its site name when only one feed has it", cmd_subs_remove),
        ("enable", "revive a dead feed (by site name or URL)",
         "Clear a feed's dead mark and failure streak; the next run tries it.",
         "the feed's site name or URL", cmd_subs_enable),
    ):  # fmt: skip
        p = add_command(actions, common, name, help, description)
        add_archive(p)
        p.add_argument("feed", help=feed_help)
        p.set_defaults(func=func)


def _register_add(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        actions, common, "add", "add a feed, found from a page's URL",
        "Add a feed to subs.json. URL may be the feed or a page: the feed is found in "
        "the page's <link rel=\"alternate\"> or at /feed, /rss.xml, /atom.xml, /index.xml, "
        "/feed.xml. It is fetched once, to check it and to take its title as the site name.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("url", help="the feed, or a page that links to it")
    p.add_argument(
        "--site", help="the site name its posts are filed under (default: the feed's title)"
    )
    p.add_argument("--category", help="a folder to file the feed under (OPML; default: none)")
    p.add_argument(
        "--share-site",
        action="store_true",
        help="allow a site name another feed has: both share one source page",
    )
    p.set_defaults(func=cmd_subs_add)


def _register_list(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        actions, common, "list", "list the feeds with their health",
        "One line per feed: its state (ok, new, failing, dead, rejecting, disabled), site "
        "name, URL and category, and the last problem. `newsmirror status` tells more.",
    )  # fmt: skip
    add_archive(p)
    p.set_defaults(func=cmd_subs_list)


def _register_io(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        actions, common, "import", "add the feeds of an OPML file",
        "Add the feeds of an OPML file to subs.json; folders become categories. A file "
        "that is not well-formed XML is refused, and nothing is written.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("opml", type=Path, help="the OPML file")
    p.set_defaults(func=cmd_subs_import)
    p = add_command(
        actions, common, "export", "write the feeds as OPML",
        "Write every feed as OPML 2.0, categories as folders.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("-o", "--out", type=Path, help="file to write (default: standard output)")
    p.set_defaults(func=cmd_subs_export)


def cmd_subs_add(args: argparse.Namespace) -> int:
    archive: Path = args.archive
    settings = newsmirror.load_settings(archive)
    current = newsmirror.load_subscriptions(archive, settings.feed_defaults)
    # Refuse a listed URL (or a taken --site) before fetching anything.
    check_new(archive, current, args.url, args.site, share_site=args.share_site)
    found = newsmirror.find_feed(args.url, settings.fetch)
    site = args.site or found.title or urlsplit(found.url).hostname or found.url
    sub = newsmirror.Subscription(site=site, url=found.url, category=args.category)
    newsmirror.add_subscription(archive, sub, share_site=args.share_site)
    via = {
        "given": "",
        "linked": f", linked from {args.url}",
        "guessed": f", found beside {args.url}",
    }[found.via]
    print(f"added {site}: {found.url} ({plural(found.items, 'item')} now{via})")
    return 0


def cmd_subs_remove(args: argparse.Namespace) -> int:
    removed = newsmirror.remove_subscription(args.archive, args.feed)
    print(f"removed {removed.site}: {removed.url} (its posts stay in _posts/)")
    return 0


def cmd_subs_list(args: argparse.Namespace) -> int:
    subs = newsmirror.load_subscriptions(args.archive)
    health = {row.url: row for row in newsmirror.feed_health(args.archive)}
    print(f"{plural(len(subs), 'feed')} in {args.archive / SUBS_FILE}")
    for s in subs:
        row = health.get(s.url)
        state = row.state if row else "new"
        line = f"{state:<9}  {s.site}  {s.url}"
        if s.category:
            line += f"  [{s.category}]"
        if row and row.broken and row.last_error:
            line += f"  ({row.last_error})"
        print(line)
    shared = shared_sites(subs)
    if shared:
        names = ", ".join(f"{site} ({n})" for site, n in shared.items())
        print(
            f"{plural(len(shared), 'site name')} shared by several feeds (one source page each): {names}"
        )
    return 0


def cmd_subs_import(args: argparse.Namespace) -> int:
    added, existing = newsmirror.import_opml(args.archive, args.opml)
    print(f"{plural(added, 'feed')} added to {args.archive / SUBS_FILE}, {existing} already there")
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
