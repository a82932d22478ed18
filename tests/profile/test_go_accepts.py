"""Profiles written by pprofx are accepted by `go tool pprof`, which shows our numbers."""

from __future__ import annotations

import re
import subprocess

from pprofx.profile import ProfileBuilder, write
from tests.report.rawparse import parse_raw

PERIOD = 10_000_000


def build(path):
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds"), ("wall", "nanoseconds")],
        period_type=("cpu", "nanoseconds"), period=PERIOD, mapping_filename="demo.py",
        default_sample_type="cpu",
    )
    b.comments = ["made by pprofx tests", "second comment"]
    b.drop_frames = "pprofx_internal_.*"
    b.duration_nanos = 10 * 10**9
    fn = lambda name: b.function(name, f"app.{name}", "/srv/app.py", 1)  # noqa: E731
    main = b.location(fn("main"), 50)
    work_a = b.location(fn("work_a"), 11)
    work_b = b.location(fn("work_b"), 21)
    hidden = b.location(fn("pprofx_internal_hook"), 5)
    # cpu: work_a 6s, work_b 3s, main 1s; wall adds 4s of sleep in main.
    b.add([work_a, main], [600, 600 * PERIOD, 600 * PERIOD], {"endpoint": "/a", "bytes": (4096, "bytes")})
    b.add([hidden, work_b, main], [300, 300 * PERIOD, 300 * PERIOD], {"endpoint": "/b", "n": 7})
    b.add([main], [100, 100 * PERIOD, 500 * PERIOD], None)
    write(b.build(), str(path))


def top_rows(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.+)$", line)
        if m and m.group(1) != "flat":
            rows[m.group(3)] = (m.group(1), m.group(2))
    return rows


def test_go_tool_pprof_reads_our_profile(tmp_path, go):
    path = tmp_path / "cpu.pb.gz"
    build(path)
    raw = subprocess.run([go, "tool", "pprof", "-raw", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert raw.returncode == 0, raw.stderr
    parsed = parse_raw(raw.stdout)
    assert parsed["types"] == ["samples/count", "cpu/nanoseconds[dflt]", "wall/nanoseconds"]
    assert parsed["headers"]["Comment"] == ["made by pprofx tests", "second comment"]
    assert parsed["headers"]["PeriodType"] == ["cpu nanoseconds"]
    assert parsed["headers"]["Period"] == [str(PERIOD)]
    # drop_frames removed our internal frame; values and labels are intact.
    samples = {stack: (vals, labels) for (vals, stack, labels) in parsed["samples"]}
    names = {tuple(fr[0].split()[0] for fr in stack): v for stack, v in samples.items()}
    assert names[("work_a", "main")] == (
        (600, 600 * PERIOD, 600 * PERIOD), ("bytes:[4096 bytes]", "endpoint:[/a]"))
    assert names[("work_b", "main")] == (
        (300, 300 * PERIOD, 300 * PERIOD), ("endpoint:[/b]", "n:[7]"))
    assert names[("main",)][0] == (100, 100 * PERIOD, 500 * PERIOD)
    assert parsed["mappings"][0].endswith("demo.py  [FN][FL][LN]")

    top = subprocess.run([go, "tool", "pprof", "-top", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert top.returncode == 0, top.stderr
    assert "Type: cpu" in top.stdout
    assert "made by pprofx tests" in top.stdout
    rows = top_rows(top.stdout)
    assert rows["work_a"] == ("6s", "6s")
    assert rows["work_b"] == ("3s", "3s")
    assert rows["main"] == ("1s", "10s")
    assert not any("pprofx_internal" in k for k in rows)

    wall = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=wall", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert wall.returncode == 0, wall.stderr
    rows = top_rows(wall.stdout)
    assert rows["main"] == ("5s", "14s")

    tags = subprocess.run([go, "tool", "pprof", "-tags", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert tags.returncode == 0, tags.stderr
    assert re.search(r"endpoint: Total 9.0s\s+6.0s \(66\.67%\): /a\s+3.0s \(33\.33%\): /b",
                     tags.stdout)
    assert "4kB" in tags.stdout  # numeric label with its unit understood by pprof
