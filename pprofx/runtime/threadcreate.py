"""The threadcreate profile: the stacks that started threads, with counts.

Go counts the OS threads its runtime created; in Python the interesting event is
``threading.Thread.start``. :func:`install` wraps ``Thread.start`` (once per process; the
agent does it at start-up) so every start records its caller's stack — one stack capture per
thread start, nothing per tick. Counts are cumulative (threads that already ended included),
so the profile only grows and a growing count at one stack is a thread leak's signature.
:func:`created_by` tells where a given live thread was started, for the ``debug=2`` dump.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

from ..profile import Profile, ProfileBuilder
from .frames import FrameTable

_lock = threading.Lock()
_table = FrameTable(max_frames=20_000)
_counts: dict[tuple, int] = {}
_origin: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # thread -> (stack, creator)
_original_start = None
MAX_STACKS = 10_000
MAX_DEPTH = 64


def _stack(frame) -> tuple:
    ids = []
    f = frame
    while f is not None and len(ids) < MAX_DEPTH:
        ids.append(_table.intern(f, f.f_code, f.f_lineno))
        f = f.f_back
    if f is not None:
        ids.append(0)  # the truncation marker
    return tuple(ids)


def _recording_start(self: threading.Thread, *args: Any, **kwargs: Any) -> Any:
    if self.name.startswith("pprofx-"):  # the profiler's own threads are not the program's
        return _original_start(self, *args, **kwargs)  # type: ignore[misc]
    try:
        stack = _stack(sys._getframe(1))
        with _lock:
            if stack in _counts or len(_counts) < MAX_STACKS:
                _counts[stack] = _counts.get(stack, 0) + 1
            _origin[self] = (stack, threading.current_thread().name)
    except Exception:  # noqa: BLE001 - recording must never stop a thread from starting
        pass
    return _original_start(self, *args, **kwargs)  # type: ignore[misc]


def install() -> None:
    """Start recording thread creation (idempotent)."""
    global _original_start
    with _lock:
        if _original_start is None:
            _original_start = threading.Thread.start
            threading.Thread.start = _recording_start  # type: ignore[method-assign]


def uninstall() -> None:
    """Stop recording and restore ``Thread.start``; recorded counts are kept."""
    global _original_start
    with _lock:
        if _original_start is not None:
            threading.Thread.start = _original_start  # type: ignore[method-assign]
            _original_start = None


def installed() -> bool:
    return _original_start is not None


def threadcreate_profile() -> Profile:
    """threadcreate/count by creating stack (period type threadcreate/count, period 1)."""
    b = ProfileBuilder([("threadcreate", "count")], ("threadcreate", "count"), 1,
                       mapping_filename=sys.argv[0] if sys.argv and sys.argv[0] else "python")
    with _lock:
        counts = list(_counts.items())
    cache: dict = {}
    for stack, n in counts:
        b.add(_table.stack_locations(b, stack, cache), [n])
    return b.build()


def created_by(thread: threading.Thread) -> tuple[str, str, int, str] | None:
    """(function, file, line, creating thread's name) of where ``thread`` was started."""
    with _lock:
        got = _origin.get(thread)
    if not got or not got[0]:
        return None
    name, _system, filename, _start, line = _table.info[got[0][0]]
    return name, filename, line, got[1]
