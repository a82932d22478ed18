"""The one exception type of :mod:`pprofx.profile`.

Every malformed or unacceptable input — truncated data, bad varints, wrong wire types,
dangling ids, oversized or gzip-bomb input, failed validity checks, incompatible merges —
is reported as :class:`ProfileError`, so callers (the CLI, the HTTP layer, the collector)
catch one type and show its message instead of a traceback.
"""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile could not be decoded, validated or combined.

    The message says what was wrong and, when known, where (``at byte N`` for wire
    errors, the offending id or index for structural ones).
    """
