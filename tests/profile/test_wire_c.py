"""The C wire reader (``_wire_c``, from ``pprofx/_native/wiredecode.c``) against its twin.

``_wire_py.decode_raw`` is the specification: for every input the C reader must return an
equal raw tree of the same shape (lists vs tuples, bools vs ints) or raise ``ProfileError``
with the same message. Checked on the whole corpus, on hand-made defects (one per message),
on thousands of truncated, bit-flipped and random inputs, and for leaks and speed.

Skips when the extension is not built (``python3 setup.py build_ext --inplace``), except
under CI, where a missing extension is a failure.
"""

from __future__ import annotations

import gc
import gzip
import os
import random
import sys
from array import array

import pytest

from pprofx.profile import _wire_py
from pprofx.profile.errors import ProfileError
from tests.conftest import CORPUS, IN_CI, corpus_profiles, missing
from tests.profile.test_malformed import varint

try:
    from pprofx.profile import _wire_c
except ImportError as exc:  # not built
    _wire_c = None
    _IMPORT_ERROR = str(exc)


@pytest.fixture(autouse=True)
def _need_extension():
    if _wire_c is None:
        reason = (
            f"pprofx.profile._wire_c is not built ({_IMPORT_ERROR}); "
            "build it with `python3 setup.py build_ext --inplace`"
        )
        if IN_CI:
            pytest.fail(f"{reason} (required under CI=true)")
        pytest.skip(reason)


# --------------------------------------------------------------------------------------
# Helpers


def outcome(fn, data):
    """("ok", tree) or ("error", message); any exception but ProfileError propagates."""
    try:
        return ("ok", fn(data))
    except ProfileError as e:
        return ("error", str(e))


def c_decode(data):
    return _wire_c.decode_raw(data, ProfileError)


def check_shape(tree) -> None:
    """Assert the raw-tree contract of ``_wire_py``'s docstring, container and scalar types."""

    def ints(xs, n=None):
        assert n is None or len(xs) == n
        assert all(type(x) is int for x in xs), xs

    assert type(tree) is tuple and len(tree) == 15
    strings, stypes, samples, mappings, locations, functions = tree[:6]
    assert type(strings) is list and all(type(s) is str for s in strings)
    assert type(stypes) is list
    for vt in stypes:
        assert type(vt) is tuple
        ints(vt, 2)
    assert type(samples) is list
    for s in samples:
        assert type(s) is tuple and len(s) == 3
        assert type(s[0]) is list and type(s[1]) is list and type(s[2]) is list
        ints(s[0])
        ints(s[1])
        for lab in s[2]:
            assert type(lab) is tuple
            ints(lab, 4)
    assert type(mappings) is list
    for m in mappings:
        assert type(m) is tuple and len(m) == 10
        ints(m[:6])
        assert all(type(x) is bool for x in m[6:])
    assert type(locations) is list
    for loc in locations:
        assert type(loc) is tuple and len(loc) == 5
        ints(loc[:3])
        assert type(loc[3]) is list and type(loc[4]) is bool
        for ln in loc[3]:
            assert type(ln) is tuple
            ints(ln, 3)
    assert type(functions) is list
    for f in functions:
        assert type(f) is tuple
        ints(f, 5)
    ints(tree[6:10])
    assert tree[10] is None or (type(tree[10]) is tuple and ints(tree[10], 2) is None)
    ints(tree[11:12])
    assert type(tree[12]) is list
    ints(tree[12])
    ints(tree[13:15])


def assert_twins_agree(data) -> tuple:
    want = outcome(_wire_py.decode_raw, data)
    got = outcome(c_decode, data)
    assert got == want, f"input {bytes(data)[:80]!r}... ({len(data)} bytes)"
    if got[0] == "ok":
        check_shape(got[1])
        check_shape(want[1])
    return got


# A tiny protobuf writer for hand-made inputs.


uv = varint  # the writer of test_malformed: unsigned varint of a 64-bit value


def key(num: int, wt: int) -> bytes:
    return uv(num << 3 | wt)


