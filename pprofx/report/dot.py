"""The ``dot`` report: the call graph in Graphviz DOT, as ``go tool pprof -dot`` writes it.

Same graph as the text reports, built in pprof's visual mode: nodes in entropy order, at most
``nodecount`` (80 by default) counting nodelets, redundant residual edges removed. Each node
shows its name split at package dots, flat and cum with their shares, a font size growing
with flat, and colours from cum; label sets and ``bytes`` values appear as nodelets (box3d
nodes hanging off their node), residual edges are dotted, and a legend box carries the
report headers. The text is pprof's to the byte, so that `svg` and other Graphviz renderings
match too.
"""

from __future__ import annotations

import math
import posixpath
import re

from . import measurement
from .core import Report
from .graph import MAX_NODELETS, Edge, Graph, Node, NodeInfo, Tag, _go_div, sorted_edges

_JAVA_RX = re.compile(r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|$)",
                      re.ASCII)
_GO_RX = re.compile(r"^(?:[\w\-\.]+\/)+(.+)", re.ASCII)
_GO_VER_RX = re.compile(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)$", re.ASCII | re.DOTALL)
_CPP_RX = re.compile(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)", re.ASCII)
_CPP_ANON_RX = re.compile(r"^\(anonymous namespace\)::")


def shorten_function_name(f: str) -> str:
    """pprof's ``ShortenFunctionName``: drop package paths, module versions, namespaces."""
    f = _CPP_ANON_RX.sub("", f)
    f = _GO_VER_RX.sub(r"\1\2", f, count=1)
    for rx in (_GO_RX, _JAVA_RX, _CPP_RX):
        m = rx.search(f)
        if m is not None:
            return "".join(g or "" for g in m.groups())
    return f


def escape(s: str) -> str:
    """Escape for a DOT string: backslashes and quotes; newlines become left-justified breaks."""
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l")


def multiline_name(info: NodeInfo) -> str:
    """The node's label text: name split at ``.`` and ``::``, file reduced to its base name."""
    name = escape(shorten_function_name(info.name)).replace("::", "\\n")
    name = name.replace("[...]", "[…]").replace(".", "\\n")
    file = posixpath.basename(info.file) if info.file else ""
    return "\\n".join(info._replace(name=name, file=file).name_components()) + "\\n"


def _go_uint8(x: float) -> int:
    if math.isnan(x):
        return 0
    return int(x) & 0xFF


def dot_color(score: float, background: bool) -> str:
    """pprof's ``dotColor``: grey near 0, red towards +1, green towards -1."""
    shift = 0.7
    saturation, value = (0.1, 0.93) if background else (1.0, 0.7)
    if not math.isnan(score):
        score = max(-1.0, min(1.0, score))
    if abs(score) < 0.2:
        saturation *= abs(score) / 0.2
    if score > 0.0:
        score = score ** (1.0 - shift)
    if score < 0.0:
        score = -((-score) ** (1.0 - shift))
    if score < 0.0:
        g = value
        r = value * (1 + saturation * score)
    else:
        r = value
        g = value * (1 - saturation * score)
    b = value * (1 - saturation)
    return f"#{_go_uint8(r * 255.0):02x}{_go_uint8(g * 255.0):02x}{_go_uint8(b * 255.0):02x}"


def _ratio(v: int, total: int) -> float:
    """Go's float64(v)/float64(|total|), with its infinities and NaN for a zero total."""
    t = abs(total)
    if t == 0:
        return math.nan if v == 0 else math.copysign(math.inf, v)
    return v / t


def _sort_tags(tags: list[Tag], flat: bool) -> list[Tag]:
    """pprof's ``SortTags``: by |cum| (unless ``flat``), then |flat|, then name."""
    if flat:
        return sorted(tags, key=lambda t: (-abs(t.flat), t.name))
    return sorted(tags, key=lambda t: (-abs(t.cum), -abs(t.flat), t.name))


