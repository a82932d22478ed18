"""Loaded by Python at start-up in processes launched with ``pprofx run``.

``pprofx run`` puts this folder first on PYTHONPATH, so the interpreter imports this
module as ``sitecustomize``: it starts the agent (``pprofx.auto``) and then runs the
``sitecustomize`` the environment would otherwise have loaded, so nothing of the
application's own start-up is lost. It must never break the program it is injected into.
"""

import importlib.machinery
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

try:
    import pprofx.auto  # noqa: F401 - starts the /debug/pprof/ server
except Exception as e:  # noqa: BLE001 - never break the host program
    print(f"pprofx: agent not started: {type(e).__name__}: {e}", file=sys.stderr)

# Run the next sitecustomize on the path, if there is one (without replacing this module's
# entry in sys.modules, which the import system still needs while this file runs).
try:
    _path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    _spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _path)
    if _spec is not None and _spec.loader is not None:
        _module = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_module)
except Exception as e:  # noqa: BLE001 - report it as Python would, then go on
    print(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{type(e).__name__}: {e}",
          file=sys.stderr)
