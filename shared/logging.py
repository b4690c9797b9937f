"""Structured JSON logs carrying a correlation id that follows one piece of work across
the HTTP request, the outbox row, the Redis stream entry and the Celery task."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime

_correlation_id: ContextVar[str | None] = ContextVar("sakip_correlation_id", default=None)
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def enter_correlation(correlation_id: str | None) -> tuple[str, Token[str | None]]:
    """Start work under a correlation id (a fresh one when None is given); pass the token to
    `exit_correlation` when the work ends (end of a request, of a task)."""
    value = correlation_id or new_correlation_id()
    return value, _correlation_id.set(value)


def exit_correlation(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[str]:
    """Run a block of work under a correlation id (a fresh one when None is given)."""
    value, token = enter_correlation(correlation_id)
    try:
        yield value
    finally:
        exit_correlation(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": current_correlation_id(),
        }
        doc.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        cid = current_correlation_id()
        line = super().format(record)
        return f"{line} [cid={cid}]" if cid else line


def configure_logging(service: str, *, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(_PlainFormatter(f"%(asctime)s {service} %(levelname)s %(name)s: "
                                             "%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
