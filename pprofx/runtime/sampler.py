"""The in-process stack sampler behind the CPU and wall-clock profiles.

One daemon thread wakes ``hz`` times a second, reads every other thread's Python stack
(``sys._current_frames``, through :class:`~pprofx.runtime.frames.StackWalker` or its C
twin, see :func:`~pprofx.runtime.frames.new_walker`) and
feeds the active sessions:

* **CPU**: each thread's CPU time since the previous tick, from its own CPU clock
  (``pthread_getcpuclockid`` + ``clock_gettime``), is charged to its current stack.
  Threads that used no CPU contribute nothing.
* **wall**: the measured elapsed time since the previous tick is charged to every
  thread's current stack, idle or not, with a ``state`` label (running or waiting).

A thread that ends between two ticks would take the CPU it used since the last tick with
it (its clock is gone by the next one), which under-weights short-lived threads, the more
so when the cap has lengthened the interval. So while sampling runs, ``threading`` threads
report as they end (:meth:`Sampler.thread_exiting`, see ``_ExitReportingLock``) and that
last slice is charged to the stack they were last sampled in.

Samples carry the thread's name, the running asyncio task's name and the labels set
with :func:`pprofx.labels`. Values are measured times, so they stay truthful when the
**adaptive cap** lengthens the interval: the sampler measures its own CPU time per tick
and keeps its average use within ``budget`` (default 1% of one core).

The sampler never raises into the application: an error in a tick is counted, logged
once, and sampling goes on. It stops cleanly at interpreter exit and after ``fork()``
the child starts with no sampler and no sessions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from typing import Iterable

from .frames import FrameTable, new_walker
from .labels import labels_of_task, labels_of_thread

log = logging.getLogger("pprofx")

#: Idents of threads that pprofx itself runs; they never appear in profiles.
own_threads: set[int] = set()

# Overflow key: charged when a session holds max_stacks distinct keys already.
OVERFLOW_KEY = ((1,), ())


class _Wake:
    """A one-shot stop signal the sampler sleeps on between ticks.

    A bare lock acquired with a timeout: waking up costs the sampler noticeably less CPU
    than ``threading.Event.wait`` (measured: about 60 vs 86 µs a wake-up on a VM), and it is
    paid at every tick.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True once :meth:`set` was called."""
        if self._lock.acquire(True, timeout):
            self._lock.release()  # stay signalled for any later wait
            return True
        return False

    def set(self) -> None:
        if self._lock.locked():
            try:
                self._lock.release()
            except RuntimeError:  # released concurrently
                pass


class Session:
    """Aggregated samples of one CPU or wall profile: (stack, labels) -> [count, ns].

    Bounded: past ``max_stacks`` distinct keys, further new keys are charged to the
    overflow frame and counted in :attr:`overflowed`.
    """

    def __init__(self, kind: str, max_stacks: int) -> None:
        self.kind = kind
        self.max_stacks = max_stacks
        self.counts: dict[tuple, list[int]] = {}
        self.overflowed = 0
        self.start_ns = time.time_ns()
        self.start_mono = time.monotonic_ns()
        self.end_mono = 0
        self.ticks = 0
        self.interval_sum_ns = 0
        self.cap_wait_ns = 0  # extra waiting imposed by the CPU budget

    def add(self, key: tuple, ns: int) -> None:
        acc = self.counts.get(key)
        if acc is None:
            if len(self.counts) >= self.max_stacks:
                self.overflowed += 1
                key = OVERFLOW_KEY
                acc = self.counts.get(key)
            if acc is None:
                acc = self.counts[key] = [0, 0]
        acc[0] += 1
        acc[1] += ns


def _thread_names() -> dict[int, str]:
    active = getattr(threading, "_active", None)
    if isinstance(active, dict):
        try:
            return {ident: t.name for ident, t in list(active.items())}
        except RuntimeError:
            pass
    return {t.ident: t.name for t in threading.enumerate() if t.ident is not None}


def _running_tasks() -> dict[int, asyncio.Task]:
    """Thread ident -> the asyncio task running on that thread's loop right now."""
    current = getattr(asyncio.tasks, "_current_tasks", None)
    if not current:
        return {}
    out = {}
    for loop, task in list(current.items()):
        tid = getattr(loop, "_thread_id", None)
        if tid is not None:
            out[tid] = task
    return out


