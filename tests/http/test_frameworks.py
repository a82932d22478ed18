"""The WSGI/ASGI adapters inside real frameworks and servers: Flask, Django, FastAPI.

Each framework: the pprof routes answer as Go's do, the application's own routes still work,
the token and the authorize hook reject, and a CPU profile taken under loopback load shows
samples labelled with the ``http.route`` of two endpoints of different CPU cost. Servers bind
127.0.0.1 on a free port; load is a few client threads bounded in time and count. A missing
framework skips (fails under CI=true).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import importlib
import sys
import threading
import time
import types
import urllib.error
import urllib.request

from pprofx.http import PprofApp, PprofASGIApp, PprofASGIMiddleware, PprofMiddleware
from pprofx.profile import decode
from tests.conftest import missing

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROFILE_SECONDS = 2


def need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"{module} not installed (pip install -e '.[dev]')")


def burn(seconds: float) -> int:
    """CPU work; the two endpoints differ only in how much of it they do."""
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


# Both longer than the GIL switch interval (5 ms): the sampler takes the GIL when a thread
# drops it, and a request shorter than that drops it only at its I/O, outside the handler,
# so its CPU is charged to the server's socket code (docs/cpu-and-wall.md, GIL-timing bias).
FAST, SLOW = 0.008, 0.025


def fetch(url: str, headers: dict | None = None, method: str = "GET", data: bytes | None = None,
          timeout: float = 30):
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def routes_in(profile) -> dict[str, int]:
    """CPU nanoseconds per ``http.route`` label value."""
    out: dict[str, int] = {}
    for s in profile.samples:
        for lab in s.labels:
            if lab.key == "http.route":
                out[lab.str] = out.get(lab.str, 0) + s.values[-1]
    return out


def profile_under_load(base: str, pprof_headers: dict | None = None,
                       paths: tuple[str, str] = ("/fast", "/slow"), keep: dict | None = None
                       ) -> tuple[dict[str, int], int]:
    """CPU profile of ``base`` while 4 client threads hit /fast and /slow for a bounded time.

    Returns (CPU ns per route label, requests served). The load is limited to
    PROFILE_SECONDS + 1 s and 2000 requests per thread.
    """
    stop = threading.Event()
    served = [0]

    def client(i: int) -> None:
        # One persistent connection per client (HTTP/1.1 keep-alive where the server has it),
        # as a production load balancer would: thread-per-connection servers then run each
        # client's requests on one long-lived thread, which the sampler can follow.
        path = paths[0] if i % 2 else paths[1]
        host, port = base[len("http://"):].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            for _ in range(2000):
                if stop.is_set():
                    return
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    served[0] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    deadline = threading.Timer(PROFILE_SECONDS + 1.0, stop.set)
    deadline.start()
    try:
        time.sleep(0.2)
        status, headers, body = fetch(f"{base}/debug/pprof/profile?seconds={PROFILE_SECONDS}",
                                      pprof_headers)
        assert status == 200, body
        assert headers["content-type"] == "application/octet-stream"
        prof = decode(body)
        if keep is not None:
            keep["profile"] = prof
    finally:
        stop.set()
        deadline.cancel()
        for t in threads:
            t.join(timeout=10)
    return routes_in(prof), served[0]


def check_pprof_routes(get) -> None:
    """What every mounting must answer; ``get(path, headers)`` -> (status, headers, body)."""
    status, headers, body = get("/debug/pprof/goroutine?debug=1", AUTH)
    assert status == 200 and body.startswith(b"goroutine profile: total "), body[:200]
    assert headers["content-type"] == "text/plain; charset=utf-8"
    status, headers, body = get("/debug/pprof/heap", AUTH)
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert body[:2] == b"\x1f\x8b" and headers["content-disposition"] == 'attachment; filename="heap"'
    decode(body)
    status, headers, body = get("/debug/pprof/", AUTH)
    assert status == 200 and b"Types of profiles available" in body
    status, headers, body = get("/debug/pprof/nosuch", AUTH)
    assert status == 404 and body == b"Unknown profile\n" and headers["x-go-pprof"] == "1"
    status, headers, body = get("/debug/pprof/goroutine", {})
    assert status == 401 and headers["x-go-pprof"] == "1" and b"Traceback" not in body
    status, _, _ = get("/debug/pprof/goroutine", {"Authorization": "Bearer wrong"})
    assert status == 401
    status, _, _ = get("/hello", {})
    assert status == 200


def check_labels(per_route: dict[str, int], served: int) -> None:
    assert served > 10, f"too little load: {served} requests"
    assert per_route.get("/fast", 0) > 0 and per_route.get("/slow", 0) > 0, per_route


class PooledWSGIServer:
    """wsgiref's server on 127.0.0.1:<free port>, requests run by a fixed pool of 8 threads."""

    def __init__(self, app) -> None:
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        pool = self.pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="wsgi-worker")

        class Server(WSGIServer):
            def process_request(self, request, client_address):
                pool.submit(self._work, request, client_address)

            def _work(self, request, client_address):
                try:
                    self.finish_request(request, client_address)
                except Exception:  # noqa: BLE001
                    self.handle_error(request, client_address)
                finally:
                    self.shutdown_request(request)

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.httpd = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> PooledWSGIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=5)
        self.pool.shutdown(wait=True)
        self.httpd.server_close()


