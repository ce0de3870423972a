"""`newsmirror init --github-actions`: workflows for a mirror hosted on GitHub.

- ingest.yml: every 30 minutes, fetch the feeds that are due and commit and
  push only when something changed (a quiet hour is a green run, not a red one).
- pages.yml: build the site and deploy it to GitHub Pages, after each ingest
  and on pushes that touch the posts.
- retention.yml: weekly; moves old posts to archived/ when a policy is set
  (`retention_days` in newsmirror.toml), does nothing otherwise.

With `[[publish.remotes]]` in newsmirror.toml, the workflows push there too:
each remote's token comes from the repository secret named by its
`token_env`; the pages workflow gets a `mirrors` job, beside the Pages
deployment, that builds the site and pushes it to every `content = "site"`
remote (e.g. Codeberg Pages), so that a second host serves the same site.

All three share one concurrency group, so ingest, build and retention never
race on the repository. The state database is kept between runs with
actions/cache, not committed (see publish.py for why). Secrets (the proxy,
and any `${NAME}` newsmirror.toml uses) come from the repository's secrets,
never from a committed file.

Nothing named newsmirror is on PyPI, so the workflows install what
`--install` names: a version pin, a `git+https://...@TAG` or a path in the
repository; by default this newsmirror's own origin, as pip recorded it
(PEP 610 direct_url.json) or as its git checkout tells.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..archive.fsutil import atomic_write
from ..archive.remotes import PublishRemote, load_remotes
from ..models import ConfigError

CONCURRENCY_GROUP = "newsmirror"
WORKFLOW_DIR = Path(".github") / "workflows"

_HEADER = """\
# Written by `newsmirror init --github-actions`. Edit freely; --force overwrites.
"""

_INSTALL = """\
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install newsmirror
        run: python -m pip install "$NEWSMIRROR_PIP"
"""

_SETUP = (
    _INSTALL
    + """\
      - name: Restore the state database (dedupe keys, ETags, feed health)
        uses: actions/cache@v4
        with:
          path: .newsmirror/state.db
          key: newsmirror-state-${{ github.run_id }}-${{ github.run_attempt }}
          restore-keys: newsmirror-state-
"""
)

# For the jobs that read [settings] or [[feeds]] (run, retention): repository
# secrets, never newsmirror.toml, which is published.
_SECRETS = """\
    env:
      # Repository secrets (Settings > Secrets and variables > Actions): the proxy
      # with its password, and each NAME newsmirror.toml uses as ${NAME} (add a
      # line per NAME: newsmirror reads [settings] and [[feeds]] with them).
      NEWSMIRROR_PROXY: ${{ secrets.NEWSMIRROR_PROXY }}
"""

_COMMIT_IDENTITY = """\
          git config user.name "github-actions[bot]"
          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
"""

_CONCURRENCY = f"""\
concurrency:
  group: {CONCURRENCY_GROUP}
  cancel-in-progress: false
env:
  # What pip installs (newsmirror init --github-actions --install SPEC).
  NEWSMIRROR_PIP: @INSTALL@
"""

def _scheduled(name: str, cron: str, minutes: int, steps: str) -> str:
    """A workflow that runs `steps` on a schedule (or by hand), then commits and
    publishes what they changed."""
    return (
        _HEADER
        + f"""\
name: {name}
on:
  schedule:
    - cron: "{cron}"
  workflow_dispatch:
permissions:
  contents: write
"""
        + _CONCURRENCY
        + f"""\
jobs:
  {name}:
    runs-on: ubuntu-latest
    timeout-minutes: {minutes}
"""
        + _SECRETS
        + "    steps:\n"
        + _SETUP
        + steps
        + "        run: |\n"
        + _COMMIT_IDENTITY
        + "          newsmirror publish --archive .\n"
    )


INGEST = _scheduled(
    "ingest",
    "7,37 * * * *",
    50,
    """\
      - name: Fetch the feeds that are due
        run: newsmirror run --archive . --only-due
      - name: Re-check the originals that are due (deleted, edited, back)
        run: newsmirror recheck --archive .
      - name: Commit and push new posts (only when something changed)
