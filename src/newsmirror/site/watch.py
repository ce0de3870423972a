"""What re-checking the originals found, on the site: a badge on posts whose
original was deleted (with when it was last seen alive), a page and an Atom
feed of those posts, a revisions page per edited post (every version's text
and a readable diff between them: characters for CJK text, words for Latin),
and filters on source pages. Everything is a static page with relative
links, so it works over file://.

It reads the history files (`.newsmirror/history/`, archive/history.py),
which exist only for posts something happened to. The recheck changes the
post file too when it marks `deleted:` or `edited:` (or touches it when the
post drops out of its feed), so an incremental build renders the post's page
again; the other pages here are signed with what they show.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from ..archive.history import History, iter_histories, parse_iso
from ..util.text import WIDE_CJK, char_class
from .output import href, root_of

WATCH_STRINGS: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "deleted": "原文已删除", "edited": "原文已修改", "last_alive": "最后一次看到原文",
        "revisions": "修订记录", "version": "版本", "changes": "改动", "all": "全部",
        "dropped": "已从订阅源中消失（较弱的信号）", "deleted_posts": "原文已删除的文章",
        "none_deleted": "还没有原文被删除的文章。", "history": "记录", "back": "原文已恢复",
        "suspected": "疑似删除", "confirmed": "确认删除", "cleared": "恢复访问",
        "edit_event": "原文修改", "dropped_event": "从订阅源消失", "evidence": "依据",
        "deleted_feed": "原文已删除的文章",
    },
    "zh-Hant": {
        "deleted": "原文已刪除", "edited": "原文已修改", "last_alive": "最後一次看到原文",
        "revisions": "修訂記錄", "version": "版本", "changes": "改動", "all": "全部",
        "dropped": "已從訂閱源中消失（較弱的訊號）", "deleted_posts": "原文已刪除的文章",
        "none_deleted": "還沒有原文被刪除的文章。", "history": "記錄", "back": "原文已恢復",
        "suspected": "疑似刪除", "confirmed": "確認刪除", "cleared": "恢復訪問",
        "edit_event": "原文修改", "dropped_event": "從訂閱源消失", "evidence": "依據",
        "deleted_feed": "原文已刪除的文章",
    },
    "en": {
        "deleted": "Original deleted", "edited": "Original edited",
        "last_alive": "Original last seen", "revisions": "Revisions", "version": "Version",
        "changes": "Changes", "all": "All", "dropped": "Gone from its feed (a weaker signal)",
        "deleted_posts": "Posts whose original was deleted",
        "none_deleted": "No post's original has been deleted yet.", "history": "History",
        "back": "Original back", "suspected": "Suspected deleted", "confirmed": "Deletion confirmed",
        "cleared": "Answered again", "edit_event": "Original edited",
        "dropped_event": "Gone from the feed", "evidence": "evidence",
        "deleted_feed": "Deleted originals",
    },
}  # fmt: skip
EVENT_LABELS = {"suspected": "suspected", "deleted": "confirmed", "cleared": "cleared",
                "edited": "edit_event", "dropped": "dropped_event", "back": "back"}  # fmt: skip
DELETED_DIR = "deleted/"
FEED_ENTRIES = 50


class PostWatch(NamedTuple):
    """What a post page shows of its original (picklable: workers render post pages)."""

    deleted: str  # "YYYY-MM-DD" when the original is deleted now, else ""
    deleted_at: str  # ISO time of that deletion
    last_alive: str  # "YYYY-MM-DD HH:MM" UTC, or ""
    dropped: str  # "YYYY-MM-DD" when it left its feed, else ""
    versions: tuple[str, ...]  # each version's time, "YYYY-MM-DD HH:MM"


@dataclass
class Watch:
    """Every post with a history, by post file name."""

    posts: dict[str, PostWatch] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def deleted(self) -> list[tuple[str, PostWatch]]:
        """(post name, watch) of posts whose original is deleted, newest deletion first."""
        found = [(n, w) for n, w in self.posts.items() if w.deleted]
        return sorted(found, key=lambda item: (item[1].deleted_at, item[0]), reverse=True)


def load_watch(archive: Path) -> Watch:
    """The history files of `archive`, as the site shows them. Unreadable ones
    are skipped with a one-line warning in `errors`."""
    watch = Watch()
    for history in iter_histories(archive, watch.errors):
        watch.histories[history.post] = history
        watch.posts[history.post] = post_watch(history)
    return watch


def post_watch(history: History) -> PostWatch:
    deleted_at = last_alive = dropped = ""
    for n, event in enumerate(history.events):
        if event.kind == "deleted":
            earlier = [e for e in history.events[:n] if e.kind == "suspected"]
            deleted_at = earlier[-1].time if earlier else event.time
        elif event.kind == "back":
            deleted_at = ""
        elif event.kind == "dropped":
            dropped = event.time[:10]
    if deleted_at and history.last_alive:
        last_alive = _minute(history.last_alive)
    versions = tuple(_minute(v.time) for v in history.versions)
    return PostWatch(deleted_at[:10], deleted_at, last_alive, dropped, versions)


def _minute(iso: str) -> str:
    return parse_iso(iso).strftime("%Y-%m-%d %H:%M")


def revisions_rel(post_rel: str) -> str:
    """The revisions page of the post page `posts/YYYY/MM/slug.html`."""
    return "revisions/" + post_rel.removeprefix("posts/")


# --- diffs ---------------------------------------------------------------------------------

_CJK = char_class(WIDE_CJK)  # scripts without spaces: compared character by character
_TOKENS = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|[^\w\s]")


def diff_html(old: str, new: str) -> Markup:
    """A readable diff of two texts (paragraphs on lines): paragraphs are
    matched first, then changed ones are compared by tokens (a CJK character,
    a word, a run of spaces or a punctuation mark). Removed text is in <del>,
    added text in <ins>; unchanged paragraphs are shortened to their ends."""
    a, b = old.splitlines(), new.splitlines()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [f'<p class="same">{_shortened(line)}</p>' for line in a[i1:i2]]
        elif op == "delete":
            out += [f"<p><del>{escape(line)}</del></p>" for line in a[i1:i2]]
        elif op == "insert":
            out += [f"<p><ins>{escape(line)}</ins></p>" for line in b[j1:j2]]
        elif i2 - i1 == j2 - j1:  # paragraphs changed one for one
            out += [f"<p>{_token_diff(x, y)}</p>" for x, y in zip(a[i1:i2], b[j1:j2], strict=True)]
        else:
            out.append(f"<p>{_token_diff(chr(10).join(a[i1:i2]), chr(10).join(b[j1:j2]))}</p>")
    return Markup("".join(out))


REWRITTEN = 0.5  # paragraphs less alike than this are shown as removed and added whole
GLUE_TOKENS = 2  # shorter common runs between two changes join them (no confetti)


def _token_diff(old: str, new: str) -> str:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < REWRITTEN:
        return f"<del>{escape(old)}</del><ins>{escape(new)}</ins>".replace("\n", "<br>")
    ops = matcher.get_opcodes()
    spans: list[list] = []  # [changed?, old tokens, new tokens]
    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        inner = 0 < n < len(ops) - 1
        if op == "equal" and not (inner and i2 - i1 <= GLUE_TOKENS):
            spans.append([False, a[i1:i2], b[j1:j2]])
        elif spans and spans[-1][0]:
            spans[-1][1] += a[i1:i2]
            spans[-1][2] += b[j1:j2]
        else:
            spans.append([True, a[i1:i2], b[j1:j2]])
    parts = []
    for changed, removed, added in spans:
        if not changed:
            parts.append(str(escape("".join(removed))))
            continue
        if removed:
            parts.append(f"<del>{escape(''.join(removed))}</del>")
        if added:
            parts.append(f"<ins>{escape(''.join(added))}</ins>")
    return "".join(parts).replace("\n", "<br>")


def _shortened(line: str, keep: int = 40) -> str:
    if len(line) <= 2 * keep + 5:
        return str(escape(line))
    return f"{escape(line[:keep])} … {escape(line[-keep:])}"


# --- pages -----------------------------------------------------------------------------------


class SitePage(NamedTuple):
    """What the builder needs of a post for these pages."""

    name: str
    url: str  # its page, site-relative
    title: str
    source: str
    lang: str
    link: str  # the original


PageSink = Callable[[str, object, Callable[[], str]], None]  # (rel, signature, render)


def write_pages(
    page: PageSink,
    env: Any,
    config: Any,
    watched: SiteWatch,
    source_dirs: dict[str, str],
) -> None:
    """The deleted posts' page and feed, the revisions pages and the source
    filter pages, each handed to `page` with a signature of what it shows."""
    watch, posts = watched.watch, watched.posts
    w = WATCH_STRINGS[config.lang]
    deleted = [(posts[n], pw) for n, pw in watch.deleted() if n in posts]
    rows = _rows(deleted, w, show_source=True)
    common = {"site": config, "lang": config.lang, "w": w}
    page(f"{DELETED_DIR}index.html", ("deleted", rows(DELETED_DIR + "index.html")),
         lambda: env.get_template("watch_list.html").render(
             **common, root=root_of(DELETED_DIR), title=w["deleted_posts"], heading=w["deleted_posts"],
             rows=rows(DELETED_DIR + "index.html"), feed="feed.xml", empty=w["none_deleted"]))  # fmt: skip
    _deleted_feed(page, env, config, deleted, w)
    for name, history in watch.histories.items():
        if name in posts and (history.versions or history.events):
            _revisions_page(page, env, common, posts[name], history, watch.posts[name])
    for source, folder in source_dirs.items():
        if source in watched.by_source:
            _source_filters(page, env, common, source, folder, watched.by_source[source])


def _rows(chosen: list[tuple[SitePage, PostWatch]], w: dict[str, str],
          show_source: bool) -> Callable[[str], Markup]:  # fmt: skip
    def render(rel: str) -> Markup:
        root = root_of(rel)
        items = []
        for p, pw in chosen:
            meta = f"{escape(p.source)} · " if show_source else ""
            if pw.deleted:
                meta += f'<span class="badge deleted">{w["deleted"]} · {pw.deleted}</span>'
                if pw.last_alive:
                    meta += f' · {w["last_alive"]} <time>{pw.last_alive}</time>'
            elif pw.versions:
                meta += f'<span class="badge edited">{w["edited"]} · {pw.versions[-1][:10]}</span>'
            items.append(f'<li lang="{p.lang}"><a href="{href(root, p.url)}">{escape(p.title)}</a>'
                         f' <span class="meta">{meta}</span></li>')  # fmt: skip
        return Markup("".join(items))

    return render


def _deleted_feed(page: PageSink, env: Any, config: Any,
                  deleted: list[tuple[SitePage, PostWatch]], w: dict[str, str]) -> None:  # fmt: skip
    rel = f"{DELETED_DIR}feed.xml"
    latest = deleted[:FEED_ENTRIES]
    sig = ("deleted-feed", [(p.url, p.title, pw.deleted_at) for p, pw in latest])

    def render() -> str:
        root = "" if config.url else root_of(rel)
        base = config.url + "/" if config.url else ""
        return env.get_template("watch_feed.xml").render(
            title=f"{w['deleted_feed']} · {config.title}", base=base, self_href=href(root, rel),
            alternate=href(root, f"{DELETED_DIR}index.html"),
            feed_id=(base + rel) if base else "urn:newsmirror:deleted",
            updated=latest[0][1].deleted_at if latest else "1970-01-01T00:00:00Z",
            entries=[{"title": p.title, "url": href(root, p.url), "link": p.link,
                      "source": p.source, "updated": pw.deleted_at,
                      "summary": f"{w['deleted']} · {pw.deleted}"
                                 + (f" · {w['last_alive']} {pw.last_alive}" if pw.last_alive else ""),
                      "id": f"urn:newsmirror:deleted:{_digest(p.name + pw.deleted_at)}"}
                     for p, pw in latest])  # fmt: skip

    page(rel, sig, render)


def _revisions_page(page: PageSink, env: Any, common: dict, post: SitePage, history: History,
                    pw: PostWatch) -> None:  # fmt: skip
    rel = revisions_rel(post.url)
    sig = ("revisions", post.url, post.title, history.events, history.versions, history.last_alive)
    w = common["w"]

    def render() -> str:
        root = root_of(rel)
        versions = [{"n": n + 1, "time": pw.versions[n], "text": v.text,
                     "diff": diff_html(history.versions[n - 1].text, v.text) if n else None}
                    for n, v in enumerate(history.versions)]  # fmt: skip
        events = [{"label": w[EVENT_LABELS[e.kind]], "time": _minute(e.time), "evidence": e.evidence}
                  for e in history.events]  # fmt: skip
        return env.get_template("revisions.html").render(
            **common, root=root, title=f"{w['revisions']} · {post.title}", post=post,
            post_url=href(root, post.url), watch=pw, versions=versions, events=events)

    page(rel, sig, render)


def _source_filters(page: PageSink, env: Any, common: dict, source: str, folder: str,
                    by_filter: dict[str, list]) -> None:  # fmt: skip
    """sources/<slug>/deleted.html and edited.html, when the source has such posts."""
    w = common["w"]
    for kind, chosen in by_filter.items():
        if not chosen:
            continue
        rel = f"{folder}{kind}.html"
        rows = _rows(chosen, w, show_source=False)
        page(rel, (kind, rows(rel)), lambda rel=rel, rows=rows, kind=kind: env.get_template(
            "watch_list.html").render(**common, root=root_of(rel), title=f"{source} · {w[kind]}",
            heading=f"{source} · {w[kind]}", rows=rows(rel), feed="", empty=""))  # fmt: skip


def _by_source(posts: dict[str, SitePage], watch: Watch) -> dict[str, dict[str, list]]:
    """Each source's watched posts in this build, by filter (`filtered`)."""
    mine: dict[str, list[tuple[SitePage, PostWatch]]] = {}
    for n, pw in watch.posts.items():
        if n in posts:
            mine.setdefault(posts[n].source, []).append((posts[n], pw))
    return {source: filtered(chosen) for source, chosen in mine.items()}


