"""Ending a group of asyncio tasks when one of them, or their caller, fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def cancel_and_wait(tasks: Sequence[asyncio.Future[object]]) -> None:
    """Cancel every task still running and wait until all have ended, their
    failures swallowed: the caller re-raises the one that stopped it.

    Callers do this by hand rather than use asyncio.TaskGroup, which wraps the
    failure in an ExceptionGroup: a run's one-line errors reach the user as
    they are.
    """
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
