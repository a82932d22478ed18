"""`go tool pprof` against a live service started with `pprofx run`: every profile type shows
the function the service exercises on top — CPU, heap, allocs, block, mutex, goroutine,
threadcreate (issue #6, acceptance 1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO

SERVICE = r'''
import threading, time

retained = []

def leaky_alloc():
    for _ in range(400):
        retained.append(bytearray(64 * 1024))   # 25 MiB kept

lock = threading.Lock()

def holder():
    for _ in range(200):
        with lock:
            time.sleep(0.01)
        time.sleep(0.001)

def waiter():
    for _ in range(200):
        with lock:
            pass
        time.sleep(0.002)

def spin_forever():
    while True:   # no allocation, unlike x += 1 on ever larger ints
        pass

def park_forever(ev):
    ev.wait()

leaky_alloc()
ev = threading.Event()
for i in range(3):
    threading.Thread(target=park_forever, args=(ev,), daemon=True, name=f"parked-{i}").start()
threading.Thread(target=spin_forever, daemon=True).start()
ts = [threading.Thread(target=holder)] + [threading.Thread(target=waiter) for _ in range(3)]
for t in ts:
    t.start()
print("ready", flush=True)
for t in ts:
    t.join()
time.sleep(120)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    d = tmp_path_factory.mktemp("svc")
    (d / "svc.py").write_text(SERVICE)
    port = _free_port()
    env = {**os.environ, "PPROFX_BLOCK_RATE": "1", "PPROFX_MUTEX_FRACTION": "1",
           "PPROFX_HEAP_RATE": str(64 * 1024)}
    proc = subprocess.Popen([sys.executable, "-m", "pprofx", "run", "--http", f"127.0.0.1:{port}",
                             "--", sys.executable, str(d / "svc.py")], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    url = f"http://127.0.0.1:{port}/debug/pprof/"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "cmdline", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    time.sleep(3)  # holder/waiter rounds finish (≈2.5 s)
    yield url
    proc.kill()
    proc.wait()


def top_function(go: str, tmp_path, url: str, *flags: str) -> str:
    env = {**os.environ, "PPROF_TMPDIR": str(tmp_path)}
    res = subprocess.run([go, "tool", "pprof", "-top", *flags, url], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    rows = res.stdout.split("flat%   sum%        cum   cum%\n", 1)[1].splitlines()
    return rows[0].split()[-1]


@pytest.mark.parametrize("name,flags,expected", [
    ("profile?seconds=2", (), "spin_forever"),
    ("heap", ("-sample_index=inuse_space",), "leaky_alloc"),
    ("allocs", ("-sample_index=alloc_space",), "leaky_alloc"),
    ("block", (), "waiter"),
    ("mutex", (), "holder"),
    ("goroutine", (), "Condition.wait"),        # the three parked threads
    ("goroutine", ("-cum", "-show=park_forever"), "park_forever"),
    ("threadcreate", ("-cum",), "<module>"),
])
def test_go_tool_pprof_top_names_the_right_function(go, live, tmp_path, name, flags, expected):
    assert top_function(go, tmp_path, live + name, *flags) == expected
