"""The C stack walker (pprofx.runtime._stacks_c) against its Python twin (frames.StackWalker).

Both walkers read the same frames in lockstep, each with its own FrameTable: since the C one
calls ``table.intern`` in the same order, the two must return the same ids and build the
same tables. Other threads are kept off the GIL during a comparison by a long switch
interval, so both walkers see the same frames. Also: reference counts (no leaks), the
sampler's switch, profiles identical in names, lines and labels, and fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import sys
import threading
import time

import pytest

from pprofx.runtime import frames
from pprofx.runtime.frames import FrameTable, StackWalker
from pprofx.runtime.sampler import Sampler, Session
from tests.conftest import missing

CWalker = frames.CStackWalker
SWITCH = 1000


@pytest.fixture(autouse=True)
def _need_c():
    if CWalker is None:
        missing("C stack walker not built (pip install -e . with a C compiler)")


@contextlib.contextmanager
def gil_held():
    """Keep other threads from running (no forced GIL switch) inside the block."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


class Pair:
    """A Python and a C walker, fed the same frames; every result is compared."""

    def __init__(self, limit: int = 128) -> None:
        self.pt, self.ct = FrameTable(), FrameTable()
        self.py = StackWalker(self.pt, limit)
        self.c = CWalker(self.ct, limit)
        self.checks = 0

    def walk(self, ident, frame) -> tuple:
        a = self.py.walk(ident, frame)
        b = self.c.walk(ident, frame)
        assert a == b, (self.names(self.pt, a), self.names(self.ct, b))
        assert self.pt.info == self.ct.info
        self.checks += 1
        return b

    def tick(self, skip=()) -> int:
        """Walk every thread's current stack, as a sampler tick does; returns threads walked."""
        with gil_held():
            cur = sys._current_frames()
            n = 0
            for ident, f in cur.items():
                if ident not in skip:
                    self.walk(ident, f)
                    n += 1
            if random.random() < 0.2:
                self.py.forget(cur)
                self.c.forget(cur)
        return n

    @staticmethod
    def names(table, ids):
        return [(table.info[i][0], table.info[i][4]) for i in ids]


def test_same_ids_as_python_walker_in_this_thread():
    p = Pair(limit=7)  # small cap: exercises truncation on the fresh and the reused path
    rng = random.Random(11)

    def here():
        p.walk(1, sys._getframe(1))

    def gen(n):
        here()
        for _ in range(n):
            here()
            yield rec(rng.randint(0, 4))

    def rec(d):
        here()
        if d:
            rec(d - 1)
            here()
        return d

    def outer(d):
        here()
        if d:
            for _ in range(rng.randint(1, 3)):
                c = rng.random()
                if c < 0.4:
                    outer(d - 1)
                elif c < 0.7:
                    for _ in gen(2):
                        here()
                else:
                    rec(rng.randint(0, 9))
            here()

    for _ in range(20):
        outer(5)
    assert p.checks > 500


def test_deep_recursion_and_many_threads_in_lockstep():
    stop = threading.Event()

    def busy(d, rng):
        if d:
            return busy(d - 1, rng)
        while not stop.is_set():
            rec(rng.randint(0, 400))  # deep: past the 128-frame cap
            time.sleep(0)
        return 0

    def rec(d):
        if d:
            return rec(d - 1) + 1
        return sum(range(50))

    threads = [threading.Thread(target=busy, args=(i % 7 * 10, random.Random(i)), daemon=True)
               for i in range(24)]
    for t in threads:
        t.start()
    p = Pair()
    me = threading.get_ident()
    try:
        for _ in range(150):
            p.tick(skip={me})
            time.sleep(0.002)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert p.checks > 150 * 20
    assert any(p.ct.info[i][0] == "[truncated]" for i in [0])


def test_threads_starting_and_exiting_between_ticks():
    p = Pair()
    me = threading.get_ident()
    alive: list[threading.Thread] = []
    rng = random.Random(3)

    def short(d):
        if d:
            return short(d - 1)
        time.sleep(rng.random() * 0.01)
        return None

    for i in range(200):
        t = threading.Thread(target=short, args=(rng.randint(0, 50),), daemon=True)
        t.start()
        alive.append(t)
        p.tick(skip={me})
        if i % 10 == 0:
            for t in alive:
                t.join()
            alive.clear()
    for t in alive:
        t.join()
    assert p.checks >= 200


def test_asyncio_tasks_and_generators():
    p = Pair()  # samples the loop's thread from this one, like the sampler
    inside = Pair()  # used on the loop's thread only: walkers are not shared between threads
    me = threading.get_ident()
    done = threading.Event()

    async def leaf(n):
        for _ in range(n):
            await asyncio.sleep(0)
            inside.walk(1, sys._getframe())
            sum(range(200))

    end = time.monotonic() + 0.5

    async def middle(i):
        while time.monotonic() < end or (p.checks < 3 and time.monotonic() < end + 10):
            await leaf(i % 5 + 1)
            g = (x * x for x in range(300))
            for _ in g:
                pass

    async def main():
        await asyncio.gather(*(middle(i) for i in range(10)))

    def run():
        asyncio.run(main())
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    while not done.is_set():
        p.tick(skip={me})
        time.sleep(0.0005)
    t.join()
    # The loop thread re-takes the GIL at each select(), so this thread gets few turns.
    assert p.checks >= 2 and inside.checks > 100
    seen = {name.rsplit(".", 1)[-1] for name, *_ in inside.ct.info}
    assert {"leaf", "middle", "gather", "run"} & seen >= {"leaf", "middle"}


