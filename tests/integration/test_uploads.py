"""The upload rules, end to end below HTTP: the real streaming parser, S3, PostgreSQL.

Every refusal must leave nothing behind: no object under the tenant's prefix, no version row,
no outbox event.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from sakip.localinfra import free_ports
from services.intake.packages import ensure_package
from services.intake.sweeper import sweep_orphans
from services.intake.upload_flow import UploadRefused, upload_document
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.documents.models import DocumentVersion, SubmissionItem
from shared.events.models import OutboxEvent
from shared.storage import object_key
from shared.web.resources import Resources
from tests.samples import document_keys, make_png, padded_pdf, zip_bomb

METADATA = {"title": "Indikator Kinerja Utama 2026", "year": "2026", "notes": "versi final"}
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'


def form(file_bytes: bytes | None, *, filename: str = "iku.pdf",
         content_type: str = "application/pdf", **fields: str) -> tuple[bytes, str]:
    values: dict[str, object] = {**METADATA, **fields}
    if file_bytes is not None:
        values["file"] = FileStorage(io.BytesIO(file_bytes), filename=filename,
                                     content_type=content_type)
    boundary, body = encode_multipart(values)
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def res(settings, object_store):
    resources = Resources(settings)
    yield resources
    resources.close()


def item_of(session_factory, dinas, bidang_index=0, document_type="IKU"):
    from shared.documents.models import Submission

    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        package = ensure_package(session, cycle=cycle, bidang_id=dinas.bidang[bidang_index])
        item = session.scalars(select(SubmissionItem).where(
            SubmissionItem.submission_id == package.id,
            SubmissionItem.document_type == document_type)).one()
        assert session.get(Submission, package.id)
        return item.id


def upload(res, principal, item_id, body_and_type):
    body, content_type = body_and_type
    return upload_document(res, principal, item_id, body=io.BytesIO(body),
                           content_type=content_type, content_length=len(body))


def counts(session_factory, res, tenant_id):
    with session_factory() as session:
        versions = session.scalar(select(func.count()).select_from(DocumentVersion))
        events = session.scalar(select(func.count()).select_from(OutboxEvent))
    objects = document_keys(res.object_store, tenant_id)
    return versions, events, len(objects)


def test_upload_stores_object_row_event_and_audit_together(world, res, session_factory):
    item_id = item_of(session_factory, world.a)
    data = padded_pdf(300_000)
    result = upload(res, world.a.principals["staf1"], item_id, form(data))
    assert result.created
    version = result.version
    assert version.sha256 == hashlib.sha256(data).hexdigest()
    assert version.size_bytes == len(data)
    assert version.kind == "pdf"
    assert version.filename == "iku.pdf"
    assert version.object_key.startswith(f"tenants/{world.a.tenant_id}/cycles/"
                                         f"{world.a.cycle_id}/document/")
    assert res.object_store.sha256_of(version.object_key) == version.sha256
    with session_factory() as session:
        event = session.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "document.uploaded")).one()
        assert event.payload["version_id"] == str(version.id)
        assert event.tenant_id == world.a.tenant_id
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "document.uploaded")) == 1


def test_identical_reupload_answers_with_the_existing_version(world, res, session_factory):
    item_id = item_of(session_factory, world.a)
    data = padded_pdf(50_000)
    first = upload(res, world.a.principals["staf1"], item_id, form(data))
    before = counts(session_factory, res, world.a.tenant_id)
    again = upload(res, world.a.principals["staf1"], item_id, form(data, filename="lagi.pdf"))
    assert not again.created
    assert again.version.id == first.version.id
    assert counts(session_factory, res, world.a.tenant_id) == before


def test_replacement_keeps_earlier_versions(world, res, session_factory):
    item_id = item_of(session_factory, world.a)
    upload(res, world.a.principals["staf1"], item_id, form(padded_pdf(10_000, seed=1)))
    second = upload(res, world.a.principals["staf1"], item_id, form(padded_pdf(10_000, seed=2)))
    assert second.version.number == 2
    with session_factory() as session:
        types = session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.seq)).all()
    assert types[-2:] == ["document.uploaded", "document.replaced"]
    assert len(document_keys(res.object_store, world.a.tenant_id)) == 2


@pytest.mark.parametrize(("body", "status", "filename", "content_type"), [
    (ELF, 415, "laporan.pdf", "application/pdf"),
    (HTML, 415, "laporan.pdf", "application/pdf"),
    (SVG, 415, "laporan.pdf", "application/pdf"),
    (b"", 415, "kosong.pdf", "application/pdf"),
    (make_png(), 415, "laporan.pdf", "application/pdf"),  # a PNG pretending to be a PDF
    (zip_bomb(), 415, "rekap.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
@pytest.mark.evidence(
    "bad input",
    "Uploaded an ELF binary, an HTML page and an SVG each named .pdf, an empty file, a PNG "
    "claiming to be a PDF and a zip bomb disguised as an XLSX.",
    "Each was refused with 415 and an Indonesian message; no row, object or event remained.")
def test_refused_files_leave_nothing(world, res, session_factory, body, status, filename,
                                     content_type):
    item_id = item_of(session_factory, world.a)
    before = counts(session_factory, res, world.a.tenant_id)
    with pytest.raises(UploadRefused) as refused:
        upload(res, world.a.principals["staf1"], item_id,
               form(body, filename=filename, content_type=content_type))
    assert refused.value.status == status
    assert refused.value.message  # an Indonesian sentence for the user
    assert counts(session_factory, res, world.a.tenant_id) == before


@pytest.mark.evidence(
    "bad input",
    "Uploaded a file over the configured size limit.",
    "It was refused with 413 and nothing (row, object, event) was left behind.")
def test_over_the_size_limit_is_413_and_leaves_nothing(world, settings, object_store,
                                                        session_factory):
    small = Resources(dataclasses.replace(settings, max_upload_bytes=100_000))
    try:
        item_id = item_of(session_factory, world.a)
        before = counts(session_factory, small, world.a.tenant_id)
        body, content_type = form(padded_pdf(150_000))
        with pytest.raises(UploadRefused) as refused:  # no Content-Length: caught while streaming
            upload_document(small, world.a.principals["staf1"], item_id, body=io.BytesIO(body),
                            content_type=content_type, content_length=None)
        assert refused.value.status == 413
        assert refused.value.message.startswith("Berkas terlalu besar.")
        with pytest.raises(UploadRefused) as early:  # Content-Length says it: refused unread
            upload(small, world.a.principals["staf1"], item_id, form(padded_pdf(2_000_000)))
        assert early.value.status == 413
        assert counts(session_factory, small, world.a.tenant_id) == before
    finally:
        small.close()


def test_bad_metadata_is_422_with_field_errors_and_leaves_nothing(world, res, session_factory):
    item_id = item_of(session_factory, world.a)
    before = counts(session_factory, res, world.a.tenant_id)
    with pytest.raises(UploadRefused) as refused:
        upload(res, world.a.principals["staf1"], item_id,
               form(padded_pdf(5_000), year="dua ribu", extra="x"))
    assert refused.value.status == 422
    assert refused.value.fields["year"] == ["Tahun harus berupa angka."]
    assert refused.value.fields["extra"] == ["Isian tidak dikenal."]
    assert counts(session_factory, res, world.a.tenant_id) == before


def test_storage_down_is_503_and_leaves_no_row_or_event(world, settings, session_factory):
    dead = Resources(dataclasses.replace(settings, s3_endpoint=f"127.0.0.1:{free_ports(1)[0]}"))
    try:
        item_id = item_of(session_factory, world.a)
        with session_factory() as session:
            events_before = session.scalar(select(func.count()).select_from(OutboxEvent))
        with pytest.raises(UploadRefused) as refused:
            upload(dead, world.a.principals["staf1"], item_id, form(padded_pdf(5_000)))
        assert refused.value.status == 503
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(DocumentVersion)) == 0
            assert session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before
    finally:
        dead.close()


def test_database_failure_after_storing_removes_the_object(world, res, session_factory,
                                                            pg_engine):
    item_id = item_of(session_factory, world.a)
    before = counts(session_factory, res, world.a.tenant_id)
    with pg_engine.begin() as conn:  # a real PostgreSQL error at the version's INSERT
        conn.execute(text("CREATE FUNCTION refuse_insert() RETURNS trigger AS $$ BEGIN "
                          "RAISE EXCEPTION 'simulated outage'; END $$ LANGUAGE plpgsql"))
        conn.execute(text("CREATE TRIGGER refuse_versions BEFORE INSERT ON document_versions "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"))
    try:
        with pytest.raises(UploadRefused) as refused:
            upload(res, world.a.principals["staf1"], item_id, form(padded_pdf(20_000)))
        assert refused.value.status == 503
        assert counts(session_factory, res, world.a.tenant_id) == before
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_versions ON document_versions"))
            conn.execute(text("DROP FUNCTION refuse_insert()"))


def test_sweeper_removes_only_old_orphans(world, res, session_factory):
    item_id = item_of(session_factory, world.a)
    kept = upload(res, world.a.principals["staf1"], item_id, form(padded_pdf(5_000))).version
    orphan = object_key(tenant_id=world.a.tenant_id, cycle_id=world.a.cycle_id, kind="document")
    res.object_store.put_stream(orphan, io.BytesIO(b"%PDF-1.4 crash"),
                                content_type="application/pdf")
    tenant_prefix = f"tenants/{world.a.tenant_id}/"
    assert sweep_orphans(res.object_store, session_factory, prefix=tenant_prefix) == []
    removed = sweep_orphans(res.object_store, session_factory, grace=timedelta(0),
                            at=now() + timedelta(seconds=5), prefix=tenant_prefix)
    assert removed == [orphan]
    assert res.object_store.exists(kept.object_key)
    assert not res.object_store.exists(orphan)


def test_staff_of_another_bidang_or_dinas_cannot_upload(world, res, session_factory):
    item_id = item_of(session_factory, world.a, bidang_index=1)
    before = counts(session_factory, res, world.a.tenant_id)
    for principal, status in ((world.a.principals["staf1"], 404),
                              (world.b.principals["staf1"], 404),
                              (world.a.principals["kasubbag"], 403)):
        with pytest.raises(UploadRefused) as refused:
            upload(res, principal, item_id, form(padded_pdf(5_000)))
        assert refused.value.status == status
    assert counts(session_factory, res, world.a.tenant_id) == before
