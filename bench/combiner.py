"""A learned combiner (issue 18, fourth round): an experiment, not the default.

The generic extractor (newsmirror.ingest.article) keeps the blocks that trafilatura
or readability chose, less those hand-written rules name (decide.py). Here a small
model trained on the development parts of bench/extract.py's corpora backs that
decision: each candidate block (one that either extractor chose) is described by
FEATURES, and a gradient-boosted ensemble of shallow trees gives the chance that
it is article text. A block the rules keep goes when its chance is under the
model's `drop_below`; a candidate the rules drop comes back when its chance is at
least `add_from` (null: never). Evaluated in plain Python, weights in
bench/combiner_weights.json, written by bench/train_combiner.py (which also
cross-validates it within the development parts). It did not beat the rules on
held-out halves (BENCHMARKS.md), so extract_article does not use it.

Features of a candidate block (one row each, in page order):
- traf_only, read_only: which extractor chose it (neither: both did);
  rules_keep: decide.py keeps it; agree_share: share of the candidates' text both chose.
- log_chars, link_density, punct_share (punctuation per 20 characters, capped at 1),
  sentence_end, cjk (share of its letters), vocab_shared (share of its words of 4+
  letters, or CJK pairs, that other candidates use too), site_words (a copyright,
  a web or mail address, a phone number), repeated (its text is on the page twice).
- tag_*: its element (p, heading, li, cell, caption, quote); in_list, in_table.
- Position: before_prose / after_prose (before the first or after the last
  candidate of 100+ characters and little link text), log_gap_both (characters to
  the nearest block both chose), run_share (its run's share of the candidates'
  text, runs parted as decide's islands), depth_diff (depth against the median of
  the prose blocks), log_from_start / log_from_end (candidates before / after it).
- kind_*: the kind decide.block_kinds names (kinds.py), grouped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from newsmirror.ingest.article.blocks import Block
from newsmirror.ingest.article.decide import ISLAND_GAP, Votes, block_kinds, decide
from newsmirror.util.text import TOKEN_CJK, char_class

WEIGHTS = Path(__file__).with_name("combiner_weights.json")

HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_TAG_GROUPS = {"p": "p", "li": "li", "td": "cell", "th": "cell", "dd": "li", "dt": "li",
               "figcaption": "caption", "caption": "caption", "blockquote": "quote",
               "pre": "quote"}  # fmt: skip
# The kinds decide.block_kinds names, grouped where each is rare.
_KIND_GROUPS = {
    "comments": "comments", "related": "related", "teaser": "related", "share": "share",
    "newsletter": "promo", "ads": "promo", "caption": "caption", "credit": "caption",
    "author": "byline", "byline": "byline", "meta": "meta", "date": "meta", "toc": "meta",
    "sidebar": "aside", "footer": "aside", "link-line": "link-line",
}  # fmt: skip
_PUNCT = re.compile(r"[,.;:!?\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f\u060c]")
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f\"'\u201d\u00bb)]\s*$")
_CJK_CHAR = re.compile(f"[{char_class(TOKEN_CJK)}]")
_LETTER = re.compile(r"[^\W\d_]")
PROSE_CHARS = 100
_WORD = re.compile(f"[{char_class(TOKEN_CJK)}]{{2}}|[^\\W\\d_]{{4,}}")
# What a site says about itself: a copyright, its address, its web or mail address.
_SITE_WORDS = re.compile(
    r"©|\bcopyright\b|\bwww\.|https?://|\.(?:com|de|org|net)\b|@\w|\btel\.?\s*:?\s*\+?\d", re.I
)

FEATURES: tuple[str, ...] = (
    "traf_only", "read_only", "rules_keep",
    "log_chars", "link_density", "punct_share", "sentence_end", "cjk",
    "tag_p", "tag_heading", "tag_li", "tag_cell", "tag_caption", "tag_quote",
    "in_list", "in_table",
    "before_prose", "after_prose", "log_gap_both", "run_share", "depth_diff",
    "kind_comments", "kind_related", "kind_share", "kind_promo", "kind_caption",
    "kind_byline", "kind_meta", "kind_aside", "kind_link-line",
    "agree_share", "vocab_shared", "site_words", "log_from_start", "log_from_end", "repeated",
)  # fmt: skip


Node = tuple[int, float, int, int, float]  # feature (-1: a leaf), threshold, left, right, value


@dataclass(frozen=True)
class Model:
    """Gradient-boosted trees: log-odds = init + rate * the sum of the trees' leaves."""

    features: tuple[str, ...]
    init: float
    rate: float
    trees: tuple[tuple[Node, ...], ...]
    drop_below: float  # a block the rules keep goes under this chance
    add_from: float | None  # a candidate the rules drop comes back from this chance

    def chance(self, row: list[float]) -> float:
        z = self.init
        for tree in self.trees:
            node = tree[0]
            while node[0] >= 0:
                node = tree[node[2] if row[node[0]] <= node[1] else node[3]]
            z += self.rate * node[4]
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def model_from(data: dict[str, object], origin: str = "model") -> Model:
    features = tuple(data["features"])  # type: ignore[call-overload]
    if features != FEATURES:
        raise ValueError(f"{origin}: its features are not combiner.FEATURES; retrain it")
    trees = tuple(
        tuple((int(f), float(t), int(lo), int(hi), float(v)) for f, t, lo, hi, v in tree)
        for tree in data["trees"]  # type: ignore[attr-defined]
    )
    for tree in trees:
        for f, _, lo, hi, _ in tree:
            if f >= len(features) or (f >= 0 and not (0 < lo < len(tree) and 0 < hi < len(tree))):
                raise ValueError(f"{origin}: a tree node points outside its tree or features")
    add_from = data.get("add_from")
    return Model(features, float(data["init"]), float(data["rate"]), trees,  # type: ignore[arg-type]
                 float(data["drop_below"]), None if add_from is None else float(add_from))  # type: ignore[arg-type]  # fmt: skip


