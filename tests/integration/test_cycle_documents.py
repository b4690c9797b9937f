"""The cycle's own documents (the SK of the evaluation team in step 2, the evaluation guideline in
step 3) through the intake API: the streaming upload with its sniffed type and size limit, the
refusals that leave nothing behind (no row, no event, no object), the listing and the audited
download, other tenants kept out, and the sweeper knowing their keys."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import urllib.request
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from services.intake.app import create_app
from services.intake.filetypes import FileKind
from services.intake.sweeper import sweep_orphans
from services.workflow.cycles import complete_step, open_cycle
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle, SopTemplate
from shared.db import transaction
from shared.documents.models import CycleDocument
from shared.events.models import OutboxEvent
from shared.storage import object_key
from tests.integration.test_api import Api, upload_form
from tests.samples import SAMPLES, make_png, padded_pdf
from tests.world import SEEDED_AT, World

SK = "SK_TIM_EVALUASI"
GUIDELINE = "PEDOMAN_EVALUASI"
ONLY_DOCUMENTS = "Unggah PDF, DOCX atau ODT."


@pytest.fixture
def api(app, session_factory, world):
    return Api(app.test_client(), session_factory)


@pytest.fixture
def fresh_cycle(world: World, session_factory) -> uuid.UUID:
    """Dinas A's 2027 cycle, step 1 confirmed: step 2 (the SK) runs."""
    with transaction(session_factory) as session:
        template = session.scalars(select(SopTemplate)).first()
        assert template is not None
        kepala = world.a.principals["kepala"]
        cycle = open_cycle(session, tenant_id=world.a.tenant_id, year=2027, template=template,
                           at=SEEDED_AT, principal=kepala)
        complete_step(session, cycle, 1, at=SEEDED_AT, principal=kepala)
        return cycle.id


def upload(api: Api, cycle_id, kind: str, data: bytes | None, *, as_: str,
           filename: str = "sk.pdf", content_type: str = "application/pdf"):
    form = upload_form(data, filename=filename, content_type=content_type,
                       title=None, year=None, notes=None)
    return api.post(f"/cycles/{cycle_id}/documents/{kind}", as_=as_, **form)


def traces(session_factory, store, tenant_id) -> tuple[int, int, int]:
    """Rows, events and objects of cycle documents under the tenant."""
    with session_factory() as session:
        rows = session.scalar(select(func.count()).select_from(CycleDocument)) or 0
        events = session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.type == "cycle_document.uploaded")) or 0
    objects = [k for k in store.keys(f"tenants/{tenant_id}/") if "/cycle_document/" in k]
    return rows, events, len(objects)


def test_the_sk_goes_in_once_is_listed_and_downloads_audited(api, world, fresh_cycle,
                                                             session_factory, object_store):
    data = padded_pdf(40_000)
    created = upload(api, fresh_cycle, SK, data, as_="dinas-a.kepala")
    assert created.status_code == 201, created.get_json()
    document = created.get_json()
    assert document["kind"] == SK
    assert document["number"] == 1
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["content_type"] == "application/pdf"
    assert document["uploaded_by"] == str(world.a.users["dinas-a.kepala"])
    before = traces(session_factory, object_store, world.a.tenant_id)
    again = upload(api, fresh_cycle, SK, data, as_="dinas-a.kasubbag")  # same bytes
    assert again.status_code == 200
    assert again.get_json()["id"] == document["id"]
    assert traces(session_factory, object_store, world.a.tenant_id) == before
    docx = upload(api, fresh_cycle, SK, SAMPLES[FileKind.DOCX],
                  as_="dinas-a.kasubbag", filename="sk.docx",
                  content_type=FileKind.DOCX.mime_type)
    assert docx.status_code == 201
    assert docx.get_json()["number"] == 2

    listed = api.get(f"/cycles/{fresh_cycle}/documents", as_="dinas-a.staf1")
    assert listed.status_code == 200
    assert [d["number"] for d in listed.get_json()["documents"]] == [2, 1]
    link = api.get(f"/cycle-documents/{document['id']}/download", as_="kota.inspektur")
    assert link.status_code == 200
    with urllib.request.urlopen(link.get_json()["url"], timeout=10) as response:  # noqa: S310
        assert response.read() == data
    with session_factory() as session:
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "cycle_document.downloaded")).one()
        assert audit.after["via"] == "api"
        assert audit.after["kind"] == SK
        stored = session.get_one(CycleDocument, uuid.UUID(document["id"]))
    assert stored.object_key.startswith(
        f"tenants/{world.a.tenant_id}/cycles/{fresh_cycle}/cycle_document/")


