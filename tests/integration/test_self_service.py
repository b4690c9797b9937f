"""Every user's own account, in the portal (/akun) and the API (/api/v1/me/...): changing the
password, seeing and ending their sessions, personal API tokens shown once, stored hashed and
revocable; each change audited, nobody reaching another user's sessions or tokens."""

from __future__ import annotations

import hashlib
import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services.intake.auth import CSRF_HEADER, SESSION_COOKIE
from services.intake.self_service import (
    MAX_LIVE_TOKENS,
    SAME_AS_CURRENT,
    TOO_MANY_ATTEMPTS,
    WRONG_CURRENT,
    browser_label,
)
from shared.audit import AuditEntry
from shared.db import transaction
from shared.identity.api_tokens import create_api_token
from shared.identity.models import ApiToken, LoginSession, User
from shared.identity.password_policy import HAS_NAME, TOO_COMMON
from shared.identity.passwords import verify_password
from tests.integration.test_portal import csrf_of, log_in
from tests.world import PASSWORD, World

API = "/api/v1"
NEW_PASSWORD = "kuda-terbang-di-atas-monas"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/126.0.0.0 Mobile Safari/537.36")
TOKEN_RE = re.compile(r'<code id="token-plaintext">(sakip_pat_[A-Za-z0-9_-]+)</code>')


def _user(session_factory, username: str) -> User:
    with session_factory() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _browser(app: Flask, username: str, user_agent: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    token = csrf_of(client.get("/masuk").text)
    response = client.post("/masuk", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303
    return client


def _csrf(client: FlaskClient, path: str = "/akun") -> str:
    return csrf_of(client.get(path).text)


def _bearer(session_factory, username: str) -> dict[str, str]:
    with transaction(session_factory) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        _row, plaintext = create_api_token(session, user=user, name="tes")
    return {"Authorization": f"Bearer {plaintext}"}


def _actions(session_factory, user_id: uuid.UUID) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id == str(user_id)).order_by(AuditEntry.id)))


