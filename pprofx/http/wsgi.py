"""WSGI adapters: serve ``/debug/pprof/`` from inside a Flask, Django or any WSGI application.

* :class:`PprofApp` is a plain WSGI application answering the pprof routes. Mount it at
  ``/debug/pprof`` (Werkzeug's ``DispatcherMiddleware``, a WSGI server's URL map: it then
  sees ``SCRIPT_NAME=/debug/pprof``) or run it on its own at ``/`` (it then sees the full
  ``/debug/pprof/...`` path in ``PATH_INFO``).
* :class:`PprofMiddleware` wraps an application: it answers below ``prefix`` itself and
  passes every other request to the application inside ``pprofx.labels(http.method=...,
  http.route=...)``, so CPU and wall profiles split by endpoint. The label covers the
  application call *and* the iteration and ``close()`` of the response body (PEP 3333).

The route label is the request's ``PATH_INFO`` by default: a framework's route template
(Flask's ``request.url_rule.rule``, Django's ``resolver_match.route``) is only known inside
the application, after the labels had to be set. Pass ``route=`` (a function of the environ)
to map paths to templates yourself, e.g. to keep ids out of label values.

Auth: ``token`` requires ``Authorization: Bearer <token>`` (401 otherwise, compared in
constant time); ``authorize(environ) -> bool`` is the application's own check (403 when it
returns false). Both answer in Go's error shape. Nothing raised inside pprofx reaches the
host application: failures become a Go-shaped 500.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Iterator, Optional

from ..runtime.labels import labels
from . import _adapter
from .handlers import DEFAULT_MAX_SECONDS, Options, Request, Response, error

log = logging.getLogger("pprofx.http")

Environ = dict
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class PprofApp:
    """A WSGI application serving Go's ``/debug/pprof/`` endpoints.

    ``token``: bearer token every request must carry (None: no token). ``authorize``: a
    callable given the WSGI environ, returning True to allow the request. ``max_seconds``:
    longest ``seconds=`` accepted by CPU, wall and delta profiles.
    """

    def __init__(self, token: Optional[str] = None,
                 authorize: Optional[Callable[[Environ], bool]] = None,
                 max_seconds: int = DEFAULT_MAX_SECONDS) -> None:
        self.token = token
        self.authorize = authorize
        self.options = Options(max_seconds=max_seconds)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        try:
            resp = self.respond(environ)
        except Exception as e:  # noqa: BLE001 - the agent must never fail its host
            log.warning("pprofx WSGI adapter failed: %s: %s", type(e).__name__, e)
            resp = error(500, f"internal error in pprofx: {type(e).__name__}")
        headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(resp.body))))
        start_response(_adapter.status_line(resp.status), headers)
        return [] if method == "HEAD" else [resp.body]

    def respond(self, environ: Environ) -> Response:
        """The :class:`~pprofx.http.handlers.Response` for one WSGI request (auth included)."""
        if self.token:
            got = environ.get("HTTP_AUTHORIZATION")
            raw = got.encode("latin-1", "replace") if isinstance(got, str) else None
            if not _adapter.token_ok(self.token, raw):
                return _adapter.unauthorized()
        if self.authorize is not None:
            try:
                allowed = bool(self.authorize(environ))
            except Exception as e:  # noqa: BLE001 - the application's hook; fail closed
                log.warning("pprofx: authorize hook raised %s: %s", type(e).__name__, e)
                return error(500, f"internal error in pprofx: authorize hook raised {type(e).__name__}")
            if not allowed:
                return _adapter.forbidden()
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        query = str(environ.get("QUERY_STRING", ""))
        where = _adapter.locate(str(environ.get("SCRIPT_NAME", "")).rstrip("/"),
                                str(environ.get("PATH_INFO", "")))
        if where is None:
            return _adapter.not_found()
        base, rel = where
        if rel == "":
            return _adapter.redirect(base + "/" + ("?" + query if query else ""))
        body = b""
        if method == "POST":
            try:
                n = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                n = 0
            stream = environ.get("wsgi.input")
            if n > 0 and stream is not None:
                body = stream.read(min(n, _adapter.MAX_BODY))
        return _adapter.serve(Request(method, rel.lstrip("/"), query, body), self.options)


def _path_route(environ: Environ) -> str:
    return str(environ.get("PATH_INFO", "")) or "/"


class _LabelledBody:
    """A response iterable whose iteration and ``close()`` run under the request's labels."""

    def __init__(self, body: Iterable[bytes], lab: labels) -> None:
        self._body = body
        self._lab = lab
        self._it: Optional[Iterator[bytes]] = None

    def __iter__(self) -> _LabelledBody:
        return self

    def __next__(self) -> bytes:
        with self._lab:
            if self._it is None:
                self._it = iter(self._body)
            return next(self._it)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            with self._lab:
                close()


class PprofMiddleware:
    """Wrap a WSGI application: serve ``prefix`` (default ``/debug/pprof``), label the rest.

    ``label_requests``: run each application request under ``pprofx.labels`` with
    ``http.method`` and ``http.route``. ``route``: function of the environ giving the route
    label (default: ``PATH_INFO``). Other keyword arguments (``token``, ``authorize``,
    ``max_seconds``) configure the :class:`PprofApp` that serves the prefix; they do not
    affect the application's own requests.
    """

    def __init__(self, app: WSGIApp, prefix: str = _adapter.PREFIX, label_requests: bool = True,
                 route: Optional[Callable[[Environ], str]] = None, trace_labels: bool = False,
                 **pprof_options: Any) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/")
        self.label_requests = label_requests
        self.route = route or _path_route
        self.trace_labels = trace_labels
        self.pprof = PprofApp(**pprof_options)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == self.prefix or path.startswith(self.prefix + "/"):
            inner = dict(environ)
            inner["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME", "")).rstrip("/") + self.prefix
            inner["PATH_INFO"] = path[len(self.prefix):]
            return self.pprof(inner, start_response)
        lab = self._labels(environ) if self.label_requests else None
        if lab is None:
            return self.app(environ, start_response)
        with lab:
            body = self.app(environ, start_response)
        if isinstance(body, (list, tuple)):
            return body  # nothing left to run; keeps the server's len(body) == 1 shortcut
        return _LabelledBody(body, lab)

    def _labels(self, environ: Environ) -> Optional[labels]:
        return _adapter.request_labels(str(environ.get("REQUEST_METHOD", "")),
                                       lambda: self.route(environ), self.trace_labels)