def fv(num: int, v: int) -> bytes:  # varint field
    return key(num, 0) + uv(v)


def fb(num: int, payload: bytes) -> bytes:  # length-delimited field
    return key(num, 2) + uv(len(payload)) + payload


def fpacked(num: int, vals) -> bytes:
    return fb(num, b"".join(uv(v) for v in vals))


def f64(num: int) -> bytes:
    return key(num, 1) + bytes(range(8))


def f32(num: int) -> bytes:
    return key(num, 5) + bytes(4)


BIG = (1 << 64) - 5  # > 2**63: unsigned as is, signed negative

# A profile using every field of every message, unknown fields of each wire type at each
# level, both packings of repeated scalars, values > 2**63, negative int64, non-UTF-8
# strings, and repeated singular fields (last one wins).
FULL = b"".join([
    fb(1, fv(1, 1) + fv(2, 2) + f32(9)),
    fb(1, fv(1, 3) + fv(2, 4) + fv(1, 5)),
    fb(2, fpacked(1, [1, 2, 300, BIG]) + fv(1, 7) + fpacked(2, [5, -1, 1 << 40])
       + fv(2, -7) + fb(3, fv(1, 6) + fv(2, 7) + fv(3, -3) + fv(4, 8) + f64(5))
       + fb(3, b"") + f64(9) + fb(10, b"junk")),
    fb(2, b""),
    fb(2, fv(1, 2) + fv(1, 3) + fpacked(2, [])),
    fb(3, b"".join(fv(i, v) for i, v in enumerate(
        [9, 0x400000, BIG, 1 << 63, 10, -2, 1, 0, 2, 1 << 40], start=1)) + fb(11, b"x")),
    fb(3, fv(1, 2) + fv(7, 0) + fv(8, 1)),
    fb(4, fv(1, 1) + fv(2, 9) + fv(3, BIG) + fb(4, fv(1, 1) + fv(2, 42) + fv(3, 7))
       + fb(4, fv(1, 2) + fv(2, -1) + fv(3, -2) + f32(4)) + fv(5, 1) + f64(6)),
    fb(4, fv(1, 2) + fv(5, 0) + fb(4, b"")),
    fb(5, fv(1, 1) + fv(2, 5) + fv(3, 6) + fv(4, 7) + fv(5, -12) + fv(6, 3)),
    fb(5, fv(1, BIG) + fv(2, 1 << 62)),
    fb(6, b""), fb(6, b"samples"), fb(6, b"count"), fb(6, "h\u00e9llo \u4e16\u754c".encode()),
    fb(6, b"bad \xff\xfe \xc3 utf-8"), fb(6, b"\xed\xa0\x80 surrogate"),
    fv(7, 1), fv(8, 2), fv(9, -1234567890123), fv(10, 10**10), fb(11, fv(1, 3) + fv(2, 4)),
    fv(12, 10_000_000), fpacked(13, [1, 2, -3]), fv(13, 4), fv(14, 2), fv(15, 5),
    fv(16, 99), fb(17, b"\x00\x01"), f64(18), f32(19), fb(1000, b"\xff" * 3),
    fv(1 << 40, 1), fv(12, 7),  # period again: the last value wins
    fb(11, fv(2, 9)),  # period_type again: replaced as a whole
])

# One input per error message, at the top level and inside each message.
S = fb(6, b"")  # one string: errors below are not at byte 0
DEFECTS = {
    "truncated varint": b"\x80",
    "truncated varint later": S + fv(7, 1) + b"\x38\xff\xff",
    "longer than 10 bytes": S + b"\x38" + b"\xff" * 10 + b"\x01",
    "exactly 10 bytes": S + b"\x38" + b"\xff" * 9 + b"\x01",
    "overflow": S + b"\x38" + b"\xff" * 9 + b"\x02",
    "overflow in tag": b"\xff" * 9 + b"\x7f",
    "invalid field 0": S + b"\x00\x01",
    "invalid field 0 wt2": b"\x02\x00",
    "group start": S + key(20, 3),
    "group end": key(20, 4),
    "wire type 6": key(2, 6) + b"\x00",
    "wire type 7": key(3, 7),
    "huge field number": b"\xff" * 9 + b"\x01",
    "truncated fixed64": S + key(30, 1) + b"1234567",
    "truncated fixed32": S + key(30, 5) + b"123",
    "truncated fixed32 known field": key(6, 5) + b"12",
    "length past end": S + fb(6, b"abc")[:-1],
    "huge length": key(6, 2) + uv((1 << 64) - 1),
    "length varint truncated": key(6, 2) + b"\x80",
    "value varint truncated": key(7, 0),
}
for _num in (1, 2, 3, 4, 5, 6, 11):
    DEFECTS[f"Profile field {_num} as varint"] = S + fv(_num, 1)
    DEFECTS[f"Profile field {_num} as fixed32"] = S + f32(_num)
