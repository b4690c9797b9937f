"""The workflow REST API (/api/v1) over HTTP against real PostgreSQL: both ways in (a personal API
token, the portal's signed service token) and their refusals, every endpoint of templates, cycles,
steps, step actions, extensions and the audit trail with its refusals (403 wrong role, 404 other
tenant, 409 guard with what is missing, 409 out of order, 422 bad bodies and invalid templates),
and the OpenAPI document covering every route of every blueprint."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from sakip.seeding import upload_cycle_document
from services.workflow.app import create_app
from services.workflow.cycles import get_cycle
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle, CycleStep, SopTemplate
from shared.db import transaction
from shared.documents.models import CycleDocumentKind
from shared.events.models import OutboxEvent
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import principal_for
from shared.identity.models import RoleGrant, User
from shared.identity.service_token import SALT, issue_service_token
from shared.sop.template import TEMPLATES_DIR
from shared.web.service_auth import SERVICE_TOKEN_HEADER

API = "/api/v1"
SHIPPED = (TEMPLATES_DIR / "pengumpulan-data-kinerja.v1.yaml").read_text(encoding="utf-8")
SHIPPED_CODE = "code: pengumpulan-data-kinerja"


def template_text(code: str = "uji-coba", *, name: str | None = None) -> str:
    text = SHIPPED.replace(SHIPPED_CODE, f"code: {code}", 1)
    return text if name is None else text.replace("name: PENGUMPULAN DATA KINERJA",
                                                  f"name: {name}", 1)


def is_utc_iso(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() == timedelta(0) and value.endswith("+00:00")


# -- helpers (also used by test_workflow_api_isolation.py) ----------------------------------------

class WorkflowApi:
    """The workflow app's test client, calling as a user with a personal API token (made on
    first use) or, with `kind="service"`, with the portal's signed service token."""

    def __init__(self, app, session_factory, settings) -> None:
        self.client = app.test_client()
        self._factory, self._settings, self._tokens = session_factory, settings, {}

    def user(self, username: str) -> User:
        with self._factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            principal_for(user)  # loads the grants while the session is open
            return user

    def headers(self, username: str | None, kind: str = "token") -> dict[str, str]:
        if username is None:
            return {}
        if kind == "service":
            return {SERVICE_TOKEN_HEADER: self.service_token(username)}
        if username not in self._tokens:
            with transaction(self._factory) as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                _row, plaintext = create_api_token(session, user=user, name="tes")
            self._tokens[username] = plaintext
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def service_token(self, username: str) -> str:
        with self._factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return issue_service_token(principal_for(user),
                                       secret=self._settings.service_token_secret)

    def call(self, method: str, path: str, *, as_: str | None, kind: str = "token", **kwargs):
        return self.client.open(API + path, method=method, headers=self.headers(as_, kind),
                                **kwargs)

    def get(self, path: str, *, as_: str | None, **kwargs):
        return self.call("GET", path, as_=as_, **kwargs)

    def post(self, path: str, *, as_: str | None, **kwargs):
        return self.call("POST", path, as_=as_, **kwargs)

    def put(self, path: str, *, as_: str | None, **kwargs):
        return self.call("PUT", path, as_=as_, **kwargs)

    def publish(self, text: str, *, as_: str, tenant_id=None, **kwargs):
        query = f"?tenant_id={tenant_id}" if tenant_id else ""
        return self.post(f"/templates{query}", as_=as_, data=text.encode(),
                         content_type="application/yaml", **kwargs)


def audit_count(session_factory, tenant_id) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.tenant_id == tenant_id)) or 0


def outbox_count(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent)) or 0


def step_states(session_factory, cycle_id) -> list[tuple[int, str]]:
    with session_factory() as session:
        return list(session.execute(select(CycleStep.number, CycleStep.state)
                                    .where(CycleStep.cycle_id == cycle_id)
                                    .order_by(CycleStep.number)))


def unchanged(session_factory, tenant_id, cycle_id):
    """A fingerprint of what a refused request must leave as it was."""
    return (audit_count(session_factory, tenant_id), outbox_count(session_factory),
            step_states(session_factory, cycle_id))


def steps_by_number(detail: dict) -> dict[int, dict]:
    return {s["number"]: s for s in detail["steps"]}


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def workflow_app(settings, object_store, redis_client):
    application = create_app(settings)
    yield application
    application.extensions["sakip"].close()


