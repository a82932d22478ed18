"""Framework-neutral ``/debug/pprof/`` handlers with net/http/pprof's behaviour.

:func:`handle` takes a :class:`Request` (method, path below the mount point, query, body)
and returns a :class:`Response` (status, headers, body); the standalone server and the
WSGI/ASGI adapters only translate. Routes, parameters, headers and error texts follow
``shared/spec/go-pprof-compat.md`` §B: every response carries ``X-Content-Type-Options:
nosniff``; errors are ``text/plain`` with ``X-Go-Pprof: 1`` and Go's messages; profiles are
gzip pprof with ``Content-Disposition: attachment; filename="<name>"``. Handlers stay thin:
parse, call ``pprofx.runtime``/``pprofx.profile``, write.
"""

from __future__ import annotations

import dataclasses
import gc
import html
import threading
import time
import urllib.parse
from typing import Callable

from ..profile import ProfileError, delta, encode
from ..runtime import cpu
from .profiles import REGISTRY, SPECIAL, cmdline_args

#: Longest ``seconds`` accepted by default (Go has no cap; an agent in production needs one).
DEFAULT_MAX_SECONDS = 300


@dataclasses.dataclass
class Request:
    """An HTTP request as the handlers see it; ``path`` is relative to the mount point."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """First value of query parameter ``name`` (POST form bodies too, as Go's FormValue)."""
        values = urllib.parse.parse_qs(self.query, keep_blank_values=True).get(name)
        if values is None and self.method == "POST" and self.body:
            try:
                form = self.body.decode("utf-8", "replace")
            except Exception:  # noqa: BLE001
                form = ""
            values = urllib.parse.parse_qs(form, keep_blank_values=True).get(name)
        return values[0] if values else None


@dataclasses.dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


@dataclasses.dataclass
class Options:
    """Handler settings (from the server's or the adapter's configuration)."""

    max_seconds: int = DEFAULT_MAX_SECONDS
    metrics: bool = False  #: serve runtime gauges at ``metrics`` (Prometheus text)
    #: prefork master: lists its workers' endpoints at ``workers`` (see workers.py)
    workers: Callable[[], list[tuple[int, str]]] | None = None



def error(status: int, message: str) -> Response:
    """Go's error shape: plain text, ``X-Go-Pprof: 1``, the message and a newline."""
    return Response(status, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Go-Pprof", "1"),
        ("X-Content-Type-Options", "nosniff"),
    ], (message + "\n").encode())


def _ok(content_type: str, body: bytes, filename: str | None = None) -> Response:
    headers = []
    if filename is not None:
        headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    headers += [("Content-Type", content_type), ("X-Content-Type-Options", "nosniff")]
    return Response(200, headers, body)


