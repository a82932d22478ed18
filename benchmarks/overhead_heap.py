"""Heap profiler overhead: the slowdown of an allocation-heavy workload under each heap profiler.

Workload (fixed work, single thread): build and drop dicts, lists, tuples, strings (f-strings,
joins, slices), small class instances, and now and then 64 KiB and 1 MiB buffers, keeping a
rolling window of the most recent objects alive so that frees are interleaved with
allocations, as in a service. About 1 s per block at ``--work 1`` on the reference machine.

Each mode runs in fresh subprocesses (this script with ``--child MODE``). Inside a child the
work alternates between blocks without a profiler and blocks under the mode's profiler,
``none, mode, none, mode, …, none``, so a mode's per-pair ratio is its block time over the
mean of the two ``none`` blocks around it: same process, same heap layout, and a noisy
machine's drift cancels. The table gives the median of all pairs over all rounds, for wall
time and for process CPU time. Modes:

* ``pprofx``: pprofx's C allocator hook at the default rate, 512 KiB;
* ``pprofx-64k``: the same at 64 KiB (8× the samples), to show how the cost scales;
* ``tracemalloc``: ``tracemalloc.start(1)`` (one frame per trace: its cheapest setting);
* ``pprofx-fallback``: pprofx's tracemalloc fallback (128-frame traces);
* ``memray``: ``memray.Tracker`` writing to a temporary file, Python frames only (if memray
  is installed: ``pip install memray``).

``--record`` appends the table to benchmarks/RESULTS.md. Run:
``python benchmarks/overhead_heap.py [--rounds N] [--pairs N] [--work X] [--modes a,b] [--record]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MODES = ["pprofx", "pprofx-64k", "tracemalloc", "pprofx-fallback", "memray"]
RESULT_TAG = "OVERHEAD_RESULT "
BASE_ITERS = 60_000  # iterations per block at --work 1

# -- the workload (child side) -------------------------------------------------------------


class Point:
    __slots__ = ("x", "y", "tag")

    def __init__(self, x: int, y: int, tag: str) -> None:
        self.x, self.y, self.tag = x, y, tag


class Record:
    def __init__(self, i: int) -> None:
        self.id = i
        self.name = f"record-{i}"
        self.attrs = {"k": i, "v": [i, i + 1]}


def make_dict(i: int) -> dict:
    return {"id": i, "name": f"user-{i}", "tags": ["a", "b", str(i)], "score": i * 0.5}


def make_text(i: int) -> str:
    parts = [f"{i}:{j}" for j in range(8)]
    s = ",".join(parts)
    return s.upper()[2:40] + s[-5:]


def make_list(i: int) -> list:
    out = [j * i for j in range(16)]
    out.append(tuple(out[:4]))
    return sorted(out[:8], reverse=True)


def work(iters: int) -> int:
    window: collections.deque = collections.deque(maxlen=2000)
    total = 0
    for i in range(iters):
        d = make_dict(i)
        s = make_text(i)
        lst = make_list(i)
        p = Point(i, i + 1, s[:6])
        r = Record(i)
        window.append((d, p) if i & 1 else (lst, r))
        if i % 64 == 0:
            window.append(bytearray(64 * 1024))
        if i % 4096 == 0:
            window.append(bytes(1024 * 1024))
        total += len(s) + len(lst) + len(d)
    return total


def timed(iters: int) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    work(iters)
    return time.perf_counter() - t0, time.process_time() - c0


class Mode:
    """Turns one profiler on and off around a block; ``info`` reports on it afterwards."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.info: dict = {}
        self._tmp = tempfile.mkdtemp(prefix="overhead-heap-")
        self._n = 0
        self._tracker = None

    def on(self) -> None:
        if self.name in ("pprofx", "pprofx-64k"):
            from pprofx.runtime import heap

            if not heap.native_available():
                raise SystemExit("pprofx's C heap sampler is not built (pip install -e .)")
            heap.start_heap_profiler(524288 if self.name == "pprofx" else 65536, backend="c")
        elif self.name == "pprofx-fallback":
            from pprofx.runtime import heap

            heap.start_heap_profiler(backend="tracemalloc")
        elif self.name == "tracemalloc":
            import tracemalloc

            tracemalloc.start(1)
        elif self.name == "memray":
            try:
                import memray
            except ImportError:
                raise SystemExit("memray is not installed (pip install memray)") from None
            self._n += 1
            dest = memray.FileDestination(os.path.join(self._tmp, f"m{self._n}.bin"), overwrite=True)
            self._tracker = memray.Tracker(destination=dest)
            self._tracker.__enter__()
        else:
            raise SystemExit(f"unknown mode {self.name!r}")

    def off(self) -> None:
        if self.name.startswith("pprofx"):
            from pprofx.runtime import heap

            t0 = time.perf_counter()
            p = heap.heap_profile()
            self.info.setdefault("profile_s", []).append(time.perf_counter() - t0)
            st = heap.heap_profiler_stats()
            self.info.setdefault("samples", []).append(st.get("samples", 0))
            self.info.setdefault("memory", []).append(st.get("memory", 0))
            self.info.setdefault("stacks", []).append(len(p.samples))
            heap.stop_heap_profiler()
        elif self.name == "tracemalloc":
            import tracemalloc

            tracemalloc.stop()
        elif self.name == "memray":
            self._tracker.__exit__(None, None, None)
            self._tracker = None
            for f in os.listdir(self._tmp):
                os.unlink(os.path.join(self._tmp, f))


