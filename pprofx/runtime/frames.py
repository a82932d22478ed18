"""Python frames -> compact stack keys, and stack keys -> profile locations.

The samplers' hot path turns a thread's current frame into a tuple of small ints ("frame
ids", one per (code object, line) pair, leaf first). :class:`FrameTable` interns those
pairs; :class:`StackWalker` keeps, per thread, the previous tick's frames so that only the
frames that changed since then are read: when the walk meets a frame object that was on
the previous stack, everything above it (its callers, suspended at the same call) is reused.
Generator and coroutine frames are never used as that anchor, since they can be resumed
from a different caller. :meth:`FrameTable.add_location` turns ids into builder locations
with pprofx's frame model (DESIGN §4): name = qualified name, system_name =
``module.qualname``, filename, start_line, and the current line.

:class:`StackWalker` has a C twin, ``pprofx.runtime._stacks_c.StackWalker`` (built from
``pprofx/_native/stackcapture.c`` when a compiler is there), with the same signature and the
same results; :func:`new_walker` gives the one :data:`WALKER_BACKEND` selects.
"""

from __future__ import annotations

import inspect
import sys
from types import CodeType, FrameType

from ..profile import Location, ProfileBuilder

#: Code flags of frames that can be resumed by a different caller.
_RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR

#: Synthetic frames (names shown in profiles).
TRUNCATED = "[truncated]"
OVERFLOW = "[pprofx: too many distinct frames]"

_HAS_QUALNAME = sys.version_info >= (3, 11)


def _reconstruct_qualname(code: CodeType, frame: FrameType) -> str:
    """Best qualified name on Python < 3.11, which lacks ``co_qualname``.

    For a method (first argument ``self`` or ``cls``), the class in the receiver's MRO
    whose dict holds a function with this very code object gives ``Class.method``.
    """
    name = code.co_name
    if code.co_argcount and code.co_varnames[0] in ("self", "cls"):
        try:
            receiver = frame.f_locals.get(code.co_varnames[0])
        except Exception:  # noqa: BLE001 - f_locals of a foreign frame can fail
            return name
        cls = receiver if isinstance(receiver, type) else type(receiver)
        for klass in getattr(cls, "__mro__", ()):
            for attr in vars(klass).values():
                fn = getattr(attr, "__func__", attr)
                if getattr(fn, "__code__", None) is code:
                    return f"{klass.__qualname__}.{name}"
    return name


class FrameTable:
    """Interns (code, line) pairs as small ints; bounded by ``max_frames`` entries.

    Entry 0 is the synthetic truncation marker and entry 1 the overflow marker (used for
    every new pair once the table is full). Not thread-safe: owned by the sampler thread.
    """

    def __init__(self, max_frames: int = 100_000) -> None:
        self._ids: dict[tuple, int] = {}
        self._qualnames: dict[CodeType, tuple[str, str]] = {}
        # id -> (name, system_name, filename, start_line, line)
        self.info: list[tuple[str, str, str, int, int]] = [
            (TRUNCATED, TRUNCATED, "", 0, 0),
            (OVERFLOW, OVERFLOW, "", 0, 0),
        ]
        self.max_frames = max_frames

    def intern(self, frame: FrameType, code: CodeType, line: int) -> int:
        key = (code, line)
        fid = self._ids.get(key)
        if fid is not None:
            return fid
        if len(self.info) >= self.max_frames:
            return 1
        names = self._qualnames.get(code)
        if names is None:
            qual = code.co_qualname if _HAS_QUALNAME else _reconstruct_qualname(code, frame)
            module = frame.f_globals.get("__name__") or ""
            names = (qual, f"{module}.{qual}" if module else qual)
            self._qualnames[code] = names
        fid = len(self.info)
        self.info.append((names[0], names[1], code.co_filename, code.co_firstlineno, line or 0))
        self._ids[key] = fid
        return fid

    def add_location(self, builder: ProfileBuilder, fid: int) -> Location:
        name, system_name, filename, start_line, line = self.info[fid]
        return builder.location(builder.function(name, system_name, filename, start_line), line)

    def stack_locations(self, builder: ProfileBuilder, stack: tuple,
                        cache: dict[int, Location]) -> list[Location]:
        """The builder locations of a stack of frame ids; ``cache`` (per builder) saves lookups."""
        out = []
        for fid in stack:
            loc = cache.get(fid)
            if loc is None:
                loc = cache[fid] = self.add_location(builder, fid)
            out.append(loc)
        return out


