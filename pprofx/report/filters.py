"""Sample and frame filters of ``go tool pprof``: focus, ignore, hide, show, show_from,
prune_from, tagfocus/tagignore and tagshow/taghide, with pprof's exact semantics.

Every filter mutates the profile it is given (reports work on a copy). Regular expressions
are unanchored searches over function names, file names and the mapping's file, as in pprof.
Warnings pprof prints on stderr ("Focus expression matched no samples", "tagfocus:Interpreted
'0' as range, not regexp") are returned, in pprof's order, for the caller to print.
"""

from __future__ import annotations

import re
from typing import Callable

from ..profile import Location, Profile, ProfileError, Sample
from . import measurement
from .options import ReportOptions

TagMatch = Callable[[Sample], bool]


def compile_regex(name: str, value: str) -> re.Pattern | None:
    """Compile a filter option; "" means no filter. Bad syntax → ProfileError naming the option."""
    if not value:
        return None
    try:
        return re.compile(value)
    except re.error as e:
        raise ProfileError(f"parsing {name} regexp: {e}") from None


def _line_matches(ln, rx: re.Pattern) -> bool:
    f = ln.function
    return f is not None and (rx.search(f.name) is not None or rx.search(f.filename) is not None)


def _loc_matches(loc: Location, rx: re.Pattern) -> bool:
    if any(_line_matches(ln, rx) for ln in loc.lines):
        return True
    return loc.mapping is not None and rx.search(loc.mapping.filename) is not None


def filter_by_name(p: Profile, focus, ignore, hide, show) -> tuple[bool, bool, bool, bool]:
    """pprof's ``FilterSamplesByName``; returns whether each regex matched something."""
    fm = im = hm = hnm = False
    if focus is None and ignore is None and hide is None and show is None:
        return bool(p.samples), im, hm, hnm
    verdict: dict[int, bool] = {}  # id(location) -> True focused / False ignored
    hidden: set[int] = set()
    for loc in p.locations:
        key = id(loc)
        if ignore is not None and _loc_matches(loc, ignore):
            im = True
            verdict[key] = False
        elif focus is None or _loc_matches(loc, focus):
            fm = True
            verdict[key] = True
        if hide is not None and _loc_matches(loc, hide):
            hm = True
            if loc.mapping is not None and hide.search(loc.mapping.filename):
                loc.lines = []
            else:
                loc.lines = [ln for ln in loc.lines if not _line_matches(ln, hide)]
            if not loc.lines:
                hidden.add(key)
        if show is not None:
            if not (loc.mapping is not None and show.search(loc.mapping.filename)):
                loc.lines = [ln for ln in loc.lines
                             if ln.function is None or _line_matches(ln, show)]
            if not loc.lines:
                hidden.add(key)
            else:
                hnm = True
    kept = []
    for s in p.samples:
        focused = False
        for loc in s.locations:
            v = verdict.get(id(loc))
            if v is False:
                focused = False
                break
            if v:
                focused = True
        if not focused:
            continue
        if hidden:
            locs = [loc for loc in s.locations if id(loc) not in hidden]
            if not locs:
                continue
            s.locations = locs
        kept.append(s)
    p.samples = kept
    return fm, im, hm, hnm


def show_from(p: Profile, rx) -> bool:
    """pprof's ``ShowFrom``: drop frames above the outermost match; samples without one go."""
    if rx is None:
        return False
    matched_locs: set[int] = set()
    for loc in p.locations:
        if loc.mapping is not None and rx.search(loc.mapping.filename):
            matched_locs.add(id(loc))
            continue
        for i in range(len(loc.lines) - 1, -1, -1):
            if _line_matches(loc.lines[i], rx):
                loc.lines = loc.lines[:i + 1]
                matched_locs.add(id(loc))
                break
    kept = []
    for s in p.samples:
        for i in range(len(s.locations) - 1, -1, -1):
            if id(s.locations[i]) in matched_locs:
                s.locations = s.locations[:i + 1]
                kept.append(s)
                break
    p.samples = kept
    return bool(matched_locs)


def prune_from(p: Profile, rx) -> None:
    """pprof's ``PruneFrom``: drop the frames beneath (callees of) the first matching frame."""
    if rx is None:
        return
    from ..profile.prune import _simplify

    beneath: set[int] = set()
    for loc in p.locations:
        for i, ln in enumerate(loc.lines):
            f = ln.function
            if f is not None and f.name and rx.search(_simplify(f.name)):
                beneath.add(id(loc))
                loc.lines = loc.lines[i:]
                break
    for s in p.samples:
        for i, loc in enumerate(s.locations):
            if id(loc) in beneath:
                s.locations = s.locations[i:]
                break


def num_label_units(p: Profile) -> dict[str, str]:
    """The unit of each numeric label key (pprof's ``InferNumLabelUnits``)."""
    units: dict[str, str] = {}
    seen: set[str] = set()
    for s in p.samples:
        for lab in s.labels:
            if lab.str:
                continue
            seen.add(lab.key)
            if lab.num_unit and lab.key not in units:
                units[lab.key] = lab.num_unit
    for key in seen:
        if not units.get(key):
            units[key] = "bytes" if key in ("alignment", "request") else key
    return units


_RANGE_RX = re.compile(r"([+-]?[0-9]+)([A-Za-z]+)?")


