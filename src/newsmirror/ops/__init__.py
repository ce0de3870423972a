"""Operating a mirror: the watch loop (`watch`), feed health (`status`), git
publishing (`publish`) and GitHub Actions workflows (`workflows`).

May import: `newsmirror.ingest`, `newsmirror.site`, `newsmirror.archive`,
`newsmirror.models`, `newsmirror.util`. Not the cli.
"""