class Sampler:
    """The sampling thread and its sessions; use the module-level :data:`SAMPLER`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards sessions and the thread handle
        self.tick_lock = threading.Lock()  # one tick at a time (sampler or final tick)
        self.hz = 100
        self.budget = 0.01
        self.max_depth = 128
        self.max_stacks = 50_000
        self._reset()

    def _reset(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.thread: threading.Thread | None = None
        self.wake = _Wake()
        self.table = FrameTable()
        self.walker = new_walker(self.table, self.max_depth)
        self.errors = 0
        self.cpu_total_ns = 0  # the sampler thread's own CPU time, summed over its runs
        self.ticks_total = 0
        self._logged_error = False
        self.interval_ns = 0
        self.cost_ns = 0.0  # moving average of one tick's CPU cost
        self._cpu_clocks: dict[int, int] = {}
        self._cpu_last: dict[int, int] = {}
        self._last_tick = 0
        self._label_keys: dict[tuple, tuple] = {}
        self._names: dict[int, str] = {}
        self._seen: dict[int, threading.Thread] = {}  # ident -> the thread it belonged to
        self._last_sample: dict[int, tuple] = {}  # ident -> (stack, label key) at its last tick
        self._ended: set[int] = set()  # threads that reported their end (may linger a moment)
        self._ticks = 0
        self._sampler_ident = 0

    # -- sessions --------------------------------------------------------------------

    def start(self, kind: str) -> Session:
        """Open a ``cpu`` or ``wall`` session; raises RuntimeError if one is open already."""
        with self.lock:
            if kind in self.sessions:
                raise RuntimeError(f"{kind} profiling already in use")
            session = Session(kind, self.max_stacks)
            if self.thread is None or not self.thread.is_alive():
                self._start_thread()
            self._prime_cpu_clocks()
            self.sessions[kind] = session
            return session

    def stop(self, kind: str) -> Session | None:
        """Close the ``kind`` session and return it (None if none was open).

        A last tick first charges what the other threads used since the previous one (the
        calling thread is left out: its stack is inside this call).
        """
        if kind in self.sessions:
            with self.tick_lock:
                try:
                    self._tick(threading.get_ident())
                except Exception as e:  # noqa: BLE001 - never raise into the caller
                    self._record_error(e)
        with self.lock:
            session = self.sessions.pop(kind, None)
            if session is not None:
                session.end_mono = time.monotonic_ns()
            thread = self.thread if not self.sessions else None
            if thread is not None:
                self.wake.set()
                self.thread = None
                _remove_exit_hook()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        return session

    def _prime_cpu_clocks(self) -> None:
        """Read every existing thread's CPU clock now, so a session charges only CPU used
        after it started; threads seen later are new and are charged from their start."""
        for ident in sys._current_frames():
            self._check_identity(ident)
            if ident not in self._cpu_last:
                self._cpu_delta(ident, 0)

    def _check_identity(self, ident: int) -> None:
        """Forget what was recorded under ``ident`` when it now belongs to another thread.

        Thread idents are reused as soon as a thread ends: a new thread on an old ident must
        not inherit the old one's CPU clock, last reading or name.
        """
        active = getattr(threading, "_active", None)
        thread = active.get(ident) if isinstance(active, dict) else None
        if thread is None or self._seen.get(ident) is thread:
            return
        self._seen[ident] = thread
        self._ended.discard(ident)
        self._cpu_clocks.pop(ident, None)
        self._cpu_last.pop(ident, None)
        self._names[ident] = thread.name

    def _start_thread(self) -> None:
        self.wake = _Wake()
        # The walker backend (frames.WALKER_BACKEND) is chosen here, when sampling starts.
        self.walker = new_walker(self.table, self.max_depth)
        self.interval_ns = int(1e9 / self.hz)
        self.cost_ns = 0.0
        self._cpu_last.clear()
        self._last_tick = time.monotonic_ns()
        self._last_sample.clear()
        self._ended.clear()
        t = threading.Thread(target=self._run, name="pprofx-sampler", daemon=True)
        self.thread = t
        _install_exit_hook()
        t.start()

    # -- the loop --------------------------------------------------------------------

    def _run(self) -> None:
        me = threading.get_ident()
        self._sampler_ident = me
        own_threads.add(me)
        wake = self.wake
        cpu_mark = time.thread_time_ns()
        try:
            while not wake.wait(self.interval_ns / 1e9):
                with self.tick_lock:
                    try:
                        self._tick(me)
                    except Exception as e:  # noqa: BLE001 - never let a tick kill sampling
                        self._record_error(e)
                # The cost includes waking up and winning the GIL back, not just the tick.
                now = time.thread_time_ns()
                self._adapt(now - cpu_mark)
                cpu_mark = now
        finally:
            own_threads.discard(me)

    def _record_error(self, e: BaseException) -> None:
        self.errors += 1
        if not self._logged_error:
            self._logged_error = True
            log.warning("pprofx sampler: error in a sampling tick (counted; sampling goes "
                        "on; further errors are not logged): %s: %s", type(e).__name__, e)

    def _adapt(self, cost_ns: int) -> None:
        """Keep the sampler's CPU use within ``budget`` by lengthening its interval.

        The wait after a tick is at least ``cost / budget``, so over any run of ticks the
        sampler's CPU time is at most ``budget`` times the elapsed time, while one costly tick
        (e.g. the first, which interns every frame) only delays the next one.
        """
        self.cost_ns = cost_ns if self.cost_ns == 0 else 0.9 * self.cost_ns + 0.1 * cost_ns
        self.cpu_total_ns += cost_ns
        self.ticks_total += 1
        base = 1e9 / self.hz
        wait = max(base, cost_ns / self.budget)
        self.interval_ns = int(wait)
        for s in list(self.sessions.values()):
            s.cap_wait_ns += int(wait - base)

    def _tick(self, me: int) -> None:
        with self.lock:
            by_kind = dict(self.sessions)
        if not by_kind:
            return
        sessions = list(by_kind.values())
        now = time.monotonic_ns()
        elapsed = now - self._last_tick
        self._last_tick = now
        frames = sys._current_frames()
        self._ticks += 1
        if self._ticks % 16 == 0:
            self._names.update(_thread_names())  # names can change; refreshed now and then
        names = self._names
        tasks = _running_tasks()
        walk = self.walker.walk
        cpu = by_kind.get("cpu")
        wall = by_kind.get("wall")
        last_sample = self._last_sample
        for ident, frame in frames.items():
            if ident == me or ident in own_threads:
                continue
            self._check_identity(ident)
            if ident in self._ended:
                continue  # accounted for at its end; its last reading stays to guard that
            used = self._cpu_delta(ident)
            if used == 0 and wall is None:
                continue
            stack = walk(ident, frame)
            task = tasks.get(ident)
            label_key = self._label_key(names.get(ident) or str(ident), task, ident)
            last_sample[ident] = (stack, label_key)
            if cpu is not None and used > 0:
                cpu.add((stack, label_key), used)
            if wall is not None:
                state = "running" if used * 2 >= elapsed else "waiting"
                wall.add((stack, label_key + (("state", state),)), elapsed)
        for s in sessions:
            s.ticks += 1
            s.interval_sum_ns += elapsed
        if self._ticks % 16 == 0 or me != self._sampler_ident:
            self._housekeeping(frames)

    def thread_exiting(self, bootstrap_frame) -> None:
        """Charge what the calling thread used since the last tick, as it ends.

        Called in the ending thread itself, so no tick can read its clock afterwards. The
        slice goes to the stack the thread was last sampled in (its work has returned by
        now); a thread never sampled is charged, CPU only, to ``bootstrap_frame``'s stack,
        since its wall time since the last tick is unknown (it may have started after it).
        """
        if not self.sessions:
            return
        ident = threading.get_ident()
        if ident in own_threads:
            return
        with self.tick_lock:
            by_kind = dict(self.sessions)  # no self.lock: see _ExitReportingLock's callers
            if not by_kind:
                return
            self._check_identity(ident)
            used = self._cpu_delta(ident)
            elapsed = time.monotonic_ns() - self._last_tick
            last = self._last_sample.pop(ident, None)
            self._ended.add(ident)
            cpu = by_kind.get("cpu")
            wall = by_kind.get("wall")
            if last is None:
                if cpu is None or used <= 0:
                    return
                stack = self.walker.walk(ident, bootstrap_frame)
                label_key = self._label_key(self._names.get(ident) or str(ident), None, ident)
                cpu.add((stack, label_key), used)
                return
            stack, label_key = last
            if cpu is not None and used > 0:
                cpu.add((stack, label_key), used)
            if wall is not None and elapsed > 0:
                state = "running" if used * 2 >= elapsed else "waiting"
                wall.add((stack, label_key + (("state", state),)), elapsed)

    def _label_key(self, thread_name: str, task, ident: int) -> tuple:
        """Sorted (key, value) labels of a sample: thread, task, then the user's labels."""
        if task is not None:
            labs = labels_of_task(task)
            try:
                task_name = task.get_name()
            except Exception:  # noqa: BLE001 - foreign Task implementations
                task_name = None
        else:
            labs = labels_of_thread(ident)
            task_name = None
        ck = (thread_name, task_name, labs)
        key = self._label_keys.get(ck)
        if key is None:
            merged = {"thread": thread_name}
            if task_name is not None:
                merged["task"] = task_name
            merged.update(labs)
            key = tuple(sorted(merged.items()))
            if len(self._label_keys) > 10_000:
                self._label_keys.clear()
            self._label_keys[ck] = key
        return key

    def _cpu_delta(self, ident: int, first: int | None = None) -> int:
        """CPU ns used by thread ``ident`` since the last reading.

        A thread never read before counts from ``first``: None means from its start (its
        CPU clock starts at 0), 0 just records the current reading.
        """
        clk = self._cpu_clocks.get(ident)
        try:
            if clk is None:
                clk = self._cpu_clocks[ident] = time.pthread_getcpuclockid(ident)
            now = time.clock_gettime_ns(clk)
        except (OSError, OverflowError):
            self._cpu_clocks.pop(ident, None)
            self._cpu_last.pop(ident, None)
            return 0
        last = self._cpu_last.get(ident)
        self._cpu_last[ident] = now
        if last is None:
            return now if first is None else 0
        # A clock that went backwards belongs to a new thread: count it from its start.
        return now - last if now >= last else now

    def _housekeeping(self, alive: Iterable[int]) -> None:
        alive = set(alive)
        for d in (self._cpu_clocks, self._cpu_last, self._seen, self._names, self._last_sample):
            for ident in [i for i in d if i not in alive]:
                del d[ident]
        self._ended &= alive
        self.walker.forget(alive)

    # -- process events ----------------------------------------------------------------

    def after_fork_in_child(self) -> None:
        """Only the forking thread exists in the child: start from nothing."""
        self.lock = threading.Lock()
        self.tick_lock = threading.Lock()
        own_threads.clear()
        _remove_exit_hook()
        self._reset()

    def shutdown(self) -> None:
        """Stop sampling at interpreter exit (sessions are discarded)."""
        with self.lock:
            self.sessions.clear()
            thread, self.thread = self.thread, None
            self.wake.set()
            _remove_exit_hook()
        if thread is not None and thread.is_alive():
            thread.join(timeout=1)


