"""The analysis commands end to end: sources over HTTP (token, saving, partial failures),
diff and merge, and one-line errors with exit status 2 for every kind of bad input."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys

import pytest

from pprofx.profile import ProfileBuilder, encode, load
from tests.conftest import CORPUS, need_corpus_file
from tests.report.gocompare import run_ours
from tests.test_cli import assert_clean_error, pprofx


def _profile(path, hot: str, hot_ms: int, cold_ms: int) -> str:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"),
                       10_000_000, mapping_filename="svc")
    main = b.location(b.function("main", "svc.main", "svc.py", 1), 2)
    b.add([b.location(b.function(hot, f"svc.{hot}", "svc.py", 10), 11), main],
          [hot_ms // 10, hot_ms * 1_000_000])
    b.add([b.location(b.function("cold", "svc.cold", "svc.py", 20), 21), main],
          [cold_ms // 10, cold_ms * 1_000_000])
    path.write_bytes(encode(b.build()))
    return str(path)


@pytest.fixture
def agent():
    from pprofx.http.server import start_server

    server = start_server("127.0.0.1:0", token="s3cret")
    yield server
    server.stop()


def test_top_from_a_protected_agent_saves_the_profile(agent, tmp_path):
    env = {**os.environ, "PPROF_TMPDIR": str(tmp_path)}
    url = agent.url + "goroutine"
    res = subprocess.run([sys.executable, "-m", "pprofx", "top", "-token", "s3cret", url],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Type: goroutine" in res.stdout
    saved = list(tmp_path.glob("pprof.*goroutine.001.pb.gz"))
    assert len(saved) == 1, (list(tmp_path.iterdir()), res.stderr)
    assert f"Saved profile in {saved[0]}" in res.stderr
    assert load(str(saved[0])).sample_types[0].type == "goroutine"


def test_missing_token_is_a_clear_error(agent):
    res = pprofx("top", agent.url + "goroutine")
    assert_clean_error(res, "401", "token")


def test_go_shaped_server_errors_are_shown(agent):
    res = pprofx("top", "-token", "s3cret", agent.url + "nosuch")
    assert_clean_error(res, "server response: 404", "Unknown profile")
    res = pprofx("top", "-token", "s3cret", agent.url + "heap?seconds=0")
    assert_clean_error(res, "server response: 400", 'invalid value for "seconds"')


def test_timeout_is_a_clear_error():
    with socket.socket() as s:  # accepts connections, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = pprofx("top", "-timeout", "0.5", f"127.0.0.1:{port}/debug/pprof/heap", timeout=60)
    assert_clean_error(res, "timed out")


def test_bad_inputs_are_one_line_errors(tmp_path):
    good = _profile(tmp_path / "p.pb.gz", "hot", 900, 100)
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert_clean_error(pprofx("top", str(text)), "not a valid pprof protobuf")
    trunc = tmp_path / "t.pb.gz"
    trunc.write_bytes(open(good, "rb").read()[:25])
    assert_clean_error(pprofx("top", str(trunc)), "truncated")
    assert_clean_error(pprofx("top", "-sample_index=bogus", good), 'sample_index "bogus"',
                       "[samples cpu]")
    assert_clean_error(pprofx("top", "-sample_index=7", good), "outside the range [0..1]")
    assert_clean_error(pprofx("top", "-focus=hot(", good), "parsing focus regexp")
    assert_clean_error(pprofx("top", "-tagfocus=a[", good), "parsing tagfocus regexp")
    assert_clean_error(pprofx("peek", "(", good), "regexp")
    assert_clean_error(pprofx("peek", "nomatch", good), "no matches found for regexp: nomatch")
    assert_clean_error(pprofx("top", "-trim=perhaps", good), "invalid boolean value")
    assert_clean_error(pprofx("top", "-base", good, "-diff_base", good, good), "cannot both be set")
    assert_clean_error(pprofx("top", "-divide_by=0", good), "zero divisor")


def test_partial_failure_of_several_sources_is_skipped(tmp_path):
    good = _profile(tmp_path / "p.pb.gz", "hot", 900, 100)
    rc, out, err = run_ours(["-top"], [good, tmp_path / "missing.pb.gz"])
    assert rc == 0 and "hot" in out, (out, err)
    assert "missing.pb.gz" in err and "skipped" in err


def test_diff_orders_regressions_and_fails_on_request(tmp_path):
    base = _profile(tmp_path / "base.pb.gz", "hot", 500, 500)
    new = _profile(tmp_path / "new.pb.gz", "hot", 800, 200)
    res = pprofx("diff", base, new)
    assert res.returncode == 0, res.stderr
    rows = [ln for ln in res.stdout.splitlines() if ln.strip().endswith(("hot", "cold", "main"))]
    assert rows[0].split()[0] == "+30.00pp" and rows[0].endswith("hot"), res.stdout
    assert rows[-1].split()[0] == "-30.00pp" and rows[-1].endswith("cold"), res.stdout
    res = pprofx("diff", "--fail-on-regression", "25", base, new)
    assert res.returncode == 3 and "regression: hot +30.00pp" in res.stderr
    res = pprofx("diff", "--fail-on-regression", "35", base, new)
    assert res.returncode == 0, res.stderr
    res = pprofx("diff", "--fail-on-regression", "5", "-cum", base, new)
    assert res.returncode == 3  # main's cum share is unchanged, hot's grew


def test_merge_writes_what_go_reads(go, tmp_path):
    corpus = need_corpus_file(CORPUS)
    out = tmp_path / "m.pb.gz"
    a, b = corpus / "go" / "cpu.pb.gz", corpus / "go" / "errors" / "cpu_seconds_abc.pb.gz"
    res = pprofx("merge", "-o", str(out), str(a), str(b))
    assert res.returncode == 0, res.stderr
    ours = subprocess.run([go, "tool", "pprof", "-top", str(out)], capture_output=True, text=True)
    both = subprocess.run([go, "tool", "pprof", "-top", str(a), str(b)], capture_output=True, text=True)
    assert ours.returncode == 0 and ours.stdout == both.stdout
    with gzip.open(out) as f:
        assert f.read(1)
    assert_clean_error(pprofx("merge", "-o", str(out), str(a), str(corpus / "go" / "heap.pb.gz")),
                       "incompatible")


def test_progress_countdown_only_on_a_terminal(agent, capfd):
    from pprofx.report.fetch import HttpOptions, fetch_url

    p = fetch_url(agent.url + "profile?seconds=1", HttpOptions(token="s3cret", progress=True))
    err = capfd.readouterr().err
    assert "Collecting profile:" in err and p.sample_types
    fetch_url(agent.url + "profile?seconds=1", HttpOptions(token="s3cret"))
    assert "Collecting profile:" not in capfd.readouterr().err  # stderr is not a TTY here
