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
from .runtime.labels import current_labels, labels  # noqa: E402

__all__ = [
    "ProfilingInUse",
    "__version__",
    "cpu_profile",
    "current_labels",
    "labels",
    "profile_cpu",
    "profile_wall",
    "sampler_errors",
    "set_cpu_profile_rate",
    "set_overhead_budget",
    "start_cpu_profile",
    "start_wall_profile",
    "stop_cpu_profile",
    "stop_wall_profile",
    "wall_profile",
]
