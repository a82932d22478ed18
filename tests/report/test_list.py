"""`pprofx list REGEX` prints `go tool pprof -list`'s annotated source, byte for byte.

Go's CPU profile of the reference service is listed against its source (laid out as the
profile names it, example.com/refsvc/main.go), found through -source_path, -trim_path or the
current directory, and with source missing (pprof's " Error:" line); a CPU profile made by
pprofx's own sampler is listed against this test suite's source files.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import CORPUS, REPO, need_corpus_file
from tests.report.gocompare import run_go, run_ours
from tests.report.test_text_vs_go import pprofx_cpu_profile  # noqa: F401 - fixture


def assert_same_list(go, flags, files, cwd):
    g = run_go(go, flags, files, cwd=cwd)
    rc, out, err = run_ours(flags, files)
    assert (g.returncode == 0) == (rc == 0), (flags, g.stderr, err)
    assert out == g.stdout, (flags, g.stdout, out)
    return out


@pytest.fixture(scope="module")
def refsvc_source(tmp_path_factory):
    """The reference service's source where its profile says it is: example.com/refsvc/main.go."""
    src = need_corpus_file(CORPUS and CORPUS / "go" / "refsvc-source" / "main.go")
    root = tmp_path_factory.mktemp("src")
    (root / "example.com" / "refsvc").mkdir(parents=True)
    shutil.copy(src, root / "example.com" / "refsvc" / "main.go")
    return root


GO_LISTS = [
    "-list hotA -source_path {src}",
    "-list hot -source_path {src}",
    "-list main\\. -source_path {src}",
    "-list ^main\\.cpuWorker -source_path {src} -noinlines",
    "-list hotB -source_path {src} -focus=cpuWorker",
    "-list hotA -source_path {src} -unit=ms",
    "-list hotA -source_path {src}/nowhere:{src}",
    "-list hotA -source_path {refsvc} -trim_path=example.com/refsvc",
    "-list hotA",
    "-list coldC -source_path /nonexistent",
    "-list nomatch -source_path {src}",
    "-list ( -source_path {src}",
]


@pytest.mark.parametrize("flags", GO_LISTS)
def test_list_matches_go(go, refsvc_source, tmp_path, monkeypatch, flags):
    corpus = need_corpus_file(CORPUS)
    flags = flags.format(src=refsvc_source, refsvc=corpus / "go" / "refsvc-source").split()
    monkeypatch.chdir(tmp_path)  # an empty directory: the default source path finds nothing
    assert_same_list(go, flags, [corpus / "go" / "cpu.pb.gz"], cwd=tmp_path)


def test_list_searches_the_current_directory_and_parents(go, refsvc_source, monkeypatch):
    corpus = need_corpus_file(CORPUS)
    deeper = refsvc_source / "a" / "b"
    deeper.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(deeper)
    out = assert_same_list(go, ["-list", "hotA"], [corpus / "go" / "cpu.pb.gz"], cwd=deeper)
    assert "s ^= s >> 29" in out


def test_list_matches_corpus_golden(refsvc_source):
    corpus = need_corpus_file(CORPUS)
    rc, out, err = run_ours(["-list", "hotA", "-source_path", str(refsvc_source)],
                            [corpus / "go" / "cpu.pb.gz"])
    assert rc == 0, err
    assert out == (corpus / "go" / "reports" / "cpu" / "list_hotA.txt").read_text()


@pytest.mark.parametrize("flags", [["-list", "work_a"], ["-list", "work_"],
                                   ["-list", "work_b", "-source_path=/nonexistent"],
                                   ["-list", "work", "-tagfocus=endpoint=/a"]])
def test_list_of_pprofx_profile_matches_go(go, pprofx_cpu_profile, monkeypatch, flags):  # noqa: F811
    monkeypatch.chdir(REPO)
    out = assert_same_list(go, flags, [pprofx_cpu_profile], cwd=REPO)
    assert "ROUTINE" in out and "while time.monotonic() < stop:" in out
