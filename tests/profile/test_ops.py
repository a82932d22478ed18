"""merge, compact, scale, negate, delta, prune, check_valid and the builder."""

from __future__ import annotations

import re

import pytest

from pprofx.profile import (
    Label,
    Profile,
    ProfileBuilder,
    ProfileError,
    ValueType,
    check_valid,
    compact,
    decode,
    delta,
    encode,
    merge,
    negate,
    scale,
    scale_n,
)
from pprofx.profile.prune import prune, remove_uninteresting
from tests.profile.util import stacks

CPU = [("samples", "count"), ("cpu", "nanoseconds")]


def cpu_profile(entries, time_nanos=1000, duration=10, period=10_000_000, comments=()):
    """entries: [(stack leaf-first as names, count, labels)]"""
    b = ProfileBuilder(CPU, ("cpu", "nanoseconds"), period)
    b.time_nanos = time_nanos
    b.duration_nanos = duration
    b.comments = list(comments)
    for names, count, labels in entries:
        stack = [b.location(b.function(n, f"mod.{n}", "mod.py", 1), 10 + i)
                 for i, n in enumerate(names)]
        b.add(stack, [count, count * period], labels)
    return b.build()


def test_builder_interns_and_aggregates():
    b = ProfileBuilder(CPU, ("cpu", "nanoseconds"), 10)
    f = b.function("work", "app.work", "app.py", 3)
    assert b.function("work", "app.work", "app.py", 3) is f
    loc = b.location(f, 5)
    assert b.location(f, 5) is loc and b.location(f, 6) is not loc
    b.add([loc], [1, 10], {"k": "v"})
    b.add([loc], [2, 20], {"k": "v"})
    b.add([loc], [1, 10], {"k": "w", "n": (3, "bytes")})
    p = b.build()
    check_valid(p)
    assert sorted(s.values for s in p.samples) == [[1, 10], [3, 30]]
    assert p.mappings[0].has_functions and p.mappings[0].id == 1
    lab = [s for s in p.samples if s.values == [1, 10]][0].labels
    assert Label("n", "", 3, "bytes") in lab and Label("k", "w") in lab
    assert len(p.locations) == 1  # only referenced locations are emitted


def test_builder_caps_distinct_samples():
    b = ProfileBuilder(CPU, max_samples=2)
    locs = [b.location(b.function(f"f{i}")) for i in range(5)]
    for loc in locs:
        b.add([loc], [1, 1])
    b.add([locs[0]], [1, 1])  # existing key still aggregates
    p = b.build()
    assert len(p.samples) == 2 and b.dropped == 3
    assert p.samples[0].values == [2, 2]


def test_merge_sums_identical_stacks_and_keeps_labels_apart():
    a = cpu_profile([(["f", "main"], 3, {"e": "/a"}), (["g", "main"], 1, None)],
                    time_nanos=500, duration=10, comments=["x"])
    b = cpu_profile([(["f", "main"], 2, {"e": "/a"}), (["f", "main"], 4, {"e": "/b"})],
                    time_nanos=200, duration=7, period=20_000_000, comments=["x", "y"])
    m = merge([a, b])
    check_valid(m)
    got = stacks(m, 0)
    assert got[(("f", "main"), (Label("e", "/a"),))] == [5]
    assert got[(("f", "main"), (Label("e", "/b"),))] == [4]
    assert got[(("g", "main"), ())] == [1]
    assert m.time_nanos == 200 and m.duration_nanos == 17 and m.period == 20_000_000
    assert m.comments == ["x", "y"]
    assert len(m.functions) == 3 and len(m.mappings) == 1
    # inputs untouched
    assert stacks(a, 0)[(("f", "main"), (Label("e", "/a"),))] == [3]


def test_merge_is_associative():
    ps = [cpu_profile([(["f", "main"], i + 1, None), ([f"h{i}", "main"], 1, None)])
          for i in range(3)]
    left = merge([merge(ps[:2]), ps[2]])
    right = merge([ps[0], merge(ps[1:])])
    assert stacks(left) == stacks(right) == stacks(merge(ps))


