"""The ``proto`` export: the profile as ``go tool pprof -proto`` saves it — gzip-compressed
profile.proto after the report's filters, with ``-divide_by`` applied to every value.

As in pprof, the profile is exported at address granularity with inlined frames (nothing is
aggregated away) and untrimmed, so ``go tool pprof`` (or ``pprofx``) can reload it and
report on it like the original; ``-diff_base`` samples keep their ``pprof::base`` label.
"""

from __future__ import annotations

from ..profile import encode
from .core import Report


def export_proto(rpt: Report) -> bytes:
    """Gzip-compressed profile.proto bytes of the report's (filtered) profile."""
    p = rpt.profile
    r = 1 / rpt.options.divide_by
    if r > 0 and r != 1:
        for s in p.samples:
            s.values = [int(v * r) for v in s.values]
    return encode(p)
