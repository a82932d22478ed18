"""Merging profiles with pprof's rules, and compaction (merging a profile with itself).

Rules (google/pprof ``profile.Merge``): inputs must have identical period types and sample
type lists; mappings, functions and locations are deduplicated by content; samples with the
same locations and label set are summed; all-zero samples are dropped, and anything no
remaining sample references is left out. Headers: earliest nonzero time, summed duration,
largest period, deduplicated comments, first non-empty default_sample_type and doc_url,
drop/keep frames of the first input. Merge is associative and never mutates its inputs.
"""

from __future__ import annotations

from typing import Sequence

from ._gc import gc_paused
from .errors import ProfileError
from .model import Function, Line, Location, Mapping, Profile, Sample, ValueType

_MAPSIZE_ROUNDING = 0x1000
#: Merges of at least this many samples run with the cyclic GC paused (see ``_gc``).
_GC_PAUSE_SAMPLES = 10_000


def _vt(v: ValueType | None) -> tuple[str, str]:
    return (v.type, v.unit) if v is not None else ("", "")


def _fmt_types(types: list[ValueType]) -> str:
    return "[" + " ".join(f"{t.type}/{t.unit}" for t in types) + "]"


def check_compatible(a: Profile, b: Profile) -> None:
    """Raise :class:`ProfileError` unless ``a`` and ``b`` may be merged (pprof's rule)."""
    if _vt(a.period_type) != _vt(b.period_type):
        pa, pb = _vt(a.period_type), _vt(b.period_type)
        raise ProfileError(
            f"incompatible period types {pa[0]}/{pa[1]} and {pb[0]}/{pb[1]}"
        )
    if [_vt(t) for t in a.sample_types] != [_vt(t) for t in b.sample_types]:
        raise ProfileError(
            f"incompatible sample types {_fmt_types(a.sample_types)} and "
            f"{_fmt_types(b.sample_types)}"
        )


def _mapping_key(m: Mapping) -> tuple:
    size = m.memory_limit - m.memory_start
    size = size + _MAPSIZE_ROUNDING - 1
    size -= size % _MAPSIZE_ROUNDING
    return (size, m.file_offset, m.build_id or m.filename)


