"""The goroutine-equivalent profile: one sample group per distinct thread stack.

Every Python thread (pprofx's own excepted) is counted under its current stack and the
labels it published with :func:`pprofx.labels`; identical (stack, labels) pairs are
grouped, as Go's goroutine profile groups goroutines. ``dump_threads`` is the ``debug=2``
counterpart: every thread's full stack with its name and ident, like Go's panic dump.

asyncio tasks that are not running are not yet included (their await chains come with the
thread/task profile work); a running task is part of its thread's stack.
"""

from __future__ import annotations

import sys
import threading

from ..profile import Profile, ProfileBuilder
from .frames import FrameTable, StackWalker
from .labels import labels_of_thread
from .sampler import own_threads


def _thread_stacks() -> list[tuple[int, str, bool, object]]:
    """(ident, name, daemon, frame) of every thread but pprofx's own and the caller's helpers."""
    frames = sys._current_frames()
    threads = {t.ident: t for t in threading.enumerate()}
    out = []
    for ident, frame in frames.items():
        if ident in own_threads:
            continue
        t = threads.get(ident)
        out.append((ident, t.name if t else f"Thread-{ident}", bool(t and t.daemon), frame))
    return out


def goroutine_profile() -> Profile:
    """Thread counts by (stack, labels): goroutine/count, period type goroutine/count, 1."""
    table = FrameTable()
    walker = StackWalker(table)
    b = ProfileBuilder([("goroutine", "count")], ("goroutine", "count"), 1,
                       mapping_filename=sys.argv[0] if sys.argv and sys.argv[0] else "python")
    cache: dict = {}
    for ident, _name, _daemon, frame in _thread_stacks():
        stack = table.stack_locations(b, walker.walk(ident, frame), cache)
        b.add(stack, [1], dict(labels_of_thread(ident)))
    return b.build()


def dump_threads() -> str:
    """Every thread's stack, innermost call first, in the layout of Go's ``debug=2`` dump."""
    blocks = []
    current = threading.get_ident()
    for ident, name, daemon, frame in _thread_stacks():
        state = "running" if ident == current else "alive"
        head = f"goroutine {ident} [{state}]: thread {name!r}" + (" daemon" if daemon else "")
        lines = [head]
        f = frame
        while f is not None:
            code = f.f_code
            qual = getattr(code, "co_qualname", code.co_name)
            module = f.f_globals.get("__name__", "")
            lines.append(f"{module}.{qual}(...)" if module else f"{qual}(...)")
            lines.append(f"\t{code.co_filename}:{f.f_lineno}")
            f = f.f_back
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
