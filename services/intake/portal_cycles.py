"""The portal's pages for the SOP workflow, on the portal blueprint: the cycles, one cycle with its
six steps and each role's step forms (confirm step 1, the SK in step 2, the document list and
guideline in step 3, the notice in step 4, the collection's status, closing and extensions in
step 5, reopening a step and cancelling the cycle), and the user's inbox ("Pemberitahuan").

Every workflow action goes to the workflow REST API through `workflow_client` on the user's
behalf; the workflow decides. A 403/404 answer becomes an error page; a 409/422 becomes a
message on the cycle page with what is missing. The cycle's own documents (SK, guideline) are
intake's: uploaded here on the streaming upload path (`cycle_document_flow`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from services.intake import cycle_documents, cycle_views
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.cycle_document_flow import (
    ACCEPTED_EXTENSIONS,
    parse_kind,
    upload_cycle_document,
)
from services.intake.downloads import cycle_document_link
from services.intake.packages import NotFound
from services.intake.portal import (
    FIELD_LABELS,
    bp,
    json_error,
    parse_uuid,
    signed_in,
    user_names,
    wants_json,
)
from services.intake.upload_flow import UploadRefused
from services.intake.workflow_client import WorkflowCallError, WorkflowClient
from shared.cycles.calendars import calendar_for
from shared.cycles.models import Cycle, Notification
from shared.documents.models import CycleDocumentKind
from shared.i18n import format_datetime
from shared.identity.models import Tenant

IDENTICAL_MESSAGE = "Berkas yang sama sudah diunggah sebelumnya; tidak ada versi baru."
WORKFLOW_FIELD_LABELS = {**FIELD_LABELS, "reason": "Alasan", "note": "Catatan",
                         "due_at": "Batas waktu baru", "bidang_id": "Bidang", "year": "Tahun",
                         "template_id": "Templat SOP", "tenant_id": "Perangkat daerah",
                         "owed": "Daftar dokumen", "message": "Pesan"}


def _client() -> WorkflowClient:
    return WorkflowClient(resources().settings, signed_in())


def _fetch(call: Callable[[WorkflowClient], Any]) -> Any:
    """A read for a page: any refusal becomes the error page with the workflow's words."""
    try:
        return call(_client())
    except WorkflowCallError as exc:
        abort(exc.status, description=exc.message)


def _act(cycle_id: uuid.UUID | None, call: Callable[[WorkflowClient], Any], success: str, *,
         anchor: str | None = None) -> ResponseReturnValue:
    """One workflow action, then back to the cycle (or the cycles): 403/404 as error pages, a
    refusal the user can act on as a message listing what is missing or wrong."""
    try:
        answer = call(_client())
    except WorkflowCallError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        for detail in exc.details:
            flash(detail, "error-detail")
        for name, messages in exc.fields.items():
            flash(f"{WORKFLOW_FIELD_LABELS.get(name, name)}: {' '.join(messages)}",
                  "error-detail")
        answer = None
    else:
        flash(success, "success")
    target = cycle_id or (uuid.UUID(answer["id"]) if isinstance(answer, dict)
                          and "id" in answer else None)
    if target is None:
        return redirect(url_for("portal.cycles"), code=303)
    return redirect(url_for("portal.cycle", cycle_id=target, _anchor=anchor), code=303)


def _reason() -> str:
    return request.form.get("reason", "")


@bp.context_processor
def _inbox_context() -> dict[str, Any]:
    return {"unread_notifications": _unread_count}


def _unread_count() -> int:
    """The navigation's badge. A plain read of the inbox table (the workflow writes it); the
    inbox page itself goes through the workflow API."""
    principal = current_principal()
    if principal is None:
        return 0
    with resources().session_factory() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == principal.user_id, Notification.read_at.is_(None))) or 0


# -- the cycles ----------------------------------------------------------------------------------

