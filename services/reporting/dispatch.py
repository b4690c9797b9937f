"""Sending report builds to the workers, only once the report's row is committed.

A task sent inside the transaction could reach a worker before the row it names exists (or for a
row that is then rolled back); warehouse's habit: send after commit. A send that fails (broker down)
leaves the report QUEUED with its re-send time in `lease_expires_at`: the reaper sends it again.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.config import Settings

BUILD_TASK = "reporting.build_report"
log = logging.getLogger(__name__)


def enqueue_build(report_id: uuid.UUID, settings: Settings) -> bool:
    """Send the build task to `settings`' broker now; False (logged) when it cannot be reached."""
    from services.reporting.celery_app import producer

    try:
        producer(settings).send_task(BUILD_TASK, args=[str(report_id)], retry=False)
    except Exception:  # the broker is down: the reaper re-sends QUEUED reports later
        log.warning("report build not sent, the reaper will resend it",
                    extra={"report_id": str(report_id)}, exc_info=True)
        return False
    return True


def enqueue_after_commit(session: Session, report_id: uuid.UUID, settings: Settings) -> None:
    """Send the build of `report_id` when `session`'s transaction commits (never on rollback)."""
    session.info.setdefault(_PENDING, []).append((report_id, settings))


_PENDING = "reporting.builds_to_send"


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for report_id, settings in session.info.pop(_PENDING, []):
        enqueue_build(report_id, settings)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
