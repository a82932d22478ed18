"""Report speed: `pprofx top` vs `go tool pprof -top` on a large profile, in one run.

Uses the synthetic CPU profile of ``benchmarks/decode.py`` (cached under benchmarks/data/;
500,000 distinct samples, stacks 4–24 deep, two labels each: 19 MB gzip, 29 MB raw) or
``--file``. Times, alternating in the same run, ``go tool pprof -top FILE`` and the
``pprofx top FILE`` command end to end (load, compaction, graph, trimming, formatting; output
discarded), plus ``-tree`` for both, and checks that both tools printed the same report.
Prints medians and pprofx/go ratios (target: within 2×); ``--record`` appends the table to
benchmarks/RESULTS.md. Run: ``python benchmarks/report_speed.py [--repeat K] [--record]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.decode import make_profile  # noqa: E402


def run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, res.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, default=None)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    go = shutil.which("go")
    if go is None:
        print("go not found: install golang-go", file=sys.stderr)
        return 1
    path = args.file or HERE / "data" / f"synthetic-cpu-{args.samples}.pb.gz"
    if not path.exists():
        print(f"building {path}…", flush=True)
        make_profile(path, args.samples)
    size = path.stat().st_size
    cases = {
        "go tool pprof -top": [go, "tool", "pprof", "-top", str(path)],
        "pprofx top": [sys.executable, "-m", "pprofx", "top", str(path)],
        "go tool pprof -tree": [go, "tool", "pprof", "-tree", str(path)],
        "pprofx tree": [sys.executable, "-m", "pprofx", "tree", str(path)],
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    outputs: dict[str, str] = {}
    for r in range(args.repeat):
        for name, cmd in cases.items():
            t, out = run(cmd)
            times[name].append(t)
            outputs[name] = out
        print(f"  round {r + 1}/{args.repeat}: " +
              ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), flush=True)
    same_top = outputs["go tool pprof -top"] == outputs["pprofx top"]
    same_tree = outputs["go tool pprof -tree"] == outputs["pprofx tree"]
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = ["| what | median | pprofx / go | runs (s) |", "|---|---|---|---|"]
    for name, ts in times.items():
        ref = med["go tool pprof -top"] if "top" in name else med["go tool pprof -tree"]
        rows.append(f"| {name} | {med[name]:.2f} s | {med[name] / ref:.2f}× | "
                    f"{' '.join(f'{t:.2f}' for t in ts)} |")
    table = "\n".join(rows)
    print(table)
    print(f"identical output: top {same_top}, tree {same_tree}")
    if args.record:
        go_ver = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
        load = os.getloadavg()[0]
        note = (f"\n### report_speed — {time.strftime('%Y-%m-%d')}\n\n"
                f"Command: `python benchmarks/report_speed.py {' '.join(sys.argv[1:])}`  \n"
                f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {go_ver}, "
                f"load average {load:.2f} at the end  \n"
                f"Profile: {path.name}, {size / 1e6:.1f} MB gzip. Identical output: top {same_top}, "
                f"tree {same_tree}.\n\n{table}\n")
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(note)
        print("recorded in benchmarks/RESULTS.md")
    return 0 if same_top and same_tree else 1


if __name__ == "__main__":
    sys.exit(main())
