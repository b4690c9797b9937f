"""What every user manages about their own account: their password, their login sessions and
their personal API tokens. The portal's `/akun` pages and the API's `/api/v1/me/...` both call
these functions, so the rules (current password asked, the policy, what is audited) are one.

Every function acts on the caller's own account only (`user_id` comes from the principal, never
from the request), works inside the caller's transaction and audits every change; the caller
commits. A refusal is a `SelfServiceError` with an Indonesian message, an HTTP status and, for a
form, the messages per field.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.intake.auth import (
    attempt_failures,
    clear_attempt_failures,
    count_attempt_failure,
)
from shared import audit
from shared.clock import now
from shared.db import transaction
from shared.identity.api_tokens import MAX_NAME_LENGTH, create_api_token, revoke_api_token
from shared.identity.models import ApiToken, LoginSession, User
from shared.identity.password_policy import password_problems
from shared.identity.passwords import hash_password, verify_password
from shared.identity.sessions import revoke_all_sessions, token_hash

SERVICE = "intake"
# Wrong current passwords tolerated per user in a window: a stolen session must not become a
# way to guess the password (and so to lock the owner out).
PASSWORD_ATTEMPTS_ALLOWED = 5
MAX_LIVE_TOKENS = 20
MAX_TOKEN_DAYS = 366
INVALID = "Data yang dikirim tidak valid."
WRONG_CURRENT = "Kata sandi sekarang salah."
SAME_AS_CURRENT = "Kata sandi baru harus berbeda dari kata sandi sekarang."
SESSION_NOT_FOUND = "Sesi tidak ditemukan atau sudah berakhir."
TOKEN_NOT_FOUND = "Token tidak ditemukan atau sudah dicabut."  # noqa: S105 - a message
TOO_MANY_ATTEMPTS = ("Terlalu banyak percobaan dengan kata sandi sekarang yang salah. "
                     "Silakan coba lagi dalam 15 menit.")
TOO_MANY_TOKENS = (f"Anda sudah memiliki {MAX_LIVE_TOKENS} token aktif. Cabut token yang tidak "
                   "dipakai lagi sebelum membuat yang baru.")


class SelfServiceError(ValueError):
    """A refused self-service action: message (Indonesian), status, messages per field."""

    def __init__(self, message: str, *, status: int = 422,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.fields = message, status, fields or {}


class WrongCurrentPassword(SelfServiceError):
    """The current password given with a change was wrong (the caller counts such failures)."""

    def __init__(self) -> None:
        super().__init__(INVALID, fields={"current_password": [WRONG_CURRENT]})


# -- the password ---------------------------------------------------------------------------------

def change_own_password(session: Session, *, user_id: uuid.UUID, current_password: str,
                        new_password: str, keep_session_token: str | None,
                        at: datetime) -> int:
    """Replace the user's password after checking the current one and the policy; end every
    other login session of the user (the one of `keep_session_token` stays). Clears a pending
    forced change and a temporary password's expiry. Return how many sessions ended."""
    user = session.get_one(User, user_id, with_for_update=True)
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword
    problems = password_problems(new_password, username=user.username,
                                 full_name=user.full_name)
    if new_password == current_password:
        problems.insert(0, SAME_AS_CURRENT)
    if problems:
        raise SelfServiceError(INVALID, fields={"new_password": problems})
    was_temporary = user.must_change_password
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_expires_at = None
    ended = revoke_all_sessions(session, user.id, except_token=keep_session_token)
    audit.record(session, service=SERVICE, action="password.changed", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id, actor_user_id=user.id,
                 before={"must_change_password": was_temporary},
                 after={"via": "self_service", "other_sessions_ended": ended,
                        "changed_at": at.isoformat()})
    return ended


def change_password_guarded(factory: sessionmaker[Session], client: redis.Redis, *,
                            user_id: uuid.UUID, current_password: str, new_password: str,
                            keep_session_token: str | None, at: datetime) -> int:
    """`change_own_password` in a transaction of its own, with wrong current passwords counted
    (Redis, per user) and audited: past `PASSWORD_ATTEMPTS_ALLOWED` in the window the change
    is refused (429) before the password is even checked. The portal and the API both call
    this."""
    key = f"sakip:password-change-failures:{user_id}"
    if attempt_failures(client, key) >= PASSWORD_ATTEMPTS_ALLOWED:
        raise SelfServiceError(TOO_MANY_ATTEMPTS, status=429)
    try:
        with transaction(factory) as session:
            ended = change_own_password(session, user_id=user_id,
                                        current_password=current_password,
                                        new_password=new_password,
                                        keep_session_token=keep_session_token, at=at)
    except WrongCurrentPassword:
        count_attempt_failure(client, key)
        with transaction(factory) as session:
            record_failed_password_change(session, user_id=user_id)
        raise
    clear_attempt_failures(client, key)
    return ended


def record_failed_password_change(session: Session, *, user_id: uuid.UUID) -> None:
    """Audit a change refused for a wrong current password (in a transaction of its own: the
    refused change itself wrote nothing)."""
    user = session.get_one(User, user_id)
    audit.record(session, service=SERVICE, action="password.change_failed", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id, actor_user_id=user.id,
                 reason="wrong current password")


