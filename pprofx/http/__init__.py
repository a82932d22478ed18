"""pprofx.http: ``/debug/pprof/`` over HTTP (standard library only).

``handlers`` answers requests framework-neutrally with net/http/pprof's behaviour,
``profiles`` is the registry of named profiles, ``server`` the standalone server,
``wsgi`` and ``asgi`` the adapters that mount the endpoints inside a web application.
"""

from .asgi import PprofASGIApp, PprofASGIMiddleware
from .handlers import Request, Response, handle
from .server import PprofServer, ServerConfig, start_server
from .wsgi import PprofApp, PprofMiddleware

__all__ = ["PprofASGIApp", "PprofASGIMiddleware", "PprofApp", "PprofMiddleware", "PprofServer",
           "Request", "Response", "ServerConfig", "handle", "start_server"]
