"""Account security end to end: temporary passwords (expiry, the forced change in the portal and
the JSON APIs), deactivated users and dinas refused at once on every way in (login, sessions,
personal tokens, the portal's service token to workflow), and the one-time link page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from services.intake.auth import (
    LOGIN_FAILED_MESSAGE,
    PASSWORD_CHANGE_REQUIRED_MESSAGE,
    SESSION_COOKIE,
    TEMPORARY_EXPIRED_MESSAGE,
)
from services.intake.portal_account import FORCED_CHANGE_NOTICE
from services.workflow.app import create_app as create_workflow_app
from shared.audit import AuditEntry
from shared.config import Settings
from shared.db import transaction
from shared.identity.account_links import (
    LINK_EXPIRED,
    LINK_INVALID,
    issue_link,
    issue_temporary_password,
)
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import principal_for
from shared.identity.models import LinkPurpose, Tenant, User
from shared.identity.password_policy import TOO_COMMON, TOO_SHORT
from shared.identity.passwords import verify_password
from shared.identity.service_token import issue_service_token
from shared.web.service_auth import SERVICE_TOKEN_HEADER
from tests.integration.test_portal import csrf_of, log_in
from tests.world import COLLECTING_AT, PASSWORD, World

NEW_PASSWORD = "kuda-terbang-di-atas-monas"
API = "/api/v1"


@pytest.fixture
def workflow(settings: Settings, redis_client) -> Iterator[FlaskClient]:
    """The workflow service's API (test client), for the service-token and bearer paths."""
    application = create_workflow_app(settings)
    yield application.test_client()
    application.extensions["sakip"].close()


