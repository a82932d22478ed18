"""The call graph behind every pprof report: nodes (functions, files or lines, by
granularity), flat and cum weights, caller→callee edges, and pprof's trimming.

Built exactly as google/pprof's ``graph.New`` so that ``top``, ``tree``, ``peek`` and ``dot``
print pprof's numbers: cum counts each node once per sample, flat goes to the leaf, edges
that skip dropped nodes are "residual", and after every trimming step the graph is rebuilt
from the samples rather than patched (pprof's ``newTrimmedGraph``).
"""

from __future__ import annotations

import math
import posixpath
from typing import Callable, NamedTuple

from ..profile import Location, Profile, Sample

ValueFn = Callable[[list], int]


class NodeInfo(NamedTuple):
    """What identifies a node; fields as pprof's ``graph.NodeInfo``."""

    name: str = ""
    orig_name: str = ""
    address: int = 0
    file: str = ""
    start_line: int = 0
    lineno: int = 0
    objfile: str = ""

    def name_components(self) -> list[str]:
        out = []
        if self.address:
            out.append(f"{self.address:016x}")
        if self.name:
            out.append(self.name)
        if self.lineno:
            out.append(f"{self.file}:{self.lineno}")
        elif self.file:
            out.append(self.file)
        elif self.name:
            pass
        elif self.objfile:
            out.append("[" + posixpath.basename(self.objfile) + "]")
        else:
            out.append("<unknown>")
        return out

    def printable_name(self) -> str:
        return " ".join(self.name_components())

    def go_string(self) -> str:
        """``fmt.Sprint`` of the Go struct: pprof's last-resort tie breaker."""
        return (f"{{{self.name} {self.orig_name} {self.address} {self.file} "
                f"{self.start_line} {self.lineno} {self.objfile}}}")


class Edge:
    __slots__ = ("src", "dest", "weight", "weight_div", "residual", "inline")

    def __init__(self, src: Node, dest: Node, wdiv: int, w: int, residual: bool, inline: bool):
        self.src = src
        self.dest = dest
        self.weight = w
        self.weight_div = wdiv
        self.residual = residual
        self.inline = inline

    def weight_value(self) -> int:
        return self.weight if self.weight_div == 0 else _go_div(self.weight, self.weight_div)


class Tag:
    """A sample annotation on a node (pprof's ``graph.Tag``): a label set, or a numeric
    ``bytes`` value; ``unit`` is "" for label sets."""

    __slots__ = ("name", "unit", "value", "flat", "flat_div", "cum", "cum_div")

    def __init__(self, name: str, unit: str = "", value: int = 0) -> None:
        self.name = name
        self.unit = unit
        self.value = value
        self.flat = self.flat_div = self.cum = self.cum_div = 0

    def flat_value(self) -> int:
        return self.flat if self.flat_div == 0 else _go_div(self.flat, self.flat_div)

    def cum_value(self) -> int:
        return self.cum if self.cum_div == 0 else _go_div(self.cum, self.cum_div)

    def add(self, dw: int, w: int, flat: bool) -> None:
        if flat:
            self.flat_div += dw
            self.flat += w
        else:
            self.cum_div += dw
            self.cum += w


