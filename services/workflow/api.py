"""The workflow REST API under /api/v1: SOP templates, cycles and their steps, the step actions
of each role, extensions and the audit trail (the calendar and the inbox have their own modules).

The staff portal calls it on a user's behalf with the signed service token, programs with a
personal API token (shared.web.service_auth). Each request is one transaction; the domain functions
of cycles.py and actions.py decide who may do what at `shared.clock.now()`. An object outside the
caller's tenant scope answers 404, a visible one the caller's role may not act on 403, a guard
that does not hold 409 with what is missing in `details`.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.workflow import actions, cycles, presenters
from services.workflow.openapi import build_spec
from services.workflow.schemas import (
    AuditLogSchema,
    ClosureSchema,
    CollectionSchema,
    CompleteStepSchema,
    CycleDetailSchema,
    CycleListSchema,
    CycleQuerySchema,
    DocumentListRequestSchema,
    DocumentListSchema,
    ExtensionListSchema,
    ExtensionRequestSchema,
    ExtensionSchema,
    NoticeRequestSchema,
    NoticeSchema,
    OpenCycleSchema,
    ReasonSchema,
    TemplateDetailSchema,
    TemplateFileSchema,
    TemplateListSchema,
    TemplateQuerySchema,
)
from shared.clock import now
from shared.cycles.models import Cycle, SopTemplate
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import scoped
from shared.publication_targets import FIELD as TARGETS_FIELD
from shared.publication_targets import checked_targets, parse_tenant_ids
from shared.sop.template import TemplateError, parse_template
from shared.web.api_http import ApiError, invalid, json_body, unit_of_work
from shared.web.errors import Invalid, NotAllowed, NotFound
from shared.web.openapi import documented
from shared.web.service_auth import caller, principal_required, require_visible_tenant

bp = Blueprint("api", __name__, url_prefix="/api/v1")

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_TEMPLATE_BYTES = 256 * 1024
TEMPLATE_PUBLISHERS = (Role.KEPALA_DINAS,)
# A step number in a URL: bounded by the column's range, so a huge number is no step (404)
# instead of a database error (500).
STEP_NUMBER = "int(max=2147483647)"


def _json(schema: Any, data: Any, status: int = 200) -> ResponseReturnValue:
    return jsonify(schema.dump(data)), status


# -- templates -------------------------------------------------------------------------------------

@bp.get("/templates")
@principal_required
@documented(summary="Templat SOP yang ditawarkan kepada Anda: seluruh kota (untuk semua dinas "
                    "atau dinas Anda) dan varian dinas Anda",
            responses={200: ("Templat", TemplateListSchema)})
def list_templates() -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        templates = presenters.visible_templates(session, principal)
        return _json(TemplateListSchema(), {
            "templates": presenters.template_summaries(session, principal, templates)})


@bp.post("/templates")
@principal_required
@documented(summary="Terbitkan versi templat SOP (berkas YAML)",
            description="Administrator Platform menerbitkan templat seluruh kota, untuk semua "
                        "perangkat daerah atau hanya yang disebut di `tenant_ids`; Kepala Dinas "
                        "menerbitkan varian untuk dinasnya dengan `?tenant_id=`. Berkas yang "
                        "tidak valid dijawab 422 dengan `details`: satu baris per masalah, "
                        "menyebut baris dan isiannya; tidak ada yang disimpan. Versi yang sama "
                        "dengan isi yang sama dijawab 200 (tujuannya diganti dengan yang "
                        "dikirim).",
            body=TemplateFileSchema, body_content_type="multipart/form-data",
            other_bodies={"application/yaml": None, "text/yaml": None},
            query={"tenant_id": ("string", "UUID dinas untuk varian dinas"),
                   "tenant_ids": ("string", "templat seluruh kota: UUID perangkat daerah tujuan, "
                                            "dipisah koma (kosong: semua)")},
            responses={201: ("Diterbitkan", TemplateDetailSchema),
                       200: ("Versi yang sama sudah diterbitkan", TemplateDetailSchema)},
            errors=(403, 404, 409, 413, 415, 422))
def publish_template() -> ResponseReturnValue:
    principal = caller()
    tenant_id = TemplateQuerySchema().load(request.args)["tenant_id"]
    with unit_of_work() as session:
        _require_publisher(principal, tenant_id)
        text, source = _template_file()
        try:
            definition = parse_template(text, source=source)
        except TemplateError as exc:
            raise Invalid("Berkas templat tidak valid.",
                          [line for line in str(exc).splitlines() if line.strip()]) from exc
        picked = parse_tenant_ids(request.args.getlist(TARGETS_FIELD)
                                  + request.form.getlist(TARGETS_FIELD))
        if tenant_id is not None and picked is not None:
            raise invalid(TARGETS_FIELD, "Varian dinas hanya berlaku bagi dinasnya sendiri.")
        targets = checked_targets(session, picked) if tenant_id is None else None
        existed = session.scalar(select(SopTemplate.id).where(
            SopTemplate.code == definition.code, SopTemplate.version == definition.version))
        template = cycles.publish_template(session, definition, tenant_id=tenant_id,
                                           actor_id=principal.user_id, targets=targets)
        return _json(TemplateDetailSchema(),
                     presenters.template_detail(session, principal, template),
                     200 if existed else 201)


@bp.get("/templates/<uuid:template_id>")
@principal_required
@documented(summary="Satu templat SOP beserta isinya",
            responses={200: ("Templat", TemplateDetailSchema)}, errors=(404,))
def get_template(template_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        template = session.get(SopTemplate, template_id)
        if template is None or not presenters.template_visible(session, principal, template):
            raise NotFound("Templat SOP")
        return _json(TemplateDetailSchema(),
                     presenters.template_detail(session, principal, template))


def _require_publisher(principal: Principal, tenant_id: uuid.UUID | None) -> None:
    if tenant_id is None:
        if not principal.has_role(Role.PLATFORM_ADMIN):
            raise NotAllowed("Hanya Administrator Platform yang dapat menerbitkan templat untuk "
                             "seluruh kota; Kepala Dinas menerbitkan varian dengan ?tenant_id=.")
        return
    require_visible_tenant(principal, tenant_id, "Perangkat daerah")
    cycles.require_role(principal, tenant_id, TEMPLATE_PUBLISHERS,
                        "menerbitkan templat untuk perangkat daerahnya")


def _template_file() -> tuple[str, str]:
    """The YAML text of the template sent (raw body or the form's `file`) and its name."""
    if (request.content_length or 0) > 2 * MAX_TEMPLATE_BYTES:
        raise ApiError(413, "Berkas templat terlalu besar.")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise invalid("file", "Wajib diisi.")
        data = upload.stream.read(MAX_TEMPLATE_BYTES + 1)
        source = (upload.filename or "templat")[:100]
    elif request.mimetype in YAML_TYPES:
        data, source = request.get_data(), "templat"
    else:
        raise ApiError(415, "Kirim berkas templat sebagai YAML (Content-Type: application/yaml) "
                            "atau formulir dengan isian file.")
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ApiError(413, "Berkas templat terlalu besar.")
    if not data.strip():
        raise invalid("file", "Berkas templat kosong.")
    try:
        return data.decode("utf-8"), source
    except UnicodeDecodeError as exc:
        raise invalid("file", "Berkas templat harus berupa teks UTF-8.") from exc


# -- cycles ----------------------------------------------------------------------------------------

def _visible_cycle(session: Session, principal: Principal, cycle_id: uuid.UUID, *,
                   for_update: bool = False) -> Cycle:
    """The cycle, when the principal may read its tenant (404 otherwise); locked for a write."""
    cycle = cycles.get_cycle(session, cycle_id)
    require_visible_tenant(principal, cycle.tenant_id, "Siklus")
    if for_update:
        session.refresh(cycle, with_for_update=True)
    return cycle


def _detail(session: Session, cycle: Cycle, principal: Principal,
            status: int = 200) -> ResponseReturnValue:
    return _json(CycleDetailSchema(), presenters.cycle_detail(session, cycle, principal, now()),
                 status)


@bp.get("/cycles")
@principal_required
@documented(summary="Siklus yang terlihat, terbaru dahulu",
            query={"tenant_id": ("string", "hanya dinas ini (UUID)"),
                   "year": ("integer", "hanya tahun ini")},
            responses={200: ("Siklus", CycleListSchema)}, errors=(422,))
def list_cycles() -> ResponseReturnValue:
    filters = CycleQuerySchema().load(request.args)
    with unit_of_work() as session:
        query = scoped(caller(), select(Cycle), Cycle.tenant_id)
        if "tenant_id" in filters:
            query = query.where(Cycle.tenant_id == filters["tenant_id"])
        if "year" in filters:
            query = query.where(Cycle.year == filters["year"])
        found = list(session.scalars(query.order_by(Cycle.year.desc(), Cycle.opened_at.desc())))
        return _json(CycleListSchema(), {"cycles": presenters.cycle_summaries(session, found)})


@bp.post("/cycles")
@principal_required
@documented(summary="Buka siklus dinas untuk satu tahun (Kepala Dinas atau Kasubbag Program)",
            body=OpenCycleSchema, responses={201: ("Siklus dibuka; langkah 1 berjalan",
                                                   CycleDetailSchema)},
            errors=(403, 404, 409, 415, 422))
def open_cycle() -> ResponseReturnValue:
    principal = caller()
    body = json_body(OpenCycleSchema)
    with unit_of_work() as session:
        require_visible_tenant(principal, body["tenant_id"], "Perangkat daerah")
        template = session.get(SopTemplate, body["template_id"])
        if template is None or not presenters.template_visible(session, principal, template):
            raise NotFound("Templat SOP")
        cycle = cycles.open_cycle(session, tenant_id=body["tenant_id"], year=body["year"],
                                  template=template, at=now(), principal=principal)
        return _detail(session, cycle, principal, 201)


@bp.get("/cycles/<uuid:cycle_id>")
@principal_required
@documented(summary="Siklus dengan langkah-langkahnya, tenggatnya dan apa yang masih kurang",
            responses={200: ("Siklus", CycleDetailSchema)}, errors=(404,))
def get_cycle(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        return _detail(session, _visible_cycle(session, principal, cycle_id), principal)


@bp.post("/cycles/<uuid:cycle_id>/cancel")
@principal_required
@documented(summary="Batalkan siklus yang berjalan (Kepala Dinas)", body=ReasonSchema,
            responses={200: ("Siklus dibatalkan", CycleDetailSchema)},
            errors=(403, 404, 409, 415, 422))
def cancel_cycle(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(ReasonSchema)
        cycles.cancel_cycle(session, cycle, at=now(), principal=principal,
                            reason=body["reason"])
        return _detail(session, cycle, principal)


@bp.post(f"/cycles/<uuid:cycle_id>/steps/<{STEP_NUMBER}:number>/complete")
@principal_required
@documented(summary="Selesaikan langkah yang aktif (oleh pelaksananya)",
            description="409 bila keluaran langkah belum ada (`details`: apa yang masih kurang) "
                        "atau langkah belum/tidak lagi aktif.",
            body=CompleteStepSchema, body_required=False,
            responses={200: ("Langkah selesai; langkah berikutnya berjalan", CycleDetailSchema)},
            errors=(403, 404, 409, 415, 422))
def complete_step(cycle_id: uuid.UUID, number: int) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(CompleteStepSchema, optional=True)
        cycles.complete_step(session, cycle, number, at=now(), principal=principal,
                             note=body["note"])
        return _detail(session, cycle, principal)


@bp.post(f"/cycles/<uuid:cycle_id>/steps/<{STEP_NUMBER}:number>/reopen")
@principal_required
@documented(summary="Buka kembali langkah yang sudah selesai (Kepala Dinas)", body=ReasonSchema,
            responses={200: ("Langkah aktif kembali; langkah sesudahnya menunggu",
                             CycleDetailSchema)},
            errors=(403, 404, 409, 415, 422))
def reopen_step(cycle_id: uuid.UUID, number: int) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(ReasonSchema)
        cycles.reopen_step(session, cycle, number, at=now(), principal=principal,
                           reason=body["reason"])
        return _detail(session, cycle, principal)


# -- step actions ----------------------------------------------------------------------------------

@bp.get("/cycles/<uuid:cycle_id>/document-list")
@principal_required
@documented(summary="Daftar dokumen siklus: apa yang wajib diserahkan setiap Bidang",
            responses={200: ("Daftar dokumen", DocumentListSchema)}, errors=(404,))
def get_document_list(cycle_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        cycle = _visible_cycle(session, caller(), cycle_id)
        return _json(DocumentListSchema(), presenters.document_list_view(session, cycle))


@bp.put("/cycles/<uuid:cycle_id>/document-list")
@principal_required
@documented(summary="Tetapkan daftar dokumen (langkah 3: Tim Evaluasi atau Kasubbag Program)",
            body=DocumentListRequestSchema,
            responses={200: ("Daftar dokumen", DocumentListSchema)},
            errors=(403, 404, 409, 415, 422))
def put_document_list(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(DocumentListRequestSchema)
        actions.set_document_list(session, cycle, owed=body["owed"], principal=principal,
                                  at=now())
        return _json(DocumentListSchema(), presenters.document_list_view(session, cycle))


@bp.post("/cycles/<uuid:cycle_id>/notice")
@principal_required
@documented(summary="Kirim pemberitahuan daftar dokumen kepada setiap Bidang (langkah 4)",
            body=NoticeRequestSchema, body_required=False,
            responses={201: ("Pemberitahuan terkirim", NoticeSchema)},
            errors=(403, 404, 409, 415, 422))
def send_notice(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(NoticeRequestSchema, optional=True)
        notice = actions.send_notice(session, cycle, principal=principal, at=now(),
                                     message=body["message"])
        return _json(NoticeSchema(), {"id": notice.id, "sent_at": notice.sent_at}, 201)


@bp.get("/cycles/<uuid:cycle_id>/collection")
@principal_required
@documented(summary="Pengumpulan (langkah 5): paket setiap Bidang, tenggatnya, kekurangannya",
            responses={200: ("Pengumpulan", CollectionSchema)}, errors=(404,))
def get_collection(cycle_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        cycle = _visible_cycle(session, caller(), cycle_id)
        return _json(CollectionSchema(), presenters.collection_view(session, cycle))


@bp.post("/cycles/<uuid:cycle_id>/collection/close")
@principal_required
@documented(summary="Tutup pengumpulan sebelum semua paket diterima (Kasubbag Program)",
            description="Mencatat siapa yang masih kurang apa, lalu menyelesaikan langkah 5.",
            body=ReasonSchema, responses={200: ("Pengumpulan ditutup", ClosureSchema)},
            errors=(403, 404, 409, 415, 422))
def close_collection(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(ReasonSchema)
        closure = actions.close_collection(session, cycle, principal=principal, at=now(),
                                           reason=body["reason"])
        return _json(ClosureSchema(), presenters.closure_view(closure))


@bp.get("/cycles/<uuid:cycle_id>/extensions")
@principal_required
@documented(summary="Perpanjangan tenggat pengumpulan yang diberikan",
            responses={200: ("Perpanjangan", ExtensionListSchema)}, errors=(404,))
def list_extensions(cycle_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        cycle = _visible_cycle(session, caller(), cycle_id)
        return _json(ExtensionListSchema(), {"extensions": [
            presenters.extension_view(e) for e in presenters.extensions_of(session, cycle)]})


@bp.post("/cycles/<uuid:cycle_id>/extensions")
@principal_required
@documented(summary="Perpanjang tenggat pengumpulan untuk satu Bidang atau seluruh siklus "
                    "(Kepala Dinas, selama langkah 5)",
            body=ExtensionRequestSchema, responses={201: ("Perpanjangan", ExtensionSchema)},
            errors=(403, 404, 409, 415, 422))
def grant_extension(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = _visible_cycle(session, principal, cycle_id, for_update=True)
        body = json_body(ExtensionRequestSchema)
        extension = actions.grant_extension(session, cycle, principal=principal, at=now(),
                                            due_at=body["due_at"], reason=body["reason"],
                                            bidang_id=body["bidang_id"])
        return _json(ExtensionSchema(), presenters.extension_view(extension), 201)


@bp.get("/cycles/<uuid:cycle_id>/audit")
@principal_required
@documented(summary="Jejak audit siklus dan langkah-langkahnya, terlama dahulu",
            responses={200: ("Jejak audit", AuditLogSchema)}, errors=(404,))
def get_audit(cycle_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        cycle = _visible_cycle(session, caller(), cycle_id)
        return _json(AuditLogSchema(), {"entries": presenters.audit_trail(session, cycle)})


# -- the document of this API ----------------------------------------------------------------------

@bp.get("/openapi.json")
@documented(summary="Dokumen OpenAPI 3 API ini", authenticated=False,
            responses={200: ("Dokumen OpenAPI", None)})
def openapi() -> ResponseReturnValue:
    return jsonify(build_spec(current_app))
