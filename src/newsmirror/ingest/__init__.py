"""Ingest: the stages that turn feeds into new posts.

fetch -> parse (feedparser, with an lxml fast path inside) -> extract (full
text from article pages, with per-site rules) -> the archive's sanitizer ->
dedupe and posts. `pipeline.run` drives them over all feeds of a run
(`prepare` moves parsing into worker processes on large runs), `images`
mirrors a post's images, `schedule` decides each feed's next check and
`report` is what a run tells its user.

May import: `newsmirror.archive`, `newsmirror.models`, `newsmirror.util`.
Not the site, ops or cli.
"""
