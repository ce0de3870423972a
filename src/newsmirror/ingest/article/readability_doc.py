"""readability-lxml with four steps of Mozilla's readability.js it lacks, run on a
tree newsmirror has already parsed and cleaned, its text measured in linear time."""

from __future__ import annotations

import re
from copy import deepcopy
from types import CodeType, FunctionType
from typing import Any

import lxml.html
import readability.readability as readability_module
from readability import Document
from readability.readability import REGEXES

# readability.js counts all of these as commas; readability-lxml only ','. Without
# them a Chinese paragraph (full-width '，') scores as one long clause.
_EXTRA_COMMAS = re.compile("[\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c]")
_SCORED_TAGS = ("p", "pre", "td", "blockquote")
# The class and id words of unlikely candidates as readability.js (which
# readability-lxml ports) lists them now: readability-lxml's older list lacks
# related, social, banner, breadcrumbs, replies, supplemental... and drops tweets
# and footnotes ("tweet", "foot"), which readability.js keeps.
# Matched against lower-cased words: six times faster than re.I on these alternations.
_UNLIKELY = re.compile(
    r"-ad-|ai2html|banner|breadcrumbs|combx|comment|community|cover-wrap|disqus|extra|footer"
    r"|gdpr|header|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social"
    r"|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote"
)
_MAYBE = re.compile(r"and|article|body|column|content|main|mathjax|shadow")
IN_PAGE_LINK_WEIGHT = 0.3
# readability-lxml turns a <div> into a <p> unless its serialised children match
# "<(blockquote|dl|div|img|ol|p|pre|table|ul)": any descendant whose tag starts so.
_DIV_TO_P_BLOCKERS = ("blockquote", "dl", "div", "img", "ol", "p", "table", "ul")
_INLINE_FOR_DIVS = frozenset(
    ("a", "b", "cite", "code", "em", "font", "i", "small", "span", "strong", "sub", "sup", "u")
)


def _text_length(el: Any) -> int:
    return clean_length(el.text_content() or "")


# What readability's clean() may change. Written \s\s+, not \s{2,}: the same runs, but
# the regex engine then skips to the next whitespace character fast (0.6x the time).
_SPACE_RUN = re.compile(r"\s\s+|[^\S ]")
_SPACE_OR_TAB_RUNS = re.compile(r"[ \t]+")
_TAB_OR_SPACES = re.compile(r"\t|[ \t]{2,}")  # clean()'s third step
CLEAN_LONG_RUN = 255


def clean_length(text: str) -> int:
    """len(readability.readability.clean(text)), without its regexes.

    clean() turns a whitespace run of 255 or more into one space, a run holding a
    newline into one newline, each tab and each run of spaces and tabs that starts
    with a space into one space, and strips the ends.
    """
    stripped = text.strip()
    length = len(stripped)
    for match in _SPACE_RUN.finditer(stripped):
        run = match.group()
        if len(run) >= CLEAN_LONG_RUN or "\n" in run:
            kept = 1
        else:
            kept = len(run)
            for spaces in _SPACE_OR_TAB_RUNS.findall(run):
                # clean()'s r"\t|[ \t]{2,}" takes leading tabs one by one, then the
                # rest of the run (from its first space) as one.
                rest = spaces.lstrip("\t")
                kept -= len(rest) - 1 if rest else 0
        length -= len(run) - kept
    return length


def clean_text(text: str) -> str:
    """readability.readability.clean(text), in time linear in the text: each of its
    regexes tries every place in a run of spaces, so a page indented with hundreds
    of spaces took most of readability's time (0.1 s on one page) in clean()."""
    return _SPACE_RUN.sub(_clean_run, text).strip()


def _clean_run(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) >= CLEAN_LONG_RUN:
        return " "  # clean() makes it 255 spaces, then one
    if "\n" in run:
        return "\n"
    return _TAB_OR_SPACES.sub(" ", run)


def _with_linear_clean(cls: type) -> type:
    """Give `cls` each method of readability-lxml's Document that calls its module's
    clean() or text_length(), run with clean_text() and _text_length() in their place.

    The methods are readability-lxml's own code, bound to a copy of its module's
    names; the module itself is not changed (bench/extract.py runs it as a peer).
    """
    names = dict(vars(readability_module))
    names.update(clean=clean_text, text_length=_text_length)
    for attr, method in vars(Document).items():
        if isinstance(method, FunctionType) and {"clean", "text_length"} & _names_used(
            method.__code__
        ):
            linear = FunctionType(
                method.__code__, names, method.__name__, method.__defaults__, method.__closure__
            )
            linear.__kwdefaults__ = method.__kwdefaults__
            setattr(cls, attr, linear)
    return cls


def _names_used(code: CodeType) -> set[str]:
    """The global names a function's code uses, its inner functions' included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _names_used(const)
    return names


@_with_linear_clean
class _LinearCleanDocument(Document):  # type: ignore[misc]
    """readability-lxml's Document, its text lengths measured in linear time."""


