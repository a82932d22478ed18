"""Fetching profiles over HTTP(S) as ``go tool pprof`` does, plus what protected endpoints need.

URL rules follow pprof (``host:port/path`` gets ``http://``; an empty path means
``/debug/pprof/profile``; ``-seconds`` overrides the query; timeout 1.5×seconds or 60 s, plus
5 s). On top: a bearer token (``-token``/``-token_file`` or ``PPROFX_TOKEN``) for agents
started with ``PPROFX_TOKEN``, TLS options (``-tls_ca``/``-tls_cert``/``-tls_key``, and pprof's
``https+insecure://`` scheme), and a countdown on stderr while the server collects a timed
profile (only when stderr is a terminal). Server errors keep Go's shape:
``server response: 400 Bad Request - <body>``.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ..profile import DEFAULT_MAX_SIZE, Profile, ProfileError, decode

INSECURE_SCHEME = "https+insecure://"


@dataclasses.dataclass
class HttpOptions:
    """Client settings for URL sources (all optional)."""

    seconds: int | None = None
    timeout: float | None = None
    token: str | None = None  #: bearer token; default $PPROFX_TOKEN
    tls_ca: str | None = None  #: CA bundle to verify the server with
    tls_cert: str | None = None  #: client certificate (PEM)
    tls_key: str | None = None  #: client key (PEM)
    verbose: bool = True  #: "Fetching profile over HTTP from …" on stderr
    progress: bool | None = None  #: countdown while waiting; None = when stderr is a TTY
    max_size: int = DEFAULT_MAX_SIZE


def is_url(source: str) -> bool:
    """True for sources fetched over HTTP (scheme given, or ``host:port`` form)."""
    if source.startswith(("http://", "https://", INSECURE_SCHEME)):
        return True
    head = source.split("/", 1)[0]
    host, sep, port = head.rpartition(":")
    return bool(sep and host and port.isdigit())


def adjust_url(source: str, seconds: int | None) -> tuple[str, float | None]:
    """Normalise a URL source like Go's pprof; return (url, seconds found in it or None)."""
    if not source.startswith(("http://", "https://", INSECURE_SCHEME)):
        source = "http://" + source
    insecure = source.startswith(INSECURE_SCHEME)
    if insecure:
        source = "https://" + source[len(INSECURE_SCHEME):]
    parts = urllib.parse.urlsplit(source)
    path = parts.path
    if path in ("", "/"):
        path = "/debug/pprof/profile"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if seconds is not None:
        query = [(k, v) for k, v in query if k != "seconds"] + [("seconds", str(seconds))]
    secs = None
    for k, v in query:
        if k == "seconds":
            try:
                secs = float(v)
            except ValueError:
                secs = None
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), ""))
    return url, secs


def _ssl_context(o: HttpOptions, insecure: bool) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=o.tls_ca) if o.tls_ca else ssl.create_default_context()
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if o.tls_cert:
            ctx.load_cert_chain(o.tls_cert, o.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise ProfileError(f"TLS setup failed: {e}") from None
    return ctx


class _Countdown:
    """A one-line countdown on stderr while a timed profile is being collected."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pprofx-countdown", daemon=True)

    def _run(self) -> None:
        while not self.done.wait(0.5):
            left = max(0, self.deadline - time.monotonic())
            sys.stderr.write(f"\rCollecting profile: {left:4.0f}s left ")
            sys.stderr.flush()
        sys.stderr.write("\r" + " " * 40 + "\r")
        sys.stderr.flush()

    def __enter__(self) -> _Countdown:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(1)


def _read(req: urllib.request.Request, timeout: float, ctx, max_size: int) -> bytes:
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:  # noqa: S310 - user URL
        return resp.read(max_size + 1)


def fetch_url(source: str, o: HttpOptions) -> Profile:
    """Fetch and decode one profile over HTTP(S), with Go pprof's messages on failure."""
    insecure = source.startswith(INSECURE_SCHEME)
    url, secs = adjust_url(source, o.seconds)
    timeout = o.timeout
    if timeout is None:
        timeout = 1.5 * secs if secs else 60.0
    timeout += 5
    if o.verbose:
        print(f"Fetching profile over HTTP from {url}", file=sys.stderr)
        if secs:
            print(f"Please wait... ({secs:g}s)", file=sys.stderr)
    headers = {"User-Agent": "pprofx"}
    token = o.token if o.token is not None else os.environ.get("PPROFX_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, headers=headers)
    ctx = _ssl_context(o, insecure) if url.startswith("https://") else None
    progress = o.progress if o.progress is not None else (bool(secs) and sys.stderr.isatty())
    try:
        if progress and secs:
            with _Countdown(secs):
                data = _read(req, timeout, ctx, o.max_size)
        else:
            data = _read(req, timeout, ctx, o.max_size)
    except urllib.error.HTTPError as e:
        body = b""
        try:
            body = e.read(4096)
        except OSError:
            pass
        msg = f"server response: {e.code} {e.reason}"
        ctype = e.headers.get("Content-Type", "") if e.headers else ""
        if e.headers and e.headers.get("X-Go-Pprof") and ctype.startswith("text/plain"):
            msg += " - " + body.decode("utf-8", "replace").strip()
        elif e.code == 401:
            msg += " (the agent wants a token: pass -token or set PPROFX_TOKEN)"
        raise ProfileError(f"{url}: {msg}") from None
    except urllib.error.URLError as e:
        raise ProfileError(f"{url}: {e.reason}") from None
    except TimeoutError:
        raise ProfileError(f"{url}: timed out after {timeout:g}s") from None
    except OSError as e:
        raise ProfileError(f"{url}: {e}") from None
    try:
        return decode(data, o.max_size)
    except ProfileError as e:
        raise ProfileError(f"{url}: {e}") from None