@pytest.mark.parametrize(("as_", "kind", "data", "status", "message"), [
    ("dinas-a.kepala", SK, make_png(), 415, ONLY_DOCUMENTS),  # an image is not an SK
    ("dinas-a.kepala", SK, SAMPLES[FileKind.XLSX], 415,
     ONLY_DOCUMENTS),
    ("dinas-a.kepala", SK, b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, 415, ONLY_DOCUMENTS),
    ("dinas-a.kepala", SK, None, 422, "Pilih berkas"),
    ("dinas-a.tim", SK, padded_pdf(5_000), 403, "diunggah oleh Kepala Dinas"),
    ("dinas-a.staf1", SK, padded_pdf(5_000), 403, "diunggah oleh"),
    ("kota.inspektur", SK, padded_pdf(5_000), 403, "diunggah oleh"),
    ("dinas-b.kepala", SK, padded_pdf(5_000), 404, "tidak ditemukan"),
    ("dinas-a.tim", GUIDELINE, padded_pdf(5_000), 409, "langkah 3"),  # step 3 not running
    ("dinas-a.kepala", "SK_LAIN", padded_pdf(5_000), 404, "tidak dikenal"),
])
def test_refused_uploads_leave_nothing(api, world, fresh_cycle, session_factory, object_store,
                                       as_, kind, data, status, message):
    before = traces(session_factory, object_store, world.a.tenant_id)
    response = upload(api, fresh_cycle, kind, data, as_=as_, filename="berkas.pdf")
    assert response.status_code == status, response.get_json()
    assert message in response.get_json()["error"]["message"]
    assert traces(session_factory, object_store, world.a.tenant_id) == before


def test_a_broken_form_and_an_oversized_body_leave_nothing(api, world, fresh_cycle, settings,
                                                           session_factory, object_store):
    before = traces(session_factory, object_store, world.a.tenant_id)
    broken = api.post(f"/cycles/{fresh_cycle}/documents/{SK}", as_="dinas-a.kepala",
                      data=b"--x\r\nContent-Disposition: form-data; name=\"file\"; "
                           b"filename=\"sk.pdf\"\r\n\r\n%PDF-1.4",
                      content_type="multipart/form-data; boundary=x")
    assert broken.status_code == 400
    small = create_app(dataclasses.replace(settings, max_upload_bytes=20_000))
    try:
        too_big = upload(Api(small.test_client(), session_factory), fresh_cycle, SK,
                         padded_pdf(60_000), as_="dinas-a.kepala")
        assert too_big.status_code == 413
        assert too_big.get_json()["error"]["message"].startswith("Berkas terlalu besar.")
    finally:
        small.extensions["sakip"].close()
    assert traces(session_factory, object_store, world.a.tenant_id) == before


def test_a_database_failure_after_storing_removes_the_object(api, world, fresh_cycle, pg_engine,
                                                             session_factory, object_store):
    before = traces(session_factory, object_store, world.a.tenant_id)
    with pg_engine.begin() as conn:  # a real PostgreSQL error at the document's INSERT
        conn.execute(text("CREATE FUNCTION refuse_cycle_document() RETURNS trigger AS $$ BEGIN "
                          "RAISE EXCEPTION 'simulated outage'; END $$ LANGUAGE plpgsql"))
        conn.execute(text("CREATE TRIGGER refuse_cycle_documents BEFORE INSERT ON "
                          "cycle_documents FOR EACH ROW EXECUTE FUNCTION "
                          "refuse_cycle_document()"))
    try:
        response = upload(api, fresh_cycle, SK, padded_pdf(8_000), as_="dinas-a.kepala")
        assert response.status_code == 503
        assert traces(session_factory, object_store, world.a.tenant_id) == before
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_cycle_documents ON cycle_documents"))
            conn.execute(text("DROP FUNCTION refuse_cycle_document()"))


def test_another_dinas_sees_neither_the_list_nor_the_files(api, world, session_factory):
    with session_factory() as session:
        (document_id,) = session.scalars(select(CycleDocument.id).where(
            CycleDocument.cycle_id == world.a.cycle_id, CycleDocument.kind == SK))
    for user in ("dinas-b.kepala", "dinas-b.staf1", "kota.admin"):
        assert api.get(f"/cycles/{world.a.cycle_id}/documents", as_=user).status_code == 404
        link = api.get(f"/cycle-documents/{document_id}/download", as_=user)
        assert link.status_code == 404, user
    assert api.get(f"/cycle-documents/{uuid.uuid4()}/download",
                   as_="dinas-a.kepala").status_code == 404
    with session_factory() as session:
        assert session.scalars(select(AuditEntry).where(
            AuditEntry.action == "cycle_document.downloaded")).first() is None


def test_the_sweeper_removes_orphaned_cycle_documents_only(world, session_factory,
                                                           object_store):
    with session_factory() as session:
        kept = session.scalars(select(CycleDocument.object_key).where(
            CycleDocument.cycle_id == world.a.cycle_id)).all()
        cycle = session.get_one(Cycle, world.a.cycle_id)
    orphan = object_key(tenant_id=world.a.tenant_id, cycle_id=cycle.id, kind="cycle_document")
    object_store.put_stream(orphan, io.BytesIO(b"%PDF-1.4 crash"), content_type="application/pdf")
    prefix = f"tenants/{world.a.tenant_id}/"
    assert sweep_orphans(object_store, session_factory, prefix=prefix) == []  # within grace
    removed = sweep_orphans(object_store, session_factory, grace=timedelta(0),
                            at=now() + timedelta(seconds=5), prefix=prefix)
    assert removed == [orphan]
    assert len(kept) == 2
    assert all(object_store.exists(key) for key in kept)
