"""`make demo`: profile a small multi-threaded Python workload with pprofx and show the result.

Three request handlers run in threads under `pprofx.labels(endpoint=…)` — a CPU-heavy
/checkout, a lighter /search and /health that mostly sleep — beside an idle thread. The
demo records a 2-second CPU profile with pprofx's in-process sampler, writes it to
`demo-cpu.pb.gz`, prints the CPU share per function and per endpoint, and the first lines
of `pprofx raw`. Read the file with `go tool pprof -top demo-cpu.pb.gz` too.

`python examples/demo.py FILE` prints an existing profile instead (e.g. the Go profile in
examples/go-refsvc-cpu.pb.gz).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pprofx  # noqa: E402
from pprofx.profile import load  # noqa: E402


def checkout(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(3000))


def search(stop: threading.Event) -> None:
    while not stop.is_set():
        sorted(str(i) for i in range(1500))
        time.sleep(0.002)


def health(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(20000))
        time.sleep(0.01)


def serve(handler, endpoint: str, stop: threading.Event) -> None:
    with pprofx.labels(endpoint=endpoint):
        handler(stop)


def show_raw(path: str, max_lines: int = 30) -> int:
    res = subprocess.run([sys.executable, "-m", "pprofx", "raw", path], capture_output=True,
                         text=True, cwd=HERE.parent)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        return res.returncode
    lines = res.stdout.splitlines()
    print(f"$ pprofx raw {path}")
    print("\n".join(lines[:max_lines]))
    if len(lines) > max_lines:
        print(f"… ({len(lines) - max_lines} more lines)")
    return 0


def main() -> int:
    if len(sys.argv) > 1:
        return show_raw(sys.argv[1], 60)
    stop = threading.Event()
    threads = [
        threading.Thread(target=serve, args=(checkout, "/checkout", stop), name="worker-1"),
        threading.Thread(target=serve, args=(search, "/search", stop), name="worker-2"),
        threading.Thread(target=serve, args=(health, "/health", stop), name="worker-3"),
        threading.Thread(target=stop.wait, name="idle"),
    ]
    out = Path("demo-cpu.pb.gz").resolve()
    print("profiling a demo workload for 2 seconds …", flush=True)
    for t in threads:
        t.start()
    p = pprofx.profile_cpu(2.0)
    stop.set()
    for t in threads:
        t.join()
    out.write_bytes(pprofx.profile.encode(p))

    total = p.total(1) or 1
    by_fn: dict[str, int] = {}
    by_endpoint: dict[str, int] = {}
    for s in p.samples:
        leaf = s.locations[0].lines[0].function.name if s.locations else "?"
        by_fn[leaf] = by_fn.get(leaf, 0) + s.values[1]
        for lab in s.labels:
            if lab.key == "endpoint":
                by_endpoint[lab.str] = by_endpoint.get(lab.str, 0) + s.values[1]
    print(f"\nCPU profile: {total / 1e9:.2f}s of CPU in {p.duration_nanos / 1e9:.2f}s, "
          f"{len(p.samples)} distinct stacks → {out}")
    print("\n  flat CPU  function")
    for name, v in sorted(by_fn.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {100 * v / total:6.1f}%  {name}")
    print("\n  CPU       endpoint label")
    for name, v in sorted(by_endpoint.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * v / total:6.1f}%  {name}")
    print()
    load(str(out))  # what we wrote decodes
    return show_raw(str(out), 20)


if __name__ == "__main__":
    sys.exit(main())
