"""The collection (SOP step 5) as the workflow follows it: each Bidang's package and documents,
driven by intake's events, and what each Bidang still owes.

The handlers are idempotent twice over: the consumer's inbox drops a redelivered event, and each
row remembers when the event that set its state occurred, so an older event arriving late never
moves a package or a document back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.cycles.models import (
    CollectionItem,
    CollectionPackage,
    Cycle,
    CycleRequirement,
    ItemProgress,
    PackageProgress,
)


def outstanding(session: Session, cycle: Cycle) -> dict[uuid.UUID, list[str]]:
    """Per Bidang, the document types of the cycle's list not yet accepted (only Bidang that
    still owe something appear)."""
    accepted = set(session.execute(select(CollectionItem.bidang_id, CollectionItem.document_type)
                                   .where(CollectionItem.cycle_id == cycle.id,
                                          CollectionItem.state == ItemProgress.ACCEPTED))
                   )
    owed: dict[uuid.UUID, list[str]] = {}
    for bidang_id, code in session.execute(
            select(CycleRequirement.bidang_id, CycleRequirement.document_type)
            .where(CycleRequirement.cycle_id == cycle.id)
            .order_by(CycleRequirement.document_type)):
        if (bidang_id, code) not in accepted:
            owed.setdefault(bidang_id, []).append(code)
    return owed


def all_accepted_at(session: Session, cycle: Cycle) -> datetime | None:
    """When the last package of the Bidang on the cycle's list was accepted; None while one of
    them is not (or there is no list)."""
    listed = set(session.scalars(select(CycleRequirement.bidang_id).where(
        CycleRequirement.cycle_id == cycle.id)))
    accepted = dict(session.execute(select(CollectionPackage.bidang_id,
                                           CollectionPackage.accepted_at).where(
        CollectionPackage.cycle_id == cycle.id,
        CollectionPackage.state == PackageProgress.ACCEPTED)).all())
    times = [accepted.get(bidang_id) for bidang_id in listed]
    if not times or None in times:
        return None
    return max(t for t in times if t is not None)


def open_packages(session: Session, cycle: Cycle) -> None:
    """At the start of the collection: one package per Bidang on the list, not yet submitted."""
    listed = set(session.scalars(select(CycleRequirement.bidang_id).where(
        CycleRequirement.cycle_id == cycle.id)))
    known = set(session.scalars(select(CollectionPackage.bidang_id).where(
        CollectionPackage.cycle_id == cycle.id)))
    session.add_all(CollectionPackage(cycle_id=cycle.id, tenant_id=cycle.tenant_id, bidang_id=b)
                    for b in sorted(listed - known))
    session.flush()


def package_row(session: Session, cycle: Cycle, bidang_id: uuid.UUID) -> CollectionPackage:
    row = session.scalars(select(CollectionPackage).where(
        CollectionPackage.cycle_id == cycle.id, CollectionPackage.bidang_id == bidang_id)
        .with_for_update()).one_or_none()
    if row is None:
        row = CollectionPackage(cycle_id=cycle.id, tenant_id=cycle.tenant_id, bidang_id=bidang_id)
        session.add(row)
        session.flush()
    return row


def move_package(row: CollectionPackage, state: PackageProgress, at: datetime) -> bool:
    """Apply a package state that occurred at `at`, unless a later one is already applied (a
    late submission still counts for `first_submitted_at`)."""
    if state is PackageProgress.SUBMITTED and (row.first_submitted_at is None
                                               or at < row.first_submitted_at):
        row.first_submitted_at = at
    if row.state_at is not None and at <= row.state_at:
        return False
    row.state, row.state_at = state.value, at
    if state is PackageProgress.ACCEPTED:
        row.accepted_at = at
    return True


def move_items(session: Session, cycle: Cycle, bidang_id: uuid.UUID, codes: Iterable[str],
               state: ItemProgress, at: datetime) -> None:
    """Apply a document state that occurred at `at` to each document type, never backwards."""
    codes = list(dict.fromkeys(codes))
    rows = {row.document_type: row for row in session.scalars(select(CollectionItem).where(
        CollectionItem.cycle_id == cycle.id, CollectionItem.bidang_id == bidang_id,
        CollectionItem.document_type.in_(codes)).with_for_update())}
    for code in codes:
        row = rows.get(code)
        if row is None:
            session.add(CollectionItem(cycle_id=cycle.id, tenant_id=cycle.tenant_id,
                                       bidang_id=bidang_id, document_type=code,
                                       state=state.value, state_at=at))
        elif at > row.state_at:
            row.state, row.state_at = state.value, at
    session.flush()


def items_in(session: Session, cycle: Cycle, bidang_id: uuid.UUID,
             state: ItemProgress) -> list[str]:
    return list(session.scalars(select(CollectionItem.document_type).where(
        CollectionItem.cycle_id == cycle.id, CollectionItem.bidang_id == bidang_id,
        CollectionItem.state == state)))
