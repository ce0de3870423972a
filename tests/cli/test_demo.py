"""The README's demo: built-in feeds served on 127.0.0.1, mirrored and built."""

from __future__ import annotations

from conftest import posts_of

from newsmirror.cli import main


def test_demo_mirrors_every_kind_of_feed_and_builds(tmp_path, capsys):
    archive = tmp_path / "demo"
    assert main(["demo", "--archive", str(archive), "--build", "-q"]) == 0
    posts = posts_of(archive)
    assert len(posts) == 7
    text = "\n".join(posts.values())
    assert "这是一条用 GBK 编码发布的新闻" in text  # the GBK feed decoded
    assert "现在真不能做核酸，一做就混阳。<br>喜欢猫咪" in text  # YouTube, line break kept
    full = next(t for n, t in posts.items() if "只有摘要" in n)
    assert "这是文章的第二段" in full  # full text from the article page
    assert "热门新闻一" not in full and "首页" not in full and "更多文章" not in full
    assert "<script" not in text
    assert (archive / "_site" / "index.html").is_file()
    assert main(["demo", "--archive", str(archive), "-q"]) == 0  # a rerun adds nothing
    assert posts_of(archive) == posts
