"""Shared test fixtures: the compatibility corpus, the `go` oracle, wire backends.

The corpus is found at ``$PPROFX_CORPUS``, else ``../shared/corpus`` beside the checkout.
Tests that need it, or need Go, skip with a reason when it is missing — except under CI
(``CI=true``), where a missing corpus or tool is a failure.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Profiles fetched over HTTP are saved as pprof saves them ($PPROF_TMPDIR, else ~/pprof);
# keep the test suite's out of the developer's home (subprocesses inherit this).
os.environ["PPROF_TMPDIR"] = tempfile.mkdtemp(prefix="pprofx-tests-")


def find_corpus() -> Path | None:
    env = os.environ.get("PPROFX_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "corpus")
    for c in candidates:
        if c.is_dir():
            return c
    return None


CORPUS = find_corpus()


def missing(reason: str) -> None:
    """Skip the test, or fail it under CI, because something it needs is absent."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def corpus_profiles() -> list[Path]:
    """Every binary (gzip) pprof file in the corpus; legacy text inputs are excluded."""
    if CORPUS is None:
        return []
    out = []
    for p in sorted(CORPUS.rglob("*")):
        if not p.is_file() or p.stat().st_size < 2:
            continue
        with p.open("rb") as f:
            if f.read(2) != b"\x1f\x8b":
                continue
        try:
            with gzip.open(p, "rb") as g:
                g.read(1)
        except OSError:
            continue
        out.append(p)
    return out


def corpus_params():
    """pytest params over corpus profiles, or one param that skips/fails when absent."""
    files = corpus_profiles()
    if not files:
        return [pytest.param(None, id="no-corpus")]
    return [pytest.param(f, id=str(f.relative_to(CORPUS))) for f in files]


@pytest.fixture(scope="session")
def corpus() -> Path:
    if CORPUS is None:
        missing("compatibility corpus not found (set PPROFX_CORPUS or check ../shared/corpus)")
    return CORPUS


def need_corpus_file(path: Path | None) -> Path:
    if path is None:
        missing("compatibility corpus not found (set PPROFX_CORPUS or check ../shared/corpus)")
    return path


@pytest.fixture(scope="session")
def go() -> str:
    """Path of the `go` binary, whose `go tool pprof` is the compatibility oracle."""
    path = shutil.which("go")
    if path is None:
        missing("Go toolchain not installed (apt-get install golang-go)")
    return path



@pytest.fixture(params=["python", "c"])
def backend(request) -> str:
    """Each wire decoder; the C one must be built under CI."""
    from pprofx.profile.decode import wire_backend

    if request.param == "c" and wire_backend() != "c":
        missing("C wire decoder not built (pip install -e . with a C compiler)")
    return request.param


@pytest.fixture(params=["python", "c"])
def lock_backend(request) -> str:
    """Each implementation of the lock wrappers; the C one must be built under CI."""
    from pprofx.runtime import locks

    if request.param == "c" and locks.CProfiledLock is None:
        missing("C lock wrappers not built (pip install -e . with a C compiler)")
    return request.param


@pytest.fixture(params=["python", "c"])
def stack_backend(request, monkeypatch) -> str:
    """Each stack walker of the CPU/wall sampler (frames.WALKER_BACKEND); C required under CI."""
    from pprofx.runtime import frames

    if request.param == "c" and frames.CStackWalker is None:
        missing("C stack walker not built (pip install -e . with a C compiler)")
    monkeypatch.setattr(frames, "WALKER_BACKEND", request.param)
    return request.param


@pytest.fixture(autouse=True)
def _fresh_heap_profiler():
    """A heap recording outlives stop (as Go's does): drop it after each test that made one,
    so later tests see a fresh process's heap profile."""
    yield
    from pprofx.runtime import heap

    if heap._backend is not None:
        heap._forget()
