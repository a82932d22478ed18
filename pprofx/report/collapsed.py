"""The ``collapsed`` report: folded stacks, the input format of Brendan Gregg's
``flamegraph.pl`` (and of speedscope, inferno, and most flame graph tools).

One line per distinct stack of the filtered, aggregated profile: the frames from the root
to the leaf joined by ``;``, a space, and the stack's total value in the selected sample
type (``-sample_index``, ``-mean``, ``-divide_by`` honoured), as an integer in the sample
type's own unit. Frames are the report's nodes at its granularity (function names by
default; ``-lines`` adds ``file:line``), inlined calls included. Stacks summing to zero are
left out; lines are sorted by stack. A ``;`` inside a frame name would split the frame, so
it is written as ``:``; newlines become spaces.
"""

from __future__ import annotations

from typing import Iterator

from ..profile import Sample
from .core import Report
from .graph import Node, _go_div, location_nodes


def sample_stacks(rpt: Report) -> Iterator[tuple[tuple[Node, ...], Sample]]:
    """Each sample of the report's profile with its nodes, root first (inlined frames
    expanded); samples left without frames (e.g. by ``-hide``) are skipped."""
    by_loc, _ = location_nodes(rpt.profile, False)
    for s in rpt.profile.samples:
        stack = []
        for loc in reversed(s.locations):
            for n in reversed(by_loc[id(loc)]):
                if n is not None:
                    stack.append(n)
        if stack:
            yield tuple(stack), s


def sample_value(rpt: Report, s: Sample, index: int | None = None) -> int:
    """The sample's value in column ``index`` (default: the report's), ``-mean`` applied to
    the report's own column."""
    i = rpt.index if index is None else index
    v = s.values[i]
    if i == rpt.index and rpt.options.mean and s.values[0] != 0:
        v = _go_div(v, s.values[0])
    return v


def scale_value(rpt: Report, v: int) -> int:
    """``-divide_by`` applied as pprof applies it to printed values."""
    r = 1 / rpt.options.divide_by
    return int(v * r) if r > 0 and r != 1 else v


def frame_name(n: Node) -> str:
    return n.name.replace(";", ":").replace("\n", " ")


def render_collapsed(rpt: Report) -> str:
    """``collapsed``: ``root;…;leaf value`` per distinct stack."""
    totals: dict[str, int] = {}
    for stack, s in sample_stacks(rpt):
        key = ";".join(frame_name(n) for n in stack)
        totals[key] = totals.get(key, 0) + sample_value(rpt, s)
    lines = []
    for key in sorted(totals):
        v = scale_value(rpt, totals[key])
        if v != 0:
            lines.append(f"{key} {v}\n")
    return "".join(lines)