@pytest.fixture
def wf(workflow_app, session_factory, settings, world):
    return WorkflowApi(workflow_app, session_factory, settings)


# -- who is asking --------------------------------------------------------------------------------

def test_without_credentials_every_route_answers_401_with_json(wf, workflow_app, world):
    for path in ("/cycles", "/templates", f"/cycles/{world.a.cycle_id}"):
        response = wf.get(path, as_=None)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == 401
        assert "masuk" in response.get_json()["error"]["message"]
    response = wf.post(f"/cycles/{world.a.cycle_id}/steps/5/complete", as_=None)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer sakip_pat_not-a-real-token"},
    {"Authorization": "Bearer something-else"},
    {SERVICE_TOKEN_HEADER: "garbage"},
    {SERVICE_TOKEN_HEADER: ""},
])
def test_bad_credentials_answer_401(wf, headers):
    response = wf.client.get(f"{API}/cycles", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401


def test_personal_token_and_service_token_see_the_same(wf, world):
    kepala = world.a.username("kepala")
    by_token = wf.get("/cycles", as_=kepala)
    by_service = wf.get("/cycles", as_=kepala, kind="service")
    assert by_token.status_code == by_service.status_code == 200
    assert by_token.get_json() == by_service.get_json()
    assert [c["id"] for c in by_token.get_json()["cycles"]] == [str(world.a.cycle_id)]


def test_service_token_signed_with_another_secret_or_expired_is_refused(wf, settings, world):
    user = wf.user(world.a.username("kepala"))
    forged = issue_service_token(principal_for(user), secret="not-the-service-secret")
    assert wf.client.get(f"{API}/cycles",
                         headers={SERVICE_TOKEN_HEADER: forged}).status_code == 401

    class IssuedAnHourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now().timestamp()) - 3600

    valid = wf.service_token(user.username)
    payload = URLSafeTimedSerializer(settings.service_token_secret, salt=SALT).loads(valid)
    expired = URLSafeTimedSerializer(settings.service_token_secret, salt=SALT,
                                     signer=IssuedAnHourAgo).dumps(payload)
    assert wf.client.get(f"{API}/cycles",
                         headers={SERVICE_TOKEN_HEADER: expired}).status_code == 401
    assert wf.client.get(f"{API}/cycles",
                         headers={SERVICE_TOKEN_HEADER: valid}).status_code == 200


def test_a_deactivated_user_is_refused_with_either_credential(wf, session_factory, world):
    kepala = world.a.username("kepala")
    token_headers = wf.headers(kepala)
    service_headers = wf.headers(kepala, kind="service")
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == kepala).values(active=False))
    for headers in (token_headers, service_headers):
        assert wf.client.get(f"{API}/cycles", headers=headers).status_code == 401


def test_the_service_token_counts_the_roles_the_user_holds_now(wf, session_factory, world):
    """A token signed before a role was taken away does not carry the role any more."""
    tim = world.a.username("tim")
    headers = wf.headers(tim, kind="service")
    assert wf.client.get(f"{API}/cycles/{world.a.cycle_id}", headers=headers).status_code == 200
    with transaction(session_factory) as session:
        session.execute(delete(RoleGrant).where(RoleGrant.user_id == world.a.users[tim]))
    assert wf.client.get(f"{API}/cycles", headers=headers).get_json() == {"cycles": []}
    assert wf.client.get(f"{API}/cycles/{world.a.cycle_id}", headers=headers).status_code == 404


# -- templates ------------------------------------------------------------------------------------

def test_templates_listed_and_shown(wf, world):
    listed = wf.get("/templates", as_=world.a.username("staf1"))
    assert listed.status_code == 200
    (seeded,) = listed.get_json()["templates"]
    assert seeded["code"] == "pengumpulan-data-kinerja"
    assert seeded["tenant_id"] is None
    assert is_utc_iso(seeded["published_at"])
    shown = wf.get(f"/templates/{seeded['id']}", as_=world.a.username("staf1")).get_json()
    assert shown["definition"]["steps"][4]["number"] == 5
    assert wf.get(f"/templates/{world.a.cycle_id}", as_="kota.admin").status_code == 404


