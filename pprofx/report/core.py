"""A report in the making: the filtered profile, the chosen sample column, its total and
units, and the trimmed graph — pprof's ``report.Report`` and the driver steps before it.

:func:`prepare` runs ``go tool pprof``'s pipeline on a copy of the profile: command
overrides, sample selection (``-sample_index``, ``-mean``), the total (computed before the
filters unless ``-relative_percentages``), the filters, then granularity. Renderers
(``pprofx.report.text`` and friends) only read the resulting :class:`Report`.
"""

from __future__ import annotations

import dataclasses
import posixpath
import time

from ..profile import Profile, ProfileError, copy_profile, remove_label
from . import measurement
from .aggregate import aggregate
from .filters import apply_focus, num_label_units
from .graph import Graph, GraphOptions, build
from .options import ReportOptions

BASE_LABEL = "pprof::base"


def sample_index(p: Profile, name: str) -> int:
    """pprof's ``SampleIndexByName``: "" → default type or the last; an index; or a name
    (``inuse_`` prefix optional)."""
    if not p.sample_types:
        raise ProfileError("profile has no samples")
    if not name:
        return p.default_sample_index()
    try:
        i = int(name)
    except ValueError:
        pass
    else:
        if i < 0 or i >= len(p.sample_types):
            raise ProfileError(f"sample_index {name} is outside the range "
                               f"[0..{len(p.sample_types) - 1}]")
        return i
    bare = name[len("inuse_"):] if name.startswith("inuse_") else name
    for i, t in enumerate(p.sample_types):
        if t.type in (name, bare):
            return i
    types = " ".join(t.type for t in p.sample_types)
    raise ProfileError(f'sample_index "{name}" must be one of: [{types}]')


def trim_path(path: str, trim: str, search: str) -> str:
    """pprof's ``trimPath``: strip configured prefixes and ``/proc/self/cwd/``."""
    if not trim:
        for d in [x for x in search.split(":") if x]:
            want = "/" + posixpath.basename(d) + "/"
            i = path.find(want)
            if i != -1:
                return path[i + len(want):]
    for prefix in [x for x in trim.split(":") if x] + ["/proc/self/cwd/./", "/proc/self/cwd/"]:
        if not prefix.endswith("/"):
            prefix += "/"
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def format_go_time(ns: int) -> str:
    """``time.Unix(0, ns).Format("Jan 2, 2006 at 3:04pm (MST)")`` in local time."""
    t = time.localtime(ns / 1e9)
    hour = t.tm_hour % 12 or 12
    ampm = "am" if t.tm_hour < 12 else "pm"
    return (f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year} at {hour}:{t.tm_min:02d}{ampm} "
            f"({time.strftime('%Z', t)})")


