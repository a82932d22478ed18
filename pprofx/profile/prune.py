"""Frame pruning: applying a profile's ``drop_frames``/``keep_frames`` (pprof's ``Prune``).

A frame whose function name fully matches ``drop_frames`` (and not ``keep_frames``) is
removed together with everything above it toward the leaf — e.g. allocator internals in a
heap profile. Frames below the first "user" frame (toward the root) are never pruned, so a
sample cannot lose its whole stack. Both functions mutate the profile they are given.
"""

from __future__ import annotations

import re

from .errors import ProfileError
from .model import Profile


def _compile(pattern: str, what: str) -> re.Pattern:
    try:
        return re.compile("^(?:" + pattern + ")$")
    except re.error as e:
        raise ProfileError(f"invalid {what} regular expression {pattern!r}: {e}") from None


def _simplify(name: str) -> str:
    """Strip a leading '.' (PPC ELF v1) and a trailing argument list, as pprof does."""
    name = name[1:] if name.startswith(".") else name
    if name.endswith(")"):
        i = name.rfind("(")
        if i > 0:
            name = name[:i]
    return name


def prune(p: Profile, drop: re.Pattern, keep: re.Pattern | None = None) -> Profile:
    """Remove matching frames (and their callees) from every sample; returns ``p``."""
    prune_loc: set[int] = set()
    prune_beneath: set[int] = set()
    for loc in p.locations:
        hit = -1
        for i in range(len(loc.lines) - 1, -1, -1):
            fn = loc.lines[i].function
            if fn is None or not fn.name:
                continue
            name = _simplify(fn.name)
            if drop.match(name) and (keep is None or not keep.match(name)):
                hit = i
                break
        if hit >= 0:
            prune_beneath.add(loc.id)
            if hit == len(loc.lines) - 1:
                prune_loc.add(loc.id)
            else:
                loc.lines = loc.lines[hit + 1:]
    if not prune_beneath:
        return p
    for s in p.samples:
        locs = s.locations
        found_user = False
        for i in range(len(locs) - 1, -1, -1):
            lid = locs[i].id
            if lid not in prune_loc and lid not in prune_beneath:
                found_user = True
                continue
            if not found_user:
                continue
            if lid in prune_loc:
                s.locations = locs[i + 1:]
                break
            s.locations = locs[i:]
            break
    return p


def remove_uninteresting(p: Profile) -> Profile:
    """Apply ``p.drop_frames``/``p.keep_frames`` (no-op when drop_frames is empty); returns ``p``.

    Raises :class:`ProfileError` when either field is not a valid regular expression.
    """
    if not p.drop_frames:
        return p
    drop = _compile(p.drop_frames, "drop_frames")
    keep = _compile(p.keep_frames, "keep_frames") if p.keep_frames else None
    return prune(p, drop, keep)