@bp.get("/siklus")
@login_required
def cycles() -> ResponseReturnValue:
    principal = signed_in()
    listed = _fetch(lambda c: c.get("/cycles"))["cycles"]
    openers = cycle_views.opener_tenants(principal)
    templates = _fetch(lambda c: c.get("/templates"))["templates"] if openers else []
    with resources().session_factory() as session:
        ids = {uuid.UUID(c["tenant_id"]) for c in listed} | set(openers)
        names: dict[uuid.UUID, str] = {
            tenant_id: name for tenant_id, name in session.execute(
                select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids)))} if ids else {}
    rows = [{"id": c["id"], "tenant": names.get(uuid.UUID(c["tenant_id"]), ""),
             "year": c["year"], "state": c["state"],
             "state_label": cycle_views.CYCLE_STATE_LABELS.get(c["state"], c["state"]),
             "template": c["template"]["name"], "active_step": c["active_step"],
             "opened_at": cycle_views.instant(c["opened_at"])} for c in listed]
    return render_template(
        "portal/cycles.html", rows=rows, templates=templates,
        openers=[(t, names.get(t, str(t))) for t in openers],
        default_year=current_time().year)


@bp.post("/siklus/buka")
@login_required
def open_cycle() -> ResponseReturnValue:
    body = {"tenant_id": request.form.get("tenant_id", ""),
            "year": request.form.get("year", ""),
            "template_id": request.form.get("template_id", "")}
    return _act(None, lambda c: c.post("/cycles", body),
                f"Siklus {body['year']} dibuka; langkah 1 berjalan.")


@bp.get("/siklus/<cycle_id>")
@login_required
def cycle(cycle_id: str) -> ResponseReturnValue:
    principal = signed_in()
    cid = parse_uuid(cycle_id)
    detail = _fetch(lambda c: c.get(f"/cycles/{cid}"))
    listing = cycle_views.document_list_view(
        _fetch(lambda c: c.get(f"/cycles/{cid}/document-list")))
    states = {s["number"]: s["state"] for s in detail["steps"]}
    collection = None
    if states.get(cycle_views.COLLECTION_STEP, "pending") != "pending":
        collection = cycle_views.collection_view(
            _fetch(lambda c: c.get(f"/cycles/{cid}/collection")),
            _fetch(lambda c: c.get(f"/cycles/{cid}/extensions")), listing)
    with resources().session_factory() as session:
        found = session.get(Cycle, cid)
        if found is None:
            abort(404)
        names = user_names(session, cycle_views.completed_by_ids(detail))
        view = cycle_views.cycle_view(detail, names)
        time_zone = calendar_for(session, view.tenant_id).time_zone
        tenant_name = session.get_one(Tenant, view.tenant_id).name
        documents = cycle_documents.latest_documents(session, found)
        uploaders = user_names(session, {d.uploaded_by for d in documents.values()})
    return render_template(
        "portal/cycle.html", cycle=view, tenant_name=tenant_name, time_zone=time_zone,
        forms=cycle_views.forms_for(principal, view), listing=listing, collection=collection,
        documents=documents, uploaders=uploaders, kinds=CycleDocumentKind,
        accepted_extensions=ACCEPTED_EXTENSIONS,
        max_upload_bytes=resources().settings.max_upload_bytes,
        zone_label=format_datetime(current_time(), time_zone).rsplit(" ", 1)[-1])


@bp.post("/siklus/<cycle_id>/langkah/<int:number>/selesai")
@login_required
def complete_step(cycle_id: str, number: int) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    note = request.form.get("note", "").strip() or None
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/steps/{number}/complete", {"note": note}),
                f"Langkah {number} selesai.", anchor=f"langkah-{number}")


@bp.post("/siklus/<cycle_id>/langkah/buka-kembali")
@login_required
def reopen_step(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    try:
        number = int(request.form.get("number", ""))
    except ValueError:
        flash("Pilih langkah yang akan dibuka kembali.", "error")
        return redirect(url_for("portal.cycle", cycle_id=cid), code=303)
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/steps/{number}/reopen",
                                      {"reason": _reason()}),
                f"Langkah {number} dibuka kembali.", anchor=f"langkah-{number}")


@bp.post("/siklus/<cycle_id>/batalkan")
@login_required
def cancel_cycle(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/cancel", {"reason": _reason()}),
                "Siklus dibatalkan.")