def _int_param(req: Request, name: str) -> int | None:
    """Go's strconv.ParseInt(s, 10, 64): None when missing or invalid."""
    raw = req.param(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw or not (raw.isdigit() or (raw[0] in "+-" and raw[1:].isdigit())):
        return None
    value = int(raw)
    return value if -(1 << 63) <= value < (1 << 63) else None


def _duration(req: Request, opts: Options) -> int | Response:
    """The CPU/wall handlers' ``seconds``: missing/invalid/<=0 means 30 (Go); capped."""
    seconds = _int_param(req, "seconds")
    if seconds is None or seconds <= 0:
        seconds = 30
    if seconds > opts.max_seconds:
        return error(400, f'invalid value for "seconds" - exceeds the server\'s limit of '
                          f"{opts.max_seconds} seconds")
    return seconds


def _time_profile(kind: str, req: Request, opts: Options) -> Response:
    seconds = _duration(req, opts)
    if isinstance(seconds, Response):
        return seconds
    collect = cpu.profile_cpu if kind == "cpu" else cpu.profile_wall
    try:
        p = collect(seconds)
    except cpu.ProfilingInUse as e:
        return error(500, f"Could not enable {kind.upper() if kind == 'cpu' else kind} "
                          f"profiling: {e}")
    return _ok("application/octet-stream", encode(p), "profile" if kind == "cpu" else "wall")


def _named(name: str, req: Request, opts: Options) -> Response:
    entry = REGISTRY.get(name)
    if entry is None:
        return error(404, "Unknown profile")
    debug = _int_param(req, "debug") or 0
    if name == "heap" and (_int_param(req, "gc") or 0) > 0:
        gc.collect()
    if req.param("seconds") is not None:
        seconds = _int_param(req, "seconds")
        if seconds is None or seconds <= 0:
            return error(400, 'invalid value for "seconds" - must be a positive integer')
        if seconds > opts.max_seconds:
            return error(400, f'invalid value for "seconds" - exceeds the server\'s limit of '
                              f"{opts.max_seconds} seconds")
        if debug != 0:
            return error(400, "seconds and debug params are incompatible")
        try:
            p0 = entry.collect()
            time.sleep(seconds)
            p1 = entry.collect()
            p1.time_nanos = time.time_ns()
            d = delta(p0, p1)
        except ProfileError:
            return error(500, "failed to compute delta")
        return _ok("application/octet-stream", encode(d), f"{name}-delta")
    p = entry.collect()
    if debug != 0:
        return _ok("text/plain; charset=utf-8", entry.text(p, debug).encode())
    return _ok("application/octet-stream", encode(p), name)


def _cmdline() -> Response:
    return _ok("text/plain; charset=utf-8", "\x00".join(cmdline_args()).encode())


def _symbol(req: Request) -> Response:
    # Python locations are fully symbolized in every profile we serve, so no address
    # resolves here; the reply still says symbols are supported, as Go's does.
    return _ok("text/plain; charset=utf-8", b"num_symbols: 1\n")


def _index() -> Response:
    listed = {name: entry for name, entry in REGISTRY.items() if entry.listed}
    counts = {name: sum(s.values[0] for s in entry.collect().samples)
              for name, entry in listed.items()}
    names = sorted(set(listed) | set(SPECIAL))
    rows = "\n".join(
        f"<tr><td>{counts.get(n, 0)}</td><td><a href='{n}?debug=1'>{n}</a></td></tr>"
        for n in names)
    descriptions = {**{n: e.description for n, e in listed.items()}, **SPECIAL}
    items = "\n".join(f"<li><b>{n}</b>: {html.escape(descriptions[n])}</li>" for n in names)
    page = f"""<html>
<head><title>/debug/pprof/</title></head>
<body>
/debug/pprof/<br>
<br>
Set debug=1 as a query parameter to export in legacy text format<br>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
{rows}
</table>
<a href="goroutine?debug=2">full goroutine stack dump</a>
<br>
<p>
Profile Descriptions:
<ul>
{items}
</ul>
</p>
</body>
</html>
"""
    return _ok("text/html; charset=utf-8", page.encode())


_HEAVY = threading.BoundedSemaphore(4)


def handle(req: Request, opts: Options | None = None) -> Response:
    """Answer one request below ``/debug/pprof/``; never raises."""
    opts = opts or Options()
    try:
        if req.method not in ("GET", "HEAD", "POST"):
            return error(405, "Method Not Allowed")
        path = req.path.strip("/")
        if path == "":
            return _index()
        if path == "cmdline":
            return _cmdline()
        if path == "symbol":
            return _symbol(req)
        if path == "workers" and opts.workers is not None:
            lines = "".join(f"{pid} {url}\n" for pid, url in opts.workers())
            return _ok("text/plain; charset=utf-8", lines.encode())
        if path == "metrics" and opts.metrics:
            from ..runtime import gauges

            gauges.enable_gc_timing()
            return _ok("text/plain; version=0.0.4; charset=utf-8", gauges.render().encode())
        if path == "trace":
            return error(501, "Could not enable tracing: Go execution traces are not available "
                              "for Python programs; use profile or wall")
        if path in ("profile", "wall") or "seconds" in req.query:
            if not _HEAVY.acquire(blocking=False):
                return error(503, "too many profiles being collected at once; retry later")
            try:
                if path in ("profile", "wall"):
                    return _time_profile("cpu" if path == "profile" else "wall", req, opts)
                return _named(path, req, opts)
            finally:
                _HEAVY.release()
        return _named(path, req, opts)
    except Exception as e:  # noqa: BLE001 - the agent must never fail its host
        return error(500, f"internal error in pprofx: {type(e).__name__}")
