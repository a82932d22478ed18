"""Scale: the debug=2 dump and the goroutine profile of 1,000 threads and 10,000 tasks in < 1 s."""

from __future__ import annotations

import asyncio
import threading
import time

from pprofx.runtime.threads import dump_threads, goroutine_profile

THREADS, TASKS = 1000, 10_000


def parked(stop):
    stop.wait()


async def parked_task(event):
    await event.wait()


def test_dump_of_1000_threads_and_10000_tasks_under_a_second():
    stop = threading.Event()
    ready = threading.Event()
    box: dict = {}

    def loop():
        async def main():
            event = asyncio.Event()
            tasks = [asyncio.ensure_future(parked_task(event)) for _ in range(TASKS)]
            await asyncio.sleep(0)  # let every task reach its await
            box["loop"], box["event"] = asyncio.get_running_loop(), event
            ready.set()
            await asyncio.gather(*tasks)
        asyncio.run(main())

    threads = [threading.Thread(target=parked, args=(stop,), daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    lt = threading.Thread(target=loop, daemon=True)
    lt.start()
    try:
        assert ready.wait(30)
        best_dump = best_profile = float("inf")
        for _ in range(3):  # best of 3: a shared 2-core VM has pauses of its own
            t0 = time.perf_counter()
            dump = dump_threads()
            best_dump = min(best_dump, time.perf_counter() - t0)
            t0 = time.perf_counter()
            p = goroutine_profile()
            best_profile = min(best_profile, time.perf_counter() - t0)
        assert dump.count("[waiting]: task") >= TASKS
        assert dump.count("parked_task") >= TASKS
        assert sum(1 for block in dump.split("\n\n") if "test_goroutine_scale.parked(" in block) == THREADS
        assert sum(s.values[0] for s in p.samples) >= THREADS + TASKS
        assert best_dump < 1.0, f"debug=2 dump took {best_dump:.2f}s"
        assert best_profile < 1.0, f"goroutine profile took {best_profile:.2f}s"
    finally:
        stop.set()
        if "loop" in box:
            box["loop"].call_soon_threadsafe(box["event"].set)
        lt.join(30)
        for t in threads:
            t.join(10)
