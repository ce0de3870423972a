"""The article-page corpora the extractor is measured on, split once into a
development part (tuned on) and a test part (never tuned on), and their scoring.

The split is fixed by a hash of each page's name (the readability page folder, the
trafilatura-eval file name), so it does not depend on the order of files, the
machine or the other pages: `part_of` below is the only place that defines it, and
bench/extract.py and tests/test_extract.py both use it.

Scoring:
- readability corpus (mozilla/readability's test pages): token precision, recall and
  F1 of the extracted text against expected.html (words for Latin text, single
  characters for CJK), averaged over pages.
- trafilatura-eval (trafilatura's own benchmark): each page's `with` snippets must be
  in the extracted text, its `without` snippets must not; counted into one
  confusion matrix over all pages by trafilatura's own `eval_common.count_item` and
  `ConfusionMatrix` (imported from the corpus, not copied).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import lxml.html
from lxml import etree

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
READABILITY_PAGES = SHARED / "corpus/pages/readability/test/test-pages"
TRAF_EVAL = SHARED / "corpus/pages/trafilatura-eval/tests"
READABILITY_URL = "http://fakehost/test/page.html"  # the URL the readability tests use

Part = Literal["dev", "test"]
TEST_SHARE = 50  # percent of pages in the test part


def part_of(name: str) -> Part:
    """The part a page belongs to, by the SHA-1 of its name: about half each."""
    bucket = int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:4], "big") % 100
    return "test" if bucket < TEST_SHARE else "dev"


# --- text of an extractor's output -------------------------------------------------

_BLOCKS = frozenset(
    "address article aside blockquote br dd details dialog div dl dt fieldset figcaption figure"
    " footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody"
    " td tfoot th thead tr ul".split()
)
_HIDDEN = frozenset(("script", "style", "template"))


def html_text(html: str | None) -> str:
    """The visible text of an HTML fragment, with a line break around every block.

    Without the breaks, text_content() glues the last word of one paragraph to the
    first of the next, which costs tokens and can make or break a snippet match.
    """
    if not html or not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:
        return ""
    out: list[str] = []
    skip = 0  # depth inside script/style/template
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event in ("comment", "pi"):
            if el.tail and not skip:
                out.append(el.tail)
            continue
        if event == "start":
            if tag in _HIDDEN:
                skip += 1
            if tag in _BLOCKS:
                out.append("\n")
            if el.text and not skip and tag:
                out.append(el.text)
            continue
        if tag in _HIDDEN:
            skip -= 1
        if tag in _BLOCKS:
            out.append("\n")
        if el.tail and not skip and el is not root:
            out.append(el.tail)
    return re.sub(r"[ \t\r\f\v]*\n\s*", "\n", "".join(out)).strip()


# --- the readability corpus: token scores -------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]|[^\W_]+")


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


@dataclass(frozen=True)
class TokenScore:
    precision: float
    recall: float
    f1: float


def token_score(predicted: str, expected: str) -> TokenScore:
    p, e = tokens(predicted), tokens(expected)
    overlap = sum((p & e).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(e.values()) if e else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TokenScore(precision, recall, f1)


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


# Common short words: enough to tell the Latin-script languages of the corpus apart
# on pages that declare no language.
_FUNCTION_WORDS = {
    "en": "the and of to is that with for was are this",
    "fr": "le la les et des est une dans pour que qui",
    "es": "el la los las y de que en es por una",
    "de": "der die das und ist nicht mit den sich ein eine",
    "pt": "o os as e de que em um uma para com não",
    "it": "il lo gli e di che una per non sono della",
    # Latin: the lorem-ipsum fixtures of the readability corpus.
    "la": "lorem ipsum dolor sit amet ut sed quis nisi enim",
}


def guess_language(text: str) -> str:
    """A primary language subtag from the script, then from common words."""
    chars = re.sub(r"\s", "", text)
    if not chars:
        return "und"
    cjk, kana = len(_CJK.findall(chars)), len(_KANA.findall(chars))
    if (cjk + kana) / len(chars) > 0.3:
        return "ja" if kana > cjk / 10 else "zh"
    for lang, pattern in (("ar", "[\u0600-\u06ff]"), ("he", "[\u0590-\u05ff]"),
                          ("ru", "[\u0400-\u04ff]"), ("el", "[\u0370-\u03ff]")):  # fmt: skip
        if len(re.findall(pattern, chars)) / len(chars) > 0.3:
            return lang
    words = Counter(w.lower() for w in re.findall(r"[^\W\d_]+", text))
    counts = {
        lang: sum(words[w] for w in listed.split()) for lang, listed in _FUNCTION_WORDS.items()
    }
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] else "und"


def readability_language(page: Path, expected_text: str) -> str:
    """The page's language: expected-metadata.json's lang, else <html lang>, else guessed."""
    meta = page / "expected-metadata.json"
    declared = ""
    if meta.exists():
        declared = json.loads(meta.read_text("utf-8")).get("lang") or ""
    if not declared:
        head = (page / "source.html").read_bytes()[:4096].decode("utf-8", "replace")
        if m := re.search(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z-]+)", head, re.I):
            declared = m.group(1)
    primary = declared.split("-")[0].lower()
    return primary if primary and primary != "und" else guess_language(expected_text)


# --- trafilatura-eval: its own scoring ----------------------------------------------


@cache
def traf_eval_common() -> ModuleType:
    """trafilatura-eval's eval_common.py, imported from the corpus folder."""
    spec = importlib.util.spec_from_file_location("traf_eval_common", TRAF_EVAL / "eval_common.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode, before = True, sys.dont_write_bytecode  # the corpus is read-only
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


# --- pages --------------------------------------------------------------------------


@dataclass
class Page:
    corpus: Literal["readability", "trafilatura-eval"]
    name: str
    url: str
    html: bytes
    part: Part
    lang: str = ""
    expected_text: str = ""  # readability corpus
    snippets: dict[str, Any] = field(default_factory=dict)  # trafilatura-eval: with/without


def readability_pages() -> Iterator[Page]:
    for page in sorted(p for p in READABILITY_PAGES.iterdir() if (p / "expected.html").exists()):
        expected = html_text((page / "expected.html").read_text("utf-8"))
        yield Page(
            "readability", page.name, READABILITY_URL, (page / "source.html").read_bytes(),
            part_of(page.name), lang=readability_language(page, expected), expected_text=expected,
        )  # fmt: skip


def traf_eval_pages() -> Iterator[Page]:
    """The annotated pages whose file is in the corpus (eval_common.resolve finds it).

    The corpus copy holds 884 of the 990 annotated files; the others were in
    trafilatura's `cache/` folder, which is not part of it.
    """
    common = traf_eval_common()
    data = common.load_evaldata(str(TRAF_EVAL))
    common.validate(data)
    for url in sorted(data):
        item = data[url]
        path = common.resolve(str(TRAF_EVAL), item["file"])
        if path is None:
            continue
        yield Page(
            "trafilatura-eval", item["file"], url, Path(path).read_bytes(), part_of(item["file"]),
            snippets=item,
        )  # fmt: skip
