"""The `pprofx` command: version/help, `raw` on files and URLs, and one-line errors."""

from __future__ import annotations

import gzip
import http.server
import subprocess
import sys
import threading

import pytest

from pprofx import __version__
from pprofx.profile import ProfileBuilder, encode
from tests.conftest import REPO


def pprofx(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pprofx", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout)


def sample_profile_bytes() -> bytes:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"),
                       10_000_000, mapping_filename="svc")
    b.add([b.location(b.function("handler", "svc.handler", "svc.py", 3), 7)], [2, 20_000_000])
    return encode(b.build())


def assert_clean_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("pprofx: ")
    for n in needles:
        assert n in last, last


def test_version_and_help():
    res = pprofx("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"pprofx {__version__}"
    res = pprofx("--help")
    assert res.returncode == 0 and "raw" in res.stdout
    res = pprofx()
    assert res.returncode == 2 and "usage:" in res.stderr


def test_raw_on_a_file(tmp_path):
    path = tmp_path / "p.pb.gz"
    path.write_bytes(sample_profile_bytes())
    res = pprofx("raw", str(path))
    assert res.returncode == 0, res.stderr
    assert "samples/count cpu/nanoseconds" in res.stdout
    assert "handler svc.py:7 s=3(svc.handler)" in res.stdout


def test_raw_errors_are_one_line(tmp_path):
    assert_clean_error(pprofx("raw", str(tmp_path / "missing.pb.gz")), "cannot read",
                       "No such file")
    text = tmp_path / "notes.txt"
    text.write_text("this is not a profile\n")
    assert_clean_error(pprofx("raw", str(text)), "not a valid pprof protobuf")
    trunc = tmp_path / "trunc.pb.gz"
    trunc.write_bytes(sample_profile_bytes()[:30])
    assert_clean_error(pprofx("raw", str(trunc)), "truncated gzip")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert_clean_error(pprofx("raw", str(empty)), "empty input")
    assert_clean_error(pprofx("raw", "-seconds", "0", "127.0.0.1:1"), "-seconds")


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - stdlib name
        if self.path.startswith("/debug/pprof/profile"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(self.body)
            type(self).seen.append(self.path)
            return
        msg = b"Unknown profile\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Go-Pprof", "1")
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.body = sample_profile_bytes()
    _Handler.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_raw_on_a_url(server):
    # host:port with no path means /debug/pprof/profile, like Go's pprof; -seconds is added.
    res = pprofx("raw", "-seconds", "1", server)
    assert res.returncode == 0, res.stderr
    assert "handler svc.py:7" in res.stdout
    assert f"Fetching profile over HTTP from http://{server}/debug/pprof/profile?seconds=1" in res.stderr
    assert _Handler.seen == ["/debug/pprof/profile?seconds=1"]


def test_raw_url_errors(server):
    res = pprofx("raw", f"http://{server}/debug/pprof/nosuchprofile")
    assert_clean_error(res, "server response: 404 Not Found - Unknown profile")
    res = pprofx("raw", "http://127.0.0.1:1/debug/pprof/heap")
    assert_clean_error(res, "http://127.0.0.1:1/debug/pprof/heap", "refused")


def test_gzip_of_garbage_file(tmp_path):
    path = tmp_path / "g.gz"
    path.write_bytes(gzip.compress(b"\xff" * 64))
    assert_clean_error(pprofx("raw", str(path)), "not a valid pprof protobuf")


def test_go_style_spelling(tmp_path):
    """`pprofx -top FILE` is `pprofx top FILE`; `pprofx FILE` opens the shell, as with pprof."""
    path = tmp_path / "p.pb.gz"
    path.write_bytes(sample_profile_bytes())
    a, b = pprofx("-top", "-nodecount=1", str(path)), pprofx("top", "-nodecount=1", str(path))
    assert a.returncode == 0 and a.stdout == b.stdout and "handler" in a.stdout
    a, b = pprofx("-peek", "hand", str(path)), pprofx("peek", "hand", str(path))
    assert a.returncode == 0 and a.stdout == b.stdout
    res = subprocess.run([sys.executable, "-m", "pprofx", str(path)], input="top\nquit\n",
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert res.returncode == 0 and "handler" in res.stdout and "Entering interactive mode" in res.stderr
