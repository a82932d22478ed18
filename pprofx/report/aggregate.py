"""Granularity (``-functions``, ``-files``, ``-lines``…): pprof's ``Profile.Aggregate``.

Reports are built from graph nodes keyed by (function name, file, line, address); coarser
granularity clears the parts that should not distinguish nodes. Mutates the profile given.
"""

from __future__ import annotations

from ..profile import Profile, ProfileError
from .options import GRANULARITIES


def aggregate(p: Profile, granularity: str, noinlines: bool = False) -> Profile:
    """Clear what ``granularity`` ignores; with ``noinlines`` keep only the outermost line."""
    if granularity not in GRANULARITIES:
        raise ProfileError(f"unexpected granularity {granularity!r}: "
                           f"want one of {', '.join(GRANULARITIES)}")
    inlines = not noinlines
    if granularity == "addresses" and inlines:
        return p
    function = granularity in ("functions", "filefunctions", "lines", "addresses")
    filename = granularity in ("files", "filefunctions", "lines", "addresses")
    linenumber = granularity in ("lines", "addresses")
    address = granularity == "addresses"
    for m in p.mappings:
        m.has_inline_frames = m.has_inline_frames and inlines
        m.has_functions = m.has_functions and function
        m.has_filenames = m.has_filenames and filename
        m.has_line_numbers = m.has_line_numbers and linenumber
    if not function or not filename:
        for f in p.functions:
            if not function:
                f.name = ""
                f.system_name = ""
            if not filename:
                f.filename = ""
    if not inlines or not address or not linenumber:
        for loc in p.locations:
            if not inlines and len(loc.lines) > 1:
                loc.lines = loc.lines[-1:]
            if not linenumber:
                for ln in loc.lines:
                    ln.line = 0
                    ln.column = 0
            if not address:
                loc.address = 0
    return p
