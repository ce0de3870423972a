"""The mirror list: `mirrors.html` and `mirrors.json`, written by every build.

When one address is blocked, readers need the others. Each mirror's base URL
comes from the archive's config (`[site] url` and the `base_url` of each
`[[publish.remotes]]`, read into `SiteConfig.mirrors`); every page's footer
links to mirrors.html and names the mirrors' hosts itself, so that a page
saved on its own still says where the others are. The config is part of the
build's stamp: a changed list re-renders every page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .config import UI_STRINGS, SiteConfig
from .output import root_of

MIRRORS_HTML = "mirrors.html"
MIRRORS_JSON = "mirrors.json"

PageWriter = Callable[[str, object, Callable[[], str]], None]


def mirrors_json(config: SiteConfig) -> str:
    """`{"title": ..., "mirrors": [{"name": ..., "url": ...}, ...]}`, for tools and scripts."""
    data = {"title": config.title,
            "mirrors": [{"name": name, "url": url} for name, url in config.mirrors]}  # fmt: skip
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def write_mirror_pages(page: PageWriter, env: Any, config: SiteConfig) -> None:
    """Add mirrors.html and mirrors.json to the build (`page` is the build's planner)."""
    sig = ("mirrors", config.mirrors, config.title)

    def html() -> str:
        return env.get_template(MIRRORS_HTML).render(
            site=config, t=UI_STRINGS[config.lang], lang=config.lang,
            title=UI_STRINGS[config.lang]["mirrors"], root=root_of(MIRRORS_HTML),
        )  # fmt: skip

    page(MIRRORS_HTML, sig, html)
    page(MIRRORS_JSON, sig, lambda: mirrors_json(config))
