"""The tenant administration API (/api/v1/admin/tenants/<tenant_id>/...) over HTTP against the
real PostgreSQL and Redis: every action, and every refusal generated from the URL map (another
dinas's administrator and the city: 404; bidang_staff, tim_evaluasi and an undelegated
kasubbag_program: 403, with nothing changed), duplicates answering 422 with the field, a
deactivated user's session and token refused at once, a Plt Kepala Dinas acting as kepala_dinas
(in the intake and in the workflow service) inside the range and not outside it, and the
portal's pages (credentials shown once, forms with CSRF, 403 for those who may not)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.audit import AuditEntry
from shared.db import transaction
from shared.identity.account_links import redeem_link
from shared.identity.loading import local_day, principal_for
from shared.identity.models import ActingAssignment, Bidang, User
from shared.identity.principal import Principal
from tests.integration.test_api import Api
from tests.integration.test_portal import csrf_of, log_in, messages
from tests.workflow_client import workflow_api
from tests.world import COLLECTING_AT, World

API = "/api/v1"
ADMIN = "/api/v1/admin/tenants"
NIP_1 = "198001012005011001"
STRONG = "Matahari-terbit-di-Bukit-7"
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class AdminApi(Api):
    """The intake test client, calling the administration API of one dinas."""

    def call(self, method: str, path: str, *, as_: str | None, **kwargs):
        return self.client.open(path, method=method, headers=self.headers(as_), **kwargs)

    def of(self, tenant_id: uuid.UUID, rest: str = "") -> str:
        return f"{ADMIN}/{tenant_id}{rest}"


@pytest.fixture
def api(app, session_factory, world) -> AdminApi:
    return AdminApi(app.test_client(), session_factory)


def error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


def audit_count(session_factory, tenant_id: uuid.UUID) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.tenant_id == tenant_id)) or 0


def principal_of(session_factory, username: str) -> Principal:
    with session_factory() as session:
        return principal_for(session.scalars(select(User).where(User.username == username))
                             .one())


def new_user_body(world: World, **overrides) -> dict:
    body = {"username": "dinas-a.baru", "full_name": "Siti Rahmawati", "nip": NIP_1,
            "email": "siti@dinas-a.example.go.id", "role": "bidang_staff",
            "bidang_id": str(world.a.bidang[0])}
    body.update(overrides)
    return body


def delegate(api: AdminApi, world: World, delegated: bool) -> None:
    response = api.call("PUT", api.of(world.a.tenant_id, "/delegation"), as_="dinas-a.kepala",
                        json={"delegated": delegated})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["admin_delegated"] is delegated


# -- each action ----------------------------------------------------------------------------------

def test_bidang_over_the_api(api, world, session_factory):
    tid, kepala = world.a.tenant_id, "dinas-a.kepala"
    created = api.call("POST", api.of(tid, "/bidang"), as_=kepala, json={"name": "Bidang Umum"})
    assert created.status_code == 201, created.get_json()
    bidang = created.get_json()
    assert bidang["name"] == "Bidang Umum"
    assert bidang["closed_at"] is None
    duplicate = api.call("POST", api.of(tid, "/bidang"), as_=kepala, json={"name": "bidang umum"})
    assert duplicate.status_code == 422
    assert "sudah ada" in error(duplicate)["fields"]["name"][0]
    renamed = api.call("PATCH", api.of(tid, f"/bidang/{bidang['id']}"), as_=kepala,
                       json={"name": "Bidang Sekretariat"})
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Bidang Sekretariat"
    closed = api.call("POST", api.of(tid, f"/bidang/{bidang['id']}/close"), as_=kepala)
    assert closed.status_code == 200
    assert closed.get_json()["closed_at"].endswith("+00:00")
    again = api.call("POST", api.of(tid, f"/bidang/{bidang['id']}/close"), as_=kepala)
    assert again.status_code == 409
    assert "sudah ditutup" in error(again)["message"]
    reopened = api.call("POST", api.of(tid, f"/bidang/{bidang['id']}/reopen"), as_=kepala)
    assert reopened.status_code == 200
    assert reopened.get_json()["closed_at"] is None
    listed = api.call("GET", api.of(tid, "/bidang"), as_=kepala).get_json()["bidang"]
    assert [(b["name"], b["staff"]) for b in listed] == [
        ("Bidang 1", 1), ("Bidang 2", 1), ("Bidang Sekretariat", 0)]
    assert api.call("POST", api.of(tid, "/bidang"), as_=kepala,
                    json={"name": "x", "warna": "biru"}).status_code == 422
    assert api.call("POST", api.of(tid, "/bidang"), as_=kepala, data="name=x").status_code == 415


def test_a_new_user_gets_a_link_shown_once(api, world, session_factory, settings):
    tid = world.a.tenant_id
    response = api.call("POST", api.of(tid, "/users"), as_="dinas-a.kepala",
                        json=new_user_body(world))
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.get_json()
    credential = answer["credential"]
    assert credential["kind"] == "link"
    assert credential["url"] == f"{settings.portal_url.rstrip('/')}/aktivasi/" \
                                f"{credential['secret']}"
    user = answer["user"]
    assert (user["username"], user["role"], user["role_label"], user["bidang_name"]) == (
        "dinas-a.baru", "bidang_staff", "Staf Bidang", "Bidang 1")
    listed = api.call("GET", api.of(tid, "/users"), as_="dinas-a.kepala")
    assert credential["secret"] not in listed.get_data(as_text=True)
    assert "dinas-a.baru" in [u["username"] for u in listed.get_json()["users"]]
    one = api.call("GET", api.of(tid, f"/users/{user['id']}"), as_="dinas-a.kepala")
    assert one.status_code == 200
    assert credential["secret"] not in one.get_data(as_text=True)
    with transaction(session_factory) as session:  # the link works (the app acts at COLLECTING_AT)
        redeem_link(session, token=credential["secret"], new_password=STRONG,
                    at=COLLECTING_AT + timedelta(hours=1))


def test_a_new_user_may_get_a_temporary_password(api, world):
    response = api.call("POST", api.of(world.a.tenant_id, "/users"), as_="dinas-a.kepala",
                        json=new_user_body(world, role="tim_evaluasi", bidang_id=None, nip=None,
                                           credential="temporary"))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["credential"]["kind"] == "temporary"
    assert answer["credential"]["url"] is None
    assert answer["user"]["must_change_password"] is True


def test_duplicate_username_or_nip_answer_422_with_the_field(api, world):
    tid = world.a.tenant_id
    assert api.call("POST", api.of(tid, "/users"), as_="dinas-a.kepala",
                    json=new_user_body(world)).status_code == 201
    for body, field in ((new_user_body(world, nip=None), "username"),
                        (new_user_body(world, username="dinas-a.lain"), "nip"),
                        (new_user_body(world, username="dinas-a.staf1", nip=None), "username"),
                        (new_user_body(world, username="x.y", nip=None, role="inspektur"),
                         "role"),
                        (new_user_body(world, username="x.y", nip=None, bidang_id="bukan"),
                         "bidang_id")):
        response = api.call("POST", api.of(tid, "/users"), as_="dinas-a.kepala", json=body)
        assert response.status_code == 422, (field, response.get_json())
        assert list(error(response)["fields"]) == [field]
    # a NIP held in another dinas is a duplicate too
    response = api.call("POST", api.of(world.b.tenant_id, "/users"), as_="dinas-b.kepala",
                        json=new_user_body(world, username="dinas-b.baru", bidang_id=None,
                                           role="tim_evaluasi"))
    assert response.status_code == 422
    assert "nip" in error(response)["fields"]
    patched = api.call("PATCH", api.of(tid, f"/users/{world.a.users['dinas-a.staf2']}"),
                       as_="dinas-a.kepala", json={"nip": NIP_1})
    assert patched.status_code == 422
    assert "nip" in error(patched)["fields"]


def test_update_role_bidang_and_contact(api, world, session_factory):
    tid = world.a.tenant_id
    staf = world.a.users["dinas-a.staf1"]
    moved = api.call("PATCH", api.of(tid, f"/users/{staf}"), as_="dinas-a.kepala",
                     json={"bidang_id": str(world.a.bidang[1]), "email": None,
                           "full_name": "Staf Pindahan"})
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["bidang_name"], moved.get_json()["email"],
            moved.get_json()["full_name"]) == ("Bidang 2", None, "Staf Pindahan")
    promoted = api.call("PATCH", api.of(tid, f"/users/{staf}"), as_="dinas-a.kepala",
                        json={"role": "kasubbag_program", "bidang_id": None})
    assert promoted.get_json()["role"] == "kasubbag_program"
    assert promoted.get_json()["bidang_id"] is None
    needs_bidang = api.call("PATCH", api.of(tid, f"/users/{staf}"), as_="dinas-a.kepala",
                            json={"role": "bidang_staff"})
    assert needs_bidang.status_code == 422
    assert error(needs_bidang)["fields"] == {
        "bidang_id": ["Staf Bidang harus terikat pada satu Bidang."]}
    with session_factory() as session:
        rows = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "user.updated", AuditEntry.target_id == str(staf))
            .order_by(AuditEntry.id)).all()
    assert [r.after for r in rows] == [
        {"username": "dinas-a.staf1", "full_name": "Staf Pindahan", "email": None,
         "bidang_id": str(world.a.bidang[1])},
        {"username": "dinas-a.staf1", "role": "kasubbag_program", "bidang_id": None}]
    assert rows[0].before["email"] == "dinas-a.staf1@dinas-a.example.go.id"


def test_the_last_kepala_dinas_cannot_be_deactivated_or_demoted(api, world):
    tid, head = world.a.tenant_id, world.a.users["dinas-a.kepala"]
    demoted = api.call("PATCH", api.of(tid, f"/users/{head}"), as_="dinas-a.kepala",
                       json={"role": "tim_evaluasi"})
    assert demoted.status_code == 409
    assert "satu-satunya Kepala Dinas yang aktif" in error(demoted)["message"]
    itself = api.call("POST", api.of(tid, f"/users/{head}/deactivate"), as_="dinas-a.kepala")
    assert itself.status_code == 409


def test_a_deactivated_users_session_and_token_are_refused_at_once(app, api, world):
    tid, staf = world.a.tenant_id, world.a.users["dinas-a.staf1"]
    browser = log_in(app, "dinas-a.staf1")
    assert browser.get(f"{API}/me").status_code == 200
    assert api.call("GET", f"{API}/me", as_="dinas-a.staf1").status_code == 200
    response = api.call("POST", api.of(tid, f"/users/{staf}/deactivate"), as_="dinas-a.kepala",
                        json={"reason": "Pensiun"})
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    assert browser.get(f"{API}/me").status_code == 401
    assert api.call("GET", f"{API}/me", as_="dinas-a.staf1").status_code == 401
    again = api.call("POST", api.of(tid, f"/users/{staf}/deactivate"), as_="dinas-a.kepala")
    assert again.status_code == 409
    back = api.call("POST", api.of(tid, f"/users/{staf}/reactivate"), as_="dinas-a.kepala")
    assert back.status_code == 200
    assert back.get_json()["active"] is True
    assert api.call("GET", f"{API}/me", as_="dinas-a.staf1").status_code == 401  # revoked
    assert browser.get(f"{API}/me").status_code == 401  # the session ended for good


def test_reset_password_over_the_api(api, world):
    path = api.of(world.a.tenant_id, f"/users/{world.a.users['dinas-a.staf2']}/reset-password")
    link = api.call("POST", path, as_="dinas-a.kepala", json={"method": "link"})
    assert link.status_code == 200
    assert "/aktivasi/" in link.get_json()["url"]
    temporary = api.call("POST", path, as_="dinas-a.kepala", json={"method": "temporary"})
    assert temporary.status_code == 200
    assert temporary.get_json()["url"] is None
    assert api.call("POST", path, as_="dinas-a.kepala",
                    json={"method": "pos"}).status_code == 422


def test_delegation_lets_the_kasubbag_administer(api, world):
    tid = world.a.tenant_id
    refused = api.call("GET", api.of(tid, "/users"), as_="dinas-a.kasubbag")
    assert refused.status_code == 403
    assert "Kasubbag Program bila diberi delegasi" in error(refused)["message"]
    delegate(api, world, True)
    assert api.call("GET", api.of(tid, "/users"), as_="dinas-a.kasubbag").status_code == 200
    created = api.call("POST", api.of(tid, "/users"), as_="dinas-a.kasubbag",
                       json=new_user_body(world))
    assert created.status_code == 201
    head = api.call("POST", api.of(tid, "/users"), as_="dinas-a.kasubbag",
                    json=new_user_body(world, username="dinas-a.k2", nip=None,
                                       role="kepala_dinas", bidang_id=None))
    assert head.status_code == 403
    assert "Hanya Kepala Dinas" in error(head)["message"]
    own = api.call("PUT", api.of(tid, "/delegation"), as_="dinas-a.kasubbag",
                   json={"delegated": False})
    assert own.status_code == 403
    assert api.call("GET", api.of(tid, "/delegation"),
                    as_="dinas-a.kasubbag").get_json()["admin_delegated"] is True
    delegate(api, world, False)
    assert api.call("GET", api.of(tid, "/users"), as_="dinas-a.kasubbag").status_code == 403


# -- acting officials -----------------------------------------------------------------------------

def test_a_plt_kepala_dinas_acts_as_kepala_dinas_inside_the_range_only(api, world, settings,
                                                                        session_factory):
    tid, today = world.a.tenant_id, local_day()
    tim = world.a.users["dinas-a.tim"]
    calendar = f"/api/v1/tenants/{tid}/calendar"
    hours = {"time_zone": "Asia/Jakarta", "office_hours": {"0": ["08:00", "15:00"]}}
    later = api.call("POST", api.of(tid, "/acting"), as_="dinas-a.kepala", json={
        "user_id": str(tim), "role": "kepala_dinas", "kind": "plt",
        "starts_on": (today + timedelta(days=2)).isoformat(),
        "ends_on": (today + timedelta(days=9)).isoformat(), "reason": "SK Wali Kota 1/2026"})
    assert later.status_code == 201, later.get_json()
    # not yet: the range starts the day after tomorrow
    assert api.call("GET", api.of(tid, "/users"), as_="dinas-a.tim").status_code == 403
    with workflow_api(settings) as wf:
        assert wf.put(calendar, principal_of(session_factory, "dinas-a.tim"),
                      json=hours).status_code == 403
    overlapping = api.call("POST", api.of(tid, "/acting"), as_="dinas-a.kepala", json={
        "user_id": str(tim), "role": "kepala_dinas", "kind": "plh",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=3)).isoformat(),
        "reason": "Dinas luar"})
    assert overlapping.status_code == 409
    now = api.call("POST", api.of(tid, "/acting"), as_="dinas-a.kepala", json={
        "user_id": str(tim), "role": "kepala_dinas", "kind": "plh",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=1)).isoformat(),
        "reason": "Kepala Dinas dinas luar"})
    assert now.status_code == 201, now.get_json()
    assert now.get_json()["role_label"] == "Kepala Dinas"
    assert now.get_json()["kind"] == "plh"
    # inside the range: the intake's administration and the workflow's calendar both accept
    assert api.call("GET", api.of(tid, "/users"), as_="dinas-a.tim").status_code == 200
    with workflow_api(settings) as wf:
        answer = wf.put(calendar, principal_of(session_factory, "dinas-a.tim"), json=hours)
        assert answer.status_code == 200, answer.get_json()
    listed = api.call("GET", api.of(tid, "/acting"), as_="dinas-a.kepala").get_json()["acting"]
    assert [a["kind"] for a in listed] == ["plt", "plh"]  # latest start first
    revoked = api.call("POST", api.of(tid, f"/acting/{now.get_json()['id']}/revoke"),
                       as_="dinas-a.kepala", json={"reason": "Kepala Dinas kembali"})
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"]
    assert api.call("GET", api.of(tid, "/users"), as_="dinas-a.tim").status_code == 403
    bad = api.call("POST", api.of(tid, "/acting"), as_="dinas-a.kepala", json={
        "user_id": str(tim), "role": "kepala_dinas", "kind": "plt", "starts_on": "13-04-2026",
        "ends_on": today.isoformat(), "reason": "x"})
    assert bad.status_code == 422
    assert "starts_on" in error(bad)["fields"]


# -- every refusal, from the URL map --------------------------------------------------------------

BODIES = {
    "tenant_admin.create_bidang": {"name": "Bidang Baru"},
    "tenant_admin.rename_bidang": {"name": "Bidang Baru"},
    "tenant_admin.update_user": {"full_name": "Nama Baru"},
    "tenant_admin.reset_password": {"method": "link"},
    "tenant_admin.set_delegation": {"delegated": True},
}


def ids_of(session_factory, world: World) -> dict[str, str]:
    """Real ids of dinas A for every parameter of the administration routes."""
    kepala = principal_of(session_factory, "dinas-a.kepala")
    with transaction(session_factory) as session:
        assignment = ActingAssignment(
            user_id=world.a.users["dinas-a.tim"], role="kasubbag_program",
            tenant_id=world.a.tenant_id, kind="plh", starts_on=local_day() + timedelta(days=30),
            ends_on=local_day() + timedelta(days=31), reason="x", assigned_by=kepala.user_id)
        session.add(assignment)
        session.flush()
        return {"tenant_id": str(world.a.tenant_id), "bidang_id": str(world.a.bidang[0]),
                "user_id": str(world.a.users["dinas-a.staf1"]),
                "assignment_id": str(assignment.id)}


def admin_routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("tenant_admin.")]


def fill(rule, ids: dict[str, str]) -> str:
    names = PARAMETER.findall(rule.rule)
    unfilled = [n for n in names if n not in ids]
    assert not unfilled, f"{rule.rule}: teach this test an id for {unfilled}"
    return PARAMETER.sub(lambda m: ids[m.group(1)], rule.rule)


@pytest.mark.evidence(
    "isolation",
    "Called every tenant administration route of dinas A as B's administrators, the city, A's"
    " non-administrators and anonymously; and A's ids through B's address.",
    "Outsiders got 404, members without the right 403 (401 anonymous); no audit entry "
    "appeared.")
def test_every_route_refuses_outsiders_404_and_members_without_the_right_403(
        app, api, world, session_factory):
    ids = ids_of(session_factory, world)
    rules = admin_routes(app)
    assert len(rules) >= 17
    before = (audit_count(session_factory, world.a.tenant_id),
              audit_count(session_factory, world.b.tenant_id))
    expected = {"dinas-b.kepala": 404, "dinas-b.kasubbag": 404, "kota.admin": 404,
                "kota.inspektur": 404, "dinas-a.staf1": 403, "dinas-a.tim": 403,
                "dinas-a.kasubbag": 403, None: 401}
    for rule in rules:
        path = fill(rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for caller, status in expected.items():
                response = api.call(method, path, as_=caller, json=BODIES.get(rule.endpoint))
                where = f"{method} {rule.rule} as {caller}"
                assert response.status_code == status, (where, response.get_json())
                assert error(response)["code"] == status, where
                if status == 403:
                    assert error(response)["message"].startswith("Hanya Kepala Dinas"), where
    # ids of dinas A through dinas B's address: not found for dinas B's own kepala_dinas
    through_b = dict(ids, tenant_id=str(world.b.tenant_id))
    for rule in rules:
        if rule.rule.count("<") < 2:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = api.call(method, fill(rule, through_b), as_="dinas-b.kepala",
                                json=BODIES.get(rule.endpoint))
            assert response.status_code == 404, (method, rule.rule, response.get_json())
    assert (audit_count(session_factory, world.a.tenant_id),
            audit_count(session_factory, world.b.tenant_id)) == before
    # an unknown dinas, and one that is not a UUID
    assert api.call("GET", f"{ADMIN}/{uuid.uuid4()}/users",
                    as_="dinas-a.kepala").status_code == 404
    assert api.call("GET", f"{ADMIN}/bukan-uuid/users", as_="dinas-a.kepala").status_code == 404


def test_every_route_answers_a_delegated_kasubbag(app, api, world, session_factory):
    ids = ids_of(session_factory, world)
    delegate(api, world, True)
    reads = [r for r in admin_routes(app) if r.methods & {"GET"}]
    for rule in reads:
        response = api.call("GET", fill(rule, ids), as_="dinas-a.kasubbag")
        assert response.status_code == 200, (rule.rule, response.get_json())


def test_cookie_writes_need_the_csrf_header(app, world, session_factory):
    browser = log_in(app, "dinas-a.kepala")
    path = f"{ADMIN}/{world.a.tenant_id}/bidang"
    assert browser.post(path, json={"name": "Bidang X"}).status_code == 400
    token = csrf_of(browser.get("/", follow_redirects=True).text)
    response = browser.post(path, json={"name": "Bidang X"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 201
    with session_factory() as session:
        assert session.scalar(select(Bidang.name).where(Bidang.name == "Bidang X"))


def test_openapi_documents_the_administration_routes(app):
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    for rule in admin_routes(app):
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"], (rule.rule, method)
            assert operation["responses"], (rule.rule, method)
    created = document["paths"][f"{ADMIN}/{{tenant_id}}/users"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(created["responses"])
    assert "TenantUserCreated" in str(created["responses"]["201"])


# -- the portal's pages ---------------------------------------------------------------------------

def page(tenant_id: uuid.UUID, rest: str) -> str:
    return f"/admin/dinas/{tenant_id}/{rest}"


def test_only_administrators_see_the_menu_link_and_the_pages(app, world, api):
    tid = world.a.tenant_id
    kepala = log_in(app, "dinas-a.kepala")
    home = kepala.get("/", follow_redirects=True).text
    assert "Administrasi dinas" in home
    assert page(tid, "pengguna") in home
    for path in ("pengguna", "bidang", "plt", f"pengguna/{world.a.users['dinas-a.staf1']}"):
        assert kepala.get(page(tid, path)).status_code == 200, path
    for username in ("dinas-a.staf1", "dinas-a.tim", "dinas-a.kasubbag"):
        browser = log_in(app, username)
        assert "Administrasi dinas" not in browser.get("/", follow_redirects=True).text
        token = csrf_of(browser.get("/", follow_redirects=True).text)
        for path in ("pengguna", "bidang", "plt"):
            refused = browser.get(page(tid, path))
            assert refused.status_code == 403, (username, path)
            assert "Hanya Kepala Dinas" in refused.text
        posted = browser.post(page(tid, "bidang"), data={"name": "X", "csrf_token": token})
        assert posted.status_code == 403
    outsider = log_in(app, "dinas-b.kepala")
    for path in ("pengguna", "bidang", "plt", f"pengguna/{world.a.users['dinas-a.staf1']}"):
        assert outsider.get(page(tid, path)).status_code == 404, path
    # with the delegation, the kasubbag gets the link and the pages
    delegate(api, world, True)
    kasubbag = log_in(app, "dinas-a.kasubbag")
    assert "Administrasi dinas" in kasubbag.get("/", follow_redirects=True).text
    assert kasubbag.get(page(tid, "pengguna")).status_code == 200
    assert "Delegasi administrasi" not in kasubbag.get(page(tid, "pengguna")).text


def test_creating_a_user_in_the_portal_shows_the_link_once(app, world, session_factory):
    tid = world.a.tenant_id
    kepala = log_in(app, "dinas-a.kepala")
    token = csrf_of(kepala.get(page(tid, "pengguna")).text)
    form = {"full_name": "Siti Rahmawati", "username": "dinas-a.siti", "nip": NIP_1,
            "email": "", "role": "bidang_staff", "bidang_id": str(world.a.bidang[1]),
            "credential": "link"}
    assert kepala.post(page(tid, "pengguna"), data=form).status_code == 400  # no CSRF token
    created = kepala.post(page(tid, "pengguna"), data=form | {"csrf_token": token})
    assert created.status_code == 201, messages(created.text)
    assert created.headers["Cache-Control"] == "no-store"
    found = re.search(r'<code id="credential-secret">([^<]+)</code>', created.text)
    assert found
    assert "/aktivasi/" in found.group(1)
    assert "hanya ditampilkan sekali" in created.text
    again = kepala.get(page(tid, "pengguna")).text
    assert found.group(1) not in again
    assert "dinas-a.siti" in again
    # the same NIP again: refused with the form kept
    refused = kepala.post(page(tid, "pengguna"), data=form | {
        "username": "dinas-a.lain", "full_name": "Nama Dipertahankan", "csrf_token": token})
    assert refused.status_code == 422
    assert "NIP: NIP 198001012005011001 sudah dipakai oleh pengguna lain." in messages(
        refused.text)
    assert 'value="Nama Dipertahankan"' in refused.text
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(User).where(
            User.tenant_id == tid)) == 6


def test_a_user_is_changed_reset_and_deactivated_in_the_portal(app, world, session_factory):
    tid, staf = world.a.tenant_id, world.a.users["dinas-a.staf1"]
    victim = log_in(app, "dinas-a.staf1")
    kepala = log_in(app, "dinas-a.kepala")
    person = page(tid, f"pengguna/{staf}")
    token = csrf_of(kepala.get(person).text)
    changed = kepala.post(f"{person}/ubah", data={
        "csrf_token": token, "full_name": "Staf Satu Baru", "nip": "", "email": "",
        "role": "bidang_staff", "bidang_id": str(world.a.bidang[1])})
    assert changed.status_code == 303
    shown = kepala.get(person).text
    assert "Data pengguna disimpan." in messages(shown)
    assert "Staf Satu Baru" in shown
    reset = kepala.post(f"{person}/atur-ulang", data={"csrf_token": token, "method": "temporary"})
    assert reset.status_code == 200
    secret = re.search(r'<code id="credential-secret">([^<]+)</code>', reset.text)
    assert secret
    assert "Kata sandi sementara" in reset.text
    assert secret.group(1) not in kepala.get(person).text
    # the temporary password ended the user's sessions; sign in again, then deactivate
    assert victim.get(f"{API}/me").status_code == 401
    victim = log_in(app, "dinas-a.staf1", secret.group(1))
    deactivated = kepala.post(f"{person}/nonaktifkan", data={"csrf_token": token,
                                                              "alasan": "Mutasi"})
    assert deactivated.status_code == 303
    assert "sesi dan token API-nya sudah berhenti" in messages(kepala.get(person).text)
    assert victim.get(f"{API}/me").status_code == 401
    assert "Nonaktif" in kepala.get(page(tid, "pengguna")).text
    # the last kepala_dinas cannot close their own account: no such form on their page
    own = kepala.get(page(tid, f"pengguna/{world.a.users['dinas-a.kepala']}")).text
    assert "form-deactivate" not in own
    head = kepala.post(page(tid, f"pengguna/{world.a.users['dinas-a.kepala']}/ubah"), data={
        "csrf_token": token, "full_name": "Kepala", "role": "tim_evaluasi"})
    assert head.status_code == 303
    assert "satu-satunya Kepala Dinas" in messages(kepala.get(person).text)


def test_bidang_and_acting_in_the_portal(app, world, session_factory):
    tid = world.a.tenant_id
    kepala = log_in(app, "dinas-a.kepala")
    token = csrf_of(kepala.get(page(tid, "bidang")).text)
    assert kepala.post(page(tid, "bidang"), data={"csrf_token": token,
                                                  "name": "Bidang Umum"}).status_code == 303
    listing = kepala.get(page(tid, "bidang")).text
    assert "Bidang Umum dibuat." in messages(listing)
    duplicate = kepala.post(page(tid, "bidang"), data={"csrf_token": token, "name": "bidang 1"})
    assert duplicate.status_code == 422
    assert "sudah ada" in messages(duplicate.text)
    closed = kepala.post(page(tid, f"bidang/{world.a.bidang[1]}/tutup"),
                         data={"csrf_token": token})
    assert closed.status_code == 303
    assert "Bidang 2 ditutup" in messages(kepala.get(page(tid, "bidang")).text)
    with session_factory() as session:
        assert session.get_one(Bidang, world.a.bidang[1]).closed_at is not None

    today = local_day()
    assigned = kepala.post(page(tid, "plt"), data={
        "csrf_token": token, "user_id": str(world.a.users["dinas-a.tim"]),
        "role": "kepala_dinas", "kind": "plt", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=5)).isoformat(), "reason": "SP Wali Kota 7/2026"})
    assert assigned.status_code == 303
    acting = kepala.get(page(tid, "plt")).text
    assert "Penunjukan Plt/Plh disimpan." in messages(acting)
    assert "Plt Kepala Dinas" in acting
    assert "Berlaku" in acting
    plt = log_in(app, "dinas-a.tim")
    assert plt.get(page(tid, "pengguna")).status_code == 200
    with session_factory() as session:
        assignment_id = session.scalar(select(ActingAssignment.id))
    revoked = kepala.post(page(tid, f"plt/{assignment_id}/cabut"), data={"csrf_token": token})
    assert revoked.status_code == 303
    assert plt.get(page(tid, "pengguna")).status_code == 403
    missing = kepala.post(page(tid, "plt"), data={
        "csrf_token": token, "user_id": "", "role": "kepala_dinas", "kind": "plh",
        "starts_on": today.isoformat(), "ends_on": today.isoformat(), "reason": "x"})
    assert missing.status_code == 422
    assert "Pengguna: Pilih pengguna yang ditunjuk." in messages(missing.text)
