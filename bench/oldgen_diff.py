"""newsmirror against the old generator itself, post by post (issue 12).

The same feeds are served on 127.0.0.1 (tests/loopback.py); for each feed the
old generator (`../shared/oldgen/run`, perform.js with rss-parser 3.8.0) and
`newsmirror run --content raw --fulltext never` each write a fresh archive of
their own (one archive per feed and side, so that no feed's dedupe or file
names touch another's), and the two `_posts/` folders are compared: the same
items, the same file names, the same bytes.

Run-time dates are masked: the old generator dates an item with no date, an
unreadable date or a future date with the time of its run, newsmirror with
the time of its own run. A `date:` (and the file name's day, and the body's
`<!--ms-->`) that falls within the run that wrote it reads `RUNTIME`/`RUNDAY`
on both sides, so the comparison does not depend on when it runs.

Each difference gets a class. A class is *deliberate* when docs/format.md
lists it as a fix, with the class of feed it affects and a test; anything
else is *unexplained*, and tests/test_oldgen_diff.py fails on it.

Feeds: every input of rss-parser's test suite; the well-formed feedparser
tests the old generator reads (a first run of it over all of them in one
archive finds the ones it does not reject; those are then compared one by
one, and only those where it writes a post count); and the feeds in
tests/data/oldgen_feeds/ (MANIFEST.json says what each one is for).

Run: python bench/oldgen_diff.py [--groups rss-parser,feedparser,own] [--show 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OLDGEN = SHARED / "oldgen" / "run"
RSS_PARSER_INPUTS = SHARED / "corpus" / "feeds" / "rss-parser" / "test" / "input"
FEEDPARSER_WELLFORMED = SHARED / "corpus" / "feeds" / "feedparser" / "tests" / "wellformed"
OWN_FEEDS = ROOT / "tests" / "data" / "oldgen_feeds"
GROUPS = ("rss-parser", "feedparser", "own")

sys.path.insert(0, str(ROOT / "tests"))
from loopback import LoopbackServer  # noqa: E402

from newsmirror import FeedError, parse_feed  # noqa: E402
from newsmirror.cli import main as newsmirror_main  # noqa: E402

# --- the feeds ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedDoc:
    group: str
    name: str  # unique; also the subscription's site name
    body: bytes
    content_type: str | None = "application/xml"

    @property
    def path(self) -> str:
        return f"/{self.group}/{self.name}"


def rss_parser_feeds() -> list[FeedDoc]:
    return [
        FeedDoc("rss-parser", path.stem, path.read_bytes())
        for path in sorted(RSS_PARSER_INPUTS.iterdir())
        if path.is_file()
    ]


def feedparser_feeds() -> list[FeedDoc]:
    """Every well-formed feedparser test (the old generator reads few of them)."""
    docs = []
    for path in sorted(FEEDPARSER_WELLFORMED.rglob("*")):
        if path.is_file():
            name = "fp-" + "-".join(path.relative_to(FEEDPARSER_WELLFORMED).with_suffix("").parts)
            docs.append(FeedDoc("feedparser", name, path.read_bytes()))
    return docs


def own_feeds() -> list[FeedDoc]:
    """tests/data/oldgen_feeds/: MANIFEST.json lists file, content_type and why."""
    manifest = json.loads((OWN_FEEDS / "MANIFEST.json").read_text(encoding="utf-8"))
    return [
        FeedDoc("own", Path(row["file"]).stem, (OWN_FEEDS / row["file"]).read_bytes(),
                row.get("content_type", "application/xml"))  # fmt: skip
        for row in manifest
    ]


# --- running both sides -----------------------------------------------------------------


@dataclass
class SideRun:
    archive: Path
    started: float  # epoch seconds, around the run, for masking run-time dates
    finished: float
    log: str = ""

    def posts(self) -> dict[str, str]:
        folder = self.archive / "_posts"
        if not folder.is_dir():
            return {}
        return {p.name: p.read_text(encoding="utf-8", errors="replace") for p in folder.iterdir()}


def write_subs(archive: Path, feeds: Iterable[FeedDoc], server: LoopbackServer) -> None:
    archive.mkdir(parents=True, exist_ok=True)
    subs = [{"site": f.name, "url": server.url(f.path)} for f in feeds]
    (archive / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")


def run_oldgen(archive: Path, attempts: int = 3) -> SideRun:
    """One run of the old generator; again (in a fresh archive) when fetching
    failed rather than the feed, which a loaded machine can make happen."""
    # TZ=UTC: V8 reads a date without a zone as local time; newsmirror reads it as UTC.
    env = {**os.environ, "TZ": "UTC"}
    subs = (archive / "subs.json").read_bytes()
    for attempt in range(attempts):
        started = time.time()
        done = subprocess.run(
            [str(OLDGEN), str(archive)], env=env, capture_output=True, text=True, timeout=600
        )
        finished = time.time()
        if done.returncode != 0:
            raise RuntimeError(f"old generator failed on {archive}: {done.stderr.strip()[-500:]}")
        (archive / "oldgen.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        errors = oldgen_errors(done.stdout)
        # No allurls.dat: perform.js did not run (another `run` was copying it).
        ran = (archive / "allurls.dat").is_file()
        fetched = not any(_FETCH_FAILED.search(e) for e in errors.values())
        if (ran and fetched) or attempt == attempts - 1:
            if not ran:
                raise RuntimeError(f"the old generator did not run in {archive}")
            return SideRun(archive, started, finished, done.stdout)
        shutil.rmtree(archive)
        archive.mkdir()
        (archive / "subs.json").write_bytes(subs)
    raise AssertionError("unreachable")


_FETCH_FAILED = re.compile(r"ECONNRESET|ECONNREFUSED|socket hang up|timed out|Status code \d")


def run_newsmirror(archive: Path) -> SideRun:
    """`newsmirror run --content raw --fulltext never`, through the CLI, in this process."""
    out = io.StringIO()
    started = time.time()
    with contextlib.redirect_stdout(out):
        code = newsmirror_main(
            ["run", "--archive", str(archive), "--content", "raw", "--fulltext", "never",
             "--json", "-q"]  # fmt: skip
        )
    finished = time.time()
    if code not in (0, 1):
        raise RuntimeError(f"newsmirror run failed on {archive}: exit {code}")
    return SideRun(archive, started, finished, out.getvalue())


def oldgen_errors(log: str) -> dict[str, str]:
    """site -> the error the old generator logged for it: `console.log([site, e])`
    prints `[`, `'site',`, the error and its stack, `]`; the stack's first line
    in perform.js says which step failed."""
    errors: dict[str, str] = {}
    for block in re.finditer(r"^\[\n\s+'((?:[^'\\]|\\.)*)',\n(.*?)^\]$", log, re.M | re.S):
        site, text = block.group(1).replace("\\'", "'"), block.group(2)
        first = text.strip().split("\n", 1)[0]
        where = re.search(r"perform\.js:(\d+):", text)
        errors.setdefault(site, first + (f" (perform.js:{where.group(1)})" if where else ""))
    return errors


def feeds_oldgen_reads(feeds: list[FeedDoc], server: LoopbackServer, work: Path) -> set[str]:
    """Names of the feeds the old generator reads without losing them: one run
    over all of them in one archive (rejecting a feed does not depend on the
    others), then keep those it did not reject and that have items."""
    archive = work / "select"
    write_subs(archive, feeds, server)
    run = run_oldgen(archive)
    rejected = set(oldgen_errors(run.log))
    wrote = {site for text in run.posts().values() for site in _sites_of(text)}
    chosen = set()
    for feed in feeds:
        if feed.name in rejected:
            continue
        if feed.name in wrote:
            chosen.add(feed.name)
            continue
        try:
            if parse_feed(feed.body, url=server.url(feed.path)).entries:
                chosen.add(feed.name)
        except FeedError:
            pass
    return chosen


def _sites_of(text: str) -> list[str]:
    match = re.search(r"^tags: \[ (.*) \]$", text, re.M)
    return [match.group(1)] if match else []


# --- reading a post -----------------------------------------------------------------------

_POST = re.compile(
    r"^---\n(?P<front>.*?)\n---\n<!--(?P<comment>[^\n]*)-->\n"
    r"\[(?P<linktext>.*)\]\((?P<href>[^\n]*)\)\n------\n\n<div>\n(?P<content>.*)\n</div>\n$",
    re.S,
)
_FIELDS = ("layout", "title", "date", "author", "from", "tags", "comments", "categories")
_RUN_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}-")


@dataclass
class PostParts:
    name: str
    fields: dict[str, str]  # front matter fields, raw text after "key: "
    comment: str
    linktext: str
    href: str
    content: str
    well_formed: bool

    def get(self, key: str) -> str:
        if key in self.fields:
            return self.fields[key]
        return {"comment": self.comment, "linktext": self.linktext, "href": self.href,
                "content": self.content, "name": self.name}.get(key, "")  # fmt: skip


def read_post(name: str, text: str, window: tuple[float, float]) -> PostParts:
    match = _POST.match(text)
    if match is None:
        return PostParts(name, {}, "", "", "", text, False)
    fields: dict[str, str] = {}
    lines = match.group("front").split("\n")
    for line in lines:
        key, sep, value = line.partition(": ")
        if sep and key in _FIELDS and key not in fields:
            fields[key] = value
        elif fields:  # a value the old generator broke over lines (an author with a newline)
            last = list(fields)[-1]
            fields[last] += "\n" + line
    parts = PostParts(
        name, fields, match.group("comment"), match.group("linktext"), match.group("href"),
        match.group("content"), list(fields) == list(_FIELDS),
    )  # fmt: skip
    _mask_run_time(parts, window)
    return parts


def _mask_run_time(parts: PostParts, window: tuple[float, float]) -> None:
    start, end = window[0] - 2, window[1] + 2
    date = parts.fields.get("date", "")
    try:
        moment = datetime.strptime(date, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        moment = None
    if moment is not None and start <= moment.timestamp() <= end:
        parts.fields["date"] = "RUNTIME"
        if parts.name[:10] == date[:10]:
            parts.name = "RUNDAY" + parts.name[10:]
    if parts.comment.lstrip("-").isdigit() and start * 1000 <= int(parts.comment) <= end * 1000:
        parts.comment = "RUNTIME"


# --- classifying differences ----------------------------------------------------------------

_LINE_BREAK = "a line break or tab between words is a space (titles, content)"
_NESTED = "content: nested markup kept in document order"
# Why the old generator lost a whole feed, by the error it logged (its stack's
# line in perform.js); an error not listed here is not a deliberate difference.
_LOST_FEED = (
    (r"perform\.js:67\)", "an item without a plain-text title"),
    (r"perform\.js:68\)", "an item without content"),
    (r"keywords\.split", "an itunes:keywords it could not read"),
    (r"Invalid URL", "an item whose link is not an absolute URL"),
    (r"Invalid time value", "an Atom date it could not read"),
    (r"not recognized as RSS", "not RSS 0.9x/1/2 or Atom to it"),
    (r"^Error: (Invalid|Unexpected|Unclosed|Non-whitespace|Unmatched|Text data)",
     "XML its parser refused"),  # fmt: skip
)
# The deliberate differences, each listed in docs/format.md by this name (the
# test checks) with the feeds it affects and its test.
DELIBERATE = frozenset(
    {
        "title: `\\` and line separators escaped",
        "title: entities decoded",
        "title: first `...` kept",
        "link text: markup escaped",
        "link target: `(`, `)`, `{`, `}` percent-encoded",
        "author: quoted for YAML",
        "author: trimmed, controls removed",
        "site name: quoted for YAML",
        "date: read where the old generator used the run's time",
        "`<!--NaN-->`: the run's time instead",
        "file name: portable characters, cut whole, entities decoded",
        "charset: a feed that is not UTF-8 decoded in its charset",
        "content: Liquid `{{`/`{%` escaped",
        _NESTED,
        _LINE_BREAK,
        "item: a link that is not a web link or an identifier is not written",
        "item: same day and title as another, written as `-2`",
        "dedupe: a link inside another item's link is not a duplicate",
    }
    | {f"feed: the old generator lost it ({kind})" for _, kind in _LOST_FEED}
)


def deliberate(name: str) -> str:
    if name not in DELIBERATE:
        raise AssertionError(f"not a listed deliberate difference: {name}")
    return name


def _yaml_value(raw: str) -> object:
    try:
        return yaml.safe_load("k: " + raw)["k"]
    except (yaml.YAMLError, TypeError):
        return None


def _old_title(raw: str) -> str:
    """The old generator wrote "title" with only `"` escaped (as \\")."""
    inner = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    return inner.replace('\\"', '"')


def _new_title(raw: str) -> str:
    value = _yaml_value(raw)
    return value if isinstance(value, str) else raw


Classifier = Callable[[PostParts, PostParts], str | None]


def _title_class(old: PostParts, new: PostParts) -> str | None:
    before, after = _old_title(old.fields.get("title", "")), _new_title(new.fields.get("title", ""))
    if before == after:
        return deliberate("title: `\\` and line separators escaped")
    if html.unescape(before) == after:
        return deliberate("title: entities decoded")
    if before == after.replace("...", "", 1) or html.unescape(before) == html.unescape(
        after.replace("...", "", 1)
    ):
        return deliberate("title: first `...` kept")
    if _only_spaces_added(before, after):
        return deliberate(_LINE_BREAK)
    return None


def _linktext_class(old: PostParts, new: PostParts) -> str | None:
    text = html.unescape(old.linktext) if old.linktext != new.linktext else old.linktext
    for candidate in (old.linktext, text):
        escaped = re.sub(r"&(?=#?[0-9A-Za-z]+;)", "&amp;", candidate)
        escaped = escaped.replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace("[", "\\[").replace("]", "\\]")
        escaped = re.sub(r"\{(?=[{%])", "&#123;", escaped)
        if escaped == new.linktext:
            return deliberate("link text: markup escaped")
    if html.unescape(old.linktext).strip() == html.unescape(_unescape_md(new.linktext)).strip():
        return deliberate("title: entities decoded")
    if _only_spaces_added(old.linktext, new.linktext):
        return deliberate(_LINE_BREAK)
    return None


def _unescape_md(text: str) -> str:
    return text.replace("\\[", "[").replace("\\]", "]").replace("&#123;", "{")


def _href_class(old: PostParts, new: PostParts) -> str | None:
    target = old.href
    for char, code in (("(", "%28"), (")", "%29"), (" ", "%20"), ("{", "%7B"), ("}", "%7D")):
        target = target.replace(char, code)
    if target == new.href:
        return deliberate("link target: `(`, `)`, `{`, `}` percent-encoded")
    return None


def _author_class(old: PostParts, new: PostParts) -> str | None:
    before, after = old.fields.get("author", ""), new.fields.get("author", "")
    if _yaml_value(before) == _yaml_value(after) and _yaml_value(after) is not None:
        return deliberate("author: quoted for YAML")
    if isinstance(_yaml_value(after), str) and (
        _yaml_value(after) == re.sub(r"[\x00-\x1f\x7f-\x9f]", "", before).strip()
    ):
        return deliberate("author: trimmed, controls removed")
    return None


def _site_class(key: str) -> Classifier:
    def classify(old: PostParts, new: PostParts) -> str | None:
        before, after = old.fields.get(key, ""), new.fields.get(key, "")
        if _yaml_value(before) == _yaml_value(after) or (
            before.startswith("[ ") and _yaml_value(after) == [before[2:-2]]
        ):
            return deliberate("site name: quoted for YAML")
        return None

    return classify


def _date_class(old: PostParts, new: PostParts) -> str | None:
    before, after = old.fields.get("date"), new.fields.get("date")
    if before == "RUNTIME" and after != "RUNTIME":
        return deliberate("date: read where the old generator used the run's time")
    return None


def _comment_class(old: PostParts, new: PostParts) -> str | None:
    if old.comment == "NaN" and new.comment == "RUNTIME":
        return deliberate("`<!--NaN-->`: the run's time instead")
    if old.comment == "NaN" and new.fields.get("date") != "RUNTIME":
        return deliberate("date: read where the old generator used the run's time")
    return None


def _name_class(old: PostParts, new: PostParts) -> str | None:
    """A file name that follows from the title by each side's naming rule."""
    old_day, old_rest = _split_name(old.name)
    new_day, new_rest = _split_name(new.name)
    old_title = _old_title(old.fields.get("title", ""))
    new_title = _new_title(new.fields.get("title", ""))
    expected = _newsmirror_name_part(new_title)
    follows = old_rest == _oldgen_name_part(old.fields.get("title", "")) and re.sub(
        r"-\d+\.md$", ".md", new_rest
    ) in (expected, expected[:-3] + "-2.md")
    titles_agree = (
        old_title == new_title
        or _title_class(old, new) is not None
        or _charset_class(old_title, new_title) is not None
    )
    if old_day != new_day:
        if old_day == "RUNDAY" and (old_rest == new_rest or (follows and titles_agree)):
            return deliberate("date: read where the old generator used the run's time")
        return None
    if follows and titles_agree:
        if _only_spaces_added(old_title, new_title):
            return deliberate(_LINE_BREAK)
        return deliberate("file name: portable characters, cut whole, entities decoded")
    return None


def _split_name(name: str) -> tuple[str, str]:
    if name.startswith("RUNDAY"):
        return "RUNDAY", name[6:]
    return name[:10], name[10:]


def _oldgen_name_part(raw_title: str) -> str:
    """perform.js: `-` + the escaped title's first 50 UTF-16 units, `/` as `--`."""
    inner = raw_title[1:-1] if raw_title.startswith('"') else raw_title
    units = inner.encode("utf-16-le", "surrogatepass")[:100].decode("utf-16-le", "replace")
    return ("-" + units + ".md").replace("/", "--")


_WINDOWS_MAP = str.maketrans({'"': "＂", ":": "：", "?": "？", "|": "｜", "\\": "＼",
                              "<": "＜", ">": "＞", "*": "＊"})  # fmt: skip


def _newsmirror_name_part(title: str) -> str:
    """docs/format.md: cut to 50 UTF-16 units without splitting a character,
    portable characters, no bidi controls, `/` as `--`."""
    used, cut = 0, ""
    for char in title:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > 50:
            break
        cut += char
    cut = unicodedata.normalize("NFC", cut)
    cut = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", cut)
    stem = cut.translate(_WINDOWS_MAP).replace("/", "--")
    return "-" + (stem if stem.strip() else "untitled") + ".md"


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CHARSETS = ("cp1252", "latin-1", "gb18030", "big5hkscs", "cp1251", "shift_jis", "euc-kr")


def _charset_class(before: str, after: str) -> str | None:
    """The old generator read a feed that is not UTF-8 as UTF-8 (U+FFFD where
    bytes did not decode); newsmirror decoded it in its charset. `before` is
    then `after`'s bytes in that charset decoded as UTF-8, controls removed."""
    if before == after or "\ufffd" not in before:
        return None
    for charset in _CHARSETS:
        try:
            data = after.encode(charset)
        except UnicodeEncodeError:
            continue
        if _CONTROLS.sub("", data.decode("utf-8", "replace")) in (before, before.strip()):
            return deliberate("charset: a feed that is not UTF-8 decoded in its charset")
    return None


def _content_class(old: PostParts, new: PostParts) -> str | None:
    before, after = old.content, new.content
    after = re.sub(r"&#123;(?=[{%])", "{", after)
    if before == after:
        return deliberate("content: Liquid `{{`/`{%` escaped")
    for mangled in (_xml2js_mangled(after), _mixed_text(after)):
        if mangled == before:
            return deliberate(_NESTED)
        if mangled is not None and _only_spaces_added(before, mangled):
            return f"{deliberate(_NESTED)} + {deliberate(_LINE_BREAK)}"
    after = after.replace("&#10;", "").replace("&#9;", "")
    if _only_spaces_added(before, after):
        return deliberate(_LINE_BREAK)
    return None



def _mixed_text(content: str) -> str | None:
    """Of mixed content (text and elements) rss-parser kept the text alone:
    newsmirror's `<div>` without its elements. None when it is not that shape."""
    match = re.fullmatch(r"<div(?:\s[^>]*)?>(.*)</div>", content, re.S)
    if match is None:
        return None
    inner, kept, depth, position = match.group(1), [], 0, 0
    for tag in re.finditer(r"<(/?)([A-Za-z_][\w:.-]*)(?:\s[^<>]*?)?(/?)>", inner):
        if depth == 0:
            kept.append(inner[position : tag.start()])
        depth += -1 if tag.group(1) else 0 if tag.group(3) else 1
        if depth < 0:
            return None
        position = tag.end()
    if depth:
        return None
    kept.append(inner[position:])
    return _CONTROLS.sub("", "".join(kept)).strip(_JS_SPACE)


def _xml2js_mangled(content: str) -> str | None:
    """What rss-parser's getContent made of the markup newsmirror wrote: xml2js
    keeps an element's text before its child elements, groups those by name
    and drops text that is only spaces; of mixed content getContent keeps
    only the text. None when `content` is not one element of XML."""
    try:
        element = etree.fromstring(content.encode("utf-8"))
    except (etree.XMLSyntaxError, ValueError):
        return None
    value = _xml2js_object(element)
    if isinstance(value, str):
        text = value
    elif isinstance(value.get("_"), str):
        text = value["_"]
    else:
        text = _xmlbuilder("div", value)
    return _CONTROLS.sub("", text).strip(_JS_SPACE)


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _xml2js_object(element: etree._Element) -> str | dict:
    text = (element.text or "") + "".join(c.tail or "" for c in element)
    obj: dict = {"_": text}
    attributes = dict(_written_attributes(element))
    if attributes:
        obj["$"] = attributes
    for child in element:
        if isinstance(child.tag, str):
            obj.setdefault(_written_name(child), []).append(_xml2js_object(child))
    if not text.strip():
        del obj["_"]
        if not obj:
            return text
    elif list(obj) == ["_"]:
        return text
    return obj


def _written_name(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _written_attributes(element: etree._Element) -> Iterable[tuple[str, str]]:
    # Written here again rather than taken from ingest/parse_raw.py: this
    # oracle must not share the code it judges.
    parent = element.getparent()
    inherited = parent.nsmap if parent is not None else {}
    for prefix, uri in element.nsmap.items():
        if inherited.get(prefix) != uri:
            yield ("xmlns" if prefix is None else f"xmlns:{prefix}"), uri
    for key, value in element.attrib.items():
        qname = etree.QName(key)
        if qname.namespace == "http://www.w3.org/XML/1998/namespace":
            yield f"xml:{qname.localname}", value
        else:
            yield qname.localname, value


def _xmlbuilder(name: str, value: str | dict) -> str:
    """xmlbuilder's rendering of one xml2js value as element `name`."""
    if isinstance(value, str):
        body = _escape(value, attribute=False)
        return f"<{name}>{body}</{name}>" if body else f"<{name}/>"
    attributes = "".join(
        f' {key}="{_escape(val, attribute=True)}"' for key, val in value.get("$", {}).items()
    )
    body = ""
    for key, child in value.items():
        if key == "_":
            body += _escape(child, attribute=False)
        elif key != "$":
            body += "".join(_xmlbuilder(key, entry) for entry in child)
    return f"<{name}{attributes}>{body}</{name}>" if body else f"<{name}{attributes}/>"


def _escape(text: str, *, attribute: bool) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    if attribute:
        return (text.replace('"', "&quot;").replace("\t", "&#x9;").replace("\n", "&#xA;")
                .replace("\r", "&#xD;"))  # fmt: skip
    return text.replace(">", "&gt;").replace("\r", "&#xD;")


def _only_spaces_added(before: str, after: str) -> bool:
    """`after` is `before` with single spaces inserted between two non-space characters."""
    if len(after) <= len(before) or len(after) - len(before) > len(before):
        return False
    i = j = 0
    while j < len(after):
        if i < len(before) and before[i] == after[j]:
            i += 1
        elif after[j] == " " and 0 < j < len(after) - 1 and after[j - 1] != " ":
            pass
        else:
            return False
        j += 1
    return i == len(before)


CLASSIFIERS: dict[str, Classifier] = {
    "title": _title_class,
    "linktext": _linktext_class,
    "href": _href_class,
    "author": _author_class,
    "tags": _site_class("tags"),
    "categories": _site_class("categories"),
    "date": _date_class,
    "comment": _comment_class,
    "name": _name_class,
    "content": _content_class,
}
COMPARED = ("name", "title", "date", "author", "from", "tags", "comments", "categories",
            "layout", "comment", "linktext", "href", "content")  # fmt: skip


@dataclass
class Difference:
    feed: str
    klass: str
    detail: str

    @property
    def deliberate(self) -> bool:
        return all(part in DELIBERATE for part in self.klass.split(" + "))


@dataclass
class FeedResult:
    feed: FeedDoc
    old_posts: int
    new_posts: int
    identical: int  # same file name, same bytes
    differences: list[Difference] = field(default_factory=list)
    same_text: int = 0  # same bytes (the file name may differ)
    old_error: str | None = None


def compare_feed(feed: FeedDoc, old: SideRun, new: SideRun) -> FeedResult:
    old_posts = {n: read_post(n, t, (old.started, old.finished)) for n, t in old.posts().items()}
    new_posts = {n: read_post(n, t, (new.started, new.finished)) for n, t in new.posts().items()}
    error = oldgen_errors(old.log).get(feed.name)
    result = FeedResult(feed, len(old_posts), len(new_posts), 0, old_error=error)
    pairs, only_old, only_new = _pair(old_posts, new_posts)
    for o, n in pairs:
        if _raw_equal(old, new, o, n):
            result.same_text += 1
            if o.name == n.name:
                result.identical += 1
                continue
        for key in COMPARED:
            if o.get(key) == n.get(key):
                continue
            classify = CLASSIFIERS.get(key)
            klass = _charset_class(o.get(key), n.get(key)) or (classify(o, n) if classify else None)
            detail = f"{o.name} | {key}: {o.get(key)[:160]!r} -> {n.get(key)[:160]!r}"
            result.differences.append(Difference(feed.name, klass or f"unexplained: {key}", detail))
        if not o.well_formed or not n.well_formed:
            result.differences.append(
                Difference(feed.name, "unexplained: post shape", f"{o.name} / {n.name}")
            )
    new_links = [p.fields.get("from", "") for p in new_posts.values()]
    for o in only_old:
        link = o.fields.get("from", "")
        klass = _only_old_class(o, link, new_links)
        result.differences.append(Difference(feed.name, klass, f"{o.name} from {link[:120]}"))
    old_links = [p.fields.get("from", "") for p in old_posts.values()]
    for n in only_new:
        klass = _only_new_class(n, new_posts, old_links, error)
        link = n.fields.get("from", "")
        result.differences.append(Difference(feed.name, klass, f"{n.name} from {link[:120]}"))
    return result


def _raw_equal(old: SideRun, new: SideRun, o: PostParts, n: PostParts) -> bool:
    same = all(o.get(k) == n.get(k) for k in COMPARED if k != "name")
    return same and o.well_formed and n.well_formed


def _pair(
    old: dict[str, PostParts], new: dict[str, PostParts]
) -> tuple[list[tuple[PostParts, PostParts]], list[PostParts], list[PostParts]]:
    """Pairs of the same item: same `from:` (and, among those, same title),
    else the same file name, else the same title."""
    pairs: list[tuple[PostParts, PostParts]] = []
    rest_old = sorted(old.values(), key=lambda p: p.name)
    rest_new = sorted(new.values(), key=lambda p: p.name)
    keys: list[Callable[[PostParts], object]] = [
        lambda p: (p.fields.get("from"), _plain_title(p)),
        lambda p: p.name,
        lambda p: p.fields.get("from"),
        lambda p: _plain_title(p),
    ]
    for key in keys:
        waiting: dict[object, list[PostParts]] = {}
        for p in rest_new:
            waiting.setdefault(key(p), []).append(p)
        unmatched = []
        for o in rest_old:
            candidates = waiting.get(key(o))
            if candidates:
                pairs.append((o, candidates.pop(0)))
            else:
                unmatched.append(o)
        rest_old = unmatched
        rest_new = [p for group in waiting.values() for p in group]
    return pairs, rest_old, sorted(rest_new, key=lambda p: p.name)


def _plain_title(p: PostParts) -> str:
    return html.unescape(_old_title(p.fields.get("title", ""))).strip()


def _only_old_class(o: PostParts, link: str, new_links: list[str]) -> str:
    if link.partition(":")[0].lower() not in ("http", "https", "ftp", "tag", "urn"):
        return deliberate("item: a link that is not a web link or an identifier is not written")
    return "unexplained: only the old generator wrote it"


def _only_new_class(
    n: PostParts, new: dict[str, PostParts], old_links: list[str], error: str | None
) -> str:
    if error is not None:
        kind = _error_kind(error)
        if kind is None:
            return f"unexplained: the old generator lost the feed ({error[:80]})"
        return deliberate(f"feed: the old generator lost it ({kind})")
    link = n.fields.get("from", "")
    base = re.sub(r"-\d+\.md$", ".md", n.name)
    if sum(re.sub(r"-\d+\.md$", ".md", p.name) == base for p in new.values()) > 1:
        return deliberate("item: same day and title as another, written as `-2`")
    if link and any(link in other and link != other for other in old_links):
        return deliberate("dedupe: a link inside another item's link is not a duplicate")
    return "unexplained: only newsmirror wrote it"


def _error_kind(error: str) -> str | None:
    for pattern, kind in _LOST_FEED:
        if re.search(pattern, error):
            return kind
    return None


# --- the whole comparison -------------------------------------------------------------------


@dataclass
class Comparison:
    results: list[FeedResult]

    def differences(self) -> list[Difference]:
        return [d for r in self.results for d in r.differences]

    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences() if not d.deliberate]

    def table(self, show: int = 0) -> str:
        lines = ["| feeds | group | old generator's posts | newsmirror's posts "
                 "| identical (name and bytes) | same bytes |",
                 "|---:|---|---:|---:|---:|---:|"]  # fmt: skip
        for group in [*GROUPS, None]:
            rows = [r for r in self.results if group is None or r.feed.group == group]
            if not rows:
                continue
            lines.append(
                f"| {len(rows)} | {group or '**all**'} | {sum(r.old_posts for r in rows)} | "
                f"{sum(r.new_posts for r in rows)} | {sum(r.identical for r in rows)} | "
                f"{sum(r.same_text for r in rows)} |"
            )
        counts = Counter(d.klass for d in self.differences())
        feeds_of: dict[str, set[str]] = {}
        for d in self.differences():
            feeds_of.setdefault(d.klass, set()).add(d.feed)
        lines += ["", "| difference | count | feeds | deliberate |", "|---|---:|---:|---|"]
        def order(kv: tuple[str, int]) -> tuple[bool, int, str]:
            return (not all(p in DELIBERATE for p in kv[0].split(" + ")), -kv[1], kv[0])

        for klass, count in sorted(counts.items(), key=order):
            mark = "yes" if all(p in DELIBERATE for p in klass.split(" + ")) else "**no**"
            lines.append(f"| {klass} | {count} | {len(feeds_of[klass])} | {mark} |")
        if show:
            lines.append("")
            for klass in counts:
                examples = [d for d in self.differences() if d.klass == klass][:show]
                for d in examples:
                    lines.append(f"  [{klass}] {d.feed}: {d.detail}")
        return "\n".join(lines)


def compare(feeds: list[FeedDoc], work: Path) -> Comparison:
    """Serve `feeds`, run both generators on each into its own archives, compare."""
    with LoopbackServer() as server:
        for feed in feeds:
            headers = {"Content-Type": feed.content_type} if feed.content_type else {}
            server.route(feed.path, feed.body, headers=headers)
        for index, feed in enumerate(feeds):
            write_subs(work / "old" / f"{index:04d}", [feed], server)
            write_subs(work / "new" / f"{index:04d}", [feed], server)
        # The old generator's runs one after another (`run` copies perform.js
        # into its cache at every start, under a running one's feet), beside
        # newsmirror's in this process.
        with ThreadPoolExecutor(1) as pool:
            olds = pool.map(run_oldgen, [work / "old" / f"{i:04d}" for i in range(len(feeds))])
            news = [run_newsmirror(work / "new" / f"{i:04d}") for i in range(len(feeds))]
            olds = list(olds)
    return Comparison([compare_feed(f, o, n) for f, o, n in zip(feeds, olds, news, strict=True)])


def corpus(groups: Iterable[str], work: Path) -> list[FeedDoc]:
    feeds: list[FeedDoc] = []
    for group in groups:
        if group == "rss-parser":
            feeds += rss_parser_feeds()
        elif group == "own":
            feeds += own_feeds()
        elif group == "feedparser":
            candidates = feedparser_feeds()
            with LoopbackServer() as server:
                for feed in candidates:
                    server.route(feed.path, feed.body, headers={"Content-Type": "application/xml"})
                chosen = feeds_oldgen_reads(candidates, server, work)
            feeds += [f for f in candidates if f.name in chosen]
        else:
            raise SystemExit(f"unknown group {group!r}; choose from {', '.join(GROUPS)}")
    return feeds


def run_comparison(groups: Iterable[str], work: Path) -> Comparison:
    feeds = corpus(groups, work)
    comparison = compare(feeds, work)
    # Only the feedparser tests where the old generator wrote a post count.
    comparison.results = [
        r for r in comparison.results if r.feed.group != "feedparser" or r.old_posts
    ]
    return comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--show", type=int, default=0, help="examples shown per class")
    parser.add_argument("--keep", type=Path, help="keep both archives in this folder")
    parser.add_argument("--json", type=Path, help="write every difference to this file")
    args = parser.parse_args(argv)
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("oldgen_diff: needs node and npm (Debian: nodejs npm)", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="oldgen-diff-"))
    try:
        comparison = run_comparison(args.groups.split(","), work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(comparison.table(args.show))
    if args.json:
        rows = [d.__dict__ | {"deliberate": d.deliberate} for d in comparison.differences()]
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if comparison.unexplained() else 0


if __name__ == "__main__":
    sys.exit(main())
