"""The workflow's handlers of intake's events: each Bidang's package and documents in the
collection (SOP step 5) follow what happened in intake, and the collection completes by itself
once every Bidang's package is accepted. HANDLERS also carries the reporting service's events
(services.workflow.report_handlers: step 6 completes when the report is approved)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from services.workflow.collection import (
    all_accepted_at,
    items_in,
    move_items,
    move_package,
    package_row,
)
from services.workflow.cycles import complete_step, missing_of, step_of
from services.workflow.report_handlers import REPORT_HANDLERS
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
    DOCUMENT_REPLACED,
    DOCUMENT_RETURNED,
    DOCUMENT_UPLOADED,
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


def uploaded(session: Session, event: Event) -> None:
    """A Bidang put a (new) version of a document in: the workflow knows it is being worked
    on before the package is handed in (a returned document being fixed shows as uploaded)."""
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    move_items(session, cycle, _bidang(event), [event.payload["document_type"]],
               ItemProgress.UPLOADED, event.occurred_at)


def submitted(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    bidang_id = _bidang(event)
    package = package_row(session, cycle, bidang_id)
    move_package(package, PackageProgress.SUBMITTED, event.occurred_at)
    move_items(session, cycle, bidang_id, event.payload["document_types"],
               ItemProgress.SUBMITTED, event.occurred_at)
    if (package.state == PackageProgress.NOT_SUBMITTED and package.state_at is not None
            and package.state_at > event.occurred_at):
        # A later withdrawal arrived first; it names no documents, so it takes back what this
        # hand-in just submitted now.
        _withdraw_items(session, cycle, bidang_id, package.state_at)


def withdrawn(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    bidang_id = _bidang(event)
    move_package(package_row(session, cycle, bidang_id), PackageProgress.NOT_SUBMITTED,
                 event.occurred_at)
    _withdraw_items(session, cycle, bidang_id, event.occurred_at)


def _withdraw_items(session: Session, cycle: Cycle, bidang_id: uuid.UUID, at: datetime) -> None:
    """The documents submitted before a withdrawal at `at` are withdrawn."""
    move_items(session, cycle, bidang_id, items_in(session, cycle, bidang_id,
                                                   ItemProgress.SUBMITTED),
               ItemProgress.WITHDRAWN, at)


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
    complete_collection_if_done(session, cycle)  # it may overtake the package's


def package_accepted(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    move_package(package_row(session, cycle, _bidang(event)), PackageProgress.ACCEPTED,
                 event.occurred_at)
    complete_collection_if_done(session, cycle)


def complete_collection_if_done(session: Session, cycle: Cycle) -> None:
    """Step 5's output is "every Bidang has submitted": once every package is accepted (and
    with it every document owed), the collection completes (as the system) and step 6 starts.
    Checked on the acceptance of a document and of a package: the last to arrive completes it."""
    if cycle.state != CycleState.ACTIVE:
        return
    step: CycleStep = step_of(session, cycle, COLLECTION_STEP)
    if step.state != StepState.ACTIVE:
        return
    accepted_at = all_accepted_at(session, cycle)
    if accepted_at is None or missing_of(session, cycle, step, None):
        return
    # Completed when the last acceptance happened, whichever event arrived last, and never
    # before the step began (a late event may arrive after the step was reopened).
    at = max(accepted_at, step.started_at or accepted_at)
    complete_step(session, cycle, COLLECTION_STEP, at=at, principal=None,
                  note="Semua paket Bidang telah diterima.")


HANDLERS: dict[str, SubStateHandler] = {
    **REPORT_HANDLERS,
    DOCUMENT_UPLOADED: uploaded,
    DOCUMENT_REPLACED: uploaded,
    SUBMISSION_SUBMITTED: submitted,
    SUBMISSION_WITHDRAWN: withdrawn,
    DOCUMENT_RETURNED: document_returned,
    DOCUMENT_ACCEPTED: document_accepted,
    SUBMISSION_ACCEPTED: package_accepted,
}
