"""The list of feeds: `subs.json` (the existing mirrors' format), the `[[feeds]]`
of `newsmirror.toml` (the same list with per-feed options), and OPML.

Duplicates: two entries whose URLs are one feed (`util.urls.feed_key`: scheme
and host case, default port, fragment) are refused with one line naming both,
when loading and when adding. Several feeds may share one site name (real
lists file 28 authors under "Matters"): they share one source page, so
loading keeps them and `subs list` shows it, while `subs add` asks for
`--share-site` before it files a new feed under a name already in use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

from ..models import ConfigError, FeedOptions, Subscription
from ..util.urls import feed_key, is_http_url
from .config import CONFIG_FILE, FEED_OPTIONS, check_table, read_config, read_toml
from .fsutil import atomic_write

SUBS_FILE = "subs.json"
__all__ = ["CONFIG_FILE", "SUBS_FILE", "load_subscriptions", "read_toml"]


def load_subscriptions(archive: Path, defaults: FeedOptions | None = None) -> list[Subscription]:
    """All feeds of the archive: subs.json, then newsmirror.toml's [[feeds]]
    (which add feeds or set options on a subs.json feed with the same URL)."""
    defaults = defaults or FeedOptions()
    subs: dict[str, Subscription] = {}
    subs_path = archive / SUBS_FILE
    if subs_path.exists():
        for sub in read_subs_json(subs_path, defaults):
            subs[feed_key(sub.url)] = sub
    config_path = archive / CONFIG_FILE
    if config_path.exists():
        from_toml: dict[str, int] = {}
        for index, raw in enumerate(read_config(archive).get("feeds", []), start=1):
            sub = _toml_feed(config_path, index, raw, subs, defaults)
            key = feed_key(sub.url)
            if key in from_toml:
                raise ConfigError(
                    config_path,
                    f"feeds[{from_toml[key]}] and feeds[{index}] are the same feed ({sub.url})",
                )
            from_toml[key] = index
            subs[key] = sub
    if not subs_path.exists() and not config_path.exists():
        raise ConfigError(
            archive,
            f"no {SUBS_FILE} or {CONFIG_FILE}: not an archive yet (make one with `newsmirror init`)",
        )
    return list(subs.values())


def read_subs_json(path: Path, defaults: FeedOptions | None = None) -> list[Subscription]:
    """An array of `{"site": NAME, "url": URL}` (and an optional "category")."""
    defaults = defaults or FeedOptions()
    subs: list[Subscription] = []
    first_of: dict[str, int] = {}
    for index, item in enumerate(_read_json_list(path), start=1):
        where = f"entry {index}"
        if not isinstance(item, dict):
            raise ConfigError(path, f'{where}: expected an object {{"site": ..., "url": ...}}')
        site, url, category = item.get("site"), item.get("url"), item.get("category")
        if not isinstance(site, str) or not site.strip():
            raise ConfigError(path, f'{where}: "site" must be a non-empty string')
        if not isinstance(url, str) or not is_http_url(url):
            raise ConfigError(path, f'{where} ({site}): "url" must be an http(s) URL, got {url!r}')
        if category is not None and (not isinstance(category, str) or not category.strip()):
            raise ConfigError(path, f'{where} ({site}): "category" must be a non-empty string')
        key = feed_key(url)
        if key in first_of:
            other = subs[first_of[key] - 1]
            raise ConfigError(
                path,
                f"{where} ({site}) is the same feed as entry {first_of[key]} ({other.site}):"
                f" {url.strip()}; remove one",
            )
        first_of[key] = index
        subs.append(Subscription(site=site, url=url.strip(), options=defaults, category=category))
    return subs


def _read_json_list(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ConfigError(
            path, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except OSError as e:
        raise ConfigError(path, f"cannot read: {e.strerror}") from None
    if not isinstance(data, list):
        raise ConfigError(path, 'expected an array of {"site": ..., "url": ...}')
    return data


def feed_options(path: Path, where: str, raw: dict[str, Any], base: FeedOptions) -> FeedOptions:
    """Options from a [[feeds]] table, checked: wrong values name the file and place."""
    wanted = {d.name for d in FEED_OPTIONS}
    values = check_table(path, where, {k: v for k, v in raw.items() if k in wanted}, FEED_OPTIONS)
    return replace(base, **values)


def _toml_feed(
    path: Path, index: int, raw: Any, known: dict[str, Subscription], defaults: FeedOptions
) -> Subscription:
    where = f"feeds[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(path, f"{where}: expected a table")
    url = raw.get("url")
    if not isinstance(url, str) or not is_http_url(url):
        raise ConfigError(path, f"{where}: url must be an http(s) URL, got {url!r}")
    url = url.strip()
    unknown = set(raw) - {"site", "url", "category", *(d.name for d in FEED_OPTIONS)}
    if unknown:
        raise ConfigError(path, f"{where} ({url}): unknown option(s) {', '.join(sorted(unknown))}")
    existing = known.get(feed_key(url))
    site = raw.get("site", existing.site if existing else None)
    if not isinstance(site, str) or not site.strip():
        raise ConfigError(path, f"{where} ({url}): site must be a non-empty string")
    category = raw.get("category", existing.category if existing else None)
    if category is not None and (not isinstance(category, str) or not category.strip()):
        raise ConfigError(path, f"{where} ({url}): category must be a non-empty string")
    base = existing.options if existing else defaults
    # The subs.json spelling of the URL stays: the state database knows the feed by it.
    return Subscription(
        site=site,
        url=existing.url if existing else url,
        options=feed_options(path, where, raw, base),
        category=category,
    )


def shared_sites(subs: Iterable[Subscription]) -> dict[str, int]:
    """Site names that several feeds share (one source page for all), with their feed counts."""
    counts: dict[str, int] = {}
    for s in subs:
        counts[s.site] = counts.get(s.site, 0) + 1
    return {site: n for site, n in counts.items() if n > 1}


# --- editing subs.json ----------------------------------------------------------


def write_subs_json(path: Path, subs: list[Subscription]) -> None:
    """As the old generator wrote it: JSON.stringify(list, undefined, 4)."""
    _write_entries(path, [_entry(s) for s in subs])


def _entry(sub: Subscription) -> dict[str, str]:
    data = {"site": sub.site, "url": sub.url}
    if sub.category:
        data["category"] = sub.category
    return data


def _write_entries(path: Path, entries: list[Any]) -> None:
    atomic_write(path, json.dumps(entries, ensure_ascii=False, indent=4))


def add_subscription(archive: Path, sub: Subscription, *, share_site: bool = False) -> None:
    """Append `sub` to the archive's subs.json. Refuses (ConfigError, one line
    naming both) a feed already listed, and a site name already in use unless
    `share_site`."""
    path = archive / SUBS_FILE
    existing = load_subscriptions(archive)
    check_new(archive, existing, sub.url, sub.site, share_site=share_site)
    entries = _read_json_list(path) if path.exists() else []
    _write_entries(path, [*entries, _entry(sub)])


def check_new(
    archive: Path,
    existing: list[Subscription],
    url: str,
    site: str | None = None,
    *,
    share_site: bool = False,
) -> None:
    """Refuse (one line naming both) a feed the archive already has, and
    (unless `share_site`) a site name already in use."""
    key = feed_key(url)
    for other in existing:
        if feed_key(other.url) == key:
            raise ConfigError(
                archive / SUBS_FILE, f"{url} is already listed, as {other.site}: {other.url}"
            )
    for other in existing:
        if site is not None and other.site == site and not share_site:
            raise ConfigError(
                archive / SUBS_FILE,
                f"site name {site!r} is already used by {other.url}; give another with"
                " --site, or --share-site to file both under one source page",
            )


def _is_archive(archive: Path) -> bool:
    return (archive / SUBS_FILE).exists() or (archive / CONFIG_FILE).exists()


def remove_subscription(archive: Path, name_or_url: str) -> Subscription:
    """Remove the feed at URL `name_or_url`, or the only feed named so, from
    subs.json. Its posts stay. Returns what was removed."""
    path = archive / SUBS_FILE
    wanted = name_or_url.strip()
    subs = read_subs_json(path) if path.exists() else []
    matches = [
        i for i, s in enumerate(subs) if s.site == wanted or feed_key(s.url) == feed_key(wanted)
    ]
    if not matches:
        everywhere = load_subscriptions(archive) if _is_archive(archive) else []
        if any(s.site == wanted or feed_key(s.url) == feed_key(wanted) for s in everywhere):
            raise ConfigError(
                archive / CONFIG_FILE,
                f"{wanted!r} is listed in [[feeds]], not in {SUBS_FILE}: remove it there",
            )
        raise ConfigError(path, f"no feed named or at {wanted!r}")
    if len(matches) > 1:
        raise ConfigError(
            path, f"{len(matches)} feeds are named {wanted!r}; give the URL of the one to remove"
        )
    entries = _read_json_list(path)
    removed = subs[matches[0]]
    del entries[matches[0]]
    _write_entries(path, entries)
    return removed


# --- OPML -----------------------------------------------------------------------


def read_opml(path: Path) -> list[Subscription]:
    """Feeds of an OPML file: every outline with an xmlUrl; site = its title/text,
    or the enclosing folder's for untitled ones; category = the folders it is
    in (nested ones joined with "/"). Malformed XML is one ConfigError."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(path.read_bytes(), parser)
    except OSError as e:
        raise ConfigError(path, f"cannot read: {e.strerror or e}") from None
    except etree.XMLSyntaxError as e:
        raise ConfigError(path, f"not well-formed XML: {e.msg}") from None
    if root is None or root.tag != "opml":
        raise ConfigError(path, "not OPML: the root element is not <opml>")
    subs = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        if not is_http_url(url):
            raise ConfigError(path, f"outline {url!r}: not an http(s) URL")
        folders = [_label(o) for o in outline.iterancestors("outline")][::-1]
        folders = [f for f in folders if f]
        site = _label(outline) or (folders[-1] if folders else url)
        subs.append(Subscription(site=site, url=url, category="/".join(folders) or None))
    return subs


