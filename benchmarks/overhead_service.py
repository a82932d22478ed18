"""Service overhead: gunicorn throughput without the agent, with the agent idle, and while
a CPU profile is being taken — the cost of leaving pprofx on in production.

A WSGI app whose requests do ~2 ms of pure-Python work runs under gunicorn (2 sync workers)
on loopback. A bounded load (C keep-alive client threads for D seconds, 127.0.0.1 only)
measures requests/s in three modes, alternating ``none, idle, profiling`` each round:

* ``none``: ``gunicorn app:app``;
* ``idle``: ``pprofx run -- gunicorn app:app`` (agent serving /debug/pprof/, nobody asking);
* ``profiling``: the same, with ``/debug/pprof/profile?seconds=D`` running on every worker
  for the whole measurement (100 Hz, default 1 % budget).

Two measures per run: throughput (requests/s, what users see, but on a shared 2-core
machine the load generator competes with the workers and the number swings by ±15 %), and
server CPU per request (user+system CPU of gunicorn's master and workers from /proc over
the window, divided by the requests served; the agent's own threads included), which is
what the profiler costs and is far less sensitive to scheduling noise. Prints per-round
values, the median ratio of each mode to ``none`` (target: ≤ 2 % more CPU per request while
profiling, ~0 idle), and with ``--record`` appends the table to RESULTS.md.
Run: ``python benchmarks/overhead_service.py [--rounds 3] [--seconds 8] [--record]``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

APP = '''
import time

def work(n):
    acc = 0
    for i in range(n):
        acc += (i * i) % 7
    return acc

def app(environ, start_response):
    body = str(work(20000)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:g}s")


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds of process ``root`` and its children (gunicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def drive(port: int, clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second, requests) served to ``clients`` keep-alive connections."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                conn.request("GET", "/")
                conn.getresponse().read()
                counts[i] += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0), sum(counts)


def run_mode(mode: str, workdir: Path, clients: int, seconds: float) -> tuple[float, float]:
    """(requests/s, server CPU µs per request) for one run of ``mode``."""
    port, agent_port = free_port(), free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
                "--chdir", str(workdir), "app:app"]
    cmd = gunicorn if mode == "none" else [
        sys.executable, "-m", "pprofx", "run", "--http", f"127.0.0.1:{agent_port}", "--", *gunicorn]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        fetchers: list[threading.Thread] = []
        if mode != "none":
            wait_for(f"http://127.0.0.1:{agent_port}/debug/pprof/cmdline")
            drive(port, clients, 1.0)  # warm up: both workers forked and serving
            workers = urllib.request.urlopen(
                f"http://127.0.0.1:{agent_port}/debug/pprof/workers", timeout=5).read().decode()
            urls = [line.split()[1] for line in workers.splitlines() if line.strip()]
            if mode == "profiling":
                for u in urls:
                    t = threading.Thread(target=lambda u=u: urllib.request.urlopen(
                        f"{u}profile?seconds={int(seconds) + 1}", timeout=seconds + 30).read())
                    t.start()
                    fetchers.append(t)
                time.sleep(0.3)
        else:
            drive(port, clients, 1.0)
        cpu0 = tree_cpu_seconds(proc.pid)
        rate, requests = drive(port, clients, seconds)
        cpu = tree_cpu_seconds(proc.pid) - cpu0
        for t in fetchers:
            t.join()
        return rate, 1e6 * cpu / max(requests, 1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    if shutil.which("gunicorn") is None and not (Path(sys.executable).parent / "gunicorn").exists():
        print("gunicorn is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="pprofx-bench-"))
    (workdir / "app.py").write_text(APP)
    modes = ["none", "idle", "profiling"]
    rates: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    load_start = os.getloadavg()[0]
    for r in range(args.rounds):
        for m in modes:
            rate, us = run_mode(m, workdir, args.clients, args.seconds)
            rates[m].append(rate)
            cpu[m].append(us)
        print(f"  round {r + 1}/{args.rounds}: " +
              ", ".join(f"{m} {rates[m][-1]:.0f} req/s {cpu[m][-1]:.0f} µs CPU/req" for m in modes),
              flush=True)
    rows = ["| mode | median req/s | throughput ratio | median CPU/request | CPU/request ratio | "
            "runs (req/s; µs/req) |", "|---|---|---|---|---|---|"]
    for m in modes:
        ratios = [x / n for x, n in zip(rates[m], rates["none"])]
        cratios = [x / n for x, n in zip(cpu[m], cpu["none"])]
        rows.append(f"| {m} | {statistics.median(rates[m]):.0f} | {statistics.median(ratios):.3f} | "
                    f"{statistics.median(cpu[m]):.0f} µs | {statistics.median(cratios):.3f} | "
                    f"{' '.join(f'{x:.0f}' for x in rates[m])}; "
                    f"{' '.join(f'{x:.0f}' for x in cpu[m])} |")
    table = "\n".join(rows)
    print(table)
    if args.record:
        note = (f"\n### overhead_service — {time.strftime('%Y-%m-%d')}\n\n"
                f"Command: `python benchmarks/overhead_service.py {' '.join(sys.argv[1:])}`  \n"
                f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; gunicorn 2 sync "
                f"workers, {args.clients} loopback clients, {args.seconds:g} s per run; load average "
                f"{load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end\n\n{table}\n")
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(note)
        print("recorded in benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
