"""Heap and allocs profiles on both backends: Go's shape, leak detection, unsampling, names."""

from __future__ import annotations

import io
import itertools
import math
import sys

import pytest

import pprofx
from pprofx.profile import check_valid, decode, load
from pprofx.runtime import heap
from tests.conftest import missing

MB = 1 << 20
TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
         ("inuse_objects", "count"), ("inuse_space", "bytes")]


@pytest.fixture(params=["c", "tracemalloc"])
def backend(request):
    """Each heap backend; the C one must be built under CI. Stops the profiler afterwards."""
    if request.param == "c" and not heap.native_available():
        missing("C heap sampler not built (pip install -e . with a C compiler)")
    yield request.param
    heap.stop_heap_profiler()


@pytest.fixture
def native():
    if not heap.native_available():
        missing("C heap sampler not built (pip install -e . with a C compiler)")
    yield
    heap.stop_heap_profiler()


def leaf_sums(p, func: str) -> list[int]:
    """Values summed over samples whose leaf frame is ``func``."""
    out = [0, 0, 0, 0]
    for s in p.samples:
        if s.locations and s.locations[0].lines[0].function.name.endswith(func):
            for i in range(4):
                out[i] += s.values[i]
    return out


def in_stack_sum(p, func: str, index: int) -> int:
    """Value ``index`` summed over samples with ``func`` anywhere on the stack (comprehensions
    are frames of their own before 3.12)."""
    return sum(s.values[index] for s in p.samples
               if any(ln.function.name == func for loc in s.locations for ln in loc.lines))


def site_totals(p, index: int) -> dict[str, int]:
    """Flat value ``index`` per leaf function name."""
    out: dict[str, int] = {}
    for s in p.samples:
        name = s.locations[0].lines[0].function.name if s.locations else ""
        out[name] = out.get(name, 0) + s.values[index]
    return out


_retained: list = []


def retain_leak(n: int, size: int) -> None:
    for i in range(n):
        _retained[i] = bytes(size)


def test_shape_when_off():
    heap.stop_heap_profiler()
    heap._heap_c and heap._heap_c.reset()
    with heap._lock:
        heap._backend, heap._fallback, heap._rate = None, None, heap.DEFAULT_RATE
    for p, default in ((heap.heap_profile(), ""), (heap.allocs_profile(), "alloc_space")):
        check_valid(p)
        assert [(t.type, t.unit) for t in p.sample_types] == TYPES
        assert (p.period_type.type, p.period_type.unit) == ("space", "bytes")
        assert p.period == 524288
        assert p.default_sample_type == default
        assert p.samples == []
    text = heap.heap_text()
    assert text.startswith("heap profile: 0: 0 [0: 1] @ heap/1048576\n")
    assert "\n# python.MemStats\n" in text


def test_scale_heap_sample_is_gos_formula():
    assert heap.scale_heap_sample(0, 100, 512) == (0, 0)
    assert heap.scale_heap_sample(3, 0, 512) == (0, 0)
    assert heap.scale_heap_sample(7, 700, 1) == (7, 700)
    c, s, rate = 10, 10 * 1033, 524288
    scale = 1 / (1 - math.exp(-(s / c) / rate))
    assert heap.scale_heap_sample(c, s, rate) == (int(c * scale), int(s * scale))
    # large objects are always sampled: scale ~1
    assert heap.scale_heap_sample(2, 2 * 50 * MB, 524288) == (2, 100 * MB)


