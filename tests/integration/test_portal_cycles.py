"""The portal's workflow pages end to end: the browser's cookies and forms (Flask's test client)
on the intake portal, which calls the real workflow API over HTTP (`workflow_server`) with the
signed service token; real PostgreSQL, Redis and S3. Each role's step form, the workflow's
refusals rendered with what is missing, other tenants' cycles hidden, wrong roles refused."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select

from sakip.localinfra import free_ports
from services.intake.app import create_app
from services.intake.workflow_client import REFUSED_LOGIN_MESSAGE, UNREACHABLE_MESSAGE
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.collection import collection_deadline
from shared.cycles.models import (
    CollectionClosure,
    CycleRequirement,
    CycleStep,
    Notification,
    SopTemplate,
)
from shared.documents.models import CycleDocument
from tests.integration.test_portal import csrf, log_in, messages, post, upload_form
from tests.samples import make_pdf, make_png

JAKARTA = ZoneInfo("Asia/Jakarta")
WIB_DEADLINE = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4} pukul \d{2}\.\d{2} WIB")


# -- helpers ---------------------------------------------------------------------------------------

def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.text


def shown_after(client: FlaskClient, response) -> str:
    """The flash messages of the page a form's redirect leads to."""
    assert response.status_code == 303, response.text
    return messages(client.get(response.headers["Location"]).text)


def step_states(session_factory, cycle_id) -> dict[int, str]:
    with session_factory() as session:
        return {s.number: s.state for s in session.scalars(
            select(CycleStep).where(CycleStep.cycle_id == cycle_id))}


def badge(html: str) -> int:
    """The unread count the navigation shows (0: no badge)."""
    found = re.search(r'id="nav-inbox">Pemberitahuan\s*<span class="badge"[^>]*>(\d+)</span>',
                      html)
    return int(found.group(1)) if found else 0


def upload_cycle_document(client: FlaskClient, cycle_id, kind: str, data: bytes, token: str, *,
                          filename: str = "sk.pdf", content_type: str = "application/pdf"):
    body, type_ = upload_form(data, filename=filename, content_type=content_type)
    return client.post(f"/siklus/{cycle_id}/dokumen/{kind}/unggah?csrf_token={token}",
                       data=body, content_type=type_)


def open_2027(client: FlaskClient, session_factory, tenant_id) -> uuid.UUID:
    with session_factory() as session:
        template_id = session.scalars(select(SopTemplate.id)).first()
    response = post(client, "/siklus/buka", csrf(client), tenant_id=str(tenant_id),
                    year="2027", template_id=str(template_id))
    assert response.status_code == 303, response.text
    assert "Siklus 2027 dibuka" in messages(client.get(response.headers["Location"]).text)
    return uuid.UUID(response.headers["Location"].rsplit("/", 1)[-1].split("#")[0])


# -- steps 1 to 4 on a fresh cycle -----------------------------------------------------------------

