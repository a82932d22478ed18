"""Instruction counts under ``valgrind --tool=callgrind``, for overheads too small for timers.

On a shared VM two identical timed runs differ by 10-25%, so a 1-3% overhead cannot be
resolved by timing. Callgrind counts executed instructions (all threads), which is repeatable
whatever else the machine does. It does not see cache misses or lock waits, so the overhead
scripts report both: the timed slowdown and the instruction ratio.

Start-up (interpreter, imports, setup) is cancelled by difference: the workload runs with
``n`` and with ``2n`` units of work, and ``Ir(2n) - Ir(n)`` is what ``n`` units cost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Callable, Mapping, Sequence


def available() -> bool:
    return shutil.which("valgrind") is not None


def count(argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 1800) -> int:
    """Instructions executed by ``argv`` (all threads), from callgrind's totals line."""
    return run(argv, env, timeout)[0]


def run(argv: Sequence[str], env: Mapping[str, str] | None = None,
        timeout: float = 1800) -> tuple[int, str]:
    """Instructions executed by ``argv`` (all threads), and what it printed on stdout."""
    if not available():
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="pprofx-cg-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}", *argv]
        res = subprocess.run(cmd, env=dict(env) if env is not None else None,
                             capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed under callgrind (exit {res.returncode}):\n"
                               f"{res.stderr[-2000:]}")
        with open(out) as f:
            for line in f:
                if line.startswith(("totals:", "summary:")):
                    return int(line.split()[1]), res.stdout
    raise RuntimeError("callgrind wrote no totals line")


def marginal(make_argv: Callable[[int], Sequence[str]], n: int,
             env: Mapping[str, str] | None = None) -> int:
    """Instructions that ``n`` units of work cost: ``Ir(2n) - Ir(n)``."""
    return count(make_argv(2 * n), env) - count(make_argv(n), env)