@pytest.mark.parametrize("rate", [65536, 524288])
def test_leak_is_top_inuse_then_gone_but_still_allocated(backend, rate):
    """Acceptance 1: 40 MB retained in 4 KB objects is the top in-use site within ±20%;
    after it is freed it leaves in-use and stays in alloc. At the default rate 40 MB is only
    ~80 samples (±11%), so that case retains 200 MB (~400 samples, ±5%)."""
    if backend == "tracemalloc" and rate != 65536:
        pytest.skip("the fallback is exact; one rate is enough")
    n, size = (10_000 if rate == 65536 else 50_000), 4000
    truth = n * sys.getsizeof(bytes(size))
    _retained[:] = [None] * n
    heap.start_heap_profiler(rate, backend=backend)
    if backend == "c":
        heap._heap_c.seed(1234)
    retain_leak(n, size)
    p = heap.heap_profile()
    check_valid(p)
    inuse = site_totals(p, 3)
    top = max(inuse, key=inuse.get)
    assert top == "retain_leak", sorted(inuse.items(), key=lambda kv: -kv[1])[:5]
    assert abs(inuse[top] - truth) <= 0.2 * truth, (inuse[top], truth)
    objs = leaf_sums(p, "retain_leak")[2]
    assert abs(objs - n) <= 0.2 * n

    _retained[:] = []
    p = heap.heap_profile()
    a_objs, a_bytes, i_objs, i_bytes = leaf_sums(p, "retain_leak")
    assert i_bytes <= 0.01 * truth and i_objs <= 0.01 * n
    assert abs(a_bytes - truth) <= 0.2 * truth, (a_bytes, truth)
    a = pprofx.allocs_profile()
    assert a.default_sample_type == "alloc_space"
    assert abs(leaf_sums(a, "retain_leak")[1] - truth) <= 0.2 * truth
    if backend == "tracemalloc":
        assert heap.FALLBACK_COMMENT in p.comments
        assert p.period == 1
    else:
        assert p.period == rate and not p.comments


def alloc_small(n: int) -> None:
    for _ in itertools.repeat(None, n):  # no int objects: only the measured allocation
        bytes(64)


def alloc_medium(n: int) -> None:
    for _ in itertools.repeat(None, n):  # no int objects: only the measured allocation
        bytes(4000)


def alloc_large(n: int) -> None:
    for _ in itertools.repeat(None, n):  # no int objects: only the measured allocation
        bytes(200_000)


