"""The parse stage: feed bytes -> `ParsedFeed`.

feedparser does the parsing (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and their
flavours); this module screens hostile documents, repairs charsets feedparser
got wrong, maps JSON Feed (feedparser 6.0 has no JSON parser) and turns
feedparser's result into the `Entry` contract that posts.py depends on.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from ..models import Enclosure, Entry, FeedError, ParsedFeed
from ..util import charsets
from ..util.text import one_line
from ..util.urls import POST_LINK_SCHEMES, serialise_url
from .dates import parse_date
from .feedlinks import linked_feeds
from .parse_fast import read_fast
from .parse_raw import RawItem, media_kind, parse_tree, read_items

__all__ = ["parse_feed", "parse_date", "feedparser_result", "choose_encoding", "screen_dtd"]

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_ENCODING = re.compile(rb"(^\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._:-]+", re.I)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?([\w.:-]+)\s+(.*?)>", re.S)
# A literal value without entity references (character references are fine).
_SAFE_ENTITY_VALUE = re.compile(
    rb"^(\"(?:[^\"&%]|&#\w+;){0,1000}\"|'(?:[^'&%]|&#\w+;){0,1000}')\s*$"
)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_UPDATE_PERIOD_MINUTES = {
    "hourly": 60,
    "daily": 24 * 60,
    "weekly": 7 * 24 * 60,
    "monthly": 30 * 24 * 60,
    "yearly": 365 * 24 * 60,
}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE)


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, fast_path: bool = True
) -> ParsedFeed:
    """Parse one feed document. Raises `FeedError` (one line) when it is not a feed at all.

    `fast_path=False` forces feedparser (the equivalence tests compare both).
    """
    try:
        return _parse_feed(body, url=url, content_type=content_type, fast_path=fast_path)
    except FeedError:
        raise
    except (ValueError, UnicodeError, LookupError) as error:
        # Odd bytes in an encoding declaration, unencodable character references...
        raise FeedError(f"{url}: unreadable document: {one_line(error)}") from None


def _parse_feed(body: bytes, *, url: str, content_type: str | None, fast_path: bool) -> ParsedFeed:
    if not body or not body.strip():
        raise FeedError(f"{url}: empty document")
    screen_dtd(body, url=url)
    if _looks_like_json(body):
        return parse_json_feed(body, url=url)
    fast = read_fast(body, content_type=content_type) if fast_path else None
    if fast is not None:  # plain UTF-8 RSS 2.0/Atom 1.0: the same fields for ~1/5 of the CPU
        return _build_feed(
            fast.feed, fast.entries, url=url, is_atom=fast.is_atom, warnings=[], root=fast.root
        )
    result, warnings, document = _feedparser_document(body, content_type=content_type)
    _check_is_feed(result, body, url)
    if result.get("bozo") and result.get("bozo_exception") is not None:
        warnings.append(f"recovered: {one_line(result['bozo_exception'])}")
    is_atom = str(result.get("version", "")).startswith("atom")
    raw_entries = result.get("entries", [])
    return _build_feed(
        result.get("feed", {}),
        raw_entries,
        url=url,
        is_atom=is_atom,
        warnings=warnings,
        root=parse_tree(document),
    )


def _build_feed(
    feed: Mapping[str, Any],
    raw_entries: list[Any],
    *,
    url: str,
    is_atom: bool,
    warnings: list[str],
    root: etree._Element | None,
) -> ParsedFeed:
    """Map feedparser's keys (or the fast path's copy of them) onto `ParsedFeed`,
    each item's own fields taken from the document's tree (parse_raw.py) when
    its items line up with the parser's."""
    parsed = ParsedFeed(
        title=feed.get("title"),
        link=_safe_link(feed.get("link"), url),
        ttl_minutes=_ttl_minutes(feed),
        warnings=warnings,
    )
    items = read_items(root) if root is not None else None
    if items is not None and len(items) != len(raw_entries):
        items = None
    unreadable: list[str] = []
    for index, raw_entry in enumerate(raw_entries):
        item = items[index] if items is not None else None
        try:
            entry = _map_entry(raw_entry, url=url, is_atom=is_atom, item=item)
        except Exception as error:  # one broken item must not lose the others
            parsed.item_errors.append(f"{url}: {_item_name(raw_entry, index)}: {one_line(error)}")
            continue
        parsed.entries.append(entry)
        dates = item.dates if item is not None else _feedparser_dates(raw_entry)
        if entry.published is None and dates:
            unreadable.append(dates[0])
    if unreadable:
        parsed.warnings.append(
            f"dates: {len(unreadable)} item(s) with a date that could not be read"
            f" (e.g. {unreadable[0][:60]!r}), dated with the run's time"
        )
    return parsed


