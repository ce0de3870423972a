"""Project-wide settings: the `[settings]` table of `newsmirror.toml`, then
command-line overrides. Every setting has a sane default.

The settings dataclasses below are the one table of settings: each field is
declared with `models.setting(default, help, ...)`, and `SETTINGS` lists
them as `Definition`s. `load_settings` validates newsmirror.toml from them;
`newsmirror init` writes its commented newsmirror.toml from them and
docs/configuration.md is generated from them (a test fails when it differs).
Adding a setting is adding one field.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import ConfigError, FeedOptions, setting
from ..util.durations import parse_duration
from .credentials import PROXY_ENV, expand_env

CONFIG_FILE = "newsmirror.toml"
# Top-level tables newsmirror.toml may hold; anything else is a typo.
KNOWN_TABLES = ("settings", "site", "feeds", "rules", "publish", "recheck")
DEFAULT_USER_AGENT = "newsmirror/0.1 (+https://github.com/newsmirror/newsmirror)"


@dataclass(frozen=True)
class FetchSettings:
    """How feeds and pages are fetched (read by `ingest.fetch.Fetcher`)."""

    user_agent: str = setting(DEFAULT_USER_AGENT, "User-Agent header of every request")
    connect_timeout: float = setting(10.0, "seconds to wait for a connection", minimum=0.1)
    read_timeout: float = setting(
        30.0, "seconds to wait for the next bytes of a response", minimum=0.1
    )
    # A feed's whole work: its fetch (retries, redirects), then its article
    # pages and images (see `ingest.pipeline`); also the cap of any one fetch.
    deadline: float = setting(
        90.0,
        "seconds allowed per feed: its fetch (retries and redirects included), then its"
        " article pages and images; items still waiting for those are written with the"
        " feed's own content",
        minimum=0.1,
    )
    max_bytes: int = setting(
        20 * 2**20, "largest response body accepted, in bytes (after decompression too)", minimum=1
    )
    max_redirects: int = setting(5, "redirects followed per request", minimum=0)
    concurrency: int = setting(64, "requests in flight overall", minimum=1)
    per_host: int = setting(6, "requests in flight per host", minimum=1)
    retries: int = setting(2, "retries after a 5xx, 429, 408 or connection error", minimum=0)
    backoff: float = setting(0.5, "base seconds between retries (doubling, with jitter)", minimum=0)
    max_retry_after: float = setting(
        30.0, "longest Retry-After waited for, in seconds; a longer one fails the feed", minimum=0
    )
    proxy: str | None = setting(
        None,
        "http:// or socks5:// proxy for every request (with a password: in NEWSMIRROR_PROXY"
        " or as ${NAME}, not here, as newsmirror.toml is published); unset: NEWSMIRROR_PROXY,"
        " then HTTP(S)_PROXY / ALL_PROXY from the environment",
        kind=str,
    )
    # Off: URLs from feed content (fetch(origin=...)) may reach any address;
    # see `ingest.fetch`.
    allow_private_networks: bool = setting(
        False,
        "fetch article pages and images (and their redirects) also from private, loopback"
        " and link-local addresses; off: only public ones, or the feed's own host and port",
    )


@dataclass(frozen=True)
class ScheduleSettings:
    """How often feeds are checked (used by `watch`)."""

    min_interval: float = setting(
        15 * 60.0, "seconds: the shortest wait between two checks of a feed", minimum=0
    )
    max_interval: float = setting(
        24 * 3600.0, "seconds: the longest wait between two checks of a feed", minimum=0
    )
    dead_after: int = setting(
        10, "failures in a row after which a feed is marked dead (revive: `subs enable`)", minimum=1
    )


@dataclass(frozen=True)
class ImageSettings:
    """How posts' images are mirrored into assets/ (ingest/images.py, ingest/encode.py)."""

    image_max_bytes: int = setting(
        5 * 2**20, "largest image downloaded, in bytes; a larger one stays on its host", minimum=1
    )
    image_max_width: int = setting(
        1280, "wider images are scaled down to this many pixels", minimum=16, maximum=20000
    )
    image_budget: int = setting(
        500 * 10**6,
        "bytes all of assets/ may hold; past it new images stay on their hosts"
        " (GitHub Pages serves sites up to 1 GB)",
        minimum=0,
    )
    image_quality: int = setting(80, "JPEG and lossy WebP quality", minimum=1, maximum=100)
    image_max_pixels: int = setting(
        40_000_000, "largest image decoded, in pixels (decompression bombs)", minimum=1
    )
    images_per_post: int = setting(30, "images mirrored per post at most", minimum=0)


