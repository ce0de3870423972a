"""When each feed is checked next, and when a feed is given up as dead."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime

from ..archive.config import ScheduleSettings
from ..archive.store import FeedState
from .report import FeedOutcome

JITTER = 0.1  # +-10%, so that many feeds (and many mirrors) don't hit a host in step
GONE = 410


def after_attempt(
    state: FeedState, outcome: FeedOutcome, settings: ScheduleSettings, now: float
) -> None:
    """Update `state` for what one attempt at the feed gave."""
    if outcome.status == "skipped":
        return
    state.last_attempt = now
    if outcome.status in ("fetched", "not_modified"):
        state.last_success = now
        state.failures = 0
        state.last_error = None
        state.dead = False  # a revived feed that answers is alive again
        interval = success_interval(state.ttl_minutes, outcome.cache_seconds, settings)
    else:
        state.failures += 1
        state.last_error = outcome.reason
        if is_gone(state, outcome) or state.failures >= settings.dead_after:
            state.dead = True
        interval = backoff_interval(state.failures, settings)
        if outcome.retry_after:
            # The server said when to come back (429/503 Retry-After): not sooner.
            state.next_check = now + clamp(max(interval, outcome.retry_after), settings)
            return
    state.next_check = now + jittered(interval, settings)


def success_interval(
    ttl_minutes: int | None, cache_seconds: float | None, settings: ScheduleSettings
) -> float:
    """The feed's own hint (ttl / sy:updatePeriod, Cache-Control / Expires), kept
    within [min_interval, max_interval]; the longer hint wins, since both say
    "nothing new before then"."""
    wanted = max((ttl_minutes or 0) * 60.0, cache_seconds or 0.0)
    return clamp(wanted, settings)


def backoff_interval(failures: int, settings: ScheduleSettings) -> float:
    """Exponential backoff: a failing feed is asked less and less often."""
    exponent = min(max(failures - 1, 0), 60)  # 2**60 is already past any max_interval
    return clamp(settings.min_interval * 2.0**exponent, settings)


def jittered(interval: float, settings: ScheduleSettings) -> float:
    return clamp(interval * random.uniform(1 - JITTER, 1 + JITTER), settings)


def clamp(seconds: float, settings: ScheduleSettings) -> float:
    return min(max(seconds, settings.min_interval), settings.max_interval)


def is_gone(state: FeedState, outcome: FeedOutcome) -> bool:
    """410 Gone: the publisher says the feed will never come back."""
    return state.last_status == GONE or (outcome.reason or "").startswith(f"HTTP {GONE}")


def cache_hint(headers: dict[str, str], now: float | None = None) -> float | None:
    """Seconds the server says the feed stays fresh (Cache-Control, Expires)."""
    cache_control = headers.get("cache-control", "")
    match = re.search(r"(?<![-\w])max-age\s*=\s*\"?(\d+)", cache_control, re.IGNORECASE)
    if match:
        return float(match.group(1))
    expires = headers.get("expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return None  # "0", "-1" and junk mean "already stale"
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    return None
