"""The C lock wrappers (``pprofx.runtime._locks_c``) against their Python twins in locks.py.

The block/mutex behaviour of both backends is covered by test_block_mutex.py (parametrized
over ``lock_backend``); here: the same results and errors for the same operations, no
Python code on the uncontended fast path, attributes and reprs, and no reference leaks.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref

import pytest

from pprofx.runtime import contention, locks

from ..conftest import missing


@pytest.fixture
def c_types():
    if locks.CProfiledLock is None:
        missing("C lock wrappers not built (pip install -e . with a C compiler)")
    return locks.wrapper_types("c")


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as e:  # noqa: BLE001
        return (type(e).__name__, str(e))


LOCK_OPS = [
    ("acquire()", lambda lk: lk.acquire()),
    ("acquire(False)", lambda lk: lk.acquire(False)),
    ("acquire(0)", lambda lk: lk.acquire(0)),
    ("acquire(blocking=False)", lambda lk: lk.acquire(blocking=False)),
    ("acquire(True, 0.01)", lambda lk: lk.acquire(True, 0.01)),
    ("acquire(timeout=0)", lambda lk: lk.acquire(timeout=0)),
    ("acquire(timeout=-1.0, blocking=1)", lambda lk: lk.acquire(timeout=0.001, blocking=1)),
    ("acquire(False, 1)", lambda lk: lk.acquire(False, 1)),
    ("acquire(True, -2)", lambda lk: lk.acquire(True, -2)),
    ("acquire(True, None)", lambda lk: lk.acquire(True, None)),
    ("acquire(True, 'x')", lambda lk: lk.acquire(True, "x")),
    ("acquire(False, 'x')", lambda lk: lk.acquire(False, "x")),
    ("acquire(True, 1e300)", lambda lk: lk.acquire(True, 1e300)),
    ("acquire(bogus=1)", lambda lk: lk.acquire(bogus=1)),
    ("acquire(1, 2, 3)", lambda lk: lk.acquire(1, 2, 3)),
    ("acquire(False, blocking=False)", lambda lk: lk.acquire(False, blocking=False)),
    ("release()", lambda lk: lk.release()),
    ("locked()", lambda lk: lk.locked()),
    ("__enter__()", lambda lk: lk.__enter__()),
    ("__exit__(None, None, None)", lambda lk: lk.__exit__(None, None, None)),
]


@pytest.mark.parametrize("kind", [0, 1], ids=["Lock", "RLock"])
def test_same_results_and_errors_as_python_twin(c_types, kind):
    py_lock = locks.wrapper_types("python")[kind]()
    c_lock = c_types[kind]()
    ops = LOCK_OPS if kind == 0 else [op for op in LOCK_OPS if op[0] != "locked()" or
                                      hasattr(locks._PLAIN_RLOCK(), "locked")]
    if kind == 0:
        ops = ops + [("acquire_lock()", lambda lk: lk.acquire_lock()),
                     ("release_lock()", lambda lk: lk.release_lock()),
                     ("locked_lock()", lambda lk: lk.locked_lock())]
    else:
        ops = ops + [("_is_owned()", lambda lk: lk._is_owned()),
                     ("_release_save()", lambda lk: lk._release_save()[0])]
    # every pair of operations from a fresh pair of locks (the second sees the first's state)
    blocking = {"acquire()", "__enter__()", "acquire_lock()"}
    for name1, op1 in ops:
        for name2, op2 in ops:
            a, b = locks.wrapper_types("python")[kind](), c_types[kind]()
            first = outcome(op1, a), outcome(op1, b)
            if kind == 0 and name2 in blocking and a.locked():
                continue  # would wait forever on both
            got_py = (first[0], outcome(op2, a))
            got_c = (first[1], outcome(op2, b))
            assert got_c == got_py, (name1, name2)
    del py_lock, c_lock


def test_attributes_repr_weakref(c_types):
    lk, rl = c_types[0](), c_types[1]()
    assert lk._waiters == {} and lk._last == 0 and type(lk._lock) is locks._LOCK_TYPE
    assert repr(lk).startswith("<unlocked pprofx.ProfiledLock object at 0x")
    assert repr(lk) == f"<unlocked pprofx.ProfiledLock object at {id(lk):#x}>"
    with lk:
        assert repr(lk) == f"<locked pprofx.ProfiledLock object at {id(lk):#x}>"
    with rl, rl:
        assert repr(rl) == repr(rl._lock).replace("_thread.RLock", "pprofx.ProfiledRLock", 1)
        assert "count=2" in repr(rl)
    with pytest.raises(AttributeError):
        lk.anything = 1
    with pytest.raises(AttributeError):
        lk._lock = None
    if sys.version_info >= (3, 12):  # delegated to the real RLock, as the Python twin does
        assert rl._recursion_count() == 0
    with pytest.raises(AttributeError):
        rl.no_such_attribute  # noqa: B018
    assert not hasattr(lk, "_is_owned") and not hasattr(lk, "_release_save")
    for obj in (lk, rl):
        ref = weakref.ref(obj)
        assert ref() is obj
    del lk, rl, obj
    gc.collect()
    assert ref() is None
    lk = c_types[0]()
    lk.acquire()
    lk._waiters[object()] = 1
    lk._at_fork_reinit()
    assert not lk.locked() and lk._waiters == {}
    assert isinstance(lk, locks.ProfiledLock) and isinstance(locks.ProfiledLock(), c_types[0])


def test_uncontended_fast_path_runs_no_python(c_types):
    lk, rl = c_types[0](), c_types[1]()
    events: list = []

    def prof(frame, event, arg):
        if event == "call":
            events.append(frame.f_code.co_name)

    sys.setprofile(prof)
    try:
        for _ in range(3):
            with lk:
                pass
            lk.acquire()
            lk.release()
            lk.acquire(True, 1)
            lk.release()
            lk.acquire(False)
            lk.release()
            with rl, rl:
                pass
            rl.acquire()
            rl.release()
    finally:
        sys.setprofile(None)
    assert events == []


def test_contended_and_condition_paths_call_the_python_helpers(c_types):
    lk = c_types[0]()
    lk.acquire()
    waiting = threading.Event()

    def take():
        waiting.set()
        with lk:
            pass

    old = contention.mutex_fraction, contention.block_rate
    contention.mutex_fraction, contention.block_rate = 1, 1
    try:
        t = threading.Thread(target=take)
        t.start()
        waiting.wait()
        deadline = time.monotonic() + 5
        while not lk._waiters and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(lk._waiters) == 1
        time.sleep(0.01)
        lk.release()
        t.join(5)
        assert lk._last > 0 and lk._waiters == {}
        rc = threading.Condition(c_types[1]())
        with rc, rc:
            assert rc.wait(0.005) is False
            assert rc._is_owned()
    finally:
        contention.mutex_fraction, contention.block_rate = old


def test_no_reference_leaks(c_types):
    lk, rl = c_types[0](), c_types[1]()
    inner = lk._lock

    def churn():
        for _ in range(2000):
            with lk:
                pass
            lk.acquire(True, 0.5)
            lk.acquire(False)
            lk.release()
            lk.acquire(timeout=0)
            lk.release()
            outcome(lambda: lk.acquire(False, 1))
            outcome(lambda: lk.release())
            repr(lk)
            with rl, rl:
                rl._acquire_restore(rl._release_save())
            with rl:
                rl._acquire_restore(rl._release_save())
            assert rl._lock is not None
            c_types[0]()
            c_types[1]()

    churn()
    gc.collect()
    before = sys.getallocatedblocks(), sys.getrefcount(inner), sys.getrefcount(c_types[0])
    churn()
    gc.collect()
    after = sys.getallocatedblocks(), sys.getrefcount(inner), sys.getrefcount(c_types[0])
    assert after[1:] == before[1:]
    assert after[0] - before[0] < 200, (before, after)
