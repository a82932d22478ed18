"""Text reports agree with `go tool pprof` (Go 1.19's pprof, the oracle), generated at test time.

Every profile of the compatibility corpus gets the core reports (top, top -cum, traces, tree,
peek, tags, -lines); the Go service's profiles and a profile made by pprofx's own CPU
profiler get every option the issue lists (sample_index and legacy aliases, focus/ignore/hide/
show, show_from/prune_from, tagfocus/tagignore/tagshow incl. numeric ranges, nodecount,
nodefraction, unit, granularities, noinlines, mean, relative_percentages, trim=false,
diff_base, base). Output must be byte-identical, warnings included.
"""

from __future__ import annotations

import pytest

from tests.conftest import CORPUS, corpus_params, need_corpus_file
from tests.report.gocompare import assert_same_report

CORE = [["-top"], ["-top", "-cum"], ["-traces"], ["-tree"], ["-tags"], ["-peek", "."],
        ["-top", "-lines"]]


@pytest.mark.parametrize("flags", CORE, ids=[" ".join(f) for f in CORE])
@pytest.mark.parametrize("path", corpus_params())
def test_core_reports_match_go(go, path, flags):
    assert_same_report(go, flags, [need_corpus_file(path)])


EVERY_PROFILE_OPTIONS = [
    "-top -sample_index=0", "-top -sample_index=1", "-top -focus=main", "-top -ignore=runtime",
    "-top -hide=runtime", "-top -show=main", "-top -nodecount=3", "-top -unit=ms",
    "-top -unit=auto", "-top -files", "-top -filefunctions", "-top -addresses", "-top -noinlines",
    "-top -mean", "-top -show_from=main", "-top -prune_from=runtime", "-top -tagfocus=a",
    "-top -tagignore=a", "-top -relative_percentages -focus=main", "-tree -nodecount=5",
    "-top -trim=false", "-top -nodefraction=0.1", "-traces -focus=main -lines",
    "-tags -tagfocus=1kb:", "-top -cum -nodecount=4 -focus=main -hide=Do",
]

GO_PROFILES = ["cpu", "heap", "allocs", "block", "mutex", "goroutine", "threadcreate",
               "heap_delta_s2", "block_delta_s2", "goroutine_delta_s2"]


@pytest.mark.parametrize("flags", EVERY_PROFILE_OPTIONS)
@pytest.mark.parametrize("name", GO_PROFILES)
def test_options_match_go(go, name, flags):
    path = need_corpus_file(CORPUS and CORPUS / "go" / f"{name}.pb.gz")
    assert_same_report(go, flags.split(), [path])


CPU_OPTIONS = [
    "-top -tagfocus=endpoint=/a", "-top -tagfocus=/b", "-top -tagignore=endpoint=/a",
    "-top -tagshow=endpoint", "-traces -tagfocus=pool=idle", "-tags -tagfocus=worker=0",
    "-tags -tagfocus=worker=^0$", "-top -focus=hotB", "-top -ignore=hotA", "-top -unit=s",
    "-peek hot", "-peek ^main\\.hot[AB]$", "-tree -focus=hotA -cum",
    "-top -tagfocus=endpoint=/a,/b", "-top -tagfocus=worker=0,1", "-top -taghide=worker",
]


@pytest.mark.parametrize("flags", CPU_OPTIONS)
def test_cpu_options_match_go(go, flags):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    assert_same_report(go, flags.split(), [path])


HEAP_OPTIONS = [
    "-top -sample_index=alloc_space", "-top -sample_index=inuse_objects", "-top -inuse_space",
    "-top -alloc_objects", "-top -sample_index=space", "-top -tagfocus=64kb",
    "-top -tagfocus=bytes=1kb:", "-top -tagfocus=bytes=:1kb", "-top -tagignore=bytes=64kb",
    "-traces -sample_index=alloc_space", "-tags -sample_index=alloc_objects",
]


@pytest.mark.parametrize("flags", HEAP_OPTIONS)
def test_heap_options_match_go(go, flags):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "heap.pb.gz")
    assert_same_report(go, flags.split(), [path])


@pytest.mark.parametrize("flags", [["-top", "-mean_delay"], ["-top", "-contentions"],
                                   ["-top", "-total_delay", "-cum"]])
def test_contention_aliases_match_go(go, flags):
    assert_same_report(go, flags, [need_corpus_file(CORPUS and CORPUS / "go" / "block.pb.gz")])


@pytest.mark.parametrize("flags", [
    ["-top", "-diff_base={base}"], ["-top", "-base={base}"], ["-traces", "-diff_base={base}"],
    ["-tree", "-base={base}"], ["-top", "-base={base}", "-normalize"],
    ["-top", "-diff_base={base}", "-drop_negative"], ["-tags", "-diff_base={base}"],
])
def test_base_and_diff_base_match_go(go, flags):
    corpus = need_corpus_file(CORPUS)
    base = corpus / "go" / "errors" / "cpu_concurrent_first.pb.gz"
    flags = [f.format(base=base) for f in flags]
    assert_same_report(go, flags, [corpus / "go" / "cpu.pb.gz"])


def test_heap_base_matches_go(go):
    corpus = need_corpus_file(CORPUS)
    assert_same_report(go, ["-top", f"-base={corpus / 'go' / 'heap.pb.gz'}"],
                       [corpus / "go" / "heap_gc1.pb.gz"])


def test_merged_sources_match_go(go):
    corpus = need_corpus_file(CORPUS)
    assert_same_report(go, ["-top"], [corpus / "go" / "cpu.pb.gz",
                                      corpus / "go" / "errors" / "cpu_seconds_abc.pb.gz"])


@pytest.mark.parametrize("flags", [["-top"], ["-top", "-cum"], ["-traces"], ["-tree"], ["-tags"],
                                   ["-top", "-lines"], ["-top", "-tagfocus=endpoint=/a"],
                                   ["-peek", "work"], ["-top", "-sample_index=samples"],
                                   ["-top", "-focus=work_a", "-unit=ms"], ["-top", "-files"]])
def test_pprofx_made_profile_matches_go(go, pprofx_cpu_profile, flags):
    assert_same_report(go, flags, [pprofx_cpu_profile])


@pytest.fixture(scope="module")
def pprofx_cpu_profile(tmp_path_factory):
    """A real CPU profile from pprofx's sampler: two labelled threads spinning in two functions."""
    import threading
    import time

    import pprofx

    stop = time.monotonic() + 1.0

    def work_a():
        x = 0
        while time.monotonic() < stop:
            x += 1

    def work_b():
        x = 0
        while time.monotonic() < stop:
            x += 1

    def run(fn, endpoint):
        with pprofx.labels(endpoint=endpoint):
            fn()

    path = tmp_path_factory.mktemp("pprofx") / "cpu.pb.gz"
    with open(path, "wb") as f:
        pprofx.start_cpu_profile(f)
        try:
            threads = [threading.Thread(target=run, args=(work_a, "/a")),
                       threading.Thread(target=run, args=(work_b, "/b"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            pprofx.stop_cpu_profile()
    return path
