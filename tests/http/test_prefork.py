"""Prefork servers: with `pprofx run -- gunicorn -w 2 …` every worker has its own endpoint."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from pprofx.profile import decode
from tests.conftest import REPO, missing

APP = '''
import os, time
def app(environ, start_response):
    end = time.thread_time() + 0.01
    x = 0
    while time.thread_time() < end:
        x += 1
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''


def free_port_block(n: int) -> int:
    """A base port with the next n ports free at the moment."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65535:
            continue
        ok = True
        for p in range(base, base + n + 1):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


def wait_for_workers(master: str, n: int, seconds: float) -> list[list[str]]:
    """``[pid, url]`` rows of ``/debug/pprof/workers`` once ``n`` workers are listed."""
    deadline = time.monotonic() + seconds
    listing: list[list[str]] = []
    while time.monotonic() < deadline:
        try:
            listing = [ln.split() for ln in get(master + "workers").decode().splitlines()]
            if len(listing) == n:
                break
        except OSError:
            pass
        time.sleep(0.2)
    return listing


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_each_gunicorn_worker_is_profilable(tmp_path, worker_class):
    if shutil.which("gunicorn") is None and not os.path.exists(
            os.path.join(os.path.dirname(sys.executable), "gunicorn")):
        missing("gunicorn not installed (pip install gunicorn)")
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    (tmp_path / "wsgiapp.py").write_text(APP)
    agent = free_port_block(4)
    app_port = free_port_block(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPROFX_")}
    env["PPROFX_HTTP"] = f"127.0.0.1:{agent}"
    cmd = [sys.executable, "-m", "pprofx", "run", "--", gunicorn, "-w", "2", "-k", worker_class,
           "-b", f"127.0.0.1:{app_port}", "--chdir", str(tmp_path), "wsgiapp:app"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    master = f"http://127.0.0.1:{agent}/debug/pprof/"
    stop = threading.Event()
    try:
        listing = wait_for_workers(master, 2, 20)
        assert len(listing) == 2, listing

        def load():
            n = 0
            while not stop.is_set() and n < 2000:
                try:
                    get(f"http://127.0.0.1:{app_port}/", timeout=5)
                except OSError:
                    pass
                n += 1

        clients = [threading.Thread(target=load) for _ in range(3)]
        for t in clients:
            t.start()
        for pid, url in listing:
            assert url.startswith("http://127.0.0.1:")
            p = decode(get(url + "profile?seconds=1", timeout=15))
            names = {ln.function.name for s in p.samples for loc in s.locations for ln in loc.lines}
            assert "app" in names, (pid, sorted(names))
            # the endpoint belongs to that worker: its command line is gunicorn's
            assert b"gunicorn" in get(url + "cmdline")
        stop.set()
        for t in clients:
            t.join()
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_each_uwsgi_worker_is_profilable(tmp_path):
    """uWSGI forks its workers from C; with --py-call-osafterfork it runs Python's after-fork
    hooks in each worker, so the per-worker endpoints work there too (and --enable-threads
    lets the agent's thread run)."""
    uwsgi = shutil.which("uwsgi") or os.path.join(os.path.dirname(sys.executable), "uwsgi")
    if not os.path.exists(uwsgi):
        missing("uWSGI not installed (pip install uwsgi)")
    (tmp_path / "wsgiapp.py").write_text(APP)
    agent = free_port_block(4)
    app_port = free_port_block(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPROFX_")}
    env["PPROFX_HTTP"] = f"127.0.0.1:{agent}"
    cmd = [sys.executable, "-m", "pprofx", "run", "--", uwsgi, "--master", "--processes", "2",
           "--enable-threads", "--py-call-osafterfork", "--http-socket", f"127.0.0.1:{app_port}",
           "--chdir", str(tmp_path), "--module", "wsgiapp:app", "--die-on-term", "--disable-logging"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    master = f"http://127.0.0.1:{agent}/debug/pprof/"
    try:
        listing = wait_for_workers(master, 2, 30)
        assert len(listing) == 2, (listing, proc.poll())
        ports = sorted(int(url.split(":")[2].split("/")[0]) for _, url in listing)
        assert ports == [agent + 1, agent + 2], listing
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    get(f"http://127.0.0.1:{app_port}/", timeout=5)
                except OSError:
                    time.sleep(0.05)

        clients = [threading.Thread(target=load) for _ in range(3)]
        for t in clients:
            t.start()
        try:
            seen_app = 0
            for _pid, url in listing:
                p = decode(get(url + "profile?seconds=2", timeout=20))
                names = {ln.function.name for s in p.samples for loc in s.locations for ln in loc.lines}
                seen_app += "app" in names
                assert b"uwsgi" in get(url + "cmdline")
            assert seen_app >= 1  # uWSGI may hand all requests to one worker
        finally:
            stop.set()
            for t in clients:
                t.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