def child(args: argparse.Namespace) -> int:
    iters = max(1, int(BASE_ITERS * args.work))
    mode = Mode(args.child)
    work(iters // 4)  # warm-up: imports, caches, the allocator's arenas
    none_wall, none_cpu, on_wall, on_cpu = [], [], [], []
    w, c = timed(iters)
    none_wall.append(w)
    none_cpu.append(c)
    for _ in range(args.pairs):
        mode.on()
        w, c = timed(iters)
        mode.off()
        on_wall.append(w)
        on_cpu.append(c)
        w, c = timed(iters)
        none_wall.append(w)
        none_cpu.append(c)
    out = {"mode": args.child, "none_wall": none_wall, "none_cpu": none_cpu,
           "on_wall": on_wall, "on_cpu": on_cpu, "info": mode.info}
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


# -- the harness (parent side) -------------------------------------------------------------


def run_child(args: argparse.Namespace, mode: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--work", str(args.work),
           "--pairs", str(args.pairs)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout:.0f}s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    text = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()[-1]
    return {"error": f"exit {proc.returncode}: {text}"}


def pair_ratios(on: list[float], none: list[float]) -> list[float]:
    return [t / ((none[i] + none[i + 1]) / 2) for i, t in enumerate(on)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="child processes per mode (default 3)")
    ap.add_argument("--pairs", type=int, default=5, help="none/mode block pairs per child (default 5)")
    ap.add_argument("--work", type=float, default=1.0, help="scale of one block (default 1.0, ~1 s)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"subset of {','.join(MODES)}")
    ap.add_argument("--timeout", type=float, default=900.0, help="limit per child, seconds")
    ap.add_argument("--record", action="store_true", help="append results to RESULTS.md")
    ap.add_argument("--child", metavar="MODE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown mode(s) {', '.join(bad)}")
    load0 = os.getloadavg()[0]
    print(f"overhead_heap: {int(BASE_ITERS * args.work)} iterations/block, {args.pairs} pairs × "
          f"{args.rounds} rounds, modes {', '.join(modes)}; load average {load0:.2f}", flush=True)
    results: dict[str, list[dict]] = {m: [] for m in modes}
    failed: dict[str, str] = {}
    t_start = time.perf_counter()
    for r in range(args.rounds):
        order = modes[r % len(modes):] + modes[:r % len(modes)]
        for mode in order:
            if mode in failed:
                continue
            res = run_child(args, mode)
            if "error" in res:
                failed[mode] = res["error"]
                print(f"  {mode}: FAILED ({res['error']})", flush=True)
                continue
            results[mode].append(res)
            wr = pair_ratios(res["on_wall"], res["none_wall"])
            print(f"  round {r + 1} [{time.perf_counter() - t_start:.0f}s] {mode}: none "
                  f"{statistics.median(res['none_wall']):.3f}s, on {statistics.median(res['on_wall']):.3f}s, "
                  f"pair ratios {' '.join(f'{x:.3f}' for x in wr)}", flush=True)
    load1 = os.getloadavg()[0]

    rows = []
    noise = []
    for mode in modes:
        runs = results[mode]
        if not runs:
            rows.append(f"| {mode} | failed: {failed.get(mode, '?')} | | | | |")
            continue
        wall = [x for res in runs for x in pair_ratios(res["on_wall"], res["none_wall"])]
        cpu = [x for res in runs for x in pair_ratios(res["on_cpu"], res["none_cpu"])]
        for res in runs:
            nw = res["none_wall"]
            noise.extend(nw[i + 1] / nw[i] for i in range(len(nw) - 1))
        none_med = statistics.median(x for res in runs for x in res["none_wall"])
        on_med = statistics.median(x for res in runs for x in res["on_wall"])
        note = ""
        info = [res["info"] for res in runs if res["info"]]
        if info and "samples" in info[0]:
            samples = statistics.median(x for i in info for x in i["samples"])
            prof_ms = statistics.median(x for i in info for x in i["profile_s"]) * 1000
            mem = max(x for i in info for x in i["memory"])
            note = (f"{samples:.0f} samples/block ({samples / on_med:.0f}/s); heap_profile() "
                    f"{prof_ms:.1f} ms; profiler memory ≤ {mem / 1024:.0f} KiB")
        rows.append(f"| {mode} | {none_med:.3f} s | {on_med:.3f} s | {statistics.median(wall):.3f}× "
                    f"({min(wall):.3f}–{max(wall):.3f}) | {statistics.median(cpu):.3f}× | {note} |")
        print(f"{mode}: wall {statistics.median(wall):.3f}×, CPU {statistics.median(cpu):.3f}× "
              f"(median of {len(wall)} pairs) {note}", flush=True)
    noise_txt = (f"consecutive none blocks differed by {min(noise):.3f}–{max(noise):.3f}×"
                 if noise else "")
    print(noise_txt)
    if args.record:
        record(args, modes, rows, noise_txt, load0, load1, results)
    return 0


def record(args, modes, rows, noise_txt, load0, load1, results) -> None:
    verdict = ""
    if results.get("pprofx"):
        wall = statistics.median(x for res in results["pprofx"]
                                 for x in pair_ratios(res["on_wall"], res["none_wall"]))
        cpu = statistics.median(x for res in results["pprofx"]
                                for x in pair_ratios(res["on_cpu"], res["none_cpu"]))
        verdict = (f"\npprofx at 512 KiB: median slowdown {wall:.3f}× wall, {cpu:.3f}× CPU time; "
                   f"target ≤ 1.03× — {'met' if wall <= 1.03 else 'missed'}.\n")
    try:
        import memray

        memray_v = f", memray {memray.__version__}"
    except ImportError:
        memray_v = ""
    cmd = "python benchmarks/overhead_heap.py " + " ".join(a for a in sys.argv[1:])
    br = "  "  # Markdown line break
    header = "| mode | none block (median) | mode block (median) | slowdown: wall, median of pairs (range) " \
             "| CPU-time ratio (median) | notes |"
    text = "\n".join([
        "",
        f"### overhead_heap — {time.strftime('%Y-%m-%d')}",
        "",
        f"Command: `{cmd.strip()}`{br}",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}{memray_v}; load average "
        f"{load0:.2f} at start, {load1:.2f} at end{br}",
        f"Workload: {int(BASE_ITERS * args.work)} iterations of dicts/lists/strings/instances + 64 KiB and "
        f"1 MiB buffers per block; {args.pairs} none/mode pairs per process, {args.rounds} processes/mode",
        "",
        header,
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Ratio: a block under the mode over the mean of the two profiler-free blocks around it, in the "
        f"same process. Noise: {noise_txt}.",
        verdict,
    ])
    path = HERE / "RESULTS.md"
    body = path.read_text() if path.exists() else "# Benchmark results\n"
    if "## overhead_heap" not in body:
        text = ("\n## overhead_heap: slowdown caused by the heap profiler\n\n`benchmarks/overhead_heap.py` "
                "times an allocation-heavy single-threaded workload in blocks alternating without and "
                "with a heap profiler, in the same process; see its docstring. The target for pprofx at "
                "the default 512 KiB rate: a median slowdown of at most 1.03×.\n" + text)
    with path.open("a") as f:
        f.write(text)
    print(f"appended to {path}")


if __name__ == "__main__":
    sys.exit(main())
