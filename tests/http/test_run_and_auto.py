"""Zero-code start: `pprofx run -- python app.py` and `import pprofx.auto` with PPROFX_* env."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from pprofx.profile import decode
from tests.conftest import REPO

APP = """
import sys, time
def handle_request():
    x = 0
    end = time.time() + float(sys.argv[1])
    while time.time() < end:
        x += 1
handle_request()
print("app finished", sys.argv[2])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def test_pprofx_run_injects_the_agent_into_an_unmodified_script(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPROFX_")}
    proc = subprocess.Popen([sys.executable, "-m", "pprofx", "run", "--http", f"127.0.0.1:{port}",
                             "--", sys.executable, str(app), "4", "with-args"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env=env)
    try:
        base = f"http://127.0.0.1:{port}/debug/pprof/"
        wait_for(base + "cmdline", time.monotonic() + 10)
        with urllib.request.urlopen(base + "cmdline", timeout=5) as r:
            assert r.read().decode().split("\x00")[-2:] == ["4", "with-args"]
        with urllib.request.urlopen(base + "profile?seconds=1", timeout=10) as r:
            p = decode(r.read())
        names = {s.locations[0].lines[0].function.name for s in p.samples if s.locations}
        assert "handle_request" in names
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "app finished with-args"


def test_run_errors_are_one_line():
    res = subprocess.run([sys.executable, "-m", "pprofx", "run"], capture_output=True, text=True,
                         cwd=REPO)
    assert res.returncode == 2 and res.stderr.startswith("pprofx: run needs a command")
    res = subprocess.run([sys.executable, "-m", "pprofx", "run", "--", "no-such-program-x"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and "command not found: no-such-program-x" in res.stderr


def run_auto(env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PPROFX_")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO)
    code = "import pprofx.auto as a; print('server', a.server is not None); print('app ran')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=30)


def test_auto_never_breaks_its_host():
    res = run_auto({"PPROFX_HTTP": "not-an-address"})
    assert res.returncode == 0 and "app ran" in res.stdout and "server False" in res.stdout
    assert "invalid listen address" in res.stderr
    res = run_auto({"PPROFX_HTTP": "0.0.0.0:0"})
    assert "server False" in res.stdout and "non-loopback" in res.stderr
    res = run_auto({"PPROFX_MAX_SECONDS": "abc"})
    assert "server False" in res.stdout and "PPROFX_MAX_SECONDS='abc'" in res.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        res = run_auto({"PPROFX_HTTP": f"127.0.0.1:{busy}"})
    assert res.returncode == 0 and "server False" in res.stdout
    res = run_auto({"PPROFX_HTTP": "127.0.0.1:0"})
    assert "server True" in res.stdout and res.stderr == ""
    res = run_auto({"PPROFX_ENABLED": "0"})
    assert "server False" in res.stdout and res.stderr == ""
