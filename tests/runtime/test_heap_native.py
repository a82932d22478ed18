"""The C allocator hook itself: restoring allocators, stress, fork, other hooks, own memory.

Crash-prone scenarios run in a child interpreter so that a crash fails the test instead of
killing pytest. ``PPROFX_HEAP_STRESS_SECONDS`` sets the length of the 8-thread stress test
(default 12; the issue's one-minute run: 60).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

from pprofx.runtime import heap
from tests.conftest import REPO, missing

STRESS_SECONDS = float(os.environ.get("PPROFX_HEAP_STRESS_SECONDS", "12"))


@pytest.fixture(autouse=True)
def native():
    if not heap.native_available():
        missing("C heap sampler not built (pip install -e . with a C compiler)")
    heap.stop_heap_profiler()
    yield heap._heap_c
    heap.stop_heap_profiler()
    heap._heap_c.stop()


def run_child(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout, cwd=str(REPO))
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_stop_restores_allocators_exactly(native):
    before = native._allocators()
    native.start(4096)
    during = native._allocators()
    assert during[0] == before[0]  # RAW is never hooked
    assert during[1] != before[1] and during[2] != before[2]
    keep = [bytearray(100) for _ in range(10_000)]  # allocated while hooked ...
    assert native.stop() is True
    assert native._allocators() == before
    del keep  # ... freed after: by the original allocator, which the hook delegated to


def test_start_stop_a_thousand_times(native):
    before = native._allocators()
    junk = []
    rss0 = rss()
    for i in range(1000):
        native.start(1 if i % 10 == 0 else 4096)
        junk.append([bytes(200) for _ in range(20)])
        if i % 7 == 0:
            native.snapshot()
        assert native.stop() is True
        if len(junk) > 50:
            junk.clear()
    assert native._allocators() == before
    native.reset()
    st = native.stats()
    assert st["memory"] == 0 and st["stacks"] == 0 and st["tracked_blocks"] == 0
    assert rss() - rss0 < 32 << 20


def test_exception_state_survives_sampling(native):
    native.start(1)
    for i in range(2000):
        try:
            raise KeyError(i)
        except KeyError as e:
            keep = [str(i) * 10 for _ in range(3)]  # sampled allocations in an except block
            assert sys.exc_info()[1] is e and keep
    try:
        try:
            raise ValueError("inner")
        except ValueError:
            raise RuntimeError("outer") from None
    except RuntimeError as e:
        assert e.__context__ is not None
    native.stop()


def test_tracemalloc_on_top_and_underneath(native):
    """Another PEP 445 hook wrapping ours: stop leaves ours in place, passing through."""
    before = native._allocators()
    native.start(1)
    tracemalloc.start()
    try:
        assert native.stop() is False  # tracemalloc wraps ours: it stays, passing through
        samples = native.stats()["samples"]
        data = [bytearray(1000) for _ in range(100)]
        assert native.stats()["samples"] == samples
        assert tracemalloc.get_traced_memory()[0] >= 100_000
    finally:
        tracemalloc.stop()
    native.start(1)  # ours is on top again (tracemalloc restored it): re-armed in place
    more = [bytearray(1000) for _ in range(100)]
    assert native.stats()["samples"] >= 100
    assert native.stop() is True
    assert native._allocators() == before
    tracemalloc.start()  # underneath ours this time
    try:
        native.start(1)
        assert native.stop() is True
    finally:
        tracemalloc.stop()
    assert native._allocators() == before
    assert data and more


STRESS = """
import os, random, sys, threading, time
from pprofx.runtime import heap
rate = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
seconds = float(os.environ["SECONDS_"])
before = heap._heap_c._allocators()
heap.start_heap_profiler(rate, backend="c", max_blocks=20_000)
stop = time.monotonic() + seconds
errors = []

def worker(k):
    rnd = random.Random(k)
    live = []
    try:
        while time.monotonic() < stop:
            for _ in range(200):
                r = rnd.random()
                if r < 0.4:
                    live.append({"k": k, "v": [rnd.random()] * rnd.randint(1, 40)})
                elif r < 0.7:
                    live.append("x" * rnd.randint(1, 3000))
                elif r < 0.8:
                    live.append(bytearray(rnd.randint(1, 300_000)))
                elif live:
                    live.pop(rnd.randrange(len(live)))
            if len(live) > 2000:
                del live[:1000]
    except BaseException as e:
        errors.append(repr(e))

threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
n = 0
while any(t.is_alive() for t in threads):
    p = heap.heap_profile()
    n += 1
    for s in p.samples:
        assert all(0 <= v < 1 << 62 for v in s.values), s.values
    time.sleep(0.2)
for t in threads:
    t.join()
st = heap.heap_profiler_stats()
heap.stop_heap_profiler()
assert not errors, errors
assert heap._heap_c._allocators() == before
assert st["samples"] > 100 and st["lost"] == 0, st
assert st["memory"] < 64 << 20, st
assert st["tracked_blocks"] <= 20_000, st
print("ok", n, st["samples"], st["tracked_blocks"], st["memory"])
"""


@pytest.mark.parametrize("rate", [4096, 1])
def test_eight_threads_allocating_and_freeing(rate):
    """Acceptance 4: 8 threads allocate and free with the hook on while profiles are taken."""
    seconds = STRESS_SECONDS if rate != 1 else max(2.0, STRESS_SECONDS / 4)
    res = subprocess.run([sys.executable, "-c", STRESS, str(rate)], capture_output=True, text=True,
                         timeout=seconds * 10 + 120, cwd=str(REPO),
                         env={**os.environ, "SECONDS_": str(seconds)})
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    assert res.stdout.startswith("ok"), res.stdout


def test_fork_while_sampling():
    run_child("""
        import os, sys
        from pprofx.runtime import heap
        heap.start_heap_profiler(1024, backend="c")
        keep = [bytearray(1000) for _ in range(5000)]
        pids = []
        for k in range(3):
            pid = os.fork()
            if pid == 0:
                try:
                    more = [bytearray(2000) for _ in range(5000)]
                    p = heap.heap_profile()
                    assert any(s.values[3] for s in p.samples)
                    heap.stop_heap_profiler()
                    del more
                    os._exit(0)
                except BaseException as e:
                    print("child failed:", repr(e), flush=True)
                    os._exit(1)
            pids.append(pid)
            keep += [bytearray(500) for _ in range(2000)]
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0 if hasattr(os, "waitstatus_to_exitcode") \\
                else status == 0, status
        p = heap.heap_profile()
        assert heap.heap_profiler_running()
        assert sum(s.values[3] for s in p.samples) > 1_000_000
        heap.stop_heap_profiler()
        print("ok")
    """)


def test_interpreter_exit_while_hooked():
    """The agent never stops it explicitly: exit (atexit stop), daemon threads still allocating."""
    run_child("""
        import threading
        from pprofx.runtime import heap
        heap.start_heap_profiler(1, backend="c")
        def spin():
            while True:
                [str(i) for i in range(100)]
        threading.Thread(target=spin, daemon=True).start()
        keep = [bytes(100) for _ in range(10000)]
        print("ok")
    """)


def test_memory_is_bounded_by_max_blocks(native):
    native.start(1, 128, 16384, 1000)
    keep = [bytearray(64) for _ in range(50_000)]
    st = native.stats()
    assert 900 <= st["tracked_blocks"] <= 1000 and st["dropped_blocks"] > 0
    assert st["memory"] < 1 << 20
    native.stop()
    native.reset()
    assert native.stats()["memory"] == 0
    assert keep
