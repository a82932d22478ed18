"""The sampler never hurts its host: fork, many start/stop cycles, errors inside ticks, exit."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
import time

import pytest

import pprofx
from pprofx.runtime import sampler as sampler_mod
from pprofx.runtime.sampler import SAMPLER


def _burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_while_sampling():
    pprofx.start_cpu_profile()
    _burn(0.05)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no sampler, no session; it can profile on its own
        code = 1
        try:
            ok = SAMPLER.thread is None and not SAMPLER.sessions
            p = pprofx.profile_cpu(0.1)
            ok = ok and p.period_type.type == "cpu" and pprofx.stop_cpu_profile() is None
            code = 0 if ok else 3
        finally:
            os.write(w, b"done")
            os._exit(code)
    os.close(w)
    _burn(0.05)
    _, status = os.waitpid(pid, 0)
    assert os.read(r, 10) == b"done"
    os.close(r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # the parent is unaffected: still sampling, profile intact
    assert SAMPLER.thread is not None and SAMPLER.thread.is_alive()
    p = pprofx.stop_cpu_profile()
    assert p is not None and p.samples


def test_thousand_start_stop_cycles_leak_nothing():
    import tracemalloc

    base_threads = threading.active_count()

    def cycles(n):
        for _ in range(n):
            pprofx.start_cpu_profile()
            pprofx.stop_cpu_profile()

    cycles(50)  # warm caches
    tracemalloc.start()
    try:
        cycles(1000)
        gc.collect()
        first = tracemalloc.take_snapshot()
        cycles(1000)
        gc.collect()
        second = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # A leak grows with every cycle; caches and allocator noise do not.
    diff = second.compare_to(first, "lineno")
    grown = sum(s.size_diff for s in diff)
    assert grown < 64 * 1024, (grown, [str(s) for s in diff[:5]])
    assert threading.active_count() == base_threads
    assert SAMPLER.thread is None


def test_errors_in_a_tick_are_counted_and_logged_once(monkeypatch, caplog):
    calls = {"n": 0}

    def broken(ident, frame):
        calls["n"] += 1
        raise RuntimeError("boom")

    errors_before = pprofx.sampler_errors()
    SAMPLER._logged_error = False
    class Broken:
        walk = staticmethod(broken)

        def forget(self, alive):
            pass

    monkeypatch.setattr(sampler_mod, "new_walker", lambda table, depth: Broken())
    with caplog.at_level(logging.WARNING, logger="pprofx"):
        pprofx.start_wall_profile()
        t = threading.Thread(target=time.sleep, args=(0.3,))
        t.start()
        t.join()  # the host keeps running while every tick fails
        p = pprofx.stop_wall_profile()
    assert calls["n"] >= 3
    assert pprofx.sampler_errors() - errors_before >= 3
    logged = [r for r in caplog.records if "error in a sampling tick" in r.getMessage()]
    assert len(logged) == 1 and "boom" in logged[0].getMessage()
    assert p is not None  # a (possibly empty) valid profile


def test_clean_exit_while_sampling(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(
        "import threading, time, pprofx\n"
        "pprofx.start_cpu_profile()\n"
        "pprofx.start_wall_profile()\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "end = time.time() + 0.2\n"
        "while time.time() < end: pass\n"
        "print('bye')\n"
    )
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=30, cwd=os.getcwd(),
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "bye" and res.stderr == ""
    assert time.monotonic() - t0 < 10
