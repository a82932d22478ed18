"""Comparing two profiles function by function: what got slower (or bigger), by how much.

``go tool pprof -diff_base`` shows the difference in absolute values; for a regression check
in CI what matters is each function's *share* of its own profile, which does not depend on
how long each profile ran or how much load it saw. :func:`diff_profiles` computes both
profiles' flat and cum shares per node (same sample type, filters and granularity as the
other reports) and orders rows by share growth, biggest regression first.
"""

from __future__ import annotations

import dataclasses

from ..profile import Profile
from . import measurement
from .core import Report, prepare
from .options import ReportOptions


@dataclasses.dataclass
class DiffRow:
    name: str
    base_flat: int
    new_flat: int
    base_cum: int
    new_cum: int
    base_flat_pct: float
    new_flat_pct: float
    base_cum_pct: float
    new_cum_pct: float

    def growth(self, cum: bool) -> float:
        """Share growth in percentage points (flat, or cum with ``cum``)."""
        return (self.new_cum_pct - self.base_cum_pct) if cum else (self.new_flat_pct - self.base_flat_pct)


@dataclasses.dataclass
class ProfileDiff:
    base: Report
    new: Report
    rows: list[DiffRow]
    cum: bool

    def regressions(self, threshold_pct: float) -> list[DiffRow]:
        """Rows whose share grew by more than ``threshold_pct`` percentage points."""
        return [r for r in self.rows if r.growth(self.cum) > threshold_pct]


def _shares(rpt: Report) -> dict[str, tuple[int, int]]:
    g = rpt.graph()
    return {n.name: (n.flat_value(), n.cum_value()) for n in g.nodes}


def _pct(v: int, total: int) -> float:
    return 100.0 * v / total if total else 0.0


def diff_profiles(base: Profile, new: Profile, options: ReportOptions | None = None) -> ProfileDiff:
    """Per-function shares of ``base`` and ``new`` under ``options`` (filters, sample index,
    granularity); rows sorted by growth of the flat share (cum share with ``options.cum``)."""
    o = options or ReportOptions()
    rb, rn = prepare(base, "top", o), prepare(new, "top", o)
    sb, sn = _shares(rb), _shares(rn)
    rows = []
    for name in sb.keys() | sn.keys():
        bf, bc = sb.get(name, (0, 0))
        nf, nc = sn.get(name, (0, 0))
        rows.append(DiffRow(name, bf, nf, bc, nc, _pct(bf, rb.total), _pct(nf, rn.total),
                            _pct(bc, rb.total), _pct(nc, rn.total)))
    rows.sort(key=lambda r: (-r.growth(o.cum), -abs(r.new_cum), r.name))
    return ProfileDiff(rb, rn, rows, o.cum)


def _signed_pp(v: float) -> str:
    return f"{v:+.2f}pp"


def render_diff(d: ProfileDiff, nodecount: int = 0, threshold_pct: float | None = None) -> str:
    """A table of share changes, biggest regression first; ``nodecount`` > 0 limits rows."""
    what = "cum" if d.cum else "flat"
    fb = d.base.format_value
    fn = d.new.format_value
    out = [f"Type: {d.new.sample_type}",
           f"Base total: {fb(d.base.total)}   New total: {fn(d.new.total)}",
           f"Rows sorted by growth of each function's {what} share of its profile "
           f"(percentage points, pp)."]
    if threshold_pct is not None:
        bad = d.regressions(threshold_pct)
        out.append(f"Regressions over {threshold_pct:g}pp: {len(bad)}")
    out.append(f"{'change':>9} {'base%':>7} {'new%':>7} {'base':>10} {'new':>10}  name")
    rows = [r for r in d.rows if (r.base_cum or r.new_cum or r.base_flat or r.new_flat)]
    if nodecount > 0:
        rows = rows[:nodecount]
    pct = measurement.percentage
    for r in rows:
        b, n = (r.base_cum, r.new_cum) if d.cum else (r.base_flat, r.new_flat)
        out.append(f"{_signed_pp(r.growth(d.cum)):>9} {pct(b, d.base.total):>7} {pct(n, d.new.total):>7} "
                   f"{fb(b):>10} {fn(n):>10}  {r.name}")
    return "\n".join(out) + "\n"
