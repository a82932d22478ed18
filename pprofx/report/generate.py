"""The report table: command name -> renderer, and :func:`generate`, the one entry point the
CLI, the web UI and the collector call to turn a profile into a report."""

from __future__ import annotations

from typing import Callable

from ..profile import Profile
from .core import Report, prepare
from .options import ReportOptions
from .text import render_comments, render_tags, render_top, render_traces, render_tree

Renderer = Callable[[Report], str]

#: Text reports, by pprof's command name.
RENDERERS: dict[str, Renderer] = {
    "top": render_top,
    "text": render_top,
    "tree": render_tree,
    "peek": render_tree,
    "traces": render_traces,
    "tags": render_tags,
    "comments": render_comments,
}


def generate(profile: Profile, command: str, options: ReportOptions | None = None
             ) -> tuple[str, list[str]]:
    """Render ``command`` for ``profile``; returns (report text, pprof's stderr warnings).

    ``profile`` is not modified. Raises ``ProfileError`` for bad options (regex, sample
    index) with a one-line message.
    """
    rpt = prepare(profile, command, options or ReportOptions())
    text = RENDERERS[command](rpt)
    return text, rpt.warnings
