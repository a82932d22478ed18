"""Lock instrumentation behind the block and mutex profiles, and its Go-style API.

Off by default, and then nothing is wrapped. :func:`set_block_profile_rate` and
:func:`set_mutex_profile_fraction` (Go's ``SetBlockProfileRate`` /
``SetMutexProfileFraction``) install it when either becomes positive and remove it when
both are off again:

* ``threading.Lock`` and ``threading.RLock`` become :class:`ProfiledLock` /
  :class:`ProfiledRLock`, so every lock created afterwards — by the application, by
  ``threading`` itself (``Condition``, ``Event``, ``Semaphore``, ``Barrier`` take theirs
  from these names) and by ``queue``, ``concurrent.futures``, ``logging`` — is a thin
  wrapper around a real lock. Locks that already exist stay plain; so do locks made
  through ``_thread.allocate_lock`` or names bound with ``from threading import Lock``
  before enabling. Disabling restores the factories; existing wrappers keep working.
* ``threading.Condition.wait`` is timed (block profile only): ``Event.wait``,
  ``Semaphore.acquire``, ``Barrier.wait`` and ``queue.Queue`` get/put block there,
  including on objects created before enabling.
* ``asyncio.Lock.acquire/release``, ``Event.wait``, ``Condition.wait``,
  ``Semaphore.acquire`` and ``Queue.get/put`` are timed when they actually suspend.

A wrapper's uncontended acquire is one non-blocking acquire of the real lock; only when
that fails is the wait timed. Waiters note on the lock when they started waiting; the
thread that releases a lock with waiters charges the time they waited (since they started,
or since the previous charge) to its own stack as a mutex event (Go ≥ 1.22's model: a lock
held 10 ms while 4 threads wait costs its holder 40 ms). Errors in the bookkeeping
are swallowed and counted in ``contention.errors``; the lock operations themselves behave
exactly as the real lock's.

Two implementations of the wrappers behave the same: the C types of
``pprofx.runtime._locks_c`` (pprofx/_native/profiledlock.c), whose uncontended acquire and
release run no Python code, used when the extension is built, and the pure-Python
:class:`ProfiledLock` / :class:`ProfiledRLock` below (the specification, and the fallback).
:data:`backend` says which one enabling installs.
"""

from __future__ import annotations

import _thread
import asyncio
import os
import sys
import threading
import time
from typing import Any

from . import contention

try:  # the C twin of the wrappers, built from pprofx/_native/profiledlock.c
    from . import _locks_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by the fallback test run
    _locks_c = None

_now = time.perf_counter_ns
_random = contention._rng.random
_api = _thread.allocate_lock()   # guards install/uninstall
_PLAIN_LOCK = _thread.allocate_lock
_PLAIN_RLOCK = _thread.RLock
_LOCK_TYPE = _thread.LockType
contention.own_files.add(__file__)
if __file__.endswith(".pyc"):  # pragma: no cover - code objects name the source file
    contention.own_files.add(__file__[:-1])

_ORIG_COND_WAIT = threading.Condition.wait
_COND_ACQUIRE_RESTORE = threading.Condition._acquire_restore.__code__  # type: ignore[attr-defined]


# -- waiter bookkeeping (shared by both wrappers) --------------------------------------------
#
# A lock's ``_waiters`` maps a token per waiting thread to the time it started waiting
# (single dict operations: atomic under the GIL, so no extra lock). A release that finds
# waiters charges each one's wait since it began or since the previous charge, whichever
# is later, and moves ``_last`` to now: every waited nanosecond is charged once, to the
# holder of the lock at the time.


def _charge(lk: Any, depth: int = 2) -> None:
    """The releasing thread (the caller's caller; ``depth`` 1 from the C wrappers) charges
    the waiting since the last charge to its stack, as one mutex event sampled 1 in
    ``mutex_fraction``."""
    try:
        now = _now()
        last = lk._last
        lk._last = now
        fraction = contention.mutex_fraction
        if fraction <= 0 or (fraction > 1 and _random() * fraction >= 1.0):
            return
        delay = 0
        for start in list(lk._waiters.values()):
            delay += now - (start if start > last else last)
        if delay > 0:
            contention.add_mutex(fraction, fraction * delay, sys._getframe(depth))
    except Exception:  # noqa: BLE001 - never raise into the program
        contention.errors += 1


