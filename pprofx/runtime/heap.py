"""Heap and allocation profiles (Go's ``heap`` and ``allocs``), cheap enough for production.

Model (Go's ``runtime.MemProfileRate``): allocations are sampled by bytes, one sample per
``rate`` bytes allocated on average (default 512 KiB; 1 = every allocation; 0 = off). A
sampled allocation is recorded with its Python stack; while its block lives it counts as in
use, and ``free`` takes it out again. Profiles have Go's shape (spec §C.1): sample types
alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes, period type
space/bytes, period = rate, values unsampled with Go's formula (§C.2,
:func:`scale_heap_sample`), a numeric ``bytes`` label with the average object size, and
``allocs`` defaulting to alloc_space. docs/heap.md has the details and costs.

Backends, behind one record shape ``(frames, alloc_objects, alloc_bytes, inuse_objects,
inuse_bytes)`` with raw values:

* ``"c"``: the PEP 445 allocator hook ``pprofx.runtime._heap_c`` (pprofx/_native/heapsampler.c);
* ``"tracemalloc"``: :mod:`pprofx.runtime.heap_fallback`, the slow path (every allocation
  traced, exact values, period 1), used when the extension is not built or when asked for;
  it logs one warning line at start and each profile carries a comment saying so.

Lifecycle: :func:`start_heap_profiler` begins a fresh recording (or only changes the rate if
one is running); :func:`stop_heap_profiler` restores the allocators and freezes the data
(in-use values as of the stop) until the next start. Without a recording, profiles are valid
and empty. The recording is process-wide; calls are serialised by a module lock. A forked
child inherits the recording and goes on sampling (the C side reseeds its generator).
"""

from __future__ import annotations

import atexit
import gc as _gc
import logging
import math
import os
import sys
import threading
from typing import Any, BinaryIO, Union

from ..profile import Profile, ProfileBuilder, write
from . import heap_names, heaptext
from .frames import TRUNCATED
from .heap_fallback import OVERFLOW, FrameInfo, TracemallocSampler

try:
    from . import _heap_c
except ImportError:  # not built: the tracemalloc fallback serves
    _heap_c = None  # type: ignore[assignment]

log = logging.getLogger("pprofx")

DEFAULT_RATE = 512 * 1024
MAX_DEPTH = 128
MAX_STACKS = 16384
MAX_BLOCKS = 1 << 17
HEAP_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
              ("inuse_objects", "count"), ("inuse_space", "bytes")]
BACKENDS = ("auto", "c", "tracemalloc")
#: Synthetic frame of allocations made with no Python frame on the thread.
NO_FRAMES = "[no Python frames]"
FALLBACK_COMMENT = ("pprofx: heap profile from the tracemalloc fallback (slow path: every "
                    "allocation traced; exact values, no sampling). Build pprofx's C extension "
                    "for the sampling profiler.")

Destination = Union[str, "os.PathLike[str]", BinaryIO]
Record = tuple[tuple[FrameInfo, ...], int, int, int, int]

_lock = threading.Lock()
_backend: str | None = None  # the backend holding data ("c" / "tracemalloc"), or None
_running = False
_rate = DEFAULT_RATE  # the period of profiles (1 for the tracemalloc fallback)
_fallback: TracemallocSampler | None = None
_atexit_done = [False]


def native_available() -> bool:
    """True if the C allocator hook is built."""
    return _heap_c is not None


def heap_backend() -> str | None:
    """The backend of the current (or last, frozen) recording: "c", "tracemalloc" or None."""
    return _backend


def heap_profiler_running() -> bool:
    return _running


def scale_heap_sample(count: int, size: int, rate: int) -> tuple[int, int]:
    """Go's ``scaleHeapSample``: estimate the true (objects, bytes) from sampled ones.

    Each allocation of ``avg`` bytes was sampled with probability 1 − e^(−avg/rate), so both
    values are divided by that, truncated to int. (0, 0) for no data; unchanged for rate ≤ 1.
    """
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    avg = size / count
    scale = 1 / (1 - math.exp(-avg / rate))
    return int(count * scale), int(size * scale)


