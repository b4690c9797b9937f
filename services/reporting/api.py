"""The reporting REST API under /api/v1: the LKE rubrics (each dinas is offered those published
to every dinas or to it; imported from an evaluator's workbook by the platform_admin, for every
dinas or some) and the API's own document. The LKE of a cycle and the reports have their own
modules (evaluation_api.py, reports_api.py).

The staff portal calls it on a user's behalf with the signed service token, programs with a
personal API token (shared.web.service_auth). Each request is one transaction. Another dinas's
data answers 404, a visible object the caller's role may not act on 403, a state that does not
allow the action 409 with what is missing in `details`, a bad body 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reporting import access, presenters
from services.reporting.openapi import build_spec
from services.reporting.rubrics import (
    DEFAULT_RUBRIC,
    RUBRIC_TARGETS,
    ensure_bundled_rubrics,
    offered_to_tenants,
    publish_rubric,
    rubric_offered,
)
from services.reporting.schemas import RubricDetailSchema, RubricImportSchema, RubricSummarySchema
from shared.publication_targets import FIELD as TARGETS_FIELD
from shared.publication_targets import (
    checked_targets,
    offer_scope,
    parse_tenant_ids,
    stored_targets,
    stored_targets_of,
)
from shared.reporting.models import Rubric
from shared.reporting.workbook import WorkbookError, import_lke_workbook
from shared.web.api_http import ApiError, invalid, unit_of_work
from shared.web.errors import Invalid, NotFound
from shared.web.openapi import documented
from shared.web.service_auth import caller, principal_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_WORKBOOK_BYTES = 5 * 1024 * 1024


def dumped(schema: Any, data: Any, status: int = 200) -> ResponseReturnValue:
    """`data` dumped by `schema` as the JSON answer (a list when the schema has many=True)."""
    return jsonify(schema.dump(data)), status


# -- rubrics ---------------------------------------------------------------------------------------

@bp.get("/rubrics")
@principal_required
@documented(summary="Rubrik LKE yang ditawarkan kepada Anda (setiap versi): yang diterbitkan "
                    "untuk semua perangkat daerah atau dinas Anda; kota melihat semuanya",
            query={"tenant_id": ("string", "hanya yang ditawarkan kepada dinas ini (UUID)")},
            responses={200: ("Rubrik", RubricSummarySchema(many=True))}, errors=(404, 422))
def list_rubrics() -> ResponseReturnValue:
    principal = caller()
    tenant_id = _tenant_arg()
    with unit_of_work() as session:
        if session.scalar(select(Rubric.id).where(Rubric.code == DEFAULT_RUBRIC).limit(1)) is None:
            ensure_bundled_rubrics(session)  # the rubric files shipped with the platform
        query = select(Rubric).order_by(Rubric.code, Rubric.version)
        readable = offer_scope(principal)
        if tenant_id is not None:
            if readable is not None and tenant_id not in readable:
                raise NotFound("Perangkat daerah")
            query = query.where(offered_to_tenants([tenant_id]))
        elif readable is not None:
            query = query.where(offered_to_tenants(readable))
        rubrics = list(session.scalars(query))
        targets = stored_targets_of(session, RUBRIC_TARGETS, rubrics)
        return dumped(RubricSummarySchema(many=True), [
            {**presenters.rubric_summary(r), **presenters.rubric_offer(targets[r.id], readable)}
            for r in rubrics])


@bp.get("/rubrics/<uuid:rubric_id>")
@principal_required
@documented(summary="Satu versi rubrik LKE beserta seluruh kriterianya",
            responses={200: ("Rubrik", RubricDetailSchema)}, errors=(404,))
def get_rubric(rubric_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        rubric = session.get(Rubric, rubric_id)
        readable = offer_scope(principal)
        if rubric is None or (readable is not None and not any(
                rubric_offered(session, rubric, t) for t in readable)):
            raise NotFound("Rubrik LKE")
        return _rubric_answer(session, rubric, readable)


@bp.post("/rubrics/import")
@principal_required
@documented(summary="Impor LKE dari buku kerja XLSX sebagai versi rubrik (Administrator "
                    "Platform), untuk semua perangkat daerah atau yang disebut di `tenant_ids`",
            description="Berkas yang tidak valid dijawab 422 dengan `details`: satu baris per "
                        "masalah, menyebut baris dan kolomnya; tidak ada yang disimpan. Versi "
                        "yang sama dengan isi yang sama dijawab 200 (tujuannya diganti dengan "
                        "yang dikirim); isi lain dengan kode dan versi yang sama 409.",
            body=RubricImportSchema, body_content_type="multipart/form-data",
            responses={201: ("Diterbitkan", RubricDetailSchema),
                       200: ("Versi yang sama sudah diterbitkan", RubricDetailSchema)},
            errors=(403, 409, 413, 415, 422))
def import_rubric() -> ResponseReturnValue:
    principal = caller()
    access.require_role(principal, None, access.RUBRIC_PUBLISHERS, "mengimpor rubrik LKE")
    form = _import_form()
    picked = parse_tenant_ids(form.pop(TARGETS_FIELD))
    data = _workbook_bytes(form.pop("file"))
    try:
        definition = import_lke_workbook(data, **form)
    except WorkbookError as exc:
        raise Invalid("Buku kerja LKE tidak valid.", exc.details) from exc
    with unit_of_work() as session:
        targets = checked_targets(session, picked)
        existed = session.scalar(select(Rubric.id).where(
            Rubric.code == definition.code, Rubric.version == definition.version))
        rubric = publish_rubric(session, definition, by=principal.user_id, targets=targets)
        return _rubric_answer(session, rubric, None, 200 if existed else 201)


def _rubric_answer(session: Session, rubric: Rubric, readable: Collection[uuid.UUID] | None,
                   status: int = 200) -> ResponseReturnValue:
    offer = presenters.rubric_offer(stored_targets(session, RUBRIC_TARGETS, rubric), readable)
    return dumped(RubricDetailSchema(), {**presenters.rubric_detail(rubric), **offer}, status)


def _tenant_arg() -> uuid.UUID | None:
    raw = request.args.get("tenant_id", "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise invalid("tenant_id", "Harus berupa UUID yang valid.") from None


def _import_form() -> dict[str, Any]:
    if (request.content_length or 0) > 2 * MAX_WORKBOOK_BYTES:
        raise ApiError(413, "Berkas LKE terlalu besar.")
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Kirim buku kerja LKE sebagai formulir multipart dengan isian file.")
    fields = {k: v for k, v in request.form.to_dict().items() if k != TARGETS_FIELD}
    loaded: dict[str, Any] = RubricImportSchema().load(
        {**fields, **({"file": request.files["file"]} if "file" in request.files else {})})
    loaded[TARGETS_FIELD] = request.form.getlist(TARGETS_FIELD)
    return loaded


def _workbook_bytes(upload: Any) -> bytes:
    data = upload.stream.read(MAX_WORKBOOK_BYTES + 1)
    if len(data) > MAX_WORKBOOK_BYTES:
        raise ApiError(413, "Berkas LKE terlalu besar.")
    if not data:
        raise invalid("file", "Berkas LKE kosong.")
    return bytes(data)


# -- the document of this API ----------------------------------------------------------------------

@bp.get("/openapi.json")
@documented(summary="Dokumen OpenAPI 3 API ini", authenticated=False,
            responses={200: ("Dokumen OpenAPI", None)})
def openapi() -> ResponseReturnValue:
    return jsonify(build_spec(current_app))
