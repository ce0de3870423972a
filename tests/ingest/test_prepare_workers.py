"""Worker processes that die: the run goes on in the main process and ends.

CPython's process pool can wait for ever after a worker is killed (a result
half written into its pipe; a task being written that nobody reads). These
tests put a pool in those states on purpose, in a child interpreter, and ask
that `Workers.prepare` still answers and that the interpreter then exits.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCENARIO = textwrap.dedent(
    """
    import asyncio, os, signal, struct, sys
    from datetime import UTC, datetime
    sys.path.insert(0, {tests!r})
    from feeds import rss, rss_item
    from newsmirror.ingest.prepare import Workers

    BODY = rss([rss_item(title=f"第{{i}}条", link=f"https://n.example/{{i}}",
                         content_encoded="<p>" + "正文" * 2000 + "</p>") for i in range(40)])
    ARGS = dict(body=BODY, url="http://127.0.0.1:9/f.xml", content_type=None,
                feed_url="http://127.0.0.1:9/f.xml", site="s", now=datetime.now(UTC),
                render_as="raw")

    async def main(how):
        workers = Workers(2)
        first = await workers.prepare(**ARGS)  # the pool is up and works
        assert len(first.items) == 40
        pool = workers._pool
        pids = list(pool._processes)
        if how == "half-written result":
            # What a worker killed while writing its result leaves: a length
            # header and part of the message. The pool's reader then waits for the rest.
            pool._result_queue._writer._send(struct.pack("!i", 1 << 20) + b"x" * 100)
            await asyncio.sleep(0.5)
        # Many tasks queued (large bodies: the task pipe fills up), then a worker dies.
        calls = [asyncio.ensure_future(workers.prepare(**ARGS)) for _ in range(30)]
        await asyncio.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)
        done = await asyncio.wait_for(asyncio.gather(*calls), 120)
        assert all(len(d.items) == 40 for d in done)
        assert workers.processes == 0  # the rest ran in this process
        after = await workers.prepare(**ARGS)
        assert len(after.items) == 40
        workers.close()
        print("ok", flush=True)

    if __name__ == "__main__":  # not in the spawned workers, which import this file
        asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["killed worker", "half-written result"])
def test_a_dead_worker_neither_loses_calls_nor_hangs_the_exit(how: str, tmp_path) -> None:
    from pathlib import Path

    tests = str(Path(__file__).resolve().parents[1])
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO.format(tests=tests))
    done = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True,
                          timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
