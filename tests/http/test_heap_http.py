"""/debug/pprof/heap and /allocs served from the heap profiler, read by us and by `go tool pprof`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

import pytest

from pprofx.http import start_server
from pprofx.profile import check_valid, decode
from pprofx.runtime import heap
from tests.conftest import missing

N, SIZE = 10_000, 4000
_retained: list = []


def leaky_handler_cache(n: int) -> None:
    for i in range(n):
        _retained[i] = bytes(SIZE)


@pytest.fixture(params=["c", "tracemalloc"])
def backend(request):
    if request.param == "c" and not heap.native_available():
        missing("C heap sampler not built (pip install -e . with a C compiler)")
    yield request.param
    heap.stop_heap_profiler()
    _retained.clear()


@pytest.fixture(scope="module")
def server():
    srv = start_server("127.0.0.1:0")
    yield srv
    srv.stop()


def get(server, path: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def leaf_values(p, func: str) -> list[int]:
    out = [0, 0, 0, 0]
    for s in p.samples:
        if s.locations and s.locations[0].lines[0].function.name == func:
            out = [a + b for a, b in zip(out, s.values)]
    return out


def start_leak(backend: str) -> int:
    _retained[:] = [None] * N
    heap.start_heap_profiler(65536 if backend == "c" else 1, backend=backend)
    if backend == "c":
        heap._heap_c.seed(99)
    leaky_handler_cache(N)
    return N * sys.getsizeof(bytes(SIZE))


def test_off_profiles_are_valid_and_empty(server):
    heap.stop_heap_profiler()
    if heap._heap_c is not None:
        heap._heap_c.reset()
    with heap._lock:
        heap._backend, heap._fallback, heap._rate = None, None, heap.DEFAULT_RATE
    for name, default in (("heap", ""), ("allocs", "alloc_space")):
        status, _, body = get(server, name)
        assert status == 200
        p = decode(body)
        check_valid(p)
        assert p.samples == [] and p.period == 524288 and p.default_sample_type == default
        status, headers, body = get(server, name + "?debug=1")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert body.decode().startswith("heap profile: 0: 0 [0: 1] @ heap/1048576\n")


def test_heap_over_http_finds_the_leak(server, backend):
    truth = start_leak(backend)
    status, _, body = get(server, "heap?gc=1")
    assert status == 200
    p = decode(body)
    check_valid(p)
    assert [t.type for t in p.sample_types] == ["alloc_objects", "alloc_space", "inuse_objects",
                                                 "inuse_space"]
    assert p.period_type.type == "space" and p.default_sample_type == ""
    inuse = leaf_values(p, "leaky_handler_cache")[3]
    assert abs(inuse - truth) <= 0.2 * truth
    a = decode(get(server, "allocs")[2])
    assert a.default_sample_type == "alloc_space"
    assert abs(leaf_values(a, "leaky_handler_cache")[1] - truth) <= 0.2 * truth


RECORD = re.compile(r"^(\d+): (\d+) \[(\d+): (\d+)\] @( 0x[0-9a-f]+)*$")
FRAME = re.compile(r"^#\t0x[0-9a-f]+\t\S.*\+0x0\t.*:\d+$")


def test_debug1_legacy_text(server, backend):
    start_leak(backend)
    status, _, body = get(server, "heap?debug=1")
    assert status == 200
    text = body.decode()
    lines = text.split("\n")
    rate = 65536 if backend == "c" else 1
    m = re.match(r"^heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap/(\d+)$", lines[0])
    assert m and int(m.group(5)) == 2 * rate, lines[0]
    records = [RECORD.match(ln) for ln in lines[1:] if RECORD.match(ln)]
    assert records
    totals = [sum(int(r.group(i)) for r in records) for i in (1, 2, 3, 4)]
    head = [int(m.group(i)) for i in (1, 2, 3, 4)]
    assert head[:3] == totals[:3] and head[3] in (totals[3], totals[3] + 1)
    inuse_bytes = [int(r.group(2)) for r in records]
    assert inuse_bytes == sorted(inuse_bytes, reverse=True)
    # the top record is the leak, with its frames, raw (unscaled) values
    i = lines.index(records[0].group(0))
    assert "leaky_handler_cache" in lines[i + 1] and FRAME.match(lines[i + 1]), lines[i + 1]
    if backend == "c":
        assert int(records[0].group(1)) < N / 2  # raw sampled counts, not estimates
    trailer = text[text.index("\n\n# python.MemStats\n"):].strip().split("\n")[1:]
    assert trailer and all(re.match(r"^# \w+ = .+$", ln) for ln in trailer), trailer
    names = [ln.split()[1] for ln in trailer]
    for want in ("RSS", "AllocatedBlocks", "NumGC", "HeapProfilerBackend", "MemProfileRate", "MaxRSS"):
        assert want in names


def pprof(go, tmp_path, *args):
    env = {**os.environ, "PPROF_TMPDIR": str(tmp_path)}
    return subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def top_rows(out: str) -> list[list[str]]:
    rows, started = [], False
    for ln in out.splitlines():
        if ln.strip().startswith("flat"):
            started = True
            continue
        if started and ln.strip():
            rows.append(ln.split())
    return rows


def to_bytes(v: str) -> float:
    units = {"B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
    m = re.match(r"^([0-9.]+)([kMGT]?B)$", v)
    assert m, v
    return float(m.group(1)) * units[m.group(2)]


@pytest.mark.parametrize("index", ["inuse_space", "alloc_space"])
def test_go_tool_pprof_agrees(server, backend, go, tmp_path, index):
    """Acceptance 3: `go tool pprof -sample_index=… -top` names the leak first, with our numbers."""
    start_leak(backend)
    path = tmp_path / "heap.pb.gz"
    heap.write_heap_profile(str(path))
    _retained[:] = []  # the file is the state to compare
    p = decode(path.read_bytes())
    col = {"alloc_space": 1, "inuse_space": 3}[index]
    ours = leaf_values(p, "leaky_handler_cache")[col]
    total = sum(s.values[col] for s in p.samples)
    res = pprof(go, tmp_path, f"-sample_index={index}", "-top", str(path))
    assert res.returncode == 0, res.stderr
    rows = top_rows(res.stdout)
    assert rows and rows[0][-1] == "leaky_handler_cache", res.stdout
    flat = to_bytes(rows[0][0])
    assert abs(flat - ours) <= 0.01 * ours, (rows[0], ours)  # go rounds to 2 decimals
    m = re.search(r"of ([0-9.]+[kMGT]?B) total", res.stdout)
    assert m and abs(to_bytes(m.group(1)) - total) <= 0.01 * total, res.stdout
    # and over HTTP, the legacy text too (pprof rescales it with rate = heap/N ÷ 2)
    start_leak(backend)
    res = pprof(go, tmp_path, f"-sample_index={index}", "-top", server.url + "heap")
    assert res.returncode == 0 and top_rows(res.stdout)[0][-1] == "leaky_handler_cache", res.stdout
    res = pprof(go, tmp_path, "-raw", server.url + "heap?debug=1")
    assert res.returncode == 0, res.stderr
