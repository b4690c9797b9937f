"""The reaper: reports whose build lost its worker go back to the queue within seconds, not
after the broker's visibility timeout (an hour).

A RUNNING report whose lease expired (its worker was killed, or hangs) is put back to QUEUED and
its task sent again; a QUEUED report nobody claimed by its re-send time (a task lost with a broker
restart, or never sent because the broker was down) has its task sent again. Each is claimed by a
conditional UPDATE, so every worker may run the reaper at once: a report is requeued once.
Scans the partial index ix_reports_lease_work (QUEUED and RUNNING rows only).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.reporting.dispatch import enqueue_build
from shared.config import Settings
from shared.db import transaction
from shared.reporting.models import QUEUED_RESEND_SECONDS, Report, ReportState

log = logging.getLogger(__name__)


def reap(session_factory: sessionmaker[Session], settings: Settings, *,
         at: datetime) -> list[uuid.UUID]:
    """Requeue expired builds and resend unclaimed ones; the ids whose task was sent again."""
    resend_at = at + timedelta(seconds=QUEUED_RESEND_SECONDS)
    with transaction(session_factory) as session:
        expired = session.scalars(
            update(Report)
            .where(Report.state == ReportState.RUNNING.value, Report.lease_expires_at < at)
            .values(state=ReportState.QUEUED.value, lease_owner=None, lease_expires_at=resend_at,
                    progress_label="Diantrekan ulang (pekerja berhenti)")
            .returning(Report.id)
            .execution_options(synchronize_session=False)).all()
        unclaimed = session.scalars(
            update(Report)
            .where(Report.state == ReportState.QUEUED.value, Report.lease_expires_at < at)
            .values(lease_expires_at=resend_at)
            .returning(Report.id)
            .execution_options(synchronize_session=False)).all()
    ids = [*expired, *unclaimed]
    for report_id in ids:
        enqueue_build(report_id, settings)
    if ids:
        log.info("reports requeued", extra={"expired": len(expired), "resent": len(unclaimed)})
    return ids


def start_reaper(session_factory: sessionmaker[Session], settings: Settings, *,
                 interval_seconds: float, clock: Callable[[], datetime]) -> threading.Event:
    """Run `reap` every `interval_seconds` in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def _loop() -> None:
        while not stop.wait(interval_seconds):
            try:
                reap(session_factory, settings, at=clock())
            except Exception:  # the next pass tries again; a reaper never dies of one failure
                log.warning("report reaper pass failed", exc_info=True)

    threading.Thread(target=_loop, name="report-reaper", daemon=True).start()
    return stop
