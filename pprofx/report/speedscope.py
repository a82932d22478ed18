"""The ``speedscope`` report: a speedscope JSON file (https://www.speedscope.app).

Follows speedscope's file format (``$schema`` https://www.speedscope.app/file-format-schema.json):
frames are shared (one per report node: name, file and line when known), and there is one
``sampled`` profile per sample type of the pprof profile — e.g. ``samples`` and ``cpu``, or
the four heap columns — so speedscope's profile switcher moves between them; the one
selected by ``-sample_index`` is the active profile and carries ``-mean``/``-divide_by``.
Identical stacks are merged and zero-weight stacks left out. Units map to speedscope's
(nanoseconds…seconds, bytes); other units become ``none``. Filters and granularity apply as
for every report.
"""

from __future__ import annotations

import json
import posixpath

from .collapsed import sample_stacks, sample_value, scale_value
from .core import Report
from .graph import Node

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
_UNITS = {"nanoseconds": "nanoseconds", "nanosecond": "nanoseconds", "ns": "nanoseconds",
          "microseconds": "microseconds", "microsecond": "microseconds", "us": "microseconds",
          "milliseconds": "milliseconds", "millisecond": "milliseconds", "ms": "milliseconds",
          "seconds": "seconds", "second": "seconds", "s": "seconds",
          "bytes": "bytes", "byte": "bytes", "b": "bytes"}


def speedscope_unit(unit: str) -> str:
    """speedscope's name for a pprof sample unit ("none" when it has none)."""
    return _UNITS.get(unit.lower(), "none")


def _frame(n: Node) -> dict:
    info = n.info
    if info.name:
        name = (f"{info.address:016x} " if info.address else "") + info.name
    else:
        name = n.name
    frame: dict = {"name": name}
    if info.file:
        frame["file"] = info.file
    if info.lineno:
        frame["line"] = info.lineno
    return frame


def speedscope_document(rpt: Report) -> dict:
    """The speedscope file as a JSON-ready dict."""
    from .. import __version__

    p = rpt.profile
    frames: list[dict] = []
    frame_index: dict[Node, int] = {}
    stacks: dict[tuple[int, ...], list[int]] = {}
    ntypes = len(p.sample_types)
    for nodes, s in sample_stacks(rpt):
        key = []
        for n in nodes:
            i = frame_index.get(n)
            if i is None:
                i = frame_index[n] = len(frames)
                frames.append(_frame(n))
            key.append(i)
        sums = stacks.setdefault(tuple(key), [0] * ntypes)
        for t in range(ntypes):
            sums[t] += sample_value(rpt, s, t)
    profiles = []
    for t, st in enumerate(p.sample_types):
        samples, weights = [], []
        for key, sums in stacks.items():
            v = scale_value(rpt, sums[t]) if t == rpt.index else sums[t]
            if v != 0:
                samples.append(list(key))
                weights.append(v)
        name = rpt.sample_type if t == rpt.index else st.type
        profiles.append({"type": "sampled", "name": name, "unit": speedscope_unit(st.unit),
                         "startValue": 0, "endValue": sum(weights), "samples": samples,
                         "weights": weights})
    title = posixpath.basename(p.mappings[0].filename) if p.mappings and p.mappings[0].filename else ""
    return {"$schema": SCHEMA_URL, "shared": {"frames": frames}, "profiles": profiles,
            "name": title or "pprofx profile", "activeProfileIndex": rpt.index,
            "exporter": f"pprofx {__version__}"}


def render_speedscope(rpt: Report) -> str:
    """``speedscope``: the JSON document, compact, one line."""
    return json.dumps(speedscope_document(rpt), separators=(",", ":"), ensure_ascii=False) + "\n"
