"""Accessibility and language of the built site, without a browser: WCAG contrast of
the stylesheet's colour pairs in both themes, labels in the site's language, settings
checked when they load. (test_site_browser.py checks the same in Chromium.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_site import make_archive

from newsmirror.site import build_site
from newsmirror.site.config import SITE_SETTINGS, UI_STRINGS

STYLE = Path(__file__).resolve().parents[2] / "src" / "newsmirror" / "site" / "static" / "style.css"
# (text, background) custom properties that are drawn on each other, and the ratio
# each pair needs: WCAG 2 AA, 4.5:1 for text.
PAIRS = [("fg", "bg"), ("muted", "bg"), ("link", "bg"), ("on-accent", "accent"),
         ("fg", "card"), ("muted", "card"), ("bg", "link")]  # fmt: skip


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def themes() -> dict[str, dict[str, str]]:
    """The colour custom properties of the light theme and of the dark one (which
    overrides some), read from style.css."""
    css = STYLE.read_text(encoding="utf-8")
    blocks = re.findall(r"(@media \(prefers-color-scheme:dark\)\{)?:root\{([^}]*)\}", css)
    light: dict[str, str] = {}
    dark_overrides: dict[str, str] = {}
    for dark, body in blocks:
        props = dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]{3,6})\b", body))
        (dark_overrides if dark else light).update(props)
    return {"light": light, "dark": light | dark_overrides}


def test_known_contrast_values() -> None:
    assert contrast("#fff", "#000") == pytest.approx(21)
    assert contrast("#fff", "#f28b82") == pytest.approx(2.39, abs=0.01)  # issue 15's failure


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_main_colour_pairs_meet_wcag_aa(theme: str) -> None:
    colours = themes()[theme]
    assert {c for pair in PAIRS for c in pair} <= set(colours), colours
    low = {f"{fg} on {bg}": round(contrast(colours[fg], colours[bg]), 2) for fg, bg in PAIRS
           if contrast(colours[fg], colours[bg]) < 4.5}  # fmt: skip
    assert low == {}, f"{theme} theme: below 4.5:1: {low}"
    assert colours["bg"] != themes()["light" if theme == "dark" else "dark"]["bg"]


@pytest.mark.parametrize("lang", list(UI_STRINGS))
def test_every_label_is_in_the_sites_language(tmp_path: Path, lang: str) -> None:
    archive = make_archive(tmp_path / "a")
    (archive / "newsmirror.toml").write_text(f'[site]\ntitle = "T"\nlang = "{lang}"\n')
    build_site(archive)
    site = archive / "_site"
    t = UI_STRINGS[lang]
    others = [s for other, strings in UI_STRINGS.items() if other != lang
              for key, s in strings.items() if s != t[key] and key != "posts"]  # fmt: skip
    for rel in ("index.html", "search.html", "sources/index.html", "tags/index.html",
                "categories/index.html", "archive/index.html", "404.html"):  # fmt: skip
        page = (site / rel).read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in page
        assert t["footer_feed"] in page and t["search"] in page, rel
        assert "sitemap" not in page and ">Atom<" not in page, rel
        chrome = re.sub(r"<main>.*</main>", "", page, flags=re.S)  # posts keep their language
        assert [s for s in others if s in chrome] == [], rel


def test_every_interface_language_has_every_label() -> None:
    keys = set(UI_STRINGS["zh-Hans"])
    assert all(set(strings) == keys for strings in UI_STRINGS.values())
    lang = next(d for d in SITE_SETTINGS if d.name == "lang")
    assert set(lang.choices) == set(UI_STRINGS)
