"""The deterministic text dump of a profile, in the layout of ``go tool pprof -raw``.

Sections, in order: ``Comment:`` lines, ``PeriodType``, ``Period``, ``Time``, ``Duration``,
``Samples:`` (the sample-type header, then one ``v1 v2 …: loc ids`` line per sample with its
labels beneath), ``Locations`` and ``Mappings``. Besides ``pprofx raw`` it serves as a
readable, stable form of a profile for golden tests.
"""

from __future__ import annotations

import time

from .model import Location, Mapping, Profile, Sample


def format_go_duration(ns: int) -> str:
    """Format ``ns`` like Go's ``time.Duration.String`` (e.g. ``3.110234s``, ``1h2m3s``)."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < 1_000_000_000:
        if u < 1_000:
            s = f"{u}ns"
        elif u < 1_000_000:
            s = _frac(u, 1_000) + "µs"
        else:
            s = _frac(u, 1_000_000) + "ms"
    else:
        secs, rem = divmod(u, 1_000_000_000)
        hours, secs = divmod(secs, 3600)
        mins, secs = divmod(secs, 60)
        s = _frac(secs * 1_000_000_000 + rem, 1_000_000_000) + "s"
        if hours or mins:
            s = f"{mins}m" + s
        if hours:
            s = f"{hours}h" + s
    return "-" + s if neg else s


def _frac(v: int, unit: int) -> str:
    whole, rem = divmod(v, unit)
    if not rem:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{rem:0{digits}d}".rstrip("0")


def format_go_time(ns: int) -> str:
    """Format Unix nanoseconds like Go's ``time.Time`` ``%v`` in the local zone."""
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.localtime(secs)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", t)
    if frac:
        stamp += "." + f"{frac:09d}".rstrip("0")
    off = t.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    zone = t.tm_zone or "UTC"
    return f"{stamp} {sign}{off // 3600:02d}{off % 3600 // 60:02d} {zone}"


def _sample(s: Sample) -> str:
    line = "".join(f" {v:10d}" for v in s.values) + ": " + "".join(f"{loc.id} " for loc in s.locations)
    out = [line]
    header = " " * 16
    strs = s.string_labels()
    if strs:
        out.append(header + " ".join(sorted(f"{k}:[{' '.join(v)}]" for k, v in strs.items())))
    nums: dict[str, list[tuple[int, str]]] = {}
    for k, pairs in s.numeric_labels().items():
        # pprof drops numeric labels that carry neither a value nor a unit.
        pairs = [(n, u) for n, u in pairs if n or u]
        if pairs:
            nums[k] = pairs
    if nums:
        parts = []
        for k, pairs in nums.items():
            if any(u for _, u in pairs):
                parts.append(f"{k}:[{' '.join(f'{n} {u}' for n, u in pairs)}]")
            else:
                parts.append(f"{k}:[{' '.join(str(n) for n, _ in pairs)}]")
        out.append(header + " ".join(sorted(parts)))
    return "\n".join(out)


def _location(loc: Location) -> str:
    head = f"{loc.id:6d}: {loc.address:#x} "
    if loc.mapping is not None:
        head += f"M={loc.mapping.id} "
    if loc.is_folded:
        head += "[F] "
    if not loc.lines:
        return head
    out = []
    for ln in loc.lines:
        f = ln.function
        text = "??"
        if f is not None:
            pos = f"{f.filename}:{ln.line}" + (f":{ln.column}" if ln.column else "")
            text = f"{f.name} {pos} s={f.start_line}"
            if f.name != f.system_name:
                text += f"({f.system_name})"
        out.append(head + text)
        head = " " * 13
    return "\n".join(out)


def _mapping(m: Mapping) -> str:
    bits = ""
    if m.has_functions:
        bits += "[FN]"
    if m.has_filenames:
        bits += "[FL]"
    if m.has_line_numbers:
        bits += "[LN]"
    if m.has_inline_frames:
        bits += "[IN]"
    return (f"{m.id}: {m.memory_start:#x}/{m.memory_limit:#x}/{m.file_offset:#x} "
            f"{m.filename} {m.build_id} {bits}")


def format_raw(p: Profile) -> str:
    """The whole ``-raw`` dump of ``p``, ending with a newline."""
    out = [f"Comment: {c}" for c in p.comments]
    if p.period_type is not None:
        out.append(f"PeriodType: {p.period_type.type} {p.period_type.unit}")
    out.append(f"Period: {p.period}")
    if p.time_nanos:
        out.append(f"Time: {format_go_time(p.time_nanos)}")
    if p.duration_nanos:
        out.append(f"Duration: {format_go_duration(p.duration_nanos)[:4]}")
    out.append("Samples:")
    out.append(" ".join(
        f"{st.type}/{st.unit}" + ("[dflt]" if st.type == p.default_sample_type else "")
        for st in p.sample_types
    ).strip())
    out.extend(_sample(s) for s in p.samples)
    out.append("Locations")
    out.extend(_location(loc) for loc in p.locations)
    out.append("Mappings")
    out.extend(_mapping(m) for m in p.mappings)
    return "\n".join(out) + "\n"
