"""ASGI 3 adapters: serve ``/debug/pprof/`` from inside a FastAPI, Starlette or any ASGI app.

* :class:`PprofASGIApp` is a plain ASGI application answering the pprof routes: mount it at
  ``/debug/pprof`` (``app.mount("/debug/pprof", PprofASGIApp())``; it reads ``path`` below
  ``root_path``) or run it on its own (it then sees the full ``/debug/pprof/...`` path).
* :class:`PprofASGIMiddleware` wraps an application (``app.add_middleware(
  PprofASGIMiddleware)`` in FastAPI/Starlette): it answers below ``prefix`` itself and runs
  every other HTTP request inside ``async with pprofx.labels(http.method=..., http.route=...)``
  so CPU and wall profiles split by endpoint. Lifespan and websocket scopes pass through.

Handlers run in a worker thread (``loop.run_in_executor``), hidden from the profiles: a
``profile?seconds=30`` request does not block the event loop it is profiling.

The route label is the raw request ``path`` by default: Starlette/FastAPI put the route
template in ``scope["route"]`` only while the inner application routes the request, after
the labels had to be set. Pass ``route=`` (a function of the scope) to map paths to templates.
Labels follow the request's asyncio task. The CPU of a sync (``def``) FastAPI endpoint is not
labelled: it runs on a threadpool thread, whose copied context the sampler cannot read.

Auth as in :mod:`pprofx.http.wsgi`: ``token`` (401), ``authorize(scope) -> bool`` (403; may
also be a coroutine function). Nothing raised inside pprofx reaches the host application.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from typing import Any, Awaitable, Callable, MutableMapping, Optional, Union

from ..runtime.labels import carry_to_thread, labels
from . import _adapter
from .handlers import DEFAULT_MAX_SECONDS, Options, Request, Response, error

log = logging.getLogger("pprofx.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Authorize = Callable[[Scope], Union[bool, Awaitable[bool]]]


def _header(scope: Scope, name: bytes) -> Optional[bytes]:
    for k, v in scope.get("headers") or ():
        if bytes(k).lower() == name:
            return bytes(v)
    return None


def _below_root(scope: Scope) -> tuple[str, str]:
    """(root_path, path below it); ``path`` may or may not include ``root_path`` (both are seen)."""
    root = str(scope.get("root_path", "") or "").rstrip("/")
    path = str(scope.get("path", "") or "")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    return root, path


class PprofASGIApp:
    """An ASGI 3 application serving Go's ``/debug/pprof/`` endpoints.

    ``token``: bearer token every request must carry. ``authorize``: a callable (or coroutine
    function) given the ASGI scope, returning True to allow the request. ``max_seconds``:
    longest ``seconds=`` accepted by CPU, wall and delta profiles.
    """

    def __init__(self, token: Optional[str] = None, authorize: Optional[Authorize] = None,
                 max_seconds: int = DEFAULT_MAX_SECONDS) -> None:
        self.token = token
        self.authorize = authorize
        self.options = Options(max_seconds=max_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        method = str(scope.get("method", "GET")).upper()
        try:
            resp = await self.respond(scope, receive)
        except Exception as e:  # noqa: BLE001 - the agent must never fail its host
            log.warning("pprofx ASGI adapter failed: %s: %s", type(e).__name__, e)
            resp = error(500, f"internal error in pprofx: {type(e).__name__}")
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers
                   if k.lower() != "content-length"]
        headers.append((b"content-length", str(len(resp.body)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else resp.body})

    async def respond(self, scope: Scope, receive: Receive) -> Response:
        """The :class:`~pprofx.http.handlers.Response` for one HTTP scope (auth included)."""
        if not _adapter.token_ok(self.token, _header(scope, b"authorization")):
            return _adapter.unauthorized()
        if self.authorize is not None:
            try:
                allowed = self.authorize(scope)
                if inspect.isawaitable(allowed):
                    allowed = await allowed
            except Exception as e:  # noqa: BLE001 - the application's hook; fail closed
                log.warning("pprofx: authorize hook raised %s: %s", type(e).__name__, e)
                return error(500, f"internal error in pprofx: authorize hook raised {type(e).__name__}")
            if not allowed:
                return _adapter.forbidden()
        method = str(scope.get("method", "GET")).upper()
        raw_query = scope.get("query_string", b"") or b""
        query = raw_query.decode("latin-1") if isinstance(raw_query, bytes) else str(raw_query)
        where = _adapter.locate(*_below_root(scope))
        if where is None:
            return _adapter.not_found()
        base, rel = where
        if rel == "":
            return _adapter.redirect(base + "/" + ("?" + query if query else ""))
        body = await _read_body(receive) if method == "POST" else b""
        req = Request(method, rel.lstrip("/"), query, body)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _adapter.serve, req, self.options)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg.get("type") != "http.request":
            break  # http.disconnect
        chunk = msg.get("body", b"") or b""
        if size < _adapter.MAX_BODY:
            chunks.append(chunk[:_adapter.MAX_BODY - size])
            size += len(chunks[-1])
        if not msg.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer the lifespan protocol when the pprof app is the top-level application."""
    while True:
        msg = await receive()
        kind = msg.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
        else:
            return


