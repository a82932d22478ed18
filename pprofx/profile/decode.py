"""Decoding: gzip or raw ``profile.proto`` bytes -> a linked :class:`Profile`.

Two steps: the wire step (``_wire_c`` when the C accelerator is built, else the pure-Python
twin ``_wire_py``) turns bytes into a tree of tuples; :func:`link` resolves string indices and
ids into objects, checking every reference. Input size is bounded: gzip is inflated
incrementally and refused past ``max_size`` bytes, so a gzip bomb cannot exhaust memory.
"""

from __future__ import annotations

import zlib

from . import _wire_py
from ._gc import gc_paused
from .errors import ProfileError
from .model import Function, Label, Line, Location, Mapping, Profile, Sample, ValueType

try:  # the C twin of _wire_py.decode_raw, built from pprofx/_native/wiredecode.c
    from . import _wire_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised by the fallback test run
    _wire_c = None

#: Largest decompressed profile accepted by default (bytes). Go's own profiles are far
#: smaller; 1 GiB leaves room for fleet-wide merges while refusing gzip bombs.
DEFAULT_MAX_SIZE = 1 << 30

GZIP_MAGIC = b"\x1f\x8b"

#: Inputs at least this large are decoded with the cyclic GC paused (see ``_gc``).
GC_PAUSE_MIN = 64 * 1024




def wire_backend() -> str:
    """Name of the wire decoder in use: ``"c"`` or ``"python"``."""
    return "c" if _wire_c is not None else "python"


def decode_raw(data: bytes, backend: str | None = None) -> tuple:
    """Run the wire step only (see ``_wire_py``); ``backend`` forces ``"c"`` or ``"python"``."""
    if backend is None:
        backend = wire_backend()
    if backend == "c":
        if _wire_c is None:
            raise ProfileError("the C wire decoder is not built (pprofx.profile._wire_c)")
        return _wire_c.decode_raw(data, ProfileError)
    return _wire_py.decode_raw(data)


