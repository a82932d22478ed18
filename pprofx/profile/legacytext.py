"""Pieces of Go's legacy (``debug=1``) profile text shared by the text renderers.

Go prints each record's frames as ``#<TAB>0x<pc><TAB><func>+0x<off><TAB><file>:<line>``
(spec §C.4); Python frames have no pc offsets, so the offset is always ``+0x0``.
"""

from __future__ import annotations

from .model import Sample


def frame_lines(sample: Sample) -> list[str]:
    """The ``#\\t0x…\\tfunc+0x0\\tfile:line`` lines of ``sample``'s stack, leaf first."""
    out = []
    for loc in sample.locations:
        for ln in loc.lines:
            f = ln.function
            out.append(f"#\t{loc.address:#x}\t{f.system_name or f.name}+0x0\t{f.filename}:{ln.line}")
    return out
