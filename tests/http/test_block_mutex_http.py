"""Block and mutex over HTTP: legacy text, godeltaprof-style deltas, and real servers
(gunicorn gthread, uvicorn) with lock profiling turned on by PPROFX_* variables."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

import pprofx
from pprofx.http.handlers import Request, handle
from pprofx.profile import decode
from pprofx.runtime import locks
from tests.conftest import REPO, missing
from tests.http.test_prefork import free_port_block, get


@pytest.fixture
def profiling():
    yield
    pprofx.set_block_profile_rate(0)
    pprofx.set_mutex_profile_fraction(0)
    assert not locks.installed()


def names_in(p) -> set[str]:
    return {ln.function.name for s in p.samples for loc in s.locations for ln in loc.lines}


def critical_section(lock):
    with lock:
        time.sleep(0.02)


def contend(n_threads: int = 3) -> None:
    lock = threading.Lock()
    threads = [threading.Thread(target=critical_section, args=(lock,)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_off_profiles_are_valid_and_empty():
    for name in ("block", "mutex"):
        r = handle(Request("GET", name))
        assert r.status == 200 and r.header("Content-Type") == "application/octet-stream"
        p = decode(r.body)
        assert [(t.type, t.unit) for t in p.sample_types] == [("contentions", "count"),
                                                              ("delay", "nanoseconds")]
        assert (p.period_type.type, p.period_type.unit, p.period) == ("contentions", "count", 1)


def test_legacy_text_and_delta_endpoints(profiling):
    pprofx.set_block_profile_rate(1)
    pprofx.set_mutex_profile_fraction(1)
    handle(Request("GET", "delta_mutex"))  # start the delta window
    handle(Request("GET", "delta_block"))
    contend()
    text = handle(Request("GET", "mutex", "debug=1")).body.decode()
    assert text.startswith("--- mutex:\ncycles/second=1000000000\nsampling period=1\n")
    assert "critical_section" in text
    record = next(ln for ln in text.splitlines()[3:] if ln and not ln.startswith("#"))
    cycles, count, at, *addrs = record.split()
    assert int(cycles) > 0 and int(count) >= 1 and at == "@" and addrs[0].startswith("0x")
    text = handle(Request("GET", "block", "debug=1")).body.decode()
    assert text.startswith("--- contention:\ncycles/second=1000000000\n") and "critical_section" in text
    for name in ("delta_mutex", "delta_block"):
        r = handle(Request("GET", name))
        assert r.status == 200
        p = decode(r.body)
        assert "critical_section" in names_in(p)
        again = decode(handle(Request("GET", name)).body)  # nothing new since the last call
        assert "critical_section" not in names_in(again)
    index = handle(Request("GET", "")).body.decode()
    assert "delta_mutex" not in index and "mutex?debug=1" in index


def test_seconds_delta_of_mutex(profiling):
    pprofx.set_mutex_profile_fraction(1)
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("r", handle(Request("GET", "mutex", "seconds=1"))))
    t.start()
    time.sleep(0.2)
    contend()
    t.join(10)
    assert box["r"].status == 200
    assert "critical_section" in names_in(decode(box["r"].body))


WSGI_APP = '''
import threading, time
LOCK = threading.Lock()

def contended_handler():
    with LOCK:
        time.sleep(0.01)

def app(environ, start_response):
    contended_handler()
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
'''


def load(url: str, clients: int, requests: int) -> None:
    def client():
        for _ in range(requests):
            try:
                get(url, timeout=10)
            except OSError:
                pass
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def lock_env(agent_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPROFX_")}
    env.update(PPROFX_HTTP=f"127.0.0.1:{agent_port}", PPROFX_BLOCK_RATE="1",
               PPROFX_MUTEX_FRACTION="1")
    return env


def wait_until(fn, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got = fn()
            if got:
                return got
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_gunicorn_gthread_mutex_profile_from_env(tmp_path):
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    if not os.path.exists(gunicorn):
        missing("gunicorn not installed (pip install gunicorn)")
    (tmp_path / "lockapp.py").write_text(WSGI_APP)
    agent = free_port_block(2)
    app_port = free_port_block(0)
    cmd = [sys.executable, "-m", "pprofx", "run", "--", gunicorn, "-w", "1", "-k", "gthread",
           "--threads", "4", "-b", f"127.0.0.1:{app_port}", "--chdir", str(tmp_path), "lockapp:app"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=lock_env(agent), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        master = f"http://127.0.0.1:{agent}/debug/pprof/"
        listing = wait_until(lambda: [ln.split() for ln in get(master + "workers").decode().splitlines()])
        worker_url = listing[0][1]
        wait_until(lambda: get(f"http://127.0.0.1:{app_port}/"))
        load(f"http://127.0.0.1:{app_port}/", clients=4, requests=15)
        for name in ("mutex", "block"):
            p = decode(get(worker_url + name))
            delay = sum(s.values[1] for s in p.samples
                        if any(ln.function.name == "contended_handler"
                               for loc in s.locations for ln in loc.lines))
            assert delay > 10_000_000, (name, names_in(p))
    finally:
        stop(proc)


ASGI_APP = '''
import asyncio
LOCK = asyncio.Lock()

async def contended_handler():
    async with LOCK:
        await asyncio.sleep(0.01)

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await contended_handler()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def test_uvicorn_mutex_profile_from_env(tmp_path):
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        missing("uvicorn not installed (pip install -e '.[dev]')")
    (tmp_path / "asgilock.py").write_text(ASGI_APP)
    agent = free_port_block(0)
    app_port = free_port_block(0)
    cmd = [sys.executable, "-m", "pprofx", "run", "--", sys.executable, "-m", "uvicorn",
           "--app-dir", str(tmp_path), "--host", "127.0.0.1", "--port", str(app_port),
           "--log-level", "warning", "--loop", "asyncio", "--http", "h11", "asgilock:app"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=lock_env(agent), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{app_port}/"))
        load(f"http://127.0.0.1:{app_port}/", clients=4, requests=10)
        url = f"http://127.0.0.1:{agent}/debug/pprof/"
        for name in ("mutex", "block"):
            p = decode(get(url + name))
            delay = sum(s.values[1] for s in p.samples
                        if any(ln.function.name == "contended_handler"
                               for loc in s.locations for ln in loc.lines))
            assert delay > 10_000_000, (name, names_in(p))
        with urllib.request.urlopen(url + "mutex?debug=1", timeout=10) as r:
            assert r.read().startswith(b"--- mutex:\ncycles/second=1000000000\nsampling period=1\n")
    finally:
        stop(proc)
