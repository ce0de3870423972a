"""docs/configuration.md and init's newsmirror.toml come from the settings' definitions."""

from __future__ import annotations

import re
from pathlib import Path

from newsmirror.archive.config import SETTINGS, load_settings
from newsmirror.ops.configdoc import config_template, configuration_markdown, main
from newsmirror.ops.init import init_archive
from newsmirror.site.config import SITE_SETTINGS, load_site_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_md_is_what_the_code_generates(tmp_path: Path) -> None:
    # Regenerate with: python -m newsmirror.ops.configdoc docs/configuration.md
    out = tmp_path / "configuration.md"
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert configuration_markdown() == DOC.read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for d in (*SETTINGS, *SITE_SETTINGS):
        assert f"| `{d.name}` |" in text and d.help in text, d.name


def test_init_template_lists_every_setting_at_its_default(tmp_path: Path) -> None:
    [(toml, written), _] = init_archive(tmp_path / "m", title="新闻 \"镜像\"")
    assert written
    text = toml.read_text(encoding="utf-8")
    for d in SETTINGS:
        assert re.search(rf"^# {d.name} = ", text, re.M), d.name
    # As written: the defaults, and the title given.
    assert load_settings(tmp_path / "m") == load_settings(tmp_path / "nothing-here")
    assert load_site_config(tmp_path / "m").title == '新闻 "镜像"'
    # Every line uncommented still loads, to the same values (except the examples
    # shown for settings that are unset by default).
    settings_part, feeds_example = text.split("# Feeds are listed")
    uncommented = re.sub(r"^# (\w+ = )", r"\1", settings_part, flags=re.M) + "# " + feeds_example
    (tmp_path / "m" / "newsmirror.toml").write_text(uncommented, encoding="utf-8")
    settings = load_settings(tmp_path / "m")
    assert settings.fetch.proxy == "socks5://127.0.0.1:1080" and settings.retention_days == 365
    defaults = load_settings(tmp_path / "nothing-here")
    assert settings.fetch.concurrency == defaults.fetch.concurrency
    assert settings.schedule == defaults.schedule and settings.feed_defaults == defaults.feed_defaults
    assert load_site_config(tmp_path / "m").lang == "zh-Hans"


def test_init_keeps_files_already_there(tmp_path: Path) -> None:
    (tmp_path / "subs.json").write_text('[{"site": "a", "url": "https://a.example/f"}]')
    done = init_archive(tmp_path)
    assert [(p.name, written) for p, written in done] == [
        ("newsmirror.toml", True),
        ("subs.json", False),
    ]
    assert "a.example" in (tmp_path / "subs.json").read_text()
    assert config_template() in (tmp_path / "newsmirror.toml").read_text()
