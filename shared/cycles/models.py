"""Workflow-owned tables: SOP template versions, cycles, their steps and deadlines, the cycle's
document list (which document types each Bidang owes), step 4's notice, the per-Bidang sub-states
of the collection (step 5) and its explicit closure, extensions of the collection window, each
tenant's working-time calendar, and the in-app notifications. Other services read them; only the
workflow writes them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import now
from shared.db.base import Base, uuid_pk


class CycleState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class StepState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the cycle was cancelled before the step completed


class AlertStage(IntEnum):
    """How far the scheduler has gone with an active step's deadline (only ever forward)."""

    NONE = 0
    REMINDED = 1  # step.due_soon sent
    OVERDUE = 2  # step.overdue sent, escalated to the breach policy's first roles
    ESCALATED_AGAIN = 3  # overdue long enough: escalated to the second roles (e.g. inspektur)


class PackageProgress(StrEnum):
    """A Bidang's package in the collection (step 5), as the workflow follows intake's events."""

    NOT_SUBMITTED = "not_submitted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


class ItemProgress(StrEnum):
    UPLOADED = "uploaded"  # a version is in, the package not yet handed in (again)
    WITHDRAWN = "withdrawn"  # the package was withdrawn before review
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


class SopTemplate(Base):
    """One published version of an SOP template (the validated template document)."""

    __tablename__ = "sop_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    # A tenant's own variant; None for a city-wide template.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    # A city-wide template is offered to every dinas, or (False) only to those listed in
    # sop_template_tenants.
    all_tenants: Mapped[bool] = mapped_column(default=True, server_default=true())
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=now)


class SopTemplateTenant(Base):
    """A dinas a city-wide template version is published to (when not to all)."""

    __tablename__ = "sop_template_tenants"

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sop_templates.id"),
                                                   primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)


class Cycle(Base):
    """One evaluation round of a dinas (usually a year), run on one template version."""

    __tablename__ = "cycles"
    __table_args__ = (
        Index("uq_cycles_open_per_year", "tenant_id", "year", unique=True,
              postgresql_where=text("state <> 'cancelled'"),
              sqlite_where=text("state <> 'cancelled'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sop_templates.id"))
    state: Mapped[str] = mapped_column(String(16), default=CycleState.ACTIVE.value)
    opened_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=now)
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class CycleStep(Base):
    """One SOP step of a cycle: pending -> active -> completed, with its working-time deadline."""

    __tablename__ = "cycle_steps"
    __table_args__ = (
        UniqueConstraint("cycle_id", "number"),
        Index("ix_cycle_steps_due_work", "next_action_at",
              postgresql_where=text("state = 'active'"),
              sqlite_where=text("state = 'active'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=StepState.PENDING.value)
    started_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    # The scheduler's plan: remind at `due_soon_at`, mark overdue at `due_at`, escalate again at
    # `escalate_again_at`; `next_action_at` is the earliest of those not yet done (None: nothing).
    due_soon_at: Mapped[datetime | None]
    escalate_again_at: Mapped[datetime | None]
    next_action_at: Mapped[datetime | None]
    alert_stage: Mapped[int] = mapped_column(SmallInteger, default=AlertStage.NONE.value)
    overdue_since: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    completion_note: Mapped[str | None] = mapped_column(Text)


class CycleRequirement(Base):
    """The cycle's document list (SOP step 3): one document type one Bidang owes."""

    __tablename__ = "cycle_requirements"
    __table_args__ = (UniqueConstraint("cycle_id", "bidang_id", "document_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    bidang_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bidang.id"))
    document_type: Mapped[str] = mapped_column(String(64))


class StepNotice(Base):
    """A notice sent to every Bidang (SOP step 4: the document list and the guideline)."""

    __tablename__ = "step_notices"

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    step_number: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(default=now)


class CollectionPackage(Base):
    """Where one Bidang's package stands in the collection, driven by intake's events.

    `state_at` is when the event that set `state` occurred: an older event arriving late never
    moves the package back."""

    __tablename__ = "collection_packages"
    __table_args__ = (UniqueConstraint("cycle_id", "bidang_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    bidang_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bidang.id"))
    state: Mapped[str] = mapped_column(String(16), default=PackageProgress.NOT_SUBMITTED.value)
    state_at: Mapped[datetime | None]
    first_submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]


class CollectionItem(Base):
    """Where one document of one Bidang's package stands (submitted, returned, accepted)."""

    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("cycle_id", "bidang_id", "document_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    bidang_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bidang.id"))
    document_type: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    state_at: Mapped[datetime]


class CollectionClosure(Base):
    """The kasubbag_program closed the collection before every package was accepted; `missing`
    records who was missing what at that moment ({bidang_id: [document types]})."""

    __tablename__ = "collection_closures"

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    missing: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime] = mapped_column(default=now)


class CollectionExtension(Base):
    """A later deadline for the collection (step 5): for one Bidang, or the whole cycle."""

    __tablename__ = "collection_extensions"

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    bidang_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bidang.id"))
    due_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=now)


class TenantCalendar(Base):
    """A tenant's time zone and office hours (per weekday, "HH:MM" pairs)."""

    __tablename__ = "tenant_calendars"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    office_hours: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class CalendarHoliday(Base):
    """A holiday added or cancelled by hand: city-wide (no tenant) or for one tenant."""

    __tablename__ = "calendar_holidays"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day"),
        # NULLs are distinct in the constraint above: one city-wide row per day needs its own.
        Index("uq_calendar_holidays_city_day", "day", unique=True,
              postgresql_where=text("tenant_id IS NULL"),
              sqlite_where=text("tenant_id IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    day: Mapped[date] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Notification(Base):
    """One reminder or escalation in a user's in-app inbox; e-mailed in a digest when SMTP is
    configured (`emailed_at` set once sent)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_unmailed", "user_id",
              postgresql_where=text("emailed_at IS NULL"),
              sqlite_where=text("emailed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # step.due_soon | step.overdue | ...
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cycles.id"))
    step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cycle_steps.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
