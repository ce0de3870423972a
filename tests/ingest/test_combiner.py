"""The learned combiner of issue 18's fourth round (bench/combiner.py, an experiment the
extractor does not use): its weights file, its plain-Python trees and its decisions on
a small page."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from newsmirror.ingest.article.blocks import page_blocks
from newsmirror.ingest.article.decide import Votes, block_kinds, decide
from newsmirror.ingest.article.generic import parse_page

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import combiner  # noqa: E402

SENTENCE = (
    "The storm reached the coast on Tuesday night and flooded the lower town, where "
    "residents had been told to leave their homes before the river rose. "
)


def _votes() -> tuple[Votes, set[int], int]:
    """An article of six paragraphs and a comment after it, which both extractors chose."""
    root = parse_page(
        "<html><body><article>"
        + "".join(f"<p>{SENTENCE} Paragraph {i}.</p>" for i in range(6))
        + "</article><div class='comment-list'><p>Great article, thanks for writing it!"
        " I had no idea the river rose so fast.</p></div></body></html>"
    )  # fmt: skip
    assert root is not None
    blocks = page_blocks(root)
    every = {b.index for b in blocks}
    article = {b.index for b in blocks if "Paragraph" in b.text}
    (comment,) = every - article
    return Votes(blocks, every, every), article, comment


def _model(init: float, drop_below: float = 0.5, add_from: float | None = None) -> combiner.Model:
    return combiner.model_from({"features": list(combiner.FEATURES), "init": init, "rate": 0.1,
                                "trees": [], "drop_below": drop_below, "add_from": add_from})  # fmt: skip


def test_the_weights_file_loads_and_names_the_features_it_was_trained_on() -> None:
    data = json.loads(combiner.WEIGHTS.read_text("utf-8"))
    assert data["features"] == list(combiner.FEATURES)
    model = combiner.load_model()
    assert len(model.trees) == data["settings"]["trees"] > 0
    assert 0 < model.drop_below < 1


def test_a_weights_file_for_other_features_or_with_broken_trees_is_refused() -> None:
    data = json.loads(combiner.WEIGHTS.read_text("utf-8"))
    with pytest.raises(ValueError, match="features"):
        combiner.model_from({**data, "features": data["features"][:-1]})
    broken = [[0, 0.5, 1, 9, 0.0], [-1, 0.0, -1, -1, 1.0]]  # a right child past the tree's end
    with pytest.raises(ValueError, match="outside"):
        combiner.model_from({**data, "trees": [broken]})


def test_the_trees_are_summed_in_log_odds() -> None:
    traf_only = combiner.FEATURES.index("traf_only")
    # One stump: traf_only <= 0.5 -> +2, else -2; log-odds = 1 + 0.5 * leaf.
    stump = [[traf_only, 0.5, 1, 2, 0.0], [-1, 0.0, -1, -1, 2.0], [-1, 0.0, -1, -1, -2.0]]
    model = combiner.model_from({"features": list(combiner.FEATURES), "init": 1.0, "rate": 0.5,
                                 "trees": [stump, stump], "drop_below": 0.5, "add_from": None})  # fmt: skip
    row = [0.0] * len(combiner.FEATURES)
    assert model.chance(row) == pytest.approx(1 / (1 + pow(2.718281828459045, -3.0)))
    row[traf_only] = 1.0
    assert model.chance(row) == pytest.approx(1 / (1 + pow(2.718281828459045, 1.0)))


def test_the_committed_model_keeps_the_article_and_drops_the_comment() -> None:
    votes, article, comment = _votes()
    assert combiner.combine(votes) == article
    # The model itself rates the comment below every paragraph.
    candidates = sorted(votes.in_traf | votes.in_read)
    rules = decide(votes)
    rows = combiner.block_features(votes.blocks, votes.in_traf, votes.in_read, rules,
                                   block_kinds(votes.blocks, set(candidates)))  # fmt: skip
    model = combiner.load_model()
    chances = {i: model.chance(row) for i, row in zip(candidates, rows, strict=True)}
    assert chances[comment] < min(chances[i] for i in article)


def test_the_model_overrules_decide_only_across_its_thresholds() -> None:
    votes, article, comment = _votes()
    # Chance about 0.05: under drop_below 0.1 every block the rules keep goes...
    assert combiner.combine(votes, _model(-3.0, drop_below=0.1)) == set()
    # ...over 0.01 it stays; a block the rules drop comes back only from add_from.
    assert combiner.combine(votes, _model(-3.0, drop_below=0.01)) == article
    assert combiner.combine(votes, _model(-3.0, drop_below=0.01, add_from=0.04)) == article | {
        comment
    }


def test_features_describe_the_blocks() -> None:
    votes, article, comment = _votes()
    candidates = sorted(votes.in_traf | votes.in_read)
    rules = decide(votes)
    rows = combiner.block_features(votes.blocks, votes.in_traf, votes.in_read, rules,
                                   block_kinds(votes.blocks, set(candidates)))  # fmt: skip
    assert len(rows) == len(candidates) and all(len(r) == len(combiner.FEATURES) for r in rows)
    feature = {name: [row[k] for row in rows] for k, name in enumerate(combiner.FEATURES)}
    at = candidates.index(comment)
    assert feature["kind_comments"][at] == 1.0 and feature["rules_keep"][at] == 0.0
    assert feature["after_prose"][at] == 1.0 and feature["tag_p"][at] == 1.0
    first = candidates.index(min(article))
    assert feature["rules_keep"][first] == 1.0 and feature["kind_comments"][first] == 0.0
    assert feature["vocab_shared"][first] > 0.9  # every paragraph repeats the sentence
