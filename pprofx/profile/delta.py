"""The difference of two snapshots of a cumulative profile: ``p1 - p0``.

This is what net/http/pprof serves for ``/debug/pprof/<name>?seconds=N`` and what ``pprof
-base`` computes: the first snapshot negated, merged with the second, identical stacks
cancelling. Every column is subtracted — including heap ``inuse_*``, which then become
differences, exactly as Go does.
"""

from __future__ import annotations

from .merge import merge
from .model import Profile, Sample


def negated_copy(p: Profile) -> Profile:
    """A shallow copy of ``p`` whose samples have negated values; ``p`` is not modified."""
    q = Profile(
        sample_types=p.sample_types, mappings=p.mappings, locations=p.locations,
        functions=p.functions, drop_frames=p.drop_frames, keep_frames=p.keep_frames,
        time_nanos=p.time_nanos, duration_nanos=p.duration_nanos, period_type=p.period_type,
        period=p.period, comments=p.comments, default_sample_type=p.default_sample_type,
        doc_url=p.doc_url,
    )
    q.samples = [Sample(s.locations, [-v for v in s.values], s.labels) for s in p.samples]
    return q


def delta(p0: Profile, p1: Profile) -> Profile:
    """Return a new profile ``p1 - p0``; neither input is modified.

    Time is ``p1``'s; the duration is ``p1.time_nanos - p0.time_nanos`` when both times are
    known, else ``p1``'s duration. Raises ProfileError for incompatible profiles.
    """
    out = merge([negated_copy(p0), p1])
    out.time_nanos = p1.time_nanos
    if p0.time_nanos and p1.time_nanos:
        out.duration_nanos = p1.time_nanos - p0.time_nanos
    else:
        out.duration_nanos = p1.duration_nanos
    return out
