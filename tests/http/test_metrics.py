"""Runtime gauges at /debug/pprof/metrics: opt-in, Prometheus text, live values."""

from __future__ import annotations

import gc
import re
import threading
import urllib.error
import urllib.request

import pprofx
from pprofx.http import start_server


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def value(text: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert m, (name, text)
    return float(m.group(1))


def test_metrics_are_opt_in_and_live():
    srv = start_server("127.0.0.1:0")
    try:
        assert get(srv.url + "metrics")[0] == 404
    finally:
        srv.stop()
    srv = start_server("127.0.0.1:0", metrics=True)
    stop = threading.Event()
    extra = [threading.Thread(target=stop.wait) for _ in range(3)]
    try:
        status, ctype, text = get(srv.url + "metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        base_threads = value(text, "pprofx_threads")
        for t in extra:
            t.start()
        gc.collect()
        pprofx.profile_cpu(0.3)
        _, _, text = get(srv.url + "metrics")
        assert value(text, "pprofx_threads") == base_threads + 3
        assert value(text, "pprofx_gc_collections_total", '{generation="2"}') >= 1
        assert value(text, "pprofx_gc_pause_seconds_total", '{generation="2"}') > 0
        assert value(text, "pprofx_sampler_ticks_total") > 0
        assert value(text, "pprofx_sampler_cpu_seconds_total") > 0
        assert value(text, "pprofx_resident_memory_bytes") > 1e6
        for line in text.splitlines():  # every line is a comment or `name{labels} number`
            assert line.startswith("#") or re.match(r"^[a-z_]+(\{[^}]*\})? [-0-9.e+]+$", line), line
    finally:
        stop.set()
        for t in extra:
            t.join()
        srv.stop()


def test_registered_with_prometheus_client_when_the_app_uses_it():
    prometheus_client = __import__("pytest").importorskip("prometheus_client")
    from pprofx.runtime.gauges import register_prometheus

    registry = prometheus_client.CollectorRegistry()
    assert register_prometheus(registry) and register_prometheus(registry)  # idempotent
    text = prometheus_client.generate_latest(registry).decode()
    assert value(text, "pprofx_threads") >= 1
    assert value(text, "pprofx_gc_collections_total", '{generation="0"}') >= 0
    assert "# TYPE pprofx_sampler_ticks_total counter" in text


def test_agent_registers_with_the_default_registry_only_if_imported(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import prometheus_client, pprofx.auto\n"
            "print(prometheus_client.generate_latest().decode())\n")
    env = {**__import__("os").environ, "PPROFX_HTTP": "127.0.0.1:0", "PPROFX_METRICS": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "pprofx_threads " in res.stdout
    code = "import sys, pprofx.auto\nprint('prometheus_client' in sys.modules)\n"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=60)
    assert res.stdout.strip() == "False", res.stderr  # never imported by pprofx itself