for _num in (7, 8, 9, 10, 12, 14, 15):  # (13 may be packed)
    DEFECTS[f"Profile field {_num} as bytes"] = S + fb(_num, b"")
DEFECTS["Profile field 13 as fixed64"] = S + f64(13)
for _msg, _outer, _nums in [
    ("ValueType", 1, (1, 2)), ("ValueType period", 11, (1, 2)), ("Mapping", 3, range(1, 11)),
    ("Location", 4, (1, 2, 3, 5)), ("Function", 5, range(1, 6)),
]:
    for _num in _nums:
        DEFECTS[f"{_msg} field {_num}"] = S + fb(_outer, fv(20, 1) + fb(_num, b"z"))
DEFECTS["Location line as varint"] = S + fb(4, fv(1, 1) + fv(4, 1))
DEFECTS["Sample field 1 fixed64"] = S + fb(2, fv(1, 1) + f64(1))
DEFECTS["Sample field 2 fixed32"] = S + fb(2, f32(2))
DEFECTS["Sample field 3 varint"] = S + fb(2, fv(3, 1))
DEFECTS["Sample packed truncated"] = S + fb(2, fb(1, b"\x01\x80"))
DEFECTS["Sample packed overlong"] = S + fb(2, fb(2, b"\x01" + b"\x80" * 10 + b"\x00"))
DEFECTS["Sample packed overflow"] = S + fb(2, fb(2, b"\x05" + b"\xff" * 9 + b"\x03"))
DEFECTS["Profile comments packed truncated"] = S + fb(13, b"\x81")
for _num in range(1, 5):
    DEFECTS[f"Label field {_num}"] = S + fb(2, fv(1, 1) + fb(3, fv(1, 1) + f32(_num)))
for _num in range(1, 4):
    DEFECTS[f"Line field {_num}"] = S + fb(4, fb(4, fv(4, 1) + fb(_num, b"")))
DEFECTS["nested length past end"] = S + fb(2, fb(3, fb(1, b"abc")[:-1]))
DEFECTS["nested group"] = S + fb(4, fb(4, key(5, 3)))
DEFECTS["nested truncated varint"] = S + fb(5, b"\x08\x80")
DEFECTS["error after an earlier nested error"] = S + fb(2, f32(3)) + b"\x80"


# --------------------------------------------------------------------------------------
# Equality with the Python twin


def test_full_profile_agrees():
    ok, tree = assert_twins_agree(FULL)
    assert ok == "ok"
    # Spot checks that the synthetic profile exercises what it means to.
    assert tree[2][0][0] == [1, 2, 300, BIG, 7]
    assert tree[2][0][1] == [5, -1, 1 << 40, -7]
    assert tree[3][0][2:4] == (BIG, 1 << 63) and tree[3][0][4:6] == (10, -2)
    assert tree[4][0][2] == BIG and tree[4][0][4] is True
    assert tree[4][0][3] == [(1, 42, 7), (2, -1, -2)]
    assert tree[0][4] == "bad \udcff\udcfe \udcc3 utf-8"
    assert tree[8] == -1234567890123 and tree[10] == (0, 9) and tree[11] == 7
    assert tree[12] == [1, 2, -3, 4]


