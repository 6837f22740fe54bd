"""A threaded HTTP server on a free 127.0.0.1 port, the base of the test doubles
(``llm_server.ScriptedLLMServer``, ``chaos/fault_server.FaultServer``).

``with server:`` serves in a daemon thread; ``api_base`` is its OpenAI-style base URL.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    #: the default listen backlog (5) resets connections when a client opens 32-64 at once
    request_queue_size = 1024
    daemon_threads = True
    #: a hanging handler must not block the server's shutdown
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed or timed out mid-request is expected here: no traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves ``handler`` (given to ``_listen``) until the ``with`` block ends."""

    _httpd: QuietServer
    _thread: threading.Thread

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def api_base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"
