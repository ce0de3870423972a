"""When each feed is checked next, and when a feed is given up as dead."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime

from .config import ScheduleSettings
from .report import FeedOutcome
from .store import FeedState


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
        wanted = max((state.ttl_minutes or 0) * 60.0, outcome.cache_seconds or 0.0)
        interval = min(max(wanted, settings.min_interval), settings.max_interval)
    else:
        state.failures += 1
        state.last_error = outcome.reason
        if (outcome.reason or "").startswith("HTTP 410") or state.failures >= settings.dead_after:
            state.dead = True
        # Exponential backoff: a failing feed is asked less and less often.
        interval = min(settings.min_interval * 2 ** (state.failures - 1), settings.max_interval)
    state.next_check = now + interval * random.uniform(0.9, 1.1)


def cache_hint(headers: dict[str, str]) -> float | None:
    """Seconds the server says the feed stays fresh (Cache-Control, Expires)."""
    match = re.search(r"max-age=(\d+)", headers.get("cache-control", ""))
    if match:
        return float(match.group(1))
    expires = headers.get("expires")
    if expires:
        try:
            return max(0.0, parsedate_to_datetime(expires).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None