class Node:
    __slots__ = ("info", "flat", "flat_div", "cum", "cum_div", "ins", "outs", "name", "label_tags",
                 "numeric_tags")

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.name = info.printable_name()
        self.flat = self.flat_div = self.cum = self.cum_div = 0
        self.ins: dict[Node, Edge] = {}
        self.outs: dict[Node, Edge] = {}
        #: label set ("k:v\\nk2:v2", sorted) -> Tag; only built for graph (dot) reports
        self.label_tags: dict[str, Tag] = {}
        #: label set -> formatted ``bytes`` value -> Tag
        self.numeric_tags: dict[str, dict[str, Tag]] = {}

    def add_tags(self, labels: str, nums: list, dw: int, w: int, flat: bool) -> None:
        """pprof's ``addSample`` tag part: ``nums`` is [(name, unit, value)] of numeric tags."""
        if labels:
            t = self.label_tags.get(labels)
            if t is None:
                t = self.label_tags[labels] = Tag(labels)
            t.add(dw, w, flat)
        tm = self.numeric_tags.setdefault(labels, {})
        for name, unit, value in nums:
            t = tm.get(name)
            if t is None:
                t = tm[name] = Tag(name, unit, value)
            t.add(dw, w, flat)

    def count_tags(self) -> int:
        """Tags with a flat weight (pprof's ``countTags``)."""
        return (sum(1 for t in self.label_tags.values() if t.flat != 0)
                + sum(1 for tm in self.numeric_tags.values() for t in tm.values() if t.flat != 0))

    def flat_value(self) -> int:
        return self.flat if self.flat_div == 0 else _go_div(self.flat, self.flat_div)

    def cum_value(self) -> int:
        return self.cum if self.cum_div == 0 else _go_div(self.cum, self.cum_div)


    def __repr__(self) -> str:
        return f"Node({self.name!r}, flat={self.flat}, cum={self.cum})"