@bp.post("/siklus/<cycle_id>/daftar-dokumen")
@login_required
def set_document_list(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    owed = cycle_views.owed_from_form(request.form.getlist("bidang"),
                                      request.form.getlist("owed"))
    return _act(cid, lambda c: c.put(f"/cycles/{cid}/document-list", {"owed": owed}),
                "Daftar dokumen disimpan.", anchor="daftar-dokumen")


@bp.post("/siklus/<cycle_id>/pemberitahuan")
@login_required
def send_notice(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    message = request.form.get("message", "").strip() or None
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/notice", {"message": message}),
                "Pemberitahuan terkirim ke setiap Bidang.", anchor="langkah-4")


@bp.post("/siklus/<cycle_id>/pengumpulan/tutup")
@login_required
def close_collection(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/collection/close", {"reason": _reason()}),
                "Pengumpulan ditutup; langkah 5 selesai.", anchor="pengumpulan")


@bp.post("/siklus/<cycle_id>/perpanjangan")
@login_required
def grant_extension(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    with resources().session_factory() as session:
        found = session.get(Cycle, cid)
        time_zone = calendar_for(session, found.tenant_id).time_zone if found else None
    if time_zone is None:
        abort(404)
    try:
        due_at = cycle_views.local_deadline(request.form.get("due_date", ""),
                                            request.form.get("due_time", ""), time_zone)
    except ValueError:
        flash("Isi tanggal dan jam batas waktu baru dengan benar.", "error")
        return redirect(url_for("portal.cycle", cycle_id=cid, _anchor="pengumpulan"), code=303)
    body = {"bidang_id": request.form.get("bidang_id") or None, "due_at": due_at.isoformat(),
            "reason": _reason()}
    return _act(cid, lambda c: c.post(f"/cycles/{cid}/extensions", body),
                f"Perpanjangan diberikan sampai {format_datetime(due_at, time_zone)}.",
                anchor="pengumpulan")


# -- the cycle's own documents -------------------------------------------------------------------

@bp.post("/siklus/<cycle_id>/dokumen/<kind>/unggah")
@login_required(csrf="header-or-query")
def upload_document_of_cycle(cycle_id: str, kind: str) -> ResponseReturnValue:
    """Stream the SK or the guideline to storage (never touching request.form). The script gets
    JSON; the plain form gets a redirect back with a message."""
    cid = parse_uuid(cycle_id)
    try:
        which = parse_kind(kind)
        result = upload_cycle_document(resources(), signed_in(), cid, which,
                                       body=request.stream, content_type=request.content_type,
                                       content_length=request.content_length)
    except UploadRefused as exc:
        if wants_json():
            return json_error(exc.status, exc.message, exc.fields)
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        return redirect(url_for("portal.cycle", cycle_id=cid, _anchor="dokumen-siklus"),
                        code=303)
    document = result.document
    message = (f"{which.label} tersimpan sebagai versi {document.number}." if result.created
               else IDENTICAL_MESSAGE)
    flash(message, "success" if result.created else "info")
    if wants_json():
        return jsonify(message=message, created=result.created, document={
            "id": str(document.id), "kind": document.kind, "number": document.number,
            "filename": document.filename, "size_bytes": document.size_bytes,
            "sha256": document.sha256}), 201 if result.created else 200
    return redirect(url_for("portal.cycle", cycle_id=cid, _anchor="dokumen-siklus"), code=303)


@bp.get("/dokumen-siklus/<document_id>/unduh")
@login_required
def download_document_of_cycle(document_id: str) -> ResponseReturnValue:
    did = parse_uuid(document_id)
    try:
        url = cycle_document_link(resources(), signed_in(), did, via="portal")
    except NotFound:
        abort(404)
    return redirect(url, code=302)


# -- the inbox -----------------------------------------------------------------------------------

@bp.get("/pemberitahuan")
@login_required
def inbox() -> ResponseReturnValue:
    answer = _fetch(lambda c: c.get("/notifications"))
    entries = [{**n, "created_at": cycle_views.instant(n["created_at"]),
                "read_at": cycle_views.instant(n.get("read_at"))}
               for n in answer["notifications"]]
    return render_template("portal/inbox.html", entries=entries, unread=answer["unread"])


@bp.post("/pemberitahuan/<notification_id>/baca")
@login_required
def mark_read(notification_id: str) -> ResponseReturnValue:
    nid = parse_uuid(notification_id)
    _fetch(lambda c: c.post(f"/notifications/{nid}/read"))
    return redirect(url_for("portal.inbox", _anchor=f"pemberitahuan-{nid}"), code=303)
