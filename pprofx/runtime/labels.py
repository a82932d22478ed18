"""Profiler labels: the Python counterpart of Go's ``pprof.Do`` / ``pprof.Labels``.

``with pprofx.labels(endpoint="/checkout"):`` (or ``@pprofx.labels(...)`` on a function)
attaches string labels to everything the current thread or asyncio task runs inside the
block; nested sets merge, a later key overrides an earlier one, and the previous set is
restored on exit. Labels live in a :class:`contextvars.ContextVar`, so they follow asyncio
tasks (and are inherited by tasks created inside the block).

A sampler running in another thread cannot read this thread's context, so every change is
also *published*: under the running asyncio task (a weak map) or under the thread ident.
:func:`labels_of_thread` and :func:`labels_of_task` are what the samplers read. On Python
3.12+ a task's own context is read directly, which also covers inherited labels.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import threading
import weakref
from typing import Any, Callable, Tuple, TypeVar

LabelSet = Tuple[Tuple[str, str], ...]  # sorted (key, value) pairs

_current: contextvars.ContextVar[LabelSet] = contextvars.ContextVar("pprofx_labels", default=())
_by_thread: dict[int, LabelSet] = {}
_by_task: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

F = TypeVar("F", bound=Callable[..., Any])


def _merge(base: LabelSet, new: dict[str, str]) -> LabelSet:
    merged = dict(base)
    merged.update(new)
    return tuple(sorted(merged.items()))


def _running_task() -> asyncio.Task | None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return asyncio.current_task()


def _publish(value: LabelSet) -> None:
    task = _running_task()
    if task is not None:
        if value:
            _by_task[task] = value
        else:
            _by_task.pop(task, None)
        return
    ident = threading.get_ident()
    if value:
        _by_thread[ident] = value
    else:
        _by_thread.pop(ident, None)


class labels:  # noqa: N801 - used like a function: `with pprofx.labels(k=v):`
    """Context manager and decorator that sets profiler labels for the enclosed code.

    Keys and values are strings (values are converted with ``str``). Usable as ``with
    labels(k=v):``, ``async with labels(k=v):`` or ``@labels(k=v)`` (sync or async
    functions). Re-entrant: each ``with`` restores what was current when it started.
    """

    def __init__(self, **kv: Any) -> None:
        self._kv = {str(k): str(v) for k, v in kv.items()}
        self._tokens: list[contextvars.Token] = []

    def __enter__(self) -> LabelSet:
        value = _merge(_current.get(), self._kv)
        self._tokens.append(_current.set(value))
        _publish(value)
        return value

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())
        _publish(_current.get())

    async def __aenter__(self) -> LabelSet:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, fn: F) -> F:
        kv = self._kv
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with labels(**kv):
                    return await fn(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with labels(**kv):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


def carry_to_thread(fn: F) -> F:
    """Wrap ``fn`` so that, in whatever thread runs it, the sampler sees the labels that are
    current here (where it is wrapped).

    Thread pools that run the caller's function in a copy of its context (Starlette/FastAPI
    sync endpoints via ``anyio.to_thread.run_sync``, ``asyncio.to_thread``) give the code the
    labels (``current_labels()`` works) but not the per-thread record the sampler reads; this
    publishes it for the duration of the call and puts back the thread's previous one.
    """
    value = _current.get()
    if not value:
        return fn

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        ident = threading.get_ident()
        before = _by_thread.get(ident)
        _by_thread[ident] = value
        try:
            return fn(*args, **kwargs)
        finally:
            if before:
                _by_thread[ident] = before
            else:
                _by_thread.pop(ident, None)
    return run  # type: ignore[return-value]


def current_labels() -> dict[str, str]:
    """The labels in effect for the calling thread or task (Go's ``ForLabels``)."""
    return dict(_current.get())


def labels_of_thread(ident: int) -> LabelSet:
    """Labels last published by thread ``ident`` outside any asyncio task."""
    return _by_thread.get(ident, ())


def labels_of_task(task: asyncio.Task) -> LabelSet:
    """Labels in effect in ``task`` (its context on 3.12+, else what it published)."""
    get_context = getattr(task, "get_context", None)
    if get_context is not None:
        try:
            return get_context().get(_current, ())
        except Exception:  # noqa: BLE001 - a foreign Task implementation
            pass
    return _by_task.get(task, ())


def forget_thread(ident: int) -> None:
    """Drop what a finished thread published (called by the sampler's housekeeping)."""
    _by_thread.pop(ident, None)


def reset_after_fork() -> None:
    """In a forked child only the forking thread survives: forget every other thread."""
    me = threading.get_ident()
    keep = _by_thread.get(me)
    _by_thread.clear()
    if keep:
        _by_thread[me] = keep


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reset_after_fork)