def alloc_mixed(n: int) -> None:
    for _ in itertools.repeat(None, n // 2):
        bytes(1000)
        bytes(2000)


def test_unsampling_estimates_within_ten_percent(native):
    """Acceptance 2: with rate R, estimated objects and bytes per site are within ±10%."""
    rate = 16384
    heap.start_heap_profiler(rate, backend="c")
    heap._heap_c.seed(42)
    plan = {"alloc_small": (alloc_small, 300_000, 64), "alloc_medium": (alloc_medium, 10_000, 4000),
            "alloc_large": (alloc_large, 200, 200_000), "alloc_mixed": (alloc_mixed, 20_000, 1000)}
    for fn, n, _ in plan.values():
        fn(n)
    p = heap.allocs_profile()
    for name, (_, n, size) in plan.items():
        if name == "alloc_mixed":
            true_bytes = n // 2 * (sys.getsizeof(bytes(1000)) + sys.getsizeof(bytes(2000)))
        else:
            true_bytes = n * sys.getsizeof(bytes(size))
        objs, nbytes, _, _ = leaf_sums(p, name)
        assert abs(objs - n) <= 0.1 * n, (name, objs, n)
        assert abs(nbytes - true_bytes) <= 0.1 * true_bytes, (name, nbytes, true_bytes)
    stats = heap.heap_profiler_stats()
    assert stats["samples"] > 1000 and stats["lost"] == 0


def test_bytes_label_is_average_size(backend):
    heap.start_heap_profiler(1, backend=backend)
    keep = [bytes(5000) for _ in range(50)]
    p = heap.heap_profile()
    size = sys.getsizeof(keep[0])
    labelled = [s for s in p.samples if s.values[3] >= 40 * size]
    assert labelled, [s.values for s in p.samples]
    nums = {lab.key: lab.num for lab in labelled[0].labels}
    # tracemalloc groups by stack only, so the list's own growth joins the average there
    assert abs(nums["bytes"] - size) <= (16 if backend == "c" else 0.05 * size), nums
    assert all(lab.str == "" and lab.num_unit == "" for lab in labelled[0].labels)
    assert all(lab.num != 0 for s in p.samples for lab in s.labels)


class Holder:
    def grow(self, n: int) -> list:
        def inner() -> list:
            return [bytearray(2048) for _ in range(n)]
        return inner()


def test_frame_model_names(backend):
    heap.start_heap_profiler(1, backend=backend)
    keep = Holder().grow(200)
    p = heap.heap_profile()
    funcs = {ln.function.name: ln.function for s in p.samples for loc in s.locations
             for ln in loc.lines}
    assert "Holder.grow.<locals>.inner" in funcs or "Holder.grow.<locals>.<listcomp>" in funcs, \
        sorted(funcs)
    f = funcs["Holder.grow"]
    assert f.system_name == "tests.runtime.test_heap.Holder.grow"
    assert f.filename == __file__
    assert f.start_line == Holder.grow.__code__.co_firstlineno
    assert len(keep) == 200


def make_buffers(n: int, size: int) -> list:
    out = []
    for _ in itertools.repeat(None, n):
        out.append(bytearray(size))
    return out


def test_stop_freezes_data_and_start_resets(backend):
    heap.start_heap_profiler(1, backend=backend)
    keep = make_buffers(100, 3000)
    heap.stop_heap_profiler()
    assert not heap.heap_profiler_running()
    me = "make_buffers"
    frozen = in_stack_sum(heap.heap_profile(), me, 3)
    assert frozen >= 100 * 3000
    del keep
    assert in_stack_sum(heap.heap_profile(), me, 3) == frozen
    heap.start_heap_profiler(1, backend=backend)
    assert in_stack_sum(heap.heap_profile(), me, 1) == 0


def test_write_heap_profile_and_rate_api(backend, tmp_path):
    heap.start_heap_profiler(1, backend=backend)
    keep = [bytearray(10_000) for _ in range(20)]
    path = tmp_path / "heap.pb.gz"
    pprofx.write_heap_profile(str(path), gc=True)
    p = load(str(path))
    assert [(t.type, t.unit) for t in p.sample_types] == TYPES
    buf = io.BytesIO()
    pprofx.write_heap_profile(buf)
    assert decode(buf.getvalue()).period == p.period
    assert len(keep) == 20
    if backend == "c":
        pprofx.set_mem_profile_rate(4096)
        assert heap.heap_profiler_stats()["rate"] == 4096 and heap.heap_profiler_running()
    pprofx.set_mem_profile_rate(0)
    assert not heap.heap_profiler_running()
    with pytest.raises(ValueError):
        pprofx.start_heap_profiler(-1)


def deep(n: int, out: list) -> None:
    if n:
        deep(n - 1, out)
    else:
        out.extend(bytearray(4096) for _ in range(50))


def test_deep_stacks_are_truncated(backend):
    heap.start_heap_profiler(1, backend=backend, max_depth=32)
    out: list = []
    deep(100, out)
    p = heap.heap_profile()
    truncated = [s for s in p.samples if s.locations[-1].lines[0].function.name == "[truncated]"]
    assert truncated
    assert max(len(s.locations) for s in p.samples) <= 33


def test_distinct_stacks_are_bounded(backend):
    heap.start_heap_profiler(1, backend=backend, max_stacks=8)
    keep = []
    for i in range(40):
        code = compile(f"def f{i}(): return bytearray(1000 + {i})\nkeep.append(f{i}())", f"<gen{i}>", "exec")
        exec(code, {"keep": keep})
    p = heap.heap_profile()
    names = {s.locations[0].lines[0].function.name for s in p.samples}
    assert "[pprofx: too many distinct stacks]" in names
    assert len(p.samples) <= 8 + 70
    assert any("max_stacks" in c for c in p.comments)
