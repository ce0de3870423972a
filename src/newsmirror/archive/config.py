"""Project-wide settings: the `[settings]` table of `newsmirror.toml`, then
command-line overrides. Every setting has a sane default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import ConfigError, FeedOptions
from ..util.durations import parse_duration
from .subscriptions import CONFIG_FILE, feed_options, read_toml


@dataclass(frozen=True)
class FetchSettings:
    """How feeds and pages are fetched (read by `ingest.fetch.Fetcher`)."""

    user_agent: str = "newsmirror/0.1 (+https://github.com/newsmirror/newsmirror)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # between bytes
    deadline: float = 90.0  # whole fetch incl. retries+redirects
    max_bytes: int = 20 * 2**20  # body cap, also on the decompressed size (gzip bomb)
    max_redirects: int = 5
    concurrency: int = 64  # overall in flight
    per_host: int = 6  # in flight per host
    retries: int = 2  # on 5xx, 429, 408, connection errors
    backoff: float = 0.5  # base seconds, exponential with jitter
    max_retry_after: float = 30.0  # longer Retry-After -> give up with that reason
    proxy: str | None = None  # "http://..." or "socks5://..."; None -> from env
    block_private: bool = False  # SSRF guard for fetch(guard=True)


@dataclass(frozen=True)
class ScheduleSettings:
    """How often feeds are checked (used by `watch`)."""

    min_interval: float = 15 * 60.0
    max_interval: float = 24 * 3600.0
    dead_after: int = 10  # consecutive failures


DAY = 86400.0
DEFAULT_RECHECK_SCHEDULE = (3600.0, 6 * 3600.0, DAY, 3 * DAY, 7 * DAY, 30 * DAY)


@dataclass(frozen=True)
class RecheckSettings:
    """How originals are re-checked (the `[recheck]` table; read by `ingest.recheck`)."""

    # Seconds after a post's first capture at which its original is fetched again.
    schedule: tuple[float, ...] = DEFAULT_RECHECK_SCHEDULE
    confirm_after: float = 3600.0  # a deletion needs two checks at least this far apart
    max_per_run: int = 2000  # checks in one run; the rest wait for the next one
    max_per_host: int = 200  # checks of one host in one run
    rate_per_host: float = 1.0  # requests per second to one host, at most
    every: float | None = 1800.0  # how often `watch` runs it; None: never
    watch_feeds: bool = True  # note posts dropped from their feed during `run`


@dataclass(frozen=True)
class Settings:
    fetch: FetchSettings = field(default_factory=FetchSettings)
    feed_defaults: FeedOptions = field(default_factory=FeedOptions)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    rules: tuple[dict[str, Any], ...] = ()
    retention_days: int | None = None  # off: the whole archive stays in _posts/
    build: bool = False  # build the site after each run
    recheck: RecheckSettings = field(default_factory=RecheckSettings)


_FETCH_FIELDS = {f.name: f for f in dataclasses.fields(FetchSettings)}
_SCHEDULE_FIELDS = {f.name: f for f in dataclasses.fields(ScheduleSettings)}


def load_settings(archive: Path, **overrides: Any) -> Settings:
    """Settings of `archive`; `overrides` (from the command line) win."""
    path = archive / CONFIG_FILE
    raw: dict[str, Any] = read_toml(path) if path.exists() else {}
    table = raw.get("settings", {})
    if not isinstance(table, dict):
        raise ConfigError(path, "[settings] must be a table")
    table = {**table, **{k: v for k, v in overrides.items() if v is not None}}

    fetch_values = {}
    schedule_values = {}
    for name, value in table.items():
        if name in _FETCH_FIELDS:
            fetch_values[name] = _typed(path, name, value, _FETCH_FIELDS[name].default)
        elif name in _SCHEDULE_FIELDS:
            schedule_values[name] = _typed(path, name, value, _SCHEDULE_FIELDS[name].default)
        elif name not in {"content", "fulltext", "mirror_images", "retention_days", "build"}:
            raise ConfigError(path, f"[settings]: unknown setting {name!r}")
    retention = table.get("retention_days")
    if retention is not None and (not isinstance(retention, int) or retention < 1):
        raise ConfigError(path, "[settings]: retention_days must be a whole number of days >= 1")
    rules = raw.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ConfigError(path, "[[rules]] must be an array of tables")
    return Settings(
        fetch=FetchSettings(**fetch_values),
        feed_defaults=feed_options(path, "[settings]", table, FeedOptions()),
        schedule=ScheduleSettings(**schedule_values),
        rules=tuple(rules),
        retention_days=retention,
        build=bool(table.get("build", False)),
        recheck=recheck_settings(path, raw.get("recheck", {})),
    )


def recheck_settings(path: Path, table: Any, **overrides: Any) -> RecheckSettings:
    """The `[recheck]` table: durations as '1h' or seconds, `confirm_after` also
    as minutes (a bare number), `every = "off"` to keep `watch` from rechecking."""
    if not isinstance(table, dict):
        raise ConfigError(path, "[recheck] must be a table")
    table = {**table, **{k: v for k, v in overrides.items() if v is not None}}
    defaults = RecheckSettings()
    values: dict[str, Any] = {}
    for name, value in table.items():
        where = f"[recheck] {name}"
        if name == "schedule":
            if not isinstance(value, list) or not value:
                raise ConfigError(path, f"{where} must be a list of durations like \"1h\"")
            steps = tuple(sorted(_seconds(path, where, v, allow_zero=True) for v in value))
            values[name] = steps
        elif name == "confirm_after":
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                values[name] = float(value) * 60.0  # minutes, as --confirm-after
            else:
                values[name] = _seconds(path, where, value, allow_zero=True)
        elif name == "every":
            off = value is False or value == "off"
            values[name] = None if off else _seconds(path, where, value)
        elif name in ("max_per_run", "max_per_host"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(path, f"{where} must be a whole number >= 1, got {value!r}")
            values[name] = value
        elif name == "rate_per_host":
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ConfigError(path, f"{where} must be a number > 0, got {value!r}")
            values[name] = float(value)
        elif name == "watch_feeds":
            if not isinstance(value, bool):
                raise ConfigError(path, f"{where} must be true or false, got {value!r}")
            values[name] = value
        else:
            raise ConfigError(path, f"[recheck]: unknown setting {name!r}")
    return dataclasses.replace(defaults, **values)


def _seconds(path: Path, where: str, value: Any, *, allow_zero: bool = False) -> float:
    """'1h', '30m', '2d' or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and allow_zero and value.strip() in ("0", "0s", "0m", "0h"):
        seconds = 0.0
    elif isinstance(value, str):
        seconds = parse_duration(value, name=f"{path}: {where}")
    else:
        raise ConfigError(path, f"{where} must be a duration like \"1h\", got {value!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigError(path, f"{where} must be a duration > 0, got {value!r}")
    return seconds


def _typed(path: Path, name: str, value: Any, default: Any) -> Any:
    """Check a value against the type of its default; ints are fine for floats."""
    if default is None or isinstance(value, type(default)) and not isinstance(value, bool):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, bool) and isinstance(value, bool):
        return value
    kind = type(default).__name__
    raise ConfigError(path, f"[settings]: {name} must be a {kind}, got {value!r}")
