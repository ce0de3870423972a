"""The archive: what a mirror holds on disk and the rules it keeps.

Owns the post format (`posts`), the HTML a post may hold (`sanitize`), the
keys an item is known by (`dedupe`), the state database (`store`), file
safety and the archive lock (`fsutil`), moving old posts aside
(`retention`), the subscription list (`subscriptions`) and the settings of
`newsmirror.toml` (`config`).

May import: `newsmirror.models`, `newsmirror.util`. Nothing above it (no
ingest, site, ops or cli).
"""
