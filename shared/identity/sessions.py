"""Server-side login sessions: the cookie carries a random opaque token, the database its hash.

A session ends when it has been idle for `lifetime` (each use slides `expires_at`), when it is
revoked (sign-out, "sign out everywhere else", password change) or when its user (or the user's
dinas) is deactivated: that is checked at every use, so deactivation takes effect at once.
Only the SHA-256 of the token is stored, so a leaked table does not hand out live cookies. Every
function works inside the caller's transaction; the caller commits.

To keep a page view from being a write, a use moves `last_seen_at`/`expires_at` only when the
last recorded use is older than `touch_interval(lifetime)` (at most a minute); the idle timeout is
therefore exact to within that interval.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from shared.clock import now
from shared.identity.models import LoginSession, Tenant, User
from shared.identity.standing import account_usable

TOKEN_BYTES = 32
_MAX_TOUCH_INTERVAL = timedelta(seconds=60)


def token_hash(token: str) -> str:
    """The stored form of a session token: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def touch_interval(lifetime: timedelta) -> timedelta:
    """How stale `last_seen_at` may get before a use writes it again."""
    return min(_MAX_TOUCH_INTERVAL, lifetime / 10)


def start_session(
    session: Session,
    *,
    user: User,
    lifetime: timedelta,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Open a login session for `user`; return the token for the cookie (shown only here)."""
    if not user.active:
        raise ValueError("an inactive user cannot start a session")
    if lifetime <= timedelta(0):
        raise ValueError("a session lifetime must be positive")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    started = now()
    session.add(LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=started,
        last_seen_at=started,
        expires_at=started + lifetime,
        ip_address=ip[:64] if ip else None,
        user_agent=user_agent[:255] if user_agent else None,
    ))
    session.flush()
    return token


def resolve_session(session: Session, token: str, *, lifetime: timedelta) -> User | None:
    """The active user of a live session, sliding its idle timeout; None for anything else
    (including a user, or a user's dinas, that has been deactivated)."""
    if not token:
        return None
    row = session.execute(
        select(LoginSession, User, Tenant)
        .join(User, User.id == LoginSession.user_id)
        .outerjoin(Tenant, Tenant.id == User.tenant_id)
        .where(LoginSession.token_hash == token_hash(token))
    ).one_or_none()
    if row is None:
        return None
    login, user, tenant = row
    moment = now()
    if login.revoked_at is not None or login.expires_at <= moment:
        return None
    if not account_usable(user, tenant):
        return None
    if moment - login.last_seen_at >= touch_interval(lifetime):
        login.last_seen_at = moment
        login.expires_at = moment + lifetime
    return user


def revoke_session(session: Session, token: str) -> bool:
    """End the session of `token` (sign-out); False when there was no live one."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session="fetch")
    )
    return _rows_changed(session, stmt) > 0


def revoke_all_sessions(
    session: Session, user_id: uuid.UUID, *, except_token: str | None = None
) -> int:
    """End every session of a user, except the one of `except_token`; return how many ended."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session="fetch")
    )
    if except_token is not None:
        stmt = stmt.where(LoginSession.token_hash != token_hash(except_token))
    return _rows_changed(session, stmt)


def _rows_changed(session: Session, stmt: Update) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount
