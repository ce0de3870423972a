from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from newsmirror.ingest.extract import extract_article
from newsmirror.ingest.rules import SiteRule, load_rules
from newsmirror.models import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CNA_URL = "https://www.cna.com.tw/news/aopl/202301300091.aspx"


def test_rule_for_matches_host_and_parent_domains() -> None:
    rules = load_rules()
    assert rules.rule_for(CNA_URL).host == "cna.com.tw"
    assert rules.rule_for("https://cna.com.tw/x").host == "cna.com.tw"
    assert rules.rule_for("https://notcna.com.tw/x") is None
    assert rules.rule_for("https://example.org/") is None
    assert rules.rule_for("not a url") is None
    assert rules.rule_for(None) is None


def test_most_specific_host_wins_and_user_rules_override() -> None:
    rules = load_rules(
        [
            {"host": "example.org", "keep": [".a"]},
            {"host": "news.example.org", "keep": [".b"], "fulltext": "always"},
            {"host": "cna.com.tw", "drop": [".ad"], "fulltext": "never"},
        ]
    )
    assert rules.rule_for("https://news.example.org/1").keep == (".b",)
    assert rules.rule_for("https://www.example.org/1").keep == (".a",)
    cna = rules.rule_for(CNA_URL)
    assert cna == SiteRule(host="cna.com.tw", drop=(".ad",), fulltext="never")


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"keep": [".a"]}, "rule 2: host must be"),
        ({"host": "https://x.org/"}, "rule 2: host 'https://x.org/' must be a bare domain"),
        ({"host": "x.org", "keep": "div[["}, "rule 2: keep selector 'div[[' is not valid CSS"),
        ({"host": "x.org", "fulltext": "sometimes"}, "rule 2: fulltext must be one of"),
        ({"host": "x.org", "drop": [1]}, "rule 2: drop must be a list of CSS selectors"),
        ({"host": "x.org", "kep": []}, "rule 2: unknown key 'kep'"),
        ("x.org", "rule 2: must be a table"),
    ],
)
def test_invalid_user_rules_name_the_file_and_rule(rule: object, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_rules([{"host": "ok.org"}, rule])  # type: ignore[list-item]
    assert str(err.value).startswith(f"newsmirror.toml: {problem}")


def test_shipped_rules_cover_the_subscription_article_hosts() -> None:
    rules = load_rules()
    for host in ("www.cna.com.tw", "www.rfi.fr", "cn.nytimes.com", "www.rfa.org",
                 "www.epochtimes.com", "chinadigitaltimes.net", "www.solidot.org",
                 "matters.town", "www.youtube.com"):  # fmt: skip
        assert rules.rule_for(f"https://{host}/a") is not None, host
    # Every subscription of YouTube video feeds leaves full text off.
    subs = [s for f in (SHARED / "subscriptions").glob("*.json") for s in json.loads(f.read_text())]
    youtube = [s for s in subs if urlsplit(s["url"]).hostname.endswith("youtube.com")]
    assert youtube
    assert all(rules.rule_for(s["url"]).fulltext == "never" for s in youtube)


def test_cna_rule_keeps_only_the_article() -> None:
    page = (DATA / "cna_article.html").read_text("utf-8")
    html = extract_article(page, CNA_URL, load_rules().rule_for(CNA_URL))
    assert html is not None
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    text = root.text_content()
    paragraphs = [p.text_content() for p in root.iter("p")]
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("（中央社首爾30日綜合外電報導）")
    assert "這就是現實" in paragraphs[2]
    assert "北約秘書長史托騰柏格30日在首爾發表演說" in text  # the photo caption stays
    for junk in ("#史托騰柏格", "#南韓", "瞄準太空經濟", "聚焦新聞", "陳建仁31日上任", "熱門新聞",
                 "版權所有", "分享", "alert", "即時"):  # fmt: skip
        assert junk not in text, junk
    assert not root.cssselect(".owl-carousel, .moreArticle, .articlekeywordGroup, script")


def test_rule_whose_keep_matches_nothing_falls_back_to_generic_extraction() -> None:
    page = (DATA / "cna_article.html").read_text("utf-8")
    rule = SiteRule(host="cna.com.tw", keep=(".no-such-class",), drop=(".bottomBox",))
    html = extract_article(page, CNA_URL, rule)
    assert html is not None and "敦促南韓增加對烏克蘭的軍事援助" in html
    assert "陳建仁31日上任" not in html
