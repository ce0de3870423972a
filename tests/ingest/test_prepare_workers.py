"""Worker processes that die: the run goes on in the main process and ends.

Each scenario runs in a child interpreter, so that a hang shows as a timeout
and the interpreter's exit is part of what is checked.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCENARIO = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import UTC, datetime
    sys.path.insert(0, {tests!r})
    from feeds import rss, rss_item
    from newsmirror.ingest.prepare import DEPTH, _HEADER, WorkerDied, Workers, _Worker, _frame
    from newsmirror.models import FeedError

    BODY = rss([rss_item(title=f"第{{i}}条", link=f"https://n.example/{{i}}",
                         content_encoded="<p>" + "正文" * 2000 + "</p>") for i in range(40)])
    ARGS = dict(body=BODY, url="http://127.0.0.1:9/f.xml", content_type=None,
                feed_url="http://127.0.0.1:9/f.xml", site="s", now=datetime.now(UTC),
                render_as="raw")

    def half_reply(sock, parent):
        sock.sendall(_frame(("ready", None)))
        sock.recv(1)  # a call comes
        sock.sendall(_HEADER.pack(1 << 20) + b"x" * 100)
        os._exit(0)

    async def killed_worker():
        workers = Workers(2)
        first = await workers.prepare(**ARGS)  # a worker is up and works
        assert len(first.items) == 40
        # Many calls waiting for the workers, then a worker with calls dies.
        calls = [asyncio.ensure_future(workers.prepare(**ARGS)) for _ in range(30)]
        await asyncio.sleep(0.05)
        started = list(workers._workers)
        busiest = max(started, key=lambda w: w.load)
        assert busiest.load == DEPTH  # its next call was sent before it ended one
        os.kill(busiest.process.pid, signal.SIGKILL)
        done = await asyncio.wait_for(asyncio.gather(*calls), 120)
        assert all(len(d.items) == 40 for d in done)
        assert workers.processes == 0  # the rest ran in this process
        after = await workers.prepare(**ARGS)
        assert len(after.items) == 40
        workers.close()
        for _ in range(100):  # the other worker was stopped too
            if not any(w.process.is_alive() for w in started):
                break
            await asyncio.sleep(0.05)
        assert [w for w in started if w.process.is_alive()] == []

    async def half_written_reply():
        # The worker dies after half a reply: the reader must see end of file,
        # not wait for the rest (it waits for ever if this process kept the
        # worker's end of the socket).
        worker = _Worker(serve=half_reply)
        try:
            await asyncio.wait_for(worker.call(ARGS), 60)
        except WorkerDied:
            pass
        else:
            raise AssertionError("a half-written reply was taken whole")
        worker.stop()

    async def errors_cross():
        workers = Workers(1)
        try:
            await workers.prepare(**{{**ARGS, "body": b"<html><body><p>hi</p></body></html>"}})
        except FeedError as e:
            assert str(e) == "http://127.0.0.1:9/f.xml: not a feed: got an HTML page", e
        else:
            raise AssertionError("a feed error was lost on its way back")
        assert workers.processes == 1 and workers._workers[0].load == 0  # still used
        assert len((await workers.prepare(**ARGS)).items) == 40
        assert len(workers._workers) == 1
        workers.close()

    async def cancelled_call():
        workers = Workers(1)
        await workers.prepare(**ARGS)  # the worker is up
        # A long call (400 items: ~0.15 s here), then one larger than the socket
        # holds, whose sending waits for the busy worker.
        heavy = rss([rss_item(title=f"第{{i}}条", link=f"https://n.example/{{i}}",
                              content_encoded="<p>" + "正文" * 2000 + "</p>") for i in range(400)])
        busy = asyncio.ensure_future(workers.prepare(**{{**ARGS, "body": heavy}}))
        sending = asyncio.ensure_future(workers.prepare(**{{**ARGS, "body": BODY * 4}}))
        await asyncio.sleep(0.01)
        assert not busy.done() and workers._workers[0].load == 2
        sending.cancel()
        os.kill(workers._workers[0].process.pid, signal.SIGKILL)
        assert len((await busy).items) == 400  # run again in this process
        import gc
        gc.collect()  # an unretrieved error of the cancelled call would be logged now
        await asyncio.sleep(0.1)
        workers.close()

    async def no_descriptors():
        import logging, resource
        logging.basicConfig(format="%(levelname)s %(message)s")
        workers = Workers(2)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # One descriptor to spare: a worker's pipe needs two.
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")), hard))
        try:
            done = await workers.prepare(**ARGS)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert len(done.items) == 40
        assert workers.processes == 0 and workers._workers == []

    if __name__ == "__main__":  # not in the spawned workers, which import this file
        asyncio.run(globals()[sys.argv[1]]())
        print("ok", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario",
    ["killed_worker", "half_written_reply", "errors_cross", "cancelled_call", "no_descriptors"],
)
def test_a_dead_worker_neither_loses_calls_nor_hangs_the_exit(scenario: str, tmp_path) -> None:
    tests = str(Path(__file__).resolve().parents[1])
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO.format(tests=tests))
    done = subprocess.run([sys.executable, str(script), scenario], capture_output=True,
                          text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "never retrieved" not in done.stderr, done.stderr[-3000:]
    if scenario == "no_descriptors":
        assert done.stderr == ("WARNING cannot start a worker process (Too many open files); "
                               "parsing in the main process from now on\n")  # fmt: skip
