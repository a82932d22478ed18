"""`go tool pprof` against a live pprofx endpoint: it fetches and reads every profile."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

import pprofx
from pprofx.http import start_server


def hot_loop(stop):
    with pprofx.labels(endpoint="/hot"):
        x = 0
        while not stop.is_set():
            x += 1


def idle_worker(stop):
    stop.wait()


@pytest.fixture(scope="module")
def service():
    stop = threading.Event()
    threads = [threading.Thread(target=hot_loop, args=(stop,), name="hot"),
               threading.Thread(target=idle_worker, args=(stop,), name="idle")]
    for t in threads:
        t.start()
    srv = start_server("127.0.0.1:0")
    yield srv
    srv.stop()
    stop.set()
    for t in threads:
        t.join()


def pprof(go, tmp_path, *args, timeout=60):
    env = {**os.environ, "PPROF_TMPDIR": str(tmp_path)}
    return subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_cpu_profile_over_http(service, go, tmp_path):
    t0 = time.monotonic()
    res = pprof(go, tmp_path, "-top", service.url + "profile?seconds=2")
    assert res.returncode == 0, res.stderr
    assert 1.9 < time.monotonic() - t0 < 10
    rows = [ln for ln in res.stdout.splitlines() if ln.strip().endswith("hot_loop")]
    assert rows, res.stdout
    assert "Type: cpu" in res.stdout
    # the bare host:port form means /debug/pprof/profile, as with Go services
    hostport = service.url.split("//")[1].split("/")[0]
    res = pprof(go, tmp_path, "-seconds", "1", "-top", hostport)
    assert res.returncode == 0 and "hot_loop" in res.stdout, res.stderr
    res = pprof(go, tmp_path, "-tagfocus=endpoint=/hot", "-top", service.url + "profile?seconds=1")
    assert res.returncode == 0 and "hot_loop" in res.stdout, res.stderr


@pytest.mark.parametrize("name", ["heap", "allocs", "goroutine", "block", "mutex", "threadcreate"])
def test_named_profiles_over_http(service, go, tmp_path, name):
    for fmt in ("-top", "-raw", "-traces"):
        res = pprof(go, tmp_path, fmt, service.url + name)
        assert res.returncode == 0, (fmt, res.stderr)
    if name == "goroutine":
        res = pprof(go, tmp_path, "-traces", service.url + name)
        assert "hot_loop" in res.stdout and "idle_worker" in res.stdout, res.stdout
    res = pprof(go, tmp_path, "-raw", service.url + name + "?seconds=1")
    assert res.returncode == 0, res.stderr


def test_go_shows_our_error_text(service, go, tmp_path):
    res = pprof(go, tmp_path, "-top", service.url + "nosuchprofile")
    assert res.returncode != 0
    assert "server response: 404 Not Found - Unknown profile" in res.stderr
