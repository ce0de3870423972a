"""`newsmirror publish`: commit what runs added to the archive, then push.

Only the archive's content is committed: `_posts/`, `archived/`, `assets/`,
the originals' history (`.newsmirror/history/`: events and text versions, one
small JSON file per watched post) and the subscription and config files. The
state database (`.newsmirror/state.db`) is not: it changes on every run, and a
binary file committed every half hour bloats a repository for ever. On
GitHub Actions the workflow keeps it with actions/cache instead; if that
cache is ever lost, the first run rebuilds the dedupe keys from `_posts/`,
`archived/` and `allurls.dat`, so nothing is mirrored twice (only ETags and
feed health start afresh).

With `[[publish.remotes]]` in newsmirror.toml (archive/remotes.py) the commit
is pushed to every one of them, in parallel, each with its own result: one
host refusing or unreachable does not stop the others. Without it, the push
goes to the branch's upstream (or origin) as before.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from ..archive.credentials import refuse_published_secrets
from ..archive.fsutil import ArchiveLock
from ..archive.remotes import PublishRemote, load_remotes, without_userinfo
from ..models import NewsmirrorError

PUBLISHED_PATHS = (
    "_posts", "archived", "assets", ".newsmirror/history", "subs.json", "allurls.dat",
    "newsmirror.toml",
)  # fmt: skip
# Files a user writes URLs into: publish refuses to commit one holding a password.
SECRET_FREE = ("newsmirror.toml", "subs.json")
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
    remotes: list[RemotePush] = field(default_factory=list)  # with [[publish.remotes]]

    @property
    def failed_remotes(self) -> list[RemotePush]:
        return [r for r in self.remotes if r.status == "failed"]


@dataclass(frozen=True)
class RemotePush:
    """What one push to one of the `[[publish.remotes]]` did."""

    name: str
    status: Literal["pushed", "up to date", "failed"]
    detail: str  # "a1b2c3d to main", or why it failed (one line)

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.name}: FAILED: {self.detail}"
        return f"{self.name}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def publish_site(archive: Path, site: Path) -> PublishResult:
    """Push the built site folder `site` to every `content = "site"` remote, as
    one commit replacing that branch (force): the branch holds the site as
    served, its history is the archive's. The archive's own branch and index
    are not touched (the commit is made with a temporary index)."""
    archive, site = archive.resolve(), site.resolve()
    remotes = [r for r in load_remotes(archive) if r.content == "site"]
    if not remotes:
        raise PublishError(f"{archive}: no [[publish.remotes]] with content = \"site\"")
    if not (site / "index.html").is_file():
        raise PublishError(f"{site}: no index.html: build the site first (newsmirror build)")
    git = _Git(archive)
    git.run("rev-parse", "--show-toplevel", what="not a git repository")
    commit = git.site_commit(site)
    result = PublishResult(committed=True, message=f"site {commit[:7]} from {site}", commit=commit)
    result.remotes = push_to_remotes(git, remotes, head=commit, force=True)
    result.pushed = any(r.status == "pushed" for r in result.remotes)
    return result


def publish(archive: Path, *, push: bool = True) -> PublishResult:
    """Commit the archive's new and changed files with a message counting the
    new posts per source; then, if `push`, push to each `[[publish.remotes]]`
    (failures are in `result.remotes`, not raised), or, when none is
    configured, to the branch's upstream or origin (a failure raises)."""
    archive = archive.resolve()
    remotes = load_remotes(archive)  # a config error stops before anything is committed
    git = _Git(archive)
    git.run("rev-parse", "--show-toplevel", what="not a git repository")
    with ArchiveLock(archive):
        for name in SECRET_FREE:  # before anything is staged
            refuse_published_secrets(archive / name)
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
    remotes = [r for r in remotes if r.content == "archive"]  # "site" ones: publish_site
    if push and remotes:
        result.remotes = push_to_remotes(git, remotes)
        result.pushed = any(r.status == "pushed" for r in result.remotes)
    elif push:
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

    def call(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run git; raises PublishError only when git cannot be run at all."""
        try:
            return subprocess.run(
                ["git", "-c", "core.quotepath=off", *args],
                cwd=self.archive,
                env={**self.env, **(env or {})},
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
            )
        except FileNotFoundError:
            raise PublishError("publish: the git command is not installed") from None

    def run(self, *args: str, what: str, check: bool = True) -> str:
        try:
            proc = self.call(*args)
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

    def site_commit(self, site: Path) -> str:
        """A commit of every file under `site` (no parent), made with a temporary
        index so that the archive's own index and branches stay as they are."""
        git_dir = self.run("rev-parse", "--absolute-git-dir", what="git rev-parse failed").strip()
        where = ("-C", str(site), "--git-dir", git_dir, "--work-tree", ".")
        with tempfile.TemporaryDirectory(prefix="newsmirror-site-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            steps = (
                ("add", "--all", "--force", "--", ".", ":(exclude).newsmirror-stamp"),
                ("write-tree",),
            )
            for step in steps:
                proc = self.call(*where, *step, env=env)
                if proc.returncode != 0:
                    problem = (proc.stderr.strip().splitlines() or ["?"])[0]
                    raise PublishError(f"{site}: git {step[0]} failed: {problem}")
        tree = proc.stdout.strip()
        # A machine-made snapshot: it needs no configured git identity (CI has none).
        who = {f"GIT_{role}_{part}": value for role in ("AUTHOR", "COMMITTER")
               for part, value in (("NAME", "newsmirror"), ("EMAIL", "newsmirror@localhost"))}  # fmt: skip
        commit = self.call("commit-tree", tree, "-m", "newsmirror: the built site", env=who)
        if commit.returncode != 0:
            problem = (commit.stderr.strip().splitlines() or ["?"])[0]
            raise PublishError(f"{site}: git commit-tree failed: {problem}")
        return commit.stdout.strip()

    def push(self, remote: str) -> None:
        self.run(
            "push", "--quiet", "--set-upstream", remote, "HEAD", what=f"push to {remote} failed"
        )


# --- many remotes -------------------------------------------------------------

# A token reaches git through this helper from the environment of the push
# only: never in the command line (visible in `ps`), the URL or a file.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || return 0; echo "username=$NEWSMIRROR_GIT_USERNAME"; '
    'echo "password=$NEWSMIRROR_GIT_PASSWORD"; }; f'
)
# A host that stops answering fails its push after a minute, not after 10.
_STALL = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60")
MAX_PARALLEL_PUSHES = 4
PUSH_TIMEOUT = 600.0