def _stop_locked() -> None:
    global _running
    if not _running:
        return
    if _backend == "c":
        if not _heap_c.stop():
            log.warning("pprofx: heap profiler stopped, but another allocator hook (tracemalloc?) "
                        "wrapped ours; ours stays in the chain passing allocations through")
    elif _fallback is not None:
        _fallback.stop()
    _running = False


def start_heap_profiler(rate: int = DEFAULT_RATE, *, backend: str = "auto",
                        max_depth: int = MAX_DEPTH, max_stacks: int = MAX_STACKS,
                        max_blocks: int = MAX_BLOCKS) -> str:
    """Start recording allocations, one sample per ``rate`` bytes on average; returns the
    backend used ("c" or "tracemalloc").

    ``rate`` 1 samples every allocation; 0 stops the profiler (as Go's MemProfileRate = 0).
    ``backend``: "auto" (the C hook if built, else tracemalloc with a warning), "c" (error
    if not built) or "tracemalloc" (the slow path: exact, ignores ``rate``). If a recording
    with the same backend runs, only its rate changes; otherwise a new recording starts and
    the previous data is dropped. ``max_depth`` frames per stack (deeper stacks keep their
    leaf-most frames), ``max_stacks`` distinct stacks, ``max_blocks`` tracked live blocks
    bound the profiler's memory; overflows are counted (:func:`heap_profiler_stats`).
    """
    global _backend, _running, _rate, _fallback
    if rate < 0:
        raise ValueError("rate must be >= 0")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    if rate == 0:
        stop_heap_profiler()
        return _backend or ""
    if backend == "c" and _heap_c is None:
        raise RuntimeError("the heap profiler's C extension (pprofx.runtime._heap_c) is not built")
    use = backend if backend != "auto" else ("c" if _heap_c is not None else "tracemalloc")
    with _lock:
        if _running and _backend == use:
            if use == "c":
                _heap_c.start(rate)
                _rate = rate
            return use
        _stop_locked()
        heap_names.clear()
        if use == "c":
            _heap_c.start(rate, max_depth, max_stacks, max_blocks)
            _rate = rate
            _fallback = None
        else:
            log.warning("pprofx: heap profiler using the tracemalloc fallback (slow path: every "
                        "allocation is traced, several times slower on allocation-heavy code)")
            _fallback = TracemallocSampler(max_depth, max_stacks)
            _fallback.start()
            _rate = 1
            if _heap_c is not None:
                _heap_c.reset()  # drop a frozen C recording's references
        _backend = use
        _running = True
        if not _atexit_done[0]:
            atexit.register(stop_heap_profiler)
            _atexit_done[0] = True
        return use


def stop_heap_profiler() -> None:
    """Stop recording and restore the allocators. The data stays (in-use values as of now)
    for :func:`heap_profile` until the next start. No-op if not running."""
    with _lock:
        _stop_locked()


def _forget() -> None:
    """Stop and drop the recording, back to a fresh process's state (for tests)."""
    global _backend, _rate, _fallback
    with _lock:
        _stop_locked()
        if _heap_c is not None:
            _heap_c.reset()
        heap_names.clear()
        _backend, _rate, _fallback = None, DEFAULT_RATE, None


def set_mem_profile_rate(rate: int) -> None:
    """Go's ``runtime.MemProfileRate = rate``: start (or re-rate) the profiler, 0 stops it."""
    start_heap_profiler(rate)


def heap_profiler_stats() -> dict[str, Any]:
    """Backend, rate and the backend's counters: samples, stacks, tracked_blocks,
    dropped_stacks, dropped_blocks, memory (the profiler's own bytes), …"""
    with _lock:
        out: dict[str, Any] = {"backend": _backend, "running": _running, "rate": _rate}
        if _backend == "c":
            out.update(_heap_c.stats())
        elif _fallback is not None:
            out.update(_fallback.stats())
        out["running"] = _running
        out["rate"] = _rate
        return out