@dataclasses.dataclass
class Report:
    """Everything a renderer needs; ``profile`` is a filtered, aggregated private copy."""

    profile: Profile
    command: str
    options: ReportOptions
    index: int
    sample_type: str
    sample_unit: str
    total: int
    num_label_units: dict
    warnings: list
    output_unit: str = "minimum"
    _graph_ready: bool = False

    # -- values ---------------------------------------------------------------------------
    def value(self, values) -> int:
        return values[self.index]

    def mean_div(self):
        return (lambda v: v[0]) if self.options.mean else None

    def format_value(self, v: int) -> str:
        r = 1 / self.options.divide_by
        if r > 0 and r != 1:
            v = int(v * r)
        return measurement.scaled_label(v, self.sample_unit, self.output_unit)

    # -- graph ----------------------------------------------------------------------------
    def graph(self, kept=None, obj_names: bool = False, tags: bool = False) -> Graph:
        """Build the graph (pprof's ``newGraph``, which first trims file paths and drops the
        ``pprof::base`` label — so only graph-based reports lose them). ``tags`` also builds
        the node tags that the dot report shows as nodelets."""
        if not self._graph_ready:
            o = self.options
            for f in self.profile.functions:
                f.filename = trim_path(f.filename, o.trim_path, o.source_path)
            remove_label(self.profile, BASE_LABEL)
            self._graph_ready = True
        idx = self.index
        unit = self.options.unit
        return build(self.profile, GraphOptions(
            value=lambda v: v[idx], mean_div=self.mean_div(), obj_names=obj_names,
            drop_negative=self.options.drop_negative, kept=kept,
            format_tag=(lambda v, u: measurement.scaled_label(v, u, unit)) if tags else None,
            bytes_unit=self.num_label_units.get("bytes", "")))

    def trimmed_graph(self, visual: bool = False, obj_names: bool = False
                      ) -> tuple[Graph, int, int, int]:
        """pprof's ``newTrimmedGraph``: (graph, nodes before nodecount, dropped nodes, dropped edges)."""
        o = self.options
        g = self.graph(obj_names=obj_names, tags=visual)
        total = g.flat_sum()
        node_cutoff = abs(int(total * o.nodefraction))
        edge_cutoff = abs(int(total * o.edgefraction))
        dropped_nodes = 0
        if node_cutoff > 0:
            kept = g.discard_low_frequency(node_cutoff)
            if len(kept) != len(g.nodes):  # rebuilding otherwise would drop zero-weight nodes
                dropped_nodes = len(g.nodes) - len(kept)
                g = self.graph(kept, obj_names, visual)
        orig_count = len(g.nodes)
        g.sort(o.cum, visual)
        if o.nodecount > 0:
            g.trim_low_frequency_tags(node_cutoff)
            g.trim_low_frequency_edges(edge_cutoff)
            kept = g.select_top(o.nodecount, visual)
            if len(kept) != len(g.nodes):
                g = self.graph(kept, obj_names, visual)
                g.sort(o.cum, visual)
        g.trim_low_frequency_tags(node_cutoff)
        dropped_edges = g.trim_low_frequency_edges(edge_cutoff)
        if visual:
            g.remove_redundant_edges()
        return g, orig_count, dropped_nodes, dropped_edges

    def select_output_unit(self, g: Graph) -> None:
        """pprof's ``selectOutputUnit`` for ``-unit=minimum``: one unit for the whole report."""
        if self.output_unit != "minimum" or not g.nodes:
            return
        lo = 0
        for n in g.nodes:
            nmin = abs(n.flat_value()) or abs(n.cum_value())
            if nmin > 0 and (lo == 0 or nmin < lo):
                lo = nmin
        hi = self.total
        if lo == 0:
            lo = hi
        r = 1 / self.options.divide_by
        if r > 0 and r != 1:
            lo, hi = int(lo * r), int(hi * r)
        _, lo_unit = measurement.scale(lo, self.sample_unit, "minimum")
        _, hi_unit = measurement.scale(hi, self.sample_unit, "minimum")
        unit = lo_unit
        if lo_unit != hi_unit and lo * 100 < hi and self.command != "callgrind":
            _, unit = measurement.scale(100 * lo, self.sample_unit, "minimum")
        self.output_unit = unit or self.sample_unit

    # -- headers --------------------------------------------------------------------------
    def profile_labels(self) -> list[str]:
        """The header lines: File, Build ID, comments, Type, Time, Duration."""
        p = self.profile
        out = []
        if p.mappings:
            if p.mappings[0].filename:
                out.append("File: " + posixpath.basename(p.mappings[0].filename))
            if p.mappings[0].build_id:
                out.append("Build ID: " + p.mappings[0].build_id)
        out.extend(c for c in p.comments if not c.startswith("#"))
        if self.sample_type:
            out.append("Type: " + self.sample_type)
        if p.time_nanos:
            out.append("Time: " + format_go_time(p.time_nanos))
        if p.duration_nanos:
            duration = measurement.label(p.duration_nanos, "nanoseconds")
            total_ns, unit = measurement.scale(self.total, self.sample_unit, "nanoseconds")
            ratio = ""
            if unit == "ns" and total_ns != 0:
                ratio = "(" + measurement.percentage(int(total_ns), p.duration_nanos) + ")"
            out.append(f"Duration: {duration}, Total samples = {self.format_value(self.total)} {ratio}")
        return out

    def report_labels(self, g: Graph, orig_count: int, dropped_nodes: int, dropped_edges: int,
                      full: bool = False) -> list[str]:
        """Headers plus the "Showing nodes accounting for…" summary (pprof's ``reportLabels``)."""
        o = self.options
        out = self.profile_labels() if (full or not o.compact_labels) else []
        filters = o.active_filters()
        if filters:
            out.append("Active filters:")
            out.extend("   " + (f[:80] + "…" if len(f) > 80 else f) for f in filters)
        flat_sum = sum(n.flat_value() for n in g.nodes)
        out.append(f"Showing nodes accounting for {self.format_value(flat_sum)}, "
                   f"{measurement.percentage(flat_sum, self.total).strip()} of "
                   f"{self.format_value(self.total)} total")
        if self.total != 0:
            if dropped_nodes > 0:
                out.append(_dropped(dropped_nodes, "node", "cum",
                                    self.format_value(abs(int(self.total * o.nodefraction)))))
            if dropped_edges > 0:
                out.append(_dropped(dropped_edges, "edge", "freq",
                                    self.format_value(abs(int(self.total * o.edgefraction)))))
            if 0 < len(g.nodes) < orig_count:
                out.append(f"Showing top {len(g.nodes)} nodes out of {orig_count}")
        if full:
            out.append("\nSee https://git.io/JfYMW for how to read the graph")
        return out


def _dropped(d: int, noun: str, what: str, value: str) -> str:
    return f"Dropped {d} {noun}{'s' if d > 1 else ''} ({what} <= {value})"


def _total(p: Profile, index: int, mean: bool) -> int:
    total = div = diff_total = diff_div = 0
    for s in p.samples:
        v = abs(s.values[index])
        d = s.values[0] if mean else 0  # pprof does not take |d|
        total += v
        div += d
        if any(lab.key == BASE_LABEL and lab.str == "true" for lab in s.labels):
            diff_total += v
            diff_div += d
    if diff_total > 0:
        total, div = diff_total, diff_div
    if div != 0:
        return total // div
    return total


def prepare(profile: Profile, command: str, options: ReportOptions) -> Report:
    """Run pprof's driver steps for ``command`` on a copy of ``profile``; ``profile`` is untouched."""
    o = options.for_command(command)
    if o.divide_by == 0:
        raise ProfileError("zero divisor specified")
    p = copy_profile(profile)
    units = num_label_units(p)
    warnings: list[str] = []
    if o.relative_percentages:
        warnings += apply_focus(p, o, units)
    index = sample_index(p, o.sample_index)
    st = p.sample_types[index]
    rpt = Report(profile=p, command=command, options=o, index=index,
                 sample_type=("mean_" if o.mean else "") + st.type, sample_unit=st.unit,
                 total=_total(p, index, o.mean), num_label_units=units, warnings=warnings,
                 output_unit=o.unit)
    if not o.relative_percentages:
        warnings += apply_focus(p, o, units)
    aggregate(p, o.granularity, o.noinlines)
    return rpt