def _go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash paths."""
    if not path:
        return "."
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


class GraphOptions(NamedTuple):
    value: ValueFn
    mean_div: ValueFn | None = None
    obj_names: bool = False
    drop_negative: bool = False
    kept: frozenset | set | None = None  #: NodeInfos to keep (None = all)
    #: build node tags (label sets, ``bytes`` values) as pprof does for graphs: a function
    #: formatting a ``bytes`` value in its unit, and that unit (None = no tags)
    format_tag: Callable[[int, str], str] | None = None
    bytes_unit: str = ""


def node_info(loc: Location, line, objfile: str, obj_names: bool) -> NodeInfo:
    """The node identity of one line of a location (pprof's ``nodeInfo``)."""
    if line is None or line.function is None:
        return NodeInfo(address=loc.address, objfile=objfile)
    f = line.function
    file = go_clean(f.filename) if f.filename else ""
    if obj_names or not f.name:
        return NodeInfo(f.name, "", loc.address, file, f.start_line, line.line, objfile)
    return NodeInfo(f.name, "", loc.address, file, 0, line.line, "")


def location_nodes(p: Profile, obj_names: bool, kept=None) -> tuple[dict[int, list], dict[NodeInfo, Node]]:
    """Nodes for every location: id(location) -> nodes (innermost line first; None = dropped)."""
    nodes: dict[NodeInfo, Node] = {}
    by_loc: dict[int, list] = {}
    for loc in p.locations:
        objfile = loc.mapping.filename if loc.mapping is not None else ""
        lines = loc.lines or [None]
        out = []
        for ln in lines:
            info = node_info(loc, ln, objfile, obj_names)
            n = nodes.get(info)
            if n is None:
                if kept is not None and info not in kept:
                    out.append(None)
                    continue
                n = nodes[info] = Node(info)
            out.append(n)
        by_loc[id(loc)] = out
    return by_loc, nodes


class Graph:
    """Nodes of a report, in report order once sorted."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes

    def flat_sum(self) -> int:
        return sum(n.flat for n in self.nodes)

    # -- trimming -------------------------------------------------------------------------
    def discard_low_frequency(self, cutoff: int) -> set[NodeInfo]:
        return {n.info for n in self.nodes if abs(n.cum) >= cutoff}

    def trim_low_frequency_edges(self, cutoff: int) -> int:
        dropped = 0
        for n in self.nodes:
            for src, e in list(n.ins.items()):
                if abs(e.weight) < cutoff:
                    del n.ins[src]
                    src.outs.pop(n, None)
                    dropped += 1
        return dropped

    def trim_low_frequency_tags(self, cutoff: int) -> None:
        """Drop tags below ``cutoff`` in both flat and cum (pprof's ``TrimLowFrequencyTags``)."""
        def keep(tm: dict) -> dict:
            return {k: t for k, t in tm.items() if abs(t.flat) >= cutoff or abs(t.cum) >= cutoff}

        for n in self.nodes:
            n.label_tags = keep(n.label_tags)
            n.numeric_tags = {k: keep(tm) for k, tm in n.numeric_tags.items()}

    def select_top(self, max_nodes: int, visual: bool) -> set[NodeInfo]:
        if max_nodes > 0 and visual:
            count = 0
            for i, n in enumerate(self.nodes):
                tags = min(n.count_tags(), MAX_NODELETS)
                count += tags + 1
                if count >= max_nodes:
                    max_nodes = i + 1
                    break
        return {n.info for n in self.nodes[:max_nodes]}

    def remove_redundant_edges(self) -> None:
        """Drop residual edges implied by a longer path (pprof's ``RemoveRedundantEdges``)."""
        for n in reversed(self.nodes):
            ins = sorted(n.ins.values(), key=_edge_sort_key)
            for i in range(len(ins) - 1, -1, -1):
                e = ins[i]
                if not e.residual:
                    break
                if _is_redundant(e):
                    del e.src.outs[e.dest]
                    del e.dest.ins[e.src]

    # -- ordering -------------------------------------------------------------------------
    def sort(self, cum: bool, visual: bool) -> None:
        if visual:
            score = {n: entropy_score(n) for n in self.nodes}
            self.nodes.sort(key=lambda n: (-abs64(score[n]), n.name, -abs(n.flat), n.info.go_string()))
        elif cum:
            self.nodes.sort(key=lambda n: (-abs(n.cum), n.name, -abs(n.flat), n.info.go_string()))
        else:
            self.nodes.sort(key=lambda n: (-abs(n.flat), n.name, -abs(n.cum), n.info.go_string()))


MAX_NODELETS = 4


def _edge_sort_key(e: Edge):
    return (-abs(e.weight), e.src.name, e.dest.name)


def sorted_edges(edges: dict) -> list[Edge]:
    """Edges heaviest first, then by caller and callee name (pprof's ``EdgeMap.Sort``)."""
    return sorted(edges.values(), key=_edge_sort_key)


def _is_redundant(e: Edge) -> bool:
    src, n = e.src, e.dest
    seen = {n}
    queue = [n]
    while queue:
        cur = queue.pop()
        for ie in cur.ins.values():
            if ie is e or ie.src in seen:
                continue
            if ie.src is src:
                return True
            seen.add(ie.src)
            queue.append(ie.src)
    return False


def _go_log2(x: float) -> float:
    """Go's ``math.Log2``: -Inf at 0 and NaN below, where Python raises."""
    if x > 0:
        return math.log2(x)
    return -math.inf if x == 0 else math.nan


def _edge_entropy(edges: dict, self_weight: int) -> float:
    total = self_weight
    for e in edges.values():
        if e.weight > 0:
            total += abs(e.weight)
    score = 0.0
    if total != 0:
        # IEEE arithmetic as in Go: a zero-weight edge gives 0*-Inf = NaN, a negative total
        # a NaN logarithm (both only in -base/-diff_base or -mean graphs).
        for e in edges.values():
            frac = abs(e.weight) / total
            score += -frac * _go_log2(frac)
        if self_weight > 0:
            frac = abs(self_weight) / total
            score += -frac * _go_log2(frac)
    return score


_MIN_INT64 = -(1 << 63)


def _wrap64(v: int) -> int:
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


def abs64(v: int) -> int:
    """Go's abs on an int64: ``abs64(MinInt64)`` stays negative."""
    return _wrap64(abs(v))


def entropy_score(n: Node) -> int:
    """pprof's ordering score for graph (dot) output: favours entry, leaf and branchy nodes.

    Computed with Go's int64 semantics: a NaN or out-of-range product converts to MinInt64
    (amd64's conversion), and the sum wraps around.
    """
    score = 1.0 if not n.ins else _edge_entropy(n.ins, 0)
    score += 1.0 if not n.outs else _edge_entropy(n.outs, n.flat)
    x = score * n.cum
    v = int(x) if not math.isnan(x) and -2.0 ** 63 <= x < 2.0 ** 63 else _MIN_INT64
    return _wrap64(v + n.flat)


def build(p: Profile, o: GraphOptions, on_sample: Callable[[Node, Sample, int], None] | None = None
          ) -> Graph:
    """pprof's ``graph.New`` (without call-tree mode): aggregate every sample into nodes.

    Samples with the same stack contribute identically to nodes and edges, so (unless node
    tags or a per-sample callback are wanted) they are summed per stack first: profiles
    whose samples differ only by labels are aggregated once per stack.
    """
    by_loc, nodes = location_nodes(p, o.obj_names, o.kept)
    value, mean_div = o.value, o.mean_div
    tags = o.format_tag is not None
    # Each location's nodes from the outermost line in, with "this edge is inlined" flags.
    paths: dict[int, list] = {}
    for key, loc_nodes in by_loc.items():
        last = len(loc_nodes) - 1
        paths[key] = [(loc_nodes[i], i != last) for i in range(last, -1, -1)]
    if tags or on_sample is not None:
        work = ((s.locations, value(s.values), mean_div(s.values) if mean_div else 0, s)
                for s in p.samples)
    else:
        sums: dict[tuple, list] = {}
        for s in p.samples:
            w = value(s.values)
            dw = mean_div(s.values) if mean_div is not None else 0
            if w == 0 and dw == 0:
                continue
            k = tuple(map(id, s.locations))
            acc = sums.get(k)
            if acc is None:
                sums[k] = [s.locations, w, dw, None]
            else:
                acc[1] += w
                acc[2] += dw
        work = sums.values()
    edges: dict[tuple, list] = {}  # (src, dest) -> [weight_div, weight, residual, inline]
    labels, nums = "", []
    for locations, w, dw, s in work:
        if w == 0 and dw == 0:
            continue
        if tags:
            labels, nums = _sample_tags(s, o.format_tag, o.bytes_unit)
        seen_nodes: set = set()
        seen_edges: set = set()
        parent = None
        residual = False
        for loc in reversed(locations):
            path = paths.get(id(loc))
            if path is None:
                continue
            for n, inline in path:
                if n is None:
                    residual = True
                    continue
                if n not in seen_nodes:
                    seen_nodes.add(n)
                    n.cum_div += dw
                    n.cum += w
                    if tags:
                        n.add_tags(labels, nums, dw, w, False)
                if parent is not None and n is not parent:
                    pair = (parent, n)
                    if pair not in seen_edges:
                        seen_edges.add(pair)
                        e = edges.get(pair)
                        if e is None:
                            edges[pair] = [dw, w, residual, inline]
                        else:
                            e[0] += dw
                            e[1] += w
                            if residual:
                                e[2] = True
                            if not inline:
                                e[3] = False
                parent = n
                residual = False
        if parent is not None and not residual:
            parent.flat_div += dw
            parent.flat += w
            if tags:
                parent.add_tags(labels, nums, dw, w, True)
            if on_sample is not None:
                on_sample(parent, s, w)
    for (src, dest), (wdiv, weight, residual, inline) in edges.items():
        e = Edge(src, dest, wdiv, weight, residual, inline)
        src.outs[dest] = e
        dest.ins[src] = e
    kept = []
    for n in nodes.values():
        if n.cum == 0 and n.flat == 0:
            continue
        if o.drop_negative and (n.flat < 0 or (n.flat == 0 and n.cum < 0)):
            continue
        kept.append(n)
    return Graph(kept)


def _sample_tags(s: Sample, format_tag: Callable[[int, str], str], bytes_unit: str) -> tuple[str, list]:
    """A sample's label set as pprof joins it (``k:v`` sorted, joined by a literal ``\\n``) and
    its ``bytes`` values, the only numeric labels pprof keeps on graph nodes."""
    pairs = sorted(f"{lab.key}:{lab.str}" for lab in s.labels if lab.str)
    nums = [(format_tag(lab.num, bytes_unit), bytes_unit, lab.num) for lab in s.labels
            if not lab.str and lab.key == "bytes"]
    return "\\n".join(pairs), nums
