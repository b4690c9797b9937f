"""The collection window of a cycle (SOP step 5), as intake and the reports read it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.cycles.models import CollectionExtension, Cycle, CycleState, CycleStep

COLLECTION_STEP = 5


def active_cycle(session: Session, tenant_id: uuid.UUID) -> Cycle | None:
    return session.scalars(
        select(Cycle).where(Cycle.tenant_id == tenant_id, Cycle.state == CycleState.ACTIVE)
        .order_by(Cycle.year.desc())
    ).first()


def collection_step(session: Session, cycle_id: uuid.UUID) -> CycleStep | None:
    return session.scalars(
        select(CycleStep).where(CycleStep.cycle_id == cycle_id,
                                CycleStep.number == COLLECTION_STEP)
    ).one_or_none()


def collection_deadline(session: Session, cycle_id: uuid.UUID,
                        bidang_id: uuid.UUID) -> datetime | None:
    """The deadline in force for one Bidang: the latest extension granted to it or to the whole
    cycle, else step 5's own due time (None until step 5 has started)."""
    extended = session.scalar(
        select(func.max(CollectionExtension.due_at)).where(
            CollectionExtension.cycle_id == cycle_id,
            or_(CollectionExtension.bidang_id.is_(None),
                CollectionExtension.bidang_id == bidang_id),
        )
    )
    if extended is not None:
        return extended
    step = collection_step(session, cycle_id)
    return step.due_at if step else None
