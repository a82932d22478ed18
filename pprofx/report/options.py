"""Report options: every knob of ``go tool pprof``'s reports, with pprof's defaults, in one place.

The CLI (and later the web UI and collector) fill a :class:`ReportOptions`; the engine
(``pprofx.report.generate``) reads only this dataclass. Names follow pprof's option names
(``nodecount``, ``tagfocus``…) so that documentation and muscle memory carry over.
"""

from __future__ import annotations

import dataclasses

GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")

#: pprof's legacy sample-selection flags: flag -> (sample_index, mean).
LEGACY_SAMPLE_FLAGS = {
    "inuse_space": ("inuse_space", False),
    "inuse_objects": ("inuse_objects", False),
    "alloc_space": ("alloc_space", False),
    "alloc_objects": ("alloc_objects", False),
    "total_delay": ("delay", False),
    "contentions": ("contentions", False),
    "mean_delay": ("delay", True),
}


@dataclasses.dataclass
class ReportOptions:
    """What to show and how; defaults are pprof's command-line defaults."""

    sample_index: str = ""  #: index or name; "" = default_sample_type, else the last type
    mean: bool = False  #: divide by the first column (count) — "mean_" types
    divide_by: float = 1.0
    cum: bool = False  #: sort by cum instead of flat
    granularity: str = "functions"
    noinlines: bool = False
    nodecount: int = -1  #: -1 = format-dependent (0 for top/text, 80 for graphs)
    nodefraction: float = 0.005
    edgefraction: float = 0.001
    trim: bool = True
    focus: str = ""
    ignore: str = ""
    hide: str = ""
    show: str = ""
    show_from: str = ""
    prune_from: str = ""
    tagfocus: str = ""
    tagignore: str = ""
    tagshow: str = ""
    taghide: str = ""
    tagroot: str = ""
    tagleaf: str = ""
    unit: str = "minimum"
    relative_percentages: bool = False
    drop_negative: bool = False
    compact_labels: bool = False
    call_tree: bool = False
    trim_path: str = ""
    source_path: str = ""
    symbol: str = ""  #: the REGEX argument of peek/list

    def for_command(self, command: str) -> ReportOptions:
        """A copy adjusted as pprof's ``applyCommandOverrides`` does for ``command``."""
        o = dataclasses.replace(self)
        trim = o.trim
        if command == "peek":
            trim = False
        elif command == "list":
            trim = False
            o.granularity = "lines"
        elif command in ("text", "top"):
            if o.nodecount == -1:
                o.nodecount = 0
        elif o.nodecount == -1:
            o.nodecount = 80
        if command in ("proto", "raw", "callgrind"):
            trim = False
            o.granularity = "addresses"
            o.noinlines = False
        if not trim:
            o.nodecount = 0
            o.nodefraction = 0.0
            o.edgefraction = 0.0
        return o

    def active_filters(self) -> list[str]:
        """``name=value`` for each filter in use, in pprof's order (the "Active filters" legend)."""
        out = []
        for name in ("focus", "ignore", "hide", "show", "show_from", "tagfocus", "tagignore",
                     "tagshow", "taghide"):
            v = getattr(self, name)
            if v:
                out.append(f"{name}={v}")
        return out
