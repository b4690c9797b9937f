"""Accounts, objects and the audit trail: the login limit and its sameness for every refusal,
password and API token storage, presigned links, object keys, and the audit rows of every
security-relevant action.

Referenced, not repeated: tests/integration/test_portal.py (::test_unknown_user_and_wrong_
password_get_the_same_answer_and_are_audited, ::test_five_failures_lock_the_login_for_a_while,
::test_download_redirects_to_a_presigned_url_and_is_audited, ::test_another_dinas_is_invisible),
tests/unit/test_storage_keys.py, tests/unit/test_passwords_tokens.py,
tests/integration/test_platform_admin.py (role.granted/role.revoked rows) and
tests/integration/test_portal_cycles.py (extensions through the portal).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from services.intake.auth import LOGIN_FAILED_MESSAGE, LOGIN_LIMITED_MESSAGE
from shared.audit import AuditEntry
from shared.clock import now
from shared.db import transaction
from shared.documents.models import DocumentVersion
from shared.identity.api_tokens import create_api_token
from shared.identity.models import ApiToken, User
from tests.integration.test_portal import csrf, csrf_of, log_in, package_of, post, upload
from tests.samples import make_pdf
from tests.world import PASSWORD


def audit_actions(session_factory, action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _attempt(client, username: str, password: str):
    token = csrf_of(client.get("/masuk").text)
    return client.post("/masuk", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.mark.evidence(
    "security", "Logins with an unknown user, a wrong password and a deactivated account's right "
    "password, then five failures followed by the right password.",
    "All refusals were identical (401, same page) and audited as login.failed; after five "
    "failures even the right password got 429 until the window passes.")
def test_login_refusals_reveal_nothing_and_are_rate_limited(app, world, session_factory):
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "dinas-a.tim").values(active=False))
    answers = {
        "tidak.ada": _attempt(app.test_client(), "tidak.ada", PASSWORD),
        "dinas-a.staf2": _attempt(app.test_client(), "dinas-a.staf2", "salah-sekali"),
        "dinas-a.tim": _attempt(app.test_client(), "dinas-a.tim", PASSWORD),
    }
    pages = {name: r.text.replace(name, "X") for name, r in answers.items()}
    assert {r.status_code for r in answers.values()} == {401}
    assert len(set(pages.values())) == 1
    assert LOGIN_FAILED_MESSAGE in pages["tidak.ada"]
    assert len(audit_actions(session_factory, "login.failed")) == 3
    client = app.test_client()
    for _ in range(5):
        assert _attempt(client, "dinas-a.staf1", "salah-sekali").status_code == 401
    limited = _attempt(client, "dinas-a.staf1", PASSWORD)
    assert limited.status_code == 429
    assert LOGIN_LIMITED_MESSAGE in limited.text
    assert not audit_actions(session_factory, "login")


@pytest.mark.evidence(
    "security", "Read the stored password hashes and API tokens; used a token, revoked it "
    "through the portal, used it again.",
    "Every password hash is Argon2id; the token table holds only a SHA-256 of the token, never "
    "the token; the revoked token answered 401.")
def test_passwords_are_argon2id_and_api_tokens_hashed_and_revocable(app, world, session_factory):
    with transaction(session_factory) as session:
        hashes = session.scalars(select(User.password_hash)
                                 .where(User.password_hash.is_not(None))).all()
        user = session.scalars(select(User).where(User.username == "dinas-a.kasubbag")).one()
        row, plaintext = create_api_token(session, user=user, name="uji")
        token_id = row.id
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)
    with session_factory() as session:
        stored = session.get_one(ApiToken, token_id)
        dumped = " ".join(str(v) for v in vars(stored).values())
    assert plaintext not in dumped
    assert stored.token_hash != plaintext
    assert len(stored.token_hash) == 64
    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    kasubbag = log_in(app, "dinas-a.kasubbag")
    revoked = post(kasubbag, f"/akun/token/{token_id}/cabut", csrf(kasubbag))
    assert revoked.status_code in (302, 303)
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401


@pytest.mark.evidence(
    "security", "Downloaded a soft copy as a reader of its dinas and as every role of another "
    "dinas; guessed its object key for the other tenant.",
    "The reader got a presigned link valid 5 minutes (after the audit row); the other dinas got "
    "404 with no link and no audit row; the key holds the tenant id and 128 random bits.")
def test_presigned_links_are_short_and_only_after_authorisation(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    version_id = upload(staff, package.items["IKU"], make_pdf("rahasia"),
                        token=csrf(staff)).json["version"]["id"]
    for key in ("staf1", "kasubbag", "tim", "kepala"):
        other = log_in(app, world.b.username(key))
        refused = other.get(f"/versi/{version_id}/unduh")
        assert refused.status_code == 404
        assert "Location" not in refused.headers
    assert not audit_actions(session_factory, "document.downloaded")
    reader = log_in(app, "dinas-a.kasubbag")
    response = reader.get(f"/versi/{version_id}/unduh")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) <= int(timedelta(minutes=5).total_seconds())
    assert len(audit_actions(session_factory, "document.downloaded")) == 1
    with session_factory() as session:
        key = session.get_one(DocumentVersion, uuid.UUID(version_id)).object_key
    assert key.startswith(f"tenants/{world.a.tenant_id}/")
    assert str(version_id) not in key
    assert str(package.items["IKU"]) not in key
    assert re.search(r"/[0-9a-f]{32}$", key)


@pytest.mark.evidence(
    "security", "Signed in, failed a login, downloaded a soft copy, granted a city role and "
    "granted an extension through the portal.",
    "Each landed in the audit log with its actor: login, login.failed, document.downloaded, "
    "role.granted, step.extended.")
def test_security_relevant_actions_land_in_the_audit_log(portal_app, world, session_factory):
    assert _attempt(portal_app.test_client(), "dinas-a.kepala", "salah").status_code == 401
    package = package_of(session_factory, world.a)
    staff = log_in(portal_app, "dinas-a.staf1")
    version_id = upload(staff, package.items["IKU"], make_pdf("jejak"),
                        token=csrf(staff)).json["version"]["id"]
    assert staff.get(f"/versi/{version_id}/unduh").status_code == 302
    admin = log_in(portal_app, world.city_users["admin"])
    organisasi = world.city["organisasi"].user_id
    granted = post(admin, f"/admin/kota/pengguna/{organisasi}/peran", csrf(admin),
                   role="inspektur")
    assert granted.status_code == 303
    kepala = log_in(portal_app, "dinas-a.kepala")
    due = (now() + timedelta(days=10)).date().isoformat()
    extended = post(kepala, f"/siklus/{world.a.cycle_id}/perpanjangan", csrf(kepala),
                    bidang_id=str(world.a.bidang[0]), due_date=due, due_time="15:30",
                    reason="Kepala Bidang sedang dinas luar.")
    assert extended.status_code == 303
    expected = {"login": world.a.users["dinas-a.kepala"],
                "document.downloaded": world.a.users["dinas-a.staf1"],
                "role.granted": world.city["admin"].user_id,
                "step.extended": world.a.users["dinas-a.kepala"]}
    for action, actor in expected.items():
        rows = audit_actions(session_factory, action)
        assert any(r.actor_user_id == actor for r in rows), action
    (failed,) = audit_actions(session_factory, "login.failed")
    assert failed.after["username"] == "dinas-a.kepala"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) >= 5
