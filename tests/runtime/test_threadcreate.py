"""threadcreate: where threads were started, counted; the debug=2 dump says who started a thread."""

from __future__ import annotations

import subprocess
import threading

from pprofx.profile import encode
from pprofx.runtime import threadcreate
from pprofx.runtime.threads import dump_threads


def spawn_workers(n, stop):
    ts = [threading.Thread(target=stop.wait, name=f"worker-{i}") for i in range(n)]
    for t in ts:
        t.start()
    return ts


def spawn_pollers(n, stop):
    ts = [threading.Thread(target=stop.wait, name=f"poller-{i}") for i in range(n)]
    for t in ts:
        t.start()
    return ts


def counts_by_creator(p):
    out = {}
    for s in p.samples:
        names = [ln.function.name for loc in s.locations for ln in loc.lines]
        out[names[0]] = out.get(names[0], 0) + s.values[0]
    return out


def test_threadcreate_counts_creation_sites(tmp_path, go):
    was = threadcreate.installed()
    threadcreate.install()
    stop = threading.Event()
    before = counts_by_creator(threadcreate.threadcreate_profile())
    try:
        threads = spawn_workers(5, stop) + spawn_pollers(3, stop)
        p = threadcreate.threadcreate_profile()
        after = counts_by_creator(p)
        assert after.get("spawn_workers", 0) - before.get("spawn_workers", 0) == 5
        assert after.get("spawn_pollers", 0) - before.get("spawn_pollers", 0) == 3
        assert [(t.type, t.unit) for t in p.sample_types] == [("threadcreate", "count")]
        dump = dump_threads()
        assert "thread 'worker-0'" in dump and "created by spawn_workers in thread 'MainThread'" in dump
        path = tmp_path / "threadcreate.pb.gz"
        path.write_bytes(encode(p))
        res = subprocess.run([go, "tool", "pprof", "-top", "-nodefraction=0", str(path)], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0 and "spawn_workers" in res.stdout, res.stderr
    finally:
        stop.set()
        for t in threads:
            t.join()
        if not was:
            threadcreate.uninstall()
    if not was:
        assert threading.Thread.start is not threadcreate._recording_start


def test_uninstall_restores_thread_start():
    was = threadcreate.installed()
    original = threading.Thread.start if not was else None
    threadcreate.install()
    threadcreate.install()  # idempotent
    assert threading.Thread.start is threadcreate._recording_start
    threadcreate.uninstall()
    assert threading.Thread.start is not threadcreate._recording_start
    if original is not None:
        assert threading.Thread.start is original
    if was:
        threadcreate.install()
