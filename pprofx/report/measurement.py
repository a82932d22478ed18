"""Units and number formatting exactly as ``go tool pprof`` prints them.

pprof knows three families of units (bytes in powers of 1024, time from ns to hours, and
Google Compute Units); anything else is a plain count. ``scale`` converts a value between
units (``minimum``/``auto`` pick the largest unit that keeps the value >= 1),
``scaled_label`` renders ``1.10s``/``62.50MB``/``0`` and ``percentage`` renders the
six-character percent column. Reports must agree with pprof to the character, so the rules
(two decimals with ``.00`` dropped, ``%5.2g`` below 1 %) are reproduced, not approximated.
"""

from __future__ import annotations

from typing import NamedTuple


class Unit(NamedTuple):
    canonical: str
    aliases: tuple[str, ...]
    factor: float


class UnitFamily(NamedTuple):
    units: tuple[Unit, ...]
    default: Unit


_NS = 1.0
FAMILIES: tuple[UnitFamily, ...] = (
    UnitFamily((
        Unit("B", ("b", "byte"), 1.0),
        Unit("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
        Unit("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
        Unit("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
        Unit("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
        Unit("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
    ), Unit("B", ("b", "byte"), 1.0)),
    UnitFamily((
        Unit("ns", ("ns", "nanosecond"), _NS),
        Unit("us", ("μs", "us", "microsecond"), 1e3),
        Unit("ms", ("ms", "millisecond"), 1e6),
        Unit("s", ("s", "sec", "second"), 1e9),
        Unit("hrs", ("hour", "hr"), 3600e9),
    ), Unit("s", (), 1e9)),
    UnitFamily((
        Unit("n*GCU", ("nanogcu",), 0.001),
        Unit("u*GCU", ("microgcu",), 1.0),
        Unit("m*GCU", ("milligcu",), 1000.0),
        Unit("GCU", ("gcu",), 1e6),
        Unit("k*GCU", ("kilogcu",), 1e9),
        Unit("M*GCU", ("megagcu",), 1e12),
        Unit("G*GCU", ("gigagcu",), 1e15),
        Unit("T*GCU", ("teragcu",), 1e18),
        Unit("P*GCU", ("petagcu",), 1e21),
    ), Unit("GCU", (), 1e6)),
)

#: Units under which a value is a plain number, printed without a suffix.
_UNITLESS = ("count", "sample", "unit", "minimum", "auto")


def _sniff(family: UnitFamily, unit: str) -> Unit | None:
    unit = unit.lower()
    if len(unit) > 2 and unit.endswith("s"):
        unit = unit[:-1]
    for u in family.units:
        if unit in u.aliases:
            return u
    return None


def _auto(family: UnitFamily, value: float) -> tuple[float, str] | None:
    factor, name = 0.0, ""
    for u in family.units:
        if u.factor >= factor and value / u.factor >= 1.0:
            factor, name = u.factor, u.canonical
    if factor == 0:
        return None
    return value / factor, name


def scale(value: int, from_unit: str, to_unit: str) -> tuple[float, str]:
    """Convert ``value`` in ``from_unit`` to ``to_unit`` (or the best unit for
    ``minimum``/``auto``); returns (scaled value, canonical unit name or "")."""
    if value < 0:
        v, u = scale(-value, from_unit, to_unit)
        return -v, u
    for family in FAMILIES:
        src = _sniff(family, from_unit)
        if src is None:
            continue
        v = float(value) * src.factor
        if to_unit in ("minimum", "auto"):
            best = _auto(family, v)
            if best is not None:
                return best
            return v / family.default.factor, family.default.canonical
        dst = _sniff(family, to_unit)
        if dst is None:
            return v / family.default.factor, family.default.canonical
        return v / dst.factor, dst.canonical
    if to_unit in _UNITLESS:
        return float(value), ""
    return float(value), to_unit


def _go_fixed2(v: float) -> str:
    # Go's %.2f rounds half to even on the binary value, as Python's does.
    return f"{v:.2f}"


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """``value`` in ``to_unit`` with two decimals, ``.00`` dropped; zero is ``0``."""
    v, u = scale(value, from_unit, to_unit)
    s = _go_fixed2(v)
    if s.endswith(".00"):
        s = s[:-3]
    if s in ("0", "-0"):
        return "0"
    return s + u


def label(value: int, unit: str) -> str:
    """``value`` scaled automatically to its best unit (pprof's ``measurement.Label``)."""
    return scaled_label(value, unit, "auto")


def go_g(v: float, prec: int) -> str:
    """Go's ``%.<prec>g`` (same as C's except that Go prints ``e+00``-style exponents alike)."""
    return f"{v:.{prec}g}"


def percentage(value: int, total: int) -> str:
    """The six-character percentage column: ``  100%``, ``61.59%``, `` 0.89%``, ``    0%``."""
    ratio = abs(value / total) * 100 if total != 0 else 0.0
    if 99.95 <= ratio <= 100.05:
        return "  100%"
    if ratio >= 1.0:
        return f"{ratio:5.2f}%"
    return f"{go_g(ratio, 2):>5}%"


def is_time_unit(unit: str) -> bool:
    """True when ``unit`` is one of pprof's time units (used for "Total samples = …%")."""
    return _sniff(FAMILIES[1], unit) is not None
