"""gunicorn settings shared by every web service (`gunicorn -c python:shared.web.gunicorn_conf`)."""

from __future__ import annotations

import os
from typing import Any

from shared.metrics import mark_process_dead

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 120
graceful_timeout = 10
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(_server: Any, worker: Any) -> None:
    # A dead worker's live gauges must not linger in the multiprocess directory.
    mark_process_dead(worker.pid)
