"""The workflow's handlers of intake's events: each Bidang's package and documents in the
collection (SOP step 5) follow what happened in intake, and the collection completes by itself
once every Bidang's package is accepted."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from services.workflow.collection import items_in, move_items, move_package, package_row
from services.workflow.cycles import complete_step, missing_of, step_of
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.models import (
    Cycle,
    CycleState,
    CycleStep,
    ItemProgress,
    PackageProgress,
    StepState,
)
from shared.documents.events import (
    DOCUMENT_ACCEPTED,
    DOCUMENT_RETURNED,
    SUBMISSION_ACCEPTED,
    SUBMISSION_SUBMITTED,
    SUBMISSION_WITHDRAWN,
)
from shared.events import Event

SubStateHandler = Callable[[Session, Event], None]


def _cycle_of(session: Session, event: Event) -> Cycle | None:
    cycle = session.get(Cycle, uuid.UUID(event.payload["cycle_id"]))
    if cycle is None or cycle.tenant_id != event.tenant_id:
        return None  # not a cycle of the event's tenant: nothing to follow
    return cycle


def _bidang(event: Event) -> uuid.UUID:
    return uuid.UUID(event.payload["bidang_id"])


def submitted(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    bidang_id = _bidang(event)
    move_package(package_row(session, cycle, bidang_id), PackageProgress.SUBMITTED,
                 event.occurred_at)
    move_items(session, cycle, bidang_id, event.payload["document_types"],
               ItemProgress.SUBMITTED, event.occurred_at)


def withdrawn(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    bidang_id = _bidang(event)
    move_package(package_row(session, cycle, bidang_id), PackageProgress.NOT_SUBMITTED,
                 event.occurred_at)
    move_items(session, cycle, bidang_id, items_in(session, cycle, bidang_id,
                                                   ItemProgress.SUBMITTED),
               ItemProgress.WITHDRAWN, event.occurred_at)


def document_returned(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    bidang_id = _bidang(event)
    move_items(session, cycle, bidang_id, [event.payload["document_type"]],
               ItemProgress.RETURNED, event.occurred_at)
    move_package(package_row(session, cycle, bidang_id), PackageProgress.RETURNED,
                 event.occurred_at)


def document_accepted(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    move_items(session, cycle, _bidang(event), [event.payload["document_type"]],
               ItemProgress.ACCEPTED, event.occurred_at)


def package_accepted(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    move_package(package_row(session, cycle, _bidang(event)), PackageProgress.ACCEPTED,
                 event.occurred_at)
    complete_collection_if_done(session, cycle, event)


def complete_collection_if_done(session: Session, cycle: Cycle, event: Event) -> None:
    """Step 5's output is "every Bidang has submitted": once every package is accepted, the
    collection completes (as the system) and step 6 starts."""
    if cycle.state != CycleState.ACTIVE:
        return
    step: CycleStep = step_of(session, cycle, COLLECTION_STEP)
    if step.state != StepState.ACTIVE or missing_of(session, cycle, step, None):
        return
    complete_step(session, cycle, COLLECTION_STEP, at=event.occurred_at, principal=None,
                  note="Semua paket Bidang telah diterima.")


HANDLERS: dict[str, SubStateHandler] = {
    SUBMISSION_SUBMITTED: submitted,
    SUBMISSION_WITHDRAWN: withdrawn,
    DOCUMENT_RETURNED: document_returned,
    DOCUMENT_ACCEPTED: document_accepted,
    SUBMISSION_ACCEPTED: package_accepted,
}
