"""Dates of feed items: ISO 8601 and RFC 822 strings -> UTC datetimes with
milliseconds. Both parse paths (feedparser's and the lxml fast path) read
dates here, so that they agree. RFC 822 dates are also read with the day and
month names of the languages real feeds write them in (Portuguese, Spanish,
French, German, Chinese: `Seg, 24 Set 2018 19:42:40 -0300`, `周一, 24 9月 2018 ...`).

The old generator read dates with JavaScript's Date.parse, which knows only
English names: it dated such items with the time of the run, so years-old
items topped the home page.
"""

from __future__ import annotations

import calendar
import email.utils
import functools
import re
import time
import unicodedata
from datetime import UTC, datetime

# Month names and abbreviations, accents removed and lower-cased.
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "jan janeiro enero ene janv janvier januar janner",
        "feb fev fevereiro febrero fevr fevrier februar",
        "mar marco marzo mars marz mrz",
        "apr abr abril avr avril april",
        "may mai maio mayo",
        "jun junho junio juin juni",
        "jul julho julio juil juillet juli",
        "aug ago agosto aout august",
        "sep sept set setembro septiembre setiembre septembre september",
        "oct out outubro octubre octobre okt oktober october",
        "nov novembro noviembre novembre november",
        "dec dez dezembro dic diciembre decembre dezember december",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_CHINESE_MONTHS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
for _number, _name in enumerate(_CHINESE_MONTHS, start=1):
    _MONTHS[f"{_name}月"] = _number
    _MONTHS[f"{_number}月"] = _number
_ENGLISH = [calendar.month_abbr[n] for n in range(13)]

# `[weekday,] DD [de] MONTH [de] YYYY HH:MM[:SS] [zone]`, any language's words.
_RFC822_LIKE = re.compile(
    r"^(?:[^\W\d]+\.?\s*,?\s*)?(\d{1,2})\.?\s+(?:de\s+)?([^\W\d]+|\d{1,2}月)\.?,?\s+(?:de\s+)?"
    r"(\d{2,4}),?\s+(\d{1,2}:\d{2}(?::\d{2})?)\s*(.*)$"
)


def parse_date(raw: str | None, fallback: time.struct_time | None = None) -> datetime | None:
    """A timezone-aware UTC datetime with milliseconds, or None. Never raises.

    The raw string is read first because feedparser's *_parsed drops
    sub-seconds (Blogger writes `2023-01-30T04:47:00.007-08:00`).
    """
    parsed = _parse_text(raw) if raw else None
    if parsed is not None:
        return parsed
    try:
        if fallback is not None:
            return datetime.fromtimestamp(calendar.timegm(fallback), tz=UTC)
    except (ValueError, TypeError, OverflowError, OSError):
        pass
    return None


@functools.lru_cache(maxsize=1024)
def _parse_text(raw: str) -> datetime | None:
    """Cached: a feed's dates are read by both the parser's and the tree's
    mapping, and items of a feed often share one."""
    for parser in (_parse_iso8601, _parse_rfc822, _parse_named):
        try:
            parsed = parser(raw.strip())
            if parsed is not None:
                return _to_utc_ms(parsed)
        except (ValueError, TypeError, OverflowError, IndexError):
            continue
    return None


def _parse_iso8601(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    return datetime.fromisoformat(text)


def _parse_rfc822(text: str) -> datetime | None:
    return email.utils.parsedate_to_datetime(text)


def _parse_named(text: str) -> datetime | None:
    """RFC 822 with the day and month names of another language."""
    folded = _fold(text)
    match = _RFC822_LIKE.match(folded)
    if match is None:
        return None
    day, month_name, year, clock, zone = match.groups()
    month = _MONTHS.get(month_name)
    if month is None:
        return None
    english = f"{day} {_ENGLISH[month]} {year} {clock} {zone}".strip()
    return email.utils.parsedate_to_datetime(english)


def _fold(text: str) -> str:
    """Lower case without accents; full-width commas as commas."""
    text = text.replace("，", ",").replace("\u3000", " ").strip().lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _to_utc_ms(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a date without a zone is read as UTC
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
