"""Personal API tokens for programs: `sakip_pat_<random>`, shown once, stored as SHA-256.

The stored `prefix` (the first characters of the token) lets a user tell their tokens apart in a
list without the table holding anything usable. A token stops working when revoked, when its
`expires_at` has passed or when its user (or the user's dinas) is deactivated, checked at every
use. Every function works inside the caller's
transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from shared.clock import now
from shared.identity.models import ApiToken, Tenant, User
from shared.identity.standing import account_usable

TOKEN_PREFIX = "sakip_pat_"  # noqa: S105 - the public marker of a token, not a secret
TOKEN_BYTES = 32
DISPLAY_PREFIX_LENGTH = 16  # "sakip_pat_" and six random characters; fits ApiToken.prefix
MAX_NAME_LENGTH = 128
# last_used_at is written at most this often, so heavy API use is not a write per call.
LAST_USED_INTERVAL = timedelta(seconds=60)


def token_hash(plaintext: str) -> str:
    """The stored form of an API token: SHA-256, hex."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_token(
    session: Session, *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; return the row and the plaintext (shown to the user once)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a token name needs 1 to {MAX_NAME_LENGTH} characters")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        if expires_at <= now():
            raise ValueError("expires_at must lie in the future")
    if not user.active:
        raise ValueError("an inactive user cannot create API tokens")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(plaintext),
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        created_at=now(),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plaintext


def resolve_api_token(session: Session, plaintext: str) -> User | None:
    """The active user a live token belongs to, recording its use; None for anything else
    (including a user, or a user's dinas, that has been deactivated)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User, Tenant)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Tenant, Tenant.id == User.tenant_id)
        .where(ApiToken.token_hash == token_hash(plaintext))
    ).one_or_none()
    if row is None:
        return None
    token, user, tenant = row
    moment = now()
    if token.revoked_at is not None or not account_usable(user, tenant):
        return None
    if token.expires_at is not None and token.expires_at <= moment:
        return None
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_INTERVAL:
        token.last_used_at = moment
    return user


def revoke_api_token(session: Session, *, token_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Revoke one of the user's own tokens; False when they hold no such live token."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id,
               ApiToken.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult[Any], result).rowcount > 0
