"""Score article extraction against the readability test corpus.

For each page in ../shared/corpus/pages/readability/test/test-pages/, compares the
main text extracted by newsmirror, plain trafilatura and plain readability-lxml
with expected.html: token precision, recall and F1 (words for Latin text, single
characters for CJK). Prints means overall and for the Chinese pages.

Run: python bench/extract.py [--pages N] [--show-wins] [--diff PAGE ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import lxml.html
import trafilatura
from readability import Document

from newsmirror.ingest.extract import decode_page, extract_article

CORPUS = (
    Path(__file__).resolve().parents[1].parent / "shared/corpus/pages/readability/test/test-pages"
)
PAGE_URL = "http://fakehost/test/page.html"  # the URL the readability tests use
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]|[^\W_]+", re.UNICODE)


def html_text(html: str | None) -> str:
    if not html or not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:
        return ""
    for el in root.iter("script", "style"):
        el.text = ""
    return root.text_content()


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


@dataclass
class Score:
    precision: float
    recall: float
    f1: float


def score(predicted: str, expected: str) -> Score:
    p, e = tokens(predicted), tokens(expected)
    overlap = sum((p & e).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(e.values()) if e else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1)


def is_chinese(page: Path, expected_text: str) -> bool:
    meta = page / "expected-metadata.json"
    if meta.exists():
        lang = (json.loads(meta.read_text("utf-8")).get("lang") or "").lower()
        if lang.startswith("zh"):
            return True
        if lang and not lang.startswith("zh") and lang not in ("", "und"):
            return False
    chars = re.sub(r"\s", "", expected_text)
    cjk, kana = len(_CJK.findall(chars)), len(_KANA.findall(chars))
    return bool(chars) and cjk / len(chars) > 0.3 and kana < cjk / 10


def is_cjk_script(expected_text: str) -> bool:
    """Diagnostic only: pages mostly in CJK script (Chinese and Japanese alike)."""
    chars = re.sub(r"\s", "", expected_text)
    cjk = len(_CJK.findall(chars)) + len(_KANA.findall(chars))
    return bool(chars) and cjk / len(chars) > 0.3


def token_diff(predicted: str, expected: str) -> tuple[str, str]:
    """Tokens missing from the prediction and tokens it has in excess, in text order."""
    p, e = tokens(predicted), tokens(expected)
    missing, extra = e - p, p - e

    def in_order(text: str, wanted: Counter[str]) -> str:
        out: list[str] = []
        for t in _TOKEN.findall(text):
            if wanted[t.lower()] > 0:
                wanted[t.lower()] -= 1
                out.append(t)
        return " ".join(out)

    return in_order(expected, missing), in_order(predicted, extra)


def plain_trafilatura(html: str, url: str) -> str | None:
    return trafilatura.extract(html, url=url, output_format="html")


def plain_readability(html: str, url: str) -> str | None:
    return Document(html, url=url).summary(html_partial=True)


EXTRACTORS: dict[str, Callable[[str, str], str | None]] = {
    "newsmirror": lambda html, url: extract_article(html, url),
    "trafilatura": plain_trafilatura,
    "readability": plain_readability,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=0, help="only the first N pages")
    ap.add_argument("--show-wins", action="store_true", help="list the pages per winner")
    ap.add_argument(
        "--diff", nargs="*", default=[], metavar="PAGE", help="print newsmirror's lost/extra tokens"
    )
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found: {CORPUS}", file=sys.stderr)
        return 1
    pages = sorted(p for p in CORPUS.iterdir() if (p / "expected.html").exists())
    if args.pages:
        pages = pages[: args.pages]
    results: dict[str, dict[str, Score]] = {name: {} for name in EXTRACTORS}
    chinese: set[str] = set()
    cjk_script: set[str] = set()
    for page in pages:
        source = decode_page((page / "source.html").read_bytes(), None)
        expected = html_text((page / "expected.html").read_text("utf-8"))
        if is_chinese(page, expected):
            chinese.add(page.name)
        if is_cjk_script(expected):
            cjk_script.add(page.name)
        for name, extractor in EXTRACTORS.items():
            try:
                out = extractor(source, PAGE_URL)
            except Exception:
                out = None
            results[name][page.name] = score(html_text(out), expected)
            if name == "newsmirror" and page.name in args.diff:
                missing, extra = token_diff(html_text(out), expected)
                print(f"{page.name}: missing [{missing}]\n{page.name}: extra [{extra}]")

    def row(name: str, subset: list[str]) -> str:
        s = [results[name][p] for p in subset]
        return (
            f"{name:12} {mean(x.precision for x in s):9.3f} {mean(x.recall for x in s):7.3f}"
            f" {mean(x.f1 for x in s):7.3f}"
        )

    names = [p.name for p in pages]
    zh = [n for n in names if n in chinese]
    cjk = [n for n in names if n in cjk_script]
    for title, subset in (
        ("all pages", names),
        ("Chinese pages", zh),
        ("CJK-script pages, Chinese and Japanese (diagnostic)", cjk),
    ):
        print(f"\n{title} (n={len(subset)}): {', '.join(subset) if title != 'all pages' else ''}")
        print(f"{'extractor':12} {'precision':>9} {'recall':>7} {'F1':>7}")
        for name in EXTRACTORS:
            if subset:
                print(row(name, subset))
        if title != "all pages":
            for n in subset:
                print(f"  {n:20}", " ".join(f"{x}={results[x][n].f1:.3f}" for x in EXTRACTORS))
    wins = Counter()
    for n in names:
        best = max(EXTRACTORS, key=lambda name: results[name][n].f1)
        wins[best] += 1
        if args.show_wins:
            f1s = " ".join(f"{name}={results[name][n].f1:.3f}" for name in EXTRACTORS)
            print(f"{n:45} best={best:12} {f1s}")
    print("\nbest F1 per page:", ", ".join(f"{k} {v}" for k, v in wins.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
