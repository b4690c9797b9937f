"""Seeding a cycle that is already collecting (SOP step 5), for the demo tenant and for tests.

Steps 1-4 are recorded as done at the moment of seeding, audited as seeded: the guarded
transitions that complete steps in real use belong to the workflow's state machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.workflow.cycles import open_cycle, publish_template, set_document_list, start_step
from shared import audit
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.models import Cycle, CycleStep, StepState
from shared.cycles.templates import definition_of
from shared.sop.template import load_shipped_template

SEED_TEMPLATE = ("pengumpulan-data-kinerja", 1)
DEMO_DOCUMENTS = ("IKU", "RENJA", "PK", "PENGUKURAN_KINERJA", "LAPORAN_KINERJA")


def seed_collecting_cycle(session: Session, *, tenant_id: uuid.UUID, year: int, at: datetime,
                          owed: Mapping[uuid.UUID, Iterable[str]]) -> Cycle:
    template = publish_template(session, load_shipped_template(*SEED_TEMPLATE))
    cycle = open_cycle(session, tenant_id=tenant_id, year=year, template=template, at=at)
    set_document_list(session, cycle=cycle, owed=owed)
    steps = session.scalars(select(CycleStep).where(CycleStep.cycle_id == cycle.id)
                            .order_by(CycleStep.number)).all()
    for step in steps[: COLLECTION_STEP - 1]:
        step.state = StepState.COMPLETED.value
        step.started_at = step.started_at or at
        step.completed_at = at
        step.next_action_at = None
        audit.record(session, service="workflow", action="step.completed", target_type="step",
                     target_id=step.id, tenant_id=tenant_id, actor="system:seed",
                     after={"state": StepState.COMPLETED.value}, reason="seeded")
    start_step(session, steps[COLLECTION_STEP - 1], definition=definition_of(template), at=at)
    return cycle


def seed_demo_cycle(session: Session, *, tenant_id: uuid.UUID, at: datetime) -> Cycle:
    """The demo tenant's cycle of this year, collecting, every Bidang owing a few documents."""
    from shared.identity.models import Bidang

    year = at.year
    existing = session.scalars(select(Cycle).where(Cycle.tenant_id == tenant_id,
                                                   Cycle.year == year)).first()
    if existing is not None:
        return existing
    bidang = session.scalars(select(Bidang.id).where(Bidang.tenant_id == tenant_id,
                                                     Bidang.closed_at.is_(None))).all()
    return seed_collecting_cycle(session, tenant_id=tenant_id, year=year, at=at,
                                 owed={b: DEMO_DOCUMENTS for b in bidang})
