"""Allocator hook of the heap profiler (built from ``pprofx/_native/heapsampler.c``).

Wraps the OBJ and MEM allocator domains (PEP 445) and samples allocations by bytes with
exponentially distributed intervals of mean ``rate``, Go's ``MemProfileRate`` model. Process-
global state; every function must be called with the GIL held (any Python code does).
Optional: when it is not built, :mod:`pprofx.runtime.heap` uses its pure-Python twin
:mod:`pprofx.runtime.heap_fallback` (tracemalloc), which returns the same record shape.
"""

from types import CodeType
from typing import Optional, Union

#: One frame: (code object, line), leaf first; a trailing None marks a truncated stack.
Frame = tuple[CodeType, int]

def start(rate: int, max_depth: int = 128, max_stacks: int = 16384,
          max_blocks: int = 131072) -> None:
    """Install the hooks and sample one allocation per ``rate`` bytes on average (1 = all).

    If already running, only the rate changes and recorded data is kept; otherwise data is
    reset first. ``ValueError`` for rate < 1 or limits out of range.
    """
    ...

def stop() -> bool:
    """Stop sampling and restore the allocators ``start`` replaced; data is kept.

    False if another hook (e.g. tracemalloc) wrapped ours meanwhile: ours then stays in the
    chain and passes everything through.
    """
    ...

def reset() -> None:
    """Drop recorded stacks, records and counters (sampling goes on if running)."""
    ...

def snapshot() -> tuple[list[Optional[tuple[Union[Frame, None], ...]]],
                        list[tuple[int, int, int, int, int]]]:
    """``(stacks, records)``: ``stacks[i]`` is a tuple of frames (``stacks[0]`` is None,
    the overflow stack); each record is ``(stack_id, alloc_objects, alloc_bytes,
    inuse_objects, inuse_bytes)`` in raw sampled (unscaled) values."""
    ...

def stats() -> dict[str, object]:
    """Settings, table sizes, own memory (``memory``, bytes) and drop counters."""
    ...

def seed(n: int) -> None:
    """Seed the interval generator (reproducible tests)."""
    ...

def _allocators() -> tuple[tuple[int, int, int, int, int], ...]:
    """Test-only: (ctx, malloc, calloc, realloc, free) of the RAW, MEM and OBJ domains."""
    ...