SAMPLER = Sampler()


# -- thread exits ----------------------------------------------------------------------
#
# No public hook runs in a thread as it ends. Every ending ``threading`` thread does take
# ``threading._active_limbo_lock`` on its way out, though: in ``_bootstrap_inner``'s
# ``finally`` (3.9, 3.10) or in ``Thread._delete`` called from there (3.11+), while still
# listed in ``threading._active``. While sampling runs, that module global is replaced by
# a stand-in that delegates to the same lock and, entered from one of those two places,
# first reports the exit. Threads pprofx runs itself are named ``pprofx-…`` and skipped.

_EXIT_CODES = frozenset(
    fn.__code__ for fn in (getattr(threading.Thread, "_bootstrap_inner", None),
                           getattr(threading.Thread, "_delete", None))
    if fn is not None and hasattr(fn, "__code__"))


class _ExitReportingLock:
    """Stand-in for ``threading._active_limbo_lock`` that reports ending threads."""

    __slots__ = ("lock",)

    def __init__(self, lock) -> None:
        self.lock = lock

    def __enter__(self):
        caller = sys._getframe(1)
        if caller.f_code in _EXIT_CODES:
            _report_exit(caller)
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)

    def acquire(self, *args, **kwargs):
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        return self.lock.release()

    def __getattr__(self, name):
        return getattr(self.lock, name)


def _report_exit(caller) -> None:
    try:
        ident = threading.get_ident()
        thread = threading._active.get(ident)  # type: ignore[attr-defined]
        if thread is None or thread.name.startswith("pprofx-"):
            return  # entering at start-up (not listed yet), or one of ours
        if caller.f_locals.get("self") is not thread:
            return  # another thread's bookkeeping, not this thread ending
        bootstrap = caller if caller.f_code.co_name == "_bootstrap_inner" else caller.f_back
        SAMPLER.thread_exiting(bootstrap)
    except Exception as e:  # noqa: BLE001 - a thread's exit must never fail because of us
        SAMPLER._record_error(e)


def _install_exit_hook() -> None:
    current = getattr(threading, "_active_limbo_lock", None)
    if current is not None and _EXIT_CODES and not isinstance(current, _ExitReportingLock):
        threading._active_limbo_lock = _ExitReportingLock(current)  # type: ignore[attr-defined]


def _remove_exit_hook() -> None:
    # A thread inside ``with`` keeps the stand-in it entered, which releases the same lock.
    current = getattr(threading, "_active_limbo_lock", None)
    if isinstance(current, _ExitReportingLock):
        threading._active_limbo_lock = current.lock  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=SAMPLER.after_fork_in_child)