def test_steps_one_to_four_through_the_portal(portal_app, world, session_factory):
    kepala = log_in(portal_app, "dinas-a.kepala")
    listing = page(kepala, "/siklus")
    assert "Siklus 2026" in listing
    assert "Buka siklus" in listing
    cycle_id = open_2027(kepala, session_factory, world.a.tenant_id)
    url = f"/siklus/{cycle_id}"

    # Step 1: only the kepala_dinas's confirmation completes it.
    kasubbag = log_in(portal_app, "dinas-a.kasubbag")
    refused = post(kasubbag, f"{url}/langkah/1/selesai", csrf(kasubbag))
    shown = shown_after(kasubbag, refused)
    assert "Langkah 1 belum dapat diselesaikan" in shown
    assert "Konfirmasi oleh Kepala Dinas" in shown
    first = page(kepala, url)
    assert "Konfirmasi rencana implementasi SAKIP" in first
    assert WIB_DEADLINE.search(first)
    done = post(kepala, f"{url}/langkah/1/selesai", csrf(kepala), note="Rencana disetujui.")
    assert "Langkah 1 selesai." in shown_after(kepala, done)

    # Step 2: completing before the SK is there answers 409 with what is missing.
    early = post(kepala, f"{url}/langkah/2/selesai", csrf(kepala))
    assert "SK Tim Evaluasi Internal SAKIP belum diunggah." in shown_after(kepala, early)
    second = page(kepala, url)
    assert "Unggah SK" in second
    assert "oleh Dinas A kepala" in second  # who completed step 1
    uploaded = upload_cycle_document(kepala, cycle_id, "SK_TIM_EVALUASI", make_pdf("SK 2027"),
                                     csrf(kepala))
    assert "tersimpan sebagai versi 1" in shown_after(kepala, uploaded)
    done = post(kepala, f"{url}/langkah/2/selesai", csrf(kepala))
    assert "Langkah 2 selesai." in shown_after(kepala, done)

    # Step 3: the team sets the document list (matrix) and uploads the guideline.
    tim = log_in(portal_app, "dinas-a.tim")
    third = page(tim, url)
    assert 'id="form-document-list"' in third
    assert "Unggah pedoman" in third
    b1, b2 = (str(b) for b in world.a.bidang)
    response = tim.post(f"{url}/daftar-dokumen", data={
        "csrf_token": csrf(tim), "bidang": [b1, b2],
        "owed": [f"{b1}:IKU", f"{b1}:RENJA", f"{b2}:PK"]})
    assert "Daftar dokumen disimpan." in shown_after(tim, response)
    with session_factory() as session:
        owed = {(r.bidang_id, r.document_type) for r in session.scalars(
            select(CycleRequirement).where(CycleRequirement.cycle_id == cycle_id))}
    assert owed == {(world.a.bidang[0], "IKU"), (world.a.bidang[0], "RENJA"),
                    (world.a.bidang[1], "PK")}
    assert re.search(rf'value="{b2}:PK"[^>]*checked', page(tim, url))
    early = post(tim, f"{url}/langkah/3/selesai", csrf(tim))
    assert "Pedoman evaluasi data kinerja belum diunggah." in shown_after(tim, early)
    uploaded = upload_cycle_document(tim, cycle_id, "PEDOMAN_EVALUASI", make_pdf("Pedoman"),
                                     csrf(tim), filename="pedoman.pdf")
    assert "tersimpan sebagai versi 1" in shown_after(tim, uploaded)
    done = post(tim, f"{url}/langkah/3/selesai", csrf(tim))
    assert "Langkah 3 selesai." in shown_after(tim, done)

    # Step 4: the notice reaches every staff member of the listed Bidang.
    early = post(tim, f"{url}/langkah/4/selesai", csrf(tim))
    assert "belum dikirim" in shown_after(tim, early)
    sent = post(tim, f"{url}/pemberitahuan", csrf(tim), message="Batas akhir Jumat.")
    assert "Pemberitahuan terkirim" in shown_after(tim, sent)
    done = post(tim, f"{url}/langkah/4/selesai", csrf(tim))
    assert "Langkah 4 selesai." in shown_after(tim, done)
    assert step_states(session_factory, cycle_id) == {
        1: "completed", 2: "completed", 3: "completed", 4: "completed", 5: "active",
        6: "pending"}

    staff = log_in(portal_app, "dinas-a.staf2")
    inbox = page(staff, "/pemberitahuan")
    assert "Permintaan data kinerja SAKIP 2027" in inbox
    assert "Batas akhir Jumat." in inbox
    with session_factory() as session:  # the world's 2026 notice is there too
        unread = list(session.scalars(select(Notification).where(
            Notification.user_id == world.a.users["dinas-a.staf2"],
            Notification.read_at.is_(None))))
    assert len(unread) == 2
    assert badge(inbox) == 2
    (notice,) = [n for n in unread if n.cycle_id == cycle_id]
    read = post(staff, f"/pemberitahuan/{notice.id}/baca", csrf(staff))
    assert read.status_code == 303
    assert badge(page(staff, "/pemberitahuan")) == 1


# -- step 5 on the world's cycle -------------------------------------------------------------------