def gunzip(data: bytes, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Inflate ``data`` if it starts with the gzip magic, else return it unchanged.

    Concatenated gzip members are inflated in turn, as Go and gzip(1) do. Raises
    :class:`ProfileError` for corrupt or truncated gzip, or output beyond ``max_size``.
    """
    if not data.startswith(GZIP_MAGIC):
        if len(data) > max_size:
            raise ProfileError(f"profile is {len(data)} bytes, over the {max_size}-byte limit")
        return bytes(data)
    out = []
    total = 0
    rest = bytes(data)
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while True:
                chunk = d.decompress(rest, max(1, min(1 << 24, max_size + 1 - total)))
                total += len(chunk)
                if total > max_size:
                    raise ProfileError(
                        f"profile inflates to more than {max_size} bytes; refusing it "
                        "(raise the size limit if the profile is genuine)"
                    )
                out.append(chunk)
                rest = d.unconsumed_tail
                if d.eof or (not chunk and not rest):
                    break
        except zlib.error as e:
            raise ProfileError(f"corrupt gzip data: {e}") from None
        if not d.eof:
            raise ProfileError("truncated gzip data: the compressed stream ends early")
        rest = d.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            raise ProfileError(f"{len(rest)} bytes of trailing data after the gzip stream")
    return b"".join(out)


def decode(data: bytes, max_size: int = DEFAULT_MAX_SIZE, backend: str | None = None) -> Profile:
    """Decode gzip or raw serialized profile bytes into a :class:`Profile`.

    Raises :class:`ProfileError` when the input is empty, not a profile, malformed, or
    larger than ``max_size`` once inflated. The result has passed :func:`link`'s checks.
    """
    if not data:
        raise ProfileError("empty input: a profile cannot be zero bytes")
    raw_bytes = gunzip(data, max_size)
    if not raw_bytes:
        raise ProfileError("empty profile after gzip decompression")
    with gc_paused(len(raw_bytes) >= GC_PAUSE_MIN):
        try:
            tree = decode_raw(raw_bytes, backend)
        except ProfileError as e:
            hint = ""
            if _looks_like_text(raw_bytes):
                hint = (" (the input is text: legacy text profiles such as ?debug=1 output are not "
                        "read; fetch the profile without debug= to get the binary form)")
            raise ProfileError(f"not a valid pprof protobuf: {e}{hint}") from None
        return link(tree)


def _looks_like_text(data: bytes) -> bool:
    head = data[:256]
    return bool(head) and all(b in b"\t\n\r" or 32 <= b < 127 for b in head)


def load(path: str, max_size: int = DEFAULT_MAX_SIZE) -> Profile:
    """Read and decode a profile file; I/O errors become :class:`ProfileError` too."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_size + 1)
    except OSError as e:
        raise ProfileError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return decode(data, max_size)
    except ProfileError as e:
        raise ProfileError(f"{path}: {e}") from None


def link(tree: tuple) -> Profile:
    """Resolve a raw tree (from ``decode_raw``) into a linked :class:`Profile`.

    Checks what pprof's decoder and ``CheckValid`` check: ``string_table[0] == ""``, string
    indices in range, nonzero unique ids, references to existing mappings, functions and
    locations, and one value per sample type.
    """
    (strings, sample_types, samples, mappings, locations, functions, drop_frames, keep_frames,
     time_nanos, duration_nanos, period_type, period, comments, default_sample_type,
     doc_url) = tree
    if not strings:
        if sample_types or samples or mappings or locations or functions:
            raise ProfileError("string_table is empty; string_table[0] must be ''")
        strings = [""]
    elif strings[0] != "":
        raise ProfileError(f"string_table[0] must be '' (found {strings[0][:40]!r})")
    nstr = len(strings)

    def s(idx: int, what: str) -> str:
        if 0 <= idx < nstr:
            return strings[idx]
        raise ProfileError(f"{what}: string index {idx} out of range (string_table has {nstr})")

    p = Profile()
    p.sample_types = [ValueType(s(t, "sample_type.type"), s(u, "sample_type.unit"))
                      for t, u in sample_types]
    if period_type is not None:
        p.period_type = ValueType(s(period_type[0], "period_type.type"),
                                  s(period_type[1], "period_type.unit"))
    p.period = period
    p.time_nanos = time_nanos
    p.duration_nanos = duration_nanos
    p.drop_frames = s(drop_frames, "drop_frames")
    p.keep_frames = s(keep_frames, "keep_frames")
    p.default_sample_type = s(default_sample_type, "default_sample_type")
    p.doc_url = s(doc_url, "doc_url")
    p.comments = [s(c, "comment") for c in comments]

    by_mid: dict[int, Mapping] = {}
    for (mid, start, limit, off, fn, bid, hf, hfl, hln, hin) in mappings:
        if mid == 0:
            raise ProfileError("found mapping with reserved ID=0")
        if mid in by_mid:
            raise ProfileError(f"multiple mappings with same id: {mid}")
        m = Mapping(mid, start, limit, off, s(fn, "mapping.filename"),
                    s(bid, "mapping.build_id"), hf, hfl, hln, hin)
        by_mid[mid] = m
        p.mappings.append(m)

    by_fid: dict[int, Function] = {}
    for (fid, name, sysname, fname, start_line) in functions:
        if fid == 0:
            raise ProfileError("found function with reserved ID=0")
        if fid in by_fid:
            raise ProfileError(f"multiple functions with same id: {fid}")
        f = Function(fid, s(name, "function.name"), s(sysname, "function.system_name"),
                     s(fname, "function.filename"), start_line)
        by_fid[fid] = f
        p.functions.append(f)

    by_lid: dict[int, Location] = {}
    for (lid, mid, addr, lines, folded) in locations:
        if lid == 0:
            raise ProfileError("found location with reserved id=0")
        if lid in by_lid:
            raise ProfileError(f"multiple locations with same id: {lid}")
        m = None
        if mid:
            m = by_mid.get(mid)
            if m is None:
                raise ProfileError(f"location {lid} references unknown mapping id {mid}")
        lns = []
        for fid, line, col in lines:
            f = by_fid.get(fid)
            if f is None:
                raise ProfileError(f"location {lid} has a line with unknown function id {fid}")
            lns.append(Line(f, line, col))
        loc = Location(lid, m, addr, lns, folded)
        by_lid[lid] = loc
        p.locations.append(loc)

    nvals = len(sample_types)
    if samples and not nvals:
        raise ProfileError("missing sample type information")
    out = p.samples
    get_loc = by_lid.__getitem__
    label_cache: dict[tuple, Label] = {}
    for idx, (lids, values, labels) in enumerate(samples):
        if len(values) != nvals:
            raise ProfileError(
                f"malformed profile: mismatch: sample {idx} has {len(values)} values "
                f"vs. {nvals} types"
            )
        try:
            locs = list(map(get_loc, lids))
        except KeyError as e:
            raise ProfileError(f"sample {idx} references unknown location id {e.args[0]}") from None
        labs = []
        for lab in labels:
            got = label_cache.get(lab)
            if got is None:
                k, sv, num, unit = lab
                got = Label(s(k, "label.key"), s(sv, "label.str"), num, s(unit, "label.num_unit"))
                label_cache[lab] = got
            labs.append(got)
        out.append(Sample(locs, values, labs))
    return p
