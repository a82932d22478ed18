"""Encoding: a :class:`Profile` -> serialized ``profile.proto`` bytes, gzip-compressed by default.

Our own small protobuf writer (stdlib only), so the agent never depends on the ``protobuf``
package. Output follows Go's conventions where they matter to consumers: string_table[0] is
"", ValueType fields are always written, zero-valued optional fields are omitted, repeated
scalars are packed, and gzip uses the fastest level with a zero mtime (reproducible bytes).
The profile is checked with :func:`~pprofx.profile.validate.check_valid` first.
"""

from __future__ import annotations

import gzip
import io

from .errors import ProfileError
from .model import Profile, ValueType
from .validate import check_valid

_MASK64 = (1 << 64) - 1


def _varint(out: bytearray, v: int) -> None:
    """Append ``v`` (int64 or uint64; negatives as two's complement) as a varint."""
    if v < 0:
        v &= _MASK64
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _varint_bytes(v: int) -> bytes:
    b = bytearray()
    _varint(b, v)
    return bytes(b)


def _key(field: int, wt: int) -> bytes:
    return _varint_bytes(field << 3 | wt)


_K = {(f, wt): _key(f, wt) for f in range(1, 16) for wt in (0, 2)}


def _int(out: bytearray, field: int, v: int) -> None:
    """Append a varint field, omitted when zero (proto3 default)."""
    if v:
        out += _K[field, 0]
        _varint(out, v)


def _bool(out: bytearray, field: int, v: bool) -> None:
    if v:
        out += _K[field, 0]
        out.append(1)


def _bytes_field(out: bytearray, field: int, payload: bytes | bytearray) -> None:
    out += _K[field, 2]
    _varint(out, len(payload))
    out += payload


def _packed(out: bytearray, field: int, values) -> None:
    """Append a packed repeated varint field (nothing for an empty list)."""
    if not values:
        return
    body = bytearray()
    for v in values:
        if 0 <= v < 0x80:
            body.append(v)
        else:
            _varint(body, v)
    _bytes_field(out, field, body)


class _Strings:
    """The string table under construction: "" first, then strings in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}
        self.table: list[str] = [""]

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = len(self.table)
            self.index[s] = i
            self.table.append(s)
        return i


def _value_type(vt: ValueType, strs: _Strings) -> bytearray:
    body = bytearray()
    # Go always writes both fields of a ValueType, even index 0.
    body += _K[1, 0]
    _varint(body, strs(vt.type))
    body += _K[2, 0]
    _varint(body, strs(vt.unit))
    return body


def serialize(p: Profile, validate: bool = True) -> bytes:
    """Serialize ``p`` to uncompressed protobuf bytes. Raises ProfileError if it is invalid."""
    if validate:
        check_valid(p)
    strs = _Strings()
    out = bytearray()
    for st in p.sample_types:
        _bytes_field(out, 1, _value_type(st, strs))
    label_cache: dict = {}
    for s in p.samples:
        body = bytearray()
        _packed(body, 1, [loc.id for loc in s.locations])
        _packed(body, 2, s.values)
        for lab in s.labels:
            enc = label_cache.get(lab)
            if enc is None:
                lb = bytearray()
                _int(lb, 1, strs(lab.key))
                _int(lb, 2, strs(lab.str))
                _int(lb, 3, lab.num)
                _int(lb, 4, strs(lab.num_unit))
                enc = label_cache[lab] = bytes(lb)
            _bytes_field(body, 3, enc)
        _bytes_field(out, 2, body)
    for m in p.mappings:
        body = bytearray()
        _int(body, 1, m.id)
        _int(body, 2, m.memory_start)
        _int(body, 3, m.memory_limit)
        _int(body, 4, m.file_offset)
        _int(body, 5, strs(m.filename))
        _int(body, 6, strs(m.build_id))
        _bool(body, 7, m.has_functions)
        _bool(body, 8, m.has_filenames)
        _bool(body, 9, m.has_line_numbers)
        _bool(body, 10, m.has_inline_frames)
        _bytes_field(out, 3, body)
    for loc in p.locations:
        body = bytearray()
        _int(body, 1, loc.id)
        if loc.mapping is not None:
            _int(body, 2, loc.mapping.id)
        _int(body, 3, loc.address)
        for ln in loc.lines:
            lb = bytearray()
            _int(lb, 1, ln.function.id)
            _int(lb, 2, ln.line)
            _int(lb, 3, ln.column)
            _bytes_field(body, 4, lb)
        _bool(body, 5, loc.is_folded)
        _bytes_field(out, 4, body)
    for f in p.functions:
        body = bytearray()
        _int(body, 1, f.id)
        _int(body, 2, strs(f.name))
        _int(body, 3, strs(f.system_name))
        _int(body, 4, strs(f.filename))
        _int(body, 5, f.start_line)
        _bytes_field(out, 5, body)
    # Scalars and indices are collected before the string table is written.
    tail = bytearray()
    _int(tail, 7, strs(p.drop_frames))
    _int(tail, 8, strs(p.keep_frames))
    _int(tail, 9, p.time_nanos)
    _int(tail, 10, p.duration_nanos)
    if p.period_type is not None:
        _bytes_field(tail, 11, _value_type(p.period_type, strs))
    _int(tail, 12, p.period)
    _packed(tail, 13, [strs(c) for c in p.comments])
    _int(tail, 14, strs(p.default_sample_type))
    _int(tail, 15, strs(p.doc_url))
    for st in strs.table:
        _bytes_field(out, 6, st.encode("utf-8", "surrogateescape"))
    out += tail
    return bytes(out)


def encode(p: Profile, compress: bool = True, validate: bool = True) -> bytes:
    """Serialize ``p``; gzip it (fastest level, mtime 0) unless ``compress`` is false."""
    raw = serialize(p, validate)
    if not compress:
        return raw
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue()


def write(p: Profile, dest) -> None:
    """Write ``p`` gzip-encoded to a path or a binary file object (like ``Profile.Write`` in Go)."""
    data = encode(p)
    if hasattr(dest, "write"):
        dest.write(data)
        return
    try:
        with open(dest, "wb") as f:
            f.write(data)
    except OSError as e:
        raise ProfileError(f"cannot write {dest}: {e.strerror or e}") from None
