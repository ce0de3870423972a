"""`watch` re-checks the originals on its own schedule ([recheck] every)."""

from __future__ import annotations

import json

from originals import Site, loopback_toml

from newsmirror.ops.watch import watch


def last_recheck(site: Site) -> dict | None:
    path = site.archive / ".newsmirror" / "reports" / "last-recheck.json"
    return json.loads(path.read_text()) if path.is_file() else None


def test_watch_rechecks_the_originals_after_its_run(server, archive):
    site = Site(server, archive, n=2)
    site.server.route(site.path(1), "", status=404)
    assert watch(archive, 0.01, max_runs=1) == 1
    report = last_recheck(site)
    assert report is not None
    assert report["summary"]["checked"] == 2 and report["summary"]["suspected"] == 1


def test_watch_rechecks_no_more_often_than_every(server, archive):
    site = Site(server, archive, n=1, extra_toml='every = "1h"')
    toml = (archive / "newsmirror.toml").read_text(encoding="utf-8")
    toml = toml.replace("[settings]\n", '[settings]\nfulltext = "never"\n')  # only rechecks fetch pages
    (archive / "newsmirror.toml").write_text(toml, encoding="utf-8")
    assert watch(archive, 0.01, max_runs=3) == 3
    page_requests = [r for r in server.requests if r.path == site.path(0)]
    assert len(page_requests) == 1  # three ticks, one recheck


def test_watch_does_not_recheck_when_it_is_off(server, archive):
    site = Site(server, archive, n=1)
    (archive / "newsmirror.toml").write_text(loopback_toml('every = "off"'), encoding="utf-8")
    assert watch(archive, 0.01, max_runs=1) == 1
    assert last_recheck(site) is None
