"""A Flask app served over real HTTP on a free loopback port, in a thread of the test process
(werkzeug's threaded server), for the services that call each other (the portal calls the
workflow API) and for the browser tests."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines
log = logging.getLogger(__name__)


class QuietHandler(WSGIRequestHandler):
    """Request lines go to logging (shown with a failing test), not to a stderr handler that
    werkzeug would install once and leave pointing at a closed capture stream."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), ANSI_STYLE.sub("", message % args))


@contextmanager
def served(app: Flask, name: str) -> Iterator[str]:
    """`app` on http://127.0.0.1:<free port>, one thread per request, until the block ends."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True,
                                         request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name=f"{name}-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
