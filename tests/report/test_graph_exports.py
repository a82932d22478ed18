"""Graph exports agree with `go tool pprof` (Go 1.19's pprof), generated at test time.

- `dot`: byte-identical to `-dot` on every corpus profile, with -nodecount, -lines, -focus,
  -sample_index and more variants (nodelets for labels and `bytes` values included).
- `callgrind`: byte-identical to `-callgrind` on every corpus profile and variants.
- `svg`: Graphviz's layout of our DOT parses as XML, has one node per DOT node, and draws
  the same nodes, edges and clusters, in the same order, as `go tool pprof -svg`.
- `proto`: `go tool pprof -raw` reads our file and shows what it shows for its own `-proto`.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO, corpus_params, missing, need_corpus_file
from tests.report.gocompare import run_go, run_ours
from tests.report.rawparse import parse_raw
from tests.test_cli import assert_clean_error

_DOT_EDGE = re.compile(r'^N\d+ -> N\d+ \[label=" -?([^"\\]*)')
_NODELET_ID = re.compile(r"\b(N+\d+)_\d+\b")


def dot_ties_sorted(text: str) -> list[str]:
    """The DOT text with the order of ties left out: each run of call edges of equal
    |weight| sorted, and each node's nodelets sorted with their numbers masked.

    pprof sorts edges and nodelets by |weight| and leaves those of equal |weight| but
    opposite sign (only in profiles with negative values: deltas, -base, -diff_base) in
    map-iteration order, which differs from run to run of `go tool pprof` itself.
    """
    out: list[str] = []
    run: list[str] = []
    key = None
    for line in text.splitlines():
        m = _DOT_EDGE.match(line)
        masked = _NODELET_ID.sub(r"\1_#", line)
        k = ("edge", m.group(1)) if m else ("nodelet",) if masked != line else None
        if k is None or k != key:
            out.extend(sorted(run))
            run.clear()
        key = k
        (run if k else out).append(masked)
    out.extend(sorted(run))
    return out


def assert_same_output(go: str, flags: list[str], files: list[Path], normalize=None,
                       go_runs: int = 1) -> str:
    """Our output equals go tool pprof's; with ``normalize``, up to ``go_runs`` runs of
    go tool pprof are tried when its output varies from run to run (see dot_ties_sorted;
    residual-edge pruning also depends on that order), and ours must equal one of them."""
    rc, out, err = run_ours(flags, files)
    for _ in range(go_runs):
        g = run_go(go, flags, files)
        assert (g.returncode == 0) == (rc == 0), (flags, g.stderr, err)
        if g.stdout == out or (normalize is not None and normalize(g.stdout) == normalize(out)):
            return out
    diff = "".join(difflib.unified_diff(g.stdout.splitlines(True), out.splitlines(True),
                                        "go tool pprof", "pprofx", n=1))
    raise AssertionError(f"{' '.join(flags)} differs:\n{diff[:4000]}")


def _has_negative_values(path: Path | None, flags: list[str]) -> bool:
    return path is not None and ("delta" in path.name or any("base=" in f for f in flags))


def _corpus_variants(variants: list[list[str]]):
    """(path, flags) params: every corpus profile with each variant; the 20k-sample
    large.cpu only with the first, to keep the suite fast."""
    out = []
    for param in corpus_params():
        (path,) = param.values
        for v in variants:
            if path is not None and path.name == "large.cpu" and v is not variants[0]:
                continue
            out.append(pytest.param(path, v, id=f"{param.id}:{' '.join(v) or 'default'}"))
    return out


DOT_VARIANTS = [[], ["-nodecount=10"], ["-lines"], ["-focus=main"], ["-sample_index=0"]]


@pytest.mark.parametrize(("path", "flags"), _corpus_variants(DOT_VARIANTS))
def test_dot_matches_go(go, path, flags):
    path = need_corpus_file(path)
    assert_same_output(go, ["-dot", *flags], [path], dot_ties_sorted,
                       go_runs=20 if _has_negative_values(path, flags) else 1)


GO_DOT_OPTIONS = [
    ("cpu", "-tagfocus=endpoint=/a"), ("cpu", "-nodecount=5"), ("cpu", "-unit=ms"),
    ("cpu", "-hide=runtime"), ("cpu", "-noinlines"), ("cpu", "-addresses"), ("cpu", "-cum"),
    ("cpu", "-trim=false"), ("cpu", "-edgefraction=0.1"), ("cpu", "-nodefraction=0.1"),
    ("cpu", "-relative_percentages -focus=hotA"), ("cpu", "-tagshow=worker"), ("cpu", "-files"),
    ("cpu", "-diff_base={base}"), ("cpu", "-base={base}"), ("cpu", "-show_from=cpuWorker"),
    ("heap", "-sample_index=alloc_space"), ("heap", "-tagfocus=64kb"), ("heap", "-inuse_objects"),
    ("allocs", "-nodecount=3"), ("block", "-mean"), ("mutex", "-divide_by=1000"),
    ("goroutine", "-tagfocus=pool=idle"),
]


@pytest.mark.parametrize(("name", "flags"), GO_DOT_OPTIONS, ids=[" ".join(x) for x in GO_DOT_OPTIONS])
def test_dot_options_match_go(go, name, flags):
    corpus = need_corpus_file(CORPUS)
    base = corpus / "go" / "errors" / "cpu_concurrent_first.pb.gz"
    path = corpus / "go" / f"{name}.pb.gz"
    flags = flags.format(base=base).split()
    assert_same_output(go, ["-dot", *flags], [path], dot_ties_sorted,
                       go_runs=20 if _has_negative_values(path, flags) else 1)


CALLGRIND_VARIANTS = [[], ["-focus=main"], ["-sample_index=0"], ["-cum"]]


@pytest.mark.parametrize(("path", "flags"), _corpus_variants(CALLGRIND_VARIANTS))
def test_callgrind_matches_go(go, path, flags):
    assert_same_output(go, ["-callgrind", *flags], [need_corpus_file(path)])


def test_callgrind_matches_corpus_golden():
    """The file in the corpus, made by Go 1.19 (works without Go installed)."""
    corpus = need_corpus_file(CORPUS)
    rc, out, err = run_ours(["-callgrind"], [corpus / "go" / "cpu.pb.gz"])
    assert rc == 0, err
    assert out == (corpus / "go" / "reports" / "cpu" / "callgrind.txt").read_text()


def test_dot_matches_corpus_golden():
    corpus = need_corpus_file(CORPUS)
    rc, out, err = run_ours(["-dot"], [corpus / "go" / "cpu.pb.gz"])
    assert rc == 0, err
    assert out == (corpus / "go" / "reports" / "cpu" / "dot.txt").read_text()


# -- svg ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def graphviz() -> str:
    path = shutil.which("dot")
    if path is None:
        missing("Graphviz not installed (apt-get install graphviz)")
    return path


_SVG = "{http://www.w3.org/2000/svg}"


def _svg_shapes(svg: str) -> list[tuple[str, str]]:
    """(class, title) of every node, edge and cluster group, in document order."""
    root = ET.fromstring(svg.encode("utf-8"))
    out = []
    for g in root.iter(_SVG + "g"):
        cls = g.get("class")
        if cls in ("node", "edge", "cluster"):
            title = g.find(_SVG + "title")
            out.append((cls, title.text if title is not None else ""))
    return out


@pytest.mark.parametrize("name", ["cpu", "heap", "allocs", "block", "goroutine"])
def test_svg_is_graphviz_layout_of_our_dot(go, graphviz, name):
    path = need_corpus_file(CORPUS and CORPUS / "go" / f"{name}.pb.gz")
    rc, svg, err = run_ours(["-svg"], [path])
    assert rc == 0, err
    assert svg.startswith("<?xml") and "<script" not in svg
    shapes = _svg_shapes(svg)
    rc, dot, err = run_ours(["-dot"], [path])
    assert rc == 0, err
    dot_nodes = {m.group(1) for m in re.finditer(r"^(N\w+) \[", dot, re.M)}
    dot_nodes.add(re.search(r'^subgraph cluster_L \{ "([^"]*)"', dot, re.M).group(1))  # the legend
    assert {t for c, t in shapes if c == "node"} == dot_nodes
    assert sum(1 for c, _ in shapes if c == "edge") == len(re.findall(r"^N\w+ -> N\w+ \[", dot, re.M))
    want = run_go(go, ["-svg"], [path])
    assert want.returncode == 0, want.stderr
    assert shapes == _svg_shapes(want.stdout)


def test_svg_without_graphviz_is_a_clean_error(tmp_path):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    env = dict(os.environ, PATH=str(tmp_path))  # an empty directory: no dot on PATH
    res = subprocess.run([sys.executable, "-m", "pprofx", "svg", str(path)], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=120)
    assert_clean_error(res, "could not execute dot; may need to install graphviz")


# -- proto ----------------------------------------------------------------------------------

PROTO_VARIANTS = [[], ["-focus=main"], ["-divide_by=3"], ["-hide=runtime", "-tagignore=a"]]


@pytest.mark.parametrize(("path", "flags"), _corpus_variants(PROTO_VARIANTS))
def test_proto_reads_back_like_gos_proto(go, tmp_path, path, flags):
    path = need_corpus_file(path)
    ours, theirs = tmp_path / "ours.pb.gz", tmp_path / "go.pb.gz"
    rc, _, err = run_ours(["-proto", *flags, f"-output={ours}"], [path])
    g = run_go(go, ["-proto", *flags, f"-output={theirs}"], [path])
    assert (rc == 0) == (g.returncode == 0), (err, g.stderr)
    if rc != 0:
        return
    assert ours.read_bytes()[:2] == b"\x1f\x8b"
    want = run_go(go, ["-raw"], [theirs])
    got = run_go(go, ["-raw"], [ours])
    assert got.returncode == 0, got.stderr
    w, o = parse_raw(want.stdout), parse_raw(got.stdout)
    assert (o["types"], o["headers"], o["mappings"]) == (w["types"], w["headers"], w["mappings"])
    assert o["samples"] == w["samples"]
    rc, ours_raw, err = run_ours(["-raw"], [ours])
    assert rc == 0, err
    assert parse_raw(ours_raw)["samples"] == o["samples"]


def test_diff_base_proto_keeps_base_label(go, tmp_path):
    corpus = need_corpus_file(CORPUS)
    base = corpus / "go" / "errors" / "cpu_concurrent_first.pb.gz"
    out = tmp_path / "diff.pb.gz"
    rc, _, err = run_ours(["-proto", f"-diff_base={base}", f"-output={out}"], [corpus / "go" / "cpu.pb.gz"])
    assert rc == 0, err
    raw = run_go(go, ["-raw"], [out])
    assert "pprof::base:[true]" in raw.stdout
    # reloading it gives -diff_base's percentages, as pprof's own -proto does
    theirs = run_go(go, ["-top", f"-diff_base={base}", str(corpus / "go" / "cpu.pb.gz")], [])
    again = run_go(go, ["-top"], [out])
    def body(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if not ln.startswith(("File:", "Type:", "Time:"))]

    assert body(again.stdout) == body(theirs.stdout)


def _pprofx(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pprofx", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120, **kw)


def test_proto_refuses_to_write_to_a_terminal(tmp_path):
    import pty

    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    master, slave = pty.openpty()
    try:
        res = subprocess.run([sys.executable, "-m", "pprofx", "proto", str(path)], stdout=slave,
                             stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    res.stdout = ""
    assert_clean_error(res, "proto output is binary", "-output")


def test_proto_to_a_pipe_is_gzip(tmp_path):
    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    res = subprocess.run([sys.executable, "-m", "pprofx", "proto", str(path)], capture_output=True,
                         cwd=REPO, timeout=120)
    assert res.returncode == 0 and res.stdout[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("command", ["dot", "svg", "callgrind", "proto", "collapsed", "speedscope"])
def test_bad_input_is_a_clean_error(tmp_path, command):
    out = ["-output", str(tmp_path / "out")]
    assert_clean_error(_pprofx(command, *out, str(tmp_path / "missing.pb.gz")), "cannot read")
    text = tmp_path / "notes.txt"
    text.write_text("this is not a profile\n")
    assert_clean_error(_pprofx(command, *out, str(text)), "not a valid pprof protobuf")
    if CORPUS is not None:
        cpu = str(CORPUS / "go" / "cpu.pb.gz")
        assert_clean_error(_pprofx(command, *out, "-sample_index=nope", cpu), "sample_index")
        assert_clean_error(_pprofx(command, *out, "-focus=(", cpu), "focus")
        assert_clean_error(_pprofx(command, "-output", str(tmp_path / "no" / "dir" / "f"), cpu),
                           "cannot write")
