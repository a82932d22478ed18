"""What the WSGI and ASGI adapters share: locating ``/debug/pprof/`` under a mount point,
the bearer-token check, and running a handler on a thread hidden from the profiles.

Kept free of any framework: the adapters translate WSGI environs and ASGI scopes into
these plain values and call :func:`pprofx.http.handlers.handle` through :func:`serve`.
"""

from __future__ import annotations

import hmac
import http
import logging
import threading
from typing import Callable, Optional

from ..otel import current_trace_labels
from ..runtime.labels import labels
from ..runtime.sampler import own_threads
from .handlers import Options, Request, Response, error, handle

#: Where Go serves the profiles; also the default prefix of the middlewares.
PREFIX = "/debug/pprof"

#: Largest POST body read (the ``symbol`` endpoint's form); the rest is left unread.
MAX_BODY = 1 << 20


def locate(mount: str, path: str) -> tuple[str, str] | None:
    """Split a request under ``mount`` into (base URL path, path below it), or None (404).

    ``path`` is the request path below the application's mount point (WSGI ``PATH_INFO``,
    ASGI ``path`` minus ``root_path``). A path that still starts with ``/debug/pprof`` is
    taken as a full path (the app serves at ``/`` or the site root); otherwise, when the app
    is mounted somewhere (``mount`` non-empty, e.g. ``SCRIPT_NAME=/debug/pprof``), the path
    is relative to that mount point.
    """
    if path == PREFIX or path.startswith(PREFIX + "/"):
        return mount + PREFIX, path[len(PREFIX):]
    if mount:
        return mount, path
    return None


def token_ok(token: str | None, authorization: bytes | None) -> bool:
    """True when no token is configured or ``Authorization`` is ``Bearer <token>`` (constant time)."""
    if not token:
        return True
    want = f"Bearer {token}".encode()
    return hmac.compare_digest(authorization or b"", want)


def redirect(location: str) -> Response:
    """Go's ``/debug/pprof`` -> ``/debug/pprof/`` redirect."""
    return Response(301, [("Location", location), ("Content-Type", "text/plain")], b"")


def not_found() -> Response:
    return error(404, "404 page not found")


def unauthorized() -> Response:
    resp = error(401, "Unauthorized: a valid bearer token is required")
    resp.headers.append(("WWW-Authenticate", 'Bearer realm="pprofx"'))
    return resp


def forbidden() -> Response:
    return error(403, "Forbidden: the application's authorize hook denied the request")


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def serve(req: Request, opts: Options) -> Response:
    """:func:`handle` with the calling thread hidden from profiles while it runs; never raises.

    A profile request spends most of its time in this thread (sleeping through ``seconds``);
    as in the standalone server it must not show up in the profile it is collecting.
    """
    ident = threading.get_ident()
    added = ident not in own_threads
    if added:
        own_threads.add(ident)
    try:
        return handle(req, opts)
    except Exception as e:  # noqa: BLE001 - handle() does not raise; belt and braces
        return error(500, f"internal error in pprofx: {type(e).__name__}")
    finally:
        if added:
            own_threads.discard(ident)


def request_labels(method: str, route: Callable[[], str], trace: bool) -> Optional[labels]:
    """The labels a middleware runs a request under: ``http.method``, ``http.route`` (from
    the ``route`` hook) and, with ``trace``, the current OpenTelemetry span's ids. A failing
    route hook is logged and the request runs unlabelled: it must never fail the request."""
    try:
        kv = {"http.method": method, "http.route": str(route())}
        if trace:
            kv.update(current_trace_labels())
        return labels(**kv)
    except Exception as e:  # noqa: BLE001
        logging.getLogger("pprofx.http").warning("pprofx: request labels skipped: %s: %s",
                                                 type(e).__name__, e)
        return None
