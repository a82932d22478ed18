"""CPU cost of one sampler tick with each stack walker (the pure-Python one and its C twin).

Workload: ``--threads`` (16) threads, each recursing to a stack about ``--depth`` (60) frames
deep, then either spinning through two small leaf functions (``busy``: the leaf frames change
between ticks, as in benchmarks/overhead_cpu.py) or blocked on an event (``idle``: nothing
changes). For each backend a fresh :class:`~pprofx.runtime.sampler.Sampler` with an open CPU
and wall session runs ``--ticks`` ticks from this (the main) thread, 10 ms apart, and the
calling thread's CPU time (``time.thread_time_ns``) is taken around each ``_tick`` (the whole
tick: ``sys._current_frames``, CPU clocks, stack walks, labels, session updates) and around
the stack walks alone. The two backends alternate in ``--rounds`` rounds; the table shows
medians. Not included: the sampler thread's wake-up (about 60 µs on the development VM).
Run: ``python benchmarks/tick_cost.py [--threads 16] [--depth 60] [--ticks 200] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pprofx.runtime import frames  # noqa: E402
from pprofx.runtime.sampler import Sampler, Session  # noqa: E402


def leaf_a(x: int) -> int:
    return (x * 7 + 3) % 1013


def leaf_b(x: int) -> int:
    return (x ^ (x >> 3)) + 1


def descend(levels: int, busy: bool, stop: threading.Event) -> int:
    if levels > 0:
        return descend(levels - 1, busy, stop) + 1
    if not busy:
        stop.wait()
        return 0
    acc = 0
    i = 0
    while not stop.is_set():
        for _ in range(2000):
            i += 1
            acc = (acc + (leaf_a(i) if i & 1 else leaf_b(i))) & 0xFFFFFF
    return acc


def measure(backend: str, ticks: int) -> tuple[list[float], list[float]]:
    """(µs per whole tick, µs per tick for the stack walks alone) over ``ticks`` ticks."""
    frames.WALKER_BACKEND = backend
    s = Sampler()
    s.walker = frames.new_walker(s.table, s.max_depth)
    s.sessions = {"cpu": Session("cpu", s.max_stacks), "wall": Session("wall", s.max_stacks)}
    me = threading.get_ident()
    s._sampler_ident = me
    s._prime_cpu_clocks()
    for _ in range(20):  # warm-up: interns every frame
        s._tick(me)
        time.sleep(0.01)
    whole, walks = [], []
    walk = s.walker.walk
    for _ in range(ticks):
        time.sleep(0.01)
        t0 = time.thread_time_ns()
        s._tick(me)
        t1 = time.thread_time_ns()
        whole.append((t1 - t0) / 1e3)
        time.sleep(0.01)
        cur = sys._current_frames()
        t0 = time.thread_time_ns()
        for ident, f in cur.items():
            if ident != me:
                walk(ident, f)
        t1 = time.thread_time_ns()
        walks.append((t1 - t0) / 1e3)
    return whole, walks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--depth", type=int, default=60, help="stack depth (frames of descend)")
    ap.add_argument("--ticks", type=int, default=200, help="measured ticks per backend and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loads", default="busy,idle", help="comma-separated: busy, idle")
    args = ap.parse_args()
    backends = ["python"] + (["c"] if frames.CStackWalker is not None else [])
    if len(backends) == 1:
        print("note: the C stack walker is not built; measuring the Python one only")
    print(f"Python {platform.python_version()}, {args.threads} threads x {args.depth} frames, "
          f"{args.ticks} ticks x {args.rounds} rounds per backend")
    print("| load | backend | tick µs (median) | tick µs (mean) | walks µs (median) | walks µs (mean) |")
    print("|---|---|---|---|---|---|")
    summary = {}
    for load in args.loads.split(","):
        stop = threading.Event()
        threads = [threading.Thread(target=descend, args=(args.depth, load == "busy", stop),
                                    name=f"worker-{i}", daemon=True) for i in range(args.threads)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        res: dict = {b: ([], []) for b in backends}
        try:
            for _ in range(args.rounds):
                for b in backends:
                    whole, walks = measure(b, args.ticks)
                    res[b][0].extend(whole)
                    res[b][1].extend(walks)
        finally:
            stop.set()
            for t in threads:
                t.join()
        for b in backends:
            whole, walks = res[b]
            summary[(load, b)] = (statistics.median(whole), statistics.median(walks))
            print(f"| {load} | {b} | {statistics.median(whole):.1f} | {statistics.fmean(whole):.1f} | "
                  f"{statistics.median(walks):.1f} | {statistics.fmean(walks):.1f} |")
    if "c" in backends:
        for load in args.loads.split(","):
            py, c = summary[(load, "python")], summary[(load, "c")]
            print(f"{load}: C/Python ratio (medians): whole tick {c[0] / py[0]:.2f}, "
                  f"stack walks {c[1] / py[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
