"""Command-line flags of the report commands, parsed into :class:`ReportOptions`.

Flags use ``go tool pprof``'s spelling (``-sample_index=alloc_space``, ``-focus hotA``,
``-trim=false``, legacy ``-inuse_space``) so pprof habits and scripts carry over; each also
has a ``--dashed-name`` alias. Parsing happens once here; the engine never sees argparse.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from .report.options import GRANULARITIES, LEGACY_SAMPLE_FLAGS, ReportOptions

#: Boolean flags that accept Go's ``-flag=false`` form.
BOOL_FLAGS = ("cum", "flat", "mean", "noinlines", "trim", "relative_percentages",
              "drop_negative", "compact_labels", "normalize", "call_tree") + GRANULARITIES + tuple(
    LEGACY_SAMPLE_FLAGS)

_TRUE = ("1", "t", "true", "yes")
_FALSE = ("0", "f", "false", "no")


class FlagError(ValueError):
    """A malformed flag value (reported as a usage error)."""


def normalize_bool_flags(argv: Sequence[str]) -> list[str]:
    """Rewrite ``-flag=true|false`` for boolean flags into ``-flag`` / ``-no_flag``."""
    out = []
    for a in argv:
        if a.startswith("-") and "=" in a:
            name, value = a.lstrip("-").split("=", 1)
            if name.replace("-", "_") in BOOL_FLAGS:
                v = value.lower()
                if v in _TRUE:
                    out.append("-" + name.replace("-", "_"))
                    continue
                if v in _FALSE:
                    out.append("-no_" + name.replace("-", "_"))
                    continue
                raise FlagError(f"invalid boolean value {value!r} for -{name}")
        out.append(a)
    return out


def _flag(p, name: str, **kw) -> None:
    dashed = "--" + name.replace("_", "-")
    names = ["-" + name] if dashed == "-" + name else ["-" + name, dashed]
    p.add_argument(*names, dest=name, **kw)


def _bool(p, name: str, help: str, default: bool = False) -> None:  # noqa: A002
    _flag(p, name, action="store_true", default=default, help=help)
    p.add_argument("-no_" + name, dest=name, action="store_false", help=argparse.SUPPRESS)


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """Every report option, as ``go tool pprof`` spells it."""
    g = p.add_argument_group("sample selection")
    _flag(g, "sample_index", default="", metavar="INDEX|NAME",
          help="sample value to report (index or type name; 'inuse_' prefix optional)")
    for name, (index, mean) in LEGACY_SAMPLE_FLAGS.items():
        g.add_argument("-" + name, dest="legacy", action="append_const", const=name,
                       help=f"same as -sample_index={index}{' -mean' if mean else ''}")
    _bool(g, "mean", "average sample value over the first value (count)")
    _flag(g, "divide_by", type=float, default=1.0, metavar="F", help="divide all values by F")
    g = p.add_argument_group("sorting and granularity")
    _bool(g, "cum", "sort by cumulative value")
    _bool(g, "flat", "sort by flat value (default)")
    for gran in GRANULARITIES:
        _bool(g, gran, f"aggregate at the {gran} level")
    _bool(g, "noinlines", "attribute inlined functions to their caller")
    g = p.add_argument_group("trimming")
    _flag(g, "nodecount", type=int, default=-1, metavar="N", help="max nodes to show")
    _flag(g, "nodefraction", type=float, default=0.005, metavar="F",
          help="hide nodes below F×total (default 0.005)")
    _flag(g, "edgefraction", type=float, default=0.001, metavar="F",
          help="hide edges below F×total (default 0.001)")
    _bool(g, "trim", "honour nodecount/nodefraction/edgefraction (-trim=false disables)",
          default=True)
    g = p.add_argument_group("filters (regular expressions)")
    for name, what in (("focus", "keep samples through a matching frame"),
                       ("ignore", "drop samples through a matching frame"),
                       ("hide", "drop matching frames, keep the samples"),
                       ("show", "keep only matching frames"),
                       ("show_from", "drop frames above the outermost match"),
                       ("prune_from", "drop frames below a match"),
                       ("tagfocus", "keep samples with matching labels: regex, key=value, 1kb:4kb"),
                       ("tagignore", "drop samples with matching labels"),
                       ("tagshow", "show only matching label keys"),
                       ("taghide", "hide matching label keys")):
        _flag(g, name, default="", metavar="REGEX", help=what)
    g = p.add_argument_group("display")
    _flag(g, "unit", default="minimum", metavar="UNIT",
          help="output unit: minimum (default), auto, or a unit such as ms, s, MB")
    _bool(g, "relative_percentages", "percentages relative to the focused subgraph")
    _bool(g, "drop_negative", "ignore negative differences")
    _bool(g, "compact_labels", "leave out the header lines")
    _flag(g, "trim_path", default="", metavar="PATH", help="path prefixes to trim from file names")
    _flag(g, "source_path", default="", metavar="PATH", help="where to look for source files")
    g = p.add_argument_group("comparison")
    _flag(g, "diff_base", action="append", default=[], metavar="SOURCE",
          help="show differences against SOURCE (percentages relative to it)")
    _flag(g, "base", action="append", default=[], metavar="SOURCE",
          help="subtract SOURCE (for cumulative profiles)")
    _bool(g, "normalize", "scale the profile to the base's total before subtracting")


def report_options(args: argparse.Namespace, symbol: str = "") -> ReportOptions:
    """The :class:`ReportOptions` described by parsed flags."""
    sample_index, mean = args.sample_index, args.mean
    for legacy in args.legacy or []:
        sample_index, legacy_mean = LEGACY_SAMPLE_FLAGS[legacy]
        mean = mean or legacy_mean
    granularity = "functions"
    for gran in GRANULARITIES:
        if getattr(args, gran):
            granularity = gran
    return ReportOptions(
        sample_index=sample_index, mean=mean, divide_by=args.divide_by,
        cum=args.cum and not args.flat, granularity=granularity, noinlines=args.noinlines,
        nodecount=args.nodecount, nodefraction=args.nodefraction, edgefraction=args.edgefraction,
        trim=args.trim, focus=args.focus, ignore=args.ignore, hide=args.hide, show=args.show,
        show_from=args.show_from, prune_from=args.prune_from, tagfocus=args.tagfocus,
        tagignore=args.tagignore, tagshow=args.tagshow, taghide=args.taghide, unit=args.unit,
        relative_percentages=args.relative_percentages, drop_negative=args.drop_negative,
        compact_labels=args.compact_labels, trim_path=args.trim_path,
        source_path=args.source_path, symbol=symbol)