""",
)

# A job's start, up to the built site in _site/ (the Pages build and the mirrors job).
_BUILD_SITE = (
    """\
    if: github.event_name != 'workflow_run' || github.event.workflow_run.conclusion == 'success'
    runs-on: ubuntu-latest
    timeout-minutes: 50
    steps:
"""
    + _INSTALL
    + """\
      - name: Build the site
        run: newsmirror build --archive . --out _site
"""
)

PAGES = (
    _HEADER
    + """\
name: pages
on:
  push:
    branches: [main]
    paths: ["_posts/**", "archived/**", ".newsmirror/history/**", "newsmirror.toml"]
  # Pushes made with GITHUB_TOKEN start no workflows, so follow ingest directly.
  workflow_run:
    workflows: [ingest]
    types: [completed]
  workflow_dispatch:
permissions:
  contents: read
  pages: write
  id-token: write
"""
    + _CONCURRENCY
    + """\
jobs:
  build:
"""
    + _BUILD_SITE
    + """\
      - uses: actions/configure-pages@v5
      - uses: actions/upload-pages-artifact@v3
        with:
          path: _site
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""
)

RETENTION = _scheduled(
    "retention",
    "23 3 * * 0",
    30,
    """\
      - name: Move old posts to archived/ (only if retention_days is set)
        run: newsmirror retention --archive .
      - name: Commit and push (only when something changed)
""",
)

WORKFLOWS = {"ingest.yml": INGEST, "pages.yml": PAGES, "retention.yml": RETENTION}

_MIRRORS_JOB = (
    """\
  mirrors:
    # The same site on the other hosts ([[publish.remotes]] with content = "site").
"""
    + _BUILD_SITE
    + """\
      - name: Push the site to {names}
        run: newsmirror publish --archive . --site _site
"""
)


def _secrets_env(remotes: list[PublishRemote], indent: str) -> str:
    """An `env:` block handing each remote its token from the repository's secrets."""
    names = sorted({r.token_env for r in remotes if r.token_env})
    if not names:
        return ""
    lines = [f"{indent}env:"] + [f"{indent}  {n}: ${{{{ secrets.{n} }}}}" for n in names]
    return "\n".join(lines) + "\n"


def workflows_for(remotes: list[PublishRemote]) -> dict[str, str]:
    """The workflow files, with the steps and secrets the configured remotes need."""
    pushed = [r for r in remotes if r.content == "archive"]
    served = [r for r in remotes if r.content == "site"]
    texts = dict(WORKFLOWS)
    publish_line = "          newsmirror publish --archive .\n"
    for name in ("ingest.yml", "retention.yml"):
        texts[name] = texts[name].replace(publish_line, publish_line + _secrets_env(pushed, " " * 8))
    if served:
        job = _MIRRORS_JOB.replace("{names}", ", ".join(r.name for r in served))
        texts["pages.yml"] += job + _secrets_env(served, " " * 8)
    return texts


def write_workflows(archive: Path, install: str, *, force: bool = False) -> list[Path]:
    """Write the workflows into ARCHIVE/.github/workflows/, installing
    newsmirror with `pip install INSTALL` (see `install_spec`). Refuses (and
    writes nothing) when one exists, unless `force`."""
    folder = archive / WORKFLOW_DIR
    texts = workflows_for(load_remotes(archive))
    # JSON's string syntax is valid YAML: any spec stays one scalar.
    value = json.dumps(install)
    targets = {folder / name: text.replace("@INSTALL@", value) for name, text in texts.items()}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(existing[0], "exists; use --force to overwrite the workflows")
    for path, text in targets.items():
        atomic_write(path, text)
    return list(targets)


# --- what the workflows install ---------------------------------------------------