def test_platform_admin_publishes_a_city_wide_template_once(wf, world, session_factory):
    created = wf.publish(template_text(), as_="kota.admin")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["code"], body["version"], body["tenant_id"]) == ("uji-coba", 1, None)
    again = wf.publish(template_text(), as_="kota.admin")
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"]
    clash = wf.publish(template_text(name="LAIN"), as_="kota.admin")
    assert clash.status_code == 409
    assert "versi baru" in clash.get_json()["error"]["message"]
    codes = {t["code"] for t in wf.get("/templates", as_=world.b.username("tim"))
             .get_json()["templates"]}
    assert codes == {"pengumpulan-data-kinerja", "uji-coba"}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "template.published", AuditEntry.target_id == body["id"])) == 1


def test_a_template_file_may_come_as_a_multipart_form(wf):
    boundary, data = encode_multipart({"file": FileStorage(
        io.BytesIO(template_text("dari-formulir").encode()), filename="sop.yaml")})
    response = wf.post("/templates", as_="kota.admin", data=data,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["code"] == "dari-formulir"


def test_a_kepala_dinas_publishes_a_variant_only_their_dinas_sees(wf, world):
    kepala = world.a.username("kepala")
    variant = wf.publish(template_text("varian-a"), as_=kepala, tenant_id=world.a.tenant_id)
    assert variant.status_code == 201, variant.get_json()
    variant_id = variant.get_json()["id"]
    assert variant.get_json()["tenant_id"] == str(world.a.tenant_id)
    assert wf.get(f"/templates/{variant_id}", as_=world.a.username("staf1")).status_code == 200
    assert wf.get(f"/templates/{variant_id}", as_=world.b.username("kepala")).status_code == 404
    b_codes = {t["code"] for t in wf.get("/templates", as_=world.b.username("kepala"))
               .get_json()["templates"]}
    assert "varian-a" not in b_codes
    # the inspektur reads every dinas
    assert wf.get(f"/templates/{variant_id}", as_="kota.inspektur").status_code == 200


@pytest.mark.parametrize(("who", "tenant", "status"), [
    ("dinas-a.kepala", None, 403),  # city-wide: platform_admin only
    ("dinas-a.tim", "a", 403),  # a variant: kepala_dinas only
    ("kota.inspektur", "a", 403),  # reads every dinas, writes none
    ("dinas-a.kepala", "b", 404),  # another dinas
    ("kota.admin", "a", 404),  # platform_admin reads no dinas
])
def test_who_may_not_publish_a_template(wf, world, session_factory, who, tenant, status):
    tenant_id = {"a": world.a.tenant_id, "b": world.b.tenant_id, None: None}[tenant]
    response = wf.publish(template_text("tidak-boleh"), as_=who, tenant_id=tenant_id)
    assert response.status_code == status, response.get_json()
    with session_factory() as session:
        assert session.scalar(select(SopTemplate.id).where(SopTemplate.code == "tidak-boleh")) \
            is None


def test_an_invalid_template_is_refused_naming_line_and_field(wf):
    bad = template_text().replace("actors: [tim_evaluasi]\n", "actors: [lurah]\n", 1)
    bad = bad.replace("amount: 5,", "amount: -5,", 1)
    response = wf.publish(bad, as_="kota.admin")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "Berkas templat tidak valid."
    assert len(error["details"]) == 2
    assert re.search(r"baris \d+: steps\.2\.actors\.0", error["details"][0])
    assert re.search(r"baris \d+: steps\.4\.duration\.amount", error["details"][1])
    broken = wf.publish("code: [", as_="kota.admin")
    assert broken.status_code == 422
    assert broken.get_json()["error"]["details"]
    assert wf.publish("", as_="kota.admin").status_code == 422
    not_yaml = wf.post("/templates", as_="kota.admin", json={"code": "x"})
    assert not_yaml.status_code == 415
    no_file = wf.post("/templates", as_="kota.admin", data={"other": "x"},
                      content_type="multipart/form-data")
    assert no_file.status_code == 422
    assert no_file.get_json()["error"]["fields"] == {"file": ["Wajib diisi."]}
    assert wf.post("/templates?tenant_id=bukan-uuid", as_="kota.admin", data=b"x",
                   content_type="application/yaml").status_code == 422


# -- cycles ---------------------------------------------------------------------------------------

def test_cycles_listed_within_scope_and_filtered(wf, world):
    own = wf.get("/cycles", as_=world.a.username("staf1")).get_json()["cycles"]
    assert [(c["id"], c["active_step"], c["state"]) for c in own] == [
        (str(world.a.cycle_id), 5, "active")]
    assert own[0]["template"]["code"] == "pengumpulan-data-kinerja"
    assert is_utc_iso(own[0]["opened_at"])
    assert own[0]["completed_at"] is None
    everyone = wf.get("/cycles", as_="kota.organisasi").get_json()["cycles"]
    assert {c["tenant_id"] for c in everyone} == {str(world.a.tenant_id), str(world.b.tenant_id)}
    only_b = wf.get(f"/cycles?tenant_id={world.b.tenant_id}&year=2026", as_="kota.organisasi")
    assert [c["id"] for c in only_b.get_json()["cycles"]] == [str(world.b.cycle_id)]
    assert wf.get("/cycles?year=2027", as_="kota.organisasi").get_json() == {"cycles": []}
    assert wf.get(f"/cycles?tenant_id={world.b.tenant_id}",
                  as_=world.a.username("kepala")).get_json() == {"cycles": []}
    assert wf.get("/cycles", as_="kota.admin").get_json() == {"cycles": []}
    bad = wf.get("/cycles?year=abc&tenant_id=x", as_="kota.organisasi")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"year", "tenant_id"}