@dataclass(frozen=True)
class RecheckSettings:
    """How originals are re-checked (the `[recheck]` table; read by `ingest.recheck`)."""

    schedule: str = setting(
        "1h 6h 1d 3d 7d 30d",
        "when a post's original is fetched again, after the post was written: durations"
        " (90s, 30m, 1h, 2d) apart by spaces",
    )
    confirm_after: float = setting(
        60.0,
        "minutes at least between the two checks that confirm a deletion"
        " (`recheck --confirm-after`)",
        minimum=0,
    )
    max_per_run: int = setting(2000, "checks in one re-check; the rest wait for the next", minimum=1)
    max_per_host: int = setting(200, "checks of one host in one re-check", minimum=1)
    rate_per_host: float = setting(
        1.0, "requests per second to one host, at most, one at a time", minimum=0.001
    )
    every: str = setting("30m", "how often `watch` re-checks: a duration, or off")
    watch_feeds: bool = setting(
        True, "note, during `run`, posts gone from a feed that still lists older items"
    )

    @property
    def steps(self) -> tuple[float, ...]:
        """The schedule in seconds, shortest first."""
        return parse_schedule(self.schedule)

    @property
    def confirm_seconds(self) -> float:
        return self.confirm_after * 60.0

    @property
    def every_seconds(self) -> float | None:
        return duration_or_off(self.every)


def duration_or_off(text: str, name: str = "[recheck] every") -> float | None:
    """'30m' -> 1800.0; 'off' -> None."""
    return None if text.strip().lower() == "off" else parse_duration(text, name=name)


def parse_schedule(text: str, where: object = "[recheck] schedule") -> tuple[float, ...]:
    """'1h 6h 1d' -> (3600.0, 21600.0, 86400.0); '0s' is allowed (at once)."""
    steps = []
    for part in text.replace(",", " ").split():
        steps.append(0.0 if part in ("0", "0s", "0m", "0h") else parse_duration(part, name=where))
    if not steps:
        raise ConfigError(where, "needs at least one duration, like \"1h 1d 7d\"")
    return tuple(sorted(steps))


@dataclass(frozen=True)
class Settings:
    fetch: FetchSettings = field(default_factory=FetchSettings)
    feed_defaults: FeedOptions = field(default_factory=FeedOptions)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    rules: tuple[dict[str, Any], ...] = ()
    retention_days: int | None = setting(
        None,
        "move posts older than this many days from _posts/ to archived/ (watch, `retention`);"
        " unset: keep every post in _posts/",
        kind=int,
        minimum=1,
    )
    build: bool = setting(False, "build the site after every run (run, watch)")
    recheck: RecheckSettings = field(default_factory=RecheckSettings)


@dataclass(frozen=True)
class Definition:
    """One setting: where it goes, its type, default and help, and the values it takes."""

    table: str  # "settings", "site" or "feeds"
    group: str  # the record it fills: "fetch", "schedule", "feed", "images", "archive", "site"
    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def check(self, where: object, value: Any) -> Any:
        """`value` if it fits, ints widened to floats; else a one-line ConfigError."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise ConfigError(where, f"{self.name} must be {_KIND_WORDS[self.kind]}, got {value!r}")
        if self.choices and value not in self.choices:
            allowed = " | ".join(toml_value(c) for c in self.choices)
            raise ConfigError(where, f"{self.name} must be {allowed}, got {value!r}")
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(where, f"{self.name} must be {self.range_text()}, got {value!r}")
        return value

    def range_text(self) -> str:
        low, high = (_number(n) for n in (self.minimum, self.maximum))
        if low is not None and high is not None:
            return f"from {low} to {high}"
        return f"at least {low}" if low is not None else f"at most {high}"


_KIND_WORDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text in quotes",
}


def _number(n: float | None) -> str | None:
    return None if n is None else f"{n:g}"


def toml_value(value: Any) -> str:
    """A value as TOML writes it: true, 30, "text"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def definitions(table: str, group: str, record: type) -> tuple[Definition, ...]:
    """The settings a dataclass declares with `models.setting` (other fields are not settings)."""
    found = []
    for f in dataclasses.fields(record):
        meta = f.metadata
        if "help" not in meta or meta["per_feed_only"] and table != "feeds":
            continue
        found.append(
            Definition(
                table=table,
                group=group,
                name=f.name,
                kind=meta["kind"],
                default=f.default,
                help=meta["help"],
                choices=meta["choices"],
                minimum=meta["minimum"],
                maximum=meta["maximum"],
            )
        )
    return tuple(found)