def _wait_slow(lk: Any, inner_acquire: Any, timeout: float, frame: Any) -> bool:
    """A blocking acquire that failed its non-blocking attempt: time the wait."""
    track = contention.mutex_fraction > 0
    t0 = _now()
    if track:
        token = object()
        waiters = lk._waiters
        waiters[token] = t0
    try:
        ok = inner_acquire(True, timeout)
    finally:
        t1 = _now()
        if track:
            waiters.pop(token, None)
    if contention.block_rate > 0:
        try:
            # Condition.wait re-acquiring its lock is part of the wait it times itself.
            if frame is None or frame.f_code is not _COND_ACQUIRE_RESTORE:
                contention.record_block(t1 - t0, frame)
        except Exception:  # noqa: BLE001
            contention.errors += 1
    return ok


def _restore_slow(lk: Any, inner: Any, state: Any) -> None:
    """``RLock._acquire_restore`` that could not take the lock at once: wait as a waiter."""
    token = object()
    if contention.mutex_fraction > 0:
        lk._waiters[token] = _now()
    try:
        inner._acquire_restore(state)
    finally:
        lk._waiters.pop(token, None)


def _acquire_args(lk: Any, blocking: bool, timeout: float) -> bool:
    inner = lk._lock
    if not blocking or (timeout < 0 and timeout != -1):  # the real lock validates these
        return inner.acquire(blocking, timeout)
    if inner.acquire(False):
        return True
    return _wait_slow(lk, inner.acquire, timeout, sys._getframe(2))


# -- the wrappers ---------------------------------------------------------------------


