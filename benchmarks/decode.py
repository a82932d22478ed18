"""Decoder speed: pprofx's decode (+ the aggregation `top` needs) vs `go tool pprof`.

Builds (once, cached under benchmarks/data/) a large synthetic CPU profile — by default
500,000 distinct samples, stacks 4–24 deep over 4,000 functions, two labels per sample,
over 20 MB uncompressed — then times, in the same run and alternating, several repeats of:

* ``go tool pprof -raw FILE`` and ``go tool pprof -top FILE`` (output discarded);
* pprofx ``decode`` with the C wire reader and with the pure-Python one;
* pprofx decode + flat/cum aggregation by function (the work behind ``top``);
* the ``pprofx raw`` command end to end.

It prints medians and the ratios to ``go tool pprof -top``; ``--record`` appends the table
to benchmarks/RESULTS.md with the command line that produced it. Run: ``make bench`` or
``python benchmarks/decode.py [--samples N] [--repeat K] [--record]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pprofx.profile import ProfileBuilder, decode, encode  # noqa: E402
from pprofx.profile.decode import gunzip, wire_backend  # noqa: E402


def make_profile(path: Path, samples: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    period = 10_000_000
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"),
                       period, mapping_filename="bench-service")
    funcs = [b.function(f"pkg{i % 37}.Type{i % 11}.method_{i}", f"pkg{i % 37}.method_{i}",
                        f"/srv/app/pkg{i % 37}/mod{i % 53}.py", 10 + i % 400)
             for i in range(4000)]
    locs = [b.location(funcs[rng.randrange(len(funcs))], rng.randrange(1, 2000))
            for _ in range(30000)]
    roots = locs[:50]
    endpoints = [f"/api/v1/resource{i}" for i in range(40)]
    for i in range(samples):
        depth = rng.randint(4, 24)
        stack = [locs[rng.randrange(len(locs))] for _ in range(depth - 1)]
        stack.append(roots[i % len(roots)])
        n = rng.randint(1, 20)
        b.add(stack, [n, n * period], {"endpoint": endpoints[i % 40], "worker": str(i % 16)})
    b.duration_nanos = 60 * 10**9
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(b.build()))


def aggregate_top(p) -> dict:
    """flat and cum per function name for the default sample type (what `top` sums)."""
    idx = p.default_sample_index()
    flat: dict[str, int] = {}
    cum: dict[str, int] = {}
    names = {id(loc): [ln.function.name for ln in loc.lines] for loc in p.locations}
    for s in p.samples:
        v = s.values[idx]
        if not s.locations:
            continue
        leaf = names[id(s.locations[0])]
        if leaf:
            flat[leaf[0]] = flat.get(leaf[0], 0) + v
        seen = set()
        for loc in s.locations:
            for name in names[id(loc)]:
                if name not in seen:
                    seen.add(name)
                    cum[name] = cum.get(name, 0) + v
    return {"flat": flat, "cum": cum}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_cmd(cmd: list[str]) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, default=None,
                    help="profile to use instead of the generated one")
    ap.add_argument("--record", action="store_true", help="append results to RESULTS.md")
    args = ap.parse_args()

    path = args.file or HERE / "data" / f"synthetic-cpu-{args.samples}.pb.gz"
    if not path.exists():
        print(f"building {path} ({args.samples} samples)…", flush=True)
        t = timed(lambda: make_profile(path, args.samples))
        print(f"  built in {t:.1f}s", flush=True)
    data = path.read_bytes()
    raw_size = len(gunzip(data))
    p = decode(data)
    print(f"profile: {path.name}: {len(data) / 1e6:.1f} MB gzip, {raw_size / 1e6:.1f} MB raw, "
          f"{len(p.samples)} samples, {len(p.locations)} locations")
    del p

    go = shutil.which("go")
    cases: dict[str, object] = {}
    if go:
        cases["go tool pprof -raw"] = lambda: run_cmd([go, "tool", "pprof", "-raw", str(path)])
        cases["go tool pprof -top"] = lambda: run_cmd([go, "tool", "pprof", "-top", str(path)])
    else:
        print("go not found: install golang-go for the comparison", file=sys.stderr)
    if wire_backend() == "c":
        cases["pprofx decode (C wire reader)"] = lambda: decode(data, backend="c")
        cases["pprofx decode + top aggregation (C)"] = lambda: aggregate_top(decode(data, backend="c"))
    cases["pprofx decode (pure Python)"] = lambda: decode(data, backend="python")
    cases["pprofx raw command"] = lambda: run_cmd([sys.executable, "-m", "pprofx", "raw", str(path)])

    times: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(args.repeat):
        for name, fn in cases.items():
            times[name].append(timed(fn))
        print(f"  round {r + 1}/{args.repeat} done", flush=True)

    ref = statistics.median(times["go tool pprof -top"]) if go else None
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = f"{med / ref:.2f}×" if ref else "n/a"
        rows.append(f"| {name} | {med:.2f} s | {ratio} | {' '.join(f'{t:.2f}' for t in ts)} |")
    header = ["| what | median | vs go -top | runs (s) |", "|---|---|---|---|"]
    table = "\n".join(header + rows)
    print(table)

    if args.record:
        cmd = "python benchmarks/decode.py " + " ".join(sys.argv[1:])
        go_ver = "no go"
        if go:
            go_ver = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
        note = (
            f"\n### decode — {time.strftime('%Y-%m-%d')}\n\n"
            f"Command: `{cmd}`  \n"
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {go_ver}  \n"
            f"Profile: {path.name}, {len(data) / 1e6:.1f} MB gzip / {raw_size / 1e6:.1f} MB raw\n\n"
            f"{table}\n"
        )
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(note)
        print(f"recorded in {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
