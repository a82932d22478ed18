"""Loading profiles the way ``go tool pprof`` does: from files or URLs, merged, cleaned.

A source is a file path or a URL (``http://``, ``https://``, or ``host:port[/path]``, which
gets ``http://`` prepended; an empty path means ``/debug/pprof/profile``, as in Go's
``cmd/pprof``). After fetching, several sources are merged, ``drop_frames`` is applied
unless ``all_frames`` is set, and a profile without mappings gets pprof's fake mapping, so
that reports see what ``go tool pprof`` sees. Every failure is a :class:`ProfileError`
whose message names the source.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from typing import Sequence

from ..profile import (
    DEFAULT_MAX_SIZE,
    Mapping,
    Profile,
    ProfileError,
    check_compatible,
    encode,
    load,
    merge,
    negate,
    scale_n,
    set_label,
)
from ..profile.prune import remove_uninteresting
from .fetch import HttpOptions, fetch_url, is_url


@dataclasses.dataclass
class SourceOptions:
    """How to fetch and prepare sources (filled from CLI flags by ``pprofx.cli``)."""

    seconds: int | None = None  #: overrides ``seconds=`` in URLs
    timeout: float | None = None  #: HTTP timeout; default 1.5×seconds, else 60 s (+5 s)
    all_frames: bool = False  #: ignore drop_frames/keep_frames
    max_size: int = DEFAULT_MAX_SIZE  #: largest profile accepted, after gzip inflation
    verbose: bool = True  #: print "Fetching profile over HTTP…" to stderr
    base: Sequence[str] = ()  #: -base / -diff_base sources, subtracted from the profile
    diff_base: bool = False  #: mark base samples with pprof::base=true (percentages vs. base)
    normalize: bool = False  #: scale the profile to the base's totals first
    token: str | None = None  #: bearer token for protected agents (default $PPROFX_TOKEN)
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    save_remote: bool = False  #: save fetched profiles like pprof ($PPROF_TMPDIR or ~/pprof)


def _http(opts: SourceOptions) -> HttpOptions:
    return HttpOptions(seconds=opts.seconds, timeout=opts.timeout, token=opts.token,
                       tls_ca=opts.tls_ca, tls_cert=opts.tls_cert, tls_key=opts.tls_key,
                       verbose=opts.verbose, max_size=opts.max_size)


def fetch(source: str, opts: SourceOptions) -> Profile:
    """Load one source (file or URL) without any post-processing."""
    if is_url(source):
        return fetch_url(source, _http(opts))
    return load(source, opts.max_size)


def _fetch_all(sources: Sequence[str], opts: SourceOptions) -> Profile:
    """Fetch and merge ``sources``; like pprof, a failing source among several is reported
    on stderr and skipped, and only all of them failing is an error."""
    profiles, errors = [], []
    for s in sources:
        try:
            profiles.append(fetch(s, opts))
        except ProfileError as e:
            errors.append(e)
    if not profiles:
        raise errors[0]
    for e in errors:
        print(f"pprofx: {e} (skipped)", file=sys.stderr)
    # pprof merges even a single source, which compacts it: duplicate samples summed in
    # first-appearance order (per-sample reports and -normalize rounding depend on this).
    return merge(profiles)


def save_dir() -> str:
    """Where fetched profiles are saved: $PPROF_TMPDIR, else ~/pprof, else the temp dir."""
    candidates = [os.environ.get("PPROF_TMPDIR", "")]
    if os.environ.get("HOME"):
        candidates.append(os.path.join(os.environ["HOME"], "pprof"))
    candidates.append(tempfile.gettempdir())
    for d in candidates:
        if not d:
            continue
        try:
            os.makedirs(d, mode=0o755, exist_ok=True)
            return d
        except OSError as e:
            print(f"Could not use temp dir {d}: {e}", file=sys.stderr)
    raise ProfileError("failed to identify temp dir")


def save_fetched(p: Profile) -> str | None:
    """Save ``p`` as pprof does: ``pprof.<binary>.<types>.NNN.pb.gz``; returns the path."""
    prefix = "pprof."
    if p.mappings and p.mappings[0].filename:
        prefix += os.path.basename(p.mappings[0].filename) + "."
    prefix += "".join(t.type + "." for t in p.sample_types)
    try:
        d = save_dir()
        for i in range(1, 10000):
            path = os.path.join(d, f"{prefix}{i:03d}.pb.gz")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(encode(p))
            print(f"Saved profile in {path}", file=sys.stderr)
            return path
        raise ProfileError(f"could not create file of the form {prefix}001.pb.gz")
    except (OSError, ProfileError) as e:
        print(f"Could not save profile: {e}", file=sys.stderr)
    return None


def add_fake_mapping(p: Profile) -> Profile:
    """Give a profile with no mappings pprof's fake mapping (id 1, all zero); returns ``p``."""
    if not p.mappings and p.locations:
        m = Mapping(1)
        p.mappings.append(m)
        for loc in p.locations:
            loc.mapping = m
    return p


def load_sources(sources: Sequence[str], opts: SourceOptions | None = None) -> Profile:
    """Fetch every source, merge them, and prepare the result as ``go tool pprof`` does."""
    opts = opts or SourceOptions()
    if not sources:
        raise ProfileError("no profile source given")
    # pprof merges even a single source, which compacts it: duplicate samples summed in
    # first-appearance order (per-sample reports and -normalize rounding depend on this).
    p = _fetch_all(sources, opts)
    if opts.base:
        p = _subtract_base(p, opts)
    if not opts.all_frames:
        remove_uninteresting(p)
    p = add_fake_mapping(p)
    if opts.save_remote and any(is_url(s) for s in [*sources, *opts.base]):
        save_fetched(p)
    return p


def _normalize(p: Profile, base: Profile) -> None:
    """pprof's ``Normalize``: scale ``p`` so its per-type totals equal ``base``'s."""
    check_compatible(p, base)
    n = len(p.sample_types)
    base_totals = [sum(s.values[i] for s in base.samples) for i in range(n)]
    totals = [sum(s.values[i] for s in p.samples) for i in range(n)]
    scale_n(p, [b / t if t else 0.0 for b, t in zip(base_totals, totals)])


def _subtract_base(p: Profile, opts: SourceOptions) -> Profile:
    """Merge ``p`` with the negated base profile (``-base``); for ``-diff_base`` the base
    samples carry ``pprof::base=true`` so reports take percentages against the base."""
    base = _fetch_all(opts.base, opts)
    if opts.diff_base:
        set_label(base, "pprof::base", ["true"])
    if opts.normalize:
        _normalize(p, base)
    negate(base)
    return merge([p, base])