class _Merger:
    """Accumulates deduplicated tables and summed samples into ``self.p``."""

    def __init__(self, p: Profile) -> None:
        self.p = p
        self.mappings: dict[tuple, Mapping] = {}
        self.functions: dict[tuple, Function] = {}
        self.locations: dict[tuple, Location] = {}
        self.samples: dict[tuple, Sample] = {}

    def add(self, src: Profile) -> None:
        # Per-source memo tables keyed by the source object's id().
        mapping_memo: dict[int, tuple[Mapping | None, int]] = {}
        location_memo: dict[int, Location] = {}
        function_memo: dict[int, Function] = {}
        if not self.mappings and src.mappings:
            # Keep the main binary (mapping[0]) first, as pprof does.
            self._mapping(src.mappings[0], mapping_memo)
        samples = self.samples
        nvals = len(self.p.sample_types)
        for s in src.samples:
            values = s.values
            if not any(values):
                continue
            locs = []
            for loc in s.locations:
                new = location_memo.get(id(loc))
                if new is None:
                    new = self._location(loc, mapping_memo, function_memo)
                    location_memo[id(loc)] = new
                locs.append(new)
            key = (tuple([loc.id for loc in locs]), s.label_key())
            got = samples.get(key)
            if got is None:
                samples[key] = Sample(locs, list(values), list(s.labels))
            else:
                acc = got.values
                for i in range(nvals):
                    acc[i] += values[i]

    def _mapping(self, m: Mapping | None, memo: dict) -> tuple[Mapping | None, int]:
        if m is None:
            return (None, 0)
        got = memo.get(id(m))
        if got is not None:
            return got
        key = _mapping_key(m)
        dst = self.mappings.get(key)
        if dst is None:
            dst = Mapping(len(self.p.mappings) + 1, m.memory_start, m.memory_limit, m.file_offset,
                          m.filename, m.build_id, m.has_functions, m.has_filenames,
                          m.has_line_numbers, m.has_inline_frames)
            self.mappings[key] = dst
            self.p.mappings.append(dst)
        else:
            # The has_* flags only stay set when every merged mapping had them.
            dst.has_functions = dst.has_functions and m.has_functions
            dst.has_filenames = dst.has_filenames and m.has_filenames
            dst.has_line_numbers = dst.has_line_numbers and m.has_line_numbers
            dst.has_inline_frames = dst.has_inline_frames and m.has_inline_frames
        got = (dst, dst.memory_start - m.memory_start)
        memo[id(m)] = got
        return got

    def _function(self, f: Function, memo: dict) -> Function:
        got = memo.get(id(f))
        if got is not None:
            return got
        key = f.key()
        dst = self.functions.get(key)
        if dst is None:
            dst = Function(len(self.p.functions) + 1, f.name, f.system_name, f.filename,
                           f.start_line)
            self.functions[key] = dst
            self.p.functions.append(dst)
        memo[id(f)] = dst
        return dst

    def _location(self, loc: Location, mapping_memo: dict, function_memo: dict) -> Location:
        m, offset = self._mapping(loc.mapping, mapping_memo)
        address = (loc.address + offset) & ((1 << 64) - 1)
        lines = [Line(self._function(ln.function, function_memo), ln.line, ln.column)
                 for ln in loc.lines]
        key = (
            address - m.memory_start if m is not None else address,
            m.id if m is not None else 0,
            tuple((ln.function.id, ln.line, ln.column) for ln in lines),
            loc.is_folded,
        )
        dst = self.locations.get(key)
        if dst is None:
            dst = Location(len(self.p.locations) + 1, m, address, lines, loc.is_folded)
            self.locations[key] = dst
            self.p.locations.append(dst)
        return dst


def _headers(srcs: Sequence[Profile]) -> Profile:
    first = srcs[0]
    for other in srcs[1:]:
        check_compatible(first, other)
    p = Profile(
        sample_types=[ValueType(t.type, t.unit) for t in first.sample_types],
        period_type=(ValueType(first.period_type.type, first.period_type.unit)
                     if first.period_type is not None else None),
        drop_frames=first.drop_frames,
        keep_frames=first.keep_frames,
    )
    seen: set[str] = set()
    for s in srcs:
        if s.time_nanos and (p.time_nanos == 0 or s.time_nanos < p.time_nanos):
            p.time_nanos = s.time_nanos
        p.duration_nanos += s.duration_nanos
        p.period = max(p.period, s.period)
        for c in s.comments:
            if c not in seen:
                seen.add(c)
                p.comments.append(c)
        if not p.default_sample_type:
            p.default_sample_type = s.default_sample_type
        if not p.doc_url:
            p.doc_url = s.doc_url
    return p


def merge(profiles: Sequence[Profile]) -> Profile:
    """Merge ``profiles`` into a new profile (see the module docstring for the rules).

    Raises :class:`ProfileError` for an empty list or incompatible inputs.
    """
    if not profiles:
        raise ProfileError("no profiles to merge")
    out = _headers(profiles)
    merger = _Merger(out)
    with gc_paused(sum(len(p.samples) for p in profiles) >= _GC_PAUSE_SAMPLES):
        for src in profiles:
            merger.add(src)
    out.samples = list(merger.samples.values())
    if not all(any(s.values) for s in out.samples):
        # Sums cancelled to zero (e.g. a delta): merge again to drop them and what they used.
        return merge([out])
    return out


def compact(p: Profile) -> Profile:
    """A new profile equal to ``p`` with duplicate samples summed, zero samples dropped and
    unreferenced mappings, locations and functions removed; ids renumbered from 1."""
    return merge([p])
