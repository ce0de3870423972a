"""The command line follows its own README: global options anywhere, --version,
exit codes as documented, help with defaults, right plurals, `subs` verbs."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import posts_of, write_subs
from feeds import rss, rss_item
from loopback import LoopbackServer

import newsmirror
from newsmirror.cli import build_parser, main
from newsmirror.cli.common import EXIT_CODES
from newsmirror.ingest.report import FeedOutcome, RunReport, outcome_line

README = Path(__file__).resolve().parents[2] / "README.md"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
RSS = {"Content-Type": "application/rss+xml"}


def one_item_feed(server: LoopbackServer, path: str = "/f.xml", title: str = "Feed") -> str:
    item = rss_item(title="一", link="https://n.example/1", published=T0,
                    content_encoded="<p>" + "全文。" * 100 + "</p>")  # fmt: skip
    server.route(path, rss([item], title=title), headers=RSS)
    return server.url(path)


# --- global options, --version -------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["-q", "run", "--archive", "{a}"],
        ["run", "-q", "--archive", "{a}"],
        ["--log-format", "json", "-q", "run", "--archive", "{a}"],
        ["run", "--archive", "{a}", "--log-format", "json", "-q"],
    ],
)
def test_global_options_work_before_and_after_the_command(
    argv: list[str], archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_subs(archive, [("站", one_item_feed(server)), ("坏", server.url("/missing.xml"))])
    assert main([a.format(a=archive) for a in argv]) == 0
    err = capsys.readouterr().err.splitlines()
    assert not any("ok 站" in line for line in err)  # -q: no INFO lines
    [warning] = [line for line in err if "坏" in line]  # the failure is still told
    if "json" in argv:
        assert json.loads(warning)["level"] == "warning"
    else:
        assert warning.startswith("WARNING FAIL 坏")


def test_verbosity_counts_on_both_sides(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["-v", "-q", "status", "-q", "--archive", str(archive)])
    assert (args.verbose, args.quiet, args.quiet_after, args.log_format) == (1, 1, 1, "text")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    version = importlib.metadata.version("newsmirror")
    assert capsys.readouterr().out.strip() == f"newsmirror {version}"
    assert version == newsmirror.__version__


# --- exit codes -----------------------------------------------------------------


def test_readme_and_help_show_the_same_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", README.read_text(encoding="utf-8"), re.M)
    assert [(int(code), what) for code, what in rows] == list(EXIT_CODES)
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for code, what in EXIT_CODES:
        assert f"{code} {what}" in out


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("newsmirror: "), err
    return err


def test_a_missing_archive_is_2_whatever_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope")
    for argv in (["build"], ["run"], ["status"], ["subs", "list"], ["publish"], ["retention"]):
        assert main([*argv, "--archive", missing]) == 2, argv
        assert "no such archive folder (make one with `newsmirror init`)" in one_line_error(capsys)


def test_build_before_any_run_is_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "m"), "-q"]) == 0
    capsys.readouterr()
    assert main(["build", "--archive", str(tmp_path / "m")]) == 2
    assert "no posts yet: run `newsmirror run` first" in one_line_error(capsys)


def test_publish_outside_git_is_2(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_subs(archive, [])
    assert main(["publish", "--archive", str(archive)]) == 2
    assert "not a git repository" in one_line_error(capsys)


@pytest.mark.parametrize(
    "command", [["run"], ["build"], ["status"], ["subs", "list"], ["retention"], ["watch"]]
)
def test_a_bad_setting_fails_every_command_at_its_start(
    command: list[str], archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_subs(archive, [("站", one_item_feed(server))])
    (archive / "_posts").mkdir()
    (archive / "newsmirror.toml").write_text('[site]\nlang = "zh-CN"\n', encoding="utf-8")
    assert main([*command, "--archive", str(archive)]) == 2
    assert "[site]: lang must be" in one_line_error(capsys)
    assert server.requests == []  # refused before fetching anything


def test_strict_is_the_only_exit_1(
    archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_subs(archive, [("站", one_item_feed(server)), ("坏", server.url("/missing.xml"))])
    assert main(["run", "--archive", str(archive), "-q"]) == 0
    assert main(["run", "--archive", str(archive), "-q", "--strict"]) == 1


def test_locked_is_3(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_subs(archive, [])
    (archive / "_posts").mkdir()
    with newsmirror.ArchiveLock(archive):
        assert main(["build", "--archive", str(archive)]) == 3
    assert main(["build", "--archive", str(archive), "-q"]) == 0


def test_bad_option_values_are_2(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_subs(archive, [])
    with pytest.raises(SystemExit) as e:
        main(["run", "--archive", str(archive), "--concurrency", "x"])
    assert e.value.code == 2
    assert "invalid int value: 'x'" in capsys.readouterr().err
    assert main(["run", "--archive", str(archive), "--concurrency", "0"]) == 2
    assert "concurrency must be at least 1, got 0" in one_line_error(capsys)


def test_enable_is_only_under_subs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["enable", "x"])
    assert e.value.code == 2
    assert "invalid choice: 'enable'" in capsys.readouterr().err


# --- help -----------------------------------------------------------------------


def parsers(parser: argparse.ArgumentParser, name: str = "newsmirror"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_command_and_option_has_help_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen = 0
    for name, parser in parsers(build_parser()):
        assert parser.description, f"{name} has no description"
        text = parser.format_help()
        assert "%%" not in text and "%(" not in text, name
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, f"{name} {choice.dest} has no help"
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            takes_value = action.option_strings and action.nargs != 0
            if takes_value:
                helped = parser._get_formatter()._expand_help(action)
                assert "default" in helped, f"{name} {action.option_strings}: {helped}"
            seen += 1
    assert seen > 60
    assert "(default: [settings] max_bytes, else 20971520)" in " ".join(
        build_parser()._subparsers._group_actions[0].choices["run"].format_help().split()
    )


# --- plurals ----------------------------------------------------------------------


def test_plurals() -> None:
    one = FeedOutcome(site="s", url="u", status="fetched", new_posts=1, items=2,
                      item_errors=["item 'x': bad"])  # fmt: skip
    assert outcome_line(one).endswith(", 1 bad item")
    one.item_errors.append("item 'y': bad")
    assert outcome_line(one).endswith(", 2 bad items")
    report = RunReport(archive="m", started=0.0, finished=1.0, feeds=[one], posts=["a.md"])
    assert report.summary_line().startswith("1 feed: 1 fetched")
    assert "; 1 new post in" in report.summary_line()
    report.feeds.append(one)
    report.posts.append("b.md")
    assert report.summary_line().startswith("2 feeds:") and "2 new posts" in report.summary_line()


# --- init and subs ------------------------------------------------------------------


def test_init_prints_the_next_three_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "m"), "--title", "新闻镜像"]) == 0
    out = capsys.readouterr().out.splitlines()
    nxt = out[out.index("next:") + 1 :]
    assert [line.split()[:3] for line in nxt] == [
        ["newsmirror", "subs", "add"], ["newsmirror", "run", "--archive"],
        ["newsmirror", "build", "--archive"],
    ]  # fmt: skip
    assert json.loads((tmp_path / "m" / "subs.json").read_text()) == []
    assert newsmirror.load_site_config(tmp_path / "m").title == "新闻镜像"
    assert main(["init", str(tmp_path / "m")]) == 0  # again: both files kept
    assert "kept" in capsys.readouterr().out


def test_subs_add_finds_names_and_refuses_duplicates(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "m"
    main(["init", str(archive), "-q"])
    feed = one_item_feed(server, "/feed", title="一个博客")
    server.route("/", '<!doctype html><html><head><link rel="alternate" '
                 'type="application/rss+xml" href="/feed"></head></html>',
                 headers={"Content-Type": "text/html"})  # fmt: skip
    capsys.readouterr()
    assert main(["subs", "add", server.url("/"), "--archive", str(archive)]) == 0
    assert capsys.readouterr().out == f"added 一个博客: {feed} (1 item now, linked from {server.url('/')})\n"
    requests = len(server.requests)
    same = feed.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "#top"
    assert main(["subs", "add", same, "--archive", str(archive)]) == 2
    assert f"is already listed, as 一个博客: {feed}" in one_line_error(capsys)
    assert len(server.requests) == requests  # refused before fetching
    other = one_item_feed(server, "/other.xml")
    assert main(["subs", "add", other, "--site", "一个博客", "--archive", str(archive)]) == 2
    assert "'一个博客' is already used by" in one_line_error(capsys)
    assert main(["subs", "add", other, "--site", "一个博客", "--share-site",
                 "--category", "博客", "--archive", str(archive)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["subs", "list", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"2 feeds in {archive / 'subs.json'}\n")
    assert f"new        一个博客  {other}  [博客]" in out
    assert "1 site name shared by several feeds (one source page each): 一个博客 (2)" in out
    assert main(["subs", "add", server.url("/nothing"), "--archive", str(archive)]) == 2
    assert "HTTP 404" in one_line_error(capsys)


def test_subs_list_shows_failing_feeds_with_their_problem(
    archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_subs(archive, [("好", one_item_feed(server)), ("坏", server.url("/missing.xml"))])
    main(["run", "--archive", str(archive), "-q"])
    capsys.readouterr()
    assert main(["subs", "list", "--archive", str(archive)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("ok ") and "好" in lines[1]
    assert lines[2].startswith("failing ") and lines[2].endswith("(HTTP 404 Not Found)")


def test_run_over_a_blog_home_page_names_its_feed(
    archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = one_item_feed(server, "/feed")
    server.route("/", '<!doctype html><html><head><link rel="alternate" '
                 'type="application/rss+xml" href="/feed"></head></html>',
                 headers={"Content-Type": "text/html"})  # fmt: skip
    write_subs(archive, [("博客", server.url("/"))])
    assert main(["run", "--archive", str(archive), "--json"]) == 0
    [outcome] = json.loads(capsys.readouterr().out)["feeds"]
    assert outcome["reason"] == (
        f"{server.url('/')}: not a feed: got an HTML page; it links to {feed} \N{EM DASH} use that"
    )
    assert posts_of(archive) == {}


def test_every_build_prints_where_to_open_the_site(
    archive: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_subs(archive, [("站", one_item_feed(server))])
    uri = (archive / "_site" / "index.html").resolve().as_uri()
    assert main(["run", "--build", "--archive", str(archive), "-q"]) == 0
    assert f"open {uri} in a browser\n" in capsys.readouterr().out
    assert main(["build", "--archive", str(archive), "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("site: 1 post, ") and out.endswith(f"open {uri} in a browser\n")
