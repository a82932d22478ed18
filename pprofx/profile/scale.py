"""Scaling sample values in place: ``scale``, ``scale_n`` and ``negate`` (pprof's ``ScaleN``).

Values are multiplied as floats and rounded half away from zero, as Go's ``math.Round``
does; samples whose values all become zero are removed. These functions mutate the profile
they are given and return it, so they compose with :func:`~pprofx.profile.merge.merge`.
"""

from __future__ import annotations

import math
from typing import Sequence

from .errors import ProfileError
from .model import Profile


def _round(x: float) -> int:
    """Round half away from zero (Go's ``math.Round``), then truncate to int."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def scale_n(p: Profile, ratios: Sequence[float]) -> Profile:
    """Multiply column ``i`` of every sample by ``ratios[i]``; drop samples that become all zero.

    Mutates and returns ``p``. Raises :class:`ProfileError` when the number of ratios differs
    from the number of sample types.
    """
    if len(ratios) != len(p.sample_types):
        raise ProfileError(
            f"mismatched scale ratios: got {len(ratios)}, want {len(p.sample_types)}"
        )
    if all(r == 1 for r in ratios):
        return p
    kept = []
    for s in p.samples:
        vals = s.values
        keep = False
        for i, r in enumerate(ratios):
            if r != 1:
                vals[i] = _round(vals[i] * r)
            if vals[i]:
                keep = True
        if keep:
            kept.append(s)
    p.samples = kept
    return p


def scale(p: Profile, ratio: float) -> Profile:
    """Multiply every value of every sample by ``ratio`` (mutates and returns ``p``)."""
    return scale_n(p, [ratio] * len(p.sample_types))


def negate(p: Profile) -> Profile:
    """Negate every value (``scale(p, -1)``); mutates and returns ``p``."""
    return scale(p, -1)
