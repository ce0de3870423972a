"""Train and cross-validate the learned combiner (bench/combiner.py) on the development
parts of bench/extract.py's corpora only; the test parts are never loaded.

Labels, per candidate block (one that trafilatura or readability chose):
- readability corpus: article text when the block is in expected.html's text (matched
  in order, as the extractors' votes are: generic.align); weighted by its share of
  the page's candidate text, so that each page weighs --readability-weight in all
  (the corpus is scored by token F1 per page).
- trafilatura-eval: article text when a `with` snippet overlaps the block, not when a
  `without` snippet does (on the page's block text, letters and digits only); weight
  1 per block (the corpus is scored by snippets). Blocks no snippet touches are not
  labelled, and blocks both kinds touch neither.

Cross-validation: for each of four salts (a, b, c, d; bench/extract.py --halves), the
development part of both corpora is cut in two by the SHA-1 of salt + page name; the
model is trained on one half and scored on the other, both ways, with each corpus's
own metric, beside the current extractor (decide.py) on the same half. The current
extractor's rules were tuned on all development pages, both halves included: its
figure on a held-out half is in-sample, the combiner's is not.

Run: python bench/train_combiner.py [--jobs N] [--depth D --trees N --leaf N
     --rate R --readability-weight W --drop-below P --add-from P --scope all|single
     --without FEATURE,...]
     [--write]   (needs scikit-learn: pip install '.[train]')
--write trains on all development pages and writes bench/combiner_weights.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing import get_context
from statistics import mean
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import combiner  # noqa: E402
from extract import half_of  # noqa: E402
from extract_corpora import (  # noqa: E402
    Page,
    html_text,
    readability_pages,
    token_score,
    traf_eval_common,
    traf_eval_pages,
)

from newsmirror.ingest.article.blocks import Block, match_key  # noqa: E402
from newsmirror.ingest.article.decide import block_kinds, decide  # noqa: E402
from newsmirror.ingest.article.generic import align, extract_generic, parse_page, vote  # noqa: E402
from newsmirror.ingest.extract import decode_page  # noqa: E402

SALTS = ("a", "b", "c", "d")
CORPORA = ("readability", "trafilatura-eval")


@dataclass
class PageData:
    page: Page
    candidates: list[int] = field(default_factory=list)
    rules: set[int] = field(default_factory=set)  # decide.py's keep
    rows: list[list[float]] = field(default_factory=list)  # one per candidate
    labels: dict[int, int] = field(default_factory=dict)  # block index -> 1 article, 0 not
    weights: dict[int, float] = field(default_factory=dict)
    baseline: str = ""  # the current extractor's text


def labels_of(page: Page, blocks: list[Block]) -> dict[int, int]:
    if page.corpus == "readability":
        found = align(blocks, match_key(page.expected_text))
        return {b.index: int(b.index in found) for b in blocks}
    starts, at = [], 0
    for block in blocks:
        starts.append(at)
        at += len(block.key)
    joined = "".join(b.key for b in blocks)
    labels: dict[int, int] = {}
    for side, value in (("with", 1), ("without", 0)):
        for snippet in page.snippets[side]:
            key = match_key(snippet)
            at = joined.find(key) if key else -1
            while at >= 0:
                for block, start in zip(blocks, starts, strict=True):
                    if start < at + len(key) and start + len(block.key) > at:
                        labels[block.index] = value if labels.get(block.index, value) == value else -1
                at = joined.find(key, at + 1)
    return {i: v for i, v in labels.items() if v >= 0}


def collect(page: Page) -> PageData:
    logging.disable(logging.CRITICAL)
    assert page.part == "dev", "the combiner is trained on development pages only"
    data = PageData(page)
    html = decode_page(page.html, None)
    root = parse_page(html)
    if root is not None:
        votes = vote(root, page.url)
        data.rules = decide(votes)
        data.candidates = sorted(votes.in_traf | votes.in_read)
        if data.candidates:
            kinds = block_kinds(votes.blocks, set(data.candidates))
            data.rows = combiner.block_features(
                votes.blocks, votes.in_traf, votes.in_read, data.rules, kinds
            )
        labels = labels_of(page, votes.blocks)
        data.labels = {i: labels[i] for i in data.candidates if i in labels}
        if page.corpus == "readability":
            total = sum(len(votes.blocks[i].text) for i in data.candidates) or 1
            data.weights = {i: len(votes.blocks[i].text) / total for i in data.labels}
        else:
            data.weights = dict.fromkeys(data.labels, 1.0)
    data.baseline = html_text(extract_generic(html, page.url))
    return data


def text_with(job: tuple[Page, frozenset[int]]) -> str:
    """The extractor's text when it keeps these blocks."""
    logging.disable(logging.CRITICAL)
    page, keep = job
    return html_text(extract_generic(decode_page(page.html, None), page.url, lambda _: set(keep)))


