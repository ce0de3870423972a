"""`newsmirror publish`: commit what runs added to the archive, then push.

Only the archive's content is committed: `_posts/`, `archived/`, `assets/`,
the originals' history (`.newsmirror/history/`: events and text versions, one
small JSON file per watched post) and the subscription and config files. The
state database (`.newsmirror/state.db`) is not: it changes on every run, and a binary file committed every half hour
bloats a repository for ever. On GitHub Actions the workflow keeps it with
actions/cache instead; if that cache is ever lost, the first run rebuilds
the dedupe keys from `_posts/`, `archived/` and `allurls.dat`, so nothing is
mirrored twice (only ETags and feed health start afresh).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..archive.fsutil import ArchiveLock
from ..models import NewsmirrorError

PUBLISHED_PATHS = (
    "_posts", "archived", "assets", ".newsmirror/history", "subs.json", "allurls.dat",
    "newsmirror.toml",
)  # fmt: skip
MAX_SOURCES_IN_MESSAGE = 20
_TAGS_LINE = re.compile(r"^tags:\s*\[\s*(.*?)\s*\]\s*$", re.MULTILINE)


class PublishError(NewsmirrorError):
    """git failed; the message is git's own first line of complaint."""


@dataclass
class PublishResult:
    committed: bool
    message: str  # the commit message, or why nothing was committed
    new_posts: Counter[str] = field(default_factory=Counter)  # per source (tags)
    changed_files: int = 0
    commit: str | None = None
    pushed: bool = False
    remote: str | None = None


def publish(archive: Path, *, push: bool = True) -> PublishResult:
    """Commit the archive's new and changed files with a message counting the
    new posts per source; push if a remote is configured and `push`."""
    archive = archive.resolve()
    git = _Git(archive)
    git.run("rev-parse", "--show-toplevel", what="not a git repository")
    with ArchiveLock(archive):
        paths = [p for p in PUBLISHED_PATHS if (archive / p).exists() or git.tracked(p)]
        if paths:
            git.run("add", "--all", "--", *paths, what="git add failed")
        changes = git.staged(paths) if paths else []
        if not changes:
            result = PublishResult(committed=False, message="nothing to publish")
        else:
            added = [archive / p for status, p in changes if status == "A" and _is_post(p)]
            counts = posts_per_source(added)
            message = commit_message(counts, len(changes))
            git.run("commit", "--quiet", "-m", message, "--", *paths, what="git commit failed")
            commit = git.run("rev-parse", "HEAD", what="git rev-parse failed").strip()
            result = PublishResult(True, message, counts, len(changes), commit)
    if push:
        remote = git.push_remote()
        if remote is not None and (result.committed or git.ahead_of_upstream()):
            git.push(remote)
            result.pushed, result.remote = True, remote
    return result


def _is_post(path: str) -> bool:
    return path.startswith("_posts/") and path.endswith(".md")


def posts_per_source(posts: list[Path]) -> Counter[str]:
    """How many of `posts` each source has, from their `tags:` front matter."""
    counts: Counter[str] = Counter()
    for path in posts:
        counts[post_source(path)] += 1
    return counts


def post_source(path: Path) -> str:
    """The first tag of a post (its site name); "unknown" when it has none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    front = text.split("\n---", 1)[0] if text.startswith("---") else ""
    try:
        data = yaml.safe_load(front.removeprefix("---"))
        tags = data.get("tags") if isinstance(data, dict) else None
    except yaml.YAMLError:  # an old post with broken YAML still has a readable tags line
        match = _TAGS_LINE.search(front)
        tags = [match.group(1).strip("\"' ")] if match else None
    if isinstance(tags, list) and tags and str(tags[0]).strip():
        return str(tags[0]).strip()
    if isinstance(tags, str) and tags.strip():
        return tags.strip()
    return "unknown"


def commit_message(per_source: Counter[str], changed_files: int) -> str:
    """'newsmirror: 12 new posts (路透 5, 纽约时报 7)'; most posts first."""
    total = sum(per_source.values())
    if not total:
        return f"newsmirror: archive update ({changed_files} files changed)"
    ranked = sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{site} {n}" for site, n in ranked[:MAX_SOURCES_IN_MESSAGE]]
    if len(ranked) > MAX_SOURCES_IN_MESSAGE:
        parts.append(f"+{len(ranked) - MAX_SOURCES_IN_MESSAGE} more sources")
    noun = "post" if total == 1 else "posts"
    return f"newsmirror: {total} new {noun} ({', '.join(parts)})"


class _Git:
    """The git CLI, run in the archive with argument lists (never a shell)."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        # Never wait for a password prompt in an unattended run.
        self.env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}

    def run(self, *args: str, what: str, check: bool = True) -> str:
        try:
            proc = subprocess.run(
                ["git", "-c", "core.quotepath=off", *args],
                cwd=self.archive,
                env=self.env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=600,
            )
        except FileNotFoundError:
            raise PublishError("publish: the git command is not installed") from None
        except subprocess.TimeoutExpired:
            raise PublishError(f"{self.archive}: {what}: git took more than 10 minutes") from None
        if check and proc.returncode != 0:
            lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
            detail = next((ln for ln in lines if ln.lower().startswith(("fatal", "error"))), None)
            raise PublishError(f"{self.archive}: {what}: {detail or (lines or ['?'])[0]}")
        return proc.stdout if proc.returncode == 0 else ""

    def tracked(self, path: str) -> bool:
        return bool(self.run("ls-files", "--", path, what="git ls-files failed", check=False))

    def staged(self, paths: list[str]) -> list[tuple[str, str]]:
        """(status letter, path) of the staged changes under `paths`."""
        out = self.run(
            "diff", "--cached", "--relative", "--name-status", "-z", "--find-renames", "--", *paths,
            what="git diff failed",
        )  # fmt: skip
        fields = out.split("\0")
        changes: list[tuple[str, str]] = []
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i][0]
            width = 2 if status in "RC" else 1  # renames and copies name two paths
            changes.append((status, fields[i + width]))
            i += 1 + width
        return changes

    def push_remote(self) -> str | None:
        """The remote to push to: the branch's upstream, else origin, else the only one."""
        upstream = self.run(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}", what="", check=False
        ).strip()
        if upstream:
            return upstream.split("/", 1)[0]
        remotes = self.run("remote", what="git remote failed").split()
        if "origin" in remotes:
            return "origin"
        return remotes[0] if len(remotes) == 1 else None

    def ahead_of_upstream(self) -> bool:
        """Commits a failed push left behind are pushed by the next publish."""
        out = self.run("rev-list", "--count", "@{u}..HEAD", what="", check=False).strip()
        return out.isdigit() and int(out) > 0

    def push(self, remote: str) -> None:
        self.run(
            "push", "--quiet", "--set-upstream", remote, "HEAD", what=f"push to {remote} failed"
        )
