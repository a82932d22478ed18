"""Pure-Python protobuf reader for ``profile.proto``: bytes -> a tree of plain tuples.

This is the canonical definition of the *raw tree* and the fallback of the C reader
(``pprofx/_native/wiredecode.c``, built as ``pprofx.profile._wire_c``), which must return the
same value or raise the same :class:`ProfileError` for the same input. Keeping the wire step
separate from linking (``decode.py``) lets the C part stay small and makes both twins
testable against each other.

The raw tree is a 15-tuple, indices into the string table left unresolved::

    (strings: list[str],
     sample_types: list[(type_idx, unit_idx)],
     samples: list[(location_ids: list[int], values: list[int], labels: list[(key, str, num, num_unit)])],
     mappings: list[(id, start, limit, offset, filename_idx, build_id_idx,
                     has_functions, has_filenames, has_line_numbers, has_inline_frames)],
     locations: list[(id, mapping_id, address, lines: list[(function_id, line, column)], is_folded)],
     functions: list[(id, name_idx, system_name_idx, filename_idx, start_line)],
     drop_frames_idx, keep_frames_idx, time_nanos, duration_nanos,
     period_type: (type_idx, unit_idx) | None, period, comments: list[idx],
     default_sample_type_idx, doc_url_idx)

int64 fields are returned signed, uint64 fields unsigned, bools as ``bool``. Unknown fields
are skipped as proto3 requires; a known field with the wrong wire type is an error.
"""

from __future__ import annotations

from .errors import ProfileError

_SIGN64 = 1 << 63
_TWO64 = 1 << 64


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a varint at ``pos`` (not beyond ``end``); return (value, new position)."""
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise ProfileError(f"truncated varint at byte {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if shift == 63 and b > 1:
                raise ProfileError(f"varint overflows 64 bits at byte {start}")
            return result, pos
        shift += 7
        if shift > 63:
            raise ProfileError(f"varint longer than 10 bytes at byte {start}")


def _signed(v: int) -> int:
    return v - _TWO64 if v & _SIGN64 else v


def _skip(buf: bytes, pos: int, end: int, wt: int, field: int, tagpos: int) -> int:
    """Skip an unknown field's payload of wire type ``wt``; return the new position."""
    if wt == 0:
        return _varint(buf, pos, end)[1]
    if wt == 1:
        pos += 8
    elif wt == 5:
        pos += 4
    elif wt == 2:
        n, pos = _varint(buf, pos, end)
        pos += n
    else:
        raise ProfileError(f"unsupported wire type {wt} for field {field} at byte {tagpos}")
    if pos > end:
        raise ProfileError(f"truncated field {field} at byte {tagpos}")
    return pos


def _fields(buf: bytes, pos: int, end: int):
    """Yield (field number, wire type, payload start, payload end or varint value, tag position).

    For wire type 0 the 4th item is the varint value; for 2 it is the payload end; other
    wire types are yielded with the position after the payload.
    """
    while pos < end:
        tagpos = pos
        tag, pos = _varint(buf, pos, end)
        field = tag >> 3
        wt = tag & 7
        if field == 0:
            raise ProfileError(f"invalid field number 0 at byte {tagpos}")
        if wt == 0:
            v, pos = _varint(buf, pos, end)
            yield field, 0, pos, v, tagpos
        elif wt == 2:
            n, pos = _varint(buf, pos, end)
            stop = pos + n
            if stop > end:
                raise ProfileError(
                    f"truncated field {field}: length {n} runs past the end of its message "
                    f"at byte {tagpos}"
                )
            yield field, 2, pos, stop, tagpos
            pos = stop
        else:
            newpos = _skip(buf, pos, end, wt, field, tagpos)
            yield field, wt, pos, newpos, tagpos
            pos = newpos


def _wrong(field: int, msg: str, wt: int, tagpos: int) -> ProfileError:
    return ProfileError(f"{msg} field {field} has wrong wire type {wt} at byte {tagpos}")


def _repeated(buf: bytes, out: list, wt: int, a: int, b: int, signed: bool, field, msg, tagpos) -> None:
    """Append one unpacked (wt 0, ``b`` is the value) or packed (wt 2) run of varints to ``out``."""
    if wt == 0:
        out.append(_signed(b) if signed else b)
    elif wt == 2:
        pos = a
        while pos < b:
            c = buf[pos]
            if c < 0x80:
                out.append(c)
                pos += 1
                continue
            v, pos = _varint(buf, pos, b)
            out.append(_signed(v) if signed else v)
    else:
        raise _wrong(field, msg, wt, tagpos)


def _value_type(buf: bytes, a: int, b: int) -> tuple[int, int]:
    t = u = 0
    for f, wt, _, v, tp in _fields(buf, a, b):
        if f in (1, 2):
            if wt != 0:
                raise _wrong(f, "ValueType", wt, tp)
            if f == 1:
                t = _signed(v)
            else:
                u = _signed(v)
    return (t, u)