def test_empty_input():
    assert c_decode(b"") == _wire_py.decode_raw(b"") == (
        [], [], [], [], [], [], 0, 0, 0, 0, None, 0, [], 0, 0)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_messages_agree(name):
    kind, msg = assert_twins_agree(DEFECTS[name])
    if name != "exactly 10 bytes":
        assert kind == "error"
        assert " at byte " in msg


def test_defect_messages_cover_every_kind():
    results = [outcome(c_decode, d) for d in DEFECTS.values()]
    messages = " | ".join(msg for kind, msg in results if kind == "error")
    for fragment in [
        "truncated varint at byte 0", "varint longer than 10 bytes at byte 3",
        "varint overflows 64 bits at byte 3", "invalid field number 0 at byte 2",
        "unsupported wire type 3 for field 20 at byte 2",
        "unsupported wire type 7 for field 2305843009213693951 at byte 0",
        "truncated field 30 at byte 2",
        "truncated field 6: length 18446744073709551615 runs past the end of its message at byte 0",
        "Profile field 2 has wrong wire type 0", "ValueType field 1 has wrong wire type 2",
        "Mapping field 10 has", "Location field 5 has", "Location field 4 has wrong wire type 0",
        "Function field 5 has", "Sample field 3 has wrong wire type 0", "Label field 4 has",
        "Line field 3 has", "Profile field 13 has wrong wire type 1",
    ]:
        assert fragment in messages


def test_corpus_agrees(corpus):
    files = corpus_profiles()
    assert files, f"no gzip profiles under {corpus}"
    for path in files:
        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError):
            continue
        assert_twins_agree(raw)


def test_bytes_like_inputs():
    want = _wire_py.decode_raw(FULL)
    assert c_decode(bytearray(FULL)) == want
    assert c_decode(memoryview(FULL)) == want
    assert c_decode(memoryview(b"??" + FULL + b"??")[2:-2]) == want
    # A non-contiguous view: bytes(view) is what the twin reads.
    doubled = bytes(b for c in FULL for b in (c, 0))
    assert c_decode(memoryview(doubled)[::2]) == want
    wide = array("I", FULL[: len(FULL) // 4 * 4])
    assert outcome(c_decode, wide) == outcome(_wire_py.decode_raw, wide)
    # Offsets count from the start of the view, as with bytes(view).
    bad = b"xyz" + DEFECTS["length past end"]
    assert outcome(c_decode, memoryview(bad)[3:]) == outcome(
        _wire_py.decode_raw, DEFECTS["length past end"])


def test_error_type_is_the_one_passed():
    class Custom(Exception):
        pass

    with pytest.raises(Custom, match=r"^truncated varint at byte 0$"):
        _wire_c.decode_raw(b"\x80", Custom)
    with pytest.raises(TypeError):
        _wire_c.decode_raw(b"", "not a class")
    with pytest.raises(TypeError):
        _wire_c.decode_raw(b"")
    with pytest.raises(TypeError):
        _wire_c.decode_raw("a str", ProfileError)


# --------------------------------------------------------------------------------------
# Malformed input: both twins fail the same way


def small_corpus_profile() -> bytes | None:
    if CORPUS is None:
        return None
    p = CORPUS / "go" / "mutex.pb.gz"
    return gzip.decompress(p.read_bytes()) if p.is_file() else None


def soup(rng: random.Random, depth: int) -> bytes:
    """Random fields with random numbers and wire types, valid framing mostly."""
    out = []
    for _ in range(rng.randrange(0, 6)):
        num = rng.choice([1, 2, 3, 4, 5, 6, 7, 11, 13, 15, 16, rng.randrange(1, 1 << 20)])
        wt = rng.choice([0, 0, 0, 2, 2, 2, 1, 5, 3, 6])
        if wt == 0:
            out.append(fv(num, rng.choice([0, 1, 127, 128, 1 << 35, BIG, -1])))
        elif wt == 2:
            if depth and rng.random() < 0.7:
                payload = soup(rng, depth - 1)
            else:
                payload = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 6)))
            out.append(fb(num, payload))
        elif wt == 1:
            out.append(f64(num))
        elif wt == 5:
            out.append(f32(num))
        else:
            out.append(key(num, wt))
    return b"".join(out)


