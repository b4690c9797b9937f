"""The notification endpoints of the workflow API (/api/v1): the caller's own in-app inbox of
reminders, escalations and notices, and marking one read. Another user's notification answers
404, whoever asks."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from services.workflow import inbox
from shared.clock import now
from shared.web.api_http import invalid, unit_of_work
from shared.web.openapi import documented
from shared.web.schemas import Instant
from shared.web.service_auth import caller, principal_required

bp = Blueprint("inbox", __name__, url_prefix="/api/v1")

TRUE_WORDS, FALSE_WORDS = frozenset({"1", "true", "ya"}), frozenset({"", "0", "false", "tidak"})


class NotificationSchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={
        "description": "step.due_soon | step.overdue | step.escalated | step.notice | ..."})
    subject = fields.String(required=True)
    body = fields.String(required=True)
    cycle_id = fields.UUID(allow_none=True)
    step_id = fields.UUID(allow_none=True)
    created_at = Instant(required=True)
    read_at = Instant(allow_none=True, metadata={"description": "null: belum dibaca"})


class InboxSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema), required=True, metadata={
        "description": f"terbaru lebih dahulu, paling banyak {inbox.INBOX_LIMIT}"})
    unread = fields.Integer(required=True, metadata={"description": "jumlah yang belum dibaca"})


@bp.get("/notifications")
@principal_required
@documented(summary="Kotak masuk notifikasi pengguna yang sedang masuk",
            responses={200: ("Notifikasi", InboxSchema)}, errors=(422,),
            query={"unread": ("integer", "1: hanya yang belum dibaca")})
def list_notifications() -> ResponseReturnValue:
    raw = request.args.get("unread", "").strip().lower()
    if raw not in TRUE_WORDS | FALSE_WORDS:
        raise invalid("unread", "Isi 1 (hanya yang belum dibaca) atau 0 (semua).")
    user_id = caller().user_id
    with unit_of_work() as session:
        entries = inbox.inbox(session, user_id, unread_only=raw in TRUE_WORDS)
        return InboxSchema().dump({"notifications": entries,
                                   "unread": inbox.unread_count(session, user_id)})


@bp.post("/notifications/<uuid:notification_id>/read")
@principal_required
@documented(summary="Tandai notifikasi sudah dibaca",
            responses={200: ("Notifikasi", NotificationSchema)}, errors=(404,))
def read_notification(notification_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        entry = inbox.mark_read(session, caller().user_id, notification_id, at=now())
        return NotificationSchema().dump(entry)
