"""CPU and wall profiles: accuracy against thread CPU clocks, shape, go tool pprof, API rules."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

import pprofx
from pprofx.profile import check_valid, decode
from pprofx.runtime.sampler import SAMPLER
from tests.conftest import missing

TARGETS = {"work_a": 0.60, "work_b": 0.30, "work_c": 0.10}
TOTAL_CPU = 1.2  # seconds of CPU across the three spinners


def _spin_until(cpu_seconds: float) -> None:
    x = 0
    while time.thread_time() < cpu_seconds:
        x += 1


def work_a(t):
    x = 0
    while time.thread_time() < t:
        x += 1


def work_b(t):
    x = 0
    while time.thread_time() < t:
        x += 1


def work_c(t):
    x = 0
    while time.thread_time() < t:
        x += 1


def sleeper(stop):
    stop.wait()


def blocked(lock):
    with lock:
        pass


def run_workload():
    """Three spinners with a known CPU split, a sleeper and a thread blocked on a lock.

    Returns the CPU seconds each spinner really used (read from its own thread clock).
    """
    used: dict[str, float] = {}
    stop = threading.Event()
    lock = threading.Lock()
    lock.acquire()

    def run(fn):
        fn(TARGETS[fn.__name__] * TOTAL_CPU)
        used[fn.__name__] = time.thread_time()

    spinners = [threading.Thread(target=run, args=(fn,), name=fn.__name__)
                for fn in (work_a, work_b, work_c)]
    idle = [threading.Thread(target=sleeper, args=(stop,), name="sleeper"),
            threading.Thread(target=blocked, args=(lock,), name="blocked")]
    for t in idle + spinners:
        t.start()
    for t in spinners:
        t.join()
    stop.set()
    lock.release()
    for t in idle:
        t.join()
    return used


def flat_by_function(p, index=1):
    flat: dict[str, int] = {}
    for s in p.samples:
        name = s.locations[0].lines[0].function.name
        flat[name] = flat.get(name, 0) + s.values[index]
    return flat


def by_label(p, key, index=1):
    out: dict[str, int] = {}
    for s in p.samples:
        for lab in s.labels:
            if lab.key == key:
                out[lab.str] = out.get(lab.str, 0) + s.values[index]
    return out


@pytest.fixture(scope="module", params=["python", "c"])
def profiles(request):
    """One CPU and one wall profile of the workload per stack walker (Python, C)."""
    from pprofx.runtime import frames

    if request.param == "c" and frames.CStackWalker is None:
        missing("C stack walker not built (pip install -e . with a C compiler)")
    saved, frames.WALKER_BACKEND = frames.WALKER_BACKEND, request.param
    try:
        return _collect()
    finally:
        frames.WALKER_BACKEND = saved


def _collect():
    pprofx.start_cpu_profile()
    pprofx.start_wall_profile()
    t0 = time.monotonic()
    used = run_workload()
    elapsed = time.monotonic() - t0
    cpu = pprofx.stop_cpu_profile()
    wall = pprofx.stop_wall_profile()
    return cpu, wall, used, elapsed


def test_cpu_split_within_3_points(profiles):
    cpu, _, used, _ = profiles
    check_valid(cpu)
    flat = flat_by_function(cpu)
    total = sum(flat.values())
    measured_total = sum(used.values())
    for name in TARGETS:
        want = used[name] / measured_total
        got = flat.get(name, 0) / total
        assert abs(got - want) < 0.03, (name, got, want, flat)
    # The spinners account for (almost) all CPU; the sleeper and the blocked thread none.
    assert sum(flat.get(n, 0) for n in TARGETS) / total > 0.95
    threads = by_label(cpu, "thread")
    # ~0: only what starting the thread cost
    assert threads.get("sleeper", 0) < 0.005 * total and threads.get("blocked", 0) < 0.005 * total
    # Values are measured CPU time: the total matches the threads' clocks (what a thread
    # used after the last tick is charged as it exits).
    assert abs(total / 1e9 - measured_total) / measured_total < 0.03


def test_split_holds_when_ticks_are_rare():
    """At 5 Hz (or when the budget cap stretches the interval that far) the spinners end
    between ticks: what they used since their last tick still counts, so the split and the
    total stay right."""
    old = SAMPLER.hz
    pprofx.set_cpu_profile_rate(5)
    try:
        cpu, _, used, _ = _collect()
    finally:
        SAMPLER.hz = old
    flat = flat_by_function(cpu)
    total = sum(flat.values())
    measured_total = sum(used.values())
    for name in TARGETS:
        assert abs(flat.get(name, 0) / total - used[name] / measured_total) < 0.03, (name, flat)
    assert abs(total / 1e9 - measured_total) / measured_total < 0.03, (total, measured_total)


def test_cpu_profile_shape(profiles):
    cpu, _, _, elapsed = profiles
    assert [(t.type, t.unit) for t in cpu.sample_types] == [("samples", "count"),
                                                             ("cpu", "nanoseconds")]
    assert (cpu.period_type.type, cpu.period_type.unit) == ("cpu", "nanoseconds")
    assert cpu.period >= 10_000_000
    assert abs(cpu.duration_nanos / 1e9 - elapsed) < 0.5
    assert cpu.time_nanos > 0
    m = cpu.mappings[0]
    assert m.has_functions and m.has_filenames and m.has_line_numbers
    for s in cpu.samples:
        assert s.values[0] >= 1 and s.values[1] > 0
    # the profiler's own thread never appears
    names = {f.name for f in cpu.functions}
    assert not any("Sampler" in n for n in names)
    assert "pprofx-sampler" not in by_label(cpu, "thread")


def test_wall_profile_shows_idle_threads(profiles):
    _, wall, _, elapsed = profiles
    check_valid(wall)
    assert (wall.period_type.type, wall.sample_types[1].type) == ("wall", "wall")
    threads = by_label(wall, "thread")
    for name in ("sleeper", "blocked"):
        # each idle thread is charged (about) the whole run's wall time
        assert threads[name] / 1e9 > 0.6 * elapsed, (name, threads, elapsed)
    in_stack = {fn: sum(s.values[1] for s in wall.samples
                        if any(ln.function.name == fn for loc in s.locations for ln in loc.lines))
                for fn in ("sleeper", "blocked")}
    assert in_stack["sleeper"] / 1e9 > 0.6 * elapsed and in_stack["blocked"] / 1e9 > 0.6 * elapsed
    states = by_label(wall, "state")
    assert states.get("waiting", 0) > 0 and states.get("running", 0) > 0


def test_go_tool_pprof_top_lists_work_a_first(profiles, tmp_path, go):
    cpu, _, used, _ = profiles
    path = tmp_path / "cpu.pb.gz"
    path.write_bytes(pprofx.profile.encode(cpu))
    res = subprocess.run([go, "tool", "pprof", "-top", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    rows = [ln for ln in res.stdout.splitlines() if re.match(r"^\s*[\d.]+\w*\s+[\d.]+%", ln)]
    assert rows[0].split()[-1] == "work_a", res.stdout
    share = float(rows[0].split()[1].rstrip("%")) / 100
    want = used["work_a"] / sum(used.values())
    assert abs(share - want) < 0.03, (share, want, res.stdout)


def test_second_start_fails_like_go():
    pprofx.start_cpu_profile()
    try:
        with pytest.raises(pprofx.ProfilingInUse, match="^cpu profiling already in use$"):
            pprofx.start_cpu_profile()
        with pprofx.wall_profile() as h:  # a wall profile may run beside it
            with pytest.raises(pprofx.ProfilingInUse, match="^wall profiling already in use$"):
                pprofx.start_wall_profile()
        assert h.profile is not None
    finally:
        pprofx.stop_cpu_profile()
    assert pprofx.stop_cpu_profile() is None


def test_write_to_path_and_file(tmp_path):
    path = tmp_path / "a.pb.gz"
    with pprofx.cpu_profile(str(path)):
        _spin_until(time.thread_time() + 0.05)
    assert decode(path.read_bytes()).sample_types[1].type == "cpu"
    with open(tmp_path / "b.pb.gz", "wb") as f:
        pprofx.start_cpu_profile(f)
        pprofx.stop_cpu_profile()
    assert decode((tmp_path / "b.pb.gz").read_bytes()).period_type.type == "cpu"
    p = pprofx.profile_wall(0.05)
    assert p.period_type.type == "wall"
    with pytest.raises(ValueError):
        pprofx.profile_cpu(0)
    with pytest.raises(ValueError):
        pprofx.set_cpu_profile_rate(0)


def test_distinct_stacks_are_capped():
    old = SAMPLER.max_stacks
    SAMPLER.max_stacks = 3
    try:
        pprofx.start_wall_profile()
        threads = [threading.Thread(target=time.sleep, args=(0.3,), name=f"t{i}") for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p = pprofx.stop_wall_profile()
    finally:
        SAMPLER.max_stacks = old
    assert len(p.samples) <= 4
    assert any("beyond the cap" in c for c in p.comments)
    assert any(s.locations[0].lines[0].function.name.startswith("[pprofx: too many")
               for s in p.samples)


def test_short_threads_are_charged_and_the_exit_hook_is_removed():
    """Threads that live and end between two ticks still bring their CPU time; the stand-in
    for threading's internal lock is there only while sampling runs."""
    original = threading._active_limbo_lock
    old = SAMPLER.hz
    pprofx.set_cpu_profile_rate(2)
    try:
        pprofx.start_cpu_profile()
        assert threading._active_limbo_lock is not original
        used = []

        def short():
            _spin_until(time.thread_time() + 0.02)
            used.append(time.thread_time())

        for i in range(10):
            t = threading.Thread(target=short, name=f"short-{i}")
            t.start()
            t.join()
        cpu = pprofx.stop_cpu_profile()
    finally:
        SAMPLER.hz = old
    assert threading._active_limbo_lock is original
    threads = by_label(cpu, "thread")
    charged = sum(v for k, v in threads.items() if k.startswith("short-")) / 1e9
    assert abs(charged - sum(used)) / sum(used) < 0.05, (charged, sum(used), threads)
    assert not any(k.startswith("pprofx-") for k in threads)


def test_a_thread_that_reported_its_end_is_not_charged_twice():
    """Between reporting its end and disappearing, a thread may still be listed at a tick: its
    CPU was charged at the report and must not be charged again (as if it were new)."""
    import sys

    pprofx.start_cpu_profile()
    reported = threading.Event()
    used = []

    def ending():
        _spin_until(time.thread_time() + 0.1)
        used.append(time.thread_time())
        SAMPLER.thread_exiting(sys._getframe())  # what the exit hook does
        reported.set()
        time.sleep(0.3)  # still alive, idle: ticks see it

    t = threading.Thread(target=ending, name="ending")
    t.start()
    reported.wait(5)
    time.sleep(0.1)
    t.join()
    cpu = pprofx.stop_cpu_profile()
    charged = by_label(cpu, "thread").get("ending", 0) / 1e9
    assert abs(charged - used[0]) < 0.02, (charged, used)
