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
actions/cache, not committed (see publish.py for why).
"""

from __future__ import annotations

from pathlib import Path

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

_COMMIT_IDENTITY = """\
          git config user.name "github-actions[bot]"
          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
"""

_CONCURRENCY = f"""\
concurrency:
  group: {CONCURRENCY_GROUP}
  cancel-in-progress: false
env:
  # What pip installs: pin a version, or use git+https://... for a fork.
  NEWSMIRROR_PIP: newsmirror
"""

INGEST = (
    _HEADER
    + """\
name: ingest
on:
  schedule:
    - cron: "7,37 * * * *"
  workflow_dispatch:
permissions:
  contents: write
"""
    + _CONCURRENCY
    + """\
jobs:
  ingest:
    runs-on: ubuntu-latest
    timeout-minutes: 50
    steps:
"""
    + _SETUP
    + """\
      - name: Fetch the feeds that are due
        run: newsmirror run --archive . --only-due
      - name: Re-check the originals that are due (deleted, edited, back)
        run: newsmirror recheck --archive .
      - name: Commit and push new posts (only when something changed)
        run: |
"""
    + _COMMIT_IDENTITY
    + """\
          newsmirror publish --archive .
"""
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

RETENTION = (
    _HEADER
    + """\
name: retention
on:
  schedule:
    - cron: "23 3 * * 0"
  workflow_dispatch:
permissions:
  contents: write
"""
    + _CONCURRENCY
    + """\
jobs:
  retention:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
"""
    + _SETUP
    + """\
      - name: Move old posts to archived/ (only if retention_days is set)
        run: newsmirror retention --archive .
      - name: Commit and push (only when something changed)
        run: |
"""
    + _COMMIT_IDENTITY
    + """\
          newsmirror publish --archive .
"""
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


def write_workflows(archive: Path, *, force: bool = False) -> list[Path]:
    """Write the workflows into ARCHIVE/.github/workflows/. Refuses (and writes
    nothing) when one exists, unless `force`."""
    folder = archive / WORKFLOW_DIR
    texts = workflows_for(load_remotes(archive))
    targets = {folder / name: text for name, text in texts.items()}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(existing[0], "exists; use --force to overwrite the workflows")
    for path, text in targets.items():
        atomic_write(path, text)
    return list(targets)
