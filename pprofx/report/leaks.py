"""Thread and task leaks: which stacks grew between two goroutine (or threadcreate) profiles.

A leak shows up as a stack whose count only grows: threads parked in the same place, or
asyncio tasks suspended in the same await chain. :func:`find_leaks` compares a base and a
newer profile of the same kind and returns the stacks whose count grew, biggest growth
first, each with the **site** that explains it:

* goroutine profile, thread: the ``created_by`` label (where ``Thread.start`` was called)
  when the agent recorded it; otherwise the thread's entry function (the first frame below
  ``threading``'s bootstrap);
* goroutine profile, asyncio task: the task's coroutine (the outermost frame of its await
  chain), i.e. what was passed to ``create_task``;
* threadcreate profile: the stack itself is the creation site (its leaf called
  ``Thread.start``). Its counts are cumulative, so growth means threads *started*; compare
  goroutine profiles to see threads still alive.

Stacks are matched by function and file (not line), as pprof's default granularity does.
:func:`render_leaks` prints the result as text. Pure functions of ``Profile`` objects.
"""

from __future__ import annotations

import dataclasses

from ..profile import Profile

#: Files whose frames are machinery, not the code that created a thread or task.
_MACHINERY = ("threading.py", "/asyncio/", "\\asyncio\\", "/concurrent/futures/", "selectors.py")


@dataclasses.dataclass
class Growth:
    """One stack whose count grew; ``stack`` is leaf first, as ``"func file:line"``."""

    site: str
    stack: list[str]
    labels: dict[str, str]
    base: int
    new: int

    @property
    def growth(self) -> int:
        return self.new - self.base


def _frames(s) -> list[tuple[str, str, int]]:
    return [(ln.function.name, ln.function.filename, ln.line) for loc in s.locations for ln in loc.lines]


def _site(frames: list[tuple[str, str, int]], labels: dict[str, str], kind: str) -> str:
    if labels.get("created_by"):
        return "created by " + labels["created_by"]
    if not frames:
        return "(no stack)"
    if kind == "threadcreate":
        name, filename, line = frames[0]
        return f"created by {name} {filename}:{line}"
    for name, filename, line in reversed(frames):  # from the root
        if not any(m in filename for m in _MACHINERY):
            return f"{name} {filename}:{line}"
    name, filename, line = frames[-1]
    return f"{name} {filename}:{line}"


def _group(p: Profile, kind: str) -> dict[tuple, list]:
    """(site, function stack, labels) -> [count, a representative sample's frames, labels]."""
    out: dict[tuple, list] = {}
    for s in p.samples:
        frames = _frames(s)
        labels = {k: v[0] for k, v in s.string_labels().items() if v}
        site = _site(frames, labels, kind)
        key = (site, tuple((n, f) for n, f, _ in frames),
               tuple(sorted((k, v) for k, v in labels.items() if k != "created_by")))
        got = out.get(key)
        if got is None:
            out[key] = [s.values[0], frames, labels]
        else:
            got[0] += s.values[0]
    return out


def profile_kind(p: Profile) -> str:
    """``goroutine``, ``threadcreate`` or the first sample type's name."""
    return p.sample_types[0].type if p.sample_types else ""


def find_leaks(base: Profile, new: Profile, min_growth: int = 1) -> list[Growth]:
    """Stacks of ``new`` whose count exceeds ``base``'s by at least ``min_growth``,
    biggest growth first (ties: by site). Neither profile is modified."""
    kind = profile_kind(new)
    before = _group(base, kind)
    out = []
    for key, (count, frames, labels) in _group(new, kind).items():
        old = before.get(key, [0])[0]
        if count - old >= min_growth:
            out.append(Growth(key[0], [f"{n} {f}:{ln}" for n, f, ln in frames], labels, old, count))
    out.sort(key=lambda g: (-g.growth, g.site))
    return out


def render_leaks(base: Profile, new: Profile, leaks: list[Growth], limit: int = 20,
                 depth: int = 8) -> str:
    """Text report: totals, then up to ``limit`` growing stacks with ``depth`` frames each."""
    kind = profile_kind(new) or "profile"
    total0 = sum(s.values[0] for s in base.samples if s.values)
    total1 = sum(s.values[0] for s in new.samples if s.values)
    lines = [f"{kind}: {total0} -> {total1} ({total1 - total0:+d}); "
             f"{len(leaks)} stack(s) grew"]
    if kind == "threadcreate":
        lines.append("(threadcreate counts are cumulative: growth = threads started, alive or not)")
    for g in leaks[:limit]:
        lines.append("")
        lines.append(f"{g.growth:+d} ({g.base} -> {g.new})  {g.site}")
        extra = {k: v for k, v in g.labels.items() if k != "created_by"}
        if extra:
            lines.append("    labels: " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())))
        for frame in g.stack[:depth]:
            lines.append(f"    {frame}")
        if len(g.stack) > depth:
            lines.append(f"    ... {len(g.stack) - depth} more frame(s)")
    if len(leaks) > limit:
        lines.append("")
        lines.append(f"... {len(leaks) - limit} more stack(s) grew")
    return "\n".join(lines) + "\n"