class _Dot:
    def __init__(self, rpt: Report, g: Graph, labels: list[str]) -> None:
        self.rpt = rpt
        self.g = g
        self.labels = labels
        self.total = rpt.total
        self.fv = rpt.format_value
        self.out: list[str] = []
        p = rpt.profile
        self.title = (posixpath.basename(p.mappings[0].filename)
                      if p.mappings and p.mappings[0].filename else "")

    def render(self) -> str:
        w = self.out.append
        w(f'digraph "{self.title or "unnamed"}" {{\n')
        w('node [style=filled fillcolor="#f8f8f8"]\n')
        self.legend()
        nodes = self.g.nodes
        if nodes:
            ids = {n: i + 1 for i, n in enumerate(nodes)}
            max_flat = float(max(abs(n.flat_value()) for n in nodes))
            has_nodelets = {}
            edges: list[Edge] = []
            for n in nodes:
                self.node(n, ids[n], max_flat)
                has_nodelets[n] = self.nodelets(n, ids[n])
                edges.extend(n.outs.values())
            for e in sorted_edges(dict(enumerate(edges))):
                self.edge(e, ids.get(e.src, 0), ids.get(e.dest, 0), has_nodelets.get(e.src, False))
        w("}\n")
        return "".join(self.out)

    def legend(self) -> None:
        labels = self.labels
        text = "\\l".join(escape(x) for x in labels)
        s = f'subgraph cluster_L {{ "{escape(labels[0])}" [shape=box fontsize=16 label="{text}\\l"'
        if self.title:
            s += f' tooltip="{self.title}"'
        self.out.append(s + "] }\n")

    def node(self, n: Node, nid: int, max_flat: float) -> None:
        flat, cum = n.flat_value(), n.cum_value()
        label = multiline_name(n.info)
        flat_s = self.fv(flat)
        pct = measurement.percentage
        if flat != 0:
            label += f"{flat_s} ({pct(flat, self.total).strip()})"
        else:
            label += "0"
        cum_s = flat_s
        if cum != flat:
            label += "\\n" if flat != 0 else " "
            cum_s = self.fv(cum)
            label += f"of {cum_s} ({pct(cum, self.total).strip()})"
        font = 8
        if max_flat != 0 and flat != 0 and abs(flat) <= max_flat:
            font += int(math.ceil(16.0 * math.sqrt(abs(flat) / max_flat)))
        score = _ratio(n.cum_value(), self.total)
        self.out.append(
            f'N{nid} [label="{label}" id="node{nid}" fontsize={font} shape=box '
            f'tooltip="{escape(n.name)} ({cum_s})" color="{dot_color(score, False)}" '
            f'fillcolor="{dot_color(score, True)}"]\n')

    def nodelets(self, n: Node, nid: int) -> bool:
        flat_tags = len(n.outs) > 0
        out = []
        ts = _sort_tags(list(n.label_tags.values()), flat_tags)[:MAX_NODELETS]
        numeric = {k: list(tm.values()) for k, tm in n.numeric_tags.items() if tm}
        for i, t in enumerate(ts):
            w = t.flat_value() if flat_tags else t.cum_value()
            if w == 0:
                continue
            weight = self.fv(w)
            out.append(f'N{nid}_{i} [label = "{t.name}" id="N{nid}_{i}" fontsize=8 shape=box3d '
                       f'tooltip="{weight}"]\n')
            out.append(f'N{nid} -> N{nid}_{i} [label=" {weight}" weight=100 tooltip="{weight}" '
                       f'labeltooltip="{weight}"]\n')
            if t.name in numeric:
                out.extend(self.numeric_nodelets(numeric[t.name], flat_tags, f"N{nid}_{i}"))
        if "" in numeric:
            out.extend(self.numeric_nodelets(numeric[""], flat_tags, f"N{nid}"))
        self.out.extend(out)
        return bool(out)

    def numeric_nodelets(self, tags: list[Tag], flat_tags: bool, source: str) -> list[str]:
        out = []
        for j, t in enumerate(_collapsed_tags(tags, MAX_NODELETS, flat_tags)):
            w, attr = t.cum_value(), ' style="dotted"'
            if flat_tags or t.flat_value() == t.cum_value():
                w, attr = t.flat_value(), ""
            if w != 0:
                weight = self.fv(w)
                out.append(f'N{source}_{j} [label = "{t.name}" id="N{source}_{j}" fontsize=8 '
                           f'shape=box3d tooltip="{weight}"]\n')
                out.append(f'{source} -> N{source}_{j} [label=" {weight}" weight=100 '
                           f'tooltip="{weight}" labeltooltip="{weight}"{attr}]\n')
        return out

    def edge(self, e: Edge, src: int, dst: int, has_nodelets: bool) -> None:
        wv = e.weight_value()
        w = self.fv(wv)
        inline = "\\n (inline)" if e.inline else ""
        attr = f'label=" {w}{inline}"'
        total = self.total
        if total != 0:
            weight = 1 + min(abs(_go_div(wv * 100, total)), 100)
            if weight > 1:
                attr += f" weight={weight}"
            width = 1 + min(abs(_go_div(wv * 5, total)), 5)
            if width > 1:
                attr += f" penwidth={width}"
            attr += f' color="{dot_color(_ratio(wv, total), False)}"'
        arrow = "..." if e.residual else "->"
        tip = f'"{escape(e.src.name)} {arrow} {escape(e.dest.name)} ({w})"'
        attr += f" tooltip={tip} labeltooltip={tip}"
        if e.residual:
            attr += ' style="dotted"'
        if has_nodelets:
            attr += " minlen=2"
        self.out.append(f"N{src} -> N{dst} [{attr}]\n")


