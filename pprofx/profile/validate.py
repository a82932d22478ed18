"""Structural validity of a :class:`Profile`, with pprof's ``CheckValid`` rules.

A profile that fails here would be rejected by ``go tool pprof``; the encoder refuses to
write one, and :func:`~pprofx.profile.decode.decode` never returns one.
"""

from __future__ import annotations

from .errors import ProfileError
from .model import Profile


def check_valid(p: Profile) -> None:
    """Raise :class:`ProfileError` unless ``p`` satisfies pprof's validity rules.

    Rules: samples need sample types; every sample has one value per sample type; mapping,
    function and location ids are nonzero and unique; every location's mapping, every line's
    function and every sample's location is the object registered in the profile's tables.
    """
    nvals = len(p.sample_types)
    if nvals == 0 and p.samples:
        raise ProfileError("missing sample type information")
    mappings: dict[int, object] = {}
    for m in p.mappings:
        if m.id == 0:
            raise ProfileError("found mapping with reserved ID=0")
        if m.id in mappings:
            raise ProfileError(f"multiple mappings with same id: {m.id}")
        mappings[m.id] = m
    functions: dict[int, object] = {}
    for f in p.functions:
        if f.id == 0:
            raise ProfileError("found function with reserved ID=0")
        if f.id in functions:
            raise ProfileError(f"multiple functions with same id: {f.id}")
        functions[f.id] = f
    locations: dict[int, object] = {}
    for loc in p.locations:
        if loc.id == 0:
            raise ProfileError("found location with reserved id=0")
        if loc.id in locations:
            raise ProfileError(f"multiple locations with same id: {loc.id}")
        locations[loc.id] = loc
        m = loc.mapping
        if m is not None and mappings.get(m.id) is not m:
            raise ProfileError(f"location {loc.id} has a mapping (id {m.id}) not in the profile")
        for ln in loc.lines:
            f = ln.function
            if f is None:
                raise ProfileError(f"location id: {loc.id} has a line with nil function")
            if functions.get(f.id) is not f:
                raise ProfileError(f"location {loc.id} has a function (id {f.id}) not in the profile")
    get = locations.get
    for i, s in enumerate(p.samples):
        if len(s.values) != nvals:
            raise ProfileError(
                f"malformed profile: mismatch: sample {i} has {len(s.values)} values "
                f"vs. {nvals} types"
            )
        for loc in s.locations:
            if get(loc.id) is not loc:
                raise ProfileError(f"sample {i} has a location (id {loc.id}) not in the profile")