def test_none_frame_and_bad_arguments():
    w = CWalker(FrameTable())
    assert w.walk(1, None) == () == StackWalker(FrameTable()).walk(1, None)
    with pytest.raises(TypeError):
        w.walk(1, "not a frame")
    with pytest.raises(TypeError):
        w.walk(1)
    with pytest.raises(ValueError):
        CWalker(FrameTable(), 0)
    assert w.max_depth == 128 and isinstance(w.table, FrameTable)


def test_intern_runs_only_for_new_pairs():
    table = FrameTable()
    calls = []
    real = table.intern

    def counting(frame, code, line):
        calls.append((code.co_name, line))
        return real(frame, code, line)

    table.intern = counting
    w = CWalker(table)
    out, counts = [], []
    for _ in range(2):
        out.append(w.walk(1, sys._getframe()))  # same frames, same lines both times
        counts.append(len(calls))
        w.clear()
    assert counts[0] == len(set(out[0]))  # pluggy recurses: some pairs repeat
    assert out[1] == out[0] and counts[1] == counts[0]  # second walk: all from the C cache
    assert w.cached_pairs == counts[0]


def test_intern_error_propagates_without_leaking():
    table = FrameTable()

    def broken(frame, code, line):
        raise KeyError("boom")

    table.intern = broken
    w = CWalker(table)
    f = sys._getframe()
    before = sys.getrefcount(f)
    for _ in range(100):
        with pytest.raises(KeyError):
            w.walk(1, f)
    assert sys.getrefcount(f) == before


def test_no_reference_or_memory_leaks_over_many_ticks():
    import tracemalloc

    stop = threading.Event()

    def worker(d):
        if d:
            return worker(d - 1)
        x = 0
        while not stop.is_set():
            x += 1
            if x % 1000 == 0:
                time.sleep(0)
        return x

    threads = [threading.Thread(target=worker, args=(60,), daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    w = CWalker(FrameTable())
    me = threading.get_ident()
    f_me = sys._getframe()
    code_refs = sys.getrefcount(worker.__code__)

    def ticks(n, w):
        for _ in range(n):
            for ident, f in sys._current_frames().items():
                if ident != me:
                    w.walk(ident, f)
            w.walk(me, f_me)

    try:
        ticks(200, w)
        gc.collect()
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
        ticks(3000, w)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
    finally:
        stop.set()
        for t in threads:
            t.join()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert grown < 64 * 1024, grown
    # Frames of ended threads are released by forget; the id cache holds one ref per code.
    refs_me = sys.getrefcount(f_me)
    w.forget({me})
    assert sys.getrefcount(f_me) == refs_me  # still walked as `me`
    w.clear()
    assert sys.getrefcount(f_me) == refs_me - 1
    del w
    gc.collect()
    assert sys.getrefcount(worker.__code__) <= code_refs


def _sampler_keys(backend: str, ticks: int) -> set:
    """(stack as names and lines, labels) keys of a wall session of a fresh Sampler."""
    frames.WALKER_BACKEND = backend
    s = Sampler()
    s.walker = frames.new_walker(s.table, s.max_depth)
    s.sessions = {"wall": Session("wall", s.max_stacks)}
    me = threading.get_ident()
    s._sampler_ident = me
    with gil_held():
        for _ in range(ticks):
            s._tick(me)
    out = set()
    for stack, labels in s.sessions["wall"].counts:
        named = tuple(s.table.info[i] for i in stack)
        out.add((named, labels))
    return out


def test_sampler_keys_identical_for_both_backends(monkeypatch):
    import pprofx

    gate = threading.Event()

    def parked(d):
        if d:
            return parked(d - 1)
        with pprofx.labels(role="parked"):
            gate.wait()
        return None

    async def task_body():
        await asyncio.sleep(0)
        gate.wait()  # blocks the loop's thread inside the task

    def loop_thread():
        async def main():
            await asyncio.create_task(task_body(), name="the-task")
        asyncio.run(main())

    threads = [threading.Thread(target=parked, args=(d,), name=f"parked-{d}", daemon=True)
               for d in (3, 40, 200)]
    threads.append(threading.Thread(target=loop_thread, name="loop", daemon=True))
    for t in threads:
        t.start()
    time.sleep(0.2)
    monkeypatch.setattr(frames, "WALKER_BACKEND", frames.WALKER_BACKEND)
    try:
        py = _sampler_keys("python", 3)
        c = _sampler_keys("c", 3)
    finally:
        gate.set()
        for t in threads:
            t.join()
    assert py == c
    labels = {dict(lab).get("thread") for _, lab in c}
    assert {"parked-3", "parked-40", "parked-200", "loop"} <= labels
    assert any(dict(lab).get("task") == "the-task" for _, lab in c)
    assert any(dict(lab).get("role") == "parked" for _, lab in c)
    assert any(len(st) == 129 and st[-1][0] == "[truncated]" for st, _ in c)


def test_sampler_uses_the_switch(stack_backend):
    import pprofx
    from pprofx.runtime.sampler import SAMPLER

    pprofx.start_wall_profile()
    try:
        want = CWalker if stack_backend == "c" else StackWalker
        assert type(SAMPLER.walker) is want
    finally:
        p = pprofx.stop_wall_profile()
    assert p is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_walks_and_profiles():
    import pprofx

    w = CWalker(FrameTable())
    parent = w.walk(1, sys._getframe())
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not raise past here
        code = 1
        try:
            os.close(r)
            ok = len(w.walk(2, sys._getframe())) == len(parent)  # the inherited walker works
            frames.WALKER_BACKEND = "c"
            pprofx.start_cpu_profile()
            t = threading.Thread(target=lambda: [0 for _ in iter(lambda: time.thread_time() < 0.3, False)])
            t.start()
            t.join()
            p = pprofx.stop_cpu_profile()
            ok = ok and p is not None and len(p.samples) > 0
            os.write(wfd, b"ok" if ok else b"bad")
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and got == b"ok"