def _tag_distance(t: Tag, u: Tag) -> float:
    v, _ = measurement.scale(u.value, u.unit, t.unit)
    return abs(t.value - v)


def _collapsed_tags(ts: list[Tag], count: int, flat: bool) -> list[Tag]:
    """pprof's ``collapsedTags``: at most ``count`` numeric tags, nearby values grouped into
    ``lo..hi`` ranges."""
    ts = _sort_tags(ts, flat)
    if len(ts) <= count:
        return ts
    groups = [[t] for t in ts[:count]]
    for t in ts[count:]:
        best, d = 0, _tag_distance(t, groups[0][0])
        for i in range(1, count):
            nd = _tag_distance(t, groups[i][0])
            if nd < d:
                best, d = i, nd
        groups[best].append(t)
    out = []
    for grp in groups:
        name, f, c = _group_label(grp)
        t = Tag(name)
        t.flat, t.cum = f, c
        out.append(t)
    return _sort_tags(out, flat)


def _group_label(grp: list[Tag]) -> tuple[str, int, int]:
    if len(grp) == 1:
        t = grp[0]
        return measurement.label(t.value, t.unit), t.flat_value(), t.cum_value()
    lo = hi = grp[0]
    f, df, c, dc = lo.flat, lo.flat_div, lo.cum, lo.cum_div
    for t in grp[1:]:
        if int(measurement.scale(t.value, t.unit, lo.unit)[0]) < lo.value:
            lo = t
        if int(measurement.scale(t.value, t.unit, hi.unit)[0]) > hi.value:
            hi = t
        f += t.flat
        df += t.flat_div
        c += t.cum
        dc += t.cum_div
    if df != 0:
        f = _go_div(f, df)
    if dc != 0:
        c = _go_div(c, dc)
    return measurement.label(lo.value, lo.unit) + ".." + measurement.label(hi.value, hi.unit), f, c


def render_dot(rpt: Report) -> str:
    """``-dot``: the trimmed call graph in DOT, with the full headers in a legend box."""
    g, orig, dropped_nodes, dropped_edges = rpt.trimmed_graph(visual=True)
    rpt.select_output_unit(g)
    labels = rpt.report_labels(g, orig, dropped_nodes, dropped_edges, full=True)
    return _Dot(rpt, g, labels).render()