@dataclass
class Settings:
    depth: int = 2
    trees: int = 40
    leaf: int = 20
    rate: float = 0.1
    readability_weight: float = 30.0
    drop_below: float = 0.1
    add_from: float | None = None
    scope: str = "all"  # "single": only blocks one extractor chose; the others as the rules say
    without: str = ""  # features left out, comma-separated (cross-validation only)

    def columns(self, row: list[float]) -> list[float]:
        if not self.without:
            return row
        left_out = set(self.without.split(","))
        return [x for x, name in zip(row, combiner.FEATURES, strict=True) if name not in left_out]

    def in_scope(self, row: list[float]) -> bool:
        if self.scope == "all":
            return True
        return bool(row[combiner.FEATURES.index("traf_only")] or
                    row[combiner.FEATURES.index("read_only")])  # fmt: skip


def fit(pages: Iterable[PageData], settings: Settings) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    x, y, w = [], [], []
    for data in pages:
        scale = settings.readability_weight if data.page.corpus == "readability" else 1.0
        for i, row in zip(data.candidates, data.rows, strict=True):
            if i in data.labels and settings.in_scope(row):
                x.append(settings.columns(row))
                y.append(data.labels[i])
                w.append(scale * data.weights[i])
    model = GradientBoostingClassifier(
        n_estimators=settings.trees, max_depth=settings.depth, min_samples_leaf=settings.leaf,
        learning_rate=settings.rate, random_state=0,
    )  # fmt: skip
    model.fit(x, y, sample_weight=w)
    return model


def exported(model: Any, settings: Settings) -> dict[str, Any]:
    """The fitted ensemble as combiner_weights.json holds it."""
    import numpy as np

    trees = []
    for estimator in model.estimators_[:, 0]:
        t = estimator.tree_
        trees.append([
            [int(t.feature[n]) if t.children_left[n] >= 0 else -1, float(t.threshold[n]),
             int(t.children_left[n]), int(t.children_right[n]), float(t.value[n][0][0])]
            for n in range(t.node_count)
        ])  # fmt: skip
    zero = np.zeros((1, len(combiner.FEATURES)))
    init = float(model.decision_function(zero)[0]) - settings.rate * sum(
        float(e.predict(zero)[0]) for e in model.estimators_[:, 0]
    )
    return {
        "features": list(combiner.FEATURES), "init": init, "rate": settings.rate, "trees": trees,
        "drop_below": settings.drop_below, "add_from": settings.add_from,
        "settings": {k: v for k, v in vars(settings).items()},
    }  # fmt: skip


def keeps_of(model: Any, pages: Iterable[PageData], settings: Settings) -> dict[str, set[int]]:
    keeps = {}
    for data in pages:
        keep = data.rules - set(data.candidates)
        rows = [settings.columns(row) for row in data.rows]
        chances = model.predict_proba(rows)[:, 1] if rows else []
        for i, row, chance in zip(data.candidates, data.rows, chances, strict=True):
            if not settings.in_scope(row):
                if i in data.rules:
                    keep.add(i)
            elif i in data.rules:
                if chance >= settings.drop_below:
                    keep.add(i)
            elif settings.add_from is not None and chance >= settings.add_from:
                keep.add(i)
        keeps[data.page.name] = keep
    return keeps


