"""Workflow-owned tables: SOP template versions, cycles, their steps and deadlines, the cycle's
document list (which document types each Bidang owes), extensions of the collection window, and
each tenant's working-time calendar. Other services read them; only the workflow writes them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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


class SopTemplate(Base):
    """One published version of an SOP template (the validated template document)."""

    __tablename__ = "sop_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    # A tenant's own variant; None for a city-wide template.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=now)


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
    next_action_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class CycleRequirement(Base):
    """The cycle's document list (SOP step 3): one document type one Bidang owes."""

    __tablename__ = "cycle_requirements"
    __table_args__ = (UniqueConstraint("cycle_id", "bidang_id", "document_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    bidang_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bidang.id"))
    document_type: Mapped[str] = mapped_column(String(64))


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
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    day: Mapped[date] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now)
