"""The [recheck] table of newsmirror.toml."""

from __future__ import annotations

import pytest

from newsmirror.archive.config import load_settings
from newsmirror.models import ConfigError

DAY = 86400.0


def settings_of(archive, toml: str):
    (archive / "newsmirror.toml").write_text(toml, encoding="utf-8")
    return load_settings(archive).recheck


def test_defaults(archive):
    r = load_settings(archive).recheck
    assert r.steps == (3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 30 * DAY)
    assert (r.confirm_seconds, r.every_seconds, r.rate_per_host) == (3600.0, 1800.0, 1.0)


def test_a_recheck_table_sets_everything(archive):
    r = settings_of(archive, """[recheck]
schedule = "14d 30m, 2h 1d"
confirm_after = 90
max_per_run = 500
max_per_host = 20
rate_per_host = 0.5
every = "2h"
watch_feeds = false
""")
    assert r.steps == (1800.0, 7200.0, DAY, 14 * DAY)  # sorted
    assert r.confirm_seconds == 90 * 60.0  # minutes, like --confirm-after
    assert (r.max_per_run, r.max_per_host, r.rate_per_host) == (500, 20, 0.5)
    assert r.every_seconds == 7200.0 and r.watch_feeds is False


def test_off_and_at_once(archive):
    r = settings_of(archive, '[recheck]\nschedule = "0s 1h"\nevery = "off"\nconfirm_after = 0\n')
    assert r.steps == (0.0, 3600.0) and r.every_seconds is None and r.confirm_seconds == 0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[recheck]\nschedule = ["1h"]\n', "schedule must be text"),
        ('[recheck]\nschedule = "1h soon"\n', "not a duration"),
        ('[recheck]\nschedule = ""\n', "needs at least one duration"),
        ("[recheck]\nmax_per_run = 0\n", "max_per_run must be at least 1"),
        ("[recheck]\nrate_per_host = -1\n", "rate_per_host must be at least 0.001"),
        ("[recheck]\nconfirm_after = -5\n", "confirm_after must be at least 0"),
        ('[recheck]\nevery = "never"\n', "not a duration"),
        ("[recheck]\nshedule = '1h'\n", "unknown setting 'shedule' (did you mean schedule?)"),
        ("recheck = 3\n", "[recheck] must be a table"),
    ],
)
def test_bad_values_are_one_line_naming_the_file(archive, toml, message):
    with pytest.raises(ConfigError) as info:
        settings_of(archive, toml)
    assert message in str(info.value) and "newsmirror.toml" in str(info.value)
    assert "\n" not in str(info.value)
