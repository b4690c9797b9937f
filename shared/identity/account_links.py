"""One-time account links (activation of a new account, a password reset) and temporary
passwords: how a person gets a password of their own without anyone else knowing it.

A link token is random, shown once (in the page of the administrator who issued it, or sent by
e-mail), and only its SHA-256 is stored. It expires, works once, and issuing a newer link of the
same purpose for the same user ends the older one. A temporary password is the alternative for
someone without a working e-mail: it expires too, and the first login with it forces a change.
Every function works inside the caller's transaction and audits what it did; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from shared import audit
from shared.identity.models import AccountLink, LinkPurpose, User
from shared.identity.password_policy import WeakPassword, require_strong
from shared.identity.passwords import hash_password
from shared.identity.sessions import revoke_all_sessions
from shared.identity.standing import user_usable

SERVICE = "intake"
ACTIVATION_LIFETIME = timedelta(days=3)
RESET_LIFETIME = timedelta(hours=24)
TEMPORARY_PASSWORD_LIFETIME = timedelta(days=3)
LINK_PATH = "/aktivasi/"
TOKEN_BYTES = 32
# Temporary passwords are read aloud or copied by hand: no 0/o, 1/l/i look-alikes.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS = 4
TEMPORARY_GROUP_LENGTH = 4  # 16 characters of a 31-letter alphabet: about 79 bits

LINK_INVALID = ("Tautan ini tidak berlaku: sudah dipakai, sudah diganti tautan yang lebih baru, "
                "atau alamatnya tidak lengkap. Mintalah tautan baru kepada administrator.")
LINK_EXPIRED = "Tautan ini sudah kedaluwarsa. Mintalah tautan baru kepada administrator."
ACCOUNT_CLOSED = "Akun ini tidak aktif. Hubungi administrator dinas Anda."


class LinkError(ValueError):
    """A link cannot be used (or issued); the message says why, in Indonesian."""


class LinkPasswordRefused(LinkError, WeakPassword):
    """The link is good but the chosen password breaks the policy (`problems` lists why):
    callers may catch it as either a LinkError or a WeakPassword."""


def lifetime_of(purpose: LinkPurpose) -> timedelta:
    return ACTIVATION_LIFETIME if purpose is LinkPurpose.ACTIVATION else RESET_LIFETIME


def link_token_hash(token: str) -> str:
    """The stored form of a link token: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(portal_url: str, token: str) -> str:
    """The address to hand to the person: `{portal_url}/aktivasi/{token}`."""
    return f"{portal_url.rstrip('/')}{LINK_PATH}{token}"


def issue_link(session: Session, *, user: User, purpose: LinkPurpose,
               created_by: uuid.UUID | None, at: datetime) -> str:
    """A new one-time link for `user`; return its token (shown once). Earlier live links of
    the same user and purpose stop working."""
    purpose = LinkPurpose(purpose)
    if not user_usable(session, user):
        raise LinkError(ACCOUNT_CLOSED)
    revoked = _revoke_live_links(session, user_id=user.id, purpose=purpose, at=at)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = AccountLink(user_id=user.id, purpose=purpose.value, token_hash=link_token_hash(token),
                       created_by=created_by, created_at=at, expires_at=at + lifetime_of(purpose))
    session.add(link)
    session.flush()
    audit.record(session, service=SERVICE, action="account_link.issued", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id, actor_user_id=created_by,
                 after={"purpose": purpose.value, "link_id": str(link.id),
                        "expires_at": link.expires_at.isoformat(),
                        "earlier_links_revoked": revoked})
    return token


def find_link(session: Session, *, token: str, at: datetime,
              for_update: bool = False) -> tuple[AccountLink, User]:
    """The live link of `token` and its user (for the page showing whose account it is);
    LinkError when it is unknown, used, revoked, expired, or its account is closed."""
    if not token or len(token) > 128:
        raise LinkError(LINK_INVALID)
    stmt = (select(AccountLink, User).join(User, User.id == AccountLink.user_id)
            .where(AccountLink.token_hash == link_token_hash(token)))
    if for_update:
        stmt = stmt.with_for_update(of=AccountLink)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise LinkError(LINK_INVALID)
    link, user = row
    if link.used_at is not None or link.revoked_at is not None:
        raise LinkError(LINK_INVALID)
    if link.expires_at <= at:
        raise LinkError(LINK_EXPIRED)
    if not user_usable(session, user):
        raise LinkError(ACCOUNT_CLOSED)
    return link, user


def redeem_link(session: Session, *, token: str, new_password: str, at: datetime) -> User:
    """Set the password of the link's account and end the link (and the account's sessions);
    LinkError when the link is not live, `LinkPasswordRefused` when the password is weak."""
    link, user = find_link(session, token=token, at=at, for_update=True)
    try:
        require_strong(new_password, username=user.username, full_name=user.full_name)
    except WeakPassword as weak:
        raise LinkPasswordRefused(weak.problems) from None
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_expires_at = None
    link.used_at = at
    ended = revoke_all_sessions(session, user.id)
    audit.record(session, service=SERVICE, action="account_link.used", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id, actor_user_id=user.id,
                 after={"purpose": link.purpose, "link_id": str(link.id),
                        "sessions_ended": ended})
    audit.record(session, service=SERVICE, action="password.changed", target_type="user",
                 target_id=user.id, tenant_id=user.tenant_id, actor_user_id=user.id,
                 after={"via": f"link:{link.purpose}"})
    session.flush()
    return user


def issue_temporary_password(session: Session, *, user: User, created_by: uuid.UUID | None,
                             at: datetime) -> str:
    """Give `user` a random, readable password that expires and must be changed at the first
    login; return it (shown once). Outstanding reset links and the user's sessions end."""
    if not user_usable(session, user):
        raise LinkError(ACCOUNT_CLOSED)
    password = "-".join(
        "".join(secrets.choice(_READABLE) for _ in range(TEMPORARY_GROUP_LENGTH))
        for _ in range(TEMPORARY_GROUPS))
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_expires_at = at + TEMPORARY_PASSWORD_LIFETIME
    revoked = _revoke_live_links(session, user_id=user.id, purpose=LinkPurpose.RESET, at=at)
    ended = revoke_all_sessions(session, user.id)
    audit.record(session, service=SERVICE, action="password.temporary_issued",
                 target_type="user", target_id=user.id, tenant_id=user.tenant_id,
                 actor_user_id=created_by,
                 after={"expires_at": user.password_expires_at.isoformat(),
                        "reset_links_revoked": revoked, "sessions_ended": ended})
    session.flush()
    return password


def _revoke_live_links(session: Session, *, user_id: uuid.UUID, purpose: LinkPurpose,
                       at: datetime) -> int:
    result = session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user_id, AccountLink.purpose == purpose.value,
               AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session="fetch"))
    return cast(CursorResult[Any], result).rowcount
