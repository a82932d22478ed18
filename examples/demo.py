"""`make demo`: run the example service under the pprofx agent and profile it over HTTP.

1. starts `examples/service.py` with `pprofx run` (the program is not changed: the agent is
   injected and serves /debug/pprof/ on a loopback port);
2. drives a bounded load on loopback (4 clients on kept-alive connections for about
   6 seconds: /checkout, /search, /report);
3. fetches a 5-second CPU profile and a wall-clock profile over HTTP, exactly as
   `go tool pprof http://…/debug/pprof/profile?seconds=5` would, and shows them with
   `pprofx top` (CPU per function) and `pprofx tags` (CPU and wall time per route label);
4. stops everything it started. The profiles are kept as demo-cpu.pb.gz and demo-wall.pb.gz.

`python examples/demo.py FILE` prints `pprofx top` of an existing profile instead.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"demo: {url} did not answer within {seconds:g}s")


def load(port: int, stop: threading.Event, counts: dict) -> None:
    """One client on a kept-alive connection, cycling through the routes until ``stop``."""
    routes = ["/checkout", "/search", "/search", "/report"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    i = 0
    while not stop.is_set():
        route = routes[i % len(routes)]
        i += 1
        try:
            conn.request("GET", route)
            conn.getresponse().read()
            counts[route] = counts.get(route, 0) + 1
        except (OSError, http.client.HTTPException):
            counts["errors"] = counts.get("errors", 0) + 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.close()


def show(args: list[str], max_lines: int = 40) -> int:
    """Run ``pprofx ARGS`` and print its output (what a user would type next)."""
    res = subprocess.run([sys.executable, "-m", "pprofx", *args], capture_output=True,
                         text=True, cwd=ROOT)
    print(f"\n$ pprofx {' '.join(args)}")
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        return res.returncode
    lines = res.stdout.splitlines()
    print("\n".join(lines[:max_lines]))
    if len(lines) > max_lines:
        print(f"… ({len(lines) - max_lines} more lines)")
    return 0


def main() -> int:
    if len(sys.argv) > 1:
        return show(["top", sys.argv[1]], 60)
    app_port, agent_port = free_port(), free_port()
    agent = f"http://127.0.0.1:{agent_port}/debug/pprof/"
    print(f"$ pprofx run --http 127.0.0.1:{agent_port} -- python examples/service.py "
          f"--port {app_port}", flush=True)
    service = subprocess.Popen(
        [sys.executable, "-m", "pprofx", "run", "--http", f"127.0.0.1:{agent_port}", "--",
         sys.executable, str(HERE / "service.py"), "--port", str(app_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL)
    stop = threading.Event()
    clients: list[threading.Thread] = []
    try:
        wait_for(f"http://127.0.0.1:{app_port}/search")
        wait_for(agent + "cmdline")
        counts: dict = {}
        clients = [threading.Thread(target=load, args=(app_port, stop, counts)) for _ in range(4)]
        for t in clients:
            t.start()
        time.sleep(0.5)
        print(f"load running; fetching {agent}profile?seconds=5 and wall?seconds=5 …", flush=True)
        results: dict = {}

        def get(name: str) -> None:
            with urllib.request.urlopen(agent + f"{name}?seconds=5", timeout=30) as r:
                results[name] = r.read()

        fetchers = [threading.Thread(target=get, args=(n,)) for n in ("profile", "wall")]
        for t in fetchers:
            t.start()
        for t in fetchers:
            t.join()
        stop.set()
        for t in clients:
            t.join()
    finally:
        stop.set()
        service.terminate()
        service.wait(timeout=10)

    cpu_path, wall_path = Path("demo-cpu.pb.gz").resolve(), Path("demo-wall.pb.gz").resolve()
    cpu_path.write_bytes(results["profile"])
    wall_path.write_bytes(results["wall"])
    print(f"\nrequests served during the demo: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")
    rc = show(["top", "-nodecount=10", str(cpu_path)])
    rc = rc or show(["tags", "-tagshow=route", str(cpu_path)])
    rc = rc or show(["tags", "-tagshow=route", str(wall_path)])
    print("\nnote: CPU shown in blocking calls (e.g. SocketIO.readinto) was mostly used just before the")
    print("thread blocked: a Python-level sampler sees a thread when it releases the GIL. See")
    print("docs/cpu-and-wall.md, 'GIL-timing bias'; the planned native sampler removes it.")
    print(f"\nsaved {cpu_path.name} and {wall_path.name}; next: pprofx tree {cpu_path.name}, "
          f"pprofx top -tagfocus=route=/search {cpu_path.name}, or go tool pprof -top {cpu_path.name}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
