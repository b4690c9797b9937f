"""What a package looks like to its readers: its Bidang, deadline, working time left, and each
item with its document label, state and versions. Built once here for the portal and the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.packages import items_of, versions_of
from shared.calendar import WorkingCalendar
from shared.clock import now
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import collection_deadline
from shared.cycles.models import Cycle
from shared.cycles.templates import cycle_definition
from shared.documents.models import DocumentVersion, ItemState, PackageState, Submission
from shared.identity.models import Bidang, Tenant

ITEM_STATE_LABELS = {
    ItemState.MISSING: "Belum diunggah",
    ItemState.UPLOADED: "Diunggah",
    ItemState.SUBMITTED: "Diserahkan",
    ItemState.RETURNED: "Dikembalikan",
    ItemState.ACCEPTED: "Diterima",
}
PACKAGE_STATE_LABELS = {
    PackageState.DRAFT: "Belum diserahkan",
    PackageState.SUBMITTED: "Menunggu pemeriksaan",
    PackageState.RETURNED: "Ada dokumen dikembalikan",
    PackageState.ACCEPTED: "Diterima",
}


@dataclass(frozen=True)
class ItemSummary:
    id: uuid.UUID
    document_type: str
    label: str
    state: str
    state_label: str
    return_reason: str | None
    versions: list[DocumentVersion]  # newest first

    @property
    def current(self) -> DocumentVersion | None:
        return self.versions[0] if self.versions else None


@dataclass(frozen=True)
class PackageSummary:
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    cycle_id: uuid.UUID
    year: int
    bidang_id: uuid.UUID
    bidang_name: str
    state: str
    state_label: str
    submitted_at: datetime | None
    deadline: datetime | None
    working_time_left: timedelta | None
    calendar: WorkingCalendar
    items: list[ItemSummary]

    @property
    def complete(self) -> bool:
        return bool(self.items) and all(
            i.state in (ItemState.UPLOADED, ItemState.SUBMITTED, ItemState.ACCEPTED)
            for i in self.items)


def summarize(session: Session, package: Submission, *, at: datetime | None = None,
              with_versions: bool = True) -> PackageSummary:
    at = at or now()
    cycle = session.get_one(Cycle, package.cycle_id)
    definition = cycle_definition(session, cycle)
    calendar = calendar_for(session, package.tenant_id)
    deadline = collection_deadline(session, cycle.id, package.bidang_id)
    items = [
        ItemSummary(id=i.id, document_type=i.document_type,
                    label=definition.document_label(i.document_type), state=i.state,
                    state_label=ITEM_STATE_LABELS[ItemState(i.state)],
                    return_reason=i.return_reason,
                    versions=versions_of(session, i) if with_versions else [])
        for i in items_of(session, package)
    ]
    return PackageSummary(
        id=package.id, tenant_id=package.tenant_id,
        tenant_name=session.get_one(Tenant, package.tenant_id).name, cycle_id=cycle.id,
        year=cycle.year, bidang_id=package.bidang_id,
        bidang_name=session.get_one(Bidang, package.bidang_id).name, state=package.state,
        state_label=PACKAGE_STATE_LABELS[PackageState(package.state)],
        submitted_at=package.submitted_at, deadline=deadline,
        working_time_left=(calendar.working_time_between(at, deadline)
                           if deadline and package.state != PackageState.ACCEPTED else None),
        calendar=calendar, items=items,
    )


def visible_tenants(session: Session, tenant_ids: frozenset[uuid.UUID] | None) -> list[Tenant]:
    """Tenants by name: the given ones, or every active one (None: a city-level reader)."""
    stmt = select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.name)
    if tenant_ids is not None:
        stmt = stmt.where(Tenant.id.in_(tenant_ids))
    return list(session.scalars(stmt))
