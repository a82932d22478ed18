"""Helpers for profile tests: a complete semantic description and small builders."""

from __future__ import annotations

from pprofx.profile import Profile


def describe(p: Profile) -> tuple:
    """Every field of ``p`` as nested tuples, references shown by id: equal descriptions
    mean semantically equal profiles (string-table layout and field order aside)."""
    vt = lambda v: None if v is None else (v.type, v.unit)  # noqa: E731
    return (
        [vt(t) for t in p.sample_types],
        [([loc.id for loc in s.locations], list(s.values), sorted(s.labels)) for s in p.samples],
        [(m.id, m.memory_start, m.memory_limit, m.file_offset, m.filename, m.build_id,
          m.has_functions, m.has_filenames, m.has_line_numbers, m.has_inline_frames)
         for m in p.mappings],
        [(loc.id, loc.mapping.id if loc.mapping else 0, loc.address,
          [(ln.function.id, ln.line, ln.column) for ln in loc.lines], loc.is_folded)
         for loc in p.locations],
        [(f.id, f.name, f.system_name, f.filename, f.start_line) for f in p.functions],
        p.drop_frames, p.keep_frames, p.time_nanos, p.duration_nanos, vt(p.period_type),
        p.period, list(p.comments), p.default_sample_type, p.doc_url,
    )


def stacks(p: Profile, index: int | None = None) -> dict:
    """Map (stack of function names leaf-first, sorted labels) -> summed values (or one column)."""
    out: dict = {}
    for s in p.samples:
        key = (tuple(ln.function.name for loc in s.locations for ln in loc.lines),
               tuple(sorted(s.labels)))
        vals = s.values if index is None else [s.values[index]]
        acc = out.setdefault(key, [0] * len(vals))
        for i, v in enumerate(vals):
            acc[i] += v
    return out
