"""Per-feed next check: feed hints within bounds, backoff, dead marking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from newsmirror.archive.config import ScheduleSettings
from newsmirror.archive.store import FeedState
from newsmirror.ingest import schedule
from newsmirror.ingest.report import FeedOutcome

NOW = 1_700_000_000.0
SETTINGS = ScheduleSettings(min_interval=900.0, max_interval=2 * 86400.0, dead_after=3)


def ok(cache: float | None = None) -> FeedOutcome:
    return FeedOutcome(site="s", url="http://x/feed", status="fetched", cache_seconds=cache)


def failed(reason: str = "HTTP 500 Internal Server Error") -> FeedOutcome:
    return FeedOutcome(site="s", url="http://x/feed", status="failed", reason=reason)


def delay(state: FeedState) -> float:
    assert state.next_check is not None
    return state.next_check - NOW


def test_ttl_sets_next_check_with_jitter_inside_bounds() -> None:
    state = FeedState(url="u", site="s", ttl_minutes=1440)
    schedule.after_attempt(state, ok(), SETTINGS, NOW)
    assert 0.9 * 86400 <= delay(state) <= 1.1 * 86400
    assert state.last_success == NOW and state.failures == 0


def test_hints_are_clamped_to_min_and_max() -> None:
    long = FeedState(url="u", site="s", ttl_minutes=60 * 24 * 30)
    schedule.after_attempt(long, ok(), SETTINGS, NOW)
    # Jitter spreads feeds below the maximum but never past it.
    assert 0.9 * SETTINGS.max_interval <= delay(long) <= SETTINGS.max_interval
    short = FeedState(url="u", site="s", ttl_minutes=1)
    schedule.after_attempt(short, ok(cache=5), SETTINGS, NOW)
    assert SETTINGS.min_interval <= delay(short) <= 1.1 * SETTINGS.min_interval


def test_cache_control_wins_when_longer_than_ttl() -> None:
    state = FeedState(url="u", site="s", ttl_minutes=30)
    schedule.after_attempt(state, ok(cache=7200), SETTINGS, NOW)
    assert 0.9 * 7200 <= delay(state) <= 1.1 * 7200


def test_failures_back_off_exponentially_then_die() -> None:
    state = FeedState(url="u", site="s")
    delays = []
    for _ in range(3):
        schedule.after_attempt(state, failed(), SETTINGS, NOW)
        delays.append(delay(state))
    for n, d in enumerate(delays):
        assert 0.9 * 900 * 2**n <= d <= 1.1 * 900 * 2**n
    assert state.failures == 3 and state.dead
    assert state.last_error == "HTTP 500 Internal Server Error"


def test_backoff_is_capped() -> None:
    state = FeedState(url="u", site="s", failures=500)
    schedule.after_attempt(state, failed(), ScheduleSettings(dead_after=10_000), NOW)
    assert 0.9 * 86400 <= delay(state) <= ScheduleSettings().max_interval == 86400


def test_410_is_dead_at_once() -> None:
    state = FeedState(url="u", site="s", last_status=410)
    schedule.after_attempt(state, failed("HTTP 410 Gone"), SETTINGS, NOW)
    assert state.dead and state.failures == 1


def test_success_revives_and_skips_change_nothing() -> None:
    state = FeedState(url="u", site="s", failures=7, dead=True, last_error="HTTP 500")
    schedule.after_attempt(state, FeedOutcome(site="s", url="u", status="skipped"), SETTINGS, NOW)
    assert state.dead and state.failures == 7 and state.last_attempt is None
    schedule.after_attempt(state, ok(), SETTINGS, NOW)
    assert not state.dead and state.failures == 0 and state.last_error is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=3600"}, 3600.0),
        ({"cache-control": "s-maxage=60"}, None),
        ({"cache-control": "Max-Age = 120, must-revalidate"}, 120.0),
        ({"expires": "0"}, None),
        ({"expires": "garbage"}, None),
        ({}, None),
    ],
)
def test_cache_hint(headers: dict[str, str], expected: float | None) -> None:
    assert schedule.cache_hint(headers) == expected


def test_cache_hint_from_expires() -> None:
    when = datetime.fromtimestamp(NOW, UTC) + timedelta(hours=2)
    assert schedule.cache_hint({"expires": format_datetime(when, usegmt=True)}, NOW) == 7200.0
    past = datetime.fromtimestamp(NOW, UTC) - timedelta(hours=2)
    assert schedule.cache_hint({"expires": format_datetime(past, usegmt=True)}, NOW) == 0.0


def test_retry_after_is_honoured_within_bounds() -> None:
    state = FeedState(url="u", site="s")
    outcome = failed("HTTP 503 Service Unavailable")
    outcome.retry_after = 6 * 3600.0
    schedule.after_attempt(state, outcome, SETTINGS, NOW)
    assert delay(state) == 6 * 3600.0  # exactly when the server asked, not sooner
    huge = failed("HTTP 429 Too Many Requests")
    huge.retry_after = 30 * 86400.0
    schedule.after_attempt(state, huge, SETTINGS, NOW)
    assert delay(state) == SETTINGS.max_interval
