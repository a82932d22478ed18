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
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Sequence

from ..profile import (
    DEFAULT_MAX_SIZE,
    Mapping,
    Profile,
    ProfileError,
    check_compatible,
    decode,
    load,
    merge,
    negate,
    scale_n,
    set_label,
)
from ..profile.prune import remove_uninteresting


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


def is_url(source: str) -> bool:
    """True for sources fetched over HTTP (scheme given, or ``host:port`` form)."""
    if source.startswith(("http://", "https://")):
        return True
    head = source.split("/", 1)[0]
    host, sep, port = head.rpartition(":")
    return bool(sep and host and port.isdigit())


def adjust_url(source: str, seconds: int | None) -> tuple[str, float | None]:
    """Normalise a URL source like Go's pprof; return (url, seconds found in it or None)."""
    if not source.startswith(("http://", "https://")):
        source = "http://" + source
    parts = urllib.parse.urlsplit(source)
    path = parts.path
    if path in ("", "/"):
        path = "/debug/pprof/profile"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if seconds is not None:
        query = [(k, v) for k, v in query if k != "seconds"] + [("seconds", str(seconds))]
    secs = None
    for k, v in query:
        if k == "seconds":
            try:
                secs = float(v)
            except ValueError:
                secs = None
    url = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), "")
    )
    return url, secs


def fetch_url(source: str, opts: SourceOptions) -> Profile:
    """Fetch and decode one profile over HTTP, with Go pprof's messages on failure."""
    url, secs = adjust_url(source, opts.seconds)
    timeout = opts.timeout
    if timeout is None:
        timeout = 1.5 * secs if secs else 60.0
    timeout += 5
    if opts.verbose:
        print(f"Fetching profile over HTTP from {url}", file=sys.stderr)
        if secs:
            print(f"Please wait... ({secs:g}s)", file=sys.stderr)
    req = urllib.request.Request(url, headers={"User-Agent": "pprofx"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user URL
            data = resp.read(opts.max_size + 1)
    except urllib.error.HTTPError as e:
        body = b""
        try:
            body = e.read(4096)
        except OSError:
            pass
        msg = f"server response: {e.code} {e.reason}"
        ctype = e.headers.get("Content-Type", "") if e.headers else ""
        if e.headers and e.headers.get("X-Go-Pprof") and ctype.startswith("text/plain"):
            msg += " - " + body.decode("utf-8", "replace").strip()
        raise ProfileError(f"{url}: {msg}") from None
    except urllib.error.URLError as e:
        raise ProfileError(f"{url}: {e.reason}") from None
    except TimeoutError:
        raise ProfileError(f"{url}: timed out after {timeout:g}s") from None
    except OSError as e:
        raise ProfileError(f"{url}: {e}") from None
    try:
        return decode(data, opts.max_size)
    except ProfileError as e:
        raise ProfileError(f"{url}: {e}") from None


def fetch(source: str, opts: SourceOptions) -> Profile:
    """Load one source (file or URL) without any post-processing."""
    if is_url(source):
        return fetch_url(source, opts)
    return load(source, opts.max_size)


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
    p = merge([fetch(s, opts) for s in sources])
    if opts.base:
        p = _subtract_base(p, opts)
    if not opts.all_frames:
        remove_uninteresting(p)
    return add_fake_mapping(p)


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
    base = merge([fetch(s, opts) for s in opts.base])
    if opts.diff_base:
        set_label(base, "pprof::base", ["true"])
    if opts.normalize:
        _normalize(p, base)
    negate(base)
    return merge([p, base])
