"""Which items are new. An item is known by its keys (`item_keys`) and is new
only if none of them has been seen in the archive or earlier in the run:
exact matches on the canonical link and on the guid, never substrings (the
old generator's substring test skipped prefixes of seen URLs). `RunClaims`
makes that decision for a whole run, in subscription order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from ..util.urls import canonical_url, is_http_url


def primary_key(href: str) -> str:
    """The key of a post's link (its `from:`)."""
    try:
        return "url:" + canonical_url(href)
    except ValueError:
        return "url:" + href.strip()


def item_keys(href: str, guid: str | None, feed_url: str) -> list[str]:
    """All keys of an item: its link, and its guid (a URL guid counts as a link;
    any other guid is only unique within its feed)."""
    keys = [primary_key(href)]
    guid = (guid or "").strip()
    if guid:
        key = primary_key(guid) if is_http_url(guid) else f"guid:{feed_url}\t{guid}"
        if key not in keys:
            keys.append(key)
    return keys


# --- deciding, once per run, which items are new ---------------------------------

T = TypeVar("T")


class Claim:
    """A new item of the run, claimed in the run's order. Its post file is
    written only after the earlier new item whose file name it shares (if any,
    from another feed) has been written, so that `-2` goes to the same item in
    every run; `done()` frees the items waiting on this one.

    A run makes one per new item (15,000 on a cold run of 300 feeds), so it
    is small: a waiter is made only when one has to wait."""

    __slots__ = ("feed", "after", "_done", "_waiters", "_names", "_name")

    def __init__(self, feed: int, after: Claim | None, names: dict[str, Claim], name: str) -> None:
        self.feed = feed  # the feed's place in the subscription order
        self.after = after  # the earlier claim with the same file name, or None
        self._done = False
        self._waiters: list[asyncio.Future[None]] | None = None
        self._names, self._name = names, name  # to leave the book when done

    def waits(self) -> bool:
        """Must this item's post wait (`turn`) before it is written? Only for
        an earlier item of another feed with this file name, not yet written
        (an earlier item of the same feed is written first anyway, in the
        feed's order)."""
        after = self.after
        return after is not None and after.feed != self.feed and not after._done

    async def turn(self) -> None:
        """Wait until the earlier item this one `waits` for is written."""
        if not self.waits():
            return
        after = self.after
        assert after is not None
        waiter = asyncio.get_running_loop().create_future()
        after._waiters = [*(after._waiters or ()), waiter]
        await waiter

    def done(self) -> None:
        """The post is written, or will not be: either frees those waiting."""
        if self._done:
            return
        self._done = True
        self.after = None
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
        self._waiters = None
        if self._names.get(self._name) is self:
            del self._names[self._name]  # a later item of this name need not wait


class RunClaims:
    """Which items of a run are new: decided in one place, in subscription order.

    Feeds are fetched and parsed concurrently and finish in any order, but an
    item is new only if none of its keys (`item_keys`) was seen in the
    archive (`seen_of`, the state database) or claimed earlier in the run,
    and "earlier" means: by a feed earlier in the subscription list, or by an
    earlier item of the same feed (the feed's items in the order it writes
    them, oldest first). To make that order independent of which feed
    finishes first, feed *i* decides (`claim`) only when every feed before it
    has decided or dropped out (`pass_turn`: not modified, failed, skipped).
    A feed waiting for its turn holds no fetch slot, and its deadline clock
    does not run (see `ingest.pipeline`). The decision is synchronous: nothing can
    interleave between checking a key and claiming it.

    File names are ordered the same way: each new item's `Claim` points at
    the claim before it whose post file name is the same (after any `-N`),
    and waits for it before its own post is written; file names then come
    out the same whatever order feeds finish in.

    So two runs over the same feed documents write the same posts under the
    same names, and no key is written twice, also within one feed. Keys of an
    item that was claimed but then not written (a write error, a stopped run)
    stay unseen in the state database, and the next run decides again.
    """

    def __init__(self, feeds: int, seen_of: Callable[[Iterable[str]], set[str]]) -> None:
        self._seen_of = seen_of
        self._passed = [False] * feeds
        self._next = 0  # the first feed that has not decided yet
        self._reached = [asyncio.Event() for _ in range(feeds)]
        if feeds:
            self._reached[0].set()
        self._claimed: set[str] = set()
        self._names: dict[str, Claim] = {}  # file name key -> its latest claim

    def unseen(self, items: Sequence[T], keys_of: Callable[[T], Sequence[str]]) -> list[T]:
        """The items none of whose keys is in the archive already (one query).
        Safe at any time, as the database gains only keys this run has
        claimed; so a feed can drop its seen items before it waits for its
        turn, and wait holding only the rest."""
        seen = self._seen_of(k for item in items for k in keys_of(item))
        return [item for item in items if seen.isdisjoint(keys_of(item))]

    async def turn(self, feed: int) -> None:
        """Wait until every feed before `feed` has decided or dropped out."""
        await self._reached[feed].wait()

    def claim(
        self,
        feed: int,
        items: Sequence[T],
        keys_of: Callable[[T], Sequence[str]],
        name_of: Callable[[T], str],
    ) -> list[tuple[T, Claim]]:
        """The new ones of `items` (which `unseen` returned), in their order,
        with their claims: those none of whose keys an earlier feed, or an
        earlier item of this one, claimed. Passes the feed's turn; call after
        `turn(feed)`."""
        if self._next != feed:
            raise RuntimeError(f"feed {feed} claimed out of turn (turn of {self._next})")
        new: list[tuple[T, Claim]] = []
        for item in items:
            keys = keys_of(item)
            if not self._claimed.isdisjoint(keys):
                continue
            self._claimed.update(keys)
            name = name_key(name_of(item))
            claim = Claim(feed, self._names.get(name), self._names, name)
            self._names[name] = claim
            new.append((item, claim))
        self.pass_turn(feed)
        return new

    def pass_turn(self, feed: int) -> None:
        """`feed` is done deciding (or has nothing to decide); idempotent."""
        if self._passed[feed]:
            return
        self._passed[feed] = True
        while self._next < len(self._passed) and self._passed[self._next]:
            self._next += 1
        if self._next < len(self._passed):
            self._reached[self._next].set()


def name_key(filename: str) -> str:
    """Posts whose file names could take each other's place: the same name up
    to case and a `-N` suffix (`PostWriter` numbers a taken name)."""
    key = filename.casefold()
    stem, dash, number = key.removesuffix(".md").rpartition("-")
    return f"{stem}.md" if dash and number.isdigit() else key