# --- Flask -----------------------------------------------------------------------------


def flask_app(**pprof_options):
    flask = need("flask")
    app = flask.Flask("pprofx_flask_test")

    @app.route("/hello")
    def hello():
        return "hello"

    @app.route("/fast")
    def fast():
        return str(burn(FAST))

    @app.route("/slow")
    def slow():
        return str(burn(SLOW))

    @app.route("/stream")
    def stream():
        from pprofx import current_labels

        def gen():
            yield current_labels().get("http.route", "-") + "\n"
            yield current_labels().get("http.method", "-") + "\n"
        return flask.Response(gen(), mimetype="text/plain")

    app.wsgi_app = PprofMiddleware(app.wsgi_app, **pprof_options)
    return app


def flask_get(client):
    def get(path, headers):
        r = client.get(path, headers=headers)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data()
    return get


def test_flask_test_client():
    app = flask_app(token=TOKEN)
    client = app.test_client()
    check_pprof_routes(flask_get(client))
    r = client.get("/debug/pprof", headers=AUTH)
    assert r.status_code == 301 and r.headers["Location"].endswith("/debug/pprof/")
    r = client.head("/debug/pprof/goroutine?debug=1", headers=AUTH)
    assert r.status_code == 200 and r.get_data() == b"" and int(r.headers["Content-Length"]) > 0
    r = client.post("/debug/pprof/symbol", data=b"0x1234", headers=AUTH)
    assert r.status_code == 200 and r.get_data() == b"num_symbols: 1\n"
    # the label covers the iteration of a streamed body
    r = client.get("/stream")
    assert r.get_data(as_text=True) == "/stream\nGET\n"


def test_flask_authorize_hook_and_dispatcher_mount():
    need("flask")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    app = flask_app(authorize=lambda environ: environ.get("HTTP_X_ADMIN") == "yes")
    client = app.test_client()
    r = client.get("/debug/pprof/goroutine?debug=1")
    assert r.status_code == 403 and r.headers["X-Go-Pprof"] == "1"
    assert client.get("/debug/pprof/goroutine?debug=1", headers={"X-Admin": "yes"}).status_code == 200
    assert client.get("/hello").status_code == 200

    def broken(environ):
        raise RuntimeError("boom")
    r = flask_app(authorize=broken).test_client().get("/debug/pprof/")
    assert r.status_code == 500 and b"boom" not in r.get_data()

    # Mounted with SCRIPT_NAME=/debug/pprof by Werkzeug's dispatcher.
    inner = flask_app()
    inner.wsgi_app = inner.wsgi_app.app  # the bare Flask app
    mounted = DispatcherMiddleware(inner, {"/debug/pprof": PprofApp(token=TOKEN)})
    c = Client(mounted)
    r = c.get("/debug/pprof/goroutine?debug=1", headers=AUTH)
    assert r.status_code == 200 and r.get_data().startswith(b"goroutine profile")
    assert c.get("/debug/pprof/goroutine").status_code == 401
    r = c.get("/debug/pprof", headers=AUTH)
    assert r.status_code == 301 and r.headers["Location"].endswith("/debug/pprof/")
    assert c.get("/hello").status_code == 200
    # A standalone PprofApp at / reads the full path and 404s outside it, as Go's mux does.
    c = Client(PprofApp())
    assert c.get("/debug/pprof/cmdline").status_code == 200
    r = c.get("/elsewhere")
    assert r.status_code == 404 and r.get_data() == b"404 page not found\n"


