"""In-memory model of ``profile.proto`` (package ``perftools.profiles``).

Every message and field of the proto is represented (see ``shared/spec/go-pprof-compat.md`` §A),
but like google/pprof's Go package the model is *linked*: string-table indices are resolved
to ``str``, a :class:`Location` points at its :class:`Mapping` object, a :class:`Line` at its
:class:`Function`, and a :class:`Sample` holds :class:`Location` objects (leaf first). The
encoder rebuilds the string table and the ids' references, so code that transforms profiles
never juggles indices.

Ownership: a :class:`Profile` owns its samples, locations, functions and mappings; operations
that return a new profile (merge, compact, delta) never share mutable objects with their inputs
unless documented. Classes use ``__slots__`` because a profile can hold millions of objects.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple


class ValueType:
    """A (type, unit) pair, e.g. ``cpu``/``nanoseconds``: one column of sample values."""

    __slots__ = ("type", "unit")

    def __init__(self, type: str = "", unit: str = "") -> None:  # noqa: A002 - proto name
        self.type = type
        self.unit = unit

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueType) and (self.type, self.unit) == (other.type, other.unit)

    def __hash__(self) -> int:
        return hash((self.type, self.unit))

    def __repr__(self) -> str:
        return f"ValueType({self.type!r}, {self.unit!r})"


class Label(NamedTuple):
    """One ``Label`` message: a string label (``str``) or a numeric one (``num`` + ``num_unit``).

    The proto allows both to be set; pprof treats ``str`` as the label's value when it is
    non-empty, else the numeric value. Labels are immutable so samples can share them.
    """

    key: str
    str: str = ""
    num: int = 0
    num_unit: str = ""

    @property
    def is_numeric(self) -> bool:
        """True when this is a numeric label (no string value), as pprof classifies it."""
        return not self.str


class Mapping:
    """A memory mapping (binary or pseudo-binary) that locations belong to."""

    __slots__ = (
        "id",
        "memory_start",
        "memory_limit",
        "file_offset",
        "filename",
        "build_id",
        "has_functions",
        "has_filenames",
        "has_line_numbers",
        "has_inline_frames",
    )

    def __init__(
        self,
        id: int = 0,  # noqa: A002 - proto name
        memory_start: int = 0,
        memory_limit: int = 0,
        file_offset: int = 0,
        filename: str = "",
        build_id: str = "",
        has_functions: bool = False,
        has_filenames: bool = False,
        has_line_numbers: bool = False,
        has_inline_frames: bool = False,
    ) -> None:
        self.id = id
        self.memory_start = memory_start
        self.memory_limit = memory_limit
        self.file_offset = file_offset
        self.filename = filename
        self.build_id = build_id
        self.has_functions = has_functions
        self.has_filenames = has_filenames
        self.has_line_numbers = has_line_numbers
        self.has_inline_frames = has_inline_frames

    def __repr__(self) -> str:
        return f"Mapping(id={self.id}, filename={self.filename!r})"


class Function:
    """A function: name, system (e.g. mangled or module-qualified) name, file and first line."""

    __slots__ = ("id", "name", "system_name", "filename", "start_line")

    def __init__(
        self,
        id: int = 0,  # noqa: A002 - proto name
        name: str = "",
        system_name: str = "",
        filename: str = "",
        start_line: int = 0,
    ) -> None:
        self.id = id
        self.name = name
        self.system_name = system_name
        self.filename = filename
        self.start_line = start_line

    def key(self) -> tuple:
        """Identity of the function's content, ignoring its id (used to dedupe on merge)."""
        return (self.name, self.system_name, self.filename, self.start_line)

    def __repr__(self) -> str:
        return f"Function(id={self.id}, name={self.name!r})"


class Line:
    """One (function, line, column) entry of a location; several entries mean inlining."""

    __slots__ = ("function", "line", "column")

    def __init__(self, function: Function | None, line: int = 0, column: int = 0) -> None:
        self.function = function
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        name = self.function.name if self.function is not None else None
        return f"Line({name!r}, {self.line})"


class Location:
    """A program location: an address in a mapping and its source lines, innermost first."""

    __slots__ = ("id", "mapping", "address", "lines", "is_folded")

    def __init__(
        self,
        id: int = 0,  # noqa: A002 - proto name
        mapping: Mapping | None = None,
        address: int = 0,
        lines: list[Line] | None = None,
        is_folded: bool = False,
    ) -> None:
        self.id = id
        self.mapping = mapping
        self.address = address
        self.lines = lines if lines is not None else []
        self.is_folded = is_folded

    def __repr__(self) -> str:
        return f"Location(id={self.id}, address={self.address:#x}, lines={self.lines!r})"


