"""`make demo`: decode a real pprof profile with pprofx and print it like `go tool pprof -raw`.

The profile is a CPU profile of a small Go service (examples/go-refsvc-cpu.pb.gz, recorded
with net/http/pprof). Until the in-process agent lands, this is what the demo shows: our own
decoder reading a Go profile, and the CLI printing it. Run with any profile path to see that
one instead: `python examples/demo.py FILE`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "go-refsvc-cpu.pb.gz")
    cmd = [sys.executable, "-m", "pprofx", "raw", path]
    print("$ pprofx raw", path, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        return out.returncode
    lines = out.stdout.splitlines()
    shown = 40
    print("\n".join(lines[:shown]))
    if len(lines) > shown:
        print(f"… ({len(lines) - shown} more lines: run the command above to see them all)")
    from pprofx.profile import load

    p = load(path)
    cpu = p.sample_type_index("cpu") if p.sample_types else 0
    total = p.total(cpu)
    print(f"\n{len(p.samples)} samples, {len(p.locations)} locations, "
          f"{len(p.functions)} functions; total {p.sample_types[cpu].type} = "
          f"{total / 1e9:.2f}s over {p.duration_nanos / 1e9:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
