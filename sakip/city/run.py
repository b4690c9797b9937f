"""`run_city`: a whole local stack in SAKIP_ENV=demo on a fresh PostgreSQL database, the city
played through it (`sakip.city.drive`), the event pipeline drained, the outcome checked against
the plan (`sakip.city.check`), the stack stopped and the database dropped (unless kept)."""

from __future__ import annotations

import os
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import func, make_url, select, text

from sakip.city.check import check_city
from sakip.city.client import Endpoints
from sakip.city.drive import CityRun, DriveError, drive_city, poll
from sakip.city.plan import CityPlan
from sakip.localinfra import free_ports
from sakip.stack import Ports, Stack
from shared.config import Settings, load_settings
from shared.db import make_engine

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DRAIN_SECONDS = 120.0
# What a developer's shell may carry that must not reach the city's stack.
_DROPPED = ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "REDIS_URL",
            "SAKIP_DEMO_CLOCK", "DATABASE_URL", "WORKFLOW_URL", "REPORTING_URL")


@dataclass
class CityOutcome:
    dinas: int
    bidang: int
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    clock_jumps: int = 0
    inconsistencies: list[str] = field(default_factory=list)
    error: str | None = None
    database_url: str | None = None  # kept (--keep) for a look afterwards

    @property
    def ok(self) -> bool:
        return self.error is None and not self.inconsistencies


Check = Callable[[CityPlan, Settings], list[str]]


def run_city(plan: CityPlan, *, database_url: str | None, state_dir: Path, out: IO[str],
             keep: bool = False, check: Check = check_city) -> CityOutcome:
    """Play `plan` on a fresh stack; `check` (default: the full check against the plan) runs
    while the stack is still up, with its settings."""
    started = time.monotonic()
    outcome = CityOutcome(dinas=len(plan.dinas), bidang=sum(len(d.bidang) for d in plan.dinas))
    base = make_url(database_url or DEFAULT_DATABASE)
    name = f"sakip_city_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    intake, workflow, reporting, s3 = free_ports(4)
    environ = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    environ.update({"SAKIP_ENV": "demo", "REDIS_URL": "", "DATABASE_URL": url,
                    "SCHEDULER_INTERVAL_SECONDS": "1", "SAKIP_STATE_DIR": str(state_dir),
                    "LOG_LEVEL": environ.get("LOG_LEVEL", "WARNING")})
    stack = Stack(state_dir, Ports(intake, workflow, reporting, s3), out=out, environ=environ)
    try:
        stack.start()
        settings = load_settings(stack.children[0].env)
        clock_path = settings.demo_clock_path
        assert clock_path is not None  # SAKIP_ENV=demo
        run = CityRun(plan=plan, clock_path=clock_path, out=out, endpoints=Endpoints(
            f"http://127.0.0.1:{intake}", f"http://127.0.0.1:{workflow}",
            f"http://127.0.0.1:{reporting}"))
        try:
            drive_city(run, settings)
            drain_started = time.monotonic()
            out.write("- menunggu antrean peristiwa kosong ...\n")
            wait_drained(settings)
            run.timings["event drain"] = time.monotonic() - drain_started
        except Exception as exc:  # the summary says what failed; the check still runs
            outcome.error = f"{type(exc).__name__}: {exc}"
            out.write(traceback.format_exc())
        outcome.files, outcome.bytes = run.files, run.bytes
        outcome.timings, outcome.clock_jumps = run.timings, run.clock_jumps
        check_started = time.monotonic()
        outcome.inconsistencies = check(plan, settings)
        outcome.timings["check"] = time.monotonic() - check_started
    finally:
        stack.stop()
        if keep:
            outcome.database_url = url
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    outcome.seconds = time.monotonic() - started
    return outcome


def pipeline_backlog(settings: Settings) -> list[str]:
    """What the event pipeline still holds: unsent outbox rows, undelivered or unacknowledged
    stream entries per consumer group (empty when drained)."""
    import redis

    from shared.events.models import OutboxEvent

    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            unsent = conn.scalar(select(func.count()).select_from(OutboxEvent)
                                 .where(OutboxEvent.sent_at.is_(None))) or 0
    finally:
        engine.dispose()
    backlog = [f"{unsent} outbox events unsent"] if unsent else []
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        for group in client.xinfo_groups(settings.events_stream):
            if group.get("pending") or group.get("lag"):
                backlog.append(f"group {group['name']}: pending {group.get('pending')}, "
                               f"lag {group.get('lag')}")
    finally:
        client.close()
    return backlog


def wait_drained(settings: Settings) -> None:
    try:
        poll(lambda: not pipeline_backlog(settings), "the event pipeline drained",
             timeout=DRAIN_SECONDS)
    except DriveError as exc:
        raise DriveError(f"{exc}: {pipeline_backlog(settings)}") from None