def filtered(chosen: Iterable[tuple[SitePage, PostWatch]]) -> dict[str, list]:
    """A source's posts by filter: deleted originals, then edited ones."""
    chosen = list(chosen)
    return {
        "deleted": sorted((c for c in chosen if c[1].deleted), key=lambda c: c[1].deleted_at,
                          reverse=True),
        "edited": sorted((c for c in chosen if c[1].versions), key=lambda c: c[1].versions[-1],
                         reverse=True),
    }  # fmt: skip


@dataclass
class SiteWatch:
    """What the listing pages need: the watched posts with their pages."""

    watch: Watch
    posts: dict[str, SitePage]  # by post file name, those in this build
    lang: str

    @cached_property
    def by_source(self) -> dict[str, dict[str, list]]:
        """Grouped once per build, for the filter bars and the filter pages."""
        return _by_source(self.posts, self.watch)

    def filter_bar(self, source: str, folder: str, total: int) -> Callable[[str], Markup] | None:
        """The filter bar of a source's listing pages (page path -> HTML), or
        None when re-checking found nothing about its posts."""
        mine = self.by_source.get(source)
        if mine is None:
            return None
        counts = {kind: len(items) for kind, items in mine.items()}
        return lambda rel: source_filter_links(folder, rel, counts, self.lang, total)


def source_filter_links(folder: str, rel: str, counts: dict[str, int], lang: str,
                        total: int) -> Markup:  # fmt: skip
    """The filter bar of a source's listing page ("" when nothing was found)."""
    if not any(counts.values()):
        return Markup("")
    w, root = WATCH_STRINGS[lang], root_of(rel)
    links = [f'<a href="{href(root, folder + "index.html")}">{w["all"]}</a> <span class="count">{total}</span>']
    links += [f'<a href="{href(root, f"{folder}{kind}.html")}">{w[kind]}</a> '
              f'<span class="count">{n}</span>' for kind, n in counts.items() if n]  # fmt: skip
    return Markup(" · ".join(links))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