def _label(buf: bytes, a: int, b: int) -> tuple[int, int, int, int]:
    vals = [0, 0, 0, 0]
    for f, wt, _, v, tp in _fields(buf, a, b):
        if 1 <= f <= 4:
            if wt != 0:
                raise _wrong(f, "Label", wt, tp)
            vals[f - 1] = _signed(v)
    return (vals[0], vals[1], vals[2], vals[3])


def _sample(buf: bytes, a: int, b: int) -> tuple:
    locs: list[int] = []
    values: list[int] = []
    labels: list[tuple] = []
    for f, wt, s, v, tp in _fields(buf, a, b):
        if f == 1:
            _repeated(buf, locs, wt, s, v, False, f, "Sample", tp)
        elif f == 2:
            _repeated(buf, values, wt, s, v, True, f, "Sample", tp)
        elif f == 3:
            if wt != 2:
                raise _wrong(f, "Sample", wt, tp)
            labels.append(_label(buf, s, v))
    return (locs, values, labels)


def _mapping(buf: bytes, a: int, b: int) -> tuple:
    vals = [0, 0, 0, 0, 0, 0, False, False, False, False]
    for f, wt, _, v, tp in _fields(buf, a, b):
        if 1 <= f <= 10:
            if wt != 0:
                raise _wrong(f, "Mapping", wt, tp)
            if f <= 4:
                vals[f - 1] = v
            elif f <= 6:
                vals[f - 1] = _signed(v)
            else:
                vals[f - 1] = v != 0
    return tuple(vals)


def _line(buf: bytes, a: int, b: int) -> tuple[int, int, int]:
    vals = [0, 0, 0]
    for f, wt, _, v, tp in _fields(buf, a, b):
        if 1 <= f <= 3:
            if wt != 0:
                raise _wrong(f, "Line", wt, tp)
            vals[f - 1] = v if f == 1 else _signed(v)
    return (vals[0], vals[1], vals[2])


def _location(buf: bytes, a: int, b: int) -> tuple:
    lid = mid = addr = 0
    folded = False
    lines: list[tuple] = []
    for f, wt, s, v, tp in _fields(buf, a, b):
        if f == 4:
            if wt != 2:
                raise _wrong(f, "Location", wt, tp)
            lines.append(_line(buf, s, v))
        elif 1 <= f <= 5:
            if wt != 0:
                raise _wrong(f, "Location", wt, tp)
            if f == 1:
                lid = v
            elif f == 2:
                mid = v
            elif f == 3:
                addr = v
            else:
                folded = v != 0
    return (lid, mid, addr, lines, folded)


def _function(buf: bytes, a: int, b: int) -> tuple:
    vals = [0, 0, 0, 0, 0]
    for f, wt, _, v, tp in _fields(buf, a, b):
        if 1 <= f <= 5:
            if wt != 0:
                raise _wrong(f, "Function", wt, tp)
            vals[f - 1] = v if f == 1 else _signed(v)
    return tuple(vals)


def decode_raw(data: bytes) -> tuple:
    """Parse serialized ``Profile`` bytes (not gzip) into the raw tree described above."""
    buf = bytes(data)
    strings: list[str] = []
    sample_types: list[tuple] = []
    samples: list[tuple] = []
    mappings: list[tuple] = []
    locations: list[tuple] = []
    functions: list[tuple] = []
    comments: list[int] = []
    scal = [0] * 10  # index by field number 7..15 (scalar fields)
    period_type = None
    for f, wt, s, v, tp in _fields(buf, 0, len(buf)):
        if f == 2:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            samples.append(_sample(buf, s, v))
        elif f == 4:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            locations.append(_location(buf, s, v))
        elif f == 5:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            functions.append(_function(buf, s, v))
        elif f == 6:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            strings.append(buf[s:v].decode("utf-8", "surrogateescape"))
        elif f == 1:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            sample_types.append(_value_type(buf, s, v))
        elif f == 3:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            mappings.append(_mapping(buf, s, v))
        elif f == 11:
            if wt != 2:
                raise _wrong(f, "Profile", wt, tp)
            period_type = _value_type(buf, s, v)
        elif f == 13:
            _repeated(buf, comments, wt, s, v, True, f, "Profile", tp)
        elif 7 <= f <= 15:
            if wt != 0:
                raise _wrong(f, "Profile", wt, tp)
            scal[f - 7] = _signed(v)
    return (
        strings,
        sample_types,
        samples,
        mappings,
        locations,
        functions,
        scal[0],  # drop_frames (7)
        scal[1],  # keep_frames (8)
        scal[2],  # time_nanos (9)
        scal[3],  # duration_nanos (10)
        period_type,  # (11)
        scal[5],  # period (12)
        comments,  # (13)
        scal[7],  # default_sample_type (14)
        scal[8],  # doc_url (15)
    )