def test_merge_rejects_incompatible_profiles():
    a = cpu_profile([(["f"], 1, None)])
    heap = ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes")],
                          ("space", "bytes"), 524288).build()
    with pytest.raises(ProfileError, match="incompatible period types"):
        merge([a, heap])
    other = ProfileBuilder([("samples", "count")], ("cpu", "nanoseconds"), 1).build()
    with pytest.raises(ProfileError, match="incompatible sample types"):
        merge([a, other])
    with pytest.raises(ProfileError, match="no profiles"):
        merge([])


def test_compact_drops_zero_samples_and_unreferenced_tables():
    p = cpu_profile([(["f", "main"], 1, None), (["g", "main"], 2, None)])
    p.samples[0].values = [0, 0]
    c = compact(p)
    assert [s.values for s in c.samples] == [[2, 20_000_000]]
    assert {f.name for f in c.functions} == {"g", "main"}
    assert [loc.id for loc in c.locations] == [1, 2]


def test_scale_rounds_half_away_from_zero_and_drops_zeros():
    p = cpu_profile([(["f"], 1, None), (["g"], 3, None)])
    p.samples[0].values = [1, 5]
    p.samples[1].values = [-3, 3]
    scale_n(p, [0.5, 0.5])
    assert [s.values for s in p.samples] == [[1, 3], [-2, 2]]  # 0.5->1, 2.5->3, -1.5->-2
    scale(p, 0)
    assert p.samples == []
    with pytest.raises(ProfileError, match="mismatched scale ratios"):
        scale_n(p, [1.0])


def test_delta_cancels_unchanged_stacks():
    p0 = cpu_profile([(["f", "main"], 3, None), (["g", "main"], 1, None)], time_nanos=1_000)
    p1 = cpu_profile([(["f", "main"], 5, None), (["g", "main"], 1, None), (["h"], 2, None)],
                     time_nanos=3_000)
    d = delta(p0, p1)
    got = stacks(d, 0)
    assert got == {(("f", "main"), ()): [2], (("h",), ()): [2]}
    assert d.time_nanos == 3_000 and d.duration_nanos == 2_000
    assert "g" not in {f.name for f in d.functions}
    # negate mutates in place
    negate(p0)
    assert sorted(s.values[0] for s in p0.samples) == [-3, -1]


def test_prune_drop_frames_like_pprof():
    p = cpu_profile([(["malloc", "alloc_wrapper", "user", "main"], 1, None),
                     (["malloc", "main"], 1, None)])
    p.drop_frames = "alloc_.*|malloc"
    remove_uninteresting(p)
    names = sorted(tuple(loc.lines[0].function.name for loc in s.locations) for s in p.samples)
    # the user frame and its callers stay; the matched frame and everything above it go
    assert names == [("main",), ("user", "main")]


def test_prune_never_removes_frames_before_the_first_user_frame():
    p = cpu_profile([(["main_alloc_wrapper"], 1, None)])
    prune(p, re.compile("^(?:main_alloc_wrapper)$"))
    assert [loc.lines[0].function.name for loc in p.samples[0].locations] == ["main_alloc_wrapper"]


def test_invalid_drop_frames_regex_is_a_profile_error():
    p = cpu_profile([(["f"], 1, None)])
    p.drop_frames = "("
    with pytest.raises(ProfileError, match="invalid drop_frames"):
        remove_uninteresting(p)


def test_check_valid_rules():
    p = cpu_profile([(["f"], 1, None)])
    p.samples[0].values = [1]
    with pytest.raises(ProfileError, match="1 values vs. 2 types"):
        check_valid(p)
    p = cpu_profile([(["f"], 1, None)])
    p.functions.append(p.functions[0].__class__(p.functions[0].id, "dup"))
    with pytest.raises(ProfileError, match="multiple functions with same id"):
        encode(p)
    p = cpu_profile([(["f"], 1, None)])
    p.locations = []
    with pytest.raises(ProfileError, match="not in the profile"):
        check_valid(p)
    p = Profile(samples=cpu_profile([(["f"], 1, None)]).samples)
    with pytest.raises(ProfileError, match="missing sample type"):
        check_valid(p)


def test_default_sample_index():
    p = Profile(sample_types=[ValueType("a", "count"), ValueType("b", "bytes")])
    assert p.default_sample_index() == 1
    p.default_sample_type = "a"
    assert p.default_sample_index() == 0
    assert decode(encode(p)).default_sample_type == "a"
