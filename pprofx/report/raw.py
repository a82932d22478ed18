"""The ``raw`` report: the profile dumped as ``go tool pprof -raw`` prints it.

pprof compacts the loaded profile before printing (duplicate samples summed, unreferenced
tables dropped, ids renumbered) and leaves out samples without a stack; we do the same so
that both tools print the same samples for the same file.
"""

from __future__ import annotations

from ..profile import Profile, compact, format_raw


def raw_profile(p: Profile) -> Profile:
    """The profile as the raw report shows it (a new profile; ``p`` is not modified)."""
    out = compact(p)
    if any(not s.locations for s in out.samples):
        out.samples = [s for s in out.samples if s.locations]
        out = compact(out)
    return out


def render_raw(p: Profile) -> str:
    """Text of the raw report for ``p``."""
    return format_raw(raw_profile(p))
