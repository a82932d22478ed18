"""Malformed input: every class of bad bytes gives ProfileError with a useful message.

Feeds hand-made defects (one per class the decoder knows), every truncation and many bit
flips of a real profile, and random bytes, to both wire decoders. Nothing may raise another
exception type, hang, or allocate beyond a small multiple of the input.
"""

from __future__ import annotations

import gzip
import random
import resource
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pprofx.profile import (
    Function,
    Line,
    Location,
    Mapping,
    Profile,
    ProfileError,
    Sample,
    ValueType,
    decode,
    serialize,
)
from pprofx.profile.decode import gunzip


def varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(num: int, wt: int, payload) -> bytes:
    key = varint(num << 3 | wt)
    if wt == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def strtab(*strings: str) -> bytes:
    return b"".join(field(6, 2, s.encode()) for s in strings)


def small_profile() -> Profile:
    f = Function(1, "main", "main", "main.py", 1)
    m = Mapping(1, filename="python", has_functions=True)
    loc = Location(1, m, 0x10, [Line(f, 3)])
    return Profile(
        sample_types=[ValueType("samples", "count"), ValueType("cpu", "nanoseconds")],
        samples=[Sample([loc], [1, 10_000_000]), Sample([loc], [2, 20_000_000])],
        mappings=[m], locations=[loc], functions=[f],
        period_type=ValueType("cpu", "nanoseconds"), period=10_000_000, time_nanos=1,
    )


VALID_TYPES = field(1, 2, field(1, 0, 1) + field(2, 0, 2)) + strtab("", "samples", "count")

CASES = {
    "empty input": (b"", "empty input"),
    "truncated varint": (b"\x08\xff\xff", "truncated varint at byte 1"),
    "overlong varint": (b"\x08" + b"\xff" * 11 + b"\x01", "varint longer than 10 bytes"),
    "varint over 64 bits": (b"\x08" + b"\xff" * 9 + b"\x7f", "varint overflows 64 bits"),
    "length past end": (b"\x12\x10\x08", "runs past the end"),
    "group wire type": (b"\x13\x14", "unsupported wire type 3"),
    "wire type 7": (b"\x0f", "unsupported wire type 7"),
    "field number 0": (b"\x00\x01", "invalid field number 0"),
    "wrong wire type for sample": (field(2, 0, 5), "Profile field 2 has wrong wire type 0"),
    "wrong wire type in Line": (
        field(4, 2, field(1, 0, 1) + field(4, 2, field(2, 2, b"x"))) + strtab(""),
        "Line field 2 has wrong wire type 2"),
    "string_table[0] not empty": (strtab("x", "y"), "string_table[0] must be ''"),
    "string index out of range": (field(1, 2, field(1, 0, 7)) + strtab("", "a"),
                                  "string index 7 out of range"),
    "negative string index": (field(14, 0, -1) + strtab(""), "string index -1 out of range"),
    "value count mismatch": (
        VALID_TYPES + field(2, 2, field(2, 0, 1) + field(2, 0, 2)),
        "sample 0 has 2 values vs. 1 types"),
    "samples without sample types": (field(2, 2, field(2, 0, 1)) + strtab(""),
                                     "missing sample type information"),
    "unknown location id": (VALID_TYPES + field(2, 2, field(1, 0, 9) + field(2, 0, 1)),
                            "unknown location id 9"),
    "location id 0": (field(4, 2, field(3, 0, 5)) + strtab(""), "reserved id=0"),
    "duplicate function id": (field(5, 2, field(1, 0, 1)) * 2 + strtab(""),
                              "multiple functions with same id: 1"),
    "unknown mapping": (field(4, 2, field(1, 0, 1) + field(2, 0, 4)) + strtab(""),
                        "unknown mapping id 4"),
    "unknown function": (field(4, 2, field(1, 0, 1) + field(4, 2, field(1, 0, 3))) + strtab(""),
                         "unknown function id 3"),
    "corrupt gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff\xff\xff", "corrupt gzip"),
    "truncated gzip": (gzip.compress(b"\x0a" * 1000)[:20], "truncated gzip"),
    "garbage after gzip": (gzip.compress(strtab("")) + b"junk", "trailing data"),
    "text, not a profile": (b"heap profile: nonsense\n", "not a valid pprof protobuf"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_defect_class_has_a_clear_error(name, backend):
    data, expected = CASES[name]
    with pytest.raises(ProfileError) as exc:
        decode(data, backend=backend)
    assert expected in str(exc.value), str(exc.value)


def test_gzip_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # 64 MiB of zeros, ~64 KiB
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ProfileError, match="inflates to more than 1048576 bytes"):
        decode(bomb, max_size=1 << 20)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 40_000  # never held the 64 MiB


def test_oversized_raw_input_is_refused():
    with pytest.raises(ProfileError, match="over the 100-byte limit"):
        decode(strtab("") + b"\x0a\x00" * 100, max_size=100)


def test_concatenated_gzip_members_are_read():
    raw = serialize(small_profile())
    data = gzip.compress(raw[:10]) + gzip.compress(raw[10:])
    assert gunzip(data) == raw


def _must_be_profile_or_profile_error(data: bytes, backend: str) -> None:
    try:
        decode(data, backend=backend, max_size=1 << 22)
    except ProfileError as e:
        assert str(e)


def test_every_truncation(backend):
    raw = serialize(small_profile())
    for n in range(len(raw)):
        _must_be_profile_or_profile_error(raw[:n], backend)
    gz = gzip.compress(raw)
    for n in range(len(gz)):
        _must_be_profile_or_profile_error(gz[:n], backend)


def test_bit_flips(backend):
    raw = bytearray(serialize(small_profile()))
    rng = random.Random(1234)
    for _ in range(3000):
        b = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        _must_be_profile_or_profile_error(bytes(b), backend)


def test_bit_flips_in_gzip(backend):
    gz = bytearray(gzip.compress(serialize(small_profile())))
    rng = random.Random(99)
    for _ in range(1000):
        b = bytearray(gz)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        _must_be_profile_or_profile_error(bytes(b), backend)


@settings(max_examples=500, deadline=2000)
@given(st.binary(max_size=400))
def test_random_bytes(data):
    from pprofx.profile.decode import wire_backend

    for backend in ("python", "c") if wire_backend() == "c" else ("python",):
        _must_be_profile_or_profile_error(data, backend)
        _must_be_profile_or_profile_error(zlib.compress(data), backend)