class _AnyLock(type):
    """``isinstance(x, threading.Lock)`` (a type on 3.13+) holds for plain and profiled locks
    (of either backend)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return (type.__instancecheck__(cls, obj) or isinstance(obj, _LOCK_TYPES)
                or type.__instancecheck__(ProfiledLock, obj))


class ProfiledLock(metaclass=_AnyLock):
    """``threading.Lock`` while lock profiling is on: a real lock plus waiter bookkeeping."""

    __slots__ = ("_lock", "_waiters", "_last", "__weakref__")

    def __init__(self) -> None:
        self._lock = _PLAIN_LOCK()
        self._waiters: dict = {}
        self._last = 0

    def __enter__(self) -> bool:
        inner = self._lock
        if inner.acquire(False):
            return True
        return _wait_slow(self, inner.acquire, -1, sys._getframe(1))

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking is not True or timeout != -1:
            return _acquire_args(self, blocking, timeout)
        inner = self._lock
        if inner.acquire(False):
            return True
        return _wait_slow(self, inner.acquire, -1, sys._getframe(1))

    def release(self) -> None:
        self._lock.release()
        if self._waiters:
            _charge(self)

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        self._lock.release()
        if self._waiters:
            _charge(self)

    acquire_lock = acquire
    release_lock = release

    def locked(self) -> bool:
        return self._lock.locked()

    locked_lock = locked

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._waiters.clear()

    def __repr__(self) -> str:
        state = "locked" if self._lock.locked() else "unlocked"
        return f"<{state} pprofx.ProfiledLock object at {id(self):#x}>"


class ProfiledRLock:
    """``threading.RLock`` while lock profiling is on (wraps the C ``RLock``)."""

    __slots__ = ("_lock", "_waiters", "_last", "__weakref__")

    def __init__(self) -> None:
        self._lock = _PLAIN_RLOCK()
        self._waiters: dict = {}
        self._last = 0

    def __enter__(self) -> bool:
        inner = self._lock
        if inner.acquire(False):
            return True
        return _wait_slow(self, inner.acquire, -1, sys._getframe(1))

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking is not True or timeout != -1:
            return _acquire_args(self, blocking, timeout)
        inner = self._lock
        if inner.acquire(False):
            return True
        return _wait_slow(self, inner.acquire, -1, sys._getframe(1))

    def release(self) -> None:
        inner = self._lock
        inner.release()
        if self._waiters and not inner._is_owned():
            _charge(self)

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        inner = self._lock
        inner.release()
        if self._waiters and not inner._is_owned():
            _charge(self)

    def _is_owned(self) -> bool:
        return self._lock._is_owned()

    def _release_save(self) -> Any:
        state = self._lock._release_save()
        if self._waiters:
            _charge(self)
        return state

    def _acquire_restore(self, state: Any) -> None:
        inner = self._lock
        if state[0] == 1 and inner.acquire(False):  # (count, owner): one level, ours
            return
        _restore_slow(self, inner, state)

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._waiters.clear()

    def __getattr__(self, name: str) -> Any:  # _recursion_count, locked (3.14), …
        if name == "_lock":
            raise AttributeError(name)
        return getattr(self._lock, name)

    def __repr__(self) -> str:
        return repr(self._lock).replace("_thread.RLock", "pprofx.ProfiledRLock", 1)


_LOCK_TYPES: tuple = (_LOCK_TYPE,)
CProfiledLock: Any = None
CProfiledRLock: Any = None
if _locks_c is not None:
    _locks_c.configure(wait_slow=_wait_slow, charge=_charge, restore_slow=_restore_slow,
                       lock_factory=_PLAIN_LOCK, rlock_factory=_PLAIN_RLOCK)
    _LOCK_TYPES = (_LOCK_TYPE, _locks_c.ProfiledLock)

    class CProfiledLock(_locks_c.ProfiledLock, metaclass=_AnyLock):  # type: ignore[no-redef]
        """``threading.Lock`` while lock profiling is on: the C twin of :class:`ProfiledLock`
        (this subclass only adds the ``isinstance`` rule of the metaclass)."""

        __slots__ = ()

    CProfiledRLock = _locks_c.ProfiledRLock

#: The wrappers enabling installs: ``"c"`` (the default when ``_locks_c`` is built) or
#: ``"python"``. Read when the wrappers are installed; tests and benchmarks set it while off.
backend = "c" if _locks_c is not None else "python"


def wrapper_types(which: str | None = None) -> tuple[Any, Any]:
    """The ``(Lock, RLock)`` wrapper classes of backend ``which`` (default :data:`backend`)."""
    which = backend if which is None else which
    if which == "python":
        return ProfiledLock, ProfiledRLock
    if which == "c":
        if CProfiledLock is None:
            raise RuntimeError("the C lock wrappers (pprofx.runtime._locks_c) are not built")
        return CProfiledLock, CProfiledRLock
    raise ValueError(f"unknown lock backend {which!r}: expected 'c' or 'python'")


def _cond_wait(self: threading.Condition, timeout: float | None = None) -> bool:
    """``threading.Condition.wait`` timed as one block event (notify wait + re-acquire)."""
    if contention.block_rate <= 0 or (timeout is not None and timeout <= 0):
        return _ORIG_COND_WAIT(self, timeout)
    t0 = _now()
    result = _ORIG_COND_WAIT(self, timeout)
    try:
        contention.record_block(_now() - t0, sys._getframe(1))
    except Exception:  # noqa: BLE001
        contention.errors += 1
    return result


_cond_wait.__doc__ = _ORIG_COND_WAIT.__doc__


# -- asyncio ----------------------------------------------------------------------------

_A_LOCK_ACQUIRE = asyncio.Lock.acquire
_A_LOCK_RELEASE = asyncio.Lock.release
_A_EVENT_WAIT = asyncio.Event.wait
_A_COND_WAIT = asyncio.Condition.wait
_A_SEM_ACQUIRE = asyncio.Semaphore.acquire
_A_QUEUE_GET = asyncio.Queue.get
_A_QUEUE_PUT = asyncio.Queue.put
_A_COND_WAIT_CODE = _A_COND_WAIT.__code__


def _a_block(t0: int, frame: Any) -> None:
    if contention.block_rate > 0:
        try:
            contention.record_block(_now() - t0, frame)
        except Exception:  # noqa: BLE001
            contention.errors += 1


async def _a_lock_acquire(self: asyncio.Lock) -> bool:
    if not self._locked and not self._waiters:  # type: ignore[attr-defined]
        return await _A_LOCK_ACQUIRE(self)
    acct = self.__dict__.get("_pprofx_wait")
    if acct is None:
        acct = self.__dict__["_pprofx_wait"] = [0, 0, 0]  # waiters, since, accumulated
    track = contention.mutex_fraction > 0
    t0 = _now()
    if track:
        acct[2] += acct[0] * (t0 - acct[1])
        acct[1] = t0
        acct[0] += 1
    try:
        return await _A_LOCK_ACQUIRE(self)
    finally:
        if track:
            t1 = _now()
            acct[2] += acct[0] * (t1 - acct[1])
            acct[1] = t1
            acct[0] -= 1
        frame = sys._getframe(0).f_back
        if frame is None or frame.f_code is not _A_COND_WAIT_CODE:
            _a_block(t0, sys._getframe(0))


def _a_lock_release(self: asyncio.Lock) -> None:
    _A_LOCK_RELEASE(self)
    acct = self.__dict__.get("_pprofx_wait")
    if acct is not None and (acct[0] or acct[2]):
        try:
            now = _now()
            delay = acct[2] + acct[0] * (now - acct[1])
            acct[1] = now
            acct[2] = 0
            if delay > 0 and contention.mutex_fraction > 0:
                contention.record_mutex(delay, sys._getframe(1))
        except Exception:  # noqa: BLE001
            contention.errors += 1


async def _a_event_wait(self: asyncio.Event) -> bool:
    if self.is_set():
        return True
    t0 = _now()
    try:
        return await _A_EVENT_WAIT(self)
    finally:
        _a_block(t0, sys._getframe(0))


async def _a_cond_wait(self: asyncio.Condition) -> bool:
    t0 = _now()
    try:
        return await _A_COND_WAIT(self)
    finally:
        _a_block(t0, sys._getframe(0))


async def _a_sem_acquire(self: asyncio.Semaphore) -> bool:
    if not self.locked():
        return await _A_SEM_ACQUIRE(self)
    t0 = _now()
    try:
        return await _A_SEM_ACQUIRE(self)
    finally:
        _a_block(t0, sys._getframe(0))


async def _a_queue_get(self: asyncio.Queue) -> Any:
    if not self.empty():
        return await _A_QUEUE_GET(self)
    t0 = _now()
    try:
        return await _A_QUEUE_GET(self)
    finally:
        _a_block(t0, sys._getframe(0))


async def _a_queue_put(self: asyncio.Queue, item: Any) -> None:
    if not self.full():
        return await _A_QUEUE_PUT(self, item)
    t0 = _now()
    try:
        return await _A_QUEUE_PUT(self, item)
    finally:
        _a_block(t0, sys._getframe(0))


_ASYNC_PATCHES = [
    (asyncio.Lock, "acquire", _A_LOCK_ACQUIRE, _a_lock_acquire),
    (asyncio.Lock, "release", _A_LOCK_RELEASE, _a_lock_release),
    (asyncio.Event, "wait", _A_EVENT_WAIT, _a_event_wait),
    (asyncio.Condition, "wait", _A_COND_WAIT, _a_cond_wait),
    (asyncio.Semaphore, "acquire", _A_SEM_ACQUIRE, _a_sem_acquire),
    (asyncio.Queue, "get", _A_QUEUE_GET, _a_queue_get),
    (asyncio.Queue, "put", _A_QUEUE_PUT, _a_queue_put),
]
for _cls, _name, _orig, _new in _ASYNC_PATCHES:
    _new.__doc__ = _orig.__doc__
    _new.__qualname__ = _orig.__qualname__


# -- install / uninstall, API ---------------------------------------------------------------

_saved: dict[str, Any] = {}


def _apply() -> None:
    """Make the installed patches match the current rate and fraction (holding ``_api``)."""
    want_locks = contention.block_rate > 0 or contention.mutex_fraction > 0
    want_cond = contention.block_rate > 0
    if want_locks and "Lock" not in _saved:
        lock_type, rlock_type = wrapper_types()
        _saved["Lock"], _saved["RLock"] = threading.Lock, threading.RLock
        threading.Lock = lock_type  # type: ignore[misc,assignment]
        threading.RLock = rlock_type  # type: ignore[misc,assignment]
        for cls, name, _orig, new in _ASYNC_PATCHES:
            setattr(cls, name, new)
    elif not want_locks and "Lock" in _saved:
        threading.Lock = _saved.pop("Lock")  # type: ignore[misc]
        threading.RLock = _saved.pop("RLock")  # type: ignore[misc]
        for cls, name, orig, _new in _ASYNC_PATCHES:
            setattr(cls, name, orig)
    if want_cond and "Condition.wait" not in _saved:
        _saved["Condition.wait"] = threading.Condition.wait
        threading.Condition.wait = _cond_wait  # type: ignore[method-assign]
    elif not want_cond and "Condition.wait" in _saved:
        threading.Condition.wait = _saved.pop("Condition.wait")  # type: ignore[method-assign]


def set_block_profile_rate(rate: int) -> int:
    """Go's ``runtime.SetBlockProfileRate``: sample blocking events, ``rate`` in ns.

    ``rate <= 0`` turns the block profile off (the default), 1 records every event, and
    otherwise on average one event per ``rate`` ns spent blocked is recorded (events of at
    least ``rate`` ns always). Returns the previous rate. Locks created from now on are
    instrumented; see the module docstring for what is covered.
    """
    rate = int(rate)
    with _api:
        prev = contention.block_rate
        contention.block_rate = max(rate, 0)
        _apply()
    return prev


def set_mutex_profile_fraction(fraction: int) -> int:
    """Go's ``runtime.SetMutexProfileFraction``: record 1 in ``fraction`` contention events.

    0 turns the mutex profile off (the default); a negative value only reads the current
    fraction. Returns the previous fraction.
    """
    fraction = int(fraction)
    with _api:
        prev = contention.mutex_fraction
        if fraction >= 0:
            contention.mutex_fraction = fraction
            _apply()
    return prev


def installed() -> bool:
    """True while lock wrappers are installed (block or mutex profiling on)."""
    return "Lock" in _saved


def _reinit_after_fork() -> None:
    global _api
    _api = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