def _feedparser_dates(raw: Mapping[str, Any]) -> list[str]:
    return [str(t) for key in ("published", "updated") if (t := dict.get(raw, key))]


def feedparser_result(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[feedparser.FeedParserDict, list[str]]:
    """feedparser's result for `body`, re-parsed as UTF-8 when its charset choice was wrong.

    Returns the result and warnings about charset repairs. The corpus test
    evaluates feedparser's own expectations against exactly this result.
    """
    result, warnings, _ = _feedparser_document(
        body, content_type=content_type, extra_headers=extra_headers
    )
    return result, warnings


def _feedparser_document(
    body: bytes,
    *,
    content_type: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[feedparser.FeedParserDict, list[str], bytes]:
    """feedparser's result, warnings, and the document as UTF-8 text in the
    charset feedparser read it in (for parse_raw, so both read the same text)."""
    headers = {"content-type": content_type} if content_type else {}
    headers.update({k.lower(): v for k, v in (extra_headers or {}).items()})
    result = _run_feedparser(body, headers)
    encoding = choose_encoding(body, _header_charset(headers.get("content-type")))
    if encoding is None or not _feedparser_decoded_wrongly(result, encoding):
        return result, [], _as_read(body, result.get("encoding"))
    repaired = _as_utf8_document(body, encoding)
    headers["content-type"] = _with_utf8_charset(headers.get("content-type"))
    got = result.get("encoding") or "nothing"
    warning = f"charset: decoded as {encoding}, not {got}"
    return _run_feedparser(repaired, headers), [warning], repaired


def _as_read(body: bytes, encoding: str | None) -> bytes:
    """`body` as UTF-8 in `encoding`, feedparser's choice (which follows the HTTP
    header over the XML declaration, as lxml would not)."""
    codec = charsets.codec_for(encoding) if encoding else None
    if codec is None or codec == "utf-8":
        return body
    try:
        text = body.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return body
    data = text.lstrip("\ufeff").encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb"\g<1>utf-8", data, count=1)


def choose_encoding(body: bytes, http_charset: str | None) -> str | None:
    """The charset the bytes really are in, or None when feedparser can be trusted.

    Order: a byte order mark (feedparser handles it), strict UTF-8 (non-ASCII
    text that is valid UTF-8 almost never is anything else), the declared
    multi-byte charsets as their supersets, detection, then the declared
    single-byte charsets, which decode anything and so prove nothing.
    """
    if body.startswith(_BOMS) or body.isascii():
        return None
    if charsets.decodes(body, "utf-8"):
        return "utf-8"
    declared = [charsets.codec_for(c) for c in (_xml_charset(body), http_charset) if c]
    declared = [c for c in declared if c is not None]
    multi_byte = [c for c in declared if not charsets.is_single_byte(c)]
    for candidate in multi_byte:
        if charsets.decodes(body, candidate):
            return candidate
    # Detection guessing a single-byte charset is weak evidence: it must not
    # overrule a declared one (Portuguese latin-1 detected as Baltic cp1257).
    detected = charsets.detect(body)
    if not declared:
        return charsets.undeclared_charset(body, detected)
    if detected and not charsets.is_single_byte(detected) and charsets.decodes(body, detected):
        return detected
    for candidate in declared:
        if charsets.decodes(body, candidate):
            return candidate
    return detected if detected and charsets.decodes(body, detected) else "cp1252"


def screen_dtd(body: bytes, *, url: str) -> None:
    """Refuse DTD entity declarations that expand, reach outside or hide parameters.

    feedparser already drops most of them, but refusing them up front keeps
    entity expansion and external entities away from any XML parser. Plain
    DOCTYPEs (RSS 0.91's Netscape DTD) and literal entities pass.
    """
    head = _document_head(body)
    if b"<!ENTITY" not in head.upper():
        return
    for match in _ENTITY_DECL.finditer(head):
        parameter, _name, value = match.groups()
        if parameter or not _SAFE_ENTITY_VALUE.match(value):
            raise FeedError(f"{url}: refused: DTD entity declarations")
    if len(_ENTITY_DECL.findall(head)) != head.upper().count(b"<!ENTITY"):
        raise FeedError(f"{url}: refused: DTD entity declarations")


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """Map a JSON Feed (1.0 / 1.1) document; feedparser 6.0 cannot read JSON."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FeedError(f"{url}: not a feed: invalid JSON ({one_line(error)})") from None
    if not isinstance(document, dict) or not (
        "jsonfeed.org" in str(document.get("version", ""))
        or isinstance(document.get("items"), list)
    ):
        raise FeedError(f"{url}: not a feed: JSON that is not a JSON Feed")
    items = document.get("items")
    parsed = ParsedFeed(
        title=_str_or_none(document.get("title")),
        link=_safe_link(_str_or_none(document.get("home_page_url")), url),
    )
    for index, item in enumerate(items if isinstance(items, list) else []):
        try:
            parsed.entries.append(_map_json_item(item, url=url))
        except Exception as error:  # one broken item must not lose the others
            name = item.get("title") if isinstance(item, dict) else None
            label = f"item {index + 1}" + (f" {name!r}" if name else "")
            parsed.item_errors.append(f"{url}: {label}: {one_line(error)}")
    return parsed


# --- feedparser ---------------------------------------------------------------


def _run_feedparser(body: bytes, headers: dict[str, str]) -> feedparser.FeedParserDict:
    # BytesIO: a bytes/str argument could make feedparser open a URL or a file.
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=dict(headers),
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _feedparser_decoded_wrongly(result: Mapping[str, Any], encoding: str) -> bool:
    exception = result.get("bozo_exception")
    fell_back = isinstance(
        exception, feedparser.CharacterEncodingOverride | feedparser.CharacterEncodingUnknown
    )
    used = charsets.codec_for(result.get("encoding") or "")
    if used == charsets.codec_for(encoding):
        return False
    if used is None or (fell_back and charsets.is_single_byte(used)):
        return True
    # feedparser's choice decoded strictly; only overrule it with strong evidence.
    return encoding == "utf-8" or (charsets.is_single_byte(used) and not charsets.is_single_byte(encoding))


def _check_is_feed(result: Mapping[str, Any], body: bytes, url: str) -> None:
    if result.get("entries") or result.get("version"):
        return
    if _HTML_START.match(body.lstrip(b"\xef\xbb\xbf")):
        links = linked_feeds(body, url)
        hint = f"; it links to {links[0]} \N{EM DASH} use that" if links else ""
        raise FeedError(f"{url}: not a feed: got an HTML page{hint}")
    feed = result.get("feed", {})
    if feed.get("title") or feed.get("link"):
        return
    exception = result.get("bozo_exception")
    if exception is not None and not _document_head(body).lstrip().startswith(b"<"):
        raise FeedError(f"{url}: not a feed: {one_line(exception)}")
    raise FeedError(f"{url}: not a feed: XML without items or channel")


def _map_entry(
    raw: Mapping[str, Any], *, url: str, is_atom: bool, item: RawItem | None
) -> Entry:
    base_url = _entry_base(raw, url)
    if item is None:
        return _feedparser_entry(raw, base_url=base_url, is_atom=is_atom)
    content, content_is_html, summary = item.content, item.content_is_html, item.summary
    if content is None:  # none of the old generator's elements: feedparser's choice
        content, content_is_html, from_summary = _choose_content(raw, is_atom=is_atom)
        summary = None if from_summary or raw.get("summary") == content else raw.get("summary")
    published = next((d for t in item.dates if (d := parse_date(t)) is not None), None)
    return Entry(
        title=item.title if item.title is not None else raw.get("title"),
        link=_safe_link(item.link, base_url) if item.link else None,
        guid=(item.guid.strip() or None) if item.guid is not None else raw.get("id") or None,
        author=item.author or None,
        # Else the formats only feedparser knows (and Atom 0.3's issued/modified).
        published=published or _entry_date(raw),
        content=content,
        content_is_html=content_is_html,
        summary=summary,
        thumbnail=_thumbnail(raw, base_url),
        base_url=base_url,
        tags=item.tags,
        enclosures=_enclosures(item.enclosures, base_url),
    )


def _feedparser_entry(raw: Mapping[str, Any], *, base_url: str, is_atom: bool) -> Entry:
    """An entry from feedparser's keys alone (a document whose tree is unusable)."""
    content, content_is_html, from_summary = _choose_content(raw, is_atom=is_atom)
    summary = raw.get("summary")
    if from_summary or summary == content:
        summary = None
    # feedparser copies a permalink guid into `link` (resolving `abc-123`
    # against the feed's URL): posts.py decides whether a guid is a link.
    link = raw.get("link")
    if raw.get("guidislink") and link == raw.get("id"):
        link = None
    return Entry(
        title=raw.get("title"),
        link=_safe_link(link, base_url),
        guid=raw.get("id") or None,
        author=_author(raw, is_atom=is_atom),
        published=_entry_date(raw),
        content=content,
        content_is_html=content_is_html,
        summary=summary,
        thumbnail=_thumbnail(raw, base_url),
        base_url=base_url,
        tags=[tag["term"] for tag in raw.get("tags", []) if tag.get("term")],
        enclosures=_enclosures(
            [(e.get("href") or "", e.get("type"), None) for e in raw.get("enclosures", [])]
            + [(m.get("url") or "", m.get("type"), m.get("medium"))
               for m in raw.get("media_content", [])],  # fmt: skip
            base_url,
        ),
    )


def _enclosures(found: list[tuple[str, str | None, str | None]], base: str) -> list[Enclosure]:
    """The audio and video files among (url, type, medium), web links only, each once."""
    kept: dict[str, Enclosure] = {}
    for url, mime, medium in found:
        try:
            link = serialise_url(url, base=base or None) if url.strip() else None
        except ValueError:
            link = None
        kind = media_kind(url, mime, medium) if link else None
        if link and kind and link not in kept and link.startswith(("http://", "https://")):
            kept[link] = Enclosure(link, kind, (mime or "").strip().lower() or None)  # type: ignore[arg-type]
    return list(kept.values())


def _choose_content(raw: Mapping[str, Any], *, is_atom: bool) -> tuple[str | None, bool, bool]:
    """(content, is_html, came_from_summary) in FORMAT.md's order.

    feedparser puts content:encoded (RSS) and atom:content (Atom) both in
    `content`, and YouTube's media:group/media:description in `summary`.
    """
    bodies = [c for c in raw.get("content", []) if c.get("value") is not None]
    summary = raw.get("summary")
    youtube = bool(raw.get("yt_videoid"))
    if bodies and not is_atom:
        return bodies[0]["value"], _is_html(bodies[0].get("type")), False
    if youtube and summary is not None:
        return summary, False, True  # media:description is plain text
    if bodies:
        return bodies[0]["value"], _is_html(bodies[0].get("type")), False
    if summary is not None:
        detail = raw.get("summary_detail") or {}
        return summary, _is_html(detail.get("type")), True
    return None, True, False


def _author(raw: Mapping[str, Any], *, is_atom: bool) -> str | None:
    """The item's author, else dc:creator, as the feed wrote it.

    feedparser merges <author> and dc:creator into `author`, so an empty
    `<dc:creator/>` after a real <author> blanks it; the names in `authors`
    survive. Atom's `author` reads "name (email)": take the name.
    """
    detail_name = (raw.get("author_detail") or {}).get("name")
    if is_atom and detail_name:
        return detail_name
    if raw.get("author"):
        return raw["author"]
    names = [a.get("name") for a in raw.get("authors", []) if a.get("name")]
    return detail_name or (names[0] if names else None)


def _entry_date(raw: Mapping[str, Any]) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict maps a missing `updated` onto `published` with a warning.
        text, parsed = dict.get(raw, key), dict.get(raw, f"{key}_parsed")
        if text or parsed:
            found = parse_date(text, parsed)
            if found is not None:
                return found
    return None


def _entry_base(raw: Mapping[str, Any], url: str) -> str:
    # feedparser records the xml:base in scope on each *_detail.
    for key in ("title_detail", "summary_detail"):
        base = (raw.get(key) or {}).get("base")
        if base:
            return urljoin(url, base)
    for content in raw.get("content", []):
        if content.get("base"):
            return urljoin(url, content["base"])
    return url


def _thumbnail(raw: Mapping[str, Any], base_url: str) -> str | None:
    for thumbnail in raw.get("media_thumbnail", []):
        if thumbnail.get("url"):
            return urljoin(base_url, thumbnail["url"])
    for enclosure in raw.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return urljoin(base_url, enclosure["href"])
    return None


def _ttl_minutes(feed: Mapping[str, Any]) -> int | None:
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl)
    period = _UPDATE_PERIOD_MINUTES.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    if period is None:
        return None
    frequency = str(feed.get("sy_updatefrequency", "1")).strip()
    times = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
    return max(1, period // times)


# --- JSON Feed ----------------------------------------------------------------


def _map_json_item(item: Any, *, url: str) -> Entry:
    if not isinstance(item, dict):
        raise ValueError("item is not a JSON object")
    html = _str_or_none(item.get("content_html"))
    text = _str_or_none(item.get("content_text"))
    summary = _str_or_none(item.get("summary"))
    content = html if html is not None else text if text is not None else summary
    guid = item.get("id")
    return Entry(
        title=_str_or_none(item.get("title")),
        link=_safe_link(_str_or_none(item.get("url")), url),
        guid=str(guid) if guid not in (None, "") else None,
        author=_json_author(item),
        published=parse_date(_str_or_none(item.get("date_published")))
        or parse_date(_str_or_none(item.get("date_modified"))),
        content=content,
        content_is_html=html is not None or (text is None and summary is not None),
        summary=summary if content is not summary else None,
        thumbnail=_json_thumbnail(item, url),
        base_url=url,
        enclosures=_enclosures(
            [(str(a.get("url") or ""), _str_or_none(a.get("mime_type")), None)
             for a in item.get("attachments") or [] if isinstance(a, dict)],  # fmt: skip
            url,
        ),
        tags=[str(tag) for tag in item.get("tags") or [] if isinstance(tag, str | int)],
    )


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = list(authors) if isinstance(authors, list) else []
    candidates.append(item.get("author"))
    for author in candidates:
        if isinstance(author, dict) and _str_or_none(author.get("name")):
            return str(author["name"])
    return None


def _json_thumbnail(item: Mapping[str, Any], url: str) -> str | None:
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict) and str(attachment.get("mime_type", "")).startswith(
            "image/"
        ):
            if _str_or_none(attachment.get("url")):
                return urljoin(url, attachment["url"])
    image = _str_or_none(item.get("image"))
    return urljoin(url, image) if image else None