# -- login sessions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionView:
    """One live login session as its owner sees it."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip_address: str | None
    browser: str
    current: bool


def own_sessions(session: Session, *, user_id: uuid.UUID,
                 current_token: str | None) -> list[SessionView]:
    """The user's live sessions, most recently used first; `current` marks this request's."""
    current_hash = token_hash(current_token) if current_token else None
    rows = session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None),
               LoginSession.expires_at > now())
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.created_at.desc()))
    return [SessionView(id=row.id, created_at=row.created_at, last_seen_at=row.last_seen_at,
                        expires_at=row.expires_at, ip_address=row.ip_address,
                        browser=browser_label(row.user_agent),
                        current=row.token_hash == current_hash)
            for row in rows]


def revoke_own_session(session: Session, *, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Sign one of the user's own live sessions out (404 for anyone else's or an ended one)."""
    row = session.scalars(
        select(LoginSession).where(LoginSession.id == session_id,
                                   LoginSession.user_id == user_id,
                                   LoginSession.revoked_at.is_(None),
                                   LoginSession.expires_at > now())
        .with_for_update()).one_or_none()
    if row is None:
        raise SelfServiceError(SESSION_NOT_FOUND, status=404)
    row.revoked_at = now()
    tenant_id = session.get_one(User, user_id).tenant_id
    audit.record(session, service=SERVICE, action="session.revoked", target_type="user",
                 target_id=user_id, tenant_id=tenant_id, actor_user_id=user_id,
                 after={"session_id": str(row.id), "ip": row.ip_address})


def revoke_other_sessions(session: Session, *, user_id: uuid.UUID,
                          current_token: str | None) -> int:
    """Sign out every session of the user but this request's; return how many ended."""
    ended = revoke_all_sessions(session, user_id, except_token=current_token)
    tenant_id = session.get_one(User, user_id).tenant_id
    audit.record(session, service=SERVICE, action="session.revoked_others", target_type="user",
                 target_id=user_id, tenant_id=tenant_id, actor_user_id=user_id,
                 after={"sessions_ended": ended})
    return ended


# -- personal API tokens --------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenView:
    """A personal API token as its owner sees it afterwards: never the token itself."""

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    expired: bool


@dataclass(frozen=True)
class NewToken:
    """A token just created: `plaintext` is shown this once and never stored."""

    view: TokenView
    plaintext: str = field(repr=False)


def own_tokens(session: Session, *, user_id: uuid.UUID) -> list[TokenView]:
    """The user's tokens not revoked (expired ones too, marked), newest first."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc()))
    return [_token_view(row) for row in rows]


def create_own_token(session: Session, *, user_id: uuid.UUID, name: str,
                     expires_in_days: int | None) -> NewToken:
    """A new personal API token for the user (`expires_in_days` None: until revoked)."""
    name = name.strip()
    problems: dict[str, list[str]] = {}
    if not name or len(name) > MAX_NAME_LENGTH:
        problems["name"] = [f"Nama token 1 sampai {MAX_NAME_LENGTH} karakter."]
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        problems["expires_in_days"] = [f"Masa berlaku 1 sampai {MAX_TOKEN_DAYS} hari."]
    if problems:
        raise SelfServiceError(INVALID, fields=problems)
    user = session.get_one(User, user_id, with_for_update=True)  # one count at a time
    live = session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now()))) or 0
    if live >= MAX_LIVE_TOKENS:
        raise SelfServiceError(TOO_MANY_TOKENS, status=409)
    # Tokens expire on the real clock, like sessions (shared.identity.api_tokens).
    expires_at = now() + timedelta(days=expires_in_days) if expires_in_days else None
    row, plaintext = create_api_token(session, user=user, name=name, expires_at=expires_at)
    audit.record(session, service=SERVICE, action="api_token.created", target_type="api_token",
                 target_id=row.id, tenant_id=user.tenant_id, actor_user_id=user.id,
                 after={"name": row.name, "prefix": row.prefix,
                        "expires_at": expires_at.isoformat() if expires_at else None})
    return NewToken(view=_token_view(row), plaintext=plaintext)


def revoke_own_token(session: Session, *, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Revoke one of the user's own tokens (404 for anyone else's or one revoked already)."""
    row = session.scalars(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.user_id == user_id)).one_or_none()
    if row is None or not revoke_api_token(session, token_id=token_id, user_id=user_id):
        raise SelfServiceError(TOKEN_NOT_FOUND, status=404)
    tenant_id = session.get_one(User, user_id).tenant_id
    audit.record(session, service=SERVICE, action="api_token.revoked", target_type="api_token",
                 target_id=token_id, tenant_id=tenant_id, actor_user_id=user_id,
                 before={"name": row.name, "prefix": row.prefix})


def _token_view(row: ApiToken) -> TokenView:
    return TokenView(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                     last_used_at=row.last_used_at, expires_at=row.expires_at,
                     expired=row.expires_at is not None and row.expires_at <= now())


# -- which browser --------------------------------------------------------------------------------

_BROWSERS = (  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"python-requests|httpx|urllib", re.IGNORECASE)),
)
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux")),
)


def browser_label(user_agent: str | None) -> str:
    """A short, human label for a User-Agent: "Firefox di Windows"; unknown ones say so."""
    if not user_agent:
        return "Peramban tidak dikenal"
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} di {system}"
    return browser or (f"Peramban di {system}" if system else "Peramban tidak dikenal")
