"""Every route of our /debug/pprof/ against the responses Go's net/http/pprof gave.

The corpus recorded each request made to a Go service (headers.txt, status.tsv, bodies);
we make the same requests to pprofx's server and compare status, the headers that matter
(Content-Type, Content-Disposition, X-Content-Type-Options, X-Go-Pprof) and the body's shape
(profile sample types and period type, text format headers, exact error texts).
"""

from __future__ import annotations

import gzip
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from pprofx.http import start_server
from pprofx.profile import decode
from tests.conftest import CORPUS, missing

HEADERS = ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "X-Go-Pprof")


def recorded() -> list[tuple[str, str, int, dict]]:
    """(path, body file, status, headers) for each request in the corpus."""
    if CORPUS is None:
        return []
    out = []
    blocks = (CORPUS / "go" / "headers.txt").read_text().split("=== ")[1:]
    for block in blocks:
        lines = block.strip().splitlines()
        path, _, body = lines[0].partition("  ->  ")
        status = int(lines[1].split()[1])
        headers = {}
        for ln in lines[2:]:
            k, _, v = ln.partition(": ")
            if k in HEADERS:
                headers[k] = v
        out.append((path.strip(), body.strip(), status, headers))
    return out


@pytest.fixture(scope="module")
def server():
    srv = start_server("127.0.0.1:0")
    yield srv
    srv.stop()


def fetch(url: str, data: bytes | None = None, timeout: float = 30):
    req = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def ours_path(path: str) -> str:
    # Shorter waits than the recording; same shapes.
    path = path.replace("seconds=2", "seconds=1").replace("seconds=3", "seconds=1")
    return path


def params():
    cases = recorded()
    if not cases:
        return [pytest.param(None, id="no-corpus")]
    out = []
    for path, body, status, headers in cases:
        if "seconds=abc" in path and "profile" in path:
            continue  # Go serves a 30 s profile there; checked by the unit test below
        if body.startswith("errors/cpu_concurrent"):
            continue  # needs two requests at once: test_concurrent_cpu_profile
        out.append(pytest.param((path, body, status, headers), id=f"{path} -> {body}"))
    return out


@pytest.mark.parametrize("case", params())
def test_route_matches_go(case, server):
    if case is None:
        missing("compatibility corpus not found")
    path, body_file, status, headers = case
    method_body = b"0x6744c0+0x1" if body_file == "symbol_post.txt" else None
    got_status, got_headers, body = fetch(server.url.rstrip("/") + ours_path(path)[len("/debug/pprof"):],
                                          method_body)
    assert got_status == status, (path, body[:200])
    for k in HEADERS:
        assert got_headers.get(k) == headers.get(k), (path, k, got_headers)
    go_body = (CORPUS / "go" / body_file).read_bytes()
    if body_file.endswith(".pb.gz"):
        ours, theirs = decode(body), decode(go_body)
        assert [(t.type, t.unit) for t in ours.sample_types] == \
               [(t.type, t.unit) for t in theirs.sample_types]
        assert (ours.period_type.type, ours.period_type.unit) == \
               (theirs.period_type.type, theirs.period_type.unit)
        if "seconds=" not in path:
            # (Go 1.19's delta merge drops default_sample_type; current pprof, and we, keep it.)
            assert ours.default_sample_type == theirs.default_sample_type
        assert body[:2] == b"\x1f\x8b"
        if "seconds=" in path:
            assert ours.duration_nanos > 0
    elif body_file.startswith("errors/"):
        assert body == go_body  # Go's exact message
    else:
        first_go = go_body.decode().splitlines()[0] if go_body else ""
        text = body.decode()
        if body_file.startswith(("goroutine_debug1", "threadcreate")):
            assert re.match(r"^\w+ profile: total \d+$", text.splitlines()[0])
            assert text.split()[0] == first_go.split()[0]
        elif body_file.startswith(("heap_debug1", "allocs_debug1")):
            assert text.startswith("heap profile: ") and text.splitlines()[0].endswith("@ heap/1048576")
        elif body_file.startswith(("block", "mutex")):
            assert text.splitlines()[0] == first_go
        elif body_file == "goroutine_debug2.txt":
            assert re.match(r"^goroutine \d+ \[", text)
        elif body_file == "index.html":
            for needle in ("<title>/debug/pprof/</title>", "Types of profiles available:",
                           "goroutine?debug=2", "Profile Descriptions:"):
                assert needle in text
            for name in ("allocs", "block", "cmdline", "goroutine", "heap", "mutex", "profile",
                         "threadcreate", "trace"):
                assert f"href='{name}?debug=1'" in text
        elif body_file == "cmdline.txt":
            assert "\x00" in text and not text.endswith(("\x00", "\n"))
        elif body_file.startswith("symbol"):
            assert text.startswith("num_symbols: 1\n")


def test_concurrent_cpu_profile_gets_gos_error(server, corpus):
    first: dict = {}
    t = threading.Thread(target=lambda: first.update(
        r=fetch(server.url + "profile?seconds=2")))
    t.start()
    time.sleep(0.5)
    status, headers, body = fetch(server.url + "profile?seconds=2")
    t.join()
    assert status == 500 and headers["X-Go-Pprof"] == "1"
    assert body == (corpus / "go" / "errors" / "cpu_concurrent_second.txt").read_bytes()
    status, headers, body = first["r"]
    assert status == 200 and decode(body).period_type.type == "cpu"


def test_seconds_parsing_like_go_and_capped():
    from pprofx.http.handlers import Options, Request, _duration

    opts = Options(max_seconds=300)
    for q, want in (("seconds=abc", 30), ("", 30), ("seconds=0", 30), ("seconds=-5", 30),
                    ("seconds=7", 7), ("seconds=+7", 7), ("seconds=1.5", 30)):
        assert _duration(Request("GET", "profile", q), opts) == want, q
    resp = _duration(Request("GET", "profile", "seconds=301"), opts)
    assert resp.status == 400 and b"limit of 300 seconds" in resp.body


def test_head_trace_and_unknown_paths(server):
    req = urllib.request.Request(server.url + "heap", method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200 and r.read() == b""
        assert r.headers["Content-Disposition"] == 'attachment; filename="heap"'
    status, headers, body = fetch(server.url + "trace?seconds=1")
    assert status == 501 and headers["X-Go-Pprof"] == "1" and body.startswith(b"Could not enable tracing")
    status, _, _ = fetch(server.url.replace("/debug/pprof/", "/elsewhere"))
    assert status == 404


def test_wall_endpoint(server):
    status, headers, body = fetch(server.url + "wall?seconds=1")
    assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="wall"'
    p = decode(gzip.decompress(body))
    assert p.period_type.type == "wall" and p.samples