def _label(outline: etree._Element) -> str:
    return (outline.get("title") or outline.get("text") or "").strip()


def to_opml(subs: list[Subscription], title: str = "newsmirror subscriptions") -> str:
    """OPML 2.0; feeds with a category go into folders (nested at "/"), in list order."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    tree: dict[str, Any] = {}  # folder name -> subtree; "" -> feeds at this level
    for s in subs:
        node = tree
        for folder in (s.category or "").split("/"):
            if folder:
                node = node.setdefault(folder, {})
        node.setdefault("", []).append(s)
    _opml_outlines(tree, lines, "    ")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _opml_outlines(node: dict[str, Any], lines: list[str], indent: str) -> None:
    for s in node.get("", []):
        lines.append(
            f'{indent}<outline type="rss" text={quoteattr(s.site)} title={quoteattr(s.site)}'
            f" xmlUrl={quoteattr(s.url)}/>"
        )
    for folder, child in node.items():
        if folder:
            lines.append(f"{indent}<outline text={quoteattr(folder)} title={quoteattr(folder)}>")
            _opml_outlines(child, lines, indent + "  ")
            lines.append(f"{indent}</outline>")


def import_opml(archive: Path, opml: Path) -> tuple[int, int]:
    """Add the OPML's feeds to the archive's subs.json; returns (added, already
    there). Nothing is written when the OPML (or the current list) is bad."""
    subs_path = archive / SUBS_FILE
    incoming = read_opml(opml)
    current = load_subscriptions(archive) if _is_archive(archive) else []
    keys = {feed_key(s.url) for s in current}
    added = []
    for sub in incoming:
        key = feed_key(sub.url)
        if key not in keys:
            keys.add(key)
            added.append(sub)
    if added:
        entries = _read_json_list(subs_path) if subs_path.exists() else []
        _write_entries(subs_path, entries + [_entry(s) for s in added])
    return len(added), len(incoming) - len(added)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
