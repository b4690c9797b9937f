"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can reach the
database, Redis and the object store) for every service."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from shared.web.resources import Resources, current_resources

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _check_db(res: Resources) -> None:
    with res.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_redis(res: Resources) -> None:
    res.redis.ping()


def _check_s3(res: Resources) -> None:
    res.object_store.ping()


CHECKS: dict[str, Callable[[Resources], None]] = {
    "database": _check_db,
    "redis": _check_redis,
    "object_storage": _check_s3,
}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", service=current_app.name)


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    res = current_resources()
    results = {}
    for name, check in CHECKS.items():
        try:
            check(res)
            results[name] = "ok"
        except Exception as exc:  # a readiness probe reports every failure, whatever its kind
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"gagal: {type(exc).__name__}"
    ready = all(v == "ok" for v in results.values())
    return jsonify(status="ok" if ready else "unavailable", checks=results), 200 if ready else 503
