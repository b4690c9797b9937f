"""Who holds a role on a given day (including an acting official, Plt/Plh), the in-app
notifications the workflow writes for them, and the e-mail digest of those not yet mailed: one
message per person per run, listing all their new items."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from services.workflow.mailer import Mailer, Send
from shared.clock import now
from shared.cycles.models import Notification, TenantCalendar
from shared.db import transaction
from shared.i18n import DEFAULT_TIME_ZONE, format_datetime, format_decimal
from shared.identity.models import ActingAssignment, RoleGrant, User
from shared.identity.roles import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Roster:
    """Who holds which roles for a set of tenants over a range of days: the users granted a role
    and the acting officials (Plt/Plh) assigned to it, only active users. One load serves a whole
    scheduler batch; `holders` answers per role, tenant and local day."""

    granted: dict[tuple[str, uuid.UUID | None], dict[uuid.UUID, str]]
    acting: dict[tuple[str, uuid.UUID | None], list[tuple[uuid.UUID, str, date, date]]]

    @classmethod
    def load(cls, session: Session, *, roles: Iterable[Role], tenant_ids: Iterable[uuid.UUID],
             first_day: date, last_day: date) -> Roster:
        names = sorted({r.value for r in roles})
        tenants = sorted(set(tenant_ids))
        granted: dict[tuple[str, uuid.UUID | None], dict[uuid.UUID, str]] = {}
        acting: dict[tuple[str, uuid.UUID | None], list[tuple[uuid.UUID, str, date, date]]] = {}
        if not names:
            return cls(granted, acting)
        for role, tenant_id, user_id, username in session.execute(
                select(RoleGrant.role, RoleGrant.tenant_id, User.id, User.username)
                .join(User, User.id == RoleGrant.user_id)
                .where(User.active.is_(True), RoleGrant.role.in_(names),
                       or_(RoleGrant.tenant_id.in_(tenants), RoleGrant.tenant_id.is_(None)))):
            granted.setdefault((role, tenant_id), {})[user_id] = username
        for role, tenant_id, user_id, username, starts, ends in session.execute(
                select(ActingAssignment.role, ActingAssignment.tenant_id, User.id, User.username,
                       ActingAssignment.starts_on, ActingAssignment.ends_on)
                .join(User, User.id == ActingAssignment.user_id)
                .where(User.active.is_(True), ActingAssignment.role.in_(names),
                       ActingAssignment.revoked_at.is_(None),
                       ActingAssignment.starts_on <= last_day,
                       ActingAssignment.ends_on >= first_day,
                       or_(ActingAssignment.tenant_id.in_(tenants),
                           ActingAssignment.tenant_id.is_(None)))):
            acting.setdefault((role, tenant_id), []).append((user_id, username, starts, ends))
        return cls(granted, acting)

    def holders(self, role: Role, tenant_id: uuid.UUID, day: date) -> list[uuid.UUID]:
        """The users holding `role` for the tenant on `day` (a city role: city-wide), ordered by
        username. A tenant role is held within its tenant only, a city role without one."""
        key = (role.value, tenant_id if role.is_tenant_role else None)
        found = dict(self.granted.get(key, {}))
        found.update((user_id, username) for user_id, username, starts, ends
                     in self.acting.get(key, []) if starts <= day <= ends)
        return [user_id for user_id, _ in sorted(found.items(), key=lambda item: item[1])]


def holders(session: Session, role: Role, tenant_id: uuid.UUID, day: date) -> list[uuid.UUID]:
    """Active users holding `role` for the tenant (city roles: city-wide) on `day`: those granted
    the role, and those assigned to act in it (Plt/Plh) for a range covering `day`."""
    return Roster.load(session, roles=[role], tenant_ids=[tenant_id], first_day=day,
                       last_day=day).holders(role, tenant_id, day)


def bidang_staff(session: Session, bidang_id: uuid.UUID) -> list[uuid.UUID]:
    """The active staff of one Bidang."""
    return list(session.scalars(
        select(User.id).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.bidang_id == bidang_id, User.active.is_(True),
               RoleGrant.role == Role.BIDANG_STAFF.value)
        .order_by(User.username)))


def notify(session: Session, user_ids: Iterable[uuid.UUID], *, tenant_id: uuid.UUID, kind: str,
           subject: str, body: str, cycle_id: uuid.UUID | None = None,
           step_id: uuid.UUID | None = None, at: datetime | None = None) -> list[uuid.UUID]:
    """One inbox entry per distinct user (dated `at`, else now); the ids of the users notified."""
    rows = notification_rows(user_ids, tenant_id=tenant_id, kind=kind, subject=subject,
                             body=body, cycle_id=cycle_id, step_id=step_id, at=at)
    session.add_all(Notification(**row) for row in rows)
    return [row["user_id"] for row in rows]


def notification_rows(user_ids: Iterable[uuid.UUID], *, tenant_id: uuid.UUID, kind: str,
                      subject: str, body: str, cycle_id: uuid.UUID | None = None,
                      step_id: uuid.UUID | None = None,
                      at: datetime | None = None) -> list[dict[str, Any]]:
    """The column values of one inbox entry per distinct user, for a caller inserting many in
    one statement (`insert(Notification.__table__)`)."""
    created = at or now()
    return [{"id": uuid.uuid4(), "tenant_id": tenant_id, "user_id": user_id, "kind": kind,
             "subject": subject[:255], "body": body, "cycle_id": cycle_id, "step_id": step_id,
             "created_at": created, "read_at": None, "emailed_at": None}
            for user_id in dict.fromkeys(user_ids)]


# -- e-mail digests -------------------------------------------------------------------------------

def send_digests(factory: sessionmaker[Session], mailer: Mailer, *, at: datetime,
                 portal_url: str | None = None) -> int:
    """E-mail every active user with an address one digest of their notifications not yet
    mailed, then mark those sent (`emailed_at = at`); return how many messages went out.

    Each person's notifications are locked while their message is sent (SKIP LOCKED: two
    schedulers never mail the same items). When the SMTP server cannot be reached nothing is
    marked and the run ends (the next run tries again); a refused address is skipped and tried
    again next run. The inbox itself is never touched beyond `emailed_at`."""
    with factory() as session:
        people = list(session.scalars(
            select(Notification.user_id).distinct()
            .join(User, User.id == Notification.user_id)
            .where(Notification.emailed_at.is_(None), User.active.is_(True),
                   User.email.is_not(None), User.email != "")))
    if not people:
        return 0
    sent = 0
    try:
        with mailer.connection() as send:
            for user_id in sorted(people):
                sent += _send_digest(factory, mailer, send, user_id, at=at,
                                     portal_url=portal_url)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("notification e-mail stopped after %d digest(s): SMTP %s:%s failed (%s); "
                    "the rest wait for the next run", sent, mailer.host, mailer.port, exc)
    return sent


def _send_digest(factory: sessionmaker[Session], mailer: Mailer, send: Send, user_id: uuid.UUID,
                 *, at: datetime, portal_url: str | None) -> int:
    with transaction(factory) as session:
        items = list(session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.emailed_at.is_(None))
            .order_by(Notification.created_at, Notification.kind, Notification.id)
            .with_for_update(skip_locked=True)))
        user = session.get(User, user_id)
        if not items or user is None or not user.email:
            return 0
        zones = dict(session.execute(select(TenantCalendar.tenant_id, TenantCalendar.time_zone)
                                     .where(TenantCalendar.tenant_id.in_(
                                         {item.tenant_id for item in items}))).all())
        body = digest_body(user.full_name, items, portal_url=portal_url, time_zones=zones)
        message = mailer.message(to_name=user.full_name, to_address=user.email,
                                 subject=digest_subject(len(items)), body=body)
        try:
            send(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            log.warning("notification e-mail to user %s refused (%s); retried next run",
                        user_id, exc)
            return 0
        for item in items:
            item.emailed_at = at
    return 1


def digest_subject(count: int) -> str:
    return f"SAKIP: {format_decimal(count, 0)} pemberitahuan baru"


def digest_body(full_name: str, items: Sequence[Notification], *, portal_url: str | None = None,
                time_zones: Mapping[uuid.UUID, str] | None = None) -> str:
    """The digest's text: every item with its time (in its tenant's time zone), subject and
    body, oldest first."""
    zones = time_zones or {}
    lines = [f"Yth. {full_name},", "",
             f"Ada {format_decimal(len(items), 0)} pemberitahuan baru untuk Anda di SAKIP:", ""]
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {item.subject}")
        zone = zones.get(item.tenant_id, DEFAULT_TIME_ZONE)
        lines.append(f"   {format_datetime(item.created_at, zone)}")
        lines.extend(f"   {line}" if line else "" for line in item.body.splitlines())
        lines.append("")
    if portal_url:
        lines.append(f"Rincian dan kotak masuk Anda: {portal_url.rstrip('/')}/")
    lines.append("Pesan ini dikirim otomatis oleh SAKIP; mohon tidak membalas.")
    return "\n".join(lines) + "\n"
