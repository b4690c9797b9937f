"""The short-lived signed token the portal sends when it calls the workflow and reporting
services on a user's behalf.

It carries the user id, username, Bidang and grants (role + tenant), signed with
SERVICE_TOKEN_SECRET (itsdangerous, HMAC) and timestamped. The receiving service verifies the
signature and age, rebuilds the Principal and checks the role again itself; it never trusts a
plain user header. The token is signed, not encrypted: it must carry nothing secret.
"""

from __future__ import annotations

import uuid
from typing import Any

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.identity.principal import Principal
from shared.identity.roles import Role

SALT = "sakip-service-token"
PAYLOAD_VERSION = 1


class InvalidServiceToken(Exception):
    """The token's signature is bad, its payload was tampered with or malformed, or it expired."""


def _serializer(secret: str) -> URLSafeTimedSerializer:
    if not secret:
        raise ValueError("a service token secret is required")
    return URLSafeTimedSerializer(secret, salt=SALT)


def issue_service_token(principal: Principal, *, secret: str) -> str:
    """Sign `principal` into a token; its age is checked by `verify_service_token`."""
    grants = sorted(
        ([g.role.value, None if g.tenant_id is None else str(g.tenant_id)]
         for g in principal.grants),
        key=lambda pair: (pair[0], pair[1] or ""),
    )
    payload = {
        "v": PAYLOAD_VERSION,
        "uid": str(principal.user_id),
        "usr": principal.username,
        "bid": None if principal.bidang_id is None else str(principal.bidang_id),
        "g": grants,
    }
    return _serializer(secret).dumps(payload)


def verify_service_token(token: str, *, secret: str, max_age_seconds: int) -> Principal:
    """The principal a valid token carries; InvalidServiceToken for anything else."""
    try:
        payload = _serializer(secret).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise InvalidServiceToken("expired") from exc
    except BadSignature as exc:  # wrong secret or salt, tampered payload or signature
        raise InvalidServiceToken("bad signature") from exc
    except BadData as exc:  # not a token at all
        raise InvalidServiceToken("undecodable") from exc
    try:
        return _principal_of(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidServiceToken("malformed payload") from exc


def _principal_of(payload: Any) -> Principal:
    if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
        raise ValueError("unknown payload version")
    username = payload["usr"]
    if not isinstance(username, str):
        raise TypeError("username must be a string")
    bidang = payload["bid"]
    return Principal.of(
        user_id=uuid.UUID(payload["uid"]),
        username=username,
        bidang_id=None if bidang is None else uuid.UUID(bidang),
        grants=[
            (Role(role).value, None if tenant is None else uuid.UUID(tenant))
            for role, tenant in payload["g"]
        ],
    )
