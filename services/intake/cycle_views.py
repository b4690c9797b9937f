"""What the portal's cycle pages show, built from the workflow API's answers (JSON) and the
principal's roles: the six steps with their state, deadline, overdue badge and who completed
them; which forms the signed-in user gets; the collection per Bidang. Pure functions: the pages
fetch, these shape.

Which role gets which form mirrors the workflow's own rules (imported, not restated); the
workflow still decides every action itself, so a forged form post gets its 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from services.intake.cycle_documents import UPLOADERS
from services.workflow.actions import (
    COLLECTION_CLOSER,
    DOCUMENT_LIST_STEP,
    EXTENSION_GRANTOR,
    LIST_MAKERS,
    NOTICE_STEP,
)
from services.workflow.cycles import CORRECTORS, OPENERS
from shared.cycles.collection import COLLECTION_STEP
from shared.documents.models import CycleDocumentKind
from shared.identity.principal import Principal
from shared.identity.roles import Role

CONFIRMATION_STEP = 1
SK_STEP = 2
CYCLE_STATE_LABELS = {"active": "Berjalan", "completed": "Selesai", "cancelled": "Dibatalkan"}
STEP_STATE_LABELS = {"pending": "Menunggu", "active": "Berjalan", "completed": "Selesai",
                     "cancelled": "Dibatalkan"}
PACKAGE_STATE_LABELS = {"not_submitted": "Belum diserahkan", "submitted": "Menunggu pemeriksaan",
                        "returned": "Ada dokumen dikembalikan", "accepted": "Diterima"}
UNIT_LABELS = {"working_days": "hari kerja", "working_hours": "jam kerja"}


def instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant of the API (with its offset) as an aware datetime."""
    return datetime.fromisoformat(value) if value else None


def role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


@dataclass(frozen=True)
class StepView:
    number: int
    activity: str
    actors: list[str]  # role labels
    output: str
    duration: str
    state: str
    state_label: str
    started_at: datetime | None
    due_at: datetime | None
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None  # a name
    completion_note: str | None
    missing: list[str]
    can_complete: bool

    @property
    def active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class CycleForms:
    """Which forms the signed-in user gets on the cycle page."""

    complete: bool = False  # the active step's "complete" button
    upload_sk: bool = False
    document_list: bool = False
    upload_guideline: bool = False
    notice: bool = False
    close_collection: bool = False
    extension: bool = False
    reopen: list[int] = field(default_factory=list)  # completed steps that may be reopened
    cancel: bool = False


@dataclass(frozen=True)
class CycleView:
    id: uuid.UUID
    tenant_id: uuid.UUID
    year: int
    state: str
    state_label: str
    template: str
    cancel_reason: str | None
    steps: list[StepView]
    active: StepView | None


def cycle_view(detail: dict[str, Any], names: dict[uuid.UUID, str]) -> CycleView:
    steps = [_step_view(s, names) for s in detail["steps"]]
    template = detail["template"]
    return CycleView(
        id=uuid.UUID(detail["id"]), tenant_id=uuid.UUID(detail["tenant_id"]),
        year=detail["year"], state=detail["state"],
        state_label=CYCLE_STATE_LABELS.get(detail["state"], detail["state"]),
        template=f"{template['name']} (versi {template['version']})",
        cancel_reason=detail.get("cancel_reason"), steps=steps,
        active=next((s for s in steps if s.active), None))


def completed_by_ids(detail: dict[str, Any]) -> set[uuid.UUID]:
    return {uuid.UUID(s["completed_by"]) for s in detail["steps"] if s.get("completed_by")}


def _step_view(step: dict[str, Any], names: dict[uuid.UUID, str]) -> StepView:
    by = step.get("completed_by")
    duration = step["duration"]
    return StepView(
        number=step["number"], activity=step["activity"],
        actors=[role_label(a) for a in step["actors"]], output=step["output"],
        duration=f"{duration['amount']} {UNIT_LABELS.get(duration['unit'], duration['unit'])}",
        state=step["state"], state_label=STEP_STATE_LABELS.get(step["state"], step["state"]),
        started_at=instant(step.get("started_at")), due_at=instant(step.get("due_at")),
        overdue=bool(step.get("overdue")), completed_at=instant(step.get("completed_at")),
        completed_by=names.get(uuid.UUID(by), "") if by else None,
        completion_note=step.get("completion_note"), missing=list(step.get("missing") or []),
        can_complete=bool(step.get("can_complete")))


def _holds(principal: Principal, tenant_id: uuid.UUID, roles: tuple[Role, ...]) -> bool:
    return any(principal.has_role(r, tenant_id) for r in roles)


