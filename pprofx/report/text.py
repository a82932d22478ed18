"""Text reports with ``go tool pprof``'s exact layout: top (text), tree, peek, traces,
tags and comments. Each takes a prepared :class:`~pprofx.report.core.Report` and returns
the text; see ``generate.RENDERERS`` for the command table."""

from __future__ import annotations

import re

from ..profile import ProfileError
from . import measurement
from .core import Report
from .graph import _go_div, sorted_edges
from .tabwriter import tabwrite


def render_top(rpt: Report) -> str:
    """``-top``/``-text``: one row per node, flat flat% sum% cum cum% name."""
    g, orig, dropped, _ = rpt.trimmed_graph()
    rpt.select_output_unit(g)
    out = list(rpt.report_labels(g, orig, dropped, 0))
    out.append(f"{'flat':>10} {'flat':>5}% {'sum':>5}% {'cum':>10} {'cum':>5}%")
    flat_sum = 0
    fv = rpt.format_value
    pct = measurement.percentage
    for n in g.nodes:
        flat, cum = n.flat_value(), n.cum_value()
        inline = noinline = False
        for e in n.ins.values():
            if e.inline:
                inline = True
            else:
                noinline = True
        inl = (" (partial-inline)" if noinline else " (inline)") if inline else ""
        flat_sum += flat
        out.append(f"{fv(flat):>10} {pct(flat, rpt.total)} {pct(flat_sum, rpt.total)} "
                   f"{fv(cum):>10} {pct(cum, rpt.total)}  {n.name}{inl}")
    return "\n".join(out) + "\n"


TREE_SEPARATOR = "----------------------------------------------------------+-------------"
TREE_LEGEND = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t "


def render_tree(rpt: Report) -> str:
    """``-tree`` and ``-peek REGEX``: each node with its callers above and callees below."""
    g, orig, dropped, _ = rpt.trimmed_graph()
    rpt.select_output_unit(g)
    out = list(rpt.report_labels(g, orig, dropped, 0))
    out.append(TREE_SEPARATOR)
    out.append(TREE_LEGEND)
    rx = None
    if rpt.options.symbol:
        try:
            rx = re.compile(rpt.options.symbol)
        except re.error as e:
            raise ProfileError(f"parsing argument regexp {rpt.options.symbol}: {e}") from None
    fv = rpt.format_value
    pct = measurement.percentage
    flat_sum = 0
    matched = 0
    for n in g.nodes:
        flat, cum = n.flat_value(), n.cum_value()
        if rx is not None and not rx.search(n.name):
            continue
        matched += 1
        out.append(TREE_SEPARATOR)
        for e in sorted_edges(n.ins):
            w = e.weight_value()
            out.append(f"{fv(w):>50} {pct(w, cum)} |   {e.src.name}{' (inline)' if e.inline else ''}")
        flat_sum += flat
        out.append(f"{fv(flat):>10} {pct(flat, rpt.total)} {pct(flat_sum, rpt.total)} "
                   f"{fv(cum):>10} {pct(cum, rpt.total)}                | {n.name}")
        for e in sorted_edges(n.outs):
            w = e.weight_value()
            out.append(f"{fv(w):>50} {pct(w, cum)} |   {e.dest.name}{' (inline)' if e.inline else ''}")
    if g.nodes:
        out.append(TREE_SEPARATOR)
    if rx is not None and matched == 0:
        raise ProfileError(f"no matches found for regexp: {rpt.options.symbol}")
    return "\n".join(out) + "\n"


TRACES_SEPARATOR = "-----------+-------------------------------------------------------"


def render_traces(rpt: Report) -> str:
    """``-traces``: every sample with its labels, value and stack (leaf first)."""
    from .graph import location_nodes

    out = list(rpt.profile_labels())
    p = rpt.profile
    by_loc, _ = location_nodes(p, False)
    mean = rpt.options.mean
    for s in p.samples:
        stack = []
        for loc in s.locations:
            nodes = by_loc[id(loc)]
            last = len(nodes) - 1
            for i, n in enumerate(nodes):
                stack.append((n.name, i != last))
        if not stack:
            continue
        out.append(TRACES_SEPARATOR)
        labels = sorted(f"{k:>10}:  {' '.join(vs)}" for k, vs in s.string_labels().items())
        out.extend(labels)
        nums = []
        for k, vals in s.numeric_labels().items():
            unit = rpt.num_label_units.get(k, "")
            nums.append(f"{k:>10}:  {' '.join(measurement.label(v, unit) for v, _ in vals)}")
        out.extend(sorted(nums))
        v = rpt.value(s.values)
        if mean and s.values[0] != 0:
            v = _go_div(v, s.values[0])
        for i, (name, inline) in enumerate(stack):
            vs = rpt.format_value(v) if i == 0 else ""
            out.append(f"{vs:>10}   {name}{' (inline)' if inline else ''}")
    out.append(TRACES_SEPARATOR)
    return "\n".join(out) + "\n"


def render_tags(rpt: Report) -> str:
    """``-tags``: per label key, the total and each value's share (Go 1.19's layout)."""
    tag_map: dict[str, dict[str, int]] = {}
    unit = rpt.output_unit
    for s in rpt.profile.samples:
        v = rpt.value(s.values)
        for k, vals in s.string_labels().items():
            m = tag_map.setdefault(k, {})
            for val in vals:
                m[val] = m.get(val, 0) + v
        for k, nvals in s.numeric_labels().items():
            m = tag_map.setdefault(k, {})
            nunit = rpt.num_label_units.get(k, "")
            for nv, _ in nvals:
                val = measurement.scaled_label(nv, nunit, unit)
                m[val] = m.get(val, 0) + v
    lines = []
    for key in sorted(tag_map):
        values = tag_map[key]
        total = sum(values.values())
        f, u = measurement.scale(total, rpt.sample_unit, unit)
        lines.append(f"{key}:\t Total {f:.1f}{u}")
        for name, c in sorted(values.items(), key=lambda kv: (-abs(kv[1]), kv[0])):
            f, u = measurement.scale(c, rpt.sample_unit, unit)
            if total > 0:
                lines.append(f" \t{f:.1f}{u} ({measurement.percentage(c, total)}):\t {name}")
            else:
                lines.append(f" \t{f:.1f}{u}:\t {name}")
        lines.append("")
    if not lines:
        return ""
    return tabwrite("\n".join(lines) + "\n", align_right=True)


def render_comments(rpt: Report) -> str:
    """``-comments``: the profile's comments, one per line."""
    return "".join(c + "\n" for c in rpt.profile.comments)