def test_truncations_flips_and_random_bytes_agree():
    rng = random.Random(20240611)
    bases = [FULL] + [b for b in [small_corpus_profile()] if b]
    cases: list[bytes] = []
    for base in bases:
        cases += [base[:n] for n in range(len(base))]
        for _ in range(1500):
            b = bytearray(base)
            for _ in range(rng.choice([1, 1, 2, 3])):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            cases.append(bytes(b))
        for _ in range(300):  # splice in a run of continuation bytes or a random byte
            i = rng.randrange(len(base))
            ins = rng.choice([b"\xff" * rng.randrange(1, 12), bytes([rng.randrange(256)])])
            cases.append(base[:i] + ins + base[i:])
    for _ in range(800):
        cases.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
    for _ in range(1500):
        cases.append(soup(rng, 3))
    kinds = {"ok": 0, "error": 0}
    for data in cases:
        kinds[assert_twins_agree(data)[0]] += 1
    assert len(cases) > 4000 and kinds["ok"] > 100 and kinds["error"] > 1000, kinds


# --------------------------------------------------------------------------------------
# Leaks and speed


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def test_no_leaks_on_valid_and_corrupt_input():
    # MANY_INTS has more distinct ints than the C reader's int cache has slots (evictions).
    many_ints = fb(2, fpacked(1, range(257, 5000)) + fpacked(2, range(1 << 40, (1 << 40) + 999)))
    inputs = [FULL, FULL[:-3], FULL[: len(FULL) // 2], many_ints, many_ints[:-1],
              *DEFECTS.values()]
    rng = random.Random(7)
    for _ in range(20):
        b = bytearray(FULL)
        b[rng.randrange(len(b))] ^= 0x80
        inputs.append(bytes(b))
    refs = [sys.getrefcount(x) for x in inputs] + [sys.getrefcount(ProfileError)]

    def run(n: int) -> None:
        k = len(inputs)
        for i in range(n):
            try:
                _wire_c.decode_raw(inputs[i % k], ProfileError)
            except ProfileError:
                pass

    def run_big(n: int) -> None:  # inputs large enough for the GC pause
        for i in range(n):
            try:
                _wire_c.decode_raw(BIG_INPUTS[i % 2], ProfileError)
            except ProfileError:
                pass

    run(10_000)  # warm up allocator pools and caches
    run_big(10)
    rss0, blocks0 = _rss(), sys.getallocatedblocks()
    run(100_000)
    run_big(100)
    rss1, blocks1 = _rss(), sys.getallocatedblocks()
    assert [sys.getrefcount(x) for x in inputs] + [sys.getrefcount(ProfileError)] == refs
    # A leak of even one small object per call would add ~100k blocks / several MB.
    assert blocks1 - blocks0 < 2_000, (blocks0, blocks1)
    if rss0 is not None:
        assert rss1 - rss0 < 2 * 1024 * 1024, (rss0, rss1)


# Concatenated Profile messages are one Profile with the repeated fields of all.
BIG_INPUTS = (FULL * 200, FULL * 200 + b"\x80")


def test_gc_state_is_restored():
    """decode() pauses the cyclic GC for large inputs and puts it back as it was."""
    from pprofx.profile.decode import GC_PAUSE_MIN, decode

    assert len(BIG_INPUTS[0]) >= GC_PAUSE_MIN
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            for data in BIG_INPUTS + (FULL,):
                assert_twins_agree(data)
                try:
                    decode(data)
                except ProfileError:
                    pass
                assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_large_profile_agrees(corpus):
    """The corpus's large Go CPU profile (20k samples); speed is measured by
    benchmarks/decode.py, not here."""
    path = corpus / "googlepprof" / "internal" / "proftest" / "testdata" / "large.cpu"
    if not path.is_file():
        missing(f"{path} not found in the corpus")
    raw = gzip.decompress(path.read_bytes())
    got = c_decode(raw)
    assert got == _wire_py.decode_raw(raw)
    check_shape(got)
    assert len(got[2]) > 10_000
