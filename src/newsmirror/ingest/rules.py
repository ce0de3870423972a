"""Per-site rules: which CSS selectors hold the article, which are chrome, and
whether to fetch full text.

Shipped rules live in `rules/sites.toml`; users add or override rules in
`newsmirror.toml` as `[[rules]]` tables. A rule for `cna.com.tw` also applies to
`www.cna.com.tw` (parent-domain match); the most specific host wins, and a user
rule replaces a shipped rule for the same host.

`removed_text` and `removed_selector` tell the site's removal notice (the page
it serves in place of a deleted or censored article) apart from an article:
see `notices.py`, which also knows the generic notices.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, get_args
from urllib.parse import urlsplit

from cssselect import GenericTranslator, SelectorError

from ..models import ConfigError, FulltextMode

USER_CONFIG = "newsmirror.toml"
_RULE_KEYS = {"host", "keep", "drop", "fulltext", "removed_text", "removed_selector"}
_FULLTEXT_MODES: tuple[str, ...] = get_args(FulltextMode)


@dataclass(frozen=True)
class SiteRule:
    host: str
    keep: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    fulltext: FulltextMode | None = None
    removed_text: tuple[str, ...] = ()  # phrases of the site's removal notice
    removed_selector: tuple[str, ...] = ()  # elements only its notice page has


class RuleSet:
    """Rules by host, looked up by an article URL."""

    def __init__(self, rules: dict[str, SiteRule]) -> None:
        self._rules = dict(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def rule_for(self, url: str | None) -> SiteRule | None:
        """The rule of the URL's host or, failing that, of its nearest parent domain."""
        if not url:
            return None
        try:
            host = (urlsplit(url).hostname or "").rstrip(".").lower()
        except ValueError:
            return None
        labels = host.split(".")
        # Stop before the bare TLD: a rule for "tw" would be a mistake.
        for i in range(len(labels) - 1):
            rule = self._rules.get(".".join(labels[i:]))
            if rule is not None:
                return rule
        return None


def load_rules(user_rules: list[dict[str, Any]] | None = None) -> RuleSet:
    """Shipped rules merged with the `[[rules]]` of newsmirror.toml (user rules win)."""
    shipped_text = resources.files(__package__).joinpath("rules/sites.toml").read_text("utf-8")
    shipped = tomllib.loads(shipped_text).get("rules", [])
    rules = {r.host: r for r in _parse_rules(shipped, "newsmirror/rules/sites.toml")}
    if user_rules is not None:
        if not isinstance(user_rules, list):
            raise ConfigError(USER_CONFIG, "[[rules]] must be a list of tables")
        rules.update({r.host: r for r in _parse_rules(user_rules, USER_CONFIG)})
    return RuleSet(rules)


def _parse_rules(raw: list[Any], source: str) -> list[SiteRule]:
    return [_parse_rule(item, source, n) for n, item in enumerate(raw, start=1)]


def _parse_rule(item: Any, source: str, n: int) -> SiteRule:
    def fail(problem: str) -> ConfigError:
        return ConfigError(source, f"rule {n}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a table with host, keep, drop, fulltext")
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_RULE_KEYS))
        raise fail(f"unknown key {unknown[0]!r} (allowed: {allowed})")
    host = item.get("host")
    if not isinstance(host, str) or not host.strip():
        raise fail("host must be a non-empty string such as 'cna.com.tw'")
    host = host.strip().lower().rstrip(".")
    if any(c in host for c in "/:@ ") or "." not in host:
        raise fail(f"host {host!r} must be a bare domain name such as 'cna.com.tw'")
    fulltext = item.get("fulltext")
    if fulltext is not None and fulltext not in _FULLTEXT_MODES:
        raise fail(f"fulltext must be one of {', '.join(_FULLTEXT_MODES)}, not {fulltext!r}")
    return SiteRule(
        host=host,
        keep=_selectors(item.get("keep", []), "keep", fail),
        drop=_selectors(item.get("drop", []), "drop", fail),
        fulltext=fulltext,
        removed_text=_phrases(item.get("removed_text", []), fail),
        removed_selector=_selectors(item.get("removed_selector", []), "removed_selector", fail),
    )


def _phrases(value: Any, fail: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise fail("removed_text must be a list of non-empty phrases")
    return tuple(s.strip() for s in value)


def _selectors(value: Any, key: str, fail: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise fail(f"{key} must be a list of CSS selectors")
    for selector in value:
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as e:
            raise fail(f"{key} selector {selector!r} is not valid CSS ({e})") from None
    return tuple(value)
