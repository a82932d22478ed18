"""The named profiles served at ``/debug/pprof/<name>``, as a registry (Go's ``pprof.Lookup``).

Each entry knows how to collect its :class:`~pprofx.profile.Profile` (debug=0, and the two
snapshots of a ``seconds`` delta), render its legacy text (debug>=1) and count its records
for the index page. Profiles whose collector has not landed yet (heap, allocs, block, mutex)
answer as Go does for a disabled profile: a valid profile with Go's sample
types and no samples — never a 404 — so scrapers (Alloy, Parca) keep the target healthy.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Callable

from ..profile import Profile, ValueType
from ..runtime import threadcreate
from ..runtime.threadcreate import threadcreate_profile
from ..runtime.threads import dump_threads, goroutine_profile


@dataclasses.dataclass
class NamedProfile:
    """One entry of the registry; ``collect`` returns a fresh profile on each call."""

    name: str
    description: str
    collect: Callable[[], Profile]
    text: Callable[[Profile, int], str]


def _empty(types: list[tuple[str, str]], period_type: tuple[str, str], period: int,
           default: str = "") -> Callable[[], Profile]:
    def collect() -> Profile:
        return Profile(sample_types=[ValueType(t, u) for t, u in types],
                       period_type=ValueType(*period_type), period=period,
                       default_sample_type=default, time_nanos=time.time_ns())
    return collect


HEAP_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
              ("inuse_objects", "count"), ("inuse_space", "bytes")]
HEAP_RATE = 512 * 1024
CONTENTION_TYPES = [("contentions", "count"), ("delay", "nanoseconds")]


def _frames_text(p: Profile, s) -> list[str]:
    out = []
    for loc in s.locations:
        for ln in loc.lines:
            f = ln.function
            out.append(f"#\t{loc.address:#x}\t{f.system_name or f.name}+0x0\t{f.filename}:{ln.line}")
    return out


def count_text(name: str) -> Callable[[Profile, int], str]:
    """Go's debug=1 text for count profiles: header, then groups by count, with frames."""
    def render(p: Profile, debug: int) -> str:
        total = sum(s.values[0] for s in p.samples)
        lines = [f"{name} profile: total {total}"]
        for s in sorted(p.samples, key=lambda s: -s.values[0]):
            addrs = " ".join(f"{loc.address:#x}" for loc in s.locations)
            lines.append(f"{s.values[0]} @ {addrs}".rstrip())
            labels = s.string_labels()
            if labels:
                pairs = ", ".join(f'"{k}":"{v[0]}"' for k, v in sorted(labels.items()))
                lines.append(f"# labels: {{{pairs}}}")
            lines.extend(_frames_text(p, s))
            lines.append("")
        return "\n".join(lines) + "\n"
    return render


def _goroutine_text(p: Profile, debug: int) -> str:
    if debug >= 2:
        return dump_threads()
    return count_text("goroutine")(p, debug)


def _heap_text(p: Profile, debug: int) -> str:
    return f"heap profile: 0: 0 [0: 0] @ heap/{2 * HEAP_RATE}\n"


def _contention_text(kind: str) -> Callable[[Profile, int], str]:
    def render(p: Profile, debug: int) -> str:
        head = [f"--- {kind}:", "cycles/second=1000000000"]
        if kind == "mutex":
            head.append("sampling period=0")
        return "\n".join(head) + "\n"
    return render


REGISTRY: dict[str, NamedProfile] = {
    "allocs": NamedProfile("allocs", "A sampling of all past memory allocations",
                           _empty(HEAP_TYPES, ("space", "bytes"), HEAP_RATE, "alloc_space"),
                           _heap_text),
    "block": NamedProfile("block", "Stack traces that led to blocking on synchronization primitives",
                          _empty(CONTENTION_TYPES, ("contentions", "count"), 1),
                          _contention_text("contention")),
    "goroutine": NamedProfile(
        "goroutine", "Stack traces of all current goroutines (Python threads and asyncio tasks). "
        "Use debug=2 as a query parameter to export in the same format as an unrecovered panic.",
        goroutine_profile, _goroutine_text),
    "heap": NamedProfile(
        "heap", "A sampling of memory allocations of live objects. You can specify the gc GET "
        "parameter to run GC before taking the heap sample.",
        _empty(HEAP_TYPES, ("space", "bytes"), HEAP_RATE), _heap_text),
    "mutex": NamedProfile("mutex", "Stack traces of holders of contended mutexes",
                          _empty(CONTENTION_TYPES, ("contentions", "count"), 1),
                          _contention_text("mutex")),
    "threadcreate": NamedProfile("threadcreate", "Stack traces that led to the creation of new OS threads",
                                 threadcreate_profile, count_text("threadcreate")),
}

# Serving profiles means the agent is on: record thread creation from now on (one stack
# capture per Thread.start; see runtime/threadcreate.py).
threadcreate.install()

#: Index-page entries that are not registry profiles (count 0), with their descriptions.
SPECIAL = {
    "cmdline": "The command line invocation of the current program",
    "profile": "CPU profile. You can specify the duration in the seconds GET parameter. After you "
               "get the profile file, use the go tool pprof command to investigate the profile.",
    "trace": "A trace of execution of the current program. Not available for Python programs: "
             "the endpoint answers 501.",
    "wall": "Wall-clock profile of every thread, idle or not (pprofx). Takes the seconds GET "
            "parameter like profile.",
}


def cmdline_args() -> list[str]:
    """The program's command line, as Go's ``os.Args`` (interpreter first)."""
    orig = getattr(sys, "orig_argv", None)
    return list(orig) if orig else [sys.executable, *sys.argv]