def test_extension_then_closing_the_collection(portal_app, world, session_factory):
    url = f"/siklus/{world.a.cycle_id}"
    kepala = log_in(portal_app, "dinas-a.kepala")
    collecting = page(kepala, url)
    assert "13 April 2026 pukul 08.00 WIB" in collecting  # the deadline of step 5
    assert "Terlambat" in collecting  # overdue: the real clock is past it
    assert 'id="form-extension"' in collecting
    assert 'id="form-close"' not in collecting

    new_day = (now().astimezone(JAKARTA) + timedelta(days=10)).date()
    no_reason = post(kepala, f"{url}/perpanjangan", csrf(kepala), bidang_id=str(world.a.bidang[0]),
                     due_date=new_day.isoformat(), due_time="15:30", reason="")
    assert "Alasan" in shown_after(kepala, no_reason)
    granted = post(kepala, f"{url}/perpanjangan", csrf(kepala), bidang_id=str(world.a.bidang[0]),
                   due_date=new_day.isoformat(), due_time="15:30",
                   reason="Kepala Bidang 1 sedang dinas luar.")
    assert "Perpanjangan diberikan sampai" in shown_after(kepala, granted)
    with session_factory() as session:
        extended = collection_deadline(session, world.a.cycle_id, world.a.bidang[0])
    assert extended is not None
    assert extended.astimezone(JAKARTA).date() == new_day
    assert (extended.astimezone(JAKARTA).hour, extended.astimezone(JAKARTA).minute) == (15, 30)
    after = page(kepala, url)
    assert "(diperpanjang)" in after
    assert "Kepala Bidang 1 sedang dinas luar." in after

    kasubbag = log_in(portal_app, "dinas-a.kasubbag")
    assert 'id="form-close"' in page(kasubbag, url)
    closed = post(kasubbag, f"{url}/pengumpulan/tutup", csrf(kasubbag),
                  reason="Rapat evaluasi dimajukan.")
    assert "Pengumpulan ditutup" in shown_after(kasubbag, closed)
    with session_factory() as session:
        closure = session.scalars(select(CollectionClosure).where(
            CollectionClosure.cycle_id == world.a.cycle_id)).one()
    assert closure.missing == {str(b): ["IKU", "RENJA"] for b in world.a.bidang}
    final = page(kasubbag, url)
    assert "Rapat evaluasi dimajukan." in final
    assert "Bidang 1: Indikator Kinerja Utama (IKU), Rencana Kerja (Renja)" in final
    assert step_states(session_factory, world.a.cycle_id)[5] == "completed"


def test_reopen_a_step_and_cancel_the_cycle_need_a_reason(portal_app, world, session_factory):
    url = f"/siklus/{world.b.cycle_id}"
    kepala = log_in(portal_app, "dinas-b.kepala")
    no_reason = post(kepala, f"{url}/langkah/buka-kembali", csrf(kepala), number="4", reason="")
    assert "Alasan" in shown_after(kepala, no_reason)
    reopened = post(kepala, f"{url}/langkah/buka-kembali", csrf(kepala), number="4",
                    reason="Pemberitahuan belum sampai ke Bidang 2.")
    assert "Langkah 4 dibuka kembali." in shown_after(kepala, reopened)
    assert step_states(session_factory, world.b.cycle_id)[4] == "active"
    cancelled = post(kepala, f"{url}/batalkan", csrf(kepala), reason="Siklus dibuka ulang.")
    assert "Siklus dibatalkan." in shown_after(kepala, cancelled)
    final = page(kepala, url)
    assert "Dibatalkan" in final
    assert "Siklus dibuka ulang." in final
    assert 'id="form-cancel"' not in final


# -- who sees and does what ------------------------------------------------------------------------

def test_another_dinas_cycle_is_not_found(portal_app, world, session_factory):
    other = log_in(portal_app, "dinas-b.kepala")
    url = f"/siklus/{world.a.cycle_id}"
    assert other.get(url).status_code == 404
    token = csrf(other)
    for action, fields in (("/langkah/5/selesai", {}),
                           ("/batalkan", {"reason": "x"}),
                           ("/pengumpulan/tutup", {"reason": "x"}),
                           ("/perpanjangan", {"due_date": "2027-01-05", "due_time": "10:00",
                                              "reason": "x"})):
        assert post(other, url + action, token, **fields).status_code == 404, action
    upload = upload_cycle_document(other, world.a.cycle_id, "SK_TIM_EVALUASI", make_pdf("x"),
                                   token)
    assert upload.status_code == 404
    with session_factory() as session:
        (document_id,) = session.scalars(select(CycleDocument.id).where(
            CycleDocument.cycle_id == world.a.cycle_id, CycleDocument.kind == "SK_TIM_EVALUASI"))
    assert other.get(f"/dokumen-siklus/{document_id}/unduh").status_code == 404
    assert step_states(session_factory, world.a.cycle_id)[5] == "active"
    assert "Siklus 2026" in page(other, "/siklus")  # its own cycle only
    assert str(world.a.cycle_id) not in page(other, "/siklus")


