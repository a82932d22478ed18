"""A structural reading of ``-raw`` text (ours or go tool pprof's) for comparisons."""

from __future__ import annotations

import re
from collections import Counter

_LOC = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(?:\[F\] )?(.*)$")


def parse_raw(text: str) -> dict:
    """Return headers, sample types, and a Counter of samples keyed by their resolved stack.

    A sample key is (values, stack, labels) where the stack lists, leaf first, each
    location's lines as (function, file:line) — ids are resolved so renumbering is irrelevant.
    """
    lines = text.splitlines()
    headers = {}
    i = 0
    while lines[i] != "Samples:":
        k, _, v = lines[i].partition(": ")
        headers.setdefault(k, []).append(v)
        i += 1
    types = lines[i + 1].split()
    i += 2
    raw_samples = []
    while lines[i] != "Locations":
        line = lines[i]
        if line.startswith(" " * 16) and ":" in line and ":[" in line:
            raw_samples[-1][2].append(line.strip())
        else:
            vals, _, ids = line.partition(":")
            raw_samples.append(([int(v) for v in vals.split()], [int(x) for x in ids.split()], []))
        i += 1
    i += 1
    locs: dict[int, list] = {}
    cur = None
    while lines[i] != "Mappings":
        m = _LOC.match(lines[i])
        if m and not lines[i].startswith(" " * 13):
            cur = int(m.group(1))
            locs[cur] = [m.group(4).strip()] if m.group(4).strip() else []
        else:
            locs[cur].append(lines[i].strip())
        i += 1
    mappings = [ln for ln in lines[i + 1:] if ln]
    samples = Counter()
    for vals, ids, labels in raw_samples:
        stack = tuple(tuple(locs[x]) for x in ids)
        samples[(tuple(vals), stack, tuple(sorted(labels)))] += 1
    return {"headers": headers, "types": types, "samples": samples, "mappings": mappings}
