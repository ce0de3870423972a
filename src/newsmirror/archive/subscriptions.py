"""The list of feeds: `subs.json` (the existing mirrors' format), the `[[feeds]]`
of `newsmirror.toml` (the same list with per-feed options), and OPML."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

from ..models import ConfigError, FeedOptions, Subscription
from ..util.urls import is_http_url
from .fsutil import atomic_write

SUBS_FILE = "subs.json"
CONFIG_FILE = "newsmirror.toml"

_OPTION_VALUES: dict[str, tuple[object, ...]] = {
    "content": ("clean", "raw"),
    "fulltext": ("auto", "always", "never"),
    "mirror_images": (True, False),
    "enabled": (True, False),
}


def load_subscriptions(archive: Path, defaults: FeedOptions | None = None) -> list[Subscription]:
    """All feeds of the archive: subs.json, then newsmirror.toml's [[feeds]]
    (which add feeds or set options on a subs.json feed with the same URL)."""
    defaults = defaults or FeedOptions()
    subs: dict[str, Subscription] = {}
    subs_path = archive / SUBS_FILE
    if subs_path.exists():
        for sub in read_subs_json(subs_path, defaults):
            subs.setdefault(sub.url, sub)
    config_path = archive / CONFIG_FILE
    if config_path.exists():
        for index, raw in enumerate(read_toml(config_path).get("feeds", []), start=1):
            sub = _toml_feed(config_path, index, raw, subs, defaults)
            subs[sub.url] = sub
    if not subs_path.exists() and not config_path.exists():
        raise ConfigError(
            archive, f"no {SUBS_FILE} or {CONFIG_FILE}: nothing to mirror (see `newsmirror --help`)"
        )
    return list(subs.values())


def read_subs_json(path: Path, defaults: FeedOptions | None = None) -> list[Subscription]:
    """An array of `{"site": NAME, "url": URL}`."""
    defaults = defaults or FeedOptions()
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
    subs = []
    for index, item in enumerate(data, start=1):
        where = f"entry {index}"
        if not isinstance(item, dict):
            raise ConfigError(path, f'{where}: expected an object {{"site": ..., "url": ...}}')
        site, url = item.get("site"), item.get("url")
        if not isinstance(site, str) or not site.strip():
            raise ConfigError(path, f'{where}: "site" must be a non-empty string')
        if not isinstance(url, str) or not is_http_url(url):
            raise ConfigError(path, f'{where} ({site}): "url" must be an http(s) URL, got {url!r}')
        subs.append(Subscription(site=site, url=url.strip(), options=defaults))
    return subs


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, f"not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(path, f"cannot read: {e.strerror}") from None


def feed_options(path: Path, where: str, raw: dict[str, Any], base: FeedOptions) -> FeedOptions:
    """Options from a table, checked: unknown values name the file and place."""
    changes = {}
    for name, allowed in _OPTION_VALUES.items():
        if name in raw:
            if raw[name] not in allowed:
                choices = " | ".join(str(a).lower() for a in allowed)
                raise ConfigError(path, f"{where}: {name} must be {choices}, got {raw[name]!r}")
            changes[name] = raw[name]
    return replace(base, **changes)


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
    unknown = set(raw) - {"site", "url", *_OPTION_VALUES}
    if unknown:
        raise ConfigError(path, f"{where} ({url}): unknown option(s) {', '.join(sorted(unknown))}")
    existing = known.get(url)
    site = raw.get("site", existing.site if existing else None)
    if not isinstance(site, str) or not site.strip():
        raise ConfigError(path, f"{where} ({url}): site must be a non-empty string")
    base = existing.options if existing else defaults
    return Subscription(site=site, url=url, options=feed_options(path, where, raw, base))


# --- subs.json editing and OPML -------------------------------------------------


def write_subs_json(path: Path, subs: list[Subscription]) -> None:
    """As the old generator wrote it: JSON.stringify(list, undefined, 4)."""
    data = [{"site": s.site, "url": s.url} for s in subs]
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=4))


def read_opml(path: Path) -> list[Subscription]:
    """Feeds of an OPML file: every outline with an xmlUrl; site = its title/text,
    or the enclosing category outline's for untitled ones."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        tree = etree.parse(str(path), parser)
    except (OSError, etree.XMLSyntaxError) as e:
        raise ConfigError(path, f"not readable OPML: {e}") from None
    root = tree.getroot()
    if root is None or root.tag != "opml":
        raise ConfigError(path, "not OPML: the root element is not <opml>")
    subs = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        if not is_http_url(url):
            raise ConfigError(path, f"outline {url!r}: not an http(s) URL")
        site = (outline.get("title") or outline.get("text") or "").strip()
        if not site:
            parent = outline.getparent()
            site = (parent.get("title") or parent.get("text") or url) if parent is not None else url
        subs.append(Subscription(site=site, url=url))
    return subs


def to_opml(subs: list[Subscription], title: str = "newsmirror subscriptions") -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for s in subs:
        lines.append(
            f'    <outline type="rss" text={quoteattr(s.site)} title={quoteattr(s.site)}'
            f" xmlUrl={quoteattr(s.url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def import_opml(archive: Path, opml: Path) -> tuple[int, int]:
    """Add the OPML's feeds to the archive's subs.json; returns (added, already there)."""
    subs_path = archive / SUBS_FILE
    current = read_subs_json(subs_path) if subs_path.exists() else []
    urls = {s.url for s in current}
    added = [s for s in read_opml(opml) if s.url not in urls and not urls.add(s.url)]
    if added:
        write_subs_json(subs_path, current + added)
    return len(added), len(read_opml(opml)) - len(added)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