def test_flask_real_servers_cpu_labels():
    need("flask")
    from werkzeug.serving import make_server

    app = flask_app(token=TOKEN)
    srv = make_server("127.0.0.1", 0, app, threaded=True)  # Flask's development server
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{srv.server_port}"
        check_pprof_routes(lambda p, h: fetch(base + p, h))
    finally:
        srv.shutdown()
        t.join(timeout=5)
    # The CPU profile under a pooled server, as Flask runs in production (gunicorn gthread,
    # waitress): the development server starts a thread per request, and the sampler loses
    # most of the CPU of threads that live only a few ticks (docs/cpu-and-wall.md).
    with PooledWSGIServer(app) as pooled:
        check_labels(*profile_under_load(pooled.url, AUTH))


# --- Django ----------------------------------------------------------------------------


def django_application(**pprof_options):
    django = need("django")
    from django.conf import settings

    if not settings.configured:
        from django.http import HttpResponse
        from django.urls import path

        urls = types.ModuleType("pprofx_test_django_urls")
        urls.urlpatterns = [
            path("hello", lambda request: HttpResponse("hello")),
            path("fast", lambda request: HttpResponse(str(burn(FAST)))),
            path("slow", lambda request: HttpResponse(str(burn(SLOW)))),
        ]
        sys.modules[urls.__name__] = urls
        settings.configure(DEBUG=False, SECRET_KEY="pprofx-test", ROOT_URLCONF=urls.__name__,
                           ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
                           MIDDLEWARE=[], INSTALLED_APPS=[], DATABASES={}, USE_TZ=True)
        django.setup()
    from django.core.wsgi import get_wsgi_application

    return PprofMiddleware(get_wsgi_application(), **pprof_options)


def test_django_wsgiref_server():
    app = django_application(token=TOKEN)
    with PooledWSGIServer(app) as srv:
        base = srv.url
        check_pprof_routes(lambda p, h: fetch(base + p, h))
        status, headers, _ = fetch(base + "/debug/pprof", AUTH)
        assert status == 301 and headers["location"] == "/debug/pprof/"
        status, _, body = fetch(base + "/debug/pprof/symbol", AUTH, "POST", b"0x1234")
        assert status == 200 and body == b"num_symbols: 1\n"
        assert fetch(base + "/nosuch")[0] == 404  # Django's own 404
        check_labels(*profile_under_load(base, AUTH))
        denied = django_application(authorize=lambda environ: False)
        srv.httpd.set_app(denied)
        status, headers, _ = fetch(base + "/debug/pprof/goroutine?debug=1")
        assert status == 403 and headers["x-go-pprof"] == "1"
        assert fetch(base + "/hello")[0] == 200


# --- FastAPI under uvicorn ------------------------------------------------------------


def fastapi_app(**pprof_options):
    fastapi = need("fastapi")
    app = fastapi.FastAPI()

    @app.get("/hello")
    async def hello():
        return {"hello": True}

    @app.get("/fast")
    async def fast():
        return {"n": burn(FAST)}

    @app.get("/slow")
    async def slow():
        return {"n": burn(SLOW)}

    @app.get("/sync-fast")
    def sync_fast():  # a sync endpoint: FastAPI runs it on a threadpool thread
        return {"n": burn(FAST)}

    @app.get("/sync-slow")
    def sync_slow():
        return {"n": burn(SLOW)}

    app.add_middleware(PprofASGIMiddleware, **pprof_options)
    return app