def _native_records() -> list[Record]:
    stacks, recs = _heap_c.snapshot()
    converted: list[tuple[FrameInfo, ...] | None] = [None] * len(stacks)
    code_info = heap_names.code_info
    out: list[Record] = []
    for sid, ao, ab, io, ib in recs:
        frames = converted[sid]
        if frames is None:
            st = stacks[sid]
            if st is None:
                frames = ((OVERFLOW, OVERFLOW, "", 0, 0),)
            elif not st:
                frames = ((NO_FRAMES, NO_FRAMES, "", 0, 0),)
            else:
                fl = []
                for fr in st:
                    if fr is None:
                        fl.append((TRUNCATED, TRUNCATED, "", 0, 0))
                    else:
                        fl.append((*code_info(fr[0]), fr[1]))
                frames = tuple(fl)
            converted[sid] = frames
        out.append((frames, ao, ab, io, ib))
    return out


def heap_records() -> tuple[int, list[Record], list[str]]:
    """``(rate, records, comments)`` of the current (or frozen) recording, with raw
    (unscaled) values; no records when nothing was recorded."""
    with _lock:
        if _backend == "c":
            records = _native_records()
        elif _fallback is not None:
            records = _fallback.records(observe=_running)
        else:
            records = []
        return _rate, records, _comments()


def _comments() -> list[str]:
    out = []
    if _backend == "tracemalloc":
        out.append(FALLBACK_COMMENT)
        if _fallback is not None and _fallback.dropped_stacks:
            out.append(f"pprofx: {_fallback.dropped_stacks} stacks beyond max_stacks charged to {OVERFLOW}")
    elif _backend == "c":
        st = _heap_c.stats()
        if st["dropped_stacks"]:
            out.append(f"pprofx: {st['dropped_stacks']} samples beyond max_stacks charged to {OVERFLOW}")
        if st["dropped_blocks"]:
            out.append(f"pprofx: {st['dropped_blocks']} sampled blocks not tracked (max_blocks): "
                       "counted as allocated, not as in use")
    return out


def build_heap_profile(records: list[Record], rate: int, default_sample_type: str = "",
                       scaled: bool = True, comments: list[str] | None = None) -> Profile:
    """The heap/allocs :class:`Profile` of raw ``records`` sampled at ``rate``.

    ``scaled`` applies Go's unsampling to the alloc pair and the in-use pair separately;
    each sample gets the numeric label ``bytes`` = alloc_bytes // alloc_objects (raw) when
    nonzero. Records with the same stack and average size merge.
    """
    b = ProfileBuilder(HEAP_TYPES, ("space", "bytes"), rate,
                       mapping_filename=sys.argv[0] if sys.argv and sys.argv[0] else "python",
                       default_sample_type=default_sample_type)
    b.comments.extend(comments or [])
    cache: dict[FrameInfo, Any] = {}
    for frames, ao, ab, io, ib in records:
        if not (ao or ab or io or ib):
            continue
        locs = []
        for fr in frames:
            loc = cache.get(fr)
            if loc is None:
                name, system, filename, start, line = fr
                loc = cache[fr] = b.location(b.function(name, system, filename, start), line)
            locs.append(loc)
        if scaled:
            values = [*scale_heap_sample(ao, ab, rate), *scale_heap_sample(io, ib, rate)]
        else:
            values = [ao, ab, io, ib]
        block = ab // ao if ao else 0
        b.add(locs, values, {"bytes": block} if block else None)
    return b.build()


def heap_profile() -> Profile:
    """The heap profile (in-use and allocated, unsampled); default sample type unset, so
    pprof shows inuse_space. Valid and empty when nothing is recorded."""
    rate, records, comments = heap_records()
    return build_heap_profile(records, rate, "", comments=comments)


def allocs_profile() -> Profile:
    """The same data as :func:`heap_profile`, with default sample type alloc_space."""
    rate, records, comments = heap_records()
    return build_heap_profile(records, rate, "alloc_space", comments=comments)


def heap_text() -> str:
    """The legacy ``debug=1`` text of the heap/allocs profiles (raw values, Python memory
    statistics in place of Go's MemStats); see :mod:`pprofx.runtime.heaptext`."""
    rate, records, _ = heap_records()
    p = build_heap_profile(records, rate, scaled=False)
    return heaptext.render(p, rate, heaptext.memstats(heap_profiler_stats()))


def write_heap_profile(dest: Destination, *, gc: bool = False) -> None:
    """Write the heap profile, gzip-encoded, to a path or binary file (Go's
    ``pprof.WriteHeapProfile``); ``gc`` runs a full collection first."""
    if gc:
        _gc.collect()
    write(heap_profile(), dest)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
