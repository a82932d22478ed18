"""pprofx: pprof for Python services.

The agent (``pprofx.profile``, ``pprofx.runtime``, ``pprofx.http``, ``pprofx.auto``) uses the
standard library only; the analysis tools live in ``pprofx.report`` and the ``pprofx`` CLI.
"""

__version__ = "0.1.0"
