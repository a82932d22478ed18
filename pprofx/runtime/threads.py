"""The goroutine-equivalent profile: every thread and every asyncio task, grouped by stack.

Go's goroutine profile is where an engineer sees what every goroutine is doing or waiting
on. In Python the units are threads and asyncio tasks:

* every thread (pprofx's own excepted) counts once under its current stack; a task that is
  running right now is part of its thread's stack;
* every other task of every running event loop counts once under its **await chain**: the
  coroutine frames it is suspended in, innermost first (``cr_await``/``gi_yieldfrom``).

Event loops are found in the threads' stacks (the ``self`` of ``run_forever``), so loops
in any thread are covered. Identical (stack, labels) pairs are grouped with their count, as
Go does; labels are those set with :func:`pprofx.labels`, plus, for a thread started while
threadcreate recording was on, ``created_by`` = ``"<function> <file>:<line>"`` of the code
that started it (a Python addition: it names the site behind a thread leak).
``dump_threads`` is the ``debug=2`` counterpart: every thread and task with its name, state
and full stack.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from types import FrameType

from ..profile import Profile, ProfileBuilder
from .frames import FrameTable, StackWalker
from .labels import labels_of_task, labels_of_thread
from .sampler import own_threads
from .threadcreate import created_by

_RUN_FOREVER = asyncio.BaseEventLoop.run_forever.__code__


def _thread_stacks() -> list[tuple[int, str, bool, FrameType]]:
    """(ident, name, daemon, frame) of every thread but pprofx's own."""
    frames = sys._current_frames()
    threads = {t.ident: t for t in threading.enumerate()}
    out = []
    for ident, frame in frames.items():
        if ident in own_threads:
            continue
        t = threads.get(ident)
        out.append((ident, t.name if t else f"Thread-{ident}", bool(t and t.daemon), frame))
    return out


def _loop_of(frame: FrameType | None) -> asyncio.AbstractEventLoop | None:
    """The event loop whose ``run_forever`` is on this stack, if any."""
    f = frame
    while f is not None:
        if f.f_code is _RUN_FOREVER:
            try:
                loop = f.f_locals.get("self")
            except Exception:  # noqa: BLE001 - a foreign frame's locals can fail to read
                return None
            return loop if isinstance(loop, asyncio.AbstractEventLoop) else None
        f = f.f_back
    return None


def await_chain(task: asyncio.Task) -> list[FrameType]:
    """The frames a suspended task waits in, innermost first (empty when it has none)."""
    chain = []
    obj = task.get_coro()
    seen = 0
    while obj is not None and seen < 256:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if frame is not None:
            chain.append(frame)
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
        seen += 1
    chain.reverse()
    return chain


def _tasks(threads) -> list[tuple[asyncio.Task, str]]:
    """(task, state) of the tasks of every loop running in ``threads``, not running now."""
    out = []
    for _ident, _name, _daemon, frame in threads:
        loop = _loop_of(frame)
        if loop is None:
            continue
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed under us: try once more
            tasks = list(asyncio.all_tasks(loop))
        current = getattr(asyncio.tasks, "_current_tasks", {}).get(loop)
        for task in tasks:
            if task is current:
                continue  # running: its frames are in the thread's stack
            out.append((task, "waiting"))
    return out


def goroutine_profile() -> Profile:
    """Thread and task counts by (stack, labels): goroutine/count, period goroutine/count 1."""
    table = FrameTable()
    walker = StackWalker(table)
    b = ProfileBuilder([("goroutine", "count")], ("goroutine", "count"), 1,
                       mapping_filename=sys.argv[0] if sys.argv and sys.argv[0] else "python")
    cache: dict = {}
    threads = _thread_stacks()
    by_ident = {t.ident: t for t in threading.enumerate()}
    for ident, _name, _daemon, frame in threads:
        stack = table.stack_locations(b, walker.walk(ident, frame), cache)
        labels = dict(labels_of_thread(ident))
        origin = created_by(by_ident[ident]) if ident in by_ident else None
        if origin is not None:  # where the thread was started (threadcreate), for leak hunts
            labels.setdefault("created_by", f"{origin[0]} {origin[1]}:{origin[2]}")
        b.add(stack, [1], labels)
    for task, _state in _tasks(threads):
        ids = tuple(table.intern(f, f.f_code, f.f_lineno) for f in await_chain(task))
        b.add(table.stack_locations(b, ids, cache), [1], dict(labels_of_task(task)))
    return b.build()


def _frame_lines(frames) -> list[str]:
    lines = []
    for f in frames:
        code = f.f_code
        qual = getattr(code, "co_qualname", code.co_name)
        module = f.f_globals.get("__name__", "")
        lines.append(f"{module}.{qual}(...)" if module else f"{qual}(...)")
        lines.append(f"\t{code.co_filename}:{f.f_lineno}")
    return lines


def dump_threads() -> str:
    """Every thread's and task's stack, innermost call first, like Go's ``debug=2`` dump."""
    blocks = []
    current = threading.get_ident()
    threads = _thread_stacks()
    by_ident = {t.ident: t for t in threading.enumerate()}
    for ident, name, daemon, frame in threads:
        state = "running" if ident == current else "alive"
        head = f"goroutine {ident} [{state}]: thread {name!r}" + (" daemon" if daemon else "")
        chain = []
        f = frame
        while f is not None:
            chain.append(f)
            f = f.f_back
        lines = [head, *_frame_lines(chain)]
        origin = created_by(by_ident[ident]) if ident in by_ident else None
        if origin is not None:
            fn, filename, line, creator = origin
            lines += [f"created by {fn} in thread {creator!r}", f"\t{filename}:{line}"]
        blocks.append("\n".join(lines))
    for task, state in _tasks(threads):
        head = f"goroutine {id(task)} [{state}]: task {task.get_name()!r}"
        blocks.append("\n".join([head, *_frame_lines(await_chain(task))]))
    return "\n\n".join(blocks) + "\n"