def test_fastapi_sync_endpoints_are_labelled():
    """CPU of sync endpoints (run on anyio's worker threads) is charged to their routes."""
    need("uvicorn")
    keep: dict = {}
    with Uvicorn(fastapi_app()) as base:
        _, served = profile_under_load(base, None, paths=("/sync-fast", "/sync-slow"), keep=keep)
    assert served > 10, served
    labelled = {"sync_fast": 0, "sync_slow": 0}
    total = {"sync_fast": 0, "sync_slow": 0}
    for s in keep["profile"].samples:
        names = {ln.function.name.rsplit(".", 1)[-1] for loc in s.locations for ln in loc.lines}
        route = {lab.key: lab.str for lab in s.labels}.get("http.route")
        for fn in total:
            if fn in names:
                total[fn] += s.values[1]
                if route == "/" + fn.replace("_", "-"):
                    labelled[fn] += s.values[1]
    for fn in total:
        assert total[fn] > 0, total
        assert labelled[fn] >= 0.9 * total[fn], (fn, labelled, total)


class Uvicorn:
    """A uvicorn server on 127.0.0.1:<free port> in a thread of this process."""

    def __init__(self, app) -> None:
        uvicorn = need("uvicorn")
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                loop="asyncio", http="h11", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_fastapi_uvicorn():
    need("uvicorn")
    with Uvicorn(fastapi_app(token=TOKEN)) as base:
        check_pprof_routes(lambda p, h: fetch(base + p, h))
        status, headers, _ = fetch(base + "/debug/pprof", AUTH)
        assert status == 301 and headers["location"] == "/debug/pprof/"
        status, headers, body = fetch(base + "/debug/pprof/cmdline", AUTH, "HEAD")
        assert status == 200 and body == b"" and int(headers["content-length"]) > 0
        status, _, body = fetch(base + "/debug/pprof/symbol", AUTH, "POST", b"0x1234")
        assert status == 200 and body == b"num_symbols: 1\n"
        check_labels(*profile_under_load(base, AUTH))


def test_fastapi_event_loop_not_blocked_during_profile():
    need("uvicorn")
    with Uvicorn(fastapi_app()) as base:
        result = {}

        def take_profile():
            result["profile"] = fetch(f"{base}/debug/pprof/profile?seconds={PROFILE_SECONDS}")

        t = threading.Thread(target=take_profile, daemon=True)
        started = time.monotonic()
        t.start()
        time.sleep(0.3)
        status, _, body = fetch(base + "/hello", timeout=5)
        answered = time.monotonic() - started
        assert status == 200 and b"hello" in body
        assert answered < PROFILE_SECONDS - 0.5, f"/hello took until {answered:.2f}s"
        assert t.is_alive(), "the profile finished before /hello was tried"
        t.join(timeout=PROFILE_SECONDS + 10)
        assert result["profile"][0] == 200


def test_fastapi_mount_and_authorize():
    fastapi = need("fastapi")
    need("uvicorn")
    app = fastapi.FastAPI()

    @app.get("/hello")
    async def hello():
        return "hello"

    async def is_admin(scope) -> bool:
        return dict(scope["headers"]).get(b"x-admin") == b"yes"

    app.mount("/debug/pprof", PprofASGIApp(authorize=is_admin))
    admin = {"X-Admin": "yes"}
    with Uvicorn(app) as base:
        status, headers, _ = fetch(base + "/debug/pprof/goroutine?debug=1")
        assert status == 403 and headers["x-go-pprof"] == "1"
        status, _, body = fetch(base + "/debug/pprof/goroutine?debug=1", admin)
        assert status == 200 and body.startswith(b"goroutine profile")
        status, headers, body = fetch(base + "/debug/pprof/heap", admin)
        assert status == 200 and headers["content-type"] == "application/octet-stream"
        decode(body)
        status, _, body = fetch(base + "/debug/pprof/", admin)
        assert status == 200 and b"Types of profiles available" in body
        assert fetch(base + "/hello")[0] == 200
