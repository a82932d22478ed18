"""Building profiles cheaply from collected stacks.

Collectors (CPU sampler, heap sampler, thread dumps…) see the same functions and frames over
and over. :class:`ProfileBuilder` interns functions and locations by content and aggregates
samples with the same stack and labels, so adding a stack costs a few dict lookups.

Python frames have no addresses: every location points at one synthetic mapping (id 1,
``has_functions``/``has_filenames``/``has_line_numbers`` set, so pprof never tries to
symbolize) and gets a distinct synthetic address equal to its id.

Example::

    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000)
    leaf = b.location(b.function("work", "app.work", "app.py", 10), line=12)
    b.add([leaf, b.location(b.function("main", "app.main", "app.py", 1), 30)],
          [1, 10_000_000], labels={"endpoint": "/a"})
    profile = b.build()
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence, Union
from typing import Mapping as MappingT

from .model import Function, Label, Line, Location, Mapping, Profile, Sample, ValueType

#: ``{key: str | int | (int, unit)}`` or an iterable of :class:`Label`.
LabelsArg = Union[MappingT[str, Any], Iterable[Label], None]


def _labels(labels) -> tuple[Label, ...]:
    """Normalise ``labels`` to a sorted tuple of :class:`Label`.

    Accepts an iterable of Label, or a mapping whose values are ``str`` (string label),
    ``int`` (numeric label without unit) or ``(int, unit)`` (numeric label with unit).
    """
    if not labels:
        return ()
    if isinstance(labels, MappingT):
        out = []
        for k, v in labels.items():
            if isinstance(v, str):
                out.append(Label(k, v))
            elif isinstance(v, tuple):
                out.append(Label(k, "", int(v[0]), v[1]))
            else:
                out.append(Label(k, "", int(v)))
        return tuple(sorted(out))
    return tuple(sorted(labels))


class ProfileBuilder:
    """Accumulates samples into a :class:`Profile`; not thread-safe (one owner at a time).

    ``max_samples`` bounds the number of distinct (stack, labels) keys: further new keys are
    not added and counted in :attr:`dropped`, so a collector's memory stays bounded.
    """

    def __init__(
        self,
        sample_types: Sequence[tuple[str, str]],
        period_type: tuple[str, str] | None = None,
        period: int = 0,
        mapping_filename: str = "python",
        default_sample_type: str = "",
        max_samples: int | None = None,
    ) -> None:
        self._types = [ValueType(t, u) for t, u in sample_types]
        self._period_type = ValueType(*period_type) if period_type else None
        self._period = period
        self._default = default_sample_type
        self.mapping = Mapping(1, filename=mapping_filename, has_functions=True,
                               has_filenames=True, has_line_numbers=True)
        self._functions: dict[tuple, Function] = {}
        self._locations: dict[tuple, Location] = {}
        self._samples: dict[tuple, Sample] = {}
        self._max_samples = max_samples
        self.dropped = 0
        self.comments: list[str] = []
        self.time_nanos = time.time_ns()
        self.duration_nanos = 0
        self.drop_frames = ""
        self.keep_frames = ""
        self.doc_url = ""

    def function(self, name: str, system_name: str = "", filename: str = "",
                 start_line: int = 0) -> Function:
        """The interned :class:`Function` with this content (created on first use)."""
        key = (name, system_name or name, filename, start_line)
        f = self._functions.get(key)
        if f is None:
            f = Function(len(self._functions) + 1, key[0], key[1], filename, start_line)
            self._functions[key] = f
        return f

    def location(self, function: Function, line: int = 0, column: int = 0) -> Location:
        """The interned single-line :class:`Location` for ``function`` at ``line``."""
        key = (function.id, line, column)
        loc = self._locations.get(key)
        if loc is None:
            lid = len(self._locations) + 1
            loc = Location(lid, self.mapping, lid, [Line(function, line, column)])
            self._locations[key] = loc
        return loc

    def add(self, stack: Sequence[Location], values: Sequence[int], labels: LabelsArg = None) -> None:
        """Add ``values`` for ``stack`` (leaf first) under ``labels``; sums into an existing
        sample with the same stack and labels. ``values`` has one entry per sample type."""
        if len(values) != len(self._types):
            raise ValueError(f"got {len(values)} values for {len(self._types)} sample types")
        labs = _labels(labels)
        key = (tuple([loc.id for loc in stack]), labs)
        s = self._samples.get(key)
        if s is None:
            if self._max_samples is not None and len(self._samples) >= self._max_samples:
                self.dropped += 1
                return
            self._samples[key] = Sample(list(stack), list(values), list(labs))
        else:
            acc = s.values
            for i, v in enumerate(values):
                acc[i] += v

    def build(self) -> Profile:
        """Return the profile built so far. Only referenced tables are included."""
        used_locs: dict[int, Location] = {}
        for s in self._samples.values():
            for loc in s.locations:
                used_locs[loc.id] = loc
        locations = sorted(used_locs.values(), key=lambda loc: loc.id)
        used_fns: dict[int, Function] = {}
        for loc in locations:
            for ln in loc.lines:
                used_fns[ln.function.id] = ln.function
        return Profile(
            sample_types=list(self._types),
            samples=[Sample(s.locations, list(s.values), s.labels) for s in self._samples.values()],
            mappings=[self.mapping],
            locations=locations,
            functions=sorted(used_fns.values(), key=lambda f: f.id),
            drop_frames=self.drop_frames,
            keep_frames=self.keep_frames,
            time_nanos=self.time_nanos,
            duration_nanos=self.duration_nanos,
            period_type=self._period_type,
            period=self._period,
            comments=list(self.comments),
            default_sample_type=self._default,
            doc_url=self.doc_url,
        )
