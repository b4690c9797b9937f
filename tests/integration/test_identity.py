"""Login sessions, personal API tokens and the role-grant constraint, on real PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.clock import now
from shared.identity.api_tokens import (
    TOKEN_PREFIX,
    create_api_token,
    resolve_api_token,
    revoke_api_token,
)
from shared.identity.loading import principal_for
from shared.identity.models import ApiToken, Bidang, LoginSession, RoleGrant, Tenant, User
from shared.identity.roles import Role
from shared.identity.sessions import (
    resolve_session,
    revoke_all_sessions,
    revoke_session,
    start_session,
)

LIFETIME = timedelta(hours=8)


@pytest.fixture
def tenant(db: Session) -> Tenant:
    tenant = Tenant(slug="dinkes", name="Dinas Kesehatan")
    db.add(tenant)
    db.flush()
    return tenant


@pytest.fixture
def user(db: Session, tenant: Tenant) -> User:
    bidang = Bidang(tenant_id=tenant.id, name="Bidang Pelayanan Kesehatan")
    db.add(bidang)
    db.flush()
    user = User(username="budi", full_name="Budi Santoso", password_hash="x",
                tenant_id=tenant.id, bidang_id=bidang.id,
                grants=[RoleGrant(role=Role.BIDANG_STAFF.value, tenant_id=tenant.id)])
    db.add(user)
    db.commit()
    return user


def _login(db: Session, token: str) -> LoginSession:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.scalars(select(LoginSession).where(LoginSession.token_hash == digest)).one()


# -- sessions --------------------------------------------------------------------------------

def test_a_session_stores_only_the_hash_and_resolves_to_its_user(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME, ip="10.0.0.7", user_agent="Firefox")
    db.commit()
    assert len(token) >= 43
    login = _login(db, token)
    assert token not in login.token_hash
    assert login.user_id == user.id
    assert login.ip_address == "10.0.0.7"
    assert login.user_agent == "Firefox"
    assert login.expires_at - login.created_at == LIFETIME
    assert resolve_session(db, token, lifetime=LIFETIME) is user
    assert resolve_session(db, token + "x", lifetime=LIFETIME) is None
    assert resolve_session(db, "", lifetime=LIFETIME) is None


def test_tokens_are_unique_per_session(db, user):
    tokens = {start_session(db, user=user, lifetime=LIFETIME) for _ in range(5)}
    assert len(tokens) == 5


def test_overlong_client_details_are_cut_to_fit(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME, ip="f" * 100, user_agent="u" * 1000)
    db.commit()
    login = _login(db, token)
    assert (len(login.ip_address or ""), len(login.user_agent or "")) == (64, 255)


def test_use_slides_the_idle_timeout(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME)
    login = _login(db, token)
    login.last_seen_at = now() - timedelta(hours=7)
    login.expires_at = now() + timedelta(minutes=1)
    db.commit()
    before = now()
    assert resolve_session(db, token, lifetime=LIFETIME) is user
    db.commit()
    db.expire_all()
    login = _login(db, token)
    assert login.last_seen_at >= before
    assert login.expires_at >= before + LIFETIME


def test_an_idle_session_expires(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME)
    _login(db, token).expires_at = now() - timedelta(seconds=1)
    db.commit()
    assert resolve_session(db, token, lifetime=LIFETIME) is None


def test_a_short_lifetime_really_expires(db, user):
    token = start_session(db, user=user, lifetime=timedelta(milliseconds=1))
    db.commit()
    time.sleep(0.01)
    assert resolve_session(db, token, lifetime=timedelta(milliseconds=1)) is None


def test_a_revoked_session_is_refused(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME)
    db.commit()
    assert revoke_session(db, token)
    db.commit()
    assert resolve_session(db, token, lifetime=LIFETIME) is None
    assert not revoke_session(db, token)  # already ended
    assert _login(db, token).revoked_at is not None


def test_revoke_all_keeps_only_the_current_session(db, user, tenant):
    other = User(username="ani", full_name="Ani", password_hash="x", tenant_id=tenant.id)
    db.add(other)
    db.flush()
    current = start_session(db, user=user, lifetime=LIFETIME)
    elsewhere = [start_session(db, user=user, lifetime=LIFETIME) for _ in range(3)]
    others = start_session(db, user=other, lifetime=LIFETIME)
    db.commit()
    assert revoke_all_sessions(db, user.id, except_token=current) == 3
    db.commit()
    assert resolve_session(db, current, lifetime=LIFETIME) is user
    assert all(resolve_session(db, t, lifetime=LIFETIME) is None for t in elsewhere)
    assert resolve_session(db, others, lifetime=LIFETIME) is other
    assert revoke_all_sessions(db, user.id) == 1
    db.commit()
    assert resolve_session(db, current, lifetime=LIFETIME) is None


def test_an_inactive_user_is_refused(db, user):
    token = start_session(db, user=user, lifetime=LIFETIME)
    user.active = False
    db.commit()
    assert resolve_session(db, token, lifetime=LIFETIME) is None
    with pytest.raises(ValueError, match="inactive"):
        start_session(db, user=user, lifetime=LIFETIME)


def test_principal_for_carries_grants_and_bidang(db, user, tenant):
    principal = principal_for(user)
    assert principal.user_id == user.id
    assert principal.username == "budi"
    assert principal.bidang_id == user.bidang_id
    assert principal.has_role(Role.BIDANG_STAFF, tenant.id)
    assert principal.tenant_ids == {tenant.id}


# -- API tokens ------------------------------------------------------------------------------

def test_an_api_token_is_shown_once_and_stored_as_a_hash(db, user):
    row, plaintext = create_api_token(db, user=user, name=" laporan otomatis ")
    db.commit()
    assert plaintext.startswith(TOKEN_PREFIX)
    assert len(plaintext) > len(TOKEN_PREFIX) + 40
    stored = db.scalars(select(ApiToken).where(ApiToken.id == row.id)).one()
    assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in stored.token_hash
    assert stored.prefix == plaintext[:16]
    assert stored.name == "laporan otomatis"
    assert stored.last_used_at is None


def test_an_api_token_resolves_to_its_user_and_records_its_use(db, user):
    row, plaintext = create_api_token(db, user=user, name="cli")
    db.commit()
    assert resolve_api_token(db, plaintext) is user
    db.commit()
    assert row.last_used_at is not None
    assert resolve_api_token(db, plaintext[:-1]) is None
    assert resolve_api_token(db, "not-a-token") is None
    assert resolve_api_token(db, TOKEN_PREFIX) is None


def test_a_revoked_api_token_is_refused(db, user, tenant):
    row, plaintext = create_api_token(db, user=user, name="cli")
    stranger = User(username="eko", full_name="Eko", password_hash="x", tenant_id=tenant.id)
    db.add(stranger)
    db.commit()
    assert not revoke_api_token(db, token_id=row.id, user_id=stranger.id)  # not theirs
    assert resolve_api_token(db, plaintext) is user
    assert revoke_api_token(db, token_id=row.id, user_id=user.id)
    db.commit()
    assert resolve_api_token(db, plaintext) is None
    assert not revoke_api_token(db, token_id=row.id, user_id=user.id)


def test_an_expired_api_token_is_refused(db, user):
    row, plaintext = create_api_token(db, user=user, name="ci",
                                      expires_at=now() + timedelta(days=30))
    db.commit()
    assert resolve_api_token(db, plaintext) is user
    row.expires_at = now() - timedelta(seconds=1)
    db.commit()
    assert resolve_api_token(db, plaintext) is None


def test_api_tokens_of_an_inactive_user_are_refused(db, user):
    _, plaintext = create_api_token(db, user=user, name="cli")
    user.active = False
    db.commit()
    assert resolve_api_token(db, plaintext) is None


@pytest.mark.parametrize("kwargs", [
    {"name": "  "},
    {"name": "x" * 129},
    {"name": "ok", "expires_at": now() - timedelta(days=1)},
    {"name": "ok", "expires_at": now().replace(tzinfo=None) + timedelta(days=1)},
])
def test_bad_api_token_requests_are_refused(db, user, kwargs):
    with pytest.raises(ValueError, match=r"token name|expires_at"):
        create_api_token(db, user=user, **kwargs)


# -- role grants -----------------------------------------------------------------------------

def _assert_refused(db: Session, grant: RoleGrant) -> None:
    savepoint = db.begin_nested()
    db.add(grant)
    with pytest.raises(IntegrityError, match="role_matches_scope"):
        db.flush()
    savepoint.rollback()


def test_a_tenant_role_without_a_tenant_is_refused(db, user):
    _assert_refused(db, RoleGrant(user_id=user.id, role=Role.KASUBBAG_PROGRAM.value,
                                  tenant_id=None))


def test_a_city_role_with_a_tenant_is_refused(db, user, tenant):
    _assert_refused(db, RoleGrant(user_id=user.id, role=Role.INSPEKTUR.value,
                                  tenant_id=tenant.id))


def test_an_unknown_role_is_refused(db, user, tenant):
    _assert_refused(db, RoleGrant(user_id=user.id, role="superuser", tenant_id=tenant.id))


def test_well_formed_grants_are_accepted(db, user, tenant):
    db.add_all([
        RoleGrant(user_id=user.id, role=Role.KASUBBAG_PROGRAM.value, tenant_id=tenant.id),
        RoleGrant(user_id=user.id, role=Role.INSPEKTUR.value, tenant_id=None),
    ])
    db.commit()
    db.refresh(user)
    assert {(g.role, g.tenant_id) for g in user.grants} == {
        ("bidang_staff", tenant.id), ("kasubbag_program", tenant.id), ("inspektur", None)}
