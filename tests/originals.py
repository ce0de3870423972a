"""A news site on a loopback server whose articles tests delete, edit and
restore, and an archive mirroring it (for the re-check tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import write_subs
from feeds import rss, rss_item

from newsmirror.archive.config import FetchSettings
from newsmirror.archive.originals import Originals
from newsmirror.archive.postmarks import deleted_mark
from newsmirror.archive.store import Store
from newsmirror.cli import main

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
HOUR = 3600.0

PARAGRAPHS = [
    "北京时间周五上午，多名记者在现场看到，市政府门前聚集了上百名等待消息的居民，他们手持写有诉求的纸板。",
    "一位不愿具名的官员对本报表示，有关部门正在研究相关方案，但目前还没有确定的时间表，也没有公布细节。",
    "居民代表说，他们此前已经多次递交材料，却一直没有得到正式答复，这次希望能够当面说明情况并得到回应。",
    "分析人士认为，这一事件反映出地方治理中长期存在的沟通问题，如果处理不当，可能引发更大范围的不满。",
]


def loopback_toml(extra: str = "") -> str:
    """newsmirror.toml for an archive whose originals are on 127.0.0.1."""
    lines = ["[settings]"]
    if "allow_private_networks" in FetchSettings.__dataclass_fields__:
        lines.append("allow_private_networks = true")  # the originals are on loopback
    lines += ["retries = 0", "", "[recheck]", 'schedule = "0s 1h 1d"', "rate_per_host = 50", extra]
    return "\n".join(lines) + "\n"


def article_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title} - 新闻网</title></head>"
        f"<body><header><nav><a href='/'>首页</a><a href='/news/'>新闻</a></nav></header>"
        f"<article><h1>{title}</h1>{body}</article><footer>© 新闻网</footer></body></html>"
    )


def notice_page(text: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>新闻网</title></head>"
        f"<body><header><nav><a href='/'>首页</a></nav></header><div class='msg'>{text}</div>"
        "</body></html>"
    )


HTML = {"Content-Type": "text/html; charset=utf-8"}


class Site:
    """A news site on the loopback server: a feed and its article pages."""

    def __init__(self, server, archive: Path, n: int = 3, extra_toml: str = "") -> None:
        self.server = server
        self.archive = archive
        self.n = n
        for i in range(n):
            self.serve(i, PARAGRAPHS, etag=f'"v1-{i}"')
        server.route("/", article_page("首页", ["这是网站首页，列出最新的文章和专题。" * 3]), headers=HTML)
        server.route("/news/", article_page("新闻", ["新闻频道的文章列表页面。" * 3]), headers=HTML)
        self.serve_feed(range(n))
        write_subs(archive, [("新闻网", server.url("/feed.xml"))])
        (archive / "newsmirror.toml").write_text(loopback_toml(extra_toml), encoding="utf-8")

    def path(self, i: int) -> str:
        return f"/news/2026/a{i}.html"

    def serve(
        self, i: int, paragraphs: list[str], etag: str | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        page = article_page(f"第{i}条新闻", [f"{p}（{i}）" for p in paragraphs] + list(extra))
        self.server.route(self.path(i), page, headers=HTML, etag=etag)

    def serve_feed(self, which) -> None:
        items = [
            rss_item(
                title=f"第{i}条新闻", link=self.server.url(self.path(i)),
                published=T0 + timedelta(minutes=i), content_encoded=f"<p>{PARAGRAPHS[0]}（{i}）</p>",
            )
            for i in which
        ]  # fmt: skip
        self.server.route("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})

    def ingest(self) -> None:
        assert main(["run", "--archive", str(self.archive), "--content", "raw", "-q"]) == 0

    def post(self, i: int) -> Path:
        [path] = [p for p in (self.archive / "_posts").iterdir() if f"第{i}条新闻" in p.name]
        return path

    def marks(self) -> dict[int, str | None]:
        return {i: deleted_mark(self.post(i).read_text(encoding="utf-8")) for i in range(self.n)}

    def key(self, i: int) -> str:
        with Store.open(self.archive) as store:
            return next(r.key for r in Originals(store).all() if r.link.endswith(self.path(i)))
