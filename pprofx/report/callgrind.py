"""The ``callgrind`` report: the call graph in Valgrind's callgrind format, for KCachegrind
and QCachegrind, as ``go tool pprof -callgrind`` writes it.

Granularity is addresses (``ReportOptions.for_command``) and nothing is trimmed. Each node
is a cost line ``<address> <line> <flat>`` under its ``ob=``/``fl=``/``fn=`` header (names are
compressed to ``(N)`` after first use), followed by one ``calls=`` line per callee with the
edge weight. Values are integers in the report's output unit, named on the ``events:`` line.
"""

from __future__ import annotations

from . import measurement
from .core import Report
from .graph import Graph, Node, NodeInfo, sorted_edges

_MASK64 = (1 << 64) - 1


def _name(names: dict[str, int], name: str) -> str:
    """Callgrind's name compression: ``(N) name`` the first time, ``(N)`` after."""
    if not name:
        return ""
    if name in names:
        return f"({names[name]})"
    names[name] = len(names) + 1
    return f"({names[name]}) {name}"


def _address(prev: NodeInfo | None, curr: int) -> str:
    """Absolute hex, ``*`` for the previous address, or ``+N``/``-N`` when shorter."""
    absolute = hex(curr)
    if prev is None:
        return absolute
    if prev.address == curr:
        return "*"
    diff = (curr - prev.address) & _MASK64
    if diff >= 1 << 63:
        diff -= 1 << 64
    relative = f"{diff:+d}"
    return relative if len(relative) < len(absolute) else absolute


def _disambiguated_names(g: Graph) -> dict[Node, str]:
    """Function names with a `` [i/n]`` suffix where one (file, name) covers several
    functions (pprof's ``getDisambiguatedNames``)."""
    index: dict[tuple, dict[NodeInfo, int]] = {}
    for n in g.nodes:
        p = index.setdefault((n.info.file, n.info.name), {})
        fn = n.info._replace(address=0, lineno=0)
        p.setdefault(fn, len(p))
    out = {}
    for n in g.nodes:
        p = index[(n.info.file, n.info.name)]
        out[n] = n.info.name
        if len(p) > 1:
            out[n] += f" [{p[n.info._replace(address=0, lineno=0)] + 1}/{len(p)}]"
    return out


def render_callgrind(rpt: Report) -> str:
    """``-callgrind``: every node's flat cost and its calls, in callgrind's text format."""
    g, _, _, _ = rpt.trimmed_graph(obj_names=True)
    rpt.select_output_unit(g)
    unit, out_unit = rpt.sample_unit, rpt.output_unit
    node_names = _disambiguated_names(g)
    out = ["positions: instr line", f"events: {rpt.sample_type}({out_unit})"]
    objfiles: dict[str, int] = {}
    files: dict[str, int] = {}
    names: dict[str, int] = {}
    prev: NodeInfo | None = None
    for n in g.nodes:
        info = n.info
        if prev is None or (info.objfile, info.file, info.name) != (prev.objfile, prev.file, prev.name):
            out.append("")
            out.append("ob=" + _name(objfiles, info.objfile))
            out.append("fl=" + _name(files, info.file))
            out.append("fn=" + _name(names, info.name))
        flat, _ = measurement.scale(n.flat_value(), unit, out_unit)
        out.append(f"{_address(prev, info.address)} {info.lineno} {int(flat)}")
        for e in sorted_edges(n.outs):
            c, _ = measurement.scale(e.weight, unit, out_unit)
            callee = e.dest
            out.append("cfl=" + _name(files, callee.info.file))
            out.append("cfn=" + _name(names, node_names.get(callee, "")))
            out.append(f"calls=0 {_address(prev, callee.info.address)} {callee.info.lineno}")
            out.append(f"* * {int(c)}")
        prev = info
    return "\n".join(out) + "\n"