def score(pages: list[PageData], texts: dict[str, str], corpus: str) -> float:
    subset = [d for d in pages if d.page.corpus == corpus]
    if corpus == "readability":
        return mean(token_score(texts[d.page.name], d.page.expected_text).f1 for d in subset)
    common = traf_eval_common()
    matrix = common.ConfusionMatrix()
    for d in subset:
        matrix.add(common.count_item(d.page.snippets, texts[d.page.name]))
    return float(matrix.f1())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    defaults = Settings()
    for name, value in vars(defaults).items():
        flag = "--" + name.replace("_", "-")
        kind = float if name in ("add_from",) else type(value)
        ap.add_argument(flag, type=kind, default=value)
    ap.add_argument("--write", action="store_true", help="train on all dev pages, write the weights")
    args = ap.parse_args(argv)
    if args.write and args.without:
        ap.error("--write keeps every feature: combiner.FEATURES is what the file names")
    settings = Settings(**{k: getattr(args, k) for k in vars(defaults)})
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("train_combiner: scikit-learn is needed to train: pip install '.[train]'", file=sys.stderr)
        return 1

    pages = [p for p in readability_pages() if p.part == "dev"]
    pages += [p for p in traf_eval_pages() if p.part == "dev"]
    with get_context("fork").Pool(args.jobs) as pool:
        data = pool.map(collect, pages, chunksize=4)
        print(f"{len(data)} development pages; settings {vars(settings)}")
        print(f"{'half':10} {'readability: current':>21} {'combiner':>9} {'trafilatura-eval: current':>26}"
              f" {'combiner':>9}")  # fmt: skip
        texts: dict[tuple[str, frozenset[int]], str] = {}
        sums: dict[str, list[float]] = {c: [] for c in CORPORA}
        for salt in SALTS:
            for half in (0, 1):
                train = [d for d in data if half_of(d.page.name, salt) != half]
                held = [d for d in data if half_of(d.page.name, salt) == half]
                keeps = keeps_of(fit(train, settings), held, settings)
                todo = [(d.page, frozenset(keeps[d.page.name])) for d in held
                        if keeps[d.page.name] != d.rules
                        and (d.page.name, frozenset(keeps[d.page.name])) not in texts]  # fmt: skip
                for (page, keep), text in zip(todo, pool.map(text_with, todo), strict=True):
                    texts[page.name, keep] = text
                ours = {d.page.name: d.baseline if keeps[d.page.name] == d.rules
                        else texts[d.page.name, frozenset(keeps[d.page.name])] for d in held}  # fmt: skip
                base = {d.page.name: d.baseline for d in held}
                cells = []
                for corpus in CORPORA:
                    before, after = score(held, base, corpus), score(held, ours, corpus)
                    sums[corpus] += [before, after]
                    cells.append(f"{before:21.4f} {after:9.4f}")
                print(f"{salt} half {half}  {cells[0]} {cells[1]:>36}")
    means = [f"{mean(sums[c][0::2]):21.4f} {mean(sums[c][1::2]):9.4f}" for c in CORPORA]
    print(f"{'mean':10} {means[0]} {means[1]:>36}")
    if args.write:
        model = fit(data, settings)
        weights = exported(model, settings)
        check = combiner.model_from(weights)
        rows = [row for d in data for row in d.rows]
        worst = max(abs(check.chance(r) - p) for r, p in zip(rows, model.predict_proba(rows)[:, 1],
                                                            strict=True))  # fmt: skip
        assert worst < 1e-9, f"the plain-Python trees differ from scikit-learn's by {worst}"
        combiner.WEIGHTS.write_text(json.dumps(weights, indent=None) + "\n", "utf-8")
        print(f"wrote {combiner.WEIGHTS} ({len(weights['trees'])} trees, trained on all {len(data)}"
              f" development pages; plain-Python chances match scikit-learn's within {worst:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
