"""The heap profiler's pure-Python twin: records from :mod:`tracemalloc`, the slow path.

Used when the C allocator hook (``pprofx.runtime._heap_c``) is not built, or when asked for
(``backend="tracemalloc"``). tracemalloc traces *every* allocation with its stack, which
costs several times the program's own allocation work (DESIGN §8: ~10x on allocation-heavy
code), so the heap module logs one line and puts a comment in each profile when this path is
used. Values are exact (Go's rate 1: no sampling, no unsampling), and the records have the
same shape as the C backend's, so the profiles do too:

* in use (``inuse_*``): tracemalloc's live traces, grouped by stack, at each observation;
* allocated (``alloc_*``): tracemalloc keeps no history, so cumulative allocations are
  emulated from observations: a stack's counts grow by its increase in live objects and bytes
  since the previous observation (the first one counts all it sees). Every profile taken is
  an observation, and so is :meth:`TracemallocSampler.stop`; allocations that live and die
  entirely between two observations are not seen.

Frames come as ``(filename, line)``; :func:`pprofx.runtime.heap_names.line_info` gives the
function names. If tracemalloc was already tracing when started (the program uses it), the
sampler reads it but neither restarts nor stops it.
"""

from __future__ import annotations

import os
import tracemalloc

from . import heap_names
from .frames import TRUNCATED

#: Synthetic frame of stacks beyond ``max_stacks`` (same name as the C backend's).
OVERFLOW = "[pprofx: too many distinct stacks]"
# Allocations whose innermost frame is in these files are the profiler's own.
_SELF_FILES = (tracemalloc.__file__, __file__, heap_names.__file__,
               os.path.join(os.path.dirname(__file__), "heap.py"))

#: A frame: (name, system_name, filename, start_line, line).
FrameInfo = tuple[str, str, str, int, int]


class TracemallocSampler:
    """Owns the tracemalloc session and the emulated cumulative counts; not thread-safe
    (the heap module serialises calls)."""

    def __init__(self, max_depth: int = 128, max_stacks: int = 16384) -> None:
        self.max_depth = max_depth
        self.max_stacks = max_stacks
        self.owned = False
        self.running = False
        self.dropped_stacks = 0
        # stack key (tuple of (filename, line) leaf first, + None if truncated) -> values
        self._alloc: dict[tuple, list[int]] = {}
        self._live: dict[tuple, tuple[int, int]] = {}
        self._names: dict[tuple[str, int], FrameInfo] = {}

    def start(self) -> None:
        if self.running:
            return
        self._alloc.clear()
        self._live.clear()
        self.dropped_stacks = 0
        if tracemalloc.is_tracing():
            self.owned = False
        else:
            tracemalloc.start(self.max_depth)
            self.owned = True
        self.running = True

    def stop(self) -> None:
        """Take a last observation (kept as the frozen data), then stop tracing if ours."""
        if not self.running:
            return
        self.observe()
        if self.owned and tracemalloc.is_tracing():
            tracemalloc.stop()
        self.owned = False
        self.running = False

    def observe(self) -> None:
        """Read tracemalloc's live traces and update the in-use and cumulative counts."""
        if not self.running or not tracemalloc.is_tracing():
            return
        snap = tracemalloc.take_snapshot()
        limit = tracemalloc.get_traceback_limit()
        live: dict[tuple, tuple[int, int]] = {}
        known = len(self._alloc)
        # group first, then drop the profiler's own groups (Snapshot.filter_traces matches
        # every trace with fnmatch: tens of seconds for a few ten thousand traces)
        for stat in snap.statistics("traceback"):
            tb = stat.traceback
            if len(tb) and tb[-1].filename in _SELF_FILES:
                continue
            frames = [(f.filename, f.lineno) for f in reversed(tb)]  # leaf first
            # statistics() drops total_nframe: a stack as long as the limit may be cut
            if len(frames) >= limit > 1:
                frames.append(None)  # type: ignore[arg-type]
            key = tuple(frames)
            if key not in live and key not in self._alloc:
                if known >= self.max_stacks:
                    self.dropped_stacks += 1
                    key = (OVERFLOW,)
                else:
                    known += 1
            c, s = live.get(key, (0, 0))
            live[key] = (c + stat.count, s + stat.size)
        prev = self._live
        for key, (c, s) in live.items():
            pc, ps = prev.get(key, (0, 0))
            acc = self._alloc.get(key)
            if acc is None:
                acc = self._alloc[key] = [0, 0]
            if c > pc:
                acc[0] += c - pc
            if s > ps:
                acc[1] += s - ps
        self._live = live

    def records(self, observe: bool = True) -> list[tuple[tuple[FrameInfo, ...], int, int, int, int]]:
        """``(frames, alloc_objects, alloc_bytes, inuse_objects, inuse_bytes)`` per stack
        (exact values); ``observe`` first takes a fresh observation if tracing."""
        if observe:
            self.observe()
        out = []
        for key, (ao, ab) in self._alloc.items():
            io, ib = self._live.get(key, (0, 0))
            out.append((self._frames(key), ao, ab, io, ib))
        return out

    def _frames(self, key: tuple) -> tuple[FrameInfo, ...]:
        """Frame infos, leaf first. A run of identical ``file:line`` frames is a call from a
        line into code nested in it (a comprehension, a lambda): the k-th frame of the run
        gets the k-th innermost function covering the line (recursion, where one function
        covers the line, keeps its name)."""
        out: list[FrameInfo] = []
        run = 0
        for i, fr in enumerate(key):
            if fr is None:
                out.append((TRUNCATED, TRUNCATED, "", 0, 0))
            elif fr == OVERFLOW:
                out.append((OVERFLOW, OVERFLOW, "", 0, 0))
            else:
                run = run + 1 if i and key[i - 1] == fr else 0
                info = self._names.get((fr, run))
                if info is None:
                    name, system, filename, start = heap_names.line_info(fr[0], fr[1], run)
                    info = self._names[(fr, run)] = (name, system, filename, start, fr[1])
                out.append(info)
        return tuple(out)

    def stats(self) -> dict[str, object]:
        traced = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
        return {
            "active": self.running,
            "stacks": len(self._alloc),
            "dropped_stacks": self.dropped_stacks,
            "traced_bytes": traced[0],
            "traced_peak_bytes": traced[1],
            "memory": tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0,
            "owns_tracemalloc": self.owned,
        }
