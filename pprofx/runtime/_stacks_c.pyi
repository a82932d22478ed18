"""C twin of :class:`pprofx.runtime.frames.StackWalker` (built from ``pprofx/_native/stackcapture.c``).

Same constructor, methods and results as the Python walker: for the same frames and the same
:class:`~pprofx.runtime.frames.FrameTable` it returns the same tuple of frame ids (leaf first,
callers of a frame still on the previous stack reused, at most ``max_depth`` frames then the
truncation marker 0) and calls ``table.intern`` in the same order; it also keeps a C-side
(code, line) -> id cache so ``table.intern`` runs only for new pairs. Call with the GIL held,
from one thread at a time (the sampler thread). Optional: when it is not built,
:func:`pprofx.runtime.frames.new_walker` returns the Python walker.
"""

from types import FrameType
from typing import Any, Container, Optional

class StackWalker:
    def __init__(self, table: Any, max_depth: int = 128) -> None:
        """Walk stacks into ids of ``table`` (a FrameTable); ValueError unless 1 <= max_depth <= 1e6."""
        ...
    @property
    def table(self) -> Any: ...
    @property
    def max_depth(self) -> int: ...
    @property
    def cached_pairs(self) -> int:
        """(code, line) pairs held in the C-side id cache (each holds a reference to its code)."""
        ...
    def walk(self, ident: int, frame: Optional[FrameType]) -> tuple[int, ...]:
        """Frame ids of ``frame``'s stack, leaf first; remembers it as thread ``ident``'s stack."""
        ...
    def forget(self, alive: Container[int]) -> None:
        """Drop the remembered stacks of threads not in ``alive`` (releases their frames)."""
        ...
    def clear(self) -> None:
        """Drop every remembered stack."""
        ...
