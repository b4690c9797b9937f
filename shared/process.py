"""What every long-running non-HTTP process shares: settings, logs, metrics, a clean stop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from shared import clock
from shared.config import Settings, load_settings
from shared.logging import configure_logging
from shared.metrics import start_metrics_server


def start_process(name: str) -> tuple[Settings, threading.Event]:
    """Load settings, set up logs and /metrics, and return an event set on SIGTERM/SIGINT."""
    settings = load_settings()
    clock.use_settings(settings)
    configure_logging(name, level=settings.log_level, json_logs=settings.log_json)
    start_metrics_server(settings.metrics_port)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return settings, stop