class ReadabilityDocument(_LinearCleanDocument):  # type: ignore[misc]
    """readability-lxml plus four steps of Mozilla's readability.js that it lacks.

    - Non-Latin commas (Chinese '，', Arabic '،') count in a paragraph's score.
    - In-page links ("#comments") weigh 0.3 in link density: they are UI
      (comment counters, polls), not link lists, and must not sink a byline block.
    - After picking the best block, walk up its ancestors and take the first one
      scoring higher than the level below (readability.js's parent promotion),
      so an article wrapper holding byline, body and editor line wins over the body.
    - Unlikely candidates are named by readability.js's lists of words.

    Given a parsed tree, it works on a copy of it and leaves out readability-lxml's
    HTML cleaner (scripts, styles, comments: the caller has removed them) and its
    link rewriting: a third of readability-lxml's time on trafilatura's benchmark
    pages (bench/extract.py). Divs are tested for block children on the tree
    instead of on their serialised HTML, which gives the same answer faster.
    """

    def _parse(self, input: Any) -> Any:
        if not isinstance(input, lxml.html.HtmlElement):
            return super()._parse(input)
        doc = deepcopy(input)  # summary() parses again for its second, gentler pass
        for elem in doc.xpath("//*[@hidden]"):
            elem.drop_tree()
        for elem in doc.xpath("//*[@style]"):
            if REGEXES["displayNoneRe"].search(elem.get("style")):
                elem.drop_tree()
        return doc

    def remove_unlikely_candidates(self) -> None:
        """readability-lxml's, with readability.js's words, and with its two XPath
        tests per matching element (inside a pre or code; holding a main, article or
        math) answered from two sets built in one pass each: the same elements go,
        in a fifth of the time."""
        root = self.html
        keeps: set[Any] = set()  # main, article, math and their ancestors
        for el in root.iter("main", "article", "math"):
            keeps.add(el)
            keeps.update(el.iterancestors())
        in_code: set[Any] = set()  # pre, code and their descendants
        for el in root.iter("pre", "code"):
            in_code.update(el.iter())
        for elem in root.findall(".//*"):
            s = "{} {}".format(elem.get("class", ""), elem.get("id", "")).lower()
            if len(s) < 2:
                continue
            if (
                _UNLIKELY.search(s)
                and not _MAYBE.search(s)
                and elem.tag not in ("html", "body")
                and elem not in in_code
                and elem not in keeps
            ):
                elem.drop_tree()

    def transform_misused_divs_into_paragraphs(self) -> None:
        """readability-lxml's, with the div test on the tree (see the class) and new
        paragraphs made as elements, not parsed from "<p/>" as whole documents."""
        for elem in self.tags(self.html, "div"):
            if not any(_blocks_div_to_p(child) for child in elem):
                elem.tag = "p"
        for elem in self.tags(self.html, "div"):
            children = list(elem)
            paragraph = None
            if elem.text and elem.text.strip():
                p = lxml.html.Element("p")
                p.text, elem.text = elem.text, None
                elem.insert(0, p)
                paragraph = p
            for child in children:
                if child.tag == "br":
                    paragraph = None
                    continue
                if child.tag not in _INLINE_FOR_DIVS or _blocks_div_to_p(child):
                    paragraph = None
                    continue
                if paragraph is None:
                    paragraph = lxml.html.Element("p")
                    child.addprevious(paragraph)
                paragraph.append(child)
            for pos, child in reversed(list(enumerate(elem))):
                if child.tail and child.tail.strip():
                    p = lxml.html.Element("p")
                    p.text, child.tail = child.tail, None
                    elem.insert(pos + 1, p)
                if child.tag == "br":
                    child.drop_tree()

    def score_paragraphs(self) -> dict[Any, dict[str, Any]]:
        """readability-lxml's paragraph scoring, with non-Latin commas counted and the
        text lengths measured without its clean() regexes: the same lengths in linear
        time (clean()'s whitespace-around-newline pattern backtracks over every run of
        spaces, which made scoring half of readability's time on the readability corpus)."""
        candidates: dict[Any, dict[str, Any]] = {}
        ordered: list[Any] = []
        for elem in self.tags(self._html(), *_SCORED_TAGS):
            parent = elem.getparent()
            if parent is None:
                continue
            text = elem.text_content() or ""
            length = clean_length(text)
            if length < self.min_text_length:
                continue
            grandparent = parent.getparent()
            for node in (parent, grandparent):
                if node is not None and node not in candidates:
                    candidates[node] = self.score_node(node)
                    ordered.append(node)
            # A point for the paragraph, one per comma and one more, up to 3 for its length.
            commas = text.count(",") + len(_EXTRA_COMMAS.findall(text))
            score = 1 + commas + 1 + min(length / 100, 3)
            candidates[parent]["content_score"] += score
            if grandparent is not None:
                candidates[grandparent]["content_score"] += score / 2
        for node in ordered:
            candidates[node]["content_score"] *= 1 - self.get_link_density(node)
        return candidates

    def get_link_density(self, elem: Any) -> float:
        link_chars = sum(
            _text_length(a) * (IN_PAGE_LINK_WEIGHT if self._links_in_page(a.get("href")) else 1.0)
            for a in elem.iter("a")
        )
        return link_chars / max(_text_length(elem), 1)

    def _links_in_page(self, href: str | None) -> bool:
        """A link to a part of the page, as readability.js tells one ("#" and a name):
        relative ("#comments") or made absolute by readability-lxml (the page's URL).
        A bare "#" or the page's own address is an ordinary link there."""
        if href is None:
            return False
        target, _, fragment = href.partition("#")
        return bool(fragment) and (not target or target == (self.url or "").split("#", 1)[0])

    def select_best_candidate(self, candidates: dict[Any, dict[str, Any]]) -> Any:
        best = super().select_best_candidate(candidates)
        if best is None:
            return None
        last = best["content_score"]
        floor = last / 3  # an ancestor scoring below this is a page wrapper
        for ancestor in best["elem"].iterancestors():
            if ancestor.tag in ("body", "html"):
                break
            if ancestor not in candidates:
                continue
            score = candidates[ancestor]["content_score"]
            if score < floor:
                break
            if score > last:
                return candidates[ancestor]
            last = score
        return best


def _blocks_div_to_p(el: Any) -> bool:
    """Whether el or a descendant has a tag readability-lxml's div test looks for."""
    return any(isinstance(d.tag, str) and d.tag.startswith(_DIV_TO_P_BLOCKERS) for d in el.iter())
