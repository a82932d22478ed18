"""pprofx: pprof for Python services.

The agent (``pprofx.profile``, ``pprofx.runtime``) uses the standard library only; the
analysis tools live in ``pprofx.report`` and the ``pprofx`` CLI.

    import pprofx

    with pprofx.labels(endpoint="/checkout"):
        handle()

    pprofx.start_cpu_profile("cpu.pb.gz")
    ...
    pprofx.stop_cpu_profile()          # then: go tool pprof -top cpu.pb.gz
"""

__version__ = "0.1.0"

from .runtime.contention import block_profile, mutex_profile  # noqa: E402
from .runtime.cpu import (  # noqa: E402
    ProfilingInUse,
    cpu_profile,
    profile_cpu,
    profile_wall,
    sampler_errors,
    set_cpu_profile_rate,
    set_overhead_budget,
    start_cpu_profile,
    start_wall_profile,
    stop_cpu_profile,
    stop_wall_profile,
    wall_profile,
)
from .runtime.heap import (  # noqa: E402
    allocs_profile,
    heap_profile,
    heap_profiler_stats,
    set_mem_profile_rate,
    start_heap_profiler,
    stop_heap_profiler,
    write_heap_profile,
)
from .runtime.labels import carry_to_thread, current_labels, labels  # noqa: E402
from .runtime.locks import set_block_profile_rate, set_mutex_profile_fraction  # noqa: E402

__all__ = [
    "ProfilingInUse",
    "__version__",
    "allocs_profile",
    "block_profile",
    "cpu_profile",
    "carry_to_thread",
    "current_labels",
    "heap_profile",
    "heap_profiler_stats",
    "labels",
    "mutex_profile",
    "profile_cpu",
    "profile_wall",
    "sampler_errors",
    "set_block_profile_rate",
    "set_cpu_profile_rate",
    "set_mem_profile_rate",
    "set_mutex_profile_fraction",
    "set_overhead_budget",
    "start_cpu_profile",
    "start_heap_profiler",
    "start_wall_profile",
    "stop_cpu_profile",
    "stop_heap_profiler",
    "stop_wall_profile",
    "wall_profile",
    "write_heap_profile",
]
