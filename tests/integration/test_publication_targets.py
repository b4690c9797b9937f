"""Publishing an SOP template version or an LKE rubric version to every dinas or only some, against
the real workflow and reporting APIs (PostgreSQL, Redis, S3): what each dinas is offered, that
another dinas can neither see nor use it (no cycle opened on it, no LKE scored with it), the
targets changed by publishing the same version again (audited), refused targets and files that
save nothing; and the portal's upload page (platform_admin) over HTTP to the real services."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from services.reporting.app import create_app as create_reporting_app
from services.reporting.evaluations import default_rubric
from services.reporting.rubrics import DEFAULT_RUBRIC, ensure_bundled_rubrics, publish_rubric
from services.workflow.app import create_app as create_workflow_app
from services.workflow.cycles import open_cycle
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle, SopTemplate
from shared.db import transaction
from shared.identity.models import Tenant
from shared.publication_targets import Targets
from shared.reporting.models import Evaluation, Rubric
from shared.reporting.rubric import bundled_rubrics, rubric_from_dict
from shared.reporting.workbook import export_lke_workbook
from shared.web.errors import Conflict, NotFound
from tests.integration.test_portal import csrf, log_in, messages
from tests.integration.test_reporting_api import ReportingApi, start_step_six
from tests.integration.test_workflow_api import WorkflowApi, template_text

KOTA_ADMIN = "kota.admin"


@pytest.fixture
def wf(settings, object_store, redis_client, session_factory, world):
    application = create_workflow_app(settings)
    yield WorkflowApi(application, session_factory, settings)
    application.extensions["sakip"].close()


@pytest.fixture
def rp(settings, object_store, redis_client, session_factory, world):
    application = create_reporting_app(settings)
    yield ReportingApi(application, session_factory, settings)
    application.extensions["sakip"].close()


def error_of(response) -> dict:
    return response.get_json()["error"]


def audit_rows(session_factory, action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


def template_codes(wf: WorkflowApi, who: str) -> set[str]:
    answer = wf.get("/templates", as_=who)
    assert answer.status_code == 200, answer.get_json()
    return {t["code"] for t in answer.get_json()["templates"]}


def template_count(session_factory, code: str) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(SopTemplate)
                              .where(SopTemplate.code == code)) or 0


def p12_version(version: int):
    document = next(r for r in bundled_rubrics() if r.code == DEFAULT_RUBRIC).to_dict()
    document["version"] = version
    document["components"][0]["subcomponents"][0]["criteria"][0]["text"] = f"Versi {version}"
    return rubric_from_dict(document)


def workbook_form(*, code: str, version: int = 1, data: bytes | None = None,
                  tenant_ids: list[str] | None = None) -> dict:
    definition = p12_version(1)
    form = {"code": code, "version": str(version), "name": f"LKE {code}",
            "regulation": definition.regulation, "source": definition.source,
            "file": (io.BytesIO(data if data is not None else export_lke_workbook(definition)),
                     "lke.xlsx")}
    if tenant_ids is not None:
        form["tenant_ids"] = tenant_ids
    return form


# -- SOP templates --------------------------------------------------------------------------------

def test_a_template_published_to_dinas_a_is_not_offered_to_dinas_b(wf, world, session_factory):
    a, b = str(world.a.tenant_id), str(world.b.tenant_id)
    published = wf.post(f"/templates?tenant_ids={a}", as_=KOTA_ADMIN,
                        data=template_text("hanya-a").encode(), content_type="application/yaml")
    assert published.status_code == 201, published.get_json()
    body = published.get_json()
    assert (body["all_tenants"], body["tenant_ids"], body["tenant_id"]) == (False, [a], None)
    template_id = body["id"]

    assert "hanya-a" in template_codes(wf, world.a.username("kepala"))
    assert "hanya-a" in template_codes(wf, world.a.username("staf1"))
    assert "hanya-a" not in template_codes(wf, world.b.username("kepala"))
    assert "hanya-a" in template_codes(wf, KOTA_ADMIN)  # the publisher sees every version
    assert "hanya-a" in template_codes(wf, "kota.inspektur")  # so does the city's reader
    assert wf.get(f"/templates/{template_id}", as_=world.b.username("kasubbag")).status_code \
        == 404
    shown = wf.get(f"/templates/{template_id}", as_=world.a.username("kasubbag"))
    assert shown.status_code == 200
    assert shown.get_json()["tenant_ids"] == [a]

    # dinas-b cannot open a cycle on it, even naming it by id
    refused = wf.post("/cycles", as_=world.b.username("kepala"),
                      json={"tenant_id": b, "year": 2027, "template_id": template_id})
    assert refused.status_code == 404
    assert error_of(refused)["message"] == "Templat SOP tidak ditemukan."
    with session_factory() as session:
        assert session.scalar(select(Cycle.id).where(Cycle.year == 2027)) is None
    opened = wf.post("/cycles", as_=world.a.username("kepala"),
                     json={"tenant_id": a, "year": 2027, "template_id": template_id})
    assert opened.status_code == 201, opened.get_json()

    (row,) = [r for r in audit_rows(session_factory, "template.published")
              if r.target_id == template_id]
    assert row.after["all_tenants"] is False
    assert row.after["tenants"] == ["dinas-a"]


def test_a_dinas_is_told_only_about_itself_among_the_targets(wf, world):
    a, b = str(world.a.tenant_id), str(world.b.tenant_id)
    published = wf.post(f"/templates?tenant_ids={a},{b}", as_=KOTA_ADMIN,
                        data=template_text("a-dan-b").encode(), content_type="application/yaml")
    assert published.status_code == 201, published.get_json()
    assert sorted(published.get_json()["tenant_ids"]) == sorted([a, b])
    template_id = published.get_json()["id"]
    seen_by_a = wf.get(f"/templates/{template_id}", as_=world.a.username("tim")).get_json()
    assert seen_by_a["tenant_ids"] == [a]
    seen_by_b = wf.get(f"/templates/{template_id}", as_=world.b.username("tim")).get_json()
    assert seen_by_b["tenant_ids"] == [b]


def test_publishing_the_same_version_again_changes_only_its_targets(wf, world,
                                                                   session_factory):
    a, b = str(world.a.tenant_id), str(world.b.tenant_id)
    text = template_text("berubah-tujuan")
    first = wf.post(f"/templates?tenant_ids={a}", as_=KOTA_ADMIN, data=text.encode(),
                    content_type="application/yaml")
    assert first.status_code == 201
    # the same file as a form, now for both dinas (the field repeated)
    widened = wf.post("/templates", as_=KOTA_ADMIN, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(text.encode()), "sop.yaml"),
                            "tenant_ids": [a, b]})
    assert widened.status_code == 200, widened.get_json()
    assert widened.get_json()["id"] == first.get_json()["id"]
    assert sorted(widened.get_json()["tenant_ids"]) == sorted([a, b])
    assert "berubah-tujuan" in template_codes(wf, world.b.username("kepala"))
    to_all = wf.post("/templates", as_=KOTA_ADMIN, data=text.encode(),
                     content_type="application/yaml")
    assert to_all.status_code == 200
    assert (to_all.get_json()["all_tenants"], to_all.get_json()["tenant_ids"]) == (True, [])
    same = wf.post("/templates", as_=KOTA_ADMIN, data=text.encode(),
                   content_type="application/yaml")
    assert same.status_code == 200

    changes = audit_rows(session_factory, "template.targets_changed")
    assert [(c.before["all_tenants"], c.after["all_tenants"]) for c in changes] == [
        (False, False), (False, True)]  # nothing audited when nothing changed
    assert changes[0].before["tenants"] == ["dinas-a"]
    assert changes[0].after["tenants"] == ["dinas-a", "dinas-b"]
    assert changes[0].actor_user_id is not None
    assert template_count(session_factory, "berubah-tujuan") == 1


def test_refused_targets_save_nothing(wf, world, session_factory):
    with transaction(session_factory) as session:
        closed = Tenant(slug="dinas-tutup", name="Dinas Tutup", active=False)
        session.add(closed)
        session.flush()
        closed_id = closed.id

    def publish(query: str, code: str):
        return wf.post(f"/templates{query}", as_=KOTA_ADMIN, data=template_text(code).encode(),
                       content_type="application/yaml")

    unknown = publish(f"?tenant_ids={uuid.uuid4()}", "tak-dikenal")
    assert unknown.status_code == 422
    assert "tidak ditemukan" in " ".join(error_of(unknown)["details"])
    not_uuid = publish("?tenant_ids=dinas-a", "bukan-uuid")
    assert not_uuid.status_code == 422
    assert "'dinas-a'" in error_of(not_uuid)["details"][0]
    closed_one = publish(f"?tenant_ids={closed_id}", "dinas-tutup")
    assert closed_one.status_code == 422
    assert "Dinas Tutup sudah dinonaktifkan" in error_of(closed_one)["details"][0]
    variant = wf.post(f"/templates?tenant_id={world.a.tenant_id}&tenant_ids={world.b.tenant_id}",
                      as_=world.a.username("kepala"), data=template_text("varian").encode(),
                      content_type="application/yaml")
    assert variant.status_code == 422
    assert "tenant_ids" in error_of(variant)["fields"]
    for code in ("tak-dikenal", "bukan-uuid", "dinas-tutup", "varian"):
        assert template_count(session_factory, code) == 0


def test_a_malformed_template_with_targets_names_line_and_field_and_saves_nothing(
        wf, world, session_factory):
    bad = template_text("rusak").replace("actors: [tim_evaluasi]\n", "actors: [lurah]\n", 1)
    refused = wf.post(f"/templates?tenant_ids={world.a.tenant_id}", as_=KOTA_ADMIN,
                      data=bad.encode(), content_type="application/yaml")
    assert refused.status_code == 422
    assert re.search(r"baris \d+: steps\.2\.actors\.0", error_of(refused)["details"][0])
    assert template_count(session_factory, "rusak") == 0
    assert not [r for r in audit_rows(session_factory, "template.published")
                if r.after["code"] == "rusak"]


def test_no_cycle_opens_on_a_template_of_another_dinas_or_for_a_closed_dinas(
        wf, world, session_factory):
    a = world.a.tenant_id
    published = wf.post(f"/templates?tenant_ids={a}", as_=KOTA_ADMIN,
                        data=template_text("domain-a").encode(), content_type="application/yaml")
    template_id = uuid.UUID(published.get_json()["id"])
    with transaction(session_factory) as session:
        template = session.get_one(SopTemplate, template_id)
        with pytest.raises(NotFound):
            open_cycle(session, tenant_id=world.b.tenant_id, year=2027, template=template,
                       at=now(), principal=world.b.principals["kepala"])
    with transaction(session_factory) as session:
        session.get_one(Tenant, a).active = False
    with transaction(session_factory) as session:
        template = session.get_one(SopTemplate, template_id)
        with pytest.raises(Conflict, match="dinonaktifkan"):
            open_cycle(session, tenant_id=a, year=2027, template=template, at=now(),
                       principal=world.a.principals["kepala"])


# -- LKE rubrics ----------------------------------------------------------------------------------

def test_a_rubric_published_to_dinas_a_is_not_offered_to_dinas_b(rp, world, session_factory):
    a = str(world.a.tenant_id)
    imported = rp.post("/rubrics/import", as_=KOTA_ADMIN, content_type="multipart/form-data",
                       data=workbook_form(code="lke-hanya-a", tenant_ids=[a]))
    assert imported.status_code == 201, imported.get_json()
    body = imported.get_json()
    assert (body["all_tenants"], body["tenant_ids"]) == (False, [a])
    rubric_id = body["id"]

    def codes(who: str, query: str = "") -> set[str]:
        answer = rp.get(f"/rubrics{query}", as_=who)
        assert answer.status_code == 200, answer.get_json()
        return {r["code"] for r in answer.get_json()}

    assert "lke-hanya-a" in codes(world.a.username("tim"))
    assert DEFAULT_RUBRIC in codes(world.b.username("tim"))  # the bundled ones: every dinas
    assert "lke-hanya-a" not in codes(world.b.username("tim"))
    assert "lke-hanya-a" in codes(KOTA_ADMIN)
    assert "lke-hanya-a" not in codes(KOTA_ADMIN, f"?tenant_id={world.b.tenant_id}")
    assert "lke-hanya-a" in codes("kota.organisasi", f"?tenant_id={a}")
    assert rp.get(f"/rubrics?tenant_id={world.b.tenant_id}",
                  as_=world.a.username("tim")).status_code == 404  # another dinas
    assert rp.get(f"/rubrics/{rubric_id}", as_=world.b.username("tim")).status_code == 404
    assert rp.get(f"/rubrics/{rubric_id}", as_=world.a.username("tim")).status_code == 200

    # dinas-b's team cannot score its LKE with it; dinas-a's can
    start_step_six(session_factory, world.b)
    refused = rp.put(f"/cycles/{world.b.cycle_id}/evaluation", as_=world.b.username("tim"),
                     json={"rubric_id": rubric_id, "findings": "Uji."})
    assert refused.status_code == 422, refused.get_json()
    assert "tidak diterbitkan untuk perangkat daerah ini" in error_of(refused)["details"][0]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 0
    start_step_six(session_factory, world.a)
    saved = rp.put(f"/cycles/{world.a.cycle_id}/evaluation", as_=world.a.username("tim"),
                   json={"rubric_id": rubric_id, "findings": "Uji."})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["rubric"]["id"] == rubric_id

    (row,) = [r for r in audit_rows(session_factory, "rubric.published")
              if r.after["code"] == "lke-hanya-a"]
    assert (row.after["code"], row.after["all_tenants"], row.after["tenants"]) == (
        "lke-hanya-a", False, ["dinas-a"])


def test_the_default_rubric_is_the_newest_version_offered_to_the_dinas(session_factory, world):
    with transaction(session_factory) as session:
        ensure_bundled_rubrics(session)
        newer = publish_rubric(session, p12_version(2), by=None,
                               targets=Targets(all_tenants=False,
                                               tenant_ids=frozenset({world.a.tenant_id})))
        assert default_rubric(session, world.a.tenant_id).id == newer.id
        assert default_rubric(session, world.b.tenant_id).version == 1
        # the bundled files published again keep the targets chosen
        ensure_bundled_rubrics(session)
        assert default_rubric(session, world.b.tenant_id).version == 1


def test_rubric_targets_change_on_a_new_import_and_bad_ones_save_nothing(rp, world,
                                                                        session_factory):
    a, b = str(world.a.tenant_id), str(world.b.tenant_id)
    assert rp.post("/rubrics/import", as_=KOTA_ADMIN, content_type="multipart/form-data",
                   data=workbook_form(code="lke-tujuan", tenant_ids=[a])).status_code == 201
    both = rp.post("/rubrics/import", as_=KOTA_ADMIN, content_type="multipart/form-data",
                   data=workbook_form(code="lke-tujuan", tenant_ids=[f"{a},{b}"]))
    assert both.status_code == 200, both.get_json()
    assert sorted(both.get_json()["tenant_ids"]) == sorted([a, b])
    (change,) = audit_rows(session_factory, "rubric.targets_changed")
    assert (change.before["tenants"], change.after["tenants"]) == (
        ["dinas-a"], ["dinas-a", "dinas-b"])

    unknown = rp.post("/rubrics/import", as_=KOTA_ADMIN, content_type="multipart/form-data",
                      data=workbook_form(code="lke-salah", tenant_ids=[str(uuid.uuid4())]))
    assert unknown.status_code == 422
    broken = rp.post("/rubrics/import", as_=KOTA_ADMIN, content_type="multipart/form-data",
                     data=workbook_form(code="lke-rusak", data=b"bukan buku kerja",
                                        tenant_ids=[a]))
    assert broken.status_code == 422
    assert error_of(broken)["details"]
    refused = rp.post("/rubrics/import", as_=world.a.username("kepala"),
                      content_type="multipart/form-data",
                      data=workbook_form(code="lke-kepala", tenant_ids=[a]))
    assert refused.status_code == 403
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Rubric).where(
            Rubric.code.in_(["lke-salah", "lke-rusak", "lke-kepala"]))) == 0


# -- the portal's upload page ---------------------------------------------------------------------

def test_the_platform_admin_publishes_from_the_portal(portal_app, world, session_factory):
    client = log_in(portal_app, KOTA_ADMIN)
    page = client.get("/admin/kota/terbitan")
    assert page.status_code == 200, page.text
    assert "Dinas A" in page.text
    assert "pengumpulan-data-kinerja" in page.text
    token = csrf(client)

    bad = template_text("portal-rusak").replace("actors: [tim_evaluasi]\n", "actors: [lurah]\n",
                                                1)
    refused = client.post("/admin/kota/terbitan/templat", data={
        "csrf_token": token, "scope": "all",
        "file": (io.BytesIO(bad.encode()), "sop.yaml")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "Tidak ada yang disimpan" in refused.text
    assert re.search(r"baris \d+: steps\.2\.actors\.0", refused.text)
    assert template_count(session_factory, "portal-rusak") == 0

    none_picked = client.post("/admin/kota/terbitan/templat", data={
        "csrf_token": token, "scope": "some",
        "file": (io.BytesIO(template_text("portal-kosong").encode()), "sop.yaml")},
        content_type="multipart/form-data")
    assert none_picked.status_code == 422
    assert "Pilih minimal satu perangkat daerah" in none_picked.text
    assert template_count(session_factory, "portal-kosong") == 0

    done = client.post("/admin/kota/terbitan/templat", data={
        "csrf_token": token, "scope": "some", "tenant_ids": [str(world.a.tenant_id)],
        "file": (io.BytesIO(template_text("portal-a").encode()), "sop.yaml")},
        content_type="multipart/form-data")
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["Location"]).text
    assert "diterbitkan untuk perangkat daerah terpilih" in messages(shown)
    assert re.search(r"portal-a</code></td><td>1</td>\s*<td>Dinas A</td>", shown)
    with session_factory() as session:
        template = session.scalars(select(SopTemplate).where(
            SopTemplate.code == "portal-a")).one()
        assert template.all_tenants is False

    workbook = export_lke_workbook(p12_version(1))
    bad_rows = client.post("/admin/kota/terbitan/rubrik", data={
        "csrf_token": token, "scope": "all", "code": "lke-portal", "version": "1",
        "name": "LKE portal", "regulation": "Peraturan", "source": "Uji",
        "file": (io.BytesIO(b"PK\x03\x04 bukan buku kerja"), "lke.xlsx")},
        content_type="multipart/form-data")
    assert bad_rows.status_code == 422
    assert "Buku kerja LKE tidak valid." in bad_rows.text
    imported = client.post("/admin/kota/terbitan/rubrik", data={
        "csrf_token": token, "scope": "some", "tenant_ids": [str(world.b.tenant_id)],
        "code": "lke-portal", "version": "1", "name": "LKE portal", "regulation": "Peraturan",
        "source": "Uji", "file": (io.BytesIO(workbook), "lke.xlsx")},
        content_type="multipart/form-data")
    assert imported.status_code == 303, imported.text
    with session_factory() as session:
        rubric = session.scalars(select(Rubric).where(Rubric.code == "lke-portal")).one()
        assert rubric.all_tenants is False


def test_tenant_roles_cannot_reach_the_publishing_page(portal_app, world):
    for who in (world.a.username("kepala"), world.a.username("staf1"), "kota.inspektur"):
        client = log_in(portal_app, who)
        assert client.get("/admin/kota/terbitan").status_code == 403
        posted = client.post("/admin/kota/terbitan/templat", data={
            "csrf_token": csrf(client), "scope": "all",
            "file": (io.BytesIO(template_text("dilarang").encode()), "sop.yaml")},
            content_type="multipart/form-data")
        assert posted.status_code == 403
