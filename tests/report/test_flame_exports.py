"""Flame-graph exports: `collapsed` (folded stacks) and `speedscope` (speedscope's JSON).

Neither has a `go tool pprof` counterpart, so they are checked against the profile itself:
our folded stacks, read back with a strict parser of the format, hold exactly the profile's
per-stack sums, and add up to `pprofx top`'s total; the speedscope file validates against
speedscope's own JSON schema (fetched from its npm package by `make test` into .cache/,
never committed) and carries the same stacks and weights as the folded output.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pprofx.report.core import prepare
from pprofx.report.options import ReportOptions
from pprofx.report.source import load_sources
from tests.conftest import CORPUS, REPO, corpus_params, missing, need_corpus_file
from tests.report.gocompare import run_ours
from tests.report.test_text_vs_go import pprofx_cpu_profile  # noqa: F401 - fixture

_FOLDED = re.compile(r"^([^;\n]+(?:;[^;\n]+)*) (-?\d+)$")


def parse_folded(text: str) -> dict[str, int]:
    """Strict reader of flamegraph.pl's input: ``frame;frame;… <integer>`` per line, no empty
    frame, no repeated stack, lines sorted."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    assert text == "" or text.endswith("\n")
    for line in lines:
        m = _FOLDED.match(line)
        assert m, f"not a folded-stack line: {line!r}"
        stack, value = m.group(1), int(m.group(2))
        assert all(f.strip() == f and f for f in stack.split(";")), line
        assert stack not in out, f"stack repeated: {stack}"
        assert value != 0, line
        out[stack] = value
    assert lines == sorted(lines, key=lambda ln: ln.rsplit(" ", 1)[0])
    return out


def expected_stacks(path: Path, index_name: str = "") -> dict[str, int]:
    """Per-stack sums straight from the profile (function granularity, no filters)."""
    p = load_sources([str(path)])
    idx = prepare(p, "top", ReportOptions(sample_index=index_name)).index
    sums: Counter = Counter()
    for s in p.samples:
        frames = []
        for loc in reversed(s.locations):
            for ln in reversed(loc.lines or [None]):
                if ln is not None and ln.function is not None:
                    frames.append(ln.function.name)
                elif loc.mapping is not None and loc.mapping.filename:  # unsymbolized: pprof's name
                    frames.append("[" + loc.mapping.filename.rsplit("/", 1)[-1] + "]")
                else:
                    frames.append("<unknown>")
        if frames:
            sums[";".join(f.replace(";", ":") for f in frames)] += s.values[idx]
    return {k: v for k, v in sums.items() if v != 0}


def top_shown(flags: list[str], path: Path) -> tuple[str, str]:
    """(value shown, total) of untrimmed `pprofx top`: "Showing nodes accounting for X, …
    of T total" — X leaves out samples without a stack, as folded stacks do."""
    rc, out, err = run_ours(["-top", "-trim=false", *flags], [path])
    assert rc == 0, err
    m = re.search(r"^Showing nodes accounting for (\S+), \S+ of (\S+) total$", out, re.M)
    return m.group(1), m.group(2)


def collapsed(flags: list[str], path: Path) -> dict[str, int]:
    rc, out, err = run_ours(["-collapsed", *flags], [path])
    assert rc == 0, err
    return parse_folded(out)


def _formatted(path: Path, flags_opts: ReportOptions, v: int) -> str:
    rpt = prepare(load_sources([str(path)]), "top", flags_opts)
    rpt.select_output_unit(rpt.trimmed_graph()[0])
    return rpt.format_value(v)


def _without_large(params):
    """Corpus params minus large.cpu (20k samples, slow here; the smaller CPU profiles cover it)."""
    return [p for p in params if not (p.values[0] is not None and p.values[0].name == "large.cpu")]


@pytest.mark.parametrize("path", _without_large(corpus_params()))
def test_collapsed_round_trips_the_profile(path):
    path = need_corpus_file(path)
    got = collapsed([], path)
    assert got == expected_stacks(path)
    if all(v > 0 for v in got.values()):
        shown, total = top_shown([], path)
        assert _formatted(path, ReportOptions(trim=False), sum(got.values())) == shown
        p = load_sources([str(path)])
        if all(s.locations for s in p.samples):
            assert shown == total


