"""The report table: command name -> renderer, and :func:`generate`, the one entry point the
CLI, the web UI and the collector call to turn a profile into a report."""

from __future__ import annotations

from typing import Callable

from ..profile import Profile
from ..profile._gc import gc_paused
from .callgrind import render_callgrind
from .collapsed import render_collapsed
from .core import Report, prepare
from .dot import render_dot
from .listing import render_list
from .options import ReportOptions
from .proto import export_proto
from .speedscope import render_speedscope
from .svg import render_svg
from .text import render_comments, render_tags, render_top, render_traces, render_tree

Renderer = Callable[[Report], str]
Exporter = Callable[[Report], bytes]

#: Text reports, by pprof's command name.
RENDERERS: dict[str, Renderer] = {
    "top": render_top,
    "text": render_top,
    "tree": render_tree,
    "peek": render_tree,
    "traces": render_traces,
    "tags": render_tags,
    "comments": render_comments,
    "dot": render_dot,
    "svg": render_svg,
    "callgrind": render_callgrind,
    "list": render_list,
    "collapsed": render_collapsed,
    "speedscope": render_speedscope,
}

#: Binary exports (written to a file, never to a terminal), by pprof's command name.
EXPORTERS: dict[str, Exporter] = {
    "proto": export_proto,
}


def generate(profile: Profile, command: str, options: ReportOptions | None = None
             ) -> tuple[str, list[str]]:
    """Render ``command`` for ``profile``; returns (report text, pprof's stderr warnings).

    ``profile`` is not modified. Raises ``ProfileError`` for bad options (regex, sample
    index) with a one-line message.
    """
    # Reports build one object per node, edge and copied sample; the cyclic GC would walk
    # that growing, cycle-free structure over and over (see pprofx.profile._gc).
    with gc_paused(len(profile.samples) >= 10_000):
        rpt = prepare(profile, command, options or ReportOptions())
        text = RENDERERS[command](rpt)
    return text, rpt.warnings


def export(profile: Profile, command: str, options: ReportOptions | None = None
           ) -> tuple[bytes, list[str]]:
    """Like :func:`generate` for the binary formats of :data:`EXPORTERS`."""
    rpt = prepare(profile, command, options or ReportOptions())
    data = EXPORTERS[command](rpt)
    return data, rpt.warnings