class StackWalker:
    """Reads thread stacks as tuples of frame ids (leaf first), reusing unchanged callers.

    Per thread it keeps the previous stack's frame objects and an index of each frame's
    position counted from the root, which stays valid for the reused part, so a tick
    costs O(frames that changed) dict operations plus two list/tuple copies done in C.
    ``max_depth`` caps a stack: deeper stacks keep their leaf-most frames and end with the
    truncation marker (id 0); such stacks are re-read in full each time.
    """

    def __init__(self, table: FrameTable, max_depth: int = 128) -> None:
        self.table = table
        self.max_depth = max_depth
        # ident -> (frames leaf-first, ids leaf-first, {frame: position from the root} or None)
        self._prev: dict[int, tuple[list, tuple, dict | None]] = {}

    def walk(self, ident: int, frame: FrameType | None) -> tuple:
        prev = self._prev.get(ident)
        index = prev[2] if prev is not None else None
        intern = self.table.intern
        limit = self.max_depth
        fresh: list = []
        ids: list = []
        f = frame
        anchor = -1
        truncated = False
        while f is not None:
            code = f.f_code
            if index is not None:
                r = index.get(f)
                if r is not None and not code.co_flags & _RESUMABLE:
                    anchor = r
                    break
            if len(fresh) >= limit:
                truncated = True
                break
            fresh.append(f)
            ids.append(intern(f, code, f.f_lineno))
            f = f.f_back
        if anchor >= 0:
            # f is still on this stack, so its callers are unchanged; its line may not be.
            prev_frames, prev_ids = prev[0], prev[1]
            j = len(prev_frames) - 1 - anchor
            for old in prev_frames[:j]:
                index.pop(old, None)
            n = len(fresh)
            for i, fr in enumerate(fresh):
                index[fr] = anchor + n - i
            ids.append(intern(f, f.f_code, f.f_lineno))
            frames = fresh + prev_frames[j:]
            stack = tuple(ids) + prev_ids[j + 1:]
            if len(stack) > limit:
                stack = stack[:limit] + (0,)
                frames = frames[:limit]
                index = None
        else:
            frames = fresh
            if truncated:
                stack = tuple(ids) + (0,)
                index = None
            else:
                stack = tuple(ids)
                top = len(fresh) - 1
                index = {fr: top - i for i, fr in enumerate(fresh)}
        self._prev[ident] = (frames, stack, index)
        return stack

    def forget(self, alive: set[int] | dict) -> None:
        """Drop cached stacks of threads not in ``alive`` (releases their frames)."""
        for ident in [i for i in self._prev if i not in alive]:
            del self._prev[ident]

    def clear(self) -> None:
        self._prev.clear()


try:
    from ._stacks_c import StackWalker as CStackWalker
except ImportError:  # not built: the pure-Python walker is used
    CStackWalker = None

#: The walker :func:`new_walker` makes: ``"c"`` (the C twin, the default when it is built) or
#: ``"python"``. Read when a walker is made (a sampler makes its own at start-up and after
#: fork); tests set it to run both.
WALKER_BACKEND = "c" if CStackWalker is not None else "python"


def new_walker(table: FrameTable, max_depth: int = 128):
    """A :class:`StackWalker` (or its C twin, per :data:`WALKER_BACKEND`) over ``table``."""
    if WALKER_BACKEND == "python":
        return StackWalker(table, max_depth)
    if WALKER_BACKEND == "c" and CStackWalker is not None:
        return CStackWalker(table, max_depth)
    raise RuntimeError(f"stack walker backend {WALKER_BACKEND!r} is not available")
