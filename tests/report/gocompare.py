"""Run one report through `go tool pprof` and through `pprofx` (in-process CLI) and compare."""

from __future__ import annotations

import contextlib
import difflib
import io
import subprocess
from pathlib import Path

from pprofx.cli import main

#: pprof's commands that take a regex argument right after the command flag.
_REGEX_COMMANDS = ("peek", "list")


def run_go(go: str, flags: list[str], files: list[Path], cwd: Path | None = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run([go, "tool", "pprof", *flags, *map(str, files)], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def run_ours(flags: list[str], files: list[Path]) -> tuple[int, str, str]:
    """`pprofx <command> …` for go-style ``flags`` (``-top -cum`` → ``top -cum``)."""
    command, rest = flags[0].lstrip("-"), list(flags[1:])
    args = [command]
    if command in _REGEX_COMMANDS:
        args.append(rest.pop(0))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([*args, *rest, *map(str, files)])
    return rc, out.getvalue(), err.getvalue()


def _edge_ties_sorted(text: str) -> list[str]:
    """The tree text with runs of edge lines of equal |weight| sorted.

    pprof orders a node's edges by |weight| and leaves edges of equal |weight| but opposite
    sign (only in -base/-diff_base graphs) in map-iteration order, which differs from run to
    run of `go tool pprof` itself; this is the one place where only the order is compared.
    """
    out: list[str] = []
    run: list[str] = []
    key = None

    def flush() -> None:
        out.extend(sorted(run))
        run.clear()

    for line in text.splitlines():
        is_edge = line.startswith(" " * 40) and "|" in line
        k = line.split("|")[0].replace("-", "").split()[0] if is_edge else None
        if k is None or k != key:
            flush()
        key = k
        (run if is_edge else out).append(line)
    flush()
    return out


def assert_same_report(go: str, flags: list[str], files: list[Path]) -> None:
    """Same stdout byte for byte, same success/failure, and pprof's warnings on stderr."""
    g = run_go(go, flags, files)
    rc, out, err = run_ours(flags, files)
    assert (g.returncode == 0) == (rc == 0), (flags, g.stderr, err)
    if g.stdout != out and _edge_ties_sorted(g.stdout) != _edge_ties_sorted(out):
        diff = "".join(difflib.unified_diff(g.stdout.splitlines(True), out.splitlines(True),
                                            "go tool pprof", "pprofx", n=1))
        raise AssertionError(f"{' '.join(flags)} differs:\n{diff[:4000]}")
    go_warnings = [ln for ln in g.stderr.splitlines()
                   if "expression matched no samples" in ln or "Interpreted" in ln]
    ours = [ln for ln in err.splitlines() if ln in go_warnings or "matched no samples" in ln]
    assert ours == go_warnings, (flags, g.stderr, err)
