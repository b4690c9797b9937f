"""One-time account links and temporary passwords, on real PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.audit import AuditEntry
from shared.identity.account_links import (
    ACTIVATION_LIFETIME,
    RESET_LIFETIME,
    TEMPORARY_PASSWORD_LIFETIME,
    LinkError,
    LinkPasswordRefused,
    find_link,
    issue_link,
    issue_temporary_password,
    link_url,
    redeem_link,
)
from shared.identity.models import AccountLink, LinkPurpose, LoginSession, Tenant, User
from shared.identity.password_policy import TOO_COMMON, WeakPassword
from shared.identity.passwords import hash_password, verify_password
from shared.identity.sessions import start_session

AT = datetime(2026, 4, 6, 1, 0, tzinfo=UTC)
NEW_PASSWORD = "kuda-terbang-di-atas-monas"


@pytest.fixture
def tenant(db: Session) -> Tenant:
    tenant = Tenant(slug="dinkes", name="Dinas Kesehatan")
    db.add(tenant)
    db.flush()
    return tenant


@pytest.fixture
def user(db: Session, tenant: Tenant) -> User:
    user = User(username="siti", full_name="Siti Rahmawati", tenant_id=tenant.id,
                password_hash=hash_password("kata-sandi-lama-sekali"))
    db.add(user)
    db.commit()
    return user


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_link_is_stored_hashed_expires_per_purpose_and_builds_its_url(
        db: Session, user: User) -> None:
    token = issue_link(db, user=user, purpose=LinkPurpose.ACTIVATION, created_by=None, at=AT)
    reset = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=user.id, at=AT)
    db.commit()
    links = {link.purpose: link for link in db.scalars(select(AccountLink))}
    assert links["activation"].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert links["activation"].expires_at == AT + ACTIVATION_LIFETIME == AT + timedelta(days=3)
    assert links["reset"].expires_at == AT + RESET_LIFETIME == AT + timedelta(hours=24)
    assert links["reset"].created_by == user.id
    assert token not in str(db.scalars(select(AuditEntry.after)).all())
    assert reset != token
    assert link_url("https://sakip.example.go.id/", token) == (
        f"https://sakip.example.go.id/aktivasi/{token}")
    assert _actions(db) == ["account_link.issued", "account_link.issued"]


def test_redeeming_sets_the_password_and_ends_the_link_and_the_sessions(
        db: Session, user: User) -> None:
    user.must_change_password = True
    user.password_expires_at = AT + timedelta(days=1)
    start_session(db, user=user, lifetime=timedelta(hours=8))
    token = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    db.commit()
    redeemed = redeem_link(db, token=token, new_password=NEW_PASSWORD, at=AT + timedelta(hours=1))
    db.commit()
    assert redeemed.id == user.id
    db.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not user.must_change_password
    assert user.password_expires_at is None
    link = db.scalars(select(AccountLink)).one()
    assert link.used_at == AT + timedelta(hours=1)
    assert db.scalars(select(LoginSession)).one().revoked_at is not None
    assert _actions(db)[-2:] == ["account_link.used", "password.changed"]
    with pytest.raises(LinkError, match="tidak berlaku"):  # once only
        redeem_link(db, token=token, new_password="kuda-lain-di-atas-monas", at=AT)


def test_a_newer_link_of_the_same_purpose_ends_the_older_one(db: Session, user: User) -> None:
    first = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    activation = issue_link(db, user=user, purpose=LinkPurpose.ACTIVATION, created_by=None, at=AT)
    second = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    db.commit()
    with pytest.raises(LinkError, match="tidak berlaku"):
        find_link(db, token=first, at=AT)
    assert find_link(db, token=second, at=AT)[1].id == user.id
    assert find_link(db, token=activation, at=AT)[1].id == user.id  # another purpose lives on


def test_unknown_expired_and_malformed_links_are_refused(db: Session, user: User) -> None:
    token = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    db.commit()
    with pytest.raises(LinkError, match="kedaluwarsa"):
        redeem_link(db, token=token, new_password=NEW_PASSWORD, at=AT + RESET_LIFETIME)
    for bad in ("", "tidak-ada", "x" * 500):
        with pytest.raises(LinkError, match="tidak berlaku"):
            redeem_link(db, token=bad, new_password=NEW_PASSWORD, at=AT)
    db.refresh(user)
    assert not verify_password(user.password_hash, NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_stays_usable(db: Session, user: User) -> None:
    token = issue_link(db, user=user, purpose=LinkPurpose.ACTIVATION, created_by=None, at=AT)
    db.commit()
    with pytest.raises(LinkPasswordRefused) as raised:
        redeem_link(db, token=token, new_password="bismillah123", at=AT)
    assert isinstance(raised.value, WeakPassword)
    assert isinstance(raised.value, LinkError)
    assert TOO_COMMON in raised.value.problems
    db.rollback()
    with pytest.raises(LinkPasswordRefused):
        redeem_link(db, token=token, new_password="siti-rahmawati-2026", at=AT)
    db.rollback()
    redeem_link(db, token=token, new_password=NEW_PASSWORD, at=AT)


def test_links_of_a_deactivated_user_or_dinas_do_not_work(
        db: Session, user: User, tenant: Tenant) -> None:
    token = issue_link(db, user=user, purpose=LinkPurpose.ACTIVATION, created_by=None, at=AT)
    tenant.active = False
    db.commit()
    with pytest.raises(LinkError, match="tidak aktif"):
        redeem_link(db, token=token, new_password=NEW_PASSWORD, at=AT)
    with pytest.raises(LinkError, match="tidak aktif"):
        issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    tenant.active = True
    user.active = False
    db.commit()
    with pytest.raises(LinkError, match="tidak aktif"):
        redeem_link(db, token=token, new_password=NEW_PASSWORD, at=AT)
    with pytest.raises(LinkError, match="tidak aktif"):
        issue_temporary_password(db, user=user, created_by=None, at=AT)


def test_a_temporary_password_is_readable_expires_and_forces_a_change(
        db: Session, user: User) -> None:
    start_session(db, user=user, lifetime=timedelta(hours=8))
    reset = issue_link(db, user=user, purpose=LinkPurpose.RESET, created_by=None, at=AT)
    db.commit()
    password = issue_temporary_password(db, user=user, created_by=None, at=AT)
    db.commit()
    groups = password.split("-")
    assert len(groups) == 4
    assert all(len(g) == 4 for g in groups)
    assert not set(password) & set("01ilo")
    db.refresh(user)
    assert verify_password(user.password_hash, password)
    assert user.must_change_password
    assert user.password_expires_at == AT + TEMPORARY_PASSWORD_LIFETIME
    assert db.scalars(select(LoginSession)).one().revoked_at is not None
    with pytest.raises(LinkError):  # the outstanding reset link is superseded
        find_link(db, token=reset, at=AT)
    entry = db.scalars(select(AuditEntry).where(
        AuditEntry.action == "password.temporary_issued")).one()
    assert password not in str(entry.after)
    assert issue_temporary_password(db, user=user, created_by=None, at=AT) != password
