"""`pprofx raw` shows the same samples as `go tool pprof -raw` for every corpus profile."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, corpus_params, need_corpus_file
from tests.report.rawparse import parse_raw


def run_pprofx(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pprofx", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("path", corpus_params())
def test_raw_matches_go_tool_pprof(path, go):
    path = need_corpus_file(path)
    want = subprocess.run([go, "tool", "pprof", "-raw", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert want.returncode == 0, want.stderr
    got = run_pprofx("raw", str(path))
    assert got.returncode == 0, got.stderr
    w, g = parse_raw(want.stdout), parse_raw(got.stdout)
    assert g["types"] == w["types"]
    assert g["headers"] == w["headers"]
    assert g["mappings"] == w["mappings"]
    assert g["samples"] == w["samples"]