def test_cycle_detail_shows_each_step_and_what_the_active_one_lacks(wf, world):
    detail = wf.get(f"/cycles/{world.a.cycle_id}", as_=world.a.username("kasubbag")).get_json()
    steps = steps_by_number(detail)
    assert [steps[n]["state"] for n in range(1, 7)] == ["completed"] * 4 + ["active", "pending"]
    assert detail["active_step"] == 5
    assert detail["cancel_reason"] is None
    collecting = steps[5]
    assert collecting["actors"] == ["bidang_staff", "kasubbag_program"]
    assert collecting["duration"] == {"amount": 5, "unit": "working_days"}
    assert collecting["due_at"] == "2026-04-13T01:00:00+00:00"
    assert collecting["overdue"] is (now() > datetime(2026, 4, 13, 1, tzinfo=UTC))
    assert collecting["can_complete"] is True
    assert [m.split(":")[0] for m in collecting["missing"]] == ["Bidang 1", "Bidang 2"]
    assert steps[1]["completed_by"] == str(world.a.users[world.a.username("kepala")])
    assert steps[1]["completion_note"] == "Rencana implementasi SAKIP ditetapkan."
    assert steps[6]["missing"] == []
    assert steps[6]["can_complete"] is False
    as_tim = wf.get(f"/cycles/{world.a.cycle_id}", as_=world.a.username("tim")).get_json()
    assert steps_by_number(as_tim)[5]["can_complete"] is False
    assert wf.get(f"/cycles/{world.b.cycle_id}", as_=world.a.username("kepala")).status_code \
        == 404
    assert wf.get(f"/cycles/{world.b.cycle_id}", as_="kota.inspektur").status_code == 200


