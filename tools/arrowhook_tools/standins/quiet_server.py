"""A threading HTTP server for the stand-ins whose request errors are logged, not printed.

socketserver's default `handle_error` prints a traceback to sys.stderr from the request's thread: a
client that hangs up mid-request (a test ending, a socket dropped on purpose) then writes into whatever
stderr is at that moment, which under pytest is a capture being swapped at teardown, and CPython 3.13
can crash on that race (a segmentation fault took a test worker down). Logged instead, at debug level.
"""

from __future__ import annotations

import logging
from http.server import ThreadingHTTPServer
from typing import Any

_log = logging.getLogger(__name__)


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("stand-in request from %s failed", client_address, exc_info=True)