_VERSION = re.compile(r"\d+(\.\d+)*([a-z]+\d*)?(\.post\d+)?(\.dev\d+)?")
_REQUIREMENT = re.compile(r"newsmirror\s*(\[[\w,\s-]+\])?\s*(==|>=|~=|<=|!=|<|>)", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")  # git@github.com:owner/repo.git


@dataclass(frozen=True)
class InstallSpec:
    spec: str  # what `pip install` gets
    origin: str  # how it was chosen, for the user


def install_spec(archive: Path, given: str | None) -> InstallSpec:
    """What the workflows pip-install: `given` when set (a version pin, a
    git+https:// URL with @TAG, or a path inside the archive's repository),
    else this newsmirror's own origin. A one-line ConfigError when it cannot
    be used or, by default, when this newsmirror's origin cannot be told."""
    if given is None:
        found = own_install_spec()
        if found is None:
            raise ConfigError(
                "init --github-actions",
                "cannot tell where this newsmirror was installed from (no git+https origin, "
                "no tag or commit; nothing named newsmirror is on PyPI): give --install SPEC, "
                "e.g. --install git+https://github.com/OWNER/newsmirror.git@v0.1.0",
            )
        return found
    given = given.strip()
    if _VERSION.fullmatch(given):
        return InstallSpec(f"newsmirror=={given}", "--install (a version)")
    if _REQUIREMENT.match(given):
        return InstallSpec(given, "--install (a version pin)")
    if given.startswith(("git+https://", "git+http://", "https://")):
        if given.startswith("git+") and "@" not in urlsplit(given).path:
            raise ConfigError(
                "--install", f"{given}: name a tag or commit (…/newsmirror.git@TAG), so that "
                "every run installs the same code",
            )  # fmt: skip
        return InstallSpec(given, "--install (a URL)")
    if "://" in given or given.startswith("git+"):
        raise ConfigError("--install", f"{given}: only git+https:// and https:// URLs work there")
    return InstallSpec(_repository_path(archive, Path(given)), "--install (a path)")


def _repository_path(archive: Path, path: Path) -> str:
    """`path` as the workflow sees it: relative to the checked-out repository."""
    root = archive.resolve()
    full = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not full.exists():
        raise ConfigError("--install", f"{path}: no such file or folder")
    if not full.is_relative_to(root):
        raise ConfigError(
            "--install", f"{path}: not inside the archive {root}, so the workflow's checkout "
            "will not have it",
        )  # fmt: skip
    return "./" + full.relative_to(root).as_posix()


def own_install_spec() -> InstallSpec | None:
    """This newsmirror's origin as a pip spec, from pip's record of the install
    (PEP 610 direct_url.json), or for an install from a local folder, from
    that folder's git origin and its tag or commit. None when it cannot tell."""
    try:
        dist = metadata.distribution("newsmirror")
    except metadata.PackageNotFoundError:
        return None
    raw = dist.read_text("direct_url.json")
    if raw is None:  # from an index: a plain version pin works
        return InstallSpec(f"newsmirror=={dist.version}", "the installed version, from an index")
    try:
        direct = json.loads(raw)
        url = str(direct["url"])
    except (ValueError, KeyError, TypeError):
        return None
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and url.startswith("https://"):
        rev = vcs.get("requested_revision") or vcs.get("commit_id")
        if rev:
            return InstallSpec(f"git+{url}@{rev}", "the git URL and revision pip installed it from")
    if url.startswith("file://"):
        return _from_checkout(Path(unquote(urlsplit(url).path)))
    if url.startswith("https://") and "archive_info" in direct:
        return InstallSpec(url, "the archive URL pip installed it from")
    return None


def _from_checkout(folder: Path) -> InstallSpec | None:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                                  text=True, timeout=30)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    remote = git("remote", "get-url", "origin")
    url = _https_url(remote) if remote else None
    rev = git("describe", "--tags", "--exact-match", "HEAD") or git("rev-parse", "HEAD")
    if url is None or rev is None:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no")
    note = f"this checkout's origin and {'tag' if not _is_hash(rev) else 'commit'}"
    if dirty:
        note += " (it has uncommitted changes, which the workflow will not have)"
    return InstallSpec(f"git+{url}@{rev}", note + "; push it first")


def _https_url(remote: str) -> str | None:
    """An https URL for a git remote, if it has one: scp-like and ssh:// remotes
    of a host are mapped to https on the same host and path."""
    scp = _SCP_LIKE.match(remote)
    if scp:
        return f"https://{scp.group(1)}/{scp.group(2)}"
    parts = urlsplit(remote)
    if parts.scheme == "https":
        return remote
    if parts.scheme in ("ssh", "git") and parts.hostname:
        return f"https://{parts.hostname}{parts.path}"
    return None  # a local path or file:// remote: the workflow cannot reach it


def _is_hash(rev: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{40}", rev) is not None