def _audited(session_factory, action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


# -- the account page and the navigation ----------------------------------------------------------

def test_every_page_links_to_the_account_and_it_shows_the_user(app: Flask, world: World) -> None:
    client = log_in(app, "dinas-a.staf1")
    home = client.get("/", follow_redirects=True)
    assert 'href="/akun"' in home.text
    assert "Akun saya" in home.text
    page = client.get("/akun")
    assert page.status_code == 200
    assert "Dinas A staf1" in page.text
    assert "dinas-a.staf1@dinas-a.example.go.id" in page.text
    assert "1 sesi berlaku" in page.text
    assert app.test_client().get("/akun").status_code == 302  # anonymous: to the login


# -- the password ---------------------------------------------------------------------------------

def test_changing_the_password_keeps_this_session_and_ends_the_others(
        app: Flask, world: World, session_factory) -> None:
    here = log_in(app, "dinas-a.tim")
    elsewhere = log_in(app, "dinas-a.tim")
    token = _csrf(here, "/akun/kata-sandi")
    wrong = here.post("/akun/kata-sandi", data={
        "current_password": "bukan-kata-sandinya", "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "csrf_token": token})
    assert wrong.status_code == 422
    assert WRONG_CURRENT in wrong.text
    weak = here.post("/akun/kata-sandi", data={
        "current_password": PASSWORD, "new_password": "Dinas A tim dan kawan",
        "confirm_password": "Dinas A tim dan kawan", "csrf_token": token})
    assert weak.status_code == 422
    assert HAS_NAME in weak.text
    same = here.post("/akun/kata-sandi", data={
        "current_password": PASSWORD, "new_password": PASSWORD,
        "confirm_password": PASSWORD, "csrf_token": token})
    assert same.status_code == 422
    assert SAME_AS_CURRENT in same.text
    no_csrf = here.post("/akun/kata-sandi", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert no_csrf.status_code == 400
    assert verify_password(_user(session_factory, "dinas-a.tim").password_hash, PASSWORD)
    done = here.post("/akun/kata-sandi", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 303
    assert done.headers["Location"] == "/akun"
    assert "1 sesi lain telah dikeluarkan" in here.get("/akun").text
    assert elsewhere.get("/akun").status_code == 302
    user = _user(session_factory, "dinas-a.tim")
    assert verify_password(user.password_hash, NEW_PASSWORD)
    changed = _audited(session_factory, "password.changed")
    assert [e.after["other_sessions_ended"] for e in changed] == [1]
    assert changed[0].actor_user_id == user.id
    assert [e.actor_user_id for e in _audited(session_factory, "password.change_failed")] == [
        user.id]


def test_wrong_current_passwords_are_throttled(app: Flask, world: World,
                                               session_factory) -> None:
    headers = _bearer(session_factory, "dinas-b.staf1")
    client = app.test_client()
    for _ in range(5):
        wrong = client.post(f"{API}/me/password", headers=headers, json={
            "current_password": "bukan-kata-sandinya", "new_password": NEW_PASSWORD})
        assert wrong.status_code == 422
        assert wrong.get_json()["error"]["fields"] == {"current_password": [WRONG_CURRENT]}
    limited = client.post(f"{API}/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["message"] == TOO_MANY_ATTEMPTS
    assert verify_password(_user(session_factory, "dinas-b.staf1").password_hash, PASSWORD)


def test_the_api_changes_the_password_with_the_policy(app: Flask, world: World,
                                                      session_factory) -> None:
    headers = _bearer(session_factory, "kota.inspektur")
    client = app.test_client()
    weak = client.post(f"{API}/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": "indonesia12345"})
    assert weak.status_code == 422
    assert weak.get_json()["error"]["fields"] == {"new_password": [TOO_COMMON]}
    unknown = client.post(f"{API}/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "user_id": "x"})
    assert unknown.status_code == 422
    missing = client.post(f"{API}/me/password", headers=headers, json={})
    assert missing.status_code == 422
    assert set(missing.get_json()["error"]["fields"]) == {"current_password", "new_password"}
    done = client.post(f"{API}/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert done.status_code == 200
    assert done.get_json() == {"other_sessions_ended": 0}
    assert verify_password(_user(session_factory, "kota.inspektur").password_hash, NEW_PASSWORD)


# -- sessions -------------------------------------------------------------------------------------

def test_the_sessions_page_lists_them_and_ends_one_or_all_others(
        app: Flask, world: World, session_factory) -> None:
    here = _browser(app, "dinas-a.kepala", FIREFOX)
    phone = _browser(app, "dinas-a.kepala", ANDROID_CHROME)
    laptop = _browser(app, "dinas-a.kepala", FIREFOX)
    stranger = log_in(app, "dinas-b.kepala")
    page = here.get("/akun/sesi")
    assert page.status_code == 200
    assert page.text.count('id="sesi-') == 3
    assert "Chrome di Android" in page.text
    assert "Firefox di Windows" in page.text
    assert "sesi ini" in page.text
    assert "127.0.0.1" in page.text
    with session_factory() as session:
        phone_id = session.scalars(select(LoginSession.id).where(
            LoginSession.token_hash == hashlib.sha256(
                phone.get_cookie(SESSION_COOKIE).value.encode()).hexdigest())).one()
        stranger_id = session.scalars(select(LoginSession.id).join(
            User, User.id == LoginSession.user_id).where(
                User.username == "dinas-b.kepala")).one()
    token = csrf_of(page.text)
    # another user's session: not found, and it lives on
    foreign = here.post(f"/akun/sesi/{stranger_id}/akhiri", data={"csrf_token": token})
    assert foreign.status_code == 303
    assert "Sesi tidak ditemukan" in here.get("/akun/sesi").text
    assert stranger.get("/akun").status_code == 200
    ended = here.post(f"/akun/sesi/{phone_id}/akhiri", data={"csrf_token": token})
    assert ended.status_code == 303
    assert phone.get("/akun").status_code == 302
    assert laptop.get("/akun").status_code == 200
    others = here.post("/akun/sesi/akhiri-lainnya", data={"csrf_token": token})
    assert others.status_code == 303
    assert "1 sesi lain telah dikeluarkan" in here.get("/akun/sesi").text
    assert laptop.get("/akun").status_code == 302
    assert here.get("/akun").status_code == 200
    assert stranger.get("/akun").status_code == 200
    user_id = _user(session_factory, "dinas-a.kepala").id
    actions = _actions(session_factory, user_id)
    assert actions.count("session.revoked") == 1
    assert actions.count("session.revoked_others") == 1


def test_the_sessions_api(app: Flask, world: World, session_factory) -> None:
    browser = _browser(app, "dinas-b.tim", FIREFOX)
    other = log_in(app, "dinas-b.tim")
    listed = browser.get(f"{API}/me/sessions")
    assert listed.status_code == 200
    sessions = listed.get_json()["sessions"]
    assert len(sessions) == 2
    mine = next(s for s in sessions if s["current"])
    assert mine["browser"] == "Firefox di Windows"
    assert set(mine) == {"id", "created_at", "last_seen_at", "expires_at", "ip_address",
                         "browser", "current"}
    theirs = next(s for s in sessions if not s["current"])
    csrf = {CSRF_HEADER: csrf_of(browser.get("/akun").text)}
    assert browser.delete(f"{API}/me/sessions/{theirs['id']}").status_code == 400  # no CSRF
    assert browser.delete(f"{API}/me/sessions/{theirs['id']}", headers=csrf).status_code == 204
    assert other.get("/akun").status_code == 302
    again = browser.delete(f"{API}/me/sessions/{theirs['id']}", headers=csrf)
    assert again.status_code == 404
    assert again.get_json()["error"]["message"] == "Sesi tidak ditemukan atau sudah berakhir."
    # with a personal token, "the others" are all of the portal's sessions
    headers = _bearer(session_factory, "dinas-b.tim")
    ended = app.test_client().post(f"{API}/me/sessions/revoke-others", headers=headers)
    assert ended.status_code == 200
    assert ended.get_json() == {"ended": 1}
    assert browser.get("/akun").status_code == 302
    foreign = app.test_client().delete(f"{API}/me/sessions/{mine['id']}",
                                       headers=_bearer(session_factory, "dinas-a.tim"))
    assert foreign.status_code == 404


# -- personal API tokens --------------------------------------------------------------------------

def test_a_token_made_in_the_portal_is_shown_once_stored_hashed_and_revocable(
        app: Flask, world: World, session_factory) -> None:
    client = log_in(app, "dinas-a.kasubbag")
    token = _csrf(client, "/akun/token")
    made = client.post("/akun/token", data={"name": "Laporan otomatis",
                                            "expires_in_days": "30", "csrf_token": token})
    assert made.status_code == 200
    found = TOKEN_RE.search(made.text)
    assert found
    plaintext = found.group(1)
    assert made.headers["Cache-Control"] == "no-store"
    listing = client.get("/akun/token")
    assert "Laporan otomatis" in listing.text
    assert plaintext not in listing.text
    assert plaintext[:16] in listing.text  # its prefix tells it apart
    with session_factory() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == "Laporan otomatis")).one()
        assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert row.expires_at is not None
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["api_token.created", "api_token.revoked"]))).all()
        assert all(plaintext not in str(e.after) for e in entries)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert api.get(f"{API}/me", headers=bearer).status_code == 200
    revoked = client.post(f"/akun/token/{row.id}/cabut", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert api.get(f"{API}/me", headers=bearer).status_code == 401
    assert "Belum ada token." in client.get("/akun/token").text
    assert [e.action for e in _audited(session_factory, "api_token.created")] == [
        "api_token.created"]
    assert [e.before["name"] for e in _audited(session_factory, "api_token.revoked")] == [
        "Laporan otomatis"]


def test_the_token_form_refuses_bad_input(app: Flask, world: World) -> None:
    client = log_in(app, "dinas-a.staf2")
    token = _csrf(client, "/akun/token")
    nameless = client.post("/akun/token", data={"name": "  ", "expires_in_days": "30",
                                                "csrf_token": token})
    assert nameless.status_code == 422
    assert "Nama token 1 sampai 128 karakter." in nameless.text
    odd = client.post("/akun/token", data={"name": "x", "expires_in_days": "dua",
                                           "csrf_token": token})
    assert odd.status_code == 422
    assert TOKEN_RE.search(odd.text) is None


def test_the_tokens_api(app: Flask, world: World, session_factory) -> None:
    headers = _bearer(session_factory, "dinas-b.kepala")
    client = app.test_client()
    made = client.post(f"{API}/me/tokens", headers=headers,
                       json={"name": "Dasbor", "expires_in_days": 90})
    assert made.status_code == 201
    body = made.get_json()
    assert body["token"].startswith("sakip_pat_")
    assert body["name"] == "Dasbor"
    assert body["expires_at"] is not None
    assert body["expired"] is False
    forever = client.post(f"{API}/me/tokens", headers=headers, json={"name": "Skrip"})
    assert forever.get_json()["expires_at"] is None
    listed = client.get(f"{API}/me/tokens", headers=headers).get_json()["tokens"]
    assert [t["name"] for t in listed][:2] == ["Skrip", "Dasbor"]
    assert all("token" not in t for t in listed)
    bad = client.post(f"{API}/me/tokens", headers=headers,
                      json={"name": "", "expires_in_days": 0})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"name", "expires_in_days"}
    new = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(f"{API}/me", headers=new).status_code == 200
    # another user cannot revoke it (404), its owner can, once
    stranger = _bearer(session_factory, "dinas-a.kepala")
    assert client.delete(f"{API}/me/tokens/{body['id']}", headers=stranger).status_code == 404
    assert client.delete(f"{API}/me/tokens/{body['id']}", headers=headers).status_code == 204
    assert client.delete(f"{API}/me/tokens/{body['id']}", headers=headers).status_code == 404
    assert client.get(f"{API}/me", headers=new).status_code == 401


def test_live_tokens_are_capped(app: Flask, world: World, session_factory) -> None:
    headers = _bearer(session_factory, "kota.admin")  # the first live token
    client = app.test_client()
    for n in range(MAX_LIVE_TOKENS - 1):
        assert client.post(f"{API}/me/tokens", headers=headers,
                           json={"name": f"t{n}"}).status_code == 201
    over = client.post(f"{API}/me/tokens", headers=headers, json={"name": "satu lagi"})
    assert over.status_code == 409


def test_the_openapi_document_describes_the_self_service(app: Flask) -> None:
    spec = app.test_client().get(f"{API}/openapi.json").get_json()
    for path, methods in {"/api/v1/me/password": {"post"}, "/api/v1/me/sessions": {"get"},
                          "/api/v1/me/sessions/{session_id}": {"delete"},
                          "/api/v1/me/sessions/revoke-others": {"post"},
                          "/api/v1/me/tokens": {"get", "post"},
                          "/api/v1/me/tokens/{token_id}": {"delete"}}.items():
        assert methods <= set(spec["paths"][path]), path


def test_browser_labels() -> None:
    assert browser_label(FIREFOX) == "Firefox di Windows"
    assert browser_label(ANDROID_CHROME) == "Chrome di Android"
    edge = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
    assert browser_label(edge) == "Edge di Windows"
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
    assert browser_label(iphone) == "Safari di iOS"
    assert browser_label("curl/8.5.0") == "curl"
    assert browser_label(None) == "Peramban tidak dikenal"
