"""Lock profiling overhead: a lock-heavy workload with block/mutex profiling off and on.

Workloads (each a fixed amount of work; the measured quantity is wall time to finish it):

* ``uncontended``: one thread; each operation takes a ``threading.Lock`` around a small
  critical section (a dict update and a counter) and does a little work outside it, and
  every 16th operation passes an item through a ``queue.Queue`` (put + get);
* ``contended``: 4 threads share one lock (same operation), plus 2 producer/consumer pairs
  on ``queue.Queue`` with a small ``maxsize``, so real waits happen all the time;
* ``pure``: the worst case, an empty ``with lock: pass`` loop (reported, not a target).

Modes, each run in a fresh subprocess (this script with ``--child``):

* ``off``: pprofx imported, lock profiling never enabled (the reference);
* ``on``: ``set_block_profile_rate(--rate)`` and ``set_mutex_profile_fraction(--fraction)``
  before the locks are made (default: the recommended 1 ms and 10, docs/locks.md);
* ``on-then-off``: enabled then disabled before the locks are made, which must cost nothing.

``--backends c,python`` runs ``on`` once per lock-wrapper implementation (``on-c``: the C
types of ``pprofx.runtime._locks_c``; ``on-python``: the pure-Python classes); without it,
``on`` uses the default (C when built).

Rounds alternate ``off, on, off, on-then-off, off`` per workload (order rotating); a mode's
ratio is its time over the mean of the ``off`` runs on either side, and the table shows the
median of the per-round ratios. ``--record`` appends the table to benchmarks/RESULTS.md. Run:
``python benchmarks/overhead_locks.py [--rounds N] [--ops N] [--record]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

WORKLOADS = ["uncontended", "contended", "pure"]
MODES = ["on", "on-then-off"]
BACKENDS = ("c", "python")
RESULT_TAG = "LOCKS_RESULT "


def _work(i: int) -> int:
    return (i * 7 + 3) % 1013 + (i ^ (i >> 3))


def uncontended(ops: int) -> None:
    lock = threading.Lock()
    q: queue.Queue = queue.Queue()
    table: dict = {}
    total = 0
    for i in range(ops):
        x = _work(i)
        with lock:
            table[i & 1023] = x
            total += 1
        if i & 15 == 0:
            q.put(x)
            q.get()


def contended(ops: int) -> None:
    lock = threading.Lock()
    table: dict = {}

    def worker(n: int) -> None:
        for i in range(n):
            x = _work(i)
            with lock:
                table[i & 1023] = x

    def producer(q: queue.Queue, n: int) -> None:
        for i in range(n):
            q.put(i)
        q.put(None)

    def consumer(q: queue.Queue) -> None:
        while q.get() is not None:
            pass

    qs = [queue.Queue(maxsize=8) for _ in range(2)]
    threads = [threading.Thread(target=worker, args=(ops // 4,)) for _ in range(4)]
    threads += [threading.Thread(target=producer, args=(q, ops // 16)) for q in qs]
    threads += [threading.Thread(target=consumer, args=(q,)) for q in qs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pure(ops: int) -> None:
    lock = threading.Lock()
    for _ in range(ops):
        with lock:
            pass


def child(args: argparse.Namespace) -> int:
    import pprofx
    from pprofx.runtime import contention, locks

    mode = args.child
    if mode.startswith("on-") and mode[3:] in BACKENDS:
        locks.backend = mode[3:]
        mode = "on"
    if mode in ("on", "on-then-off"):
        pprofx.set_block_profile_rate(args.rate)
        pprofx.set_mutex_profile_fraction(args.fraction)
    if mode == "on-then-off":
        pprofx.set_block_profile_rate(0)
        pprofx.set_mutex_profile_fraction(0)
    fn = {"uncontended": uncontended, "contended": contended, "pure": pure}[args.workload]
    t0 = time.perf_counter()
    fn(args.ops)
    elapsed = time.perf_counter() - t0
    block, mutex = pprofx.block_profile(), pprofx.mutex_profile()
    print(RESULT_TAG + json.dumps({
        "s": elapsed, "backend": locks.backend,
        "block_stacks": len(block.samples), "mutex_stacks": len(mutex.samples),
        "block_events": sum(s.values[0] for s in block.samples),
        "mutex_events": sum(s.values[0] for s in mutex.samples), "errors": contention.errors,
    }), flush=True)
    return 0


def run_child(args: argparse.Namespace, workload: str, mode: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--workload", workload,
           "--ops", str(args.ops), "--rate", str(args.rate), "--fraction", str(args.fraction)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise RuntimeError(f"{workload}/{mode} failed: {proc.stderr.strip().splitlines()[-1:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ops", type=int, default=400_000, help="operations per run (default 400000)")
    ap.add_argument("--rate", type=int, default=1_000_000, help="block rate, ns (default 1 ms)")
    ap.add_argument("--fraction", type=int, default=10, help="mutex fraction (default 10)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--backends", default="",
                    help="comma-separated lock-wrapper backends (c,python) to run 'on' with")
    ap.add_argument("--record", action="store_true", help="append results to RESULTS.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workload", default="uncontended", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    workloads = [w for w in args.workloads.split(",") if w]
    global MODES
    backends = [b for b in args.backends.split(",") if b]
    if any(b not in BACKENDS for b in backends):
        ap.error(f"--backends: expected some of {', '.join(BACKENDS)}")
    if backends:
        MODES = [f"on-{b}" for b in backends] + ["on-then-off"]
    load0 = os.getloadavg()
    print(f"overhead_locks: {args.ops} ops, {args.rounds} rounds, block rate {args.rate} ns, "
          f"mutex fraction {args.fraction}; load average {load0[0]:.2f}", flush=True)
    rows = []
    for w in workloads:
        times: dict[str, list[float]] = {"off": [], **{m: [] for m in MODES}}
        ratios: dict[str, list[float]] = {m: [] for m in MODES}
        last: dict[str, dict] = {}
        for r in range(args.rounds):
            order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            prev = run_child(args, w, "off")["s"]
            times["off"].append(prev)
            for m in order:
                res = run_child(args, w, m)
                after = run_child(args, w, "off")["s"]
                times["off"].append(after)
                times[m].append(res["s"])
                ratios[m].append(res["s"] / ((prev + after) / 2))
                last[m] = res
                prev = after
            print(f"  {w} round {r + 1}: " + ", ".join(f"{m} {ratios[m][-1]:.3f}×" for m in MODES),
                  flush=True)
        rows.append((w, "off", statistics.median(times["off"]), None, times["off"], {}))
        for m in MODES:
            rows.append((w, m, statistics.median(times[m]), statistics.median(ratios[m]),
                         ratios[m], last.get(m, {})))
    load1 = os.getloadavg()
    header = "| workload | mode | median time | ratio (median) | per-round ratios | recorded |"
    lines = [header, "|---|---|---|---|---|---|"]
    for w, m, med, ratio, per, info in rows:
        per_s = " ".join(f"{x:.3f}" for x in per) if ratio is not None else f"{len(per)} runs"
        rec = ((f"backend {info['backend']}: " if m.startswith("on") and "backend" in info else "")
               + f"{info.get('block_events', 0)} block / {info.get('mutex_events', 0)} mutex "
               f"contentions, {info.get('errors', 0)} errors") if info else ""
        lines.append(f"| {w} | {m} | {med:.3f} s | "
                     f"{'1.000× (reference)' if ratio is None else f'{ratio:.3f}×'} | {per_s} | {rec} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        cmd = "python benchmarks/overhead_locks.py " + " ".join(sys.argv[1:])
        results = HERE / "RESULTS.md"
        intro = ""
        if "## overhead_locks" not in results.read_text():
            intro = (
                "\n## overhead_locks: cost of block/mutex profiling\n\n"
                "`benchmarks/overhead_locks.py` times fixed lock-heavy jobs in fresh subprocesses with "
                "lock profiling off, on at the recommended rates (block rate 1 ms, mutex fraction 10), "
                "and enabled-then-disabled. Runs alternate `off, mode, off, …`; a ratio is the mode's "
                "time over the mean of the `off` runs either side, median over rounds. Targets: ≤ 1.05× "
                "on at recommended rates, 1.00× when off. `pure` (an empty `with lock: pass` loop) is "
                "the worst case, shown for the per-acquire cost, not a target.\n")
        note = (f"{intro}\n### overhead_locks — {time.strftime('%Y-%m-%d')}\n\n"
                f"Command: `{cmd}`  \n"
                f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average "
                f"{load0[0]:.2f} at start, {load1[0]:.2f} at end  \n"
                f"Workload: {args.ops} operations per run, {args.rounds} rounds\n\n{table}\n")
        with open(results, "a") as f:
            f.write(note)
        print(f"recorded in {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
