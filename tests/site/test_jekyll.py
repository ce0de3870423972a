"""`init_jekyll`: the scaffold builds the golden + hostile posts with Debian's real jekyll."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

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
    config = (tmp_path / "_config.yml").read_text()
    # A stock Debian jekyll has no plugin (jekyll-paginate, jekyll-feed are separate packages).
    assert "plugins" not in config and "paginate" not in config
    assert "permalink: /:year/:month/:day/:slug:output_ext" in config
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
    assert (archive / "_site" / "feed.xml").is_file()
    title = read_post(marked)[0].title
    assert any(title in p.read_text(encoding="utf-8") for p in posts), "the marked post is built"
    hostile = next(p for p in pages if "back" in str(p)).read_text()
    assert "{{ liquid }}" in hostile  # Liquid in content is left alone
    # The permalink the config's comment describes: /YYYY/MM/DD/<slug>.html, the slug of
    # letters, digits (CJK too) and hyphens (and combining marks, such as the emoji
    # variation selector): no quote, backslash, colon, space or other punctuation.
    site = archive / "_site"
    post_pages = [p.relative_to(site).as_posix() for p in pages if p.parts[-4].isdigit()]
    assert len(post_pages) == len(posts) >= len(GOLDEN) + len(SEED) + len(HOSTILE) - 1
    for rel in post_pages:
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/[^\W_][\w\ufe0f-]*\.html", rel), rel
        assert not re.search(r"[\s\"'\\:,;!?()\[\]{}#%&_]", rel), rel
    assert "2023/02/01/back-slash-title-1.html" in post_pages
    home, archive_page = (site / "index.html").read_text(), (site / "archive.html").read_text()
    assert home.count("<li>") == min(30, len(post_pages))
    assert archive_page.count("<li>") == len(post_pages)
    for link in re.findall(r'href="(/\d{4}/[^"]+)"', archive_page):
        assert (site / unquote(link[1:])).is_file(), link
    feed = ElementTree.fromstring((site / "feed.xml").read_bytes())
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == min(30, len(post_pages))