# --- small helpers --------------------------------------------------------------


def _safe_link(link: str | None, base: str) -> str | None:
    if not link or not link.strip():
        return None
    link = link.strip()
    # An absolute web link stays as written (urljoin would drop an empty `?`,
    # which JavaScript's URL, and so the old generator's `from:`, keeps).
    resolved = link if link.startswith(("http://", "https://")) else urljoin(base, link)
    # javascript:, data: and friends must never become a post's link.
    return resolved if urlsplit(resolved).scheme.lower() in POST_LINK_SCHEMES else None


def _is_html(mime: str | None) -> bool:
    return mime not in ("text/plain", "text")


def _document_head(body: bytes) -> bytes:
    """The prolog: everything before the first element (where a DTD can live)."""
    start = re.search(rb"<[A-Za-z_]", body)
    return body[: start.start()] if start else body[:65536]


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _xml_charset(body: bytes) -> str | None:
    match = _XML_DECL.match(body)
    return match.group(1).decode("ascii") if match else None


def _header_charset(content_type: str | None) -> str | None:
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None


def _with_utf8_charset(content_type: str | None) -> str:
    mime = (content_type or "application/xml").split(";")[0].strip() or "application/xml"
    return f"{mime}; charset=utf-8"


def _as_utf8_document(body: bytes, encoding: str) -> bytes:
    text = body.decode(encoding, errors="replace").encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb"\g<1>utf-8", text, count=1)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _item_name(raw: Mapping[str, Any], index: int) -> str:
    title = raw.get("title") if hasattr(raw, "get") else None
    return f"item {index + 1}" + (f" {str(title)[:80]!r}" if title else "")
