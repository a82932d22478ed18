"""The goroutine profile: threads and the suspended asyncio tasks of every loop, exact counts."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import threading
import time

import pprofx
from pprofx.profile import encode
from pprofx.runtime.threads import dump_threads, goroutine_profile


def blocked_on_lock(lock):
    with lock:
        pass


def blocked_on_queue(q):
    q.get()


def sleeping(stop):
    stop.wait()


async def wait_for_event(event):
    await event.wait()


async def request_handler(event, n):
    async with pprofx.labels(kind="handler"):
        await wait_for_event(event)


def loop_thread(started, stopper):
    async def main():
        event = asyncio.Event()
        tasks = [asyncio.ensure_future(request_handler(event, i)) for i in range(100)]
        await asyncio.sleep(0)
        stopper.append((asyncio.get_running_loop(), event))
        started.release()
        await asyncio.gather(*tasks)
    asyncio.run(main())


def stacks_with(p, fn):
    return {tuple(ln.function.name for loc in s.locations for ln in loc.lines): s.values[0]
            for s in p.samples if any(ln.function.name.split(".")[-1] == fn
                                      for loc in s.locations for ln in loc.lines)}


def test_exact_counts_for_threads_and_tasks(tmp_path, go):
    lock = threading.Lock()
    lock.acquire()
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    started = threading.Semaphore(0)
    loops: list = []
    threads = ([threading.Thread(target=blocked_on_lock, args=(lock,)) for _ in range(3)]
               + [threading.Thread(target=blocked_on_queue, args=(q,)) for _ in range(2)]
               + [threading.Thread(target=sleeping, args=(stop,))]
               + [threading.Thread(target=loop_thread, args=(started, loops)) for _ in range(2)])
    for t in threads:
        t.start()
    started.acquire()
    started.acquire()
    time.sleep(0.2)
    try:
        p = goroutine_profile()
        by_leafmost_user = {}
        for fn in ("blocked_on_lock", "blocked_on_queue", "sleeping", "wait_for_event"):
            by_leafmost_user[fn] = sum(stacks_with(p, fn).values())
        assert by_leafmost_user == {"blocked_on_lock": 3, "blocked_on_queue": 2, "sleeping": 1,
                                    "wait_for_event": 200}
        # the 200 tasks share one stack and one label set: a single group of 200
        tasks = [s for s in p.samples if s.values[0] == 200]
        assert len(tasks) == 1
        names = [ln.function.name for loc in tasks[0].locations for ln in loc.lines]
        assert names == ["Event.wait", "wait_for_event", "request_handler"]
        assert {(lab.key, lab.str) for lab in tasks[0].labels} == {("kind", "handler")}
        # both loop threads are there too, in their event loops
        assert sum(stacks_with(p, "run_forever").values()) == 2
        dump = dump_threads()
        # 200 handlers and the two loops' main() tasks, suspended in gather()
        assert dump.count("[waiting]: task") == 202 and "wait_for_event" in dump
        path = tmp_path / "goroutine.pb.gz"
        path.write_bytes(encode(p))
        res = subprocess.run([go, "tool", "pprof", "-traces", str(path)], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0 and "wait_for_event" in res.stdout, res.stderr
    finally:
        lock.release()
        q.put(1)
        q.put(1)
        stop.set()
        for loop, event in loops:
            loop.call_soon_threadsafe(event.set)
        for t in threads:
            t.join(timeout=10)
