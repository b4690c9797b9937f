"""The demo data of the local run: the demo tenant (intake) and its collecting cycle
(workflow), seeded through each owner's own functions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.intake.seed import seed_demo
from services.workflow.seed import seed_demo_cycle
from shared.clock import now
from shared.identity.models import Tenant


def seed_demo_data(session: Session) -> Tenant:
    tenant = seed_demo(session)
    seed_demo_cycle(session, tenant_id=tenant.id, at=now())
    return tenant
