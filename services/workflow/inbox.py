"""A user's in-app inbox: the reminders, escalations and notices the workflow wrote for them
(services.workflow.notify), newest first, and marking one read. Only the owner sees an entry:
anyone else's id answers as not found."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.cycles.models import Notification
from shared.web.errors import NotFound

INBOX_LIMIT = 200  # the newest entries an inbox lists


def inbox(session: Session, user_id: uuid.UUID, *, unread_only: bool = False,
          limit: int = INBOX_LIMIT) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc(),
                                               Notification.id).limit(limit)))


def unread_count(session: Session, user_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: uuid.UUID, notification_id: uuid.UUID, *,
              at: datetime) -> Notification:
    """Mark the user's own notification read (again: it keeps the first time it was read)."""
    notification = session.scalars(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id)
        .with_for_update()).one_or_none()
    if notification is None:
        raise NotFound("Notifikasi")
    if notification.read_at is None:
        notification.read_at = at
        session.flush()
    return notification
