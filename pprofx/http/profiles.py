"""The named profiles served at ``/debug/pprof/<name>``, as a registry (Go's ``pprof.Lookup``).

Each entry knows how to collect its :class:`~pprofx.profile.Profile` (debug=0, and the two
snapshots of a ``seconds`` delta), render its legacy text (debug>=1) and count its records
for the index page. A profile whose collector is off (heap and allocs before
``start_heap_profiler``, block, mutex) answers as Go does for a disabled profile: a valid
profile with Go's sample types and no samples — never a 404 — so scrapers (Alloy, Parca)
keep the target healthy.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable

from ..profile import Profile
from ..profile.legacytext import frame_lines
from ..runtime import contention, heap, threadcreate
from ..runtime.threadcreate import threadcreate_profile
from ..runtime.threads import dump_threads, goroutine_profile


@dataclasses.dataclass
class NamedProfile:
    """One entry of the registry; ``collect`` returns a fresh profile on each call."""

    name: str
    description: str
    collect: Callable[[], Profile]
    text: Callable[[Profile, int], str]
    #: listed on the index page (whose counts call ``collect``); stateful entries are not
    listed: bool = True


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
            lines.extend(frame_lines(s))
            lines.append("")
        return "\n".join(lines) + "\n"
    return render


def _goroutine_text(p: Profile, debug: int) -> str:
    if debug >= 2:
        return dump_threads()
    return count_text("goroutine")(p, debug)


def _heap_text(p: Profile, debug: int) -> str:
    # the legacy text carries raw sampled values, so it is rendered from the recording
    return heap.heap_text()


def _contention_text(kind: str) -> Callable[[Profile, int], str]:
    """Go's legacy block/mutex text: header, then ``<cycles> <count> @ addrs`` records by
    delay, largest first, each with its frame lines (cycles are nanoseconds here)."""
    def render(p: Profile, debug: int) -> str:
        lines = [f"--- {kind}:", f"cycles/second={contention.CYCLES_PER_SECOND}"]
        if kind == "mutex":
            lines.append(f"sampling period={contention.mutex_fraction}")
        for s in sorted(p.samples, key=lambda s: -s.values[1]):
            addrs = " ".join(f"{loc.address:#x}" for loc in s.locations)
            lines.append(f"{s.values[1]} {s.values[0]} @ {addrs}".rstrip())
            lines.extend(frame_lines(s))
            lines.append("")
        return "\n".join(lines) + "\n"
    return render


REGISTRY: dict[str, NamedProfile] = {
    "allocs": NamedProfile("allocs", "A sampling of all past memory allocations",
                           heap.allocs_profile, _heap_text),
    "block": NamedProfile("block", "Stack traces that led to blocking on synchronization primitives",
                          contention.block_profile, _contention_text("contention")),
    "delta_block": NamedProfile("delta_block", "Change of the block profile since the previous "
                                "request (godeltaprof)", contention.delta_block_profile,
                                _contention_text("contention"), listed=False),
    "delta_mutex": NamedProfile("delta_mutex", "Change of the mutex profile since the previous "
                                "request (godeltaprof)", contention.delta_mutex_profile,
                                _contention_text("mutex"), listed=False),
    "goroutine": NamedProfile(
        "goroutine", "Stack traces of all current goroutines (Python threads and asyncio tasks). "
        "Use debug=2 as a query parameter to export in the same format as an unrecovered panic.",
        goroutine_profile, _goroutine_text),
    "heap": NamedProfile(
        "heap", "A sampling of memory allocations of live objects. You can specify the gc GET "
        "parameter to run GC before taking the heap sample.",
        heap.heap_profile, _heap_text),
    "mutex": NamedProfile("mutex", "Stack traces of holders of contended mutexes",
                          contention.mutex_profile, _contention_text("mutex")),
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
