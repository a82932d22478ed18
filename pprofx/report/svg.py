"""The ``svg`` report: the ``dot`` report laid out by Graphviz (``dot -Tsvg``).

Like ``go tool pprof -svg`` this pipes pprof's DOT text through Graphviz and repairs the
ampersands some Graphviz versions leave unescaped. pprof then also wraps the drawing in a
pan/zoom viewport driven by an embedded script (SVGPan); pprofx leaves that wrapper out and
keeps Graphviz's own ``width``/``height``/``viewBox``, so the file shows at its natural size
in any viewer or browser. Needs Graphviz's ``dot`` on ``PATH``.
"""

from __future__ import annotations

import shutil
import subprocess

from ..profile import ProfileError
from .core import Report
from .dot import render_dot

DOT_MISSING = "could not execute dot; may need to install graphviz"


class GraphvizError(ProfileError):
    """Graphviz is missing or failed (a one-line message for the CLI)."""


def dot_to_svg(dot: str, timeout: float = 300.0) -> str:
    """Lay out DOT text with Graphviz; raises :class:`GraphvizError` when it cannot."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(DOT_MISSING)
    try:
        res = subprocess.run([exe, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                             timeout=timeout, check=False)
    except OSError:
        raise GraphvizError(DOT_MISSING) from None
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"dot did not finish within {timeout:g}s") from None
    if res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"dot failed with status {res.returncode}"
                            + (f": {err[0]}" if err else ""))
    return res.stdout.decode("utf-8", "replace").replace("&;", "&amp;;")


def render_svg(rpt: Report) -> str:
    """``-svg``: the dot report rendered to SVG by Graphviz."""
    return dot_to_svg(render_dot(rpt))