def test_a_wrong_role_gets_no_form_and_a_forged_post_is_refused(portal_app, world,
                                                               session_factory):
    url = f"/siklus/{world.a.cycle_id}"
    staff = log_in(portal_app, "dinas-a.staf1")
    seen = page(staff, url)
    for form in ("form-extension", "form-close", "form-reopen", "form-cancel", "form-complete"):
        assert f'id="{form}"' not in seen
    token = csrf(staff)
    forged = post(staff, f"{url}/perpanjangan", token, bidang_id="", due_date="2027-01-05",
                  due_time="10:00", reason="Sendiri.")
    assert forged.status_code == 403
    assert post(staff, f"{url}/pengumpulan/tutup", token, reason="x").status_code == 403
    tim = log_in(portal_app, "dinas-a.tim")
    assert post(tim, f"{url}/batalkan", csrf(tim), reason="x").status_code == 403
    kasubbag = log_in(portal_app, "dinas-a.kasubbag")
    assert 'id="form-extension"' not in page(kasubbag, url)
    assert post(kasubbag, f"{url}/perpanjangan", csrf(kasubbag), bidang_id="",
                due_date="2027-01-05", due_time="10:00", reason="x").status_code == 403
    # A wrong role's upload of the SK is refused by intake itself.
    sk = upload_cycle_document(tim, world.a.cycle_id, "SK_TIM_EVALUASI", make_pdf("x"), csrf(tim))
    assert sk.status_code == 403
    with session_factory() as session:
        assert session.scalars(select(AuditEntry).where(
            AuditEntry.action == "step.extended")).first() is None


def test_the_portal_without_its_csrf_token_refuses_the_form(portal_app, world, session_factory):
    kepala = log_in(portal_app, "dinas-a.kepala")
    refused = post(kepala, f"/siklus/{world.a.cycle_id}/batalkan", None, reason="x")
    assert refused.status_code == 400
    assert step_states(session_factory, world.a.cycle_id)[5] == "active"


def test_a_wrong_file_for_the_sk_is_refused_with_its_message(portal_app, world, session_factory):
    kepala = log_in(portal_app, "dinas-a.kepala")
    cycle_id = open_2027(kepala, session_factory, world.a.tenant_id)
    post(kepala, f"/siklus/{cycle_id}/langkah/1/selesai", csrf(kepala))
    refused = upload_cycle_document(kepala, cycle_id, "SK_TIM_EVALUASI", make_png(),
                                    csrf(kepala), filename="sk.png", content_type="image/png")
    assert "Unggah PDF, DOCX atau ODT." in shown_after(kepala, refused)
    with session_factory() as session:
        assert session.scalars(select(CycleDocument).where(
            CycleDocument.cycle_id == cycle_id)).first() is None


def test_an_unreachable_workflow_is_a_clear_503(settings, world, object_store, redis_client):
    (port,) = free_ports(1)
    app = create_app(dataclasses.replace(settings, workflow_url=f"http://127.0.0.1:{port}"))
    try:
        kepala = log_in(app, "dinas-a.kepala")
        response = kepala.get(f"/siklus/{world.a.cycle_id}")
        assert response.status_code == 503
        assert UNREACHABLE_MESSAGE in response.text
        refused = post(kepala, f"/siklus/{world.a.cycle_id}/batalkan", csrf(kepala), reason="x")
        assert UNREACHABLE_MESSAGE in shown_after(kepala, refused)
    finally:
        app.extensions["sakip"].close()


def test_a_refused_service_token_is_a_503_for_the_administrator(settings, world,
                                                              workflow_server):
    app = create_app(dataclasses.replace(settings, workflow_url=workflow_server,
                                         service_token_secret="x" * 40))  # not the workflow's
    try:
        kepala = log_in(app, "dinas-a.kepala")
        response = kepala.get("/siklus")
        assert response.status_code == 503
        assert REFUSED_LOGIN_MESSAGE in response.text
    finally:
        app.extensions["sakip"].close()


def test_the_cycle_list_links_each_visible_cycle(portal_app, world):
    inspektur = log_in(portal_app, "kota.inspektur")
    listing = page(inspektur, "/siklus")
    assert str(world.a.cycle_id) in listing
    assert str(world.b.cycle_id) in listing
    assert "Buka siklus" not in listing  # city readers open nothing
    assert 'id="form-extension"' not in page(inspektur, f"/siklus/{world.a.cycle_id}")
    assert "Dinas B" in page(inspektur, f"/siklus/{world.b.cycle_id}")
