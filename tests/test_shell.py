"""`pprofx shell`: an interactive session prints what `go tool pprof`'s interactive mode prints."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import CORPUS, REPO, need_corpus_file

SESSION = """top3 -cum
nodecount=2
top main
granularity=lines
top 3
granularity=functions
tags
peek hotA
top
sample_index=samples
top -runtime
sample_index=bogus
frobnicate
q
"""


def test_session_matches_go_interactive_mode(go):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    g = subprocess.run([go, "tool", "pprof", str(path)], input=SESSION, capture_output=True,
                       text=True, timeout=60)
    ours = subprocess.run([sys.executable, "-m", "pprofx", "shell", str(path)], input=SESSION,
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.replace("(pprofx) ", "(pprof) ") == g.stdout
    assert 'sample_index "bogus" must be one of: [samples cpu]' in ours.stderr
    assert "unrecognized command: 'frobnicate'" in ours.stderr


def test_output_redirect_options_and_eof(tmp_path):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "heap.pb.gz")
    out = tmp_path / "top.txt"
    script = f"o\ntop5 -cum >{out}\nhelp\n"
    res = subprocess.run([sys.executable, "-m", "pprofx", "shell", "-sample_index=alloc_space",
                          str(path)], input=script, capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "sample_index           = 'alloc_space'" in res.stdout
    assert f"Generating report in {out}" in res.stderr
    assert "main.leakyAlloc" in out.read_text() and "Entering interactive mode" in res.stderr
    assert "q, quit, exit, Ctrl-D" in res.stdout
