"""The standalone ``/debug/pprof/`` server: stdlib ``http.server`` on a daemon thread.

The counterpart of Go's ``import _ "net/http/pprof"`` + ``http.ListenAndServe``. Safe by
default: it binds loopback; a non-loopback address is refused unless a bearer token is set
(or ``insecure=True``). Optional CIDR allow-list and TLS. Every request is logged once on
the ``pprofx.http`` logger; no traceback ever reaches a client. Request threads are
pprofx's own, so they never appear in the profiles they serve.
"""

from __future__ import annotations

import dataclasses
import http.server
import ipaddress
import logging
import ssl
import threading
import urllib.parse

from ..runtime.sampler import own_threads
from . import _adapter
from .handlers import Options, Request, Response, error, handle

log = logging.getLogger("pprofx.http")

PREFIX = "/debug/pprof/"


@dataclasses.dataclass
class ServerConfig:
    """Settings of the standalone server (see docs/configuration.md for the env names)."""

    address: str = "127.0.0.1:6060"
    token: str | None = None
    allow: list[str] = dataclasses.field(default_factory=list)
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False
    max_seconds: int = 300
    metrics: bool = False


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``, ``:port`` = loopback) -> (host, port); ValueError if bad."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"invalid listen address {address!r}: expected host:port, "
                         "e.g. 127.0.0.1:6060")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "pprofx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        ident = threading.get_ident()
        own_threads.add(ident)
        try:
            resp = self._respond(method)
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(resp.body)
            log.info("%s %s %s %d %d", self.client_address[0], method, self.path, resp.status,
                     len(resp.body))
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            own_threads.discard(ident)

    def _respond(self, method: str) -> Response:
        cfg: ServerConfig = self.server.config  # type: ignore[attr-defined]
        if cfg.allow:
            try:
                peer = ipaddress.ip_address(self.client_address[0])
                allowed = any(peer in ipaddress.ip_network(n, strict=False) for n in cfg.allow)
            except ValueError:
                allowed = False
            if not allowed:
                return error(403, "Forbidden: client address not in the allow-list")
        if cfg.token:
            got = self.headers.get("Authorization", "")
            if not _adapter.token_ok(cfg.token, got.encode("latin-1", "replace")):
                return _adapter.unauthorized()
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == PREFIX.rstrip("/"):
            return _adapter.redirect(PREFIX)
        if not parts.path.startswith(PREFIX):
            return _adapter.not_found()
        body = b""
        if method == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(n, 1 << 20))
        req = Request(method, parts.path[len(PREFIX):], parts.query, body)
        return handle(req, self.server.options)  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - stdlib names
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug(format, *args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def process_request(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        # One thread per request, named as the profiler's own, so the threadcreate profile
        # (and leak checks built on it) shows the program's threads, not the scrapes'.
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name="pprofx-http-request", daemon=True)
        t.start()


class PprofServer:
    """A running server; :meth:`stop` shuts it down. ``url`` is its /debug/pprof/ URL."""

    def __init__(self, config: ServerConfig) -> None:
        host, port = parse_address(config.address)
        if not is_loopback(host) and not config.token and not config.insecure:
            raise ValueError(
                f"refusing to serve profiles on non-loopback address {host}:{port} without "
                "authentication: set a token (PPROFX_TOKEN) or explicitly allow it "
                "(PPROFX_INSECURE=1)")
        if ":" in host:
            _Server.address_family = __import__("socket").AF_INET6
        self.config = config
        self.httpd = _Server((host, port), _Handler)
        self.httpd.config = config  # type: ignore[attr-defined]
        self.httpd.options = Options(  # type: ignore[attr-defined]
            max_seconds=config.max_seconds, metrics=config.metrics)
        if config.metrics:
            from ..runtime.gauges import enable_gc_timing, register_prometheus_if_in_use

            enable_gc_timing()
            register_prometheus_if_in_use()  # the app's own /metrics shows them too
        scheme = "http"
        if config.certfile:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(config.certfile, config.keyfile)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        bound_host, bound_port = self.httpd.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.url = f"{scheme}://{shown}:{bound_port}{PREFIX}"
        self.thread = threading.Thread(target=self._serve_forever, name="pprofx-http",
                                       daemon=True)
        self.thread.start()

    def _serve_forever(self) -> None:
        ident = threading.get_ident()
        own_threads.add(ident)
        try:
            self.httpd.serve_forever(poll_interval=0.5)
        finally:
            # Idents are reused by later threads, which must not be hidden from profiles.
            own_threads.discard(ident)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


def start_server(address: str = "127.0.0.1:6060", **settings) -> PprofServer:
    """Serve ``/debug/pprof/`` on ``address`` from a daemon thread and return the server.

    Keyword settings are those of :class:`ServerConfig` (token, allow, certfile, keyfile,
    insecure, max_seconds). Raises ValueError for a bad or unsafe address and OSError when
    the port cannot be bound.
    """
    return PprofServer(ServerConfig(address=address, **settings))
