"""The stack walker's cached walk equals a naive full walk, whatever changed in between.

Every test runs on both walkers (Python and its C twin) through the ``stack_backend`` fixture.
"""

from __future__ import annotations

import random
import sys

from pprofx.runtime.frames import FrameTable, new_walker


def naive(table: FrameTable, frame, limit: int) -> tuple:
    ids = []
    f = frame
    while f is not None:
        if len(ids) >= limit:
            ids.append(0)
            break
        ids.append(table.intern(f, f.f_code, f.f_lineno))
        f = f.f_back
    return tuple(ids)


class Checker:
    def __init__(self, limit: int = 128) -> None:
        self.table = FrameTable()
        self.walker = new_walker(self.table, limit)
        self.limit = limit
        self.checks = 0

    def check(self) -> None:
        frame = sys._getframe(1)
        got = self.walker.walk(1, frame)
        want = naive(self.table, frame, self.limit)
        assert got == want, (self.names(got), self.names(want))
        self.checks += 1

    def names(self, ids):
        return [(self.table.info[i][0], self.table.info[i][4]) for i in ids]


def test_cached_walk_matches_naive_walk_under_random_calls(stack_backend):
    c = Checker()
    rng = random.Random(5)

    def gen(n):
        c.check()
        yield 1
        c.check()
        for _ in range(n):
            c.check()
            yield inner(rng.randint(0, 3))

    def inner(depth):
        c.check()
        if depth:
            c.check()
            inner(depth - 1)
            c.check()  # same frame, new line, after the callee returned
        c.check()
        return depth

    def outer(depth):
        c.check()
        if depth > 0:
            for _ in range(rng.randint(1, 3)):
                choice = rng.random()
                if choice < 0.4:
                    outer(depth - 1)
                elif choice < 0.7:
                    c.check()
                    g = gen(2)
                    next(g)
                    c.check()
                    for _ in g:
                        c.check()
                else:
                    inner(rng.randint(0, 4))
                c.check()
        c.check()

    for _ in range(30):
        outer(5)
    assert c.checks > 1000


def test_generator_resumed_from_different_callers(stack_backend):
    c = Checker()

    def g():
        while True:
            c.check()
            yield

    it = g()

    def caller_a():
        next(it)

    def caller_b():
        def nested():
            next(it)
        nested()

    for _ in range(20):
        caller_a()
        caller_b()
        next(it)
    assert c.checks >= 60


def test_depth_cap_marks_truncation(stack_backend):
    c = Checker(limit=10)

    def rec(n):
        if n:
            return rec(n - 1)
        c.check()
        c.check()
        return None

    rec(30)
    rec(3)
    rec(30)
    frame = sys._getframe()
    stack = c.walker.walk(2, frame)
    assert len(stack) <= 11
    deep = []

    def rec2(n):
        if n:
            return rec2(n - 1)
        deep.append(c.walker.walk(3, sys._getframe()))
        return None

    rec2(40)
    assert len(deep[0]) == 11 and deep[0][-1] == 0
    assert c.table.info[0][0] == "[truncated]"


def test_frame_table_names_and_bound():
    t = FrameTable(max_frames=3)

    class K:
        def method(self):
            return sys._getframe()

    f = K().method()
    fid = t.intern(f, f.f_code, f.f_lineno)
    name, system_name, filename, start_line, line = t.info[fid]
    assert name.endswith("K.method")
    assert system_name == f"{__name__}.{name}"
    assert filename == __file__ and start_line == f.f_code.co_firstlineno and line == f.f_lineno
    g = sys._getframe()
    assert t.intern(g, g.f_code, g.f_lineno) == 1  # table full: the overflow frame
