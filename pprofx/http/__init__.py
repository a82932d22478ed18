"""pprofx.http: ``/debug/pprof/`` over HTTP (standard library only).

``handlers`` answers requests framework-neutrally with net/http/pprof's behaviour,
``profiles`` is the registry of named profiles, ``server`` the standalone server.
"""

from .handlers import Request, Response, handle
from .server import PprofServer, ServerConfig, start_server

__all__ = ["PprofServer", "Request", "Response", "ServerConfig", "handle", "start_server"]
