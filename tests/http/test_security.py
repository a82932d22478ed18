"""Production safety of the standalone server: auth, allow-list, bind policy, TLS, limits."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pprofx.http import Request, handle, start_server
from pprofx.http.handlers import Options


def fetch(url, headers=None, context=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_bearer_token():
    srv = start_server("127.0.0.1:0", token="s3cret")
    try:
        status, headers, body = fetch(srv.url + "goroutine")
        assert status == 401 and headers["X-Go-Pprof"] == "1" and b"Traceback" not in body
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert fetch(srv.url + "goroutine", {"Authorization": "Bearer wrong"})[0] == 401
        assert fetch(srv.url + "goroutine", {"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        srv.stop()


def test_allow_list():
    srv = start_server("127.0.0.1:0", allow=["10.0.0.0/8"])
    try:
        status, _, body = fetch(srv.url + "goroutine")
        assert status == 403 and b"allow-list" in body
    finally:
        srv.stop()
    srv = start_server("127.0.0.1:0", allow=["127.0.0.0/8"])
    try:
        assert fetch(srv.url + "goroutine")[0] == 200
    finally:
        srv.stop()


def test_non_loopback_bind_needs_auth_or_explicit_insecure():
    with pytest.raises(ValueError, match="refusing to serve profiles on non-loopback"):
        start_server("0.0.0.0:0")
    srv = start_server("0.0.0.0:0", token="t")
    srv.stop()
    srv = start_server("0.0.0.0:0", insecure=True)
    srv.stop()
    with pytest.raises(ValueError, match="invalid listen address"):
        start_server("localhost")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                    str(key), "-out", str(cert), "-days", "1"], check=True, capture_output=True)
    srv = start_server("127.0.0.1:0", certfile=str(cert), keyfile=str(key))
    try:
        assert srv.url.startswith("https://")
        ctx = ssl.create_default_context(cafile=str(cert))
        status, headers, body = fetch(srv.url + "heap", context=ctx)
        assert status == 200 and body[:2] == b"\x1f\x8b"
    finally:
        srv.stop()


def test_seconds_cap():
    srv = start_server("127.0.0.1:0", max_seconds=5)
    try:
        for path in ("profile?seconds=6", "wall?seconds=6", "heap?seconds=6"):
            status, headers, body = fetch(srv.url + path)
            assert status == 400 and headers["X-Go-Pprof"] == "1", path
            assert b"limit of 5 seconds" in body
    finally:
        srv.stop()


_paths = st.sampled_from(["", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate",
                          "cmdline", "symbol", "trace", "nosuch", "profile", "wall"])


@settings(max_examples=300, deadline=2000)
@given(_paths, st.text(max_size=60), st.sampled_from(["GET", "POST", "HEAD", "PUT"]),
       st.binary(max_size=40))
def test_fuzzed_queries_never_500_or_hang(path, query, method, body):
    # Anything that would start a timed collection is bounded by a 1 s cap here.
    if path in ("profile", "wall") or "seconds" in query:
        query = "seconds=99999&" + query  # over the cap: must be refused at once
    resp = handle(Request(method, path, query, body), Options(max_seconds=1))
    assert resp.status in (200, 400, 404, 405, 501)
    assert b"Traceback" not in resp.body
    if resp.status != 200:
        assert resp.header("X-Go-Pprof") == "1" and resp.body.endswith(b"\n")
