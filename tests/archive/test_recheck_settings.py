"""The [recheck] table of newsmirror.toml."""

from __future__ import annotations

import pytest

from newsmirror.archive.config import DEFAULT_RECHECK_SCHEDULE, load_settings
from newsmirror.models import ConfigError


def settings_of(archive, toml: str):
    (archive / "newsmirror.toml").write_text(toml, encoding="utf-8")
    return load_settings(archive).recheck


def test_defaults(archive):
    r = load_settings(archive).recheck
    assert r.schedule == DEFAULT_RECHECK_SCHEDULE == (3600, 21600, 86400, 259200, 604800, 2592000)
    assert (r.confirm_after, r.every, r.rate_per_host) == (3600.0, 1800.0, 1.0)


def test_a_recheck_table_sets_everything(archive):
    r = settings_of(archive, """[recheck]
schedule = ["30m", "2h", 86400, "14d"]
confirm_after = 90
max_per_run = 500
max_per_host = 20
rate_per_host = 0.5
every = "2h"
watch_feeds = false
""")
    assert r.schedule == (1800.0, 7200.0, 86400.0, 14 * 86400.0)
    assert r.confirm_after == 90 * 60.0  # minutes, like --confirm-after
    assert (r.max_per_run, r.max_per_host, r.rate_per_host) == (500, 20, 0.5)
    assert r.every == 7200.0 and r.watch_feeds is False


def test_durations_and_off(archive):
    r = settings_of(archive, '[recheck]\nconfirm_after = "2h"\nevery = "off"\n')
    assert r.confirm_after == 7200.0 and r.every is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[recheck]\nschedule = "1h"\n', "schedule must be a list"),
        ('[recheck]\nschedule = ["soon"]\n', "not a duration"),
        ("[recheck]\nmax_per_run = 0\n", "max_per_run must be a whole number"),
        ("[recheck]\nrate_per_host = -1\n", "rate_per_host must be a number > 0"),
        ("[recheck]\nconfirm_after = -5\n", "confirm_after"),
        ("[recheck]\nevery = 0\n", "every must be a duration > 0"),
        ("[recheck]\nshedule = []\n", "unknown setting 'shedule'"),
        ("recheck = 3\n", "[recheck] must be a table"),
    ],
)
def test_bad_values_are_one_line_naming_the_file(archive, toml, message):
    with pytest.raises(ConfigError) as info:
        settings_of(archive, toml)
    assert message in str(info.value) and "newsmirror.toml" in str(info.value)
    assert "\n" not in str(info.value)
