"""Block and mutex profiles: Go's rate/fraction semantics, what is covered, and safety.

The accuracy tests run rounds of: ``holder()`` takes a lock, starts 4 waiter threads,
waits until each has noted the time just before its acquire, holds the lock 10 ms more and
releases it. Expected values come from the same clock: the mutex profile should charge the
holder Σ(release − waiter start), about 4 × the hold time; the block profile should charge
the waiters Σ(acquired − start).

Tests that enable profiling run once per lock-wrapper backend (``lock_backend``: the C
types of ``pprofx.runtime._locks_c`` and the pure-Python classes of ``locks``).
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time

import pytest

import pprofx
from pprofx.profile import delta, encode
from pprofx.runtime import contention, locks

HOLD = 0.010


@pytest.fixture
def profiling(lock_backend, monkeypatch):
    """Lock profiling with the ``lock_backend`` wrappers, switched off again (and verified
    uninstalled) after the test."""
    monkeypatch.setattr(locks, "backend", lock_backend)
    yield lock_backend
    pprofx.set_block_profile_rate(0)
    pprofx.set_mutex_profile_fraction(0)
    assert not locks.installed()


def by_function(p, fn: str, anywhere: bool = False) -> tuple[int, int]:
    """(contentions, delay) of samples whose leaf (or any frame) is function ``fn``."""
    count = delay = 0
    for s in p.samples:
        names = [ln.function.name for loc in s.locations for ln in loc.lines]
        if (fn in names) if anywhere else (names and names[0] == fn):
            count += s.values[0]
            delay += s.values[1]
    return count, delay


def waiter(lock, go, starts, acquired):
    go.acquire()
    starts.append(time.perf_counter_ns())
    with lock:
        acquired.append(time.perf_counter_ns())


def holder(lock, expected):
    starts: list = []
    acquired: list = []
    gos = [locks._PLAIN_LOCK() for _ in range(4)]  # plain: only the lock under test shows up
    for go in gos:
        go.acquire()
    threads = [threading.Thread(target=waiter, args=(lock, go, starts, acquired), daemon=True)
               for go in gos]
    for t in threads:
        t.start()
    with lock:
        for go in gos:
            go.release()
        while len(starts) < 4:
            time.sleep(0.0001)
        time.sleep(HOLD)
        released = time.perf_counter_ns()
    for t in threads:
        t.join()
    expected["mutex"] += sum(released - s for s in starts)
    expected["block"] += sum(a - s for a, s in zip(sorted(acquired), sorted(starts)))
    expected["hold"] += released - max(starts)  # held while all 4 waited


def run_rounds(n: int) -> dict:
    lock = threading.Lock()
    assert type(lock) is locks.wrapper_types()[0]
    expected = {"mutex": 0, "block": 0, "hold": 0}
    for _ in range(n):
        holder(lock, expected)
    return expected


def test_exact_rate_and_fraction_one(profiling):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    b0, m0 = pprofx.block_profile(), pprofx.mutex_profile()
    rounds = 20
    exp = run_rounds(rounds)
    b = delta(b0, pprofx.block_profile())
    m = delta(m0, pprofx.mutex_profile())
    count, delay = by_function(m, "holder")
    assert count == rounds
    # ~4 waiters × the hold time, and what the waiters' own clocks say
    assert delay == pytest.approx(exp["mutex"], rel=0.15), (delay, exp)
    assert delay == pytest.approx(4 * exp["hold"], rel=0.15), (delay, exp)
    count, delay = by_function(b, "waiter")
    assert count == 4 * rounds
    assert delay == pytest.approx(exp["block"], rel=0.15), (delay, exp)
    assert [(t.type, t.unit) for t in m.sample_types] == contention.CONTENTION_TYPES
    assert (m.period_type.type, m.period_type.unit, m.period) == ("contentions", "count", 1)
    assert not any(s.labels for s in m.samples + b.samples)


def test_sampled_rate_and_fraction_are_unbiased(profiling):
    contention._rng.seed(20240605)
    # Every wait here is 10-15 ms, shorter than the rate: each is kept with probability
    # d/rate and then scaled (CL 299991); half of the mutex events are kept, scaled ×2.
    rate = 20_000_000
    pprofx.set_block_profile_rate(rate)
    pprofx.set_mutex_profile_fraction(2)
    b0, m0 = pprofx.block_profile(), pprofx.mutex_profile()
    rounds = 160
    exp = run_rounds(rounds)
    b = delta(b0, pprofx.block_profile())
    m = delta(m0, pprofx.mutex_profile())
    count, delay = by_function(m, "holder")
    assert count % 2 == 0 and count == pytest.approx(rounds, rel=0.25)
    assert delay == pytest.approx(exp["mutex"], rel=0.25), (delay, exp)
    count, delay = by_function(b, "waiter")
    assert delay == pytest.approx(exp["block"], rel=0.25), (delay, exp)
    assert count == pytest.approx(4 * rounds, rel=0.25)


def test_api_returns_previous_values_and_negative_reads(profiling):
    assert pprofx.set_mutex_profile_fraction(5) == 0
    assert pprofx.set_mutex_profile_fraction(-1) == 5
    assert contention.mutex_fraction == 5
    assert pprofx.set_block_profile_rate(1000) == 0
    assert pprofx.set_block_profile_rate(-3) == 1000
    assert contention.block_rate == 0
    assert pprofx.set_mutex_profile_fraction(0) == 5
    assert not locks.installed()


def test_off_by_default_means_nothing_wrapped():
    assert contention.block_rate == 0 and contention.mutex_fraction == 0
    assert not locks.installed() and not isinstance(threading.Lock, locks._AnyLock)
    assert threading.Condition.wait is locks._ORIG_COND_WAIT
    assert asyncio.Lock.acquire is locks._A_LOCK_ACQUIRE
    assert type(threading.Lock()) is locks._LOCK_TYPE


def test_disabling_restores_factories(profiling):
    plain_rlock = threading.RLock
    pprofx.set_mutex_profile_fraction(1)
    lock_type, rlock_type = locks.wrapper_types(profiling)
    assert type(threading.Lock()) is lock_type and isinstance(threading.Lock(), locks.ProfiledLock)
    assert type(threading.RLock()) is rlock_type
    assert threading.Condition.wait is locks._ORIG_COND_WAIT  # block profile only
    pprofx.set_block_profile_rate(1)
    assert threading.Condition.wait is locks._cond_wait
    held = threading.Lock()
    held.acquire()
    pprofx.set_block_profile_rate(0)
    pprofx.set_mutex_profile_fraction(0)
    assert type(threading.Lock()) is locks._LOCK_TYPE
    assert threading.RLock is plain_rlock
    assert type(threading.RLock()) is not rlock_type
    assert type(threading.Event()._cond._lock) is locks._LOCK_TYPE
    assert type(queue.Queue().mutex) is locks._LOCK_TYPE
    assert threading.Condition.wait is locks._ORIG_COND_WAIT
    assert asyncio.Queue.get is locks._A_QUEUE_GET and asyncio.Lock.release is locks._A_LOCK_RELEASE
    held.release()  # a wrapper made while on keeps working after
    assert held.acquire(timeout=1) and held.locked()
    held.release()


def test_lock_semantics_are_kept(profiling):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    lock = threading.Lock()
    assert lock.acquire() and lock.locked()
    assert lock.acquire(False) is False
    t0 = time.monotonic()
    assert lock.acquire(True, 0.05) is False
    assert time.monotonic() - t0 >= 0.04
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    with pytest.raises(ValueError):
        lock.acquire(True, -2)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock as got:
        assert got is True
    if sys.version_info >= (3, 13):  # threading.Lock is a type: isinstance holds for both kinds
        assert isinstance(lock, threading.Lock) and isinstance(locks._PLAIN_LOCK(), threading.Lock)
    r = threading.RLock()
    with r:
        with r:
            assert r._is_owned()
        assert r._is_owned()
    assert not r._is_owned()
    # Condition over each wrapper: wait/notify, wait_for, recursion levels restored
    for make in (threading.Lock, threading.RLock, None):
        cond = threading.Condition(make()) if make else threading.Condition()
        box: list = []

        def produce(cond=cond, box=box):
            time.sleep(0.01)
            with cond:
                box.append(1)
                cond.notify_all()

        t = threading.Thread(target=produce)
        with cond:
            t.start()
            assert cond.wait_for(lambda box=box: box, timeout=5)
            assert cond.wait(0.001) is False
        t.join()
    rc = threading.Condition(threading.RLock())
    with rc, rc:
        rc.wait(0.01)
        assert rc._is_owned()


def blocked_on_queue(q):
    q.get()


def blocked_on_condition(cond, box):
    with cond:
        cond.wait_for(lambda: box)


def blocked_on_event(ev):
    ev.wait()


def blocked_on_semaphore(sem):
    sem.acquire()


def blocked_on_barrier(barrier):
    barrier.wait()


def blocked_on_rlock(r):
    with r:
        pass


def test_threading_and_queue_waits_are_covered(profiling):
    early_queue: queue.Queue = queue.Queue()  # made before enabling: Condition.wait is patched
    pprofx.set_block_profile_rate(1)
    b0 = pprofx.block_profile()
    q: queue.Queue = queue.Queue()
    cond = threading.Condition()
    box: list = []
    ev = threading.Event()
    sem = threading.Semaphore(0)
    bsem = threading.BoundedSemaphore(1)
    bsem.acquire()
    barrier = threading.Barrier(2)
    r = threading.RLock()
    r.acquire()
    threads = [threading.Thread(target=f, args=a) for f, a in [
        (blocked_on_queue, (q,)), (blocked_on_queue, (early_queue,)),
        (blocked_on_condition, (cond, box)), (blocked_on_event, (ev,)),
        (blocked_on_semaphore, (sem,)), (blocked_on_semaphore, (bsem,)),
        (blocked_on_barrier, (barrier,)), (blocked_on_rlock, (r,))]]
    for t in threads:
        t.start()
    time.sleep(0.05)
    q.put(1)
    early_queue.put(1)
    with cond:
        box.append(1)
        cond.notify()
    ev.set()
    sem.release()
    bsem.release()
    barrier.wait()
    r.release()
    for t in threads:
        t.join(5)
    b = delta(b0, pprofx.block_profile())
    for fn, n in [("blocked_on_queue", 2), ("blocked_on_condition", 1), ("blocked_on_event", 1),
                  ("blocked_on_semaphore", 2), ("blocked_on_barrier", 1), ("blocked_on_rlock", 1)]:
        count, delay = by_function(b, fn, anywhere=True)
        assert count >= n and delay >= n * 40_000_000, (fn, count, delay)


async def a_holder(lock):
    async with lock:
        await asyncio.sleep(0.02)


async def a_waiter(lock):
    async with lock:
        pass


async def a_getter(q):
    return await q.get()


async def a_event(ev):
    await ev.wait()


async def a_semaphore(sem):
    async with sem:
        pass


async def a_condition(cond):
    async with cond:
        await cond.wait()


async def asyncio_scenario():
    lock = asyncio.Lock()
    q: asyncio.Queue = asyncio.Queue()
    ev = asyncio.Event()
    sem = asyncio.Semaphore(0)
    cond = asyncio.Condition()
    tasks = [asyncio.ensure_future(c) for c in (
        a_holder(lock), a_waiter(lock), a_waiter(lock), a_getter(q), a_event(ev),
        a_semaphore(sem), a_condition(cond))]
    await asyncio.sleep(0.03)
    q.put_nowait(1)
    ev.set()
    sem.release()
    async with cond:
        cond.notify_all()
    await asyncio.gather(*tasks)


def test_asyncio_waits_are_covered(profiling):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    b0, m0 = pprofx.block_profile(), pprofx.mutex_profile()
    asyncio.run(asyncio_scenario())
    b = delta(b0, pprofx.block_profile())
    m = delta(m0, pprofx.mutex_profile())
    for fn, n in [("a_waiter", 2), ("a_getter", 1), ("a_event", 1), ("a_semaphore", 1),
                  ("a_condition", 1)]:
        count, delay = by_function(b, fn, anywhere=True)
        assert count >= n and delay >= n * 15_000_000, (fn, count, delay)
    count, delay = by_function(m, "a_holder", anywhere=True)
    # held ~20 ms while 2 tasks waited
    assert count == 1 and delay == pytest.approx(40_000_000, rel=0.3), delay


def test_enabling_while_locks_are_held_does_not_deadlock(profiling):
    plain = threading.Lock()
    plain.acquire()
    cond = threading.Condition()
    done: list = []

    def blocked():
        with plain:
            done.append("lock")

    def cond_waiter():
        with cond:
            cond.wait(5)
            done.append("cond")

    threads = [threading.Thread(target=blocked), threading.Thread(target=cond_waiter)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    wrapped = threading.Lock()
    wrapped.acquire()
    plain.release()
    with cond:
        cond.notify()
    pprofx.set_block_profile_rate(0)  # and off again while a wrapper is held
    pprofx.set_mutex_profile_fraction(0)
    wrapped.release()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert sorted(done) == ["cond", "lock"]


def test_toggling_under_load_is_safe(profiling):
    shared = threading.Lock()
    stop = threading.Event()
    errors: list = []
    ops = [0]

    def churn():
        try:
            while not stop.is_set():
                mine = threading.Lock()
                with shared, mine:
                    ops[0] += 1
                c = threading.Condition()
                with c:
                    c.wait(0.0005)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(60):
        pprofx.set_block_profile_rate(1 if i % 2 else 0)
        pprofx.set_mutex_profile_fraction(1 if i % 3 else 0)
        time.sleep(0.003)
    stop.set()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert not errors and ops[0] > 0


def test_recording_errors_are_contained(profiling, monkeypatch):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    before = contention.errors

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(contention, "_stack", broken)
    lock = threading.Lock()
    lock.acquire()
    t = threading.Thread(target=lambda: lock.acquire() and lock.release())
    t.start()
    time.sleep(0.02)
    lock.release()
    t.join(5)
    assert contention.errors > before


def test_go_tool_pprof_reads_block_and_mutex(profiling, tmp_path, go):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    b0, m0 = pprofx.block_profile(), pprofx.mutex_profile()
    run_rounds(5)
    for name, p, top in (("block", delta(b0, pprofx.block_profile()), "waiter"),
                         ("mutex", delta(m0, pprofx.mutex_profile()), "holder")):
        path = tmp_path / f"{name}.pb.gz"
        path.write_bytes(encode(p))
        res = subprocess.run([go, "tool", "pprof", "-top", str(path)], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        rows = lines[lines.index(next(ln for ln in lines if ln.strip().startswith("flat"))) + 1:]
        assert "Type: delay" in res.stdout
        assert rows[0].split()[-1] == top, res.stdout


def test_fork_child_can_use_wrapped_locks(profiling):
    # a child forked while enabled (gunicorn's prefork) must not inherit held bookkeeping locks
    code = (
        "import os, threading, pprofx\n"
        f"pprofx.runtime.locks.backend = {profiling!r}\n"
        "pprofx.set_block_profile_rate(1); pprofx.set_mutex_profile_fraction(1)\n"
        "assert type(threading.Lock()) is pprofx.runtime.locks.wrapper_types()[0]\n"
        "lk = threading.Lock(); ev = threading.Event()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    with lk: pass\n"
        "    t = threading.Thread(target=ev.set); t.start(); t.join(); ev.wait(5)\n"
        "    os._exit(0 if ev.is_set() else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print('child', os.waitstatus_to_exitcode(status))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "child 0", res.stderr