def forms_for(principal: Principal, cycle: CycleView) -> CycleForms:
    if cycle.state == "cancelled":
        return CycleForms()
    tenant, active = cycle.tenant_id, cycle.active
    running = active.number if active else None
    corrector = _holds(principal, tenant, CORRECTORS)
    return CycleForms(
        # Step 5 completes by itself once every package is accepted, or by closing it.
        complete=active is not None and active.can_complete and running != COLLECTION_STEP,
        upload_sk=running == SK_STEP
        and _holds(principal, tenant, UPLOADERS[CycleDocumentKind.SK_TIM_EVALUASI]),
        document_list=running == DOCUMENT_LIST_STEP and _holds(principal, tenant, LIST_MAKERS),
        upload_guideline=running == DOCUMENT_LIST_STEP
        and _holds(principal, tenant, UPLOADERS[CycleDocumentKind.PEDOMAN_EVALUASI]),
        notice=running == NOTICE_STEP and active is not None and active.can_complete,
        close_collection=running == COLLECTION_STEP
        and _holds(principal, tenant, COLLECTION_CLOSER),
        extension=running == COLLECTION_STEP and _holds(principal, tenant, EXTENSION_GRANTOR),
        reopen=[s.number for s in cycle.steps if s.state == "completed"] if corrector else [],
        cancel=corrector and cycle.state == "active",
    )


def opener_tenants(principal: Principal) -> list[uuid.UUID]:
    """The tenants in which the principal may open a cycle."""
    return sorted({g.tenant_id for g in principal.grants
                   if g.tenant_id is not None and g.role in OPENERS}, key=str)


# -- the document list (step 3) --------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentListView:
    bidang: list[dict[str, str]]  # [{id, name}]
    document_types: list[dict[str, str]]  # [{code, label}]
    owed: dict[str, list[str]]  # bidang id -> codes

    def owes(self, bidang_id: str, code: str) -> bool:
        return code in self.owed.get(bidang_id, [])

    def label(self, code: str) -> str:
        return next((d["label"] for d in self.document_types if d["code"] == code), code)


def document_list_view(answer: dict[str, Any]) -> DocumentListView:
    return DocumentListView(bidang=answer["bidang"], document_types=answer["document_types"],
                            owed=answer["owed"])


def owed_from_form(bidang_ids: list[str], checked: list[str]) -> dict[str, list[str]]:
    """The matrix's checkboxes ("<bidang id>:<code>") as {bidang id: [codes]}, every Bidang of
    the form present (an unticked row owes nothing)."""
    owed: dict[str, list[str]] = {b: [] for b in bidang_ids}
    for value in checked:
        bidang_id, _, code = value.partition(":")
        if bidang_id and code:
            owed.setdefault(bidang_id, []).append(code)
    return owed


# -- the collection (step 5) -----------------------------------------------------------------------

@dataclass(frozen=True)
class CollectionRow:
    bidang_id: str
    name: str
    state: str
    state_label: str
    first_submitted_at: datetime | None
    accepted_at: datetime | None
    deadline: datetime | None
    extended: bool
    outstanding: list[str]  # labels


@dataclass(frozen=True)
class ExtensionRow:
    bidang: str  # a Bidang's name, or "Seluruh siklus"
    due_at: datetime | None
    reason: str
    granted_at: datetime | None


@dataclass(frozen=True)
class ClosureRow:
    closed_at: datetime | None
    reason: str
    missing: list[str]  # "Bidang 2: IKU, Renja"


@dataclass(frozen=True)
class CollectionView:
    deadline: datetime | None
    rows: list[CollectionRow]
    extensions: list[ExtensionRow]
    closures: list[ClosureRow]


def collection_view(answer: dict[str, Any], extensions: dict[str, Any],
                    documents: DocumentListView) -> CollectionView:
    deadline = instant(answer.get("deadline"))
    names = {row["bidang_id"]: row["name"] for row in answer["bidang"]}
    names.update({b["id"]: b["name"] for b in documents.bidang})
    rows = [CollectionRow(
        bidang_id=row["bidang_id"], name=row["name"], state=row["state"],
        state_label=PACKAGE_STATE_LABELS.get(row["state"], row["state"]),
        first_submitted_at=instant(row.get("first_submitted_at")),
        accepted_at=instant(row.get("accepted_at")), deadline=instant(row.get("deadline")),
        extended=instant(row.get("deadline")) != deadline,
        outstanding=[documents.label(c) for c in row["outstanding"]],
    ) for row in answer["bidang"]]
    granted = [ExtensionRow(
        bidang=names.get(e["bidang_id"], "") if e.get("bidang_id") else "Seluruh siklus",
        due_at=instant(e["due_at"]), reason=e["reason"], granted_at=instant(e["granted_at"]))
        for e in extensions["extensions"]]
    closures = [ClosureRow(
        closed_at=instant(c["closed_at"]), reason=c["reason"],
        missing=[f"{names.get(b, b)}: {', '.join(documents.label(x) for x in codes)}"
                 for b, codes in c["missing"].items() if codes])
        for c in answer["closures"]]
    return CollectionView(deadline=deadline, rows=rows, extensions=granted, closures=closures)


def local_deadline(day: str, clock: str, time_zone: str) -> datetime:
    """A date ("2026-04-20") and a time ("16:00") in the tenant's zone as an aware instant;
    ValueError when either is malformed."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock),
                            tzinfo=ZoneInfo(time_zone))
