"""The city administration API (/api/v1/admin/...) of the intake service over its test client,
against real PostgreSQL, Redis and S3: each endpoint's answer and refusals (401 without a token,
403 for every tenant role and the city's readers, 404, 409 for the last platform_admin and states
that do not allow the change, 422 naming the field), the one-time activation link in the answer,
a deactivated dinas's tokens refused, the portal session's CSRF header, and the OpenAPI document."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.intake.auth import SESSION_COOKIE, csrf_token
from shared.audit import AuditEntry
from shared.clock import now
from shared.db import transaction
from shared.identity.account_links import redeem_link
from shared.identity.api_tokens import create_api_token
from shared.identity.models import RoleGrant, Tenant, User
from shared.identity.sessions import start_session

ADMIN = "/api/v1/admin"
KOTA_ADMIN = "kota.admin"
NEW_TENANT = {"slug": "dinas-pendidikan", "name": "Dinas Pendidikan",
              "kepala": {"username": "kadis.pendidikan", "full_name": "Drs. Bambang Wijaya",
                         "email": "bambang@disdik.example.go.id", "nip": "197001011990031001"}}


class AdminApi:
    """The intake test client with one personal API token per user, made on first use."""

    def __init__(self, app, session_factory) -> None:
        self.client, self._factory, self._tokens = app.test_client(), session_factory, {}

    def headers(self, username: str | None) -> dict[str, str]:
        if username is None:
            return {}
        if username not in self._tokens:
            with transaction(self._factory) as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                _row, plaintext = create_api_token(session, user=user, name="tes")
            self._tokens[username] = plaintext
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def call(self, method: str, path: str, *, as_: str | None, **kwargs):
        return self.client.open(ADMIN + path, method=method, headers=self.headers(as_),
                                **kwargs)

    def get(self, path: str, *, as_: str | None, **kwargs):
        return self.call("GET", path, as_=as_, **kwargs)

    def post(self, path: str, *, as_: str | None, **kwargs):
        return self.call("POST", path, as_=as_, **kwargs)

    def patch(self, path: str, *, as_: str | None, **kwargs):
        return self.call("PATCH", path, as_=as_, **kwargs)

    def delete(self, path: str, *, as_: str | None, **kwargs):
        return self.call("DELETE", path, as_=as_, **kwargs)


@pytest.fixture
def api(app, session_factory, world):
    return AdminApi(app, session_factory)


def error_of(response) -> dict:
    return response.get_json()["error"]


def counts(session_factory) -> tuple[int, int, int, int]:
    """What a refused request must leave as it was."""
    with session_factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) or 0
                     for table in (Tenant, User, RoleGrant, AuditEntry))


# -- dinas ----------------------------------------------------------------------------------------

def test_a_dinas_is_created_listed_renamed_deactivated_and_reactivated(
        api, world, session_factory, settings):
    created = api.post("/tenants", as_=KOTA_ADMIN, json=NEW_TENANT)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    tenant, kepala, activation = body["tenant"], body["kepala"], body["activation"]
    assert (tenant["slug"], tenant["name"], tenant["active"]) == (
        "dinas-pendidikan", "Dinas Pendidikan", True)
    assert (tenant["users"], tenant["active_users"]) == (1, 1)
    assert [h["username"] for h in tenant["heads"]] == ["kadis.pendidikan"]
    assert (kepala["roles"], kepala["nip"]) == (["kepala_dinas"], "197001011990031001")
    assert activation["url"].startswith(settings.portal_url.rstrip("/") + "/aktivasi/")
    assert activation["expires_at"].endswith("+00:00")
    assert created.headers["Cache-Control"] == "no-store"
    with transaction(session_factory) as session:
        redeem_link(session, token=activation["url"].rsplit("/", 1)[-1],
                    new_password="Pendidikan-Untuk-Semua-2026", at=now())

    listed = api.get("/tenants", as_=KOTA_ADMIN).get_json()["tenants"]
    assert [t["slug"] for t in listed] == ["dinas-a", "dinas-b", "dinas-pendidikan"]
    tid = tenant["id"]
    assert api.get(f"/tenants/{tid}", as_=KOTA_ADMIN).get_json()["name"] == "Dinas Pendidikan"
    assert api.get(f"/tenants/{uuid.uuid4()}", as_=KOTA_ADMIN).status_code == 404

    renamed = api.patch(f"/tenants/{tid}", as_=KOTA_ADMIN,
                        json={"name": "Dinas Pendidikan dan Kebudayaan"})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["name"] == "Dinas Pendidikan dan Kebudayaan"

    api.headers("kadis.pendidikan")  # a token made while the dinas is open
    no_reason = api.post(f"/tenants/{tid}/deactivate", as_=KOTA_ADMIN, json={})
    assert no_reason.status_code == 422
    assert error_of(no_reason)["fields"] == {"reason": ["Alasan wajib diisi."]}
    closed = api.post(f"/tenants/{tid}/deactivate", as_=KOTA_ADMIN,
                      json={"reason": "Digabung."})
    assert closed.status_code == 200
    assert (closed.get_json()["active"], closed.get_json()["deactivated_at"] is not None) == (
        False, True)
    again = api.post(f"/tenants/{tid}/deactivate", as_=KOTA_ADMIN, json={"reason": "Lagi."})
    assert again.status_code == 409
    # its people's tokens stop working at once
    assert api.get("/tenants", as_="kadis.pendidikan").status_code == 401
    reopened = api.post(f"/tenants/{tid}/reactivate", as_=KOTA_ADMIN)
    assert reopened.status_code == 200
    assert reopened.get_json()["active"] is True
    assert api.get("/tenants", as_="kadis.pendidikan").status_code == 403  # back, not admin

    with session_factory() as session:
        actions = [a for a, in session.execute(
            select(AuditEntry.action).where(AuditEntry.target_id == tid)
            .order_by(AuditEntry.id))]
    assert actions == ["tenant.created", "tenant.renamed", "tenant.deactivated",
                       "tenant.reactivated"]


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW_TENANT, "slug": "dinas-a"}, "slug"),
    ({**NEW_TENANT, "slug": "-salah-"}, "slug"),
    ({**NEW_TENANT, "kepala": {**NEW_TENANT["kepala"], "username": "dinas-b.tim"}}, "username"),
    ({**NEW_TENANT, "kepala": {**NEW_TENANT["kepala"], "nip": "123"}}, "nip"),
    ({**NEW_TENANT, "kepala": {**NEW_TENANT["kepala"], "email": "x@"}}, "email"),
    ({**NEW_TENANT, "kepala": {**NEW_TENANT["kepala"], "nip": None,
                               "full_name": "x" * 300}}, "kepala"),
    ({**NEW_TENANT, "extra": 1}, "extra"),
    ({"slug": "dinas-x", "name": "Dinas X"}, "kepala"),
])
def test_a_bad_dinas_is_refused_naming_the_field(api, world, session_factory, body, field):
    before = counts(session_factory)
    refused = api.post("/tenants", as_=KOTA_ADMIN, json=body)
    assert refused.status_code == 422, refused.get_json()
    assert field in error_of(refused)["fields"], error_of(refused)
    assert counts(session_factory) == before


def test_a_kepala_dinas_is_appointed_and_a_link_reissued(api, world, session_factory):
    tid = world.b.tenant_id
    appointed = api.post(f"/tenants/{tid}/heads", as_=KOTA_ADMIN,
                         json={"username": "kadis.b2", "full_name": "Kadis B Dua"})
    assert appointed.status_code == 201, appointed.get_json()
    user_id = appointed.get_json()["user"]["id"]
    first = appointed.get_json()["activation"]["url"]
    again = api.post(f"/users/{user_id}/activation-link", as_=KOTA_ADMIN)
    assert again.status_code == 201
    assert again.get_json()["url"] != first
    staff = world.b.users[world.b.username("staf1")]
    assert api.post(f"/users/{staff}/activation-link", as_=KOTA_ADMIN).status_code == 404
    heads = api.get(f"/tenants/{tid}", as_=KOTA_ADMIN).get_json()["heads"]
    assert {h["username"] for h in heads} == {"dinas-b.kepala", "kadis.b2"}


# -- city users ------------------------------------------------------------------------------------

def test_city_users_are_created_and_their_roles_granted_and_revoked(api, world,
                                                                   session_factory):
    created = api.post("/city-users", as_=KOTA_ADMIN, json={
        "username": "inspektur.dua", "full_name": "Inspektur Dua", "roles": ["inspektur"]})
    assert created.status_code == 201, created.get_json()
    user = created.get_json()["user"]
    assert (user["roles"], user["active"]) == (["inspektur"], True)
    assert "/aktivasi/" in created.get_json()["activation"]["url"]
    uid = user["id"]

    granted = api.post(f"/city-users/{uid}/roles", as_=KOTA_ADMIN,
                       json={"role": "platform_admin"})
    assert granted.status_code == 200
    assert granted.get_json()["roles"] == ["inspektur", "platform_admin"]
    assert api.post(f"/city-users/{uid}/roles", as_=KOTA_ADMIN,
                    json={"role": "platform_admin"}).status_code == 409
    bad_role = api.post(f"/city-users/{uid}/roles", as_=KOTA_ADMIN, json={"role": "kepala_dinas"})
    assert bad_role.status_code == 422
    assert "role" in error_of(bad_role)["fields"]
    revoked = api.delete(f"/city-users/{uid}/roles/inspektur", as_=KOTA_ADMIN)
    assert revoked.status_code == 200
    assert revoked.get_json()["roles"] == ["platform_admin"]
    assert api.delete(f"/city-users/{uid}/roles/lurah", as_=KOTA_ADMIN).status_code == 422

    listed = api.get("/city-users", as_=KOTA_ADMIN).get_json()["users"]
    assert {u["username"] for u in listed} == {"kota.organisasi", "kota.inspektur", "kota.admin",
                                               "inspektur.dua"}
    assert api.get(f"/city-users/{uid}", as_=KOTA_ADMIN).get_json()["username"] == \
        "inspektur.dua"
    tenant_user = world.a.users[world.a.username("kepala")]
    assert api.get(f"/city-users/{tenant_user}", as_=KOTA_ADMIN).status_code == 404

    api.headers("inspektur.dua")  # a token made while the account is open
    closed = api.post(f"/city-users/{uid}/deactivate", as_=KOTA_ADMIN,
                      json={"reason": "Pensiun."})
    assert closed.status_code == 200
    assert closed.get_json()["active"] is False
    assert api.get("/city-users", as_="inspektur.dua").status_code == 401  # at once
    assert api.post(f"/city-users/{uid}/reactivate", as_=KOTA_ADMIN).get_json()["active"] is True


def test_the_last_platform_admin_cannot_be_removed(api, world, session_factory):
    me = str(world.city["admin"].user_id)
    refused = api.delete(f"/city-users/{me}/roles/platform_admin", as_=KOTA_ADMIN)
    assert refused.status_code == 409
    assert "satu-satunya Administrator Platform" in error_of(refused)["message"]
    own = api.post(f"/city-users/{me}/deactivate", as_=KOTA_ADMIN)
    assert own.status_code == 409
    with session_factory() as session:
        assert session.scalar(select(RoleGrant.id).where(
            RoleGrant.role == "platform_admin")) is not None
    second = api.post("/city-users", as_=KOTA_ADMIN, json={
        "username": "admin.dua", "full_name": "Admin Dua", "roles": ["platform_admin"]})
    assert second.status_code == 201
    assert api.delete(f"/city-users/{me}/roles/platform_admin", as_=KOTA_ADMIN).status_code \
        == 200
    # kota.admin holds no role now: the API refuses it
    assert api.get("/city-users", as_=KOTA_ADMIN).status_code == 403


# -- who may --------------------------------------------------------------------------------------

def platform_routes(app) -> list:
    return sorted((r for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("platform_admin_api.") and "audit" not in r.rule),
                  key=lambda r: r.rule)


def filled(rule, world) -> str:
    ids = {"tenant_id": str(world.a.tenant_id), "user_id": str(world.city["admin"].user_id),
           "role": "platform_admin"}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: ids[m.group(1)], rule.rule)


BODIES = {"create_tenant": NEW_TENANT, "rename_tenant": {"name": "Diambil alih"},
          "deactivate_tenant": {"reason": "Diambil alih."},
          "appoint_head": {"username": "penyusup", "full_name": "Penyusup"},
          "create_city_user": {"username": "penyusup", "full_name": "Penyusup",
                               "roles": ["platform_admin"]},
          "grant_city_role": {"role": "inspektur"}}


@pytest.mark.parametrize("who", ["dinas-a.kepala", "dinas-a.kasubbag", "dinas-a.tim",
                                 "dinas-a.staf1", "kota.inspektur", "kota.organisasi"])
def test_every_city_endpoint_refuses_everyone_but_the_platform_admin(api, app, world,
                                                                    session_factory, who):
    before = counts(session_factory)
    routes = platform_routes(app)
    assert len(routes) >= 13
    for rule in routes:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            name = rule.endpoint.split(".", 1)[1]
            response = api.call(method, filled(rule, world).removeprefix(ADMIN), as_=who,
                                json=BODIES.get(name) if method != "GET" else None)
            assert response.status_code == 403, (method, rule.rule, response.get_json())
            assert "Administrator Platform" in error_of(response)["message"]
    assert counts(session_factory) == before


def test_without_a_credential_every_admin_endpoint_answers_401(api, app, world):
    for rule in [*platform_routes(app)]:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = api.call(method, filled(rule, world).removeprefix(ADMIN), as_=None)
            assert response.status_code == 401, (method, rule.rule)
            assert response.get_json()["error"]["code"] == 401
    assert api.get("/audit", as_=None).status_code == 401


def test_the_portal_session_writes_only_with_its_csrf_header(app, world, session_factory):
    with transaction(session_factory) as session:
        user = session.scalars(select(User).where(User.username == KOTA_ADMIN)).one()
        cookie = start_session(session, user=user, lifetime=timedelta(hours=1))
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, cookie)
    assert client.get(f"{ADMIN}/tenants").status_code == 200
    refused = client.post(f"{ADMIN}/tenants", json=NEW_TENANT)
    assert refused.status_code == 400
    with session_factory() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == "dinas-pendidikan")) is None
    with app.test_request_context(headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}):
        token = csrf_token()
    created = client.post(f"{ADMIN}/tenants", json=NEW_TENANT, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.get_json()


def test_the_openapi_document_covers_the_admin_endpoints(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path, method in [("/tenants", "post"), ("/tenants/{tenant_id}", "patch"),
                         ("/tenants/{tenant_id}/deactivate", "post"),
                         ("/tenants/{tenant_id}/heads", "post"),
                         ("/users/{user_id}/activation-link", "post"),
                         ("/city-users", "post"), ("/city-users/{user_id}/roles", "post"),
                         ("/city-users/{user_id}/roles/{role}", "delete"),
                         ("/audit", "get")]:
        operation = paths[ADMIN + path][method]
        assert operation["summary"], path
        assert "401" in operation["responses"], path
    assert {p["name"] for p in paths[f"{ADMIN}/audit"]["get"]["parameters"]} >= {
        "tenant_id", "action", "since", "until", "before", "limit"}
    assert "TenantCreated" in document["components"]["schemas"]
