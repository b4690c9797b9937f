"""The intake REST API (/api/v1) over HTTP against real PostgreSQL, Redis and S3: each endpoint's
answer and refusals, a whole collection round through the API with the events it emits, and
the OpenAPI document covering every route."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import re
import urllib.request
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from services.intake.app import create_app
from shared.audit import AuditEntry
from shared.clock import now
from shared.db import transaction
from shared.documents.models import DocumentVersion
from shared.events.models import OutboxEvent
from shared.identity.api_tokens import create_api_token, revoke_api_token
from shared.identity.models import ApiToken, User
from shared.identity.sessions import start_session
from tests.samples import document_keys, padded_pdf

API = "/api/v1"
METADATA = {"title": "Indikator Kinerja Utama 2026", "year": "2026", "notes": "versi final"}
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


# -- helpers (also used by test_api_isolation.py) -------------------------------------------------

def upload_form(data: bytes | None, *, filename: str = "dokumen.pdf",
                content_type: str = "application/pdf", **fields: str) -> dict[str, object]:
    """A multipart body (file last, like the portal's form) for the test client's `post`."""
    values: dict[str, object] = {**METADATA, **fields}
    values = {k: v for k, v in values.items() if v is not None}
    if data is not None:
        values["file"] = FileStorage(io.BytesIO(data), filename=filename,
                                     content_type=content_type)
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def bearer(session_factory, username: str) -> dict[str, str]:
    with transaction(session_factory) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        _row, plaintext = create_api_token(session, user=user, name="tes")
    return {"Authorization": f"Bearer {plaintext}"}


class Api:
    """The test client with one bearer token per user, made on first use."""

    def __init__(self, client, session_factory) -> None:
        self.client, self._factory, self._tokens = client, session_factory, {}

    def headers(self, username: str | None) -> dict[str, str]:
        if username is None:
            return {}
        if username not in self._tokens:
            self._tokens[username] = bearer(self._factory, username)
        return self._tokens[username]

    def get(self, path: str, *, as_: str | None):
        return self.client.get(API + path, headers=self.headers(as_))

    def post(self, path: str, *, as_: str | None, **kwargs):
        return self.client.post(API + path, headers=self.headers(as_), **kwargs)

    def package(self, cycle_id, bidang_id, *, as_: str) -> dict:
        response = self.get(f"/cycles/{cycle_id}/packages", as_=as_)
        assert response.status_code == 200, response.get_json()
        (found,) = [p for p in response.get_json()["packages"]
                    if p["bidang_id"] == str(bidang_id)]
        return found

    def upload(self, item_id, data: bytes, *, as_: str, **kwargs):
        return self.post(f"/items/{item_id}/versions", as_=as_, **upload_form(data, **kwargs))


def item_ids(package: dict) -> dict[str, str]:
    return {i["document_type"]: i["id"] for i in package["items"]}


def outbox_types(session_factory, tenant_id=None) -> Counter[str]:
    """The intake's events in the outbox (the world's seeding emits workflow events too)."""
    with session_factory() as session:
        stmt = select(OutboxEvent.type).where(OutboxEvent.type.like("document.%")
                                              | OutboxEvent.type.like("submission.%"))
        if tenant_id is not None:
            stmt = stmt.where(OutboxEvent.tenant_id == tenant_id)
        return Counter(session.scalars(stmt))


def count(session_factory, model, *where) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def is_utc_iso(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() == timedelta(0) and value.endswith("+00:00")


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def api(app, session_factory, world):
    return Api(app.test_client(), session_factory)


# -- who am I, and who is not ---------------------------------------------------------------------

def test_me_answers_the_token_holder_with_roles(api, world):
    response = api.get("/me", as_="dinas-a.staf1")
    assert response.status_code == 200
    me = response.get_json()
    assert me["username"] == "dinas-a.staf1"
    assert me["id"] == str(world.a.users["dinas-a.staf1"])
    assert me["bidang_id"] == str(world.a.bidang[0])
    assert me["tenant_id"] == str(world.a.tenant_id)
    assert me["roles"] == [{"role": "bidang_staff", "label": "Staf Bidang",
                            "tenant_id": str(world.a.tenant_id)}]
    city = api.get("/me", as_="kota.inspektur").get_json()
    assert city["roles"] == [{"role": "inspektur", "label": "Inspektur", "tenant_id": None}]
    assert city["bidang_id"] is None


def test_no_wrong_revoked_or_expired_token_is_401(api, session_factory, world):
    def status(headers):
        response = api.client.get(f"{API}/me", headers=headers)
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.get_json()["error"]["code"] == 401
            assert response.get_json()["error"]["message"]
        return response.status_code

    assert status({}) == 401
    assert status({"Authorization": "Bearer sakip_pat_tidak-ada"}) == 401
    assert status({"Authorization": "Bearer bukan-token"}) == 401
    assert status({"Authorization": "Basic ZGluYXMtYTpzYW5kaQ=="}) == 401
    good = bearer(session_factory, "dinas-a.kasubbag")
    assert status(good) == 200
    with transaction(session_factory) as session:
        token = session.scalars(select(ApiToken)).one()
        assert revoke_api_token(session, token_id=token.id, user_id=token.user_id)
    assert status(good) == 401
    expiring = bearer(session_factory, "dinas-a.tim")
    with transaction(session_factory) as session:
        session.execute(update(ApiToken).where(ApiToken.revoked_at.is_(None))
                        .values(expires_at=now() - timedelta(seconds=1)))
    assert status(expiring) == 401
    deactivated = bearer(session_factory, "dinas-a.kepala")
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "dinas-a.kepala").values(active=False))
    assert status(deactivated) == 401
    # Every route refuses an anonymous caller the same way, writes included.
    assert api.post(f"/packages/{world.a.cycle_id}/submit", as_=None).status_code == 401
    assert api.get("/cycles", as_=None).status_code == 401


def test_the_portal_session_works_and_its_writes_need_the_csrf_header(api, app, session_factory,
                                                                      world, settings):
    with transaction(session_factory) as session:
        user = session.get_one(User, world.a.users["dinas-a.staf1"])
        cookie = start_session(session, user=user, lifetime=timedelta(hours=1), ip=None,
                               user_agent=None)
    client = app.test_client()
    client.set_cookie("sakip_session", cookie)
    assert client.get(f"{API}/me").get_json()["username"] == "dinas-a.staf1"
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    csrf = hmac.new(settings.secret_key.encode(), f"csrf:{cookie}".encode(),
                    hashlib.sha256).hexdigest()
    url = f"{API}/items/{item_ids(package)['IKU']}/versions"
    refused = client.post(url, **upload_form(padded_pdf(3_000), csrf_token=csrf))
    assert refused.status_code == 400
    assert "X-CSRF-Token" in refused.get_json()["error"]["message"]
    wrong = client.post(url, headers={"X-CSRF-Token": "salah"}, **upload_form(padded_pdf(3_000)))
    assert wrong.status_code == 400
    assert count(session_factory, DocumentVersion) == 0
    done = client.post(url, headers={"X-CSRF-Token": csrf}, **upload_form(padded_pdf(3_000)))
    assert done.status_code == 201, done.get_json()


# -- cycles ---------------------------------------------------------------------------------------

def test_cycles_are_those_of_the_callers_scope(api, world):
    def ids(username):
        response = api.get("/cycles", as_=username)
        assert response.status_code == 200
        return {c["id"] for c in response.get_json()["cycles"]}

    a, b = str(world.a.cycle_id), str(world.b.cycle_id)
    assert ids("dinas-a.staf1") == {a}
    assert ids("dinas-b.kasubbag") == {b}
    assert ids("kota.organisasi") == ids("kota.inspektur") == {a, b}
    assert ids("kota.admin") == set()
    listed = api.get("/cycles", as_="dinas-a.kepala").get_json()["cycles"][0]
    assert listed["tenant_name"] == "Dinas A"
    assert listed["year"] == 2026
    assert listed["state"] == "active"
    assert "steps" not in listed


def test_cycle_detail_has_its_steps(api, world):
    response = api.get(f"/cycles/{world.a.cycle_id}", as_="dinas-a.tim")
    assert response.status_code == 200
    cycle = response.get_json()
    assert cycle["id"] == str(world.a.cycle_id)
    assert cycle["template"]
    assert is_utc_iso(cycle["opened_at"])
    steps = {s["number"]: s for s in cycle["steps"]}
    assert [steps[n]["state"] for n in sorted(steps)][:5] == ["completed"] * 4 + ["active"]
    collecting = steps[5]
    assert collecting["activity"]
    assert collecting["completed_at"] is None
    assert is_utc_iso(collecting["started_at"])
    assert is_utc_iso(collecting["due_at"])
    assert api.get(f"/cycles/{world.b.cycle_id}", as_="dinas-a.tim").status_code == 404
    assert api.get(f"/cycles/{world.a.cycle_id}", as_="kota.admin").status_code == 404
    assert api.get(f"/cycles/{world.b.cycle_id}", as_="kota.inspektur").status_code == 200
    missing = api.get("/cycles/00000000-0000-0000-0000-000000000000", as_="dinas-a.tim")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == "Siklus tidak ditemukan."
    assert api.get("/cycles/bukan-uuid", as_="dinas-a.tim").status_code == 404


# -- packages -------------------------------------------------------------------------------------

def test_packages_of_a_cycle_and_one_package(api, world):
    own = api.get(f"/cycles/{world.a.cycle_id}/packages", as_="dinas-a.staf1").get_json()
    assert [p["bidang_id"] for p in own["packages"]] == [str(world.a.bidang[0])]
    every = api.get(f"/cycles/{world.a.cycle_id}/packages", as_="dinas-a.kasubbag").get_json()
    assert {p["bidang_id"] for p in every["packages"]} == {str(b) for b in world.a.bidang}
    listed = every["packages"][0]
    assert "versions" not in listed["items"][0]
    response = api.get(f"/packages/{listed['id']}", as_="dinas-a.kasubbag")
    assert response.status_code == 200
    package = response.get_json()
    assert package["state"] == "draft"
    assert package["state_label"] == "Belum diserahkan"
    assert package["tenant_id"] == str(world.a.tenant_id)
    assert package["complete"] is False
    assert is_utc_iso(package["deadline"])
    assert isinstance(package["working_time_left_seconds"], int)
    assert package["working_time_left_seconds"] >= 0
    assert [(i["document_type"], i["state"], i["versions"], i["return_reason"])
            for i in package["items"]] == [("IKU", "missing", [], None),
                                           ("RENJA", "missing", [], None)]
    assert all(i["label"] for i in package["items"])
    assert api.get("/packages/00000000-0000-0000-0000-000000000000",
                   as_="dinas-a.kasubbag").status_code == 404


# -- uploads --------------------------------------------------------------------------------------

def test_upload_version_then_read_and_download_it(api, world, session_factory):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    item_id = item_ids(package)["IKU"]
    data = padded_pdf(40_000)
    response = api.upload(item_id, data, as_="dinas-a.staf1", filename="iku 2026.pdf")
    assert response.status_code == 201, response.get_json()
    version = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/versions/{version['id']}")
    assert version["number"] == 1
    assert version["item_id"] == item_id
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["size_bytes"] == len(data)
    assert version["kind"] == "pdf"
    assert version["content_type"] == "application/pdf"
    assert (version["filename"], version["title"], version["year"], version["notes"]) == (
        "iku 2026.pdf", METADATA["title"], 2026, METADATA["notes"])
    assert is_utc_iso(version["uploaded_at"])
    assert version["first_submitted_at"] is None

    assert api.get(f"/versions/{version['id']}", as_="dinas-a.kasubbag").get_json() == version
    detail = api.get(f"/packages/{package['id']}", as_="dinas-a.staf1").get_json()
    (iku,) = [i for i in detail["items"] if i["document_type"] == "IKU"]
    assert iku["state"] == "uploaded"
    assert iku["versions"] == [version]

    events = outbox_types(session_factory)
    again = api.upload(item_id, data, as_="dinas-a.staf1", filename="lagi.pdf")
    assert again.status_code == 200
    assert again.get_json()["id"] == version["id"]
    assert "Location" not in again.headers
    assert count(session_factory, DocumentVersion) == 1
    assert outbox_types(session_factory) == events

    link = api.get(f"/versions/{version['id']}/download", as_="dinas-a.kepala")
    assert link.status_code == 200
    assert link.headers["Cache-Control"] == "no-store"
    assert link.get_json()["expires_in"] == 300
    with urllib.request.urlopen(link.get_json()["url"], timeout=10) as fetched:  # noqa: S310
        assert fetched.read() == data
        assert "iku%202026.pdf" in fetched.headers["Content-Disposition"]
    with session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "document.downloaded")).one()
        assert entry.target_id == version["id"]
        assert entry.service == "intake"
        assert entry.actor_user_id == world.a.users["dinas-a.kepala"]
        assert entry.tenant_id == world.a.tenant_id


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"year": "abc"}, "year", "Tahun harus berupa angka."),
    ({"year": "1999"}, "year", "Tahun harus antara 2000 dan 2100."),
    ({"title": None}, "title", "Wajib diisi."),
    ({"warna": "merah"}, "warna", "Isian tidak dikenal."),
    ({"document_type": "RENJA"}, "document_type", "Butir ini untuk IKU."),
])
def test_upload_with_bad_fields_is_422(api, world, session_factory, form, field, message):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    response = api.upload(item_ids(package)["IKU"], padded_pdf(2_000), as_="dinas-a.staf1",
                          **form)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == 422
    assert error["message"]
    assert error["fields"][field] == [message]
    assert count(session_factory, DocumentVersion) == 0


def test_upload_refusals(api, world, session_factory):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    url = f"/items/{item_ids(package)['IKU']}/versions"
    for body in (ELF, HTML):  # spoofed: named .pdf, sent as application/pdf
        refused = api.upload(item_ids(package)["IKU"], body, as_="dinas-a.staf1",
                             filename="laporan.pdf")
        assert refused.status_code == 415
        assert refused.get_json()["error"]["message"]
    no_file = api.post(url, as_="dinas-a.staf1", **upload_form(None))
    assert no_file.status_code == 422
    assert no_file.get_json()["error"]["fields"] == {"file": ["Wajib diisi."]}
    not_a_form = api.post(url, as_="dinas-a.staf1", json=METADATA)
    assert not_a_form.status_code == 400
    reviewer = api.upload(item_ids(package)["IKU"], padded_pdf(2_000), as_="dinas-a.kasubbag")
    assert reviewer.status_code == 403
    other_bidang = api.upload(item_ids(package)["IKU"], padded_pdf(2_000), as_="dinas-a.staf2")
    assert other_bidang.status_code == 404
    assert count(session_factory, DocumentVersion) == 0
    assert outbox_types(session_factory) == Counter()


def test_upload_over_the_limit_is_413(settings, object_store, session_factory, world):
    small = create_app(dataclasses.replace(settings, max_upload_bytes=100_000))
    try:
        api = Api(small.test_client(), session_factory)
        package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
        response = api.upload(item_ids(package)["IKU"], padded_pdf(150_000),
                              as_="dinas-a.staf1")
        assert response.status_code == 413
        assert "MB" in response.get_json()["error"]["message"]
        assert count(session_factory, DocumentVersion) == 0
        assert document_keys(object_store, world.a.tenant_id) == []
    finally:
        small.extensions["sakip"].close()


# -- submitting, withdrawing, reviewing -----------------------------------------------------------

def test_submitting_an_incomplete_package_is_409_with_what_is_missing(api, world,
                                                                      session_factory):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    assert api.upload(item_ids(package)["IKU"], padded_pdf(2_000),
                      as_="dinas-a.staf1").status_code == 201
    response = api.post(f"/packages/{package['id']}/submit", as_="dinas-a.staf1")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["message"] == "Paket belum lengkap."
    (renja,) = [i for i in package["items"] if i["document_type"] == "RENJA"]
    assert error["details"] == [f"{renja['label']}: belum diunggah"]
    assert "submission.submitted" not in outbox_types(session_factory)


def test_action_bodies_are_validated(api, world):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    submit = f"/packages/{package['id']}/submit"
    extra = api.post(submit, as_="dinas-a.staf1", json={"segera": True})
    assert extra.status_code == 422
    assert extra.get_json()["error"]["fields"] == {"segera": ["Isian tidak dikenal."]}
    not_json = api.post(submit, as_="dinas-a.staf1", data="x=1", content_type="text/plain")
    assert not_json.status_code == 415
    not_object = api.post(submit, as_="dinas-a.staf1", json=[1])
    assert not_object.status_code == 422
    assert api.post(submit, as_="dinas-a.staf1", json={}).status_code == 409  # valid, incomplete

    review = f"/items/{item_ids(package)['IKU']}/review"
    cases = [
        ({"decision": "maybe"}, {"decision": ["Pilih salah satu: accept atau return."]}),
        ({"decision": "return"}, {"reason": ["Alasan pengembalian wajib diisi."]}),
        ({"decision": "return", "reason": "   "}, {"reason": ["Alasan pengembalian wajib diisi."]}),
        ({"reason": "x"}, {"decision": ["Wajib diisi."]}),
        ({"decision": "accept", "reason": 5}, {"reason": ["Harus berupa teks."]}),
        ({"decision": "accept", "catatan": "x"}, {"catatan": ["Isian tidak dikenal."]}),
    ]
    for body, fields in cases:
        response = api.post(review, as_="dinas-a.kasubbag", json=body)
        assert response.status_code == 422, body
        error = response.get_json()["error"]
        assert error["message"] == "Data yang dikirim tidak valid."
        assert error["fields"] == fields, body
    empty = api.post(review, as_="dinas-a.kasubbag")
    assert empty.status_code == 422
    not_submitted = api.post(review, as_="dinas-a.kasubbag", json={"decision": "accept"})
    assert not_submitted.status_code == 409


def test_withdraw_before_review(api, world, session_factory):
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    for n, item_id in enumerate(item_ids(package).values()):
        assert api.upload(item_id, padded_pdf(2_000, seed=n),
                          as_="dinas-a.staf1").status_code == 201
    path = f"/packages/{package['id']}"
    submitted = api.post(f"{path}/submit", as_="dinas-a.staf1")
    assert submitted.status_code == 200
    assert submitted.get_json()["state"] == "submitted"
    assert is_utc_iso(submitted.get_json()["submitted_at"])
    assert api.post(f"{path}/withdraw", as_="dinas-a.kasubbag").status_code == 403
    withdrawn = api.post(f"{path}/withdraw", as_="dinas-a.staf1", json={})
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["state"] == "draft"
    assert {i["state"] for i in withdrawn.get_json()["items"]} == {"uploaded"}
    again = api.post(f"{path}/withdraw", as_="dinas-a.staf1")
    assert again.status_code == 409
    assert outbox_types(session_factory)["submission.withdrawn"] == 1


def test_a_whole_collection_round_through_the_api(api, world, session_factory):
    staff, reviewer = "dinas-a.staf1", "dinas-a.kasubbag"
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_=staff)
    items, path = item_ids(package), f"/packages/{package['id']}"
    for n, item_id in enumerate(items.values()):
        assert api.upload(item_id, padded_pdf(5_000, seed=n), as_=staff).status_code == 201
    assert api.post(f"{path}/submit", as_=staff).get_json()["state"] == "submitted"

    returned = api.post(f"/items/{items['IKU']}/review", as_=reviewer,
                        json={"decision": "return", "reason": "Target tahun 2026 belum diisi."})
    assert returned.status_code == 200, returned.get_json()
    accepted = api.post(f"/items/{items['RENJA']}/review", as_=reviewer,
                        json={"decision": "accept"})
    state = accepted.get_json()
    assert state["state"] == "returned"
    (iku,) = [i for i in state["items"] if i["document_type"] == "IKU"]
    assert (iku["state"], iku["return_reason"]) == ("returned", "Target tahun 2026 belum diisi.")
    assert api.post(f"{path}/submit", as_=staff).status_code == 409  # the return is unanswered

    replaced = api.upload(items["IKU"], padded_pdf(5_000, seed=9), as_=staff)
    assert replaced.status_code == 201
    assert replaced.get_json()["number"] == 2
    assert api.post(f"{path}/submit", as_=staff).get_json()["state"] == "submitted"
    final = api.post(f"/items/{items['IKU']}/review", as_=reviewer, json={"decision": "accept"})
    assert final.status_code == 200
    done = api.get(path, as_=staff).get_json()
    assert done["state"] == "accepted"
    assert done["state_label"] == "Diterima"
    assert {i["state"] for i in done["items"]} == {"accepted"}
    (iku,) = [i for i in done["items"] if i["document_type"] == "IKU"]
    assert [v["number"] for v in iku["versions"]] == [2, 1]
    assert iku["return_reason"] is None
    assert api.post(f"/items/{items['IKU']}/review", as_=reviewer,
                    json={"decision": "accept"}).status_code == 409

    assert outbox_types(session_factory, world.a.tenant_id) == Counter({
        "document.uploaded": 2, "submission.submitted": 2, "document.returned": 1,
        "document.replaced": 1, "document.accepted": 2, "submission.accepted": 1})
    assert outbox_types(session_factory, world.b.tenant_id) == Counter()


# -- the OpenAPI document -------------------------------------------------------------------------

def test_openapi_document_covers_every_route(app):
    response = app.test_client().get(f"{API}/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) >= 12
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"], (rule.rule, method)
            assert operation["responses"], (rule.rule, method)
    upload = document["paths"][f"{API}/items/{{item_id}}/versions"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "200", "413", "415", "422"} <= set(upload["responses"])
    review = document["components"]["schemas"]["Review"]
    assert review["properties"]["decision"]["enum"] == ["accept", "return"]
    package = document["components"]["schemas"]["PackageDetail"]["properties"]
    assert package["working_time_left_seconds"]["type"] == "integer"
