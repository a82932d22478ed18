"""The ``list REGEX`` report: annotated source, as ``go tool pprof -list`` prints it.

For every function whose name matches REGEX (at line granularity, untrimmed), and for each of
its source files: a ``ROUTINE`` header, the flat and cum totals, then the source lines from
the first sampled line (or the function's start line) minus 5 to the last sampled line plus
5, each with its flat and cum (``.`` for zero). Source files are found as pprof finds them:
the profile's path after ``-trim_path`` (or, without it, after the part up to a
``-source_path`` directory's base name), searched in each ``-source_path`` directory (default:
the current directory) and their parents. A file that cannot be read gets pprof's
`` Error:`` line instead of its lines.
"""

from __future__ import annotations

import os
import posixpath
import re

from ..profile import ProfileError
from . import measurement
from .core import Report, trim_path
from .graph import Node, go_clean

MARGIN = 5  #: lines shown before the first and after the last sampled line


def _go_dir(path: str) -> str:
    d = posixpath.dirname(path)
    return go_clean(d) if d else "."


def _go_join(a: str, b: str) -> str:
    parts = [x for x in (a, b) if x]
    return go_clean("/".join(parts)) if parts else ""


class SourceReader:
    """Source files by profile path, read once (pprof's ``sourceReader``)."""

    def __init__(self, search_path: str, trim: str) -> None:
        self.search_path = search_path
        self.trim = trim
        self.files: dict[str, list[str]] = {}
        self.errors: dict[str, str] = {}

    def _open(self, path: str) -> tuple[bytes | None, str]:
        """(contents, "") or (None, pprof's error message) — pprof's ``openSourceFile``."""
        path = trim_path(path, self.trim, self.search_path)
        if path.startswith("/"):
            try:
                return _read(path), ""
            except OSError as e:
                return None, f"open {path}: {_go_errno(e)}"
        for d in (self.search_path.split(":") if self.search_path else []):
            while True:
                try:
                    return _read(_go_join(d, path)), ""
                except OSError:
                    pass
                parent = _go_dir(d)
                if parent == d:
                    break
                d = parent
        return None, f"could not find file {path} on path {self.search_path}"

    def line(self, path: str, lineno: int) -> str | None:
        """Line ``lineno`` of ``path``, or None past either end (or when unreadable)."""
        lines = self.files.get(path)
        if lines is None:
            lines = [""]
            data, err = self._open(path)
            if err:
                self.errors[path] = err
            if data is not None:
                split = data.split(b"\n")
                if split and split[-1] == b"":
                    split.pop()
                lines += [(ln[:-1] if ln.endswith(b"\r") else ln).decode("utf-8", "replace")
                          for ln in split]
            self.files[path] = lines
        if lineno <= 0 or lineno >= len(lines):
            return None
        return lines[lineno]


def _read(path: str) -> bytes:
    if os.path.isdir(path):
        return b""  # Go opens a directory fine and then reads no lines
    with open(path, "rb") as f:
        return f.read()


def _go_errno(e: OSError) -> str:
    msg = e.strerror or str(e)
    return msg[:1].lower() + msg[1:]


def _source_lines(file: str, reader: SourceReader, fns: list[Node]) -> list[tuple[int, str, int, int]]:
    """(line number, text, flat, cum) for the window around ``fns`` (pprof's getSourceFromFile)."""
    first = fns[0].info
    start = first.start_line if first.start_line else first.lineno - MARGIN
    end = first.lineno + MARGIN
    by_line: dict[int, list[Node]] = {}
    for n in fns:
        lineno = n.info.lineno
        node_start = n.info.start_line or lineno - MARGIN
        node_end = lineno + MARGIN
        if node_start < start:
            start = node_start
        elif node_end > end:
            end = node_end
        by_line.setdefault(lineno, []).append(n)
    start = max(start, 1)
    out = []
    for lineno in range(start, end + 1):
        text = reader.line(file, lineno)
        if text is None:
            break
        ns = by_line.get(lineno, [])
        out.append((lineno, text, sum(n.flat for n in ns), sum(n.cum for n in ns)))
    return out


def render_list(rpt: Report) -> str:
    """``-list REGEX``: annotated source of the matching functions."""
    o = rpt.options
    try:
        rx = re.compile(o.symbol)
    except re.error as e:
        raise ProfileError(f"parsing argument regexp {o.symbol}: {e}") from None
    g = rpt.graph(obj_names=True)
    by_name: dict[str, list[Node]] = {}
    for n in g.nodes:
        if rx.search(n.info.name):
            by_name.setdefault(n.info.name, []).append(n)
    if not by_name:
        raise ProfileError(f"no matches found for regexp: {o.symbol}")
    reader = SourceReader(o.source_path or os.getcwd(), o.trim_path)
    fv = rpt.format_value

    def dot(v: int) -> str:
        return fv(v) if v != 0 else "."

    out = [f"Total: {fv(rpt.total)}"]
    for name in sorted(by_name):
        by_file: dict[str, list[Node]] = {}
        for n in by_name[name]:
            if n.info.file:
                by_file.setdefault(n.info.file, []).append(n)
        if not by_file:
            out.append(f"No source information for {name}")
            continue
        for file in sorted(by_file):
            fns = by_file[file]
            flat_sum = sum(n.flat for n in fns)
            cum_sum = sum(n.cum for n in fns)
            lines = _source_lines(file, reader, fns)
            out.append(f"ROUTINE ======================== {name} in {file}")
            out.append(f"{fv(flat_sum):>10} {fv(cum_sum):>10} (flat, cum) "
                       f"{measurement.percentage(cum_sum, rpt.total)} of Total")
            if file in reader.errors:
                out.append(f" Error: {reader.errors[file]}")
                continue
            out.extend(f"{dot(flat):>10} {dot(cum):>10} {lineno:6d}:{text}"
                       for lineno, text, flat, cum in lines)
    return "\n".join(out) + "\n"