def push_to_remotes(
    git: _Git, remotes: list[PublishRemote], *, head: str | None = None, force: bool = False
) -> list[RemotePush]:
    """Push `head` (default HEAD) to every remote, in parallel; results in the remotes' order."""
    if head is None:
        head = git.run("rev-parse", "--verify", "-q", "HEAD", what="", check=False).strip()
    if not head:
        return [RemotePush(r.name, "failed", "nothing to push: no commit yet") for r in remotes]
    current = git.run("symbolic-ref", "-q", "--short", "HEAD", what="", check=False).strip()
    with ThreadPoolExecutor(min(MAX_PARALLEL_PUSHES, len(remotes))) as pool:
        return list(pool.map(lambda r: _push_one(git, r, head, current, force), remotes))


def _push_one(
    git: _Git, remote: PublishRemote, head: str, current: str, force: bool = False
) -> RemotePush:
    branch = remote.branch or current
    if not branch:
        return RemotePush(remote.name, "failed", "HEAD is detached: set its branch in the config")
    # Where this remote was last pushed to (by URL and branch): a quiet hour
    # costs no network round trip, and a failed push is retried next time.
    key = hashlib.sha1(f"{remote.url}\0{branch}".encode()).hexdigest()[:12]
    record = f"refs/newsmirror/pushed/{remote.name}-{key}"
    if git.run("rev-parse", "-q", "--verify", record, what="", check=False).strip() == head:
        return RemotePush(remote.name, "up to date", branch)
    args: list[str] = [*_STALL]
    env: dict[str, str] = {}
    if remote.token_env:
        token = os.environ.get(remote.token_env)
        if not token:
            return RemotePush(
                remote.name, "failed", f"the environment variable {remote.token_env} is not set"
            )
        env = {"NEWSMIRROR_GIT_USERNAME": remote.username, "NEWSMIRROR_GIT_PASSWORD": token}
        args += ["-c", "credential.helper=", "-c", f"credential.helper={_CREDENTIAL_HELPER}"]
    refspec = f"{'+' if force else ''}{head}:refs/heads/{branch}"
    try:
        proc = git.call(*args, "push", "--porcelain", remote.url, refspec, env=env,
                        timeout=PUSH_TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired:
        return RemotePush(remote.name, "failed", f"no answer in {PUSH_TIMEOUT:.0f} s")
    if proc.returncode != 0:
        return RemotePush(remote.name, "failed", push_failure(proc.stdout, proc.stderr, remote))
    git.run("update-ref", record, head, what="git update-ref failed")
    if "[up to date]" in proc.stdout:
        return RemotePush(remote.name, "up to date", branch)
    return RemotePush(remote.name, "pushed", f"{head[:7]} to {branch}")


def push_failure(stdout: str, stderr: str, remote: PublishRemote) -> str:
    """One line saying why git's push failed: the ref's rejection and what the
    remote said, else git's own complaint."""
    where = without_userinfo(remote.url)
    rejected = ""
    for line in stdout.splitlines():  # --porcelain: "!<TAB>from:to<TAB>summary (reason)"
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "!":
            rejected = fields[2].strip()
    said = [ln[len("remote:") :].strip() for ln in stderr.splitlines() if ln.startswith("remote:")]
    said = [ln for ln in said if ln]
    if rejected:
        return f"{where}: {rejected}" + (f"; the remote said: {said[0]}" if said else "")
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    detail = next((ln for ln in lines if ln.lower().startswith(("fatal", "error"))), None)
    return f"{where}: {detail or (lines or ['git push failed'])[0]}"
