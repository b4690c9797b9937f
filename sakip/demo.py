"""The demo data of the local run: the demo tenant (intake), its collecting cycle (workflow) and
the bundled LKE rubrics (reporting), seeded through each owner's own functions and the guarded
transitions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sakip.seeding import seed_demo_cycle
from services.intake.seed import seed_demo
from services.reporting.rubrics import ensure_bundled_rubrics
from shared.clock import now
from shared.identity.models import Tenant
from shared.storage import ObjectStore


def seed_demo_data(session: Session, store: ObjectStore) -> Tenant:
    tenant = seed_demo(session)
    seed_demo_cycle(session, store, tenant_id=tenant.id, at=now())
    ensure_bundled_rubrics(session)
    return tenant
