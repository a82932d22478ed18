"""A small example service for `make demo`: a hot path, a slow I/O path and a lock.

Plain standard library (http.server), so it runs anywhere; it knows nothing about pprofx
except that each request is labelled with its route (`pprofx.labels`), the same thing the
WSGI/ASGI middleware does for framework apps. Run it under the agent with
`pprofx run --http 127.0.0.1:6060 -- python examples/service.py --port 8000`.

Routes: /checkout (CPU-bound: prices a cart), /search (sleeps as if waiting on a backend),
/report (serialised behind one lock).
"""

from __future__ import annotations

import argparse
import http.server
import threading
import time

try:
    import pprofx
except ImportError:  # run without the agent: no labels
    pprofx = None

_lock = threading.Lock()


def price_cart(items: int) -> float:
    total = 0.0
    for i in range(items):
        total += (i * 7919 % 113) * 1.07
    return total


def checkout() -> bytes:
    return f"{price_cart(200_000):.2f}\n".encode()


def search() -> bytes:
    time.sleep(0.02)  # waiting on a backend
    return b"3 results\n"


def report() -> bytes:
    with _lock:  # one report at a time
        time.sleep(0.005)
        return f"{price_cart(5_000):.2f}\n".encode()


ROUTES = {"/checkout": checkout, "/search": search, "/report": report}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one server thread per client connection

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if pprofx is not None:
            with pprofx.labels(route=self.path):
                body = route()
        else:
            body = route()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"example service on http://127.0.0.1:{args.port}/", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
