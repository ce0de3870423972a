"""newsmirror.toml's settings: validated from their definitions, with one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from newsmirror.archive.config import (
    RECHECK_SETTINGS,
    SETTINGS,
    FetchSettings,
    ImageSettings,
    RecheckSettings,
    ScheduleSettings,
    Settings,
    load_settings,
)
from newsmirror.models import ConfigError, FeedOptions
from newsmirror.site.config import SITE_SETTINGS, SiteConfig, load_site_config


def write(archive: Path, text: str) -> None:
    (archive / "newsmirror.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[settings]\nconcurrency = 2.5", "[settings]: concurrency must be a whole number, got 2.5"),
        ("[settings]\nconcurrency = true", "concurrency must be a whole number, got True"),
        ("[settings]\nconcurrency = 0", "concurrency must be at least 1, got 0"),
        ('[settings]\ndeadline = "90"', "deadline must be a number, got '90'"),
        ("[settings]\nbuild = 1", "build must be true or false, got 1"),
        ('[settings]\ncontent = "full"', 'content must be "clean" | "raw", got \'full\''),
        ("[settings]\nuser_agent = 3", "user_agent must be text in quotes, got 3"),
        ("[settings]\nretention_days = 0", "retention_days must be at least 1, got 0"),
        ("[settings]\nconcurency = 3", "unknown setting 'concurency' (did you mean concurrency?)"),
        ("[settings]\nmin_interval = 99999999", "min_interval must not be above max_interval"),
        ("[setting]\nbuild = true", "unknown table [setting]"),
        ("settings = 3", "[settings] must be a table"),
    ],
)
def test_bad_settings_are_one_line_naming_file_and_setting(
    archive: Path, toml: str, message: str
) -> None:
    write(archive, toml)
    with pytest.raises(ConfigError) as e:
        load_settings(archive)
    assert str(e.value).startswith(str(archive / "newsmirror.toml"))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_values_reach_their_records(archive: Path) -> None:
    write(
        archive,
        "[settings]\nconcurrency = 3\nconnect_timeout = 2\nfulltext = \"never\"\n"
        "dead_after = 4\nretention_days = 30\nbuild = true\n",
    )
    s = load_settings(archive, per_host=2, concurrency=None)
    assert (s.fetch.concurrency, s.fetch.per_host, s.fetch.connect_timeout) == (3, 2, 2.0)
    assert isinstance(s.fetch.connect_timeout, float)
    assert s.feed_defaults.fulltext == "never" and s.schedule.dead_after == 4
    assert (s.retention_days, s.build) == (30, True)


def test_command_line_overrides_are_checked_too(archive: Path) -> None:
    with pytest.raises(ConfigError, match="command line: options: concurrency must be at least 1"):
        load_settings(archive, concurrency=0)


def test_every_setting_is_defined_once_with_help() -> None:
    names = [d.name for d in SETTINGS]
    assert len(names) == len(set(names))
    for d in (*SETTINGS, *SITE_SETTINGS):
        assert d.help and d.kind in (str, int, float, bool), d
        assert d.default is None or isinstance(d.default, d.kind), d
    # Every field of the settings records is a setting (or a record of them).
    records = {"fetch", "feed_defaults", "schedule", "images", "rules", "recheck"}
    fields = [f.name for f in dataclasses.fields(FetchSettings)]
    fields += [f.name for f in dataclasses.fields(ScheduleSettings)]
    fields += [f.name for f in dataclasses.fields(ImageSettings)]
    fields += [f.name for f in dataclasses.fields(FeedOptions) if f.name != "enabled"]
    fields += [f.name for f in dataclasses.fields(Settings) if f.name not in records]
    assert sorted(fields) == sorted(names)
    # `mirrors` is read from [[publish.remotes]] and [site] url, not set in [site].
    site_fields = {f.name for f in dataclasses.fields(SiteConfig)} - {"mirrors"}
    assert site_fields == {d.name for d in SITE_SETTINGS}
    assert [f.name for f in dataclasses.fields(RecheckSettings)] == [
        d.name for d in RECHECK_SETTINGS
    ]
    for d in RECHECK_SETTINGS:
        assert d.help and isinstance(d.default, d.kind), d


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[site]\nlang = "zh-CN"', '[site]: lang must be "zh-Hans" | "zh-Hant" | "en"'),
        ("[site]\npage_size = 1000", "page_size must be from 5 to 500, got 1000"),
        ("[site]\ntitle = 3", "title must be text in quotes"),
        ('[site]\nurl = "example.com"', "url must be an http(s) URL or empty"),
        ('[site]\ntitel = "x"', "unknown setting 'titel' (did you mean title?)"),
    ],
)
def test_site_table_is_checked(archive: Path, toml: str, message: str) -> None:
    write(archive, toml)
    with pytest.raises(ConfigError) as e:
        load_site_config(archive)
    assert message in str(e.value)


def test_site_defaults(archive: Path) -> None:
    config = load_site_config(archive)
    assert config.title == "My mirror"  # not the folder's name
    write(archive, '[site]\ntitle = "新闻镜像"\nurl = "https://m.example/"\nlang = "zh-Hant"')
    config = load_site_config(archive)
    assert (config.title, config.url, config.lang) == ("新闻镜像", "https://m.example", "zh-Hant")
