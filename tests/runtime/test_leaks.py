"""The leak helper names the site behind a thread leak and a task leak."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pprofx.profile import encode
from pprofx.report.leaks import find_leaks, render_leaks
from pprofx.runtime import threadcreate
from pprofx.runtime.threads import goroutine_profile


def leaky_worker(stop):
    stop.wait()


def spawn_leak(n, stop):
    for _ in range(n):
        threading.Thread(target=leaky_worker, args=(stop,), daemon=True).start()


def spawn_ok(n):
    ts = [threading.Thread(target=lambda: None) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


@pytest.fixture
def recording():
    was = threadcreate.installed()
    threadcreate.install()
    yield
    if not was:
        threadcreate.uninstall()


def test_thread_leak_names_the_creation_site(recording, tmp_path):
    stop = threading.Event()
    base = goroutine_profile()
    base_tc = threadcreate.threadcreate_profile()
    try:
        spawn_leak(25, stop)
        spawn_ok(5)  # started and finished: no live growth
        new = goroutine_profile()
        leaks = find_leaks(base, new)
        top = leaks[0]
        assert top.growth == 25
        assert top.site.startswith("created by spawn_leak ") and "test_leaks.py:" in top.site
        assert top.stack[-1].startswith("Thread._bootstrap ")
        assert any(f.startswith("leaky_worker ") for f in top.stack)
        assert not any("spawn_ok" in g.site for g in leaks)
        text = render_leaks(base, new, leaks)
        assert "+25 (0 -> 25)  created by spawn_leak" in text
        # the threadcreate profile: growth = threads started, by creation site
        tc = find_leaks(base_tc, threadcreate.threadcreate_profile())
        started = {g.site.split()[2]: g.growth for g in tc}
        assert started["spawn_leak"] == 25 and started["spawn_ok"] == 5
        assert "threadcreate counts are cumulative" in render_leaks(base_tc, base_tc, [])
        (tmp_path / "base.pb.gz").write_bytes(encode(base))
        (tmp_path / "new.pb.gz").write_bytes(encode(new))
    finally:
        stop.set()


async def leaky_task(event):
    await event.wait()


async def handle_request(event, leak: bool):
    if leak:
        asyncio.ensure_future(leaky_task(event))  # fire and forget: never awaited
    await asyncio.sleep(0)


def test_task_leak_names_the_coroutine():
    box: dict = {}
    ready = threading.Event()
    go = threading.Event()
    snapshots: list = []

    def run():
        async def main():
            event = asyncio.Event()
            box["loop"], box["event"] = asyncio.get_running_loop(), event
            ready.set()
            while not go.is_set():
                await asyncio.sleep(0.005)
            for i in range(40):
                await handle_request(event, leak=i % 4 != 0)
            snapshots.append("leaked")
            await event.wait()
            await asyncio.sleep(0)
        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(5)
    base = goroutine_profile()
    go.set()
    try:
        while not snapshots:
            threading.Event().wait(0.01)
        threading.Event().wait(0.05)
        new = goroutine_profile()
        leaks = find_leaks(base, new)
        top = leaks[0]
        assert top.growth == 30
        assert top.site.startswith("leaky_task ") and "test_leaks.py:" in top.site
        assert top.stack[0].startswith("Event.wait ")
    finally:
        box["loop"].call_soon_threadsafe(box["event"].set)
        t.join(10)


def test_leaks_command_on_files_and_urls(recording, tmp_path, capsys):
    from pprofx.cli import main
    from pprofx.http.server import PprofServer, ServerConfig

    stop = threading.Event()
    base = goroutine_profile()
    (tmp_path / "base.pb.gz").write_bytes(encode(base))
    srv = PprofServer(ServerConfig(address="127.0.0.1:0"))
    try:
        spawn_leak(7, stop)
        (tmp_path / "new.pb.gz").write_bytes(encode(goroutine_profile()))
        assert main(["leaks", str(tmp_path / "base.pb.gz"), str(tmp_path / "new.pb.gz")]) == 0
        out = capsys.readouterr().out
        assert out.startswith("goroutine: ") and "+7 (0 -> 7)  created by spawn_leak" in out
        assert main(["leaks", str(tmp_path / "base.pb.gz"), srv.url + "goroutine"]) == 0
        assert "+7 (0 -> 7)  created by spawn_leak" in capsys.readouterr().out
        assert main(["leaks", str(tmp_path / "base.pb.gz")]) == 2
    finally:
        srv.stop()
        stop.set()
