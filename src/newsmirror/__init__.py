"""newsmirror: mirror news and blog feeds into a self-hosted archive of Jekyll
posts, and build a fast static site of it.

The public API, which the command line uses too::

    from pathlib import Path
    import newsmirror

    archive = Path("mirror")
    newsmirror.init_archive(archive)            # newsmirror.toml and an empty subs.json
    feed = newsmirror.find_feed("https://example.com/blog/")   # the feed its page links
    newsmirror.add_subscription(archive, newsmirror.Subscription(feed.title or "blog", feed.url))
    report = newsmirror.mirror(archive)         # fetch every feed once -> _posts/
    print(report.summary_line())
    site = newsmirror.build_site(archive)       # -> mirror/_site/, works from file://

Everything listed in `__all__` is importable from here. Names are loaded on
first use, so that `import newsmirror` stays cheap: a site build never pays
for importing the HTTP stack (aiohttp alone takes ~0.2 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> "module:attribute"
_EXPORTS = {
    # mirroring feeds
    "mirror": "newsmirror.ingest.pipeline:run",
    "RunOptions": "newsmirror.ingest.pipeline:RunOptions",
    "RunReport": "newsmirror.ingest.report:RunReport",
    "FeedOutcome": "newsmirror.ingest.report:FeedOutcome",
    "parse_feed": "newsmirror.ingest.parse:parse_feed",
    "find_feed": "newsmirror.ingest.discover:find_feed",
    "FoundFeed": "newsmirror.ingest.discover:FoundFeed",
    "extract_article": "newsmirror.ingest.extract:extract_article",
    # watching the originals
    "recheck": "newsmirror.ingest.recheck:recheck",
    "RecheckOptions": "newsmirror.ingest.recheck:RecheckOptions",
    "RecheckReport": "newsmirror.ingest.recheck_report:RecheckReport",
    "RecheckEvent": "newsmirror.ingest.recheck_report:RecheckEvent",
    "removal_notice": "newsmirror.ingest.notices:removal_notice",
    "load_history": "newsmirror.archive.history:load_history",
    "iter_histories": "newsmirror.archive.history:iter_histories",
    # the archive
    "load_settings": "newsmirror.archive.config:load_settings",
    "Settings": "newsmirror.archive.config:Settings",
    "load_subscriptions": "newsmirror.archive.subscriptions:load_subscriptions",
    "add_subscription": "newsmirror.archive.subscriptions:add_subscription",
    "remove_subscription": "newsmirror.archive.subscriptions:remove_subscription",
    "import_opml": "newsmirror.archive.subscriptions:import_opml",
    "to_opml": "newsmirror.archive.subscriptions:to_opml",
    "render_post": "newsmirror.archive.posts:render_post",
    "sanitize_html": "newsmirror.archive.sanitize:sanitize_html",
    "apply_retention": "newsmirror.archive.retention:apply_retention",
    "ArchiveLock": "newsmirror.archive.fsutil:ArchiveLock",
    "load_remotes": "newsmirror.archive.remotes:load_remotes",
    "PublishRemote": "newsmirror.archive.remotes:PublishRemote",
    # the site
    "build_site": "newsmirror.site.build:build_site",
    "BuildReport": "newsmirror.site.build:BuildReport",
    "init_jekyll": "newsmirror.site.jekyll:init_jekyll",
    "load_site_config": "newsmirror.site.config:load_site_config",
    "bundle_site": "newsmirror.site.bundle:bundle_site",
    "BundleReport": "newsmirror.site.bundle:BundleReport",
    "write_digest": "newsmirror.site.digest:write_digest",
    "collect_digest": "newsmirror.site.digest:collect_digest",
    "Digest": "newsmirror.site.digest:Digest",
    "write_epub": "newsmirror.site.epub:write_epub",
    # operating a mirror
    "init_archive": "newsmirror.ops.init:init_archive",
    "check_archive": "newsmirror.ops.init:check_archive",
    "feed_health": "newsmirror.ops.status:feed_health",
    "enable_feed": "newsmirror.ops.status:enable_feed",
    "watch": "newsmirror.ops.watch:watch",
    "publish": "newsmirror.ops.publish:publish",
    "publish_site": "newsmirror.ops.publish:publish_site",
    "PublishResult": "newsmirror.ops.publish:PublishResult",
    "RemotePush": "newsmirror.ops.publish:RemotePush",
    "write_workflows": "newsmirror.ops.workflows:write_workflows",
    # records and errors
    "Subscription": "newsmirror.models:Subscription",
    "FeedOptions": "newsmirror.models:FeedOptions",
    "Entry": "newsmirror.models:Entry",
    "ParsedFeed": "newsmirror.models:ParsedFeed",
    "Post": "newsmirror.models:Post",
    "FetchResult": "newsmirror.models:FetchResult",
    "NewsmirrorError": "newsmirror.models:NewsmirrorError",
    "ConfigError": "newsmirror.models:ConfigError",
    "FeedError": "newsmirror.models:FeedError",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'newsmirror' has no attribute {name!r}")
    module, attribute = target.split(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from .archive.config import Settings, load_settings
    from .archive.fsutil import ArchiveLock
    from .archive.history import iter_histories, load_history
    from .archive.posts import render_post
    from .archive.remotes import PublishRemote, load_remotes
    from .archive.retention import apply_retention
    from .archive.sanitize import sanitize_html
    from .archive.subscriptions import (
        add_subscription,
        import_opml,
        load_subscriptions,
        remove_subscription,
        to_opml,
    )
    from .ingest.discover import FoundFeed, find_feed
    from .ingest.extract import extract_article
    from .ingest.notices import removal_notice
    from .ingest.parse import parse_feed
    from .ingest.pipeline import RunOptions
    from .ingest.pipeline import run as mirror
    from .ingest.recheck import RecheckOptions, recheck
    from .ingest.recheck_report import RecheckEvent, RecheckReport
    from .ingest.report import FeedOutcome, RunReport
    from .models import (
        ConfigError,
        Entry,
        FeedError,
        FeedOptions,
        FetchResult,
        NewsmirrorError,
        ParsedFeed,
        Post,
        Subscription,
    )
    from .ops.init import check_archive, init_archive
    from .ops.publish import PublishResult, RemotePush, publish, publish_site
    from .ops.status import enable_feed, feed_health
    from .ops.watch import watch
    from .ops.workflows import write_workflows
    from .site.build import BuildReport, build_site
    from .site.bundle import BundleReport, bundle_site
    from .site.config import load_site_config
    from .site.digest import Digest, collect_digest, write_digest
    from .site.epub import write_epub
    from .site.jekyll import init_jekyll