def test_completing_the_collection_before_every_package_is_accepted_answers_409(
        wf, world, session_factory):
    before = unchanged(session_factory, world.a.tenant_id, world.a.cycle_id)
    response = wf.post(f"/cycles/{world.a.cycle_id}/steps/5/complete",
                       as_=world.a.username("kasubbag"), json={"note": "selesai?"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["message"].startswith("Langkah 5 belum dapat diselesaikan")
    assert [d.split(":")[0] for d in error["details"]] == ["Bidang 1", "Bidang 2"]
    assert all(d.endswith("belum diterima.") for d in error["details"])
    assert unchanged(session_factory, world.a.tenant_id, world.a.cycle_id) == before


@pytest.mark.parametrize(("who", "number", "status", "words"), [
    ("kasubbag", 6, 409, "belum dimulai"),  # out of order
    ("kasubbag", 4, 409, "sudah selesai"),
    ("kasubbag", 9, 404, "Langkah 9"),
    ("tim", 5, 403, "Hanya"),  # not an actor of step 5
    ("staf1", 5, 409, "belum dapat diselesaikan"),  # an actor, but the guard does not hold
])
def test_step_completion_refusals(wf, world, session_factory, who, number, status, words):
    before = unchanged(session_factory, world.a.tenant_id, world.a.cycle_id)
    response = wf.post(f"/cycles/{world.a.cycle_id}/steps/{number}/complete",
                       as_=world.a.username(who))
    assert response.status_code == status, response.get_json()
    assert words in response.get_json()["error"]["message"]
    assert unchanged(session_factory, world.a.tenant_id, world.a.cycle_id) == before


def test_city_readers_and_other_dinas_cannot_move_a_cycle(wf, world, session_factory):
    before = unchanged(session_factory, world.a.tenant_id, world.a.cycle_id)
    cycle = f"/cycles/{world.a.cycle_id}"
    for who in ("kota.inspektur", "kota.organisasi"):
        for kind in ("token", "service"):
            assert wf.post(f"{cycle}/cancel", as_=who, kind=kind,
                           json={"reason": "x"}).status_code == 403
            assert wf.post(f"{cycle}/collection/close", as_=who, kind=kind,
                           json={"reason": "x"}).status_code == 403
    assert wf.post(f"{cycle}/cancel", as_=world.b.username("kepala"),
                   json={"reason": "x"}).status_code == 404
    assert unchanged(session_factory, world.a.tenant_id, world.a.cycle_id) == before


def test_closing_the_collection_records_who_misses_what_and_starts_step_6(wf, world):
    kasubbag = world.a.username("kasubbag")
    cycle = f"/cycles/{world.a.cycle_id}"
    assert wf.post(f"{cycle}/collection/close", as_=world.a.username("tim"),
                   json={"reason": "Waktu habis."}).status_code == 403
    assert wf.post(f"{cycle}/collection/close", as_=kasubbag, json={}).status_code == 422
    closed = wf.post(f"{cycle}/collection/close", as_=kasubbag,
                     json={"reason": "Batas waktu lewat."}, )
    assert closed.status_code == 200, closed.get_json()
    closure = closed.get_json()
    assert closure["missing"] == {str(b): ["IKU", "RENJA"] for b in world.a.bidang}
    assert closure["reason"] == "Batas waktu lewat."
    assert is_utc_iso(closure["closed_at"])
    steps = steps_by_number(wf.get(cycle, as_=kasubbag).get_json())
    assert (steps[5]["state"], steps[6]["state"]) == ("completed", "active")
    collection = wf.get(f"{cycle}/collection", as_=kasubbag).get_json()
    assert [c["id"] for c in collection["closures"]] == [closure["id"]]
    # step 6 waits for the approved report (the reporting service's)
    tim = world.a.username("tim")
    refused = wf.post(f"{cycle}/steps/6/complete", as_=tim)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["details"] == [
        "Laporan hasil evaluasi SAKIP internal belum disetujui Kepala Dinas."]
    assert steps_by_number(wf.get(cycle, as_=tim).get_json())[6]["missing"] == \
        refused.get_json()["error"]["details"]
    assert wf.post(f"{cycle}/collection/close", as_=kasubbag,
                   json={"reason": "lagi"}).status_code == 409


def test_the_kepala_dinas_reopens_a_step(wf, world):
    cycle = f"/cycles/{world.a.cycle_id}"
    kepala = world.a.username("kepala")
    assert wf.post(f"{cycle}/steps/4/reopen", as_=world.a.username("tim"),
                   json={"reason": "ulang"}).status_code == 403
    missing_reason = wf.post(f"{cycle}/steps/4/reopen", as_=kepala, json={})
    assert missing_reason.status_code == 422
    assert missing_reason.get_json()["error"]["fields"] == {"reason": ["Wajib diisi."]}
    assert wf.post(f"{cycle}/steps/5/reopen", as_=kepala,
                   json={"reason": "x"}).status_code == 409  # not completed
    reopened = wf.post(f"{cycle}/steps/4/reopen", as_=kepala,
                       json={"reason": "Pemberitahuan perlu diulang."})
    assert reopened.status_code == 200, reopened.get_json()
    steps = steps_by_number(reopened.get_json())
    assert (steps[4]["state"], steps[5]["state"]) == ("active", "pending")
    assert steps[4]["missing"] == ["Pemberitahuan daftar dokumen dan pedoman evaluasi kepada "
                                   "setiap Bidang belum dikirim."]


def test_the_kepala_dinas_cancels_a_cycle(wf, world):
    cycle = f"/cycles/{world.a.cycle_id}"
    kepala = world.a.username("kepala")
    assert wf.post(f"{cycle}/cancel", as_=world.a.username("kasubbag"),
                   json={"reason": "x"}).status_code == 403
    assert wf.post(f"{cycle}/cancel", as_=kepala, json={"reason": ""}).status_code == 422
    cancelled = wf.post(f"{cycle}/cancel", as_=kepala, kind="service",
                        json={"reason": "Salah tahun."})
    assert cancelled.status_code == 200
    body = cancelled.get_json()
    assert (body["state"], body["cancel_reason"], body["active_step"]) == (
        "cancelled", "Salah tahun.", None)
    assert {s["state"] for s in body["steps"] if s["number"] >= 5} == {"cancelled"}
    again = wf.post(f"{cycle}/steps/5/complete", as_=world.a.username("kasubbag"))
    assert again.status_code == 409
    assert "dibatalkan" in again.get_json()["error"]["message"]


def test_opening_a_cycle_and_walking_steps_1_to_4(wf, world, session_factory, object_store):
    a = world.a
    kasubbag, kepala, tim = (a.username(k) for k in ("kasubbag", "kepala", "tim"))
    template_id = wf.get("/templates", as_=kepala).get_json()["templates"][0]["id"]
    body = {"tenant_id": str(a.tenant_id), "year": 2027, "template_id": template_id}
    assert wf.post("/cycles", as_=tim, json=body).status_code == 403
    assert wf.post("/cycles", as_="kota.inspektur", json=body).status_code == 403
    assert wf.post("/cycles", as_=world.b.username("kepala"), json=body).status_code == 404
    assert wf.post("/cycles", as_=kasubbag, json={**body, "template_id": str(a.cycle_id)}) \
        .status_code == 404
    invalid = wf.post("/cycles", as_=kasubbag, json={"tenant_id": "x", "year": 1900,
                                                     "extra": 1})
    assert invalid.status_code == 422
    assert set(invalid.get_json()["error"]["fields"]) == {"tenant_id", "year", "template_id",
                                                          "extra"}
    assert invalid.get_json()["error"]["fields"]["extra"] == ["Isian tidak dikenal."]
    assert wf.post("/cycles", as_=kasubbag, data="year=2027").status_code == 415

    opened = wf.post("/cycles", as_=kasubbag, json=body)
    assert opened.status_code == 201, opened.get_json()
    cycle_id = opened.get_json()["id"]
    assert opened.get_json()["active_step"] == 1
    assert wf.post("/cycles", as_=kasubbag, json=body).status_code == 409  # the year is open
    cycle = f"/cycles/{cycle_id}"

    confirm = wf.post(f"{cycle}/steps/1/complete", as_=kasubbag)  # kepala's confirmation
    assert confirm.status_code == 409
    assert confirm.get_json()["error"]["details"][0].startswith("Konfirmasi oleh Kepala Dinas")
    assert wf.post(f"{cycle}/steps/1/complete", as_=kepala,
                   json={"note": "Rencana ditetapkan."}).status_code == 200
    sk_missing = wf.post(f"{cycle}/steps/2/complete", as_=kepala)
    assert sk_missing.status_code == 409
    assert sk_missing.get_json()["error"]["details"]
    with transaction(session_factory) as session:  # the SK is uploaded through the intake
        upload_cycle_document(session, object_store, cycle=get_cycle(session, cycle_id),
                              kind=CycleDocumentKind.SK_TIM_EVALUASI,
                              principal=a.principals["kepala"], at=now())
    assert wf.post(f"{cycle}/steps/2/complete", as_=kepala).status_code == 200

    listing = wf.get(f"{cycle}/document-list", as_=tim).get_json()
    assert listing["owed"] == {}
    assert [b["name"] for b in listing["bidang"]] == ["Bidang 1", "Bidang 2"]
    assert {"code": "IKU", "label": "Indikator Kinerja Utama (IKU)"} in listing["document_types"]
    owed = {str(a.bidang[0]): ["IKU", "RENJA"], str(a.bidang[1]): ["IKU"]}
    assert wf.put(f"{cycle}/document-list", as_=a.username("staf1"),
                  json={"owed": owed}).status_code == 403
    unknown = wf.put(f"{cycle}/document-list", as_=tim,
                     json={"owed": {str(a.bidang[0]): ["BUKAN"],
                                    str(world.b.bidang[0]): ["IKU"]}})
    assert unknown.status_code == 422
    assert len(unknown.get_json()["error"]["details"]) == 2
    assert wf.put(f"{cycle}/document-list", as_=tim,
                  json={"owed": {"bukan-uuid": ["IKU"]}}).status_code == 422
    assert wf.put(f"{cycle}/document-list", as_=tim, json={"owed": []}).status_code == 422
    saved = wf.put(f"{cycle}/document-list", as_=tim, json={"owed": owed})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["owed"] == owed
    assert wf.post(f"{cycle}/notice", as_=tim).status_code == 409  # step 4 not running yet
    with transaction(session_factory) as session:
        upload_cycle_document(session, object_store, cycle=get_cycle(session, cycle_id),
                              kind=CycleDocumentKind.PEDOMAN_EVALUASI,
                              principal=a.principals["tim"], at=now())
    assert wf.post(f"{cycle}/steps/3/complete", as_=tim).status_code == 200
    assert wf.put(f"{cycle}/document-list", as_=tim, json={"owed": owed}).status_code == 409

    assert wf.post(f"{cycle}/notice", as_=a.username("staf1")).status_code == 403
    assert wf.post(f"{cycle}/notice", as_=tim, json={"pesan": "x"}).status_code == 422
    notice = wf.post(f"{cycle}/notice", as_=tim, json={"message": "Mohon segera."})
    assert notice.status_code == 201
    assert is_utc_iso(notice.get_json()["sent_at"])
    done = wf.post(f"{cycle}/steps/4/complete", as_=kasubbag)
    assert done.status_code == 200
    assert done.get_json()["active_step"] == 5
    collection = wf.get(f"{cycle}/collection", as_=kasubbag).get_json()
    assert [(b["name"], b["state"], b["outstanding"]) for b in collection["bidang"]] == [
        ("Bidang 1", "not_submitted", ["IKU", "RENJA"]), ("Bidang 2", "not_submitted", ["IKU"])]
    assert collection["deadline"] == steps_by_number(done.get_json())[5]["due_at"]
    assert all(b["deadline"] == collection["deadline"] for b in collection["bidang"])


def test_the_document_list_and_the_collection_of_the_world_cycle(wf, world):
    cycle = f"/cycles/{world.a.cycle_id}"
    listing = wf.get(f"{cycle}/document-list", as_="kota.inspektur").get_json()
    assert listing["owed"] == {str(b): ["IKU", "RENJA"] for b in world.a.bidang}
    collection = wf.get(f"{cycle}/collection", as_=world.a.username("staf2")).get_json()
    assert collection["deadline"] == "2026-04-13T01:00:00+00:00"
    assert [(b["bidang_id"], b["state"], b["outstanding"]) for b in collection["bidang"]] == [
        (str(b), "not_submitted", ["IKU", "RENJA"]) for b in world.a.bidang]
    assert collection["closures"] == []


def test_extensions_for_one_bidang_and_for_the_whole_cycle(wf, world, session_factory):
    cycle = f"/cycles/{world.a.cycle_id}"
    kepala = world.a.username("kepala")
    later = (now() + timedelta(days=30)).replace(microsecond=0)
    body = {"bidang_id": str(world.a.bidang[0]), "due_at": later.isoformat(),
            "reason": "Kepala Bidang cuti."}
    assert wf.post(f"{cycle}/extensions", as_=world.a.username("kasubbag"),
                   json=body).status_code == 403
    naive = wf.post(f"{cycle}/extensions", as_=kepala,
                    json={**body, "due_at": "2026-12-30T08:00:00"})
    assert naive.status_code == 422
    assert "due_at" in naive.get_json()["error"]["fields"]
    past = wf.post(f"{cycle}/extensions", as_=kepala,
                   json={**body, "due_at": "2026-04-14T01:00:00+00:00"})
    assert past.status_code == 422
    other = wf.post(f"{cycle}/extensions", as_=kepala,
                    json={**body, "bidang_id": str(world.b.bidang[0])})
    assert other.status_code == 422
    assert wf.post(f"{cycle}/extensions", as_=kepala, json={k: v for k, v in body.items()
                                                          if k != "bidang_id"}).status_code == 422

    granted = wf.post(f"{cycle}/extensions", as_=kepala, json=body)
    assert granted.status_code == 201, granted.get_json()
    extension = granted.get_json()
    assert datetime.fromisoformat(extension["due_at"]) == later
    assert extension["granted_by"] == str(world.a.users[kepala])
    collection = wf.get(f"{cycle}/collection", as_=kepala).get_json()
    deadlines = {b["bidang_id"]: b["deadline"] for b in collection["bidang"]}
    assert datetime.fromisoformat(deadlines[str(world.a.bidang[0])]) == later
    assert deadlines[str(world.a.bidang[1])] == "2026-04-13T01:00:00+00:00"

    whole = wf.post(f"{cycle}/extensions", as_=kepala, json={
        "bidang_id": None, "due_at": (later + timedelta(days=1)).isoformat(),
        "reason": "Sistem sempat terganggu."})
    assert whole.status_code == 201, whole.get_json()
    step5 = steps_by_number(wf.get(cycle, as_=kepala).get_json())[5]
    assert datetime.fromisoformat(step5["due_at"]) == later + timedelta(days=1)
    assert step5["overdue"] is False
    listed = wf.get(f"{cycle}/extensions", as_="kota.inspektur").get_json()["extensions"]
    assert [e["id"] for e in listed] == [extension["id"], whole.get_json()["id"]]
    assert wf.get(f"{cycle}/extensions", as_=world.b.username("kepala")).status_code == 404


def test_the_audit_trail_of_a_cycle(wf, world):
    cycle = f"/cycles/{world.a.cycle_id}"
    kepala = world.a.username("kepala")
    wf.post(f"{cycle}/steps/4/reopen", as_=kepala, json={"reason": "Ulang pemberitahuan."})
    entries = wf.get(f"{cycle}/audit", as_=world.a.username("staf1")).get_json()["entries"]
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["cycle.opened", "step.started", "step.completed"]
    assert actions[-2:] == ["step.reset", "step.reopened"]
    assert entries[0]["actor"] == kepala
    assert entries[0]["target_type"] == "cycle"
    assert entries[-1]["reason"] == "Ulang pemberitahuan."
    assert entries[-1]["before"]["state"] == "completed"
    assert all(is_utc_iso(e["occurred_at"]) for e in entries)
    times = [e["occurred_at"] for e in entries]
    assert times == sorted(times)
    assert wf.get(f"{cycle}/audit", as_=world.b.username("staf1")).status_code == 404


def test_bodies_must_be_json_objects(wf, world):
    cycle = f"/cycles/{world.a.cycle_id}"
    kepala = world.a.username("kepala")
    assert wf.post(f"{cycle}/cancel", as_=kepala).status_code == 422
    assert wf.post(f"{cycle}/cancel", as_=kepala, data="reason=x",
                   content_type="application/x-www-form-urlencoded").status_code == 415
    not_object = wf.post(f"{cycle}/cancel", as_=kepala, json=["x"])
    assert not_object.status_code == 422
    assert not_object.get_json()["error"]["fields"] == {
        "_schema": ["Badan permintaan harus berupa objek JSON."]}
    with_cycle = wf.get(cycle, as_=kepala).get_json()
    assert with_cycle["state"] == "active"


# -- the OpenAPI document -------------------------------------------------------------------------

def test_openapi_document_covers_every_route_of_every_blueprint(wf, workflow_app):
    response = wf.get("/openapi.json", as_=None)
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "SAKIP workflow API"
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["serviceToken"]["name"] == SERVICE_TOKEN_HEADER
    rules = [r for r in workflow_app.url_map.iter_rules() if r.rule.startswith(f"{API}/")]
    assert {r.endpoint.split(".")[0] for r in rules} >= {"api", "calendar", "inbox"}
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"], (rule.rule, method)
            assert operation["responses"], (rule.rule, method)
    complete = document["paths"][f"{API}/cycles/{{cycle_id}}/steps/{{number}}/complete"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(complete["responses"])
    publish = document["paths"][f"{API}/templates"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/yaml"} <= set(publish)
    step = document["components"]["schemas"]["Step"]["properties"]
    assert step["state"]["enum"] == ["pending", "active", "completed", "cancelled"]


def test_a_cycle_opened_by_the_api_is_stored_with_its_tenant(wf, world, session_factory):
    kepala = world.b.username("kepala")
    template_id = wf.get("/templates", as_=kepala).get_json()["templates"][0]["id"]
    opened = wf.post("/cycles", as_=kepala, kind="service", json={
        "tenant_id": str(world.b.tenant_id), "year": 2030, "template_id": template_id})
    assert opened.status_code == 201
    with session_factory() as session:
        cycle = session.get(Cycle, opened.get_json()["id"])
        assert (cycle.tenant_id, cycle.year, cycle.opened_by) == (
            world.b.tenant_id, 2030, world.b.users[kepala])
