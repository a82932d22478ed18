"""Block and mutex event records: Go's sampling rules, cumulative counters, profiles, text.

The instrumentation in :mod:`pprofx.runtime.locks` reports two kinds of events here:

* **block** — a thread or task waited ``duration`` ns on a lock, condition, event,
  semaphore or queue. :func:`record_block` applies Go's ``SetBlockProfileRate`` rule
  (rate in ns; 1 records every event; an event of at least ``rate`` ns is always recorded
  with count 1 and its duration; a shorter one is recorded with probability
  duration/rate and then adds ``rate/duration`` to the count and ``rate`` to the delay,
  which keeps both sums unbiased — CL 299991).
* **mutex** — a lock was released while others waited for it; ``delay`` ns is the total
  time they waited while it was held. :func:`record_mutex` applies Go's
  ``SetMutexProfileFraction`` rule (1 in ``fraction`` events on average, scaled when
  recorded: count += fraction, delay += fraction × delay).

Records are keyed by the stack (frame ids of one shared, bounded :class:`FrameTable`,
leaf first) and only ever grow, like Go's. The stack starts at the first frame that is
not pprofx's instrumentation. Both profiles have Go's shape: sample types
contentions/count and delay/nanoseconds, period type contentions/count, period 1, no
labels. Recording never raises: failures are counted in :data:`errors`.
"""

from __future__ import annotations

import _thread
import os
import random
import sys
from types import FrameType

from ..profile import Profile, ProfileBuilder
from .frames import FrameTable
from .sampler import own_threads

CONTENTION_TYPES = [("contentions", "count"), ("delay", "nanoseconds")]
#: Our clock is in nanoseconds, so the legacy text's "cycles" are nanoseconds.
CYCLES_PER_SECOND = 1_000_000_000
MAX_STACKS = 10_000
MAX_DEPTH = 64

#: Current settings (written by :mod:`pprofx.runtime.locks`' API, read here on each event).
block_rate = 0
mutex_fraction = 0
#: Exceptions raised (and swallowed) while recording events.
errors = 0

#: Source files whose frames are the instrumentation's own (never shown in stacks).
own_files: set[str] = set()

_lock = _thread.allocate_lock()  # a raw lock: never instrumented itself
_table = FrameTable(max_frames=50_000)
_by_offset: dict[tuple, tuple] = {}  # (id(code), bytecode offset) -> (code, frame id)
MAX_OFFSETS = 200_000
_block: dict[tuple, list] = {}  # stack -> [count (float), delay ns (int)]
_mutex: dict[tuple, list] = {}
_busy: set[int] = set()  # threads inside a recording call (no re-entry)
_rng = random.Random()


def _stack(frame: FrameType | None) -> tuple:
    f = frame
    while f is not None and f.f_code.co_filename in own_files:
        f = f.f_back
    ids: list[int] = []
    known = _by_offset
    n = 0
    while f is not None and n < MAX_DEPTH:
        # f_lineno decodes the line table and hashing a code object hashes its contents;
        # the code's id and the bytecode offset are plain reads (the code kept in the
        # value guards against a reused id)
        code = f.f_code
        got = known.get((id(code), f.f_lasti))
        if got is None or got[0] is not code:
            got = (code, _table.intern(f, code, f.f_lineno))
            if len(known) < MAX_OFFSETS:
                known[(id(code), f.f_lasti)] = got
        ids.append(got[1])
        f = f.f_back
        n += 1
    if f is not None:
        ids.append(0)  # the truncation marker
    return tuple(ids)


def _add(records: dict, frame: FrameType | None, count: float, delay: int) -> None:
    global errors
    me = _thread.get_ident()
    if me in _busy or me in own_threads:
        return
    _busy.add(me)
    try:
        with _lock:
            stack = _stack(frame)
            rec = records.get(stack)
            if rec is None:
                if len(records) >= MAX_STACKS:
                    stack = (1,)  # the overflow marker
                    rec = records.get(stack)
                if rec is None:
                    rec = records[stack] = [0.0, 0]
            rec[0] += count
            rec[1] += delay
    except Exception:  # noqa: BLE001 - recording must never fail the program
        errors += 1
    finally:
        _busy.discard(me)


def record_block(duration: int, frame: FrameType | None) -> None:
    """Record that the code at ``frame`` was blocked ``duration`` ns (Go's rate rule)."""
    rate = block_rate
    if rate <= 0:
        return
    if duration <= 0:
        duration = 1
    if duration < rate:
        if _rng.random() * rate >= duration:
            return
        _add(_block, frame, rate / duration, rate)
    else:
        _add(_block, frame, 1.0, duration)


def record_mutex(delay: int, frame: FrameType | None) -> None:
    """Record that the lock released at ``frame`` made others wait ``delay`` ns in total."""
    fraction = mutex_fraction
    if fraction <= 0 or delay <= 0:
        return
    if fraction > 1 and _rng.random() * fraction >= 1.0:
        return
    _add(_mutex, frame, float(fraction), fraction * delay)


def add_mutex(count: float, delay: int, frame: FrameType | None) -> None:
    """Add an already sampled and scaled mutex event (the thread-lock wrappers sample
    before measuring, to skip the work for events that would be dropped)."""
    _add(_mutex, frame, count, delay)


def _profile(records: dict, since: dict | None = None) -> Profile:
    b = ProfileBuilder(CONTENTION_TYPES, ("contentions", "count"), 1,
                       mapping_filename=sys.argv[0] if sys.argv and sys.argv[0] else "python")
    with _lock:
        items = [(stack, int(rec[0]), rec[1]) for stack, rec in records.items()]
        if since is not None:  # godeltaprof: the change since the previous call, then remember
            now = {stack: (count, delay) for stack, count, delay in items}
            items = [(stack, count - since.get(stack, (0, 0))[0], delay - since.get(stack, (0, 0))[1])
                     for stack, count, delay in items]
            items = [it for it in items if it[1] or it[2]]
            since.clear()
            since.update(now)
    cache: dict = {}
    for stack, count, delay in items:
        b.add(_table.stack_locations(b, stack, cache), [count, delay])
    return b.build()


def block_profile() -> Profile:
    """Cumulative time blocked, by waiting stack (contentions/count, delay/nanoseconds)."""
    return _profile(_block)


def mutex_profile() -> Profile:
    """Cumulative contention delay, by the stack that released the contended lock."""
    return _profile(_mutex)


_since_block: dict[tuple, tuple[int, int]] = {}
_since_mutex: dict[tuple, tuple[int, int]] = {}


def delta_block_profile() -> Profile:
    """The block profile's change since the previous call (godeltaprof's ``delta_block``;
    the first call returns the totals). State is process-wide: one consumer at a time."""
    return _profile(_block, _since_block)


def delta_mutex_profile() -> Profile:
    """The mutex profile's change since the previous call (godeltaprof's ``delta_mutex``)."""
    return _profile(_mutex, _since_mutex)


def _reinit_after_fork() -> None:
    global _lock
    _lock = _thread.allocate_lock()
    _busy.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
