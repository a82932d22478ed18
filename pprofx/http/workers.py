"""Prefork servers (gunicorn, uWSGI, multiprocessing with fork): an endpoint per worker.

A forked worker inherits the master's memory but not its threads, so the master's
``/debug/pprof/`` server does not run in it and the master's profiles never show the work
the workers do. With ``import pprofx.auto`` (or ``pprofx run``), each process forked from
a process that serves ``/debug/pprof/`` starts its own server right after the fork, on
the master's port + N (N = 1, 2, … in fork order, wrapping after ``span``; a busy port is
skipped), and records ``<pid> <url>`` in a registry folder named after the master's pid.
The master answers ``/debug/pprof/workers`` with that list (live processes only), so a
scraper or an engineer can reach every worker. A worker's profiles are its own: CPU,
wall and goroutine profiles of that process.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from typing import Callable

from .server import PprofServer, ServerConfig, parse_address


class WorkerEndpoints:
    """Fork hooks of the serving (master) process; see the module docstring."""

    def __init__(self, config: ServerConfig, master: PprofServer, span: int = 64,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.master = master
        self.span = span
        self.seq = 0
        self.on_error = on_error or (lambda msg: None)
        self.registry = os.path.join(tempfile.gettempdir(), f"pprofx-{os.getpid()}")
        self.child_server: PprofServer | None = None

    def before_fork(self) -> None:
        self.seq += 1

    def after_fork_in_child(self) -> None:
        """Runs in the new process: drop the master's socket, serve on a port of our own."""
        try:
            self.master.httpd.socket.close()  # inherited; its thread did not survive the fork
        except OSError:
            pass
        host, base = parse_address(self.config.address)
        last_error = None
        # seq counts os.fork() calls; servers that fork from C (uWSGI) only run the child
        # hook, so seq stays 0 there and each worker takes the first free port after base.
        first = max(self.seq - 1, 0)
        for i in range(self.span):
            port = 0 if base == 0 else base + 1 + (first + i) % self.span
            cfg = ServerConfig(**{**self.config.__dict__, "address": f"{host}:{port}"})
            try:
                self.child_server = PprofServer(cfg)
                break
            except OSError as e:
                last_error = e
        if self.child_server is None:
            self.on_error(f"worker {os.getpid()}: no free port near {base + 1}: {last_error}")
            return
        try:
            os.makedirs(self.registry, exist_ok=True)
            path = os.path.join(self.registry, str(os.getpid()))
            with open(path, "w") as f:
                f.write(self.child_server.url)
            atexit.register(_remove, path)
        except OSError as e:
            self.on_error(f"worker {os.getpid()}: cannot record its endpoint: {e}")

    def listing(self) -> list[tuple[int, str]]:
        """(pid, url) of the live workers, oldest pid first; stale records are removed."""
        out = []
        try:
            names = os.listdir(self.registry)
        except OSError:
            return out
        for name in names:
            if not name.isdigit():
                continue
            pid = int(name)
            path = os.path.join(self.registry, name)
            if not _alive(pid):
                _remove(path)
                continue
            try:
                with open(path) as f:
                    out.append((pid, f.read().strip()))
            except OSError:
                continue
        return sorted(out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)  # only when empty: live workers keep their records
    except OSError:
        pass


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def install(config: ServerConfig, master: PprofServer,
            on_error: Callable[[str], None] | None = None) -> WorkerEndpoints:
    """Register the fork hooks and the master's ``workers`` route; returns the hooks."""
    endpoints = WorkerEndpoints(config, master, on_error=on_error)
    master.httpd.options.workers = endpoints.listing  # type: ignore[attr-defined]
    master_pid = os.getpid()
    atexit.register(lambda: os.getpid() == master_pid and _rmdir(endpoints.registry))
    os.register_at_fork(before=endpoints.before_fork,
                        after_in_child=endpoints.after_fork_in_child)
    return endpoints