def _parse_range(value: str) -> Callable[[int, str], bool] | None:
    ranges = [m for m in _RANGE_RX.finditer(value)][:2]
    if not ranges:
        return None
    v1 = int(ranges[0].group(1))
    want, unit = measurement.scale(v1, ranges[0].group(2) or "", ranges[0].group(2) or "")

    def in_unit(v: int, u: str) -> tuple[float, str]:
        return measurement.scale(v, u, unit)

    if len(ranges) == 1:
        m = ranges[0].group(0)
        if value == m:
            return lambda v, u: (lambda sv, su: su == unit and sv == want)(*in_unit(v, u))
        if value == m + ":":
            return lambda v, u: (lambda sv, su: su == unit and sv >= want)(*in_unit(v, u))
        if value == ":" + m:
            return lambda v, u: (lambda sv, su: su == unit and sv <= want)(*in_unit(v, u))
        return None
    if value != ranges[0].group(0) + ":" + ranges[1].group(0):
        return None
    hi, unit2 = measurement.scale(int(ranges[1].group(1)), ranges[1].group(2) or "", unit)
    if unit2 != unit:
        return None
    return lambda v, u: (lambda sv, su: su == unit and want <= sv <= hi)(*in_unit(v, u))


def compile_tag_filter(name: str, value: str, units: dict[str, str],
                       warnings: list[str]) -> TagMatch | None:
    """pprof's ``compileTagFilter``: ``[key=]regex[,regex…]`` or ``[key=]lo:hi`` with units."""
    if not value:
        return None
    want_key = ""
    if "=" in value:
        want_key, value = value.split("=", 1)
    num = _parse_range(value)
    if num is not None:
        warnings.append(f"{name}:Interpreted '{value}' as range, not regexp")

        def any_num(vals, unit) -> bool:
            return any(num(v, unit) for v, _ in vals)

        if not want_key:
            return lambda s: any(any_num(vals, units.get(k, "")) for k, vals in s.numeric_labels().items())
        return lambda s: any_num(s.numeric_labels().get(want_key, []), units.get(want_key, ""))
    rxs = []
    for part in value.split(","):
        try:
            rxs.append(re.compile(part))
        except re.error as e:
            raise ProfileError(f"parsing {name} regexp: {e}") from None
    if not want_key:
        def all_match(s: Sample) -> bool:
            pairs = [f"{k}:{v}" for k, vs in s.string_labels().items() for v in vs]
            return all(any(rx.search(kv) for kv in pairs) for rx in rxs)
        return all_match

    def key_match(s: Sample) -> bool:
        vals = s.string_labels().get(want_key)
        return bool(vals) and any(rx.search(v) for rx in rxs for v in vals)
    return key_match


def filter_by_tag(p: Profile, focus: TagMatch | None, ignore: TagMatch | None) -> tuple[bool, bool]:
    """pprof's ``FilterSamplesByTag``."""
    fm = im = False
    kept = []
    for s in p.samples:
        focused = focus(s) if focus is not None else True
        ignored = ignore(s) if ignore is not None else False
        fm = fm or focused
        im = im or ignored
        if focused and not ignored:
            kept.append(s)
    p.samples = kept
    return fm, im


def filter_tags_by_name(p: Profile, show, hide) -> tuple[bool, bool]:
    """pprof's ``FilterTagsByName`` (tagshow/taghide): drop label keys from samples."""
    sm = hm = False
    if show is None and hide is None:
        return sm, hm
    verdicts: dict[str, bool] = {}

    def remove(key: str) -> bool:
        nonlocal sm, hm
        ms = show is None or show.search(key) is not None
        mh = hide is not None and hide.search(key) is not None
        sm = sm or ms
        hm = hm or mh
        return not ms or mh

    for s in p.samples:
        if not s.labels:
            continue
        keep = []
        for lab in s.labels:
            drop = verdicts.get(lab.key)
            if drop is None:
                drop = verdicts[lab.key] = remove(lab.key)
            if not drop:
                keep.append(lab)
        s.labels = keep
    return sm, hm


def apply_focus(p: Profile, o: ReportOptions, units: dict[str, str]) -> list[str]:
    """Apply every filter of ``o`` to ``p`` in pprof's order; return pprof's warnings."""
    warnings: list[str] = []
    focus = compile_regex("focus", o.focus)
    ignore = compile_regex("ignore", o.ignore)
    hide = compile_regex("hide", o.hide)
    show = compile_regex("show", o.show)
    showfrom = compile_regex("show_from", o.show_from)
    tagfocus = compile_tag_filter("tagfocus", o.tagfocus, units, warnings)
    tagignore = compile_tag_filter("tagignore", o.tagignore, units, warnings)
    prunefrom = compile_regex("prune_from", o.prune_from)

    def warn(ok: bool, what: str) -> None:
        if not ok:
            warnings.append(f"{what} expression matched no samples")

    fm, im, hm, hnm = filter_by_name(p, focus, ignore, hide, show)
    warn(focus is None or fm, "Focus")
    warn(ignore is None or im, "Ignore")
    warn(hide is None or hm, "Hide")
    warn(show is None or hnm, "Show")
    warn(showfrom is None or show_from(p, showfrom), "ShowFrom")
    tfm, tim = filter_by_tag(p, tagfocus, tagignore)
    warn(tagfocus is None or tfm, "TagFocus")
    warn(tagignore is None or tim, "TagIgnore")
    tagshow = compile_regex("tagshow", o.tagshow)
    taghide = compile_regex("taghide", o.taghide)
    tns, tnh = filter_tags_by_name(p, tagshow, taghide)
    warn(tagshow is None or tns, "TagShow")
    warn(taghide is None or tnh, "TagHide")
    prune_from(p, prunefrom)
    return warnings
