"""The intake REST API under /api/v1 (JSON; personal API tokens or the portal's session).

Programs authenticate with `Authorization: Bearer sakip_pat_...`; the portal's own scripts may use
the session cookie, and then every write carries the CSRF token in the X-CSRF-Token header.
Bodies are loaded and answers dumped with the marshmallow schemas of `schemas.py`, which also
build the OpenAPI document (`/api/v1/openapi.json`). The domain functions decide who may see and
do what: an object outside the caller's scope answers 404, a visible one the caller's role may not
act on answers 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import cycle_document_flow, cycle_documents, packages
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.downloads import LINK_LIFETIME, cycle_document_link, download_link
from services.intake.openapi import build_spec, documented
from services.intake.schemas import (
    CycleDetailSchema,
    CycleDocumentFormSchema,
    CycleDocumentListSchema,
    CycleDocumentSchema,
    CycleListSchema,
    DownloadLinkSchema,
    MeSchema,
    NoBodySchema,
    PackageDetailSchema,
    PackageListSchema,
    ReviewRequest,
    ReviewSchema,
    UploadFormSchema,
    VersionSchema,
    indonesian_errors,
)
from services.intake.summaries import summarize
from services.intake.upload_flow import UploadRefused, upload_document
from shared.cycles.models import Cycle, CycleStep
from shared.cycles.templates import cycle_definition
from shared.db import transaction
from shared.identity.models import Tenant, User
from shared.identity.principal import Principal
from shared.identity.scope import scoped
from shared.web.api_http import ApiError, json_body
from shared.web.json_errors import INVALID_MESSAGE, error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SERVICE = "intake"


# -- errors as JSON -------------------------------------------------------------------------------

@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, fields=exc.fields)


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> ResponseReturnValue:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return error_response(422, INVALID_MESSAGE, fields=indonesian_errors(messages))


@bp.errorhandler(packages.PackageError)
def _refused(exc: packages.PackageError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, details=exc.details)


@bp.errorhandler(UploadRefused)
def _upload_refused(exc: UploadRefused) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, fields=exc.fields)


@bp.errorhandler(401)
def _unauthenticated(_exc: Exception) -> ResponseReturnValue:
    return error_response(401, "Silakan masuk terlebih dahulu: kirim token API di header "
                               "Authorization: Bearer <token>.")



# -- helpers --------------------------------------------------------------------------------------

def _principal() -> Principal:
    principal = current_principal()
    if principal is None:  # login_required has answered 401 already
        raise ApiError(401, "Silakan masuk terlebih dahulu.")
    return principal


def _read_session() -> Session:
    return resources().session_factory()


def _visible_cycle(session: Session, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    cycle = session.scalars(scoped(principal, select(Cycle).where(Cycle.id == cycle_id),
                                   Cycle.tenant_id)).one_or_none()
    if cycle is None:
        raise packages.NotFound("Siklus")
    return cycle


def _cycle_view(session: Session, cycle: Cycle, *, with_steps: bool) -> dict[str, Any]:
    definition = cycle_definition(session, cycle)
    view: dict[str, Any] = {
        "id": cycle.id, "tenant_id": cycle.tenant_id,
        "tenant_name": session.get_one(Tenant, cycle.tenant_id).name, "year": cycle.year,
        "template": definition.name, "state": cycle.state, "opened_at": cycle.opened_at,
        "completed_at": cycle.completed_at,
    }
    if with_steps:
        steps = session.scalars(select(CycleStep).where(CycleStep.cycle_id == cycle.id)
                                .order_by(CycleStep.number))
        view["steps"] = [{"number": s.number, "activity": definition.step(s.number).activity,
                          "state": s.state, "started_at": s.started_at, "due_at": s.due_at,
                          "completed_at": s.completed_at} for s in steps]
    return view


def _package_answer(session: Session, package_id: uuid.UUID, principal: Principal) -> Any:
    package = packages.get_package(session, principal, package_id)
    return PackageDetailSchema().dump(summarize(session, package))


# -- who am I -------------------------------------------------------------------------------------

@bp.get("/me")
@documented(summary="Pengguna yang sedang masuk, dengan perannya",
            responses={200: ("Pengguna dan perannya", MeSchema)})
@login_required(csrf="header")
def me() -> ResponseReturnValue:
    principal = _principal()
    with _read_session() as session:
        user = session.get_one(User, principal.user_id)
        answer = {
            "id": user.id, "username": user.username, "full_name": user.full_name,
            "tenant_id": user.tenant_id, "bidang_id": principal.bidang_id,
            "roles": [{"role": grant.role.value, "label": grant.role.label,
                       "tenant_id": grant.tenant_id}
                      for grant in sorted(principal.grants,
                                          key=lambda x: (x.role.value, str(x.tenant_id)))],
        }
    return MeSchema().dump(answer)


# -- cycles ---------------------------------------------------------------------------------------

@bp.get("/cycles")
@documented(summary="Siklus evaluasi yang terlihat oleh Anda",
            description="Peran dinas: siklus dinasnya; Bagian Organisasi dan Inspektur: semua "
                        "dinas; Administrator Platform: tidak ada.",
            responses={200: ("Siklus, terbaru dulu", CycleListSchema)})
@login_required(csrf="header")
def list_cycles() -> ResponseReturnValue:
    principal = _principal()
    with _read_session() as session:
        stmt = scoped(principal, select(Cycle), Cycle.tenant_id).join(
            Tenant, Tenant.id == Cycle.tenant_id).order_by(Cycle.year.desc(), Tenant.name)
        cycles = [_cycle_view(session, c, with_steps=False) for c in session.scalars(stmt)]
    return CycleListSchema().dump({"cycles": cycles})


@bp.get("/cycles/<uuid:cycle_id>")
@documented(summary="Satu siklus dengan langkah-langkah SOP-nya",
            responses={200: ("Siklus dan langkahnya", CycleDetailSchema)}, errors=(404,))
@login_required(csrf="header")
def get_cycle(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    with _read_session() as session:
        cycle = _visible_cycle(session, principal, cycle_id)
        return CycleDetailSchema().dump(_cycle_view(session, cycle, with_steps=True))


@bp.get("/cycles/<uuid:cycle_id>/packages")
@documented(summary="Paket dokumen siklus yang terlihat oleh Anda",
            description="Staf Bidang hanya melihat paket Bidangnya sendiri.",
            responses={200: ("Paket per Bidang", PackageListSchema)}, errors=(404,))
@login_required(csrf="header")
def list_packages(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    # A package not yet started is created on first sight: a write, after the scope check.
    with transaction(resources().session_factory) as session:
        cycle = _visible_cycle(session, principal, cycle_id)
        found = packages.packages_of_cycle(session, principal, cycle)
        summaries = [summarize(session, p, with_versions=False) for p in found]
        summaries.sort(key=lambda s: s.bidang_name)
        return PackageListSchema().dump({"packages": summaries})


# -- packages -------------------------------------------------------------------------------------

@bp.get("/packages/<uuid:package_id>")
@documented(summary="Satu paket: tenggat, sisa waktu kerja, dokumen dan versinya",
            responses={200: ("Paket", PackageDetailSchema)}, errors=(404,))
@login_required(csrf="header")
def get_package(package_id: uuid.UUID) -> ResponseReturnValue:
    with _read_session() as session:
        return _package_answer(session, package_id, _principal())


@bp.post("/packages/<uuid:package_id>/submit")
@documented(summary="Serahkan paket kepada Kasubbag Program",
            body=NoBodySchema, body_required=False,
            responses={200: ("Paket setelah diserahkan", PackageDetailSchema)},
            errors=(400, 403, 404, 409, 415, 422))
@login_required(csrf="header")
def submit_package(package_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    json_body(NoBodySchema(), optional=True)
    with transaction(resources().session_factory) as session:
        packages.submit_package(session, principal=principal, package_id=package_id,
                                at=current_time())
    with _read_session() as session:
        return _package_answer(session, package_id, principal)


@bp.post("/packages/<uuid:package_id>/withdraw")
@documented(summary="Tarik kembali paket yang belum mulai diperiksa",
            body=NoBodySchema, body_required=False,
            responses={200: ("Paket setelah ditarik", PackageDetailSchema)},
            errors=(400, 403, 404, 409, 415, 422))
@login_required(csrf="header")
def withdraw_package(package_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    json_body(NoBodySchema(), optional=True)
    with transaction(resources().session_factory) as session:
        packages.withdraw_package(session, principal=principal, package_id=package_id,
                                  at=current_time())
    with _read_session() as session:
        return _package_answer(session, package_id, principal)


# -- items and versions ---------------------------------------------------------------------------

@bp.post("/items/<uuid:item_id>/versions")
@documented(
    summary="Unggah versi baru sebuah dokumen",
    description="multipart/form-data: isian dulu, berkas terakhir. Jenis berkas diperiksa dari "
                "isinya, bukan dari nama atau Content-Type. Berkas yang sama persis dengan "
                "versi terkini menjawab 200 dengan versi itu; tidak ada versi baru.",
    body=UploadFormSchema, body_content_type="multipart/form-data",
    responses={201: ("Versi baru", VersionSchema),
               200: ("Berkas sama dengan versi terkini", VersionSchema)},
    headers={201: {"Location": "alamat versi baru"}},
    errors=(400, 403, 404, 409, 413, 415, 422, 503))
@login_required(csrf="header")
def upload_version(item_id: uuid.UUID) -> ResponseReturnValue:
    # The body is streamed to object storage by upload_document: never touch request.form.
    result = upload_document(resources(), _principal(), item_id, body=request.stream,
                             content_type=request.content_type,
                             content_length=request.content_length)
    body = VersionSchema().dump(result.version)
    if not result.created:
        return body, 200
    return body, 201, {"Location": url_for("api.get_version", version_id=result.version.id)}


@bp.post("/items/<uuid:item_id>/review")
@documented(summary="Terima atau kembalikan satu dokumen yang diserahkan",
            description="Hanya Kasubbag Program. Pengembalian wajib disertai alasan.",
            body=ReviewSchema,
            responses={200: ("Paket setelah keputusan", PackageDetailSchema)},
            errors=(400, 403, 404, 409, 415, 422))
@login_required(csrf="header")
def review_item(item_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    review: ReviewRequest = json_body(ReviewSchema())
    with transaction(resources().session_factory) as session:
        item = packages.review_item(session, principal=principal, item_id=item_id,
                                    decision=review.decision, reason=review.reason,
                                    at=current_time())
        package_id = item.submission_id
    with _read_session() as session:
        return _package_answer(session, package_id, principal)


@bp.get("/versions/<uuid:version_id>")
@documented(summary="Satu versi dokumen", responses={200: ("Versi", VersionSchema)},
            errors=(404,))
@login_required(csrf="header")
def get_version(version_id: uuid.UUID) -> ResponseReturnValue:
    with _read_session() as session:
        version, _item, _package = packages.get_version(session, _principal(), version_id)
        return VersionSchema().dump(version)


@bp.get("/versions/<uuid:version_id>/download")
@documented(summary="Tautan unduhan sementara (5 menit) untuk satu versi",
            description="Setiap permintaan tautan dicatat di log audit.",
            responses={200: ("Tautan unduhan", DownloadLinkSchema)}, errors=(404,))
@login_required(csrf="header")
def download_version(version_id: uuid.UUID) -> ResponseReturnValue:
    url = download_link(resources(), _principal(), version_id, via="api")
    return DownloadLinkSchema().dump(
        {"url": url, "expires_in": int(LINK_LIFETIME.total_seconds())})


# -- the cycle's own documents --------------------------------------------------------------------

@bp.get("/cycles/<uuid:cycle_id>/documents")
@documented(summary="Dokumen siklus: SK Tim Evaluasi (langkah 2) dan pedoman evaluasi (langkah 3)",
            description="Semua versi, per jenis, terbaru dulu. Setiap pembaca siklus boleh.",
            responses={200: ("Dokumen siklus", CycleDocumentListSchema)}, errors=(404,))
@login_required(csrf="header")
def list_cycle_documents(cycle_id: uuid.UUID) -> ResponseReturnValue:
    with _read_session() as session:
        cycle = _visible_cycle(session, _principal(), cycle_id)
        return CycleDocumentListSchema().dump(
            {"documents": cycle_documents.documents_of(session, cycle)})


@bp.post("/cycles/<uuid:cycle_id>/documents/<kind>")
@documented(
    summary="Unggah versi baru dokumen siklus (kind: SK_TIM_EVALUASI atau PEDOMAN_EVALUASI)",
    description="multipart/form-data dengan satu berkas `file`: PDF, DOCX atau ODT, diperiksa "
                "dari isinya. SK diunggah Kepala Dinas atau Kasubbag Program selama langkah 2 "
                "berjalan; pedoman oleh Tim Evaluasi atau Kasubbag Program selama langkah 3. "
                "Berkas yang sama persis dengan versi terkini menjawab 200 dengan versi itu.",
    body=CycleDocumentFormSchema, body_content_type="multipart/form-data",
    responses={201: ("Versi baru", CycleDocumentSchema),
               200: ("Berkas sama dengan versi terkini", CycleDocumentSchema)},
    errors=(400, 403, 404, 409, 413, 415, 422, 503))
@login_required(csrf="header")
def upload_cycle_document(cycle_id: uuid.UUID, kind: str) -> ResponseReturnValue:
    # Streamed to object storage by upload_cycle_document: never touch request.form.
    result = cycle_document_flow.upload_cycle_document(
        resources(), _principal(), cycle_id, cycle_document_flow.parse_kind(kind),
        body=request.stream, content_type=request.content_type,
        content_length=request.content_length)
    return CycleDocumentSchema().dump(result.document), 201 if result.created else 200


@bp.get("/cycle-documents/<uuid:document_id>/download")
@documented(summary="Tautan unduhan sementara (5 menit) untuk satu dokumen siklus",
            description="Setiap permintaan tautan dicatat di log audit.",
            responses={200: ("Tautan unduhan", DownloadLinkSchema)}, errors=(404,))
@login_required(csrf="header")
def download_cycle_document(document_id: uuid.UUID) -> ResponseReturnValue:
    url = cycle_document_link(resources(), _principal(), document_id, via="api")
    return DownloadLinkSchema().dump(
        {"url": url, "expires_in": int(LINK_LIFETIME.total_seconds())})


# -- the document of this API ---------------------------------------------------------------------

@bp.get("/openapi.json")
@documented(summary="Dokumen OpenAPI 3 API ini", authenticated=False,
            responses={200: ("Dokumen OpenAPI", None)})
def openapi() -> ResponseReturnValue:
    return jsonify(build_spec(current_app))

