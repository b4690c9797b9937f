"""Password hashing and the portal's signed service tokens."""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from shared.identity.passwords import hash_password, needs_rehash, verify_password
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.service_token import (
    SALT,
    InvalidServiceToken,
    issue_service_token,
    verify_service_token,
)

SECRET = "a-service-token-secret-of-32-characters"
TENANT_A = uuid.uuid4()
TENANT_B = uuid.uuid4()


def _principal() -> Principal:
    return Principal.of(
        user_id=uuid.uuid4(),
        username="siti.rahma",
        bidang_id=uuid.uuid4(),
        grants=[("kasubbag_program", TENANT_A), ("tim_evaluasi", TENANT_B), ("inspektur", None)],
    )


# -- passwords -------------------------------------------------------------------------------

def test_argon2_hash_verifies_the_right_password_only():
    hashed = hash_password("kata-sandi-rahasia")
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("kata-sandi-rahasia")  # salted
    assert verify_password(hashed, "kata-sandi-rahasia")
    assert not verify_password(hashed, "kata-sandi-salah")
    assert not needs_rehash(hashed)


def test_a_missing_or_broken_hash_never_verifies():
    assert not verify_password(None, "sakip-no-such-user")  # not even the dummy's password
    assert not verify_password("", "anything")
    assert not verify_password("not-an-argon2-hash", "anything")


# -- service tokens --------------------------------------------------------------------------

def test_service_token_round_trip():
    principal = _principal()
    token = issue_service_token(principal, secret=SECRET)
    back = verify_service_token(token, secret=SECRET, max_age_seconds=60)
    assert back == principal
    assert back.has_role(Role.KASUBBAG_PROGRAM, TENANT_A)
    assert back.has_role(Role.INSPEKTUR)
    assert not back.has_role(Role.KASUBBAG_PROGRAM, TENANT_B)


def test_a_principal_without_bidang_or_grants_round_trips():
    principal = Principal.of(user_id=uuid.uuid4(), username="admin", grants=[])
    token = issue_service_token(principal, secret=SECRET)
    assert verify_service_token(token, secret=SECRET, max_age_seconds=60) == principal


def _rewrite_payload(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The token with its payload edited and the original timestamp and signature kept."""
    payload, timestamp, signature = token.rsplit(".", 2)
    compressed = payload.startswith(".")
    raw = base64_decode(payload.lstrip("."))
    doc = json.loads(zlib.decompress(raw) if compressed else raw)
    change(doc)
    raw = json.dumps(doc, separators=(",", ":")).encode()
    encoded = base64_encode(zlib.compress(raw) if compressed else raw).decode()
    return f"{'.' if compressed else ''}{encoded}.{timestamp}.{signature}"


def test_tampered_payload_is_refused():
    token = issue_service_token(_principal(), secret=SECRET)
    assert _rewrite_payload(token, lambda doc: None).rsplit(".", 2)[1:] == token.rsplit(".", 2)[1:]

    def escalate(doc: dict[str, Any]) -> None:
        doc["g"].append(["platform_admin", None])

    def impersonate(doc: dict[str, Any]) -> None:
        doc["usr"] = "kepala.dinas"

    for change in (escalate, impersonate):
        with pytest.raises(InvalidServiceToken, match="bad signature"):
            verify_service_token(_rewrite_payload(token, change), secret=SECRET,
                                 max_age_seconds=60)


def test_tampered_signature_or_garbage_is_refused():
    token = issue_service_token(_principal(), secret=SECRET)
    head, signature = token.rsplit(".", 1)
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    for bad in (f"{head}.{flipped}", head, "", "garbage", "a.b.c"):
        with pytest.raises(InvalidServiceToken):
            verify_service_token(bad, secret=SECRET, max_age_seconds=60)


def test_wrong_secret_is_refused():
    token = issue_service_token(_principal(), secret=SECRET)
    with pytest.raises(InvalidServiceToken, match="bad signature"):
        verify_service_token(token, secret=SECRET + "!", max_age_seconds=60)


def test_a_token_of_another_purpose_is_refused():
    # Same secret, other salt: e.g. something else the platform signs must not pass as this.
    other = URLSafeTimedSerializer(SECRET, salt="sakip-something-else").dumps({"v": 1})
    with pytest.raises(InvalidServiceToken):
        verify_service_token(other, secret=SECRET, max_age_seconds=60)


def test_a_validly_signed_but_malformed_payload_is_refused():
    signer = URLSafeTimedSerializer(SECRET, salt=SALT)
    for payload in ({"v": 1}, {"v": 99}, [1, 2], {"v": 1, "uid": "nope", "usr": "x",
                                                 "bid": None, "g": []},
                    {"v": 1, "uid": str(uuid.uuid4()), "usr": "x", "bid": None,
                     "g": [["superuser", None]]}):
        with pytest.raises(InvalidServiceToken):
            verify_service_token(signer.dumps(payload), secret=SECRET, max_age_seconds=60)


class _SignedTwoMinutesAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 120


def test_an_expired_token_is_refused():
    token = issue_service_token(_principal(), secret=SECRET)
    # The same payload, signed two minutes ago: fresh enough for 5 minutes, not for 1.
    payload = URLSafeTimedSerializer(SECRET, salt=SALT).loads(token)
    old = URLSafeTimedSerializer(SECRET, salt=SALT, signer=_SignedTwoMinutesAgo).dumps(payload)
    assert verify_service_token(old, secret=SECRET, max_age_seconds=300) == _principal_of(token)
    with pytest.raises(InvalidServiceToken, match="expired"):
        verify_service_token(old, secret=SECRET, max_age_seconds=60)


def _principal_of(token: str) -> Principal:
    return verify_service_token(token, secret=SECRET, max_age_seconds=60)
