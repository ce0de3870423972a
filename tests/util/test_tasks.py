"""cancel_and_wait: the tasks left running when one fails are ended, not leaked."""

from __future__ import annotations

import asyncio

import pytest

from newsmirror.util.tasks import cancel_and_wait


class DiskFull(Exception):
    pass


async def _fails_soon() -> None:
    await asyncio.sleep(0.01)
    raise DiskFull("no space left")


async def _runs_until_cancelled(ended: list[str], name: str) -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        ended.append(name)


def test_the_others_are_cancelled_and_the_failure_is_raised_unwrapped() -> None:
    ended: list[str] = []

    async def main() -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(_runs_until_cancelled(ended, "a")),
                 asyncio.create_task(_fails_soon()),
                 asyncio.create_task(_runs_until_cancelled(ended, "b"))]  # fmt: skip
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            await asyncio.wait_for(cancel_and_wait(tasks), 10)  # a hang is a failure
            # Ended here, not later by asyncio.run's own clean-up.
            assert sorted(ended) == ["a", "b"]
            raise
        return tasks

    with pytest.raises(DiskFull, match="no space left"):
        asyncio.run(main())


def test_finished_tasks_keep_their_results() -> None:
    async def main() -> tuple[asyncio.Task[int], asyncio.Task[None]]:
        async def answer() -> int:
            return 42

        done = asyncio.create_task(answer())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        pending = asyncio.create_task(asyncio.sleep(3600))
        await asyncio.wait_for(cancel_and_wait([done, pending]), 10)
        return done, pending

    done, pending = asyncio.run(main())
    assert done.result() == 42
    assert pending.cancelled()
