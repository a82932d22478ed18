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
from .runtime import cpu, threadcreate

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
    except (OSError, ValueError) as e:
        print(f"pprofx: not serving /debug/pprof/ on {cfg.server.address}: {e}", file=sys.stderr)
        return None
    log.info("pprofx: serving %s", srv.url)
    if cfg.workers and hasattr(os, "register_at_fork"):
        workers.install(cfg.server, srv,
                        on_error=lambda msg: print(f"pprofx: {msg}", file=sys.stderr))
    return srv


server = _start()
