"""``import pprofx.auto``: serve ``/debug/pprof/`` from this process, configured by environment.

The Python counterpart of Go's ``import _ "net/http/pprof"``: importing this module starts
the standalone server (loopback ``127.0.0.1:6060`` unless ``PPROFX_HTTP`` says otherwise;
see docs/configuration.md). It never breaks its host: a bad setting or a busy port is
logged on the ``pprofx`` logger (and printed to stderr) and the program goes on without
the endpoint. In prefork servers every forked worker serves its own endpoint
(``pprofx.http.workers``; ``PPROFX_WORKERS=0`` turns that off). ``server`` holds the
running :class:`~pprofx.http.server.PprofServer` or None.
"""

from __future__ import annotations

import logging
import os
import sys

from . import config
from .http import workers
from .http.server import PprofServer
from .runtime import cpu, heap, locks, threadcreate

log = logging.getLogger("pprofx")

server: PprofServer | None = None


def _start() -> PprofServer | None:
    try:
        cfg = config.from_env()
    except config.ConfigError as e:
        print(f"pprofx: not started: {e}", file=sys.stderr)
        return None
    if not cfg.enabled:
        return None
    threadcreate.install()
    try:
        cpu.set_cpu_profile_rate(cfg.cpu_hz)
        cpu.set_overhead_budget(cfg.overhead_budget)
        srv = PprofServer(cfg.server)
        # after the server: its own locks stay plain
        if cfg.block_rate:
            locks.set_block_profile_rate(cfg.block_rate)
        if cfg.mutex_fraction:
            locks.set_mutex_profile_fraction(cfg.mutex_fraction)
    except (OSError, ValueError) as e:
        print(f"pprofx: not serving /debug/pprof/ on {cfg.server.address}: {e}", file=sys.stderr)
        return None
    log.info("pprofx: serving %s", srv.url)
    _start_heap(cfg)
    if cfg.workers and hasattr(os, "register_at_fork"):
        workers.install(cfg.server, srv,
                        on_error=lambda msg: print(f"pprofx: {msg}", file=sys.stderr))
    return srv


def _start_heap(cfg: config.AgentConfig) -> None:
    """The heap profiler at ``PPROFX_HEAP_RATE`` (docs/heap.md); never fatal."""
    if cfg.heap_rate <= 0:
        return
    if cfg.heap_backend == "c" and not heap.native_available():
        log.info("pprofx: heap profiler off: its C extension is not built (set PPROFX_HEAP_RATE "
                 "or PPROFX_HEAP_BACKEND=tracemalloc for the slow fallback)")
        return
    try:
        heap.start_heap_profiler(cfg.heap_rate, backend=cfg.heap_backend)
    except (RuntimeError, ValueError) as e:
        print(f"pprofx: heap profiler not started: {e}", file=sys.stderr)


server = _start()