class Sample:
    """One sample: a stack of locations (leaf first), one value per sample type, labels."""

    __slots__ = ("locations", "values", "labels")

    def __init__(
        self,
        locations: list[Location] | None = None,
        values: list[int] | None = None,
        labels: list[Label] | None = None,
    ) -> None:
        self.locations = locations if locations is not None else []
        self.values = values if values is not None else []
        self.labels = labels if labels is not None else []

    def string_labels(self) -> dict[str, list[str]]:
        """Labels with a string value, grouped by key in insertion order (Go's ``Sample.Label``)."""
        out: dict[str, list[str]] = {}
        for lab in self.labels:
            if lab.str:
                out.setdefault(lab.key, []).append(lab.str)
        return out

    def numeric_labels(self) -> dict[str, list[tuple[int, str]]]:
        """Numeric labels as ``key -> [(num, unit), …]`` (Go's ``NumLabel`` + ``NumUnit``)."""
        out: dict[str, list[tuple[int, str]]] = {}
        for lab in self.labels:
            if not lab.str:
                out.setdefault(lab.key, []).append((lab.num, lab.num_unit))
        return out

    def label_key(self) -> tuple:
        """A hashable, order-independent key of the label set (for aggregation)."""
        if not self.labels:
            return ()
        return tuple(sorted(self.labels))

    def __repr__(self) -> str:
        return f"Sample(values={self.values!r}, locations={[loc.id for loc in self.locations]!r})"


class Profile:
    """A whole profile: the ``Profile`` message with references resolved.

    ``default_sample_type``, ``drop_frames``, ``keep_frames`` and ``doc_url`` hold strings
    ("" when unset), ``comments`` a list of strings, and ``period_type`` a :class:`ValueType`
    or ``None`` when absent from the input.
    """

    __slots__ = (
        "sample_types",
        "samples",
        "mappings",
        "locations",
        "functions",
        "drop_frames",
        "keep_frames",
        "time_nanos",
        "duration_nanos",
        "period_type",
        "period",
        "comments",
        "default_sample_type",
        "doc_url",
    )

    def __init__(
        self,
        sample_types: list[ValueType] | None = None,
        samples: list[Sample] | None = None,
        mappings: list[Mapping] | None = None,
        locations: list[Location] | None = None,
        functions: list[Function] | None = None,
        drop_frames: str = "",
        keep_frames: str = "",
        time_nanos: int = 0,
        duration_nanos: int = 0,
        period_type: ValueType | None = None,
        period: int = 0,
        comments: list[str] | None = None,
        default_sample_type: str = "",
        doc_url: str = "",
    ) -> None:
        self.sample_types = sample_types if sample_types is not None else []
        self.samples = samples if samples is not None else []
        self.mappings = mappings if mappings is not None else []
        self.locations = locations if locations is not None else []
        self.functions = functions if functions is not None else []
        self.drop_frames = drop_frames
        self.keep_frames = keep_frames
        self.time_nanos = time_nanos
        self.duration_nanos = duration_nanos
        self.period_type = period_type
        self.period = period
        self.comments = comments if comments is not None else []
        self.default_sample_type = default_sample_type
        self.doc_url = doc_url

    def sample_type_index(self, name: str) -> int:
        """Index of the sample type called ``name``; raises ``KeyError`` when absent."""
        for i, st in enumerate(self.sample_types):
            if st.type == name:
                return i
        raise KeyError(name)

    def default_sample_index(self) -> int:
        """The column pprof shows by default: ``default_sample_type`` if set, else the last."""
        if self.default_sample_type:
            try:
                return self.sample_type_index(self.default_sample_type)
            except KeyError:
                pass
        return len(self.sample_types) - 1

    def total(self, index: int) -> int:
        """Sum of column ``index`` over all samples."""
        return sum(s.values[index] for s in self.samples)

    def __repr__(self) -> str:
        types = " ".join(f"{t.type}/{t.unit}" for t in self.sample_types)
        return f"<Profile [{types}] samples={len(self.samples)} locations={len(self.locations)}>"


def value_types(pairs: Iterable[tuple[str, str]]) -> list[ValueType]:
    """Build a list of :class:`ValueType` from ``(type, unit)`` pairs."""
    return [ValueType(t, u) for t, u in pairs]
