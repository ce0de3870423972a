"""`init_jekyll`: the scaffold builds the golden + hostile posts with Debian's real jekyll."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_site import GOLDEN, HOSTILE, SEED, make_archive

from newsmirror.archive.postmarks import set_deleted, set_mark
from newsmirror.site import init_jekyll
from newsmirror.site.jekyll import JekyllInitError
from newsmirror.site.reader import read_post

JEKYLL = Path("/usr/bin/jekyll")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("title: mine\n")
    with pytest.raises(JekyllInitError, match="_config.yml"):
        init_jekyll(tmp_path)
    written = init_jekyll(tmp_path, force=True)
    assert tmp_path / "_config.yml" in written
    assert "jekyll-paginate" in (tmp_path / "_config.yml").read_text()
    assert init_jekyll(tmp_path) == written  # same content again: no clash


@pytest.mark.jekyll
@pytest.mark.skipif(
    not JEKYLL.exists(), reason="Debian's jekyll is not installed (/usr/bin/jekyll)"
)
def test_jekyll_builds_the_sample_archive(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "archive")
    # newsmirror writes YAML-valid front matter for the same hostile values (FORMAT.md);
    # old-generator posts YAML cannot parse are not in the golden set.
    hostile = next((archive / "_posts").glob("*Back*"))
    hostile.write_text(
        hostile.read_text()
        .replace('"Back\\slash \\d title"', '"Back\\\\slash \\\\d title"')
        .replace("author: Name: With # colon, comma", 'author: "Name: With # colon, comma"')
        .replace("[ A, B: site ]", '[ "A, B: site" ]')
    )
    # `recheck`'s optional marks (docs/format.md): Jekyll must ignore them.
    marked = sorted((archive / "_posts").glob("*.md"))[0]
    set_mark(marked, "edited", datetime(2026, 11, 29, 8, tzinfo=UTC))
    set_deleted(marked, datetime(2026, 11, 30, 8, tzinfo=UTC))
    init_jekyll(archive)
    proc = subprocess.run([str(JEKYLL), "build", "--trace"], cwd=archive, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Error" not in output and "YAML Exception" not in output, output
    pages = list((archive / "_site").rglob("*.html"))
    posts = [p for p in pages if p.parent.parent.parent.name.isdigit() or "20" in p.parts[-4]]
    assert len(posts) >= len(GOLDEN) + len(SEED) + len(HOSTILE) - 1
    assert (archive / "_site" / "feed.xml").is_file()
    title = read_post(marked)[0].title
    assert any(title in p.read_text(encoding="utf-8") for p in posts), "the marked post is built"
    hostile = next(p for p in pages if "Back" in str(p)).read_text()
    assert "{{ liquid }}" in hostile  # Liquid in content is left alone
