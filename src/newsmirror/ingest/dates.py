"""Dates of feed items: ISO 8601 and RFC 822 strings -> UTC datetimes with
milliseconds. Both parse paths (feedparser's and the lxml fast path) read
dates here, so that they agree."""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from datetime import UTC, datetime


def parse_date(raw: str | None, fallback: time.struct_time | None = None) -> datetime | None:
    """A timezone-aware UTC datetime with milliseconds, or None. Never raises.

    The raw string is read first because feedparser's *_parsed drops
    sub-seconds (Blogger writes `2023-01-30T04:47:00.007-08:00`).
    """
    for parser in (_parse_iso8601, _parse_rfc822):
        try:
            parsed = parser(raw.strip()) if raw else None
            if parsed is not None:
                return _to_utc_ms(parsed)
        except (ValueError, TypeError, OverflowError, IndexError):
            continue
    try:
        if fallback is not None:
            return datetime.fromtimestamp(calendar.timegm(fallback), tz=UTC)
    except (ValueError, TypeError, OverflowError, OSError):
        pass
    return None


def _parse_iso8601(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    return datetime.fromisoformat(text)


def _parse_rfc822(text: str) -> datetime | None:
    return email.utils.parsedate_to_datetime(text)


def _to_utc_ms(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a date without a zone is read as UTC
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