def _user(session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _temporary(session_factory, username: str, *, at=COLLECTING_AT) -> str:
    with transaction(session_factory) as session:
        return issue_temporary_password(session, user=_user(session, username),
                                        created_by=None, at=at)


def _bearer(session_factory, username: str) -> dict[str, str]:
    with transaction(session_factory) as session:
        _row, plaintext = create_api_token(session, user=_user(session, username), name="tes")
    return {"Authorization": f"Bearer {plaintext}"}


def _service_token(session_factory, settings: Settings, username: str) -> dict[str, str]:
    with session_factory() as session:
        principal = principal_for(_user(session, username))
    return {SERVICE_TOKEN_HEADER: issue_service_token(
        principal, secret=settings.service_token_secret)}


def _post_login(client: FlaskClient, username: str, password: str, **extra: str):
    token = csrf_of(client.get("/masuk").text)
    return client.post("/masuk", data={"username": username, "password": password,
                                       "csrf_token": token, **extra})


def _audit(session_factory, action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


# -- temporary passwords ------------------------------------------------------------------------

def test_a_temporary_password_forces_its_change_before_anything_else(
        app: Flask, world: World, session_factory) -> None:
    temporary = _temporary(session_factory, "dinas-a.kasubbag")
    client = app.test_client()
    response = _post_login(client, "dinas-a.kasubbag", temporary, next="/dinas/x")
    assert response.status_code == 303
    assert response.headers["Location"] == "/akun/kata-sandi?next=/dinas/x"
    for path in ("/", "/siklus", "/akun", "/akun/token", "/akun/sesi", "/pemberitahuan"):
        refused = client.get(path)
        assert refused.status_code == 303, path
        assert refused.headers["Location"] == "/akun/kata-sandi"
    page = client.get("/akun/kata-sandi")
    assert page.status_code == 200
    assert FORCED_CHANGE_NOTICE in page.text
    api = client.get(f"{API}/cycles")
    assert api.status_code == 403
    assert api.get_json()["error"]["message"] == PASSWORD_CHANGE_REQUIRED_MESSAGE
    assert client.get(f"{API}/me").status_code == 200  # who am I still answers
    changed = client.post("/akun/kata-sandi", data={
        "current_password": temporary, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "next": "/dinas/x",
        "csrf_token": csrf_of(page.text)})
    assert changed.status_code == 303
    assert changed.headers["Location"] == "/dinas/x"
    assert client.get("/").status_code == 200
    assert client.get(f"{API}/cycles").status_code == 200
    with session_factory() as session:
        user = _user(session, "dinas-a.kasubbag")
        assert not user.must_change_password
        assert user.password_expires_at is None
        assert verify_password(user.password_hash, NEW_PASSWORD)
    assert [e.before for e in _audit(session_factory, "password.changed")] == [
        {"must_change_password": True}]


def test_the_forced_change_refuses_a_weak_password(app: Flask, world: World,
                                                   session_factory) -> None:
    temporary = _temporary(session_factory, "dinas-a.staf1")
    client = app.test_client()
    _post_login(client, "dinas-a.staf1", temporary)
    token = csrf_of(client.get("/akun/kata-sandi").text)
    weak = client.post("/akun/kata-sandi", data={
        "current_password": temporary, "new_password": "bismillah", "confirm_password":
        "bismillah", "csrf_token": token})
    assert weak.status_code == 422
    assert TOO_SHORT in weak.text
    assert TOO_COMMON in weak.text
    assert client.get("/").status_code == 303  # still gated


def test_a_personal_token_waits_for_the_change_too_in_every_service(
        app: Flask, world: World, session_factory, workflow: FlaskClient) -> None:
    headers = _bearer(session_factory, "dinas-a.kepala")
    assert workflow.get(f"{API}/cycles", headers=headers).status_code == 200
    temporary = _temporary(session_factory, "dinas-a.kepala")
    client = app.test_client()
    for answer in (client.get(f"{API}/cycles", headers=headers),
                   workflow.get(f"{API}/cycles", headers=headers)):
        assert answer.status_code == 403
        assert answer.get_json()["error"]["message"] == PASSWORD_CHANGE_REQUIRED_MESSAGE
    changed = client.post(f"{API}/me/password", headers=headers, json={
        "current_password": temporary, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.get_json()
    assert client.get(f"{API}/cycles", headers=headers).status_code == 200
    assert workflow.get(f"{API}/cycles", headers=headers).status_code == 200


def test_an_expired_temporary_password_is_refused_without_revealing_the_account(
        app: Flask, world: World, session_factory) -> None:
    temporary = _temporary(session_factory, "dinas-a.tim", at=COLLECTING_AT - timedelta(days=4))
    client = app.test_client()
    expired = _post_login(client, "dinas-a.tim", temporary)
    assert expired.status_code == 401
    assert TEMPORARY_EXPIRED_MESSAGE in expired.text
    assert SESSION_COOKIE not in (expired.headers.get("Set-Cookie") or "")
    # without the right password, the page says exactly what it says for an unknown user
    wrong = _post_login(client, "dinas-a.tim", "salah-sekali-kata-sandinya")
    unknown = _post_login(client, "tidak.ada", "salah-sekali-kata-sandinya")
    assert wrong.status_code == unknown.status_code == 401
    assert LOGIN_FAILED_MESSAGE in wrong.text
    assert TEMPORARY_EXPIRED_MESSAGE not in wrong.text
    assert wrong.text.replace("dinas-a.tim", "X") == unknown.text.replace("tidak.ada", "X")
    reasons = [e.after["reason"] for e in _audit(session_factory, "login.failed")]
    assert reasons == ["temporary_password_expired", "credentials", "credentials"]


def test_an_unexpired_temporary_password_logs_in(app: Flask, world: World,
                                                 session_factory) -> None:
    temporary = _temporary(session_factory, "dinas-b.tim", at=COLLECTING_AT - timedelta(days=2))
    assert _post_login(app.test_client(), "dinas-b.tim", temporary).status_code == 303


# -- deactivation works at once -------------------------------------------------------------------

def _ways_in(app: Flask, session_factory, settings: Settings, username: str):
    """A signed-in portal client, a bearer token and a service token of `username`."""
    return (log_in(app, username), _bearer(session_factory, username),
            _service_token(session_factory, settings, username))


def _assert_shut_out(app: Flask, workflow: FlaskClient, username: str, ways) -> None:
    client, bearer, service = ways
    page = client.get("/akun")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/masuk")
    assert client.get(f"{API}/me").status_code == 401
    assert app.test_client().get(f"{API}/me", headers=bearer).status_code == 401
    assert workflow.get(f"{API}/cycles", headers=bearer).status_code == 401
    assert workflow.get(f"{API}/cycles", headers=service).status_code == 401
    refused = _post_login(app.test_client(), username, PASSWORD)
    unknown = _post_login(app.test_client(), "tidak.ada", PASSWORD)
    assert refused.status_code == 401
    assert refused.text.replace(username, "X") == unknown.text.replace("tidak.ada", "X")


def _assert_let_in(app: Flask, workflow: FlaskClient, ways) -> None:
    client, bearer, service = ways
    assert client.get("/akun").status_code == 200
    assert app.test_client().get(f"{API}/me", headers=bearer).status_code == 200
    assert workflow.get(f"{API}/cycles", headers=bearer).status_code == 200
    assert workflow.get(f"{API}/cycles", headers=service).status_code == 200


def test_a_deactivated_user_is_shut_out_at_once(app: Flask, world: World, session_factory,
                                                settings: Settings,
                                                workflow: FlaskClient) -> None:
    ways = _ways_in(app, session_factory, settings, "dinas-a.kepala")
    _assert_let_in(app, workflow, ways)
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "dinas-a.kepala")
                        .values(active=False))
    _assert_shut_out(app, workflow, "dinas-a.kepala", ways)


def test_the_users_of_a_deactivated_dinas_are_shut_out_at_once_and_no_one_else(
        app: Flask, world: World, session_factory, settings: Settings,
        workflow: FlaskClient) -> None:
    ways_a = _ways_in(app, session_factory, settings, "dinas-a.kepala")
    ways_b = _ways_in(app, session_factory, settings, "dinas-b.kepala")
    ways_city = _ways_in(app, session_factory, settings, "kota.organisasi")
    with transaction(session_factory) as session:
        session.execute(update(Tenant).where(Tenant.id == world.a.tenant_id)
                        .values(active=False))
    _assert_shut_out(app, workflow, "dinas-a.kepala", ways_a)
    _assert_let_in(app, workflow, ways_b)
    _assert_let_in(app, workflow, ways_city)


# -- the one-time link page -----------------------------------------------------------------------

def _link(session_factory, username: str, purpose: LinkPurpose = LinkPurpose.ACTIVATION,
          at=COLLECTING_AT) -> str:
    with transaction(session_factory) as session:
        return issue_link(session, user=_user(session, username), purpose=purpose,
                          created_by=None, at=at)


def test_an_activation_link_sets_the_password_once(app: Flask, world: World,
                                                   session_factory) -> None:
    token = _link(session_factory, "dinas-a.staf2")
    client = app.test_client()
    page = client.get(f"/aktivasi/{token}")
    assert page.status_code == 200
    assert "dinas-a.staf2" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    csrf = csrf_of(page.text)
    mismatch = client.post(f"/aktivasi/{token}", data={
        "new_password": NEW_PASSWORD, "confirm_password": "lain", "csrf_token": csrf})
    assert mismatch.status_code == 422
    assert "Konfirmasi kata sandi tidak sama" in mismatch.text
    weak = client.post(f"/aktivasi/{token}", data={
        "new_password": "dinas-a.staf2-baru", "confirm_password": "dinas-a.staf2-baru",
        "csrf_token": csrf})
    assert weak.status_code == 422
    assert "nama pengguna" in weak.text
    no_csrf = client.post(f"/aktivasi/{token}", data={
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert no_csrf.status_code == 400
    done = client.post(f"/aktivasi/{token}", data={
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["Location"] == "/masuk"
    assert _post_login(app.test_client(), "dinas-a.staf2", NEW_PASSWORD).status_code == 303
    assert _post_login(app.test_client(), "dinas-a.staf2", PASSWORD).status_code == 401
    again = client.get(f"/aktivasi/{token}")
    assert again.status_code == 404
    assert LINK_INVALID in again.text
    assert "dinas-a.staf2" not in again.text
    assert [e.action for e in _audit(session_factory, "account_link.used")] == [
        "account_link.used"]


def test_dead_links_all_look_alike(app: Flask, world: World, session_factory) -> None:
    used = _link(session_factory, "dinas-a.staf1")
    _link(session_factory, "dinas-a.staf1")  # supersedes `used`
    expired = _link(session_factory, "dinas-b.staf1", LinkPurpose.RESET,
                    at=COLLECTING_AT - timedelta(days=2))
    client = app.test_client()
    unknown = client.get(f"/aktivasi/{uuid.uuid4().hex}")
    superseded = client.get(f"/aktivasi/{used}")
    assert unknown.status_code == superseded.status_code == 404
    assert unknown.text == superseded.text
    assert LINK_INVALID in unknown.text
    late = client.get(f"/aktivasi/{expired}")
    assert late.status_code == 404
    assert LINK_EXPIRED in late.text
    assert "dinas-b.staf1" not in late.text
    posted = client.post(f"/aktivasi/{expired}", data={
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        "csrf_token": csrf_of(client.get("/masuk").text)})
    assert posted.status_code == 404


def test_a_reset_link_ends_the_sessions_of_the_account(app: Flask, world: World,
                                                       session_factory) -> None:
    signed_in = log_in(app, "dinas-b.kasubbag")
    token = _link(session_factory, "dinas-b.kasubbag", LinkPurpose.RESET)
    client = app.test_client()
    csrf = csrf_of(client.get(f"/aktivasi/{token}").text)
    done = client.post(f"/aktivasi/{token}", data={
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf})
    assert done.status_code == 303
    assert signed_in.get("/akun").status_code == 302