@cache
def load_model(path: Path = WEIGHTS) -> Model:
    return model_from(json.loads(path.read_text("utf-8")), str(path))


def combine(votes: Votes, model: Model | None = None) -> set[int]:
    """The blocks to keep: decide.py's, where the model does not overrule it, and what
    decide.py added that no extractor chose (the lead)."""
    model = model or load_model()
    rules = decide(votes)
    candidates = sorted(votes.in_traf | votes.in_read)
    if not candidates:
        return rules
    kinds = block_kinds(votes.blocks, set(candidates))
    rows = block_features(votes.blocks, votes.in_traf, votes.in_read, rules, kinds)
    keep = rules - set(candidates)
    for i, row in zip(candidates, rows, strict=True):
        chance = model.chance(row)
        if chance >= model.drop_below if i in rules else (
            model.add_from is not None and chance >= model.add_from
        ):
            keep.add(i)
    return keep


def block_features(
    blocks: list[Block], in_traf: set[int], in_read: set[int], rules_keep: set[int],
    kinds: list[str | None],
) -> list[list[float]]:  # fmt: skip
    """One row of FEATURES per candidate block (in_traf | in_read), in page order."""
    candidates = sorted(in_traf | in_read)
    if not candidates:
        return []
    both = in_traf & in_read
    prose = [i for i in candidates if _is_prose(blocks[i])]
    first_prose, last_prose = (min(prose), max(prose)) if prose else (-1, -1)
    total = sum(len(blocks[i].text) for i in candidates) or 1
    agree_share = sum(len(blocks[i].text) for i in both) / total
    depths = {i: _depth(blocks[i]) for i in candidates}
    anchor = sorted(depths[i] for i in (prose or candidates))
    median_depth = anchor[len(anchor) // 2]
    runs = _run_shares(blocks, set(candidates), total)
    gaps = _gaps_to(blocks, both)
    words = {i: set(_WORD.findall(blocks[i].text.lower())) for i in candidates}
    spread: dict[str, int] = {}
    for found in words.values():
        for word in found:
            spread[word] = spread.get(word, 0) + 1
    seen: dict[str, int] = {}
    for block in blocks:
        seen[block.key] = seen.get(block.key, 0) + 1
    rows = []
    for n, i in enumerate(candidates):
        block = blocks[i]
        text = block.text
        chars = len(text)
        tag = block.element.tag
        group = "heading" if tag in HEADINGS else _TAG_GROUPS.get(str(tag), "")
        kind = _KIND_GROUPS.get(kinds[i] or "", "")
        ancestors = {str(a.tag) for a in block.element.iterancestors()}
        letters = len(_LETTER.findall(text))
        row = {
            "traf_only": float(i in in_traf and i not in in_read),
            "read_only": float(i in in_read and i not in in_traf),
            "rules_keep": float(i in rules_keep),
            "log_chars": math.log1p(chars),
            "link_density": block.link_density,
            "punct_share": min(1.0, 20 * len(_PUNCT.findall(text)) / chars) if chars else 0.0,
            "sentence_end": float(bool(_SENTENCE_END.search(text))),
            "cjk": len(_CJK_CHAR.findall(text)) / letters if letters else 0.0,
            "in_list": float(tag != "li" and bool(ancestors & {"li", "ul", "ol"})),
            "in_table": float(bool(ancestors & {"td", "th", "table"})),
            "before_prose": float(i < first_prose),
            "after_prose": float(i > last_prose),
            "log_gap_both": math.log1p(gaps[i]),
            "run_share": runs[i],
            "depth_diff": max(-5.0, min(5.0, depths[i] - median_depth)),
            "agree_share": agree_share,
            # Share of its words that other candidates use too: the article's own
            # vocabulary, which a site's boilerplate seldom shares.
            "vocab_shared": (sum(spread[w] > 1 for w in words[i]) / len(words[i])) if words[i] else 0.0,
            "site_words": float(bool(_SITE_WORDS.search(text))),
            "log_from_start": math.log1p(n),
            "log_from_end": math.log1p(len(candidates) - 1 - n),
            "repeated": float(seen[block.key] > 1),
        }
        if group:
            row[f"tag_{group}"] = 1.0
        if kind:
            row[f"kind_{kind}"] = 1.0
        rows.append([row.get(name, 0.0) for name in FEATURES])
    return rows


def _is_prose(block: Block) -> bool:
    return len(block.text) >= PROSE_CHARS and block.link_density < 0.3


def _depth(block: Block) -> int:
    return sum(1 for _ in block.element.iterancestors())


def _run_shares(blocks: list[Block], keep: set[int], total: int) -> dict[int, float]:
    """Each candidate's run's share of the candidates' text (runs are parted by
    ISLAND_GAP characters of other page text, as decide's islands)."""
    shares: dict[int, float] = {}
    run: list[int] = []
    gap = ISLAND_GAP + 1

    def close() -> None:
        size = sum(len(blocks[i].text) for i in run) / total
        shares.update(dict.fromkeys(run, size))

    for block in blocks:
        if block.index in keep:
            if gap > ISLAND_GAP and run:
                close()
                run = []
            run.append(block.index)
            gap = 0
        else:
            gap += len(block.text)
    if run:
        close()
    return shares


def _gaps_to(blocks: list[Block], anchors: set[int]) -> list[int]:
    """Characters of page text between each block and the nearest anchor block
    (both extractors chose it); a large number when there is none."""
    far = 100_000
    gaps = [far] * len(blocks)
    distance = far
    for block in blocks:  # forwards: the nearest anchor before
        distance = 0 if block.index in anchors else distance + len(block.text)
        gaps[block.index] = min(far, distance)
    distance = far
    for block in reversed(blocks):  # backwards: after
        distance = 0 if block.index in anchors else distance + len(block.text)
        gaps[block.index] = min(gaps[block.index], distance)
    return gaps
