"""CPU and wall-clock profiling API, mirroring Go's ``runtime/pprof``.

``start_cpu_profile(dest)`` / ``stop_cpu_profile()`` write a gzip pprof profile to a path
or binary file, like ``pprof.StartCPUProfile``; :func:`profile_cpu` collects for N seconds
and returns the :class:`~pprofx.profile.Profile`; :func:`cpu_profile` is a context manager.
The ``wall`` functions are the same for wall-clock time. Only one CPU and one wall profile
can run at a time; a second start raises :class:`ProfilingInUse` with Go's message
("cpu profiling already in use").

Profile shape (Go's CPU profile, spec §C.1): sample types samples/count and cpu/nanoseconds
(wall/nanoseconds for wall), period type cpu/nanoseconds (wall/nanoseconds), period =
the mean sampling interval in ns (1e9/hz unless the overhead cap lengthened it; then a
comment says so), duration = wall time between start and stop.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from typing import IO, Iterator, Union

from ..profile import Profile, ProfileBuilder, encode
from .sampler import SAMPLER, Session

Destination = Union[str, "os.PathLike[str]", IO[bytes], None]


class ProfilingInUse(RuntimeError):
    """A CPU (or wall) profile is already being collected in this process."""


def set_cpu_profile_rate(hz: int) -> None:
    """Set the sampling rate (Go's ``SetCPUProfileRate``); applies to the next start.

    ``hz`` must be between 1 and 1000.
    """
    if not isinstance(hz, int) or not 1 <= hz <= 1000:
        raise ValueError(f"hz must be an integer from 1 to 1000, got {hz!r}")
    SAMPLER.hz = hz


def set_overhead_budget(fraction: float) -> None:
    """Set the sampler's CPU budget as a fraction of one core (default 0.01 = 1%)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"budget must be in (0, 1], got {fraction!r}")
    SAMPLER.budget = fraction


def _build(session: Session) -> Profile:
    kind = session.kind
    hz_period = int(1e9 / SAMPLER.hz)
    period = (session.interval_sum_ns // session.ticks) if session.ticks else hz_period
    b = ProfileBuilder([("samples", "count"), (kind, "nanoseconds")], (kind, "nanoseconds"),
                       period, mapping_filename=_program_name())
    b.time_nanos = session.start_ns
    b.duration_nanos = (session.end_mono or time.monotonic_ns()) - session.start_mono
    if period > hz_period * 1.05:
        late = period - hz_period
        by_cap = min(late, session.cap_wait_ns // session.ticks if session.ticks else 0)
        b.comments.append(
            f"pprofx: mean sampling interval {period / 1e6:.1f}ms (requested "
            f"{hz_period / 1e6:.1f}ms): {by_cap / 1e6:.1f}ms added by the profiler's CPU "
            f"budget, {(late - by_cap) / 1e6:.1f}ms spent waiting for the GIL"
        )
    if session.overflowed:
        b.comments.append(f"pprofx: {session.overflowed} samples beyond the cap of "
                          f"{session.max_stacks} distinct stacks were merged into one frame")
    table = SAMPLER.table
    cache: dict = {}
    for (stack, labels), (count, ns) in list(session.counts.items()):
        b.add(table.stack_locations(b, stack, cache), [count, ns], dict(labels))
    return b.build()


def _program_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    return argv0


def _write(p: Profile, dest: Destination) -> None:
    if dest is None:
        return
    data = encode(p)
    if hasattr(dest, "write"):
        dest.write(data)  # type: ignore[union-attr]
    else:
        with open(dest, "wb") as f:  # type: ignore[arg-type]
            f.write(data)


class _Active:
    """The open session per kind and where its profile goes when stopped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dest: dict[str, Destination] = {}


_ACTIVE = _Active()
if hasattr(os, "register_at_fork"):
    # A lock held by another thread at fork() would stay held forever in the child.
    os.register_at_fork(after_in_child=_ACTIVE.__init__)


def _start(kind: str, dest: Destination) -> None:
    with _ACTIVE.lock:
        try:
            SAMPLER.start(kind)
        except RuntimeError as e:
            raise ProfilingInUse(str(e)) from None
        _ACTIVE.dest[kind] = dest


def _stop(kind: str) -> Profile | None:
    with _ACTIVE.lock:
        session = SAMPLER.stop(kind)
        dest = _ACTIVE.dest.pop(kind, None)
    if session is None:
        return None
    p = _build(session)
    _write(p, dest)
    return p


def start_cpu_profile(dest: Destination = None) -> None:
    """Start CPU profiling; :func:`stop_cpu_profile` writes the profile to ``dest``
    (a path or binary file; None keeps it only as the return value of the stop)."""
    _start("cpu", dest)


def stop_cpu_profile() -> Profile | None:
    """Stop CPU profiling, write the profile where start asked, and return it
    (None when no CPU profile was running)."""
    return _stop("cpu")


def start_wall_profile(dest: Destination = None) -> None:
    """Start wall-clock profiling (every thread, idle or not); see start_cpu_profile."""
    _start("wall", dest)


def stop_wall_profile() -> Profile | None:
    """Stop wall-clock profiling; see :func:`stop_cpu_profile`."""
    return _stop("wall")


class _Handle:
    """What the context managers yield: ``.profile`` is set when the block ends."""

    profile: Profile | None = None


@contextlib.contextmanager
def _profiling(kind: str, dest: Destination) -> Iterator[_Handle]:
    handle = _Handle()
    _start(kind, dest)
    try:
        yield handle
    finally:
        handle.profile = _stop(kind)


def cpu_profile(dest: Destination = None) -> contextlib.AbstractContextManager[_Handle]:
    """``with cpu_profile("out.pb.gz") as h: …``; ``h.profile`` holds the result."""
    return _profiling("cpu", dest)


def wall_profile(dest: Destination = None) -> contextlib.AbstractContextManager[_Handle]:
    """``with wall_profile("out.pb.gz") as h: …``; ``h.profile`` holds the result."""
    return _profiling("wall", dest)


def _collect(kind: str, seconds: float, stop_event: threading.Event | None) -> Profile:
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    _start(kind, None)
    try:
        (stop_event or threading.Event()).wait(seconds)
    finally:
        p = _stop(kind)
    assert p is not None
    return p


def profile_cpu(seconds: float, stop_event: threading.Event | None = None) -> Profile:
    """Collect a CPU profile for ``seconds`` (or until ``stop_event`` is set) and return it."""
    return _collect("cpu", seconds, stop_event)


def profile_wall(seconds: float, stop_event: threading.Event | None = None) -> Profile:
    """Collect a wall-clock profile for ``seconds`` (or until ``stop_event``) and return it."""
    return _collect("wall", seconds, stop_event)


def sampler_errors() -> int:
    """How many sampling ticks failed since the process started (each logged at most once)."""
    return SAMPLER.errors


atexit.register(SAMPLER.shutdown)
