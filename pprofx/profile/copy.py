"""Deep copy of a profile, keeping sample order and ids (pprof's ``Profile.Copy``).

Reports filter and aggregate in place (hide rewrites location lines, granularity clears
function names), so they work on a copy; unlike ``compact`` this neither merges duplicate
samples nor renumbers, so per-sample reports (``traces``) keep the input's order.
"""

from __future__ import annotations

from .model import Function, Label, Line, Location, Mapping, Profile, Sample, ValueType


def copy_profile(p: Profile) -> Profile:
    """A new profile equal to ``p`` that shares no mutable object with it."""
    mappings = {id(m): Mapping(m.id, m.memory_start, m.memory_limit, m.file_offset, m.filename,
                               m.build_id, m.has_functions, m.has_filenames, m.has_line_numbers,
                               m.has_inline_frames) for m in p.mappings}
    functions = {id(f): Function(f.id, f.name, f.system_name, f.filename, f.start_line)
                 for f in p.functions}

    def fn(f: Function | None) -> Function | None:
        if f is None:
            return None
        new = functions.get(id(f))
        if new is None:  # referenced but not listed: copy it too
            new = functions[id(f)] = Function(f.id, f.name, f.system_name, f.filename, f.start_line)
        return new

    locations: dict[int, Location] = {}

    def loc(src: Location) -> Location:
        new = locations.get(id(src))
        if new is None:
            m = mappings.get(id(src.mapping)) if src.mapping is not None else None
            new = locations[id(src)] = Location(
                src.id, m, src.address,
                [Line(fn(ln.function), ln.line, ln.column) for ln in src.lines], src.is_folded)
        return new

    out_locations = [loc(x) for x in p.locations]
    translate = locations.__getitem__
    samples = []
    for s in p.samples:
        try:
            locs = list(map(translate, map(id, s.locations)))
        except KeyError:  # a location missing from p.locations: copy it on the way
            locs = [loc(x) for x in s.locations]
        samples.append(Sample(locs, s.values[:], s.labels[:]))
    return Profile(
        sample_types=[ValueType(t.type, t.unit) for t in p.sample_types],
        samples=samples,
        mappings=list(mappings.values()),
        locations=out_locations,
        functions=list(functions.values()),
        drop_frames=p.drop_frames,
        keep_frames=p.keep_frames,
        time_nanos=p.time_nanos,
        duration_nanos=p.duration_nanos,
        period_type=(ValueType(p.period_type.type, p.period_type.unit)
                     if p.period_type is not None else None),
        period=p.period,
        comments=list(p.comments),
        default_sample_type=p.default_sample_type,
        doc_url=p.doc_url,
    )


def set_label(p: Profile, key: str, values: list[str]) -> Profile:
    """Replace the string label ``key`` of every sample by ``values`` (pprof's ``SetLabel``);
    mutates and returns ``p``."""
    for s in p.samples:
        s.labels = [lab for lab in s.labels if not (lab.key == key and lab.str)]
        s.labels.extend(Label(key, v) for v in values)
    return p


def remove_label(p: Profile, key: str) -> Profile:
    """Drop the string label ``key`` from every sample (pprof's ``RemoveLabel``); mutates ``p``."""
    for s in p.samples:
        if s.labels:
            s.labels = [lab for lab in s.labels if not (lab.key == key and lab.str)]
    return p
