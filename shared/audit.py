"""The append-only audit log: who did what to which target, before and after, and when.

Each service writes its own rows with `record()` inside the transaction of the change itself, so a
change without its audit row (or the reverse) cannot commit. The database refuses UPDATE and
DELETE of audit rows (a trigger, created by the migration).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.clock import now
from shared.db.base import Base, BigIntId
from shared.logging import current_correlation_id


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_time", "tenant_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=now)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(Text)
    service: Mapped[str] = mapped_column(String(32))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


def record(
    session: Session,
    *,
    service: str,
    action: str,
    target_type: str,
    target_id: object | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    actor: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction."""
    entry = AuditEntry(**entry_values(
        service=service, action=action, target_type=target_type, target_id=target_id,
        tenant_id=tenant_id, actor_user_id=actor_user_id, actor=actor, before=before,
        after=after, reason=reason))
    session.add(entry)
    return entry


def entry_values(
    *,
    service: str,
    action: str,
    target_type: str,
    target_id: object | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    actor: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The column values of an audit row, for a caller inserting many rows in one statement
    (`insert(AuditEntry.__table__)`, in the transaction of the change itself)."""
    return {
        "occurred_at": now(),
        "tenant_id": tenant_id,
        "actor_user_id": actor_user_id,
        "actor": actor or (f"user:{actor_user_id}" if actor_user_id else "system"),
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "before": before,
        "after": after,
        "reason": reason,
        "service": service,
        "correlation_id": current_correlation_id(),
    }