@pytest.mark.parametrize(("name", "flags", "opts"), [
    ("heap", ["-sample_index=alloc_space"], ReportOptions(sample_index="alloc_space")),
    ("heap", ["-sample_index=0"], ReportOptions(sample_index="0")),
    ("cpu", ["-focus=hotA"], ReportOptions(focus="hotA")),
    ("cpu", ["-tagfocus=endpoint=/b"], ReportOptions(tagfocus="endpoint=/b")),
    ("cpu", ["-hide=runtime"], ReportOptions(hide="runtime")),
    ("block", ["-mean"], None),
])
def test_collapsed_honours_options(name, flags, opts):
    path = need_corpus_file(CORPUS and CORPUS / "go" / f"{name}.pb.gz")
    got = collapsed(flags, path)
    assert got
    if opts is not None:
        opts.trim = False
        assert _formatted(path, opts, sum(got.values())) == top_shown(flags, path)[0]
    if flags == ["-sample_index=alloc_space"]:
        assert got == expected_stacks(path, "alloc_space")
    if flags == ["-focus=hotA"]:
        assert all("main.hotA" in k for k in got)
    if flags == ["-hide=runtime"]:
        assert not any(f.startswith("runtime.") for k in got for f in k.split(";"))


def test_collapsed_lines_granularity():
    path = need_corpus_file(CORPUS and CORPUS / "go" / "cpu.pb.gz")
    got = collapsed(["-lines"], path)
    assert any("main.hotA example.com/refsvc/main.go:57" in k for k in got)
    assert sum(got.values()) == sum(collapsed([], path).values())


def test_collapsed_of_pprofx_profile(pprofx_cpu_profile):  # noqa: F811
    got = collapsed([], pprofx_cpu_profile)
    assert got == expected_stacks(pprofx_cpu_profile)
    assert any(k.endswith("work_a") for k in got) and any(k.endswith("work_b") for k in got)


# -- speedscope ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def speedscope_schema() -> dict:
    """speedscope's file-format-schema.json from its npm package (see the Makefile)."""
    found = sorted((REPO / ".cache").glob("speedscope-*/file-format-schema.json"))
    if not found:
        missing("speedscope's JSON schema not in .cache/ (run `make speedscope-schema`, needs npm)")
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        missing("jsonschema not installed (pip install -e '.[dev]')")
    return json.loads(found[-1].read_text())


def speedscope(flags: list[str], path: Path) -> dict:
    rc, out, err = run_ours(["-speedscope", *flags], [path])
    assert rc == 0, err
    return json.loads(out)


def folded_from_speedscope(doc: dict, index: int) -> dict[str, int]:
    frames = doc["shared"]["frames"]
    prof = doc["profiles"][index]
    out: Counter = Counter()
    for stack, w in zip(prof["samples"], prof["weights"]):
        out[";".join(frames[i]["name"].replace(";", ":") for i in stack)] += w
    return dict(out)


@pytest.mark.parametrize("path", _without_large(corpus_params()))
def test_speedscope_validates_and_matches_collapsed(speedscope_schema, path):
    import jsonschema

    path = need_corpus_file(path)
    doc = speedscope([], path)
    jsonschema.validate(doc, speedscope_schema)
    p = load_sources([str(path)])
    assert [x["name"] for x in doc["profiles"]] == [t.type for t in p.sample_types]
    active = doc["activeProfileIndex"]
    assert active == prepare(p, "top", ReportOptions()).index
    assert folded_from_speedscope(doc, active) == collapsed([], path)
    nframes = len(doc["shared"]["frames"])
    for prof in doc["profiles"]:
        assert len(prof["samples"]) == len(prof["weights"])
        assert all(0 <= i < nframes for s in prof["samples"] for i in s)
        assert prof["endValue"] == sum(prof["weights"])


@pytest.mark.parametrize(("name", "units"), [
    ("cpu", ["none", "nanoseconds"]), ("heap", ["none", "bytes", "none", "bytes"]),
    ("goroutine", ["none"]), ("block", ["none", "nanoseconds"]),
])
def test_speedscope_units(speedscope_schema, name, units):
    import jsonschema

    path = need_corpus_file(CORPUS and CORPUS / "go" / f"{name}.pb.gz")
    doc = speedscope([], path)
    jsonschema.validate(doc, speedscope_schema)
    assert [p["unit"] for p in doc["profiles"]] == units


def test_speedscope_options_and_pprofx_profile(speedscope_schema, pprofx_cpu_profile):  # noqa: F811
    import jsonschema

    doc = speedscope(["-sample_index=0", "-lines"], pprofx_cpu_profile)
    jsonschema.validate(doc, speedscope_schema)
    assert doc["activeProfileIndex"] == 0
    assert all("line" in f and "file" in f for f in doc["shared"]["frames"]
               if f["name"].endswith("work_a"))
    heap = need_corpus_file(CORPUS and CORPUS / "go" / "heap.pb.gz")
    doc = speedscope(["-sample_index=alloc_space", "-focus=leakyAlloc"], heap)
    jsonschema.validate(doc, speedscope_schema)
    assert doc["activeProfileIndex"] == 1
    assert folded_from_speedscope(doc, 1) == collapsed(["-sample_index=alloc_space",
                                                        "-focus=leakyAlloc"], heap)
