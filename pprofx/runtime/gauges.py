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


def rss_bytes() -> int:
    """Resident set size of this process (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


Family = tuple  # (name, kind, help, [(labels dict, value)])


def families() -> list[Family]:
    """Every gauge as (name, "gauge"|"counter", help, [(labels, value), …])."""
    out: list[Family] = [
        ("pprofx_threads", "gauge", "Python threads alive.", [({}, threading.active_count())]),
        ("pprofx_asyncio_tasks", "gauge", "Tasks of event loops running a task right now.",
         [({}, _tasks())]),
    ]
    stats = gc.get_stats()
    out.append(("pprofx_gc_collections_total", "counter", "Garbage collections by generation.",
                [({"generation": str(i)}, s.get("collections", 0)) for i, s in enumerate(stats)]))
    out.append(("pprofx_gc_collected_objects_total", "counter", "Objects collected by generation.",
                [({"generation": str(i)}, s.get("collected", 0)) for i, s in enumerate(stats)]))
    if _installed[0]:
        out.append(("pprofx_gc_pause_seconds_total", "counter",
                    "Time spent in garbage collection by generation (since the metrics were enabled).",
                    [({"generation": str(i)}, ns / 1e9) for i, ns in enumerate(_gc_pause_ns)]))
    out.append(("pprofx_resident_memory_bytes", "gauge", "Resident set size of the process.",
                [({}, rss_bytes())]))
    out.append(("pprofx_sampler_cpu_seconds_total", "counter",
                "CPU time used by pprofx's sampler thread (waking up included).",
                [({}, SAMPLER.cpu_total_ns / 1e9)]))
    out.append(("pprofx_sampler_ticks_total", "counter", "Sampling ticks taken.",
                [({}, SAMPLER.ticks_total)]))
    out.append(("pprofx_sampler_errors_total", "counter", "Sampling ticks that failed (logged once).",
                [({}, SAMPLER.errors)]))
    out.append(("pprofx_sampler_interval_seconds", "gauge",
                "Current wait between ticks (lengthened by the CPU budget when needed).",
                [({}, SAMPLER.interval_ns / 1e9)]))
    return out


def _labels_text(labels: dict) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def render() -> str:
    """All gauges as Prometheus exposition text (version 0.0.4)."""
    out: list[str] = []
    for name, kind, help_text, samples in families():
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            out.append(f"{name}{_labels_text(labels)} {value:g}" if isinstance(value, float) else
                       f"{name}{_labels_text(labels)} {value}")
    return "\n".join(out) + "\n"


class PrometheusCollector:
    """A ``prometheus_client`` custom collector yielding the same gauges (duck-typed: this
    module never imports prometheus_client unless the application has)."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for name, kind, help_text, samples in families():
            keys = sorted({k for labels, _ in samples for k in labels})
            if kind == "counter":
                fam = CounterMetricFamily(name[:-len("_total")], help_text, labels=keys)
            else:
                fam = GaugeMetricFamily(name, help_text, labels=keys)
            for labels, value in samples:
                fam.add_metric([labels[k] for k in keys], value)
            yield fam


_registered: list = []


def register_prometheus(registry=None) -> bool:
    """Register the gauges with ``prometheus_client`` (its default ``REGISTRY`` unless one is
    given), so an application that already exposes ``/metrics`` gets them there too.

    Only acts when ``prometheus_client`` is importable; idempotent per registry. Returns
    whether the collector is registered. pprofx itself never depends on it.
    """
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        return False
    registry = registry if registry is not None else REGISTRY
    if any(r is registry for r in _registered):
        return True
    enable_gc_timing()
    registry.register(PrometheusCollector())
    _registered.append(registry)
    return True


def register_prometheus_if_in_use() -> bool:
    """:func:`register_prometheus` when the application has already imported
    ``prometheus_client`` (called at agent start with metrics on); never imports it."""
    import sys

    if "prometheus_client" not in sys.modules:
        return False
    return register_prometheus()
