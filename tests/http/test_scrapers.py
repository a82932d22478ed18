"""Scraper conformance: the requests Grafana Alloy's and Parca's default configs make, and
the checks they apply to responses (spec §E), against pprofx's endpoint."""

from __future__ import annotations

import gzip
import threading
import time
import urllib.error
import urllib.request

import pytest

from pprofx.http import start_server
from pprofx.profile import decode

# Alloy pyroscope.scrape defaults: scrape_interval 15s, scrape_timeout 10s; delta targets get
# seconds = interval - 1 and timeout + interval - 1.
ALLOY = [("memory", "/debug/pprof/allocs", False), ("block", "/debug/pprof/block", False),
         ("goroutine", "/debug/pprof/goroutine", False), ("mutex", "/debug/pprof/mutex", False),
         ("process_cpu", "/debug/pprof/profile", True)]
ALLOY_INTERVAL, ALLOY_TIMEOUT = 15, 10
# Parca defaults: the same five paths; delta targets get seconds = scrape_interval (10s),
# timeout interval + 3s. (The CPU scrape runs here with a 2 s interval, to keep the suite short.)
PARCA = ALLOY
PARCA_INTERVAL = 2

EXPECTED_TYPES = {
    "memory": [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
               ("inuse_space", "bytes")],
    "block": [("contentions", "count"), ("delay", "nanoseconds")],
    "mutex": [("contentions", "count"), ("delay", "nanoseconds")],
    "goroutine": [("goroutine", "count")],
    "process_cpu": [("samples", "count"), ("cpu", "nanoseconds")],
}
EXPECTED_PERIOD = {"memory": ("space", "bytes"), "block": ("contentions", "count"),
                   "mutex": ("contentions", "count"), "goroutine": ("goroutine", "count"),
                   "process_cpu": ("cpu", "nanoseconds")}


@pytest.fixture(scope="module")
def server():
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            sum(range(1000))

    t = threading.Thread(target=busy, name="busy")
    t.start()
    srv = start_server("127.0.0.1:0")
    yield srv
    srv.stop()
    stop.set()
    t.join()


def scrape(url: str, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "GrafanaAlloy/test"})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read(), time.monotonic() - t0


def alloy_accepts(name: str, status: int, headers: dict, body: bytes) -> None:
    """The checks of Alloy's scrape loop (spec §E.1)."""
    assert 200 <= status < 300, (name, status, body[:200])
    assert body, f"empty {name} profile"
    assert headers.get("Content-Type", "").startswith("application/octet-stream"), headers
    assert not body.lstrip().startswith((b"<", b"{", b"[")), "looks like HTML/JSON"
    if body[:2] != b"\x1f\x8b":
        assert body[0] & 7 not in (6, 7)


def parca_accepts(name: str, status: int, body: bytes) -> None:
    """Parca's checks (spec §E.2): exactly 200, non-empty, parses as pprof."""
    assert status == 200 and body
    decode(body)


def check_shape(name: str, body: bytes):
    p = decode(body)
    assert [(t.type, t.unit) for t in p.sample_types] == EXPECTED_TYPES[name]
    assert (p.period_type.type, p.period_type.unit) == EXPECTED_PERIOD[name]
    assert all(m.has_functions for m in p.mappings)
    return p


def test_alloy_default_config(server):
    base = server.url[: -len("/debug/pprof/")]
    first = {}
    for name, path, delta in ALLOY:
        url = base + path
        timeout = ALLOY_TIMEOUT
        if delta:
            url += f"?seconds={ALLOY_INTERVAL - 1}"
            timeout += ALLOY_INTERVAL - 1
        status, headers, body, took = scrape(url, timeout + 5)
        alloy_accepts(name, status, headers, body)
        assert took < timeout, (name, took)
        p = check_shape(name, body)
        first[name] = p
        if delta:
            assert abs(p.duration_nanos / 1e9 - (ALLOY_INTERVAL - 1)) < 1.5
            assert p.samples, "CPU profile of a busy process has samples"
    # Alloy differences cumulative memory/block/mutex scrapes: values must not go down.
    for name, path, _delta in ALLOY:
        if name not in ("memory", "block", "mutex"):
            continue
        status, headers, body, _ = scrape(base + path, ALLOY_TIMEOUT)
        alloy_accepts(name, status, headers, body)
        before = {tuple(loc.id for loc in s.locations): s.values for s in first[name].samples}
        for s in decode(body).samples:
            old = before.get(tuple(loc.id for loc in s.locations))
            if old is not None:
                assert s.values[0] >= old[0] and s.values[1] >= old[1]


def test_parca_default_paths(server):
    base = server.url[: -len("/debug/pprof/")]
    for name, path, delta in PARCA:
        url = base + path + (f"?seconds={PARCA_INTERVAL}" if delta else "")
        timeout = PARCA_INTERVAL + 3
        status, headers, body, took = scrape(url, timeout + 5)
        parca_accepts(name, status, body)
        assert took < timeout, (name, took)
        check_shape(name, gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
