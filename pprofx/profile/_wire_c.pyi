"""C twin of :func:`pprofx.profile._wire_py.decode_raw` (built from ``pprofx/_native/wiredecode.c``).

Returns the same raw tree as the pure-Python reader for the same bytes, and for malformed
input raises ``error_type`` (the caller passes :class:`pprofx.profile.errors.ProfileError`)
with the same message, e.g. ``"truncated varint at byte 12"``. Optional: when it is not
built, :mod:`pprofx.profile.decode` falls back to ``_wire_py``.
"""

def decode_raw(data: bytes | bytearray | memoryview, error_type: type[Exception], /) -> tuple:
    """Parse serialized ``Profile`` bytes (not gzip) into the raw tree of ``_wire_py``.

    ``data`` is any bytes-like object; malformed input raises ``error_type`` with the
    same message as ``_wire_py.decode_raw``.
    """
    ...
