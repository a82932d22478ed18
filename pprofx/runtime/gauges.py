"""Runtime gauges of the process and of the profiler itself, in Prometheus text format.

Threads, asyncio tasks of running loops, garbage-collector runs and pause time per
generation, resident memory, and the sampler's own CPU use and errors — the numbers to
watch next to the profiles (a growing thread count is a leak before it is a profile). GC
pause time is measured with ``gc.callbacks``, installed by :func:`enable_gc_timing` (done
when the metrics endpoint is switched on) and cheap: two clock reads per collection.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time

from .sampler import SAMPLER

_gc_pause_ns = [0, 0, 0]
_gc_start = [0]
_installed = [False]


def _gc_callback(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter_ns()
    elif _gc_start[0]:
        gen = info.get("generation", 0)
        if 0 <= gen < 3:
            _gc_pause_ns[gen] += time.perf_counter_ns() - _gc_start[0]
        _gc_start[0] = 0


def enable_gc_timing() -> None:
    """Start measuring GC pauses (idempotent)."""
    if not _installed[0]:
        gc.callbacks.append(_gc_callback)
        _installed[0] = True


def _tasks() -> int:
    current = getattr(asyncio.tasks, "_current_tasks", {}) or {}
    total = 0
    for loop in list(current):
        try:
            total += len(asyncio.all_tasks(loop))
        except RuntimeError:
            pass
    return total


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def render() -> str:
    """All gauges as Prometheus exposition text (version 0.0.4)."""
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            out.append(f"{name}{labels} {value:g}" if isinstance(value, float) else
                       f"{name}{labels} {value}")

    metric("pprofx_threads", "gauge", "Python threads alive.", [("", threading.active_count())])
    metric("pprofx_asyncio_tasks", "gauge", "Tasks of event loops running a task right now.",
           [("", _tasks())])
    stats = gc.get_stats()
    metric("pprofx_gc_collections_total", "counter", "Garbage collections by generation.",
           [(f'{{generation="{i}"}}', s.get("collections", 0)) for i, s in enumerate(stats)])
    metric("pprofx_gc_collected_objects_total", "counter", "Objects collected by generation.",
           [(f'{{generation="{i}"}}', s.get("collected", 0)) for i, s in enumerate(stats)])
    if _installed[0]:
        metric("pprofx_gc_pause_seconds_total", "counter",
               "Time spent in garbage collection by generation (since the metrics were enabled).",
               [(f'{{generation="{i}"}}', ns / 1e9) for i, ns in enumerate(_gc_pause_ns)])
    metric("pprofx_resident_memory_bytes", "gauge", "Resident set size of the process.",
           [("", _rss_bytes())])
    metric("pprofx_sampler_cpu_seconds_total", "counter",
           "CPU time used by pprofx's sampler thread (waking up included).",
           [("", SAMPLER.cpu_total_ns / 1e9)])
    metric("pprofx_sampler_ticks_total", "counter", "Sampling ticks taken.",
           [("", SAMPLER.ticks_total)])
    metric("pprofx_sampler_errors_total", "counter", "Sampling ticks that failed (logged once).",
           [("", SAMPLER.errors)])
    metric("pprofx_sampler_interval_seconds", "gauge",
           "Current wait between ticks (lengthened by the CPU budget when needed).",
           [("", SAMPLER.interval_ns / 1e9)])
    return "\n".join(out) + "\n"
