"""The legacy text of the heap and allocs profiles (``?debug=1``, spec §C.4).

Go's layout: the header ``heap profile: <inuse objs>: <inuse bytes> [<alloc objs>: <alloc
bytes>] @ heap/<2×rate>`` (alloc bytes + 1 when equal to in-use bytes, so pprof reads it as
a 4-column profile), then one record per sample, largest in-use bytes first, with raw
(unscaled) values and the location addresses, its frame lines and a blank line. pprof
rescales this text itself. Go then prints ``runtime.MemStats``; a Python process prints
``python.MemStats`` instead: the collector, resident memory, object and block counts,
tracemalloc and the heap profiler's own counters, as ``# Name = value`` lines (pprof ignores
them).
"""

from __future__ import annotations

import gc
import resource
import sys
import threading
import tracemalloc
from typing import Any

from ..profile import Profile
from ..profile.legacytext import frame_lines
from .gauges import rss_bytes


def memstats(profiler: dict[str, Any]) -> list[tuple[str, str]]:
    """The trailer's ``(name, value)`` pairs; ``profiler`` is the heap profiler's stats."""
    stats = gc.get_stats()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform != "darwin":
        maxrss *= 1024  # kilobytes on Linux
    out = [
        ("RSS", str(rss_bytes())),
        ("AllocatedBlocks", str(sys.getallocatedblocks())),
        ("GCEnabled", "true" if gc.isenabled() else "false"),
        ("GCCounts", "[" + " ".join(map(str, gc.get_count())) + "]"),
        ("GCThresholds", "[" + " ".join(map(str, gc.get_threshold())) + "]"),
        ("NumGC", "[" + " ".join(str(s.get("collections", 0)) for s in stats) + "]"),
        ("GCCollected", "[" + " ".join(str(s.get("collected", 0)) for s in stats) + "]"),
        ("GCUncollectable", "[" + " ".join(str(s.get("uncollectable", 0)) for s in stats) + "]"),
        ("GCGarbage", str(len(gc.garbage))),
        ("GCFrozen", str(gc.get_freeze_count())),
        ("Threads", str(threading.active_count())),
        ("Tracemalloc", "true" if tracemalloc.is_tracing() else "false"),
    ]
    if tracemalloc.is_tracing():
        cur, peak = tracemalloc.get_traced_memory()
        out.append(("TracemallocTraced", f"{cur} / {peak}"))
        out.append(("TracemallocOverhead", str(tracemalloc.get_tracemalloc_memory())))
    names = {"backend": "HeapProfilerBackend", "running": "HeapProfilerRunning",
             "rate": "MemProfileRate", "samples": "HeapProfilerSamples",
             "stacks": "HeapProfilerStacks", "tracked_blocks": "HeapProfilerTrackedBlocks",
             "dropped_stacks": "HeapProfilerDroppedStacks",
             "dropped_blocks": "HeapProfilerDroppedBlocks", "memory": "HeapProfilerSys"}
    for key, name in names.items():
        if key in profiler:
            v = profiler[key]
            out.append((name, "none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)))
    out.append(("MaxRSS", str(maxrss)))
    return out


def render(p: Profile, rate: int, trailer: list[tuple[str, str]]) -> str:
    """The debug=1 text of ``p``, a heap profile holding *raw* sampled values."""
    tot = [0, 0, 0, 0]
    for s in p.samples:
        for i in range(4):
            tot[i] += s.values[i]
    alloc_bytes = tot[1] + 1 if tot[1] == tot[3] else tot[1]
    lines = [f"heap profile: {tot[2]}: {tot[3]} [{tot[0]}: {alloc_bytes}] @ heap/{2 * rate}"]
    for s in sorted(p.samples, key=lambda s: -s.values[3]):
        addrs = "".join(f" {loc.address:#x}" for loc in s.locations)
        v = s.values
        lines.append(f"{v[2]}: {v[3]} [{v[0]}: {v[1]}] @{addrs}")
        lines.extend(frame_lines(s))
        lines.append("")
    lines.append("")
    lines.append("# python.MemStats")
    lines.extend(f"# {name} = {value}" for name, value in trailer)
    return "\n".join(lines) + "\n"