def _path_route(scope: Scope) -> str:
    return str(scope.get("path", "")) or "/"


def label_threadpool() -> bool:
    """Make Starlette/FastAPI's threadpool carry request labels to its worker threads.

    Sync (``def``) endpoints and dependencies run in ``anyio.to_thread.run_sync`` on a worker
    thread; the labels reach their context but not the sampler's per-thread record, so their
    CPU would be unlabelled. When anyio is already loaded (it is under Starlette), its
    ``run_sync`` is wrapped once to apply :func:`~pprofx.runtime.labels.carry_to_thread`;
    never imports anyio itself. Returns whether the wrapper is in place.
    """
    to_thread = sys.modules.get("anyio.to_thread")
    if to_thread is None:
        return False
    original = to_thread.run_sync
    if getattr(original, "_pprofx_labels", False):
        return True

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await original(carry_to_thread(func), *args, **kwargs)

    run_sync._pprofx_labels = True  # type: ignore[attr-defined]
    run_sync.__wrapped__ = original  # type: ignore[attr-defined]
    to_thread.run_sync = run_sync
    return True


class PprofASGIMiddleware:
    """Wrap an ASGI application: serve ``prefix`` (default ``/debug/pprof``), label the rest.

    ``label_requests``: run each HTTP request of the application under ``pprofx.labels``
    with ``http.method`` and ``http.route``. ``route``: function of the scope giving the
    route label (default: the request path). Other keyword arguments (``token``,
    ``authorize``, ``max_seconds``) configure the :class:`PprofASGIApp` serving the prefix.
    """

    def __init__(self, app: ASGIApp, prefix: str = _adapter.PREFIX, label_requests: bool = True,
                 route: Optional[Callable[[Scope], str]] = None, trace_labels: bool = False,
                 **pprof_options: Any) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/")
        self.label_requests = label_requests
        self.route = route or _path_route
        self.trace_labels = trace_labels
        self.pprof = PprofASGIApp(**pprof_options)
        if label_requests:
            label_threadpool()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        root, path = _below_root(scope)
        if path == self.prefix or path.startswith(self.prefix + "/"):
            inner = dict(scope)
            inner["root_path"] = root + self.prefix
            inner["path"] = root + path  # full path, as Starlette >= 0.35 passes to mounts
            await self.pprof(inner, receive, send)
            return
        lab = self._labels(scope) if self.label_requests else None
        if lab is None:
            await self.app(scope, receive, send)
            return
        async with lab:
            await self.app(scope, receive, send)

    def _labels(self, scope: Scope) -> Optional[labels]:
        return _adapter.request_labels(str(scope.get("method", "")),
                                       lambda: self.route(scope), self.trace_labels)