# The [settings] of newsmirror.toml, in the order they are documented.
SETTINGS: tuple[Definition, ...] = (
    definitions("settings", "fetch", FetchSettings)
    + definitions("settings", "feed", FeedOptions)
    + definitions("settings", "schedule", ScheduleSettings)
    + definitions("settings", "images", ImageSettings)
    + definitions("settings", "archive", Settings)
)
# The [recheck] table.
RECHECK_SETTINGS: tuple[Definition, ...] = definitions("recheck", "recheck", RecheckSettings)
# What a [[feeds]] entry may set besides site, url and category.
FEED_OPTIONS: tuple[Definition, ...] = definitions("feeds", "feed", FeedOptions)


def check_table(
    where: object, section: str, table: Mapping[str, Any], known: Iterable[Definition]
) -> dict[str, Any]:
    """The values of `table`, each checked against its definition; an unknown
    name is an error that suggests the closest known one."""
    by_name = {d.name: d for d in known}
    values = {}
    for name, value in table.items():
        definition = by_name.get(name)
        if definition is None:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(where, f"{section}: unknown setting {name!r}{hint}")
        values[name] = definition.check(f"{where}: {section}", value)
    return values


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, f"not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(path, f"cannot read: {e.strerror}") from None


def read_config(archive: Path) -> dict[str, Any]:
    """The archive's newsmirror.toml ({} when there is none), its top-level tables checked."""
    path = archive / CONFIG_FILE
    if not path.exists():
        return {}
    raw = read_toml(path)
    for name, value in raw.items():
        if name not in KNOWN_TABLES:
            raise ConfigError(
                path, f"unknown table [{name}]; newsmirror.toml has {', '.join(KNOWN_TABLES)}"
            )
        if name in ("settings", "site") and not isinstance(value, dict):
            raise ConfigError(path, f"[{name}] must be a table")
    return raw


def load_settings(archive: Path, **overrides: Any) -> Settings:
    """Settings of `archive`; `overrides` (from the command line) win."""
    path = archive / CONFIG_FILE
    raw = read_config(archive)
    # `${NAME}` takes a value from the environment, so that secrets need not be
    # in newsmirror.toml, which `publish` makes public. Expanded here, where the
    # values are used: a build or a publish never needs them.
    table = expand_env(raw.get("settings", {}), path, "settings")
    values = check_table(path, "[settings]", table, SETTINGS)
    proxy = os.environ.get(PROXY_ENV)
    if proxy and "proxy" not in values:  # proxy credentials stay out of newsmirror.toml
        values.update(check_table(PROXY_ENV, "environment", {"proxy": proxy}, SETTINGS))
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(check_table("command line", "options", given, SETTINGS))
    groups: dict[str, dict[str, Any]] = {
        "fetch": {}, "feed": {}, "schedule": {}, "images": {}, "archive": {}
    }  # fmt: skip
    for definition in SETTINGS:
        if definition.name in values:
            groups[definition.group][definition.name] = values[definition.name]
    schedule = ScheduleSettings(**groups["schedule"])
    if schedule.min_interval > schedule.max_interval:
        raise ConfigError(path, "[settings]: min_interval must not be above max_interval")
    rules = raw.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ConfigError(path, "[[rules]] must be an array of tables")
    return Settings(
        fetch=FetchSettings(**groups["fetch"]),
        feed_defaults=FeedOptions(**groups["feed"]),
        schedule=schedule,
        images=ImageSettings(**groups["images"]),
        rules=tuple(rules),
        recheck=load_recheck(path, raw.get("recheck", {})),
        **groups["archive"],
    )


def load_recheck(path: Path, table: Any) -> RecheckSettings:
    """The `[recheck]` table, checked (its durations too)."""
    if not isinstance(table, dict):
        raise ConfigError(path, "[recheck] must be a table")
    recheck = RecheckSettings(**check_table(path, "[recheck]", table, RECHECK_SETTINGS))
    parse_schedule(recheck.schedule, f"{path}: [recheck] schedule")
    duration_or_off(recheck.every, f"{path}: [recheck] every")
    return recheck
