"""Reporting-owned tables (DESIGN.md "Who owns what": LKE rubrics and answers, reports and their
artifacts). Other services read them through these models; only the reporting service writes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import now
from shared.db.base import Base, JSONDoc, uuid_pk


class Rubric(Base):
    """One published version of an LKE rubric (the definition is the validated data file)."""

    __tablename__ = "lke_rubrics"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]]
    # Offered to every dinas, or (False) only to those listed in lke_rubric_tenants.
    all_tenants: Mapped[bool] = mapped_column(default=True, server_default=true())
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=now)


class RubricTenant(Base):
    """A dinas a rubric version is published to (when not to all)."""

    __tablename__ = "lke_rubric_tenants"

    rubric_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lke_rubrics.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)


class EvaluationState(StrEnum):
    DRAFT = "draft"  # the tim_evaluasi is filling it in
    FINAL = "final"  # locked by the team; the report is built from it


class Evaluation(Base):
    """The LKE of one cycle: which rubric version, the team's findings and recommendations, and
    (kept current on every save) the computed score."""

    __tablename__ = "lke_evaluations"
    __table_args__ = (UniqueConstraint("cycle_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"))
    rubric_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lke_rubrics.id"))
    state: Mapped[str] = mapped_column(String(16), default=EvaluationState.DRAFT.value)
    findings: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    grade: Mapped[str | None] = mapped_column(String(4))
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every saved change
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    finalised_at: Mapped[datetime | None]
    finalised_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class EvaluationAnswer(Base):
    """The team's answer to one criterion of the rubric, its note and the evidence it rests on
    (ids of document versions collected in step 5)."""

    __tablename__ = "lke_answers"
    __table_args__ = (UniqueConstraint("evaluation_id", "criterion"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    evaluation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lke_evaluations.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    criterion: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class ReportKind(StrEnum):
    CYCLE = "cycle"  # Laporan Hasil Evaluasi SAKIP Internal of one dinas's cycle
    CITY_RECAP = "city_recap"  # every dinas of a year side by side (no tenant)


class ReportState(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker holds the lease and builds it
    READY = "ready"  # PDF and XLSX are in object storage
    FAILED = "failed"  # retries exhausted; `error` says why


class ReportDecision(StrEnum):
    APPROVED = "approved"  # by the kepala_dinas: archived and sent on
    RETURNED = "returned"  # to the evaluation team, with a reason


LEASED_STATES = "state IN ('queued', 'running')"
QUEUED_RESEND_SECONDS = 60  # a QUEUED report nobody claimed this long has its task sent again


def _resend_at() -> datetime:
    return now() + timedelta(seconds=QUEUED_RESEND_SECONDS)


class Report(Base):
    """One requested build: its progress as the worker records it, its lease while building,
    its artifacts (keyed by the fingerprint of their inputs) and, for a cycle report, the
    kepala_dinas's decision and the immutable archive copy of the approved PDF."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_lease_work", "lease_expires_at",
              postgresql_where=text(LEASED_STATES), sqlite_where=text(LEASED_STATES)),
        Index("ix_reports_cycle", "cycle_id", "requested_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cycles.id"))
    year: Mapped[int] = mapped_column(Integer)
    evaluation_revision: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=ReportState.QUEUED.value)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)  # percent
    progress_label: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    # RUNNING: the lease ends here unless the worker's heartbeat extends it; QUEUED: the task is
    # sent again here if no worker has claimed it by then (a lost broker message). The reaper
    # scans both through ix_reports_lease_work.
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=_resend_at)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)
    xlsx_key: Mapped[str | None] = mapped_column(String(255))
    xlsx_sha256: Mapped[str | None] = mapped_column(String(64))
    xlsx_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    build_seconds: Mapped[float | None]
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    archive_key: Mapped[str | None] = mapped_column(String(255))
    archive_version_id: Mapped[str | None] = mapped_column(String(255))


class ReportReceipt(Base):
    """An approved report acknowledged as received by a bagian_organisasi or inspektur user."""

    __tablename__ = "report_receipts"
    __table_args__ = (UniqueConstraint("report_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime] = mapped_column(default=now)
