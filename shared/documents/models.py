"""Intake-owned tables: a Bidang's package (submission) for a cycle, one item per document type
it owes, every uploaded version of an item, and the per-document review decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import now
from shared.db.base import Base, uuid_pk


class PackageState(StrEnum):
    DRAFT = "draft"  # being put together by the Bidang
    SUBMITTED = "submitted"  # handed to the kasubbag_program, items awaiting review
    RETURNED = "returned"  # reviewed, some items returned to the Bidang
    ACCEPTED = "accepted"  # every required item accepted; forwarded to the evaluation team


class ItemState(StrEnum):
    MISSING = "missing"  # belum diunggah
    UPLOADED = "uploaded"  # diunggah
    SUBMITTED = "submitted"  # diserahkan
    RETURNED = "returned"  # dikembalikan
    ACCEPTED = "accepted"  # diterima


class Submission(Base):
    """One Bidang's package for one cycle."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("cycle_id", "bidang_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"))
    bidang_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bidang.id"))
    state: Mapped[str] = mapped_column(String(16), default=PackageState.DRAFT.value)
    submitted_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class SubmissionItem(Base):
    """One document type a Bidang owes in a cycle, and where it stands."""

    __tablename__ = "submission_items"
    __table_args__ = (UniqueConstraint("submission_id", "document_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    document_type: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=ItemState.MISSING.value)
    return_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]


class DocumentVersion(Base):
    """One uploaded soft copy of an item; earlier versions are kept, the highest number is the
    item's current version."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submission_items.id"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    year: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=now)
    # When the package carrying this version was first submitted (decides "on time").
    first_submitted_at: Mapped[datetime | None]


class ItemReview(Base):
    """A kasubbag_program's decision on one version of one item."""

    __tablename__ = "item_reviews"

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submission_items.id"), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_versions.id"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    decision: Mapped[str] = mapped_column(String(16))  # accepted | returned
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(default=now)


class CycleDocumentKind(StrEnum):
    """Documents of the cycle itself (not of a Bidang's package), uploaded in the SOP's steps."""

    SK_TIM_EVALUASI = "SK_TIM_EVALUASI"  # step 2: the SK forming the evaluation team
    PEDOMAN_EVALUASI = "PEDOMAN_EVALUASI"  # step 3: the agreed evaluation guideline

    @property
    def label(self) -> str:
        return CYCLE_DOCUMENT_LABELS[self]


CYCLE_DOCUMENT_LABELS = {
    CycleDocumentKind.SK_TIM_EVALUASI: "SK Tim Evaluasi Internal SAKIP",
    CycleDocumentKind.PEDOMAN_EVALUASI: "Pedoman evaluasi data kinerja",
}


class CycleDocument(Base):
    """One uploaded version of a cycle document (the newest counts; earlier ones are kept)."""

    __tablename__ = "cycle_documents"
    __table_args__ = (UniqueConstraint("cycle_id", "kind", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=now)
