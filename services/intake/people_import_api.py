"""The bulk import's JSON API, for a dinas's administrators (Kepala Dinas, or Kasubbag Program
when delegated), under /api/v1/admin/tenants/<tenant_id>/imports:

- `POST .../imports` (multipart/form-data, one `file`: CSV or XLSX) -> 201, the preview: per
  row create / change / unchanged / reject with its reasons, and the Bidang to create. Nothing
  changes but the stored batch.
- `GET .../imports` -> the latest previews; `GET .../imports/<id>` -> one.
- `POST .../imports/<id>/apply` -> 200, the batch applied, with each new account's one-time
  activation link (shown only in this answer); 409 when applied already or when the dinas has
  changed since the preview.

Authentication as the rest of intake's API (a personal API token, or the portal's session with
X-CSRF-Token). Another dinas (or a batch of one) answers 404, a member of the dinas who may not
administer it 403.
"""

from __future__ import annotations

import uuid
from typing import IO, Any

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from services.intake import people_import
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.multipart import MultipartError, MultipartReader
from services.intake.openapi import documented
from services.intake.people_import_file import MAX_FILE_BYTES, TOO_LARGE
from services.intake.people_import_plan import ACTION_LABELS
from shared.i18n import format_datetime
from shared.identity.account_links import link_url
from shared.identity.models import ImportBatch
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.api_http import ApiError, json_body, register_errors, unit_of_work
from shared.web.schemas import Instant, NoBodySchema

bp = Blueprint("people_import_api", __name__, url_prefix="/api/v1/admin/tenants")
register_errors(bp)

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file
RECENT = 20
NO_FILE = "Pilih berkas CSV atau XLSX untuk diimpor."
BROKEN_FORM = "Formulir unggahan rusak atau tidak lengkap; kirim ulang berkasnya."
FORM_DESCRIPTION = ("multipart/form-data dengan satu berkas `file`: CSV (UTF-8, pemisah `,` atau "
                    "`;`) atau XLSX (lembar pertama), paling besar 2 MB dan 2.000 baris. Kolom: "
                    "NIP, Nama, E-mail, Bidang, Peran (label atau kode; kosong = Staf Bidang), "
                    "opsional Nama pengguna (kosong = NIP). Jenis berkas diperiksa dari isinya.")


# -- schemas --------------------------------------------------------------------------------------

class ImportFormSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportChangeSchema(Schema):
    field = fields.String(metadata={"description": "full_name | email | role | bidang"})
    label = fields.String()
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)


class ImportRowSchema(Schema):
    row = fields.Integer(metadata={"description": "nomor baris di berkas"})
    kind = fields.String(metadata={"enum": ["person", "bidang"]})
    action = fields.String(metadata={"enum": ["create", "change", "unchanged", "reject"]})
    action_label = fields.String()
    nip = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    role_label = fields.String(allow_none=True)
    bidang = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    user_id = fields.UUID(allow_none=True)
    changes = fields.List(fields.Nested(ImportChangeSchema))
    reasons = fields.List(fields.String(), metadata={"description": "mengapa ditolak"})
    notes = fields.List(fields.String())


class ImportNewBidangSchema(Schema):
    name = fields.String()
    declared_in = fields.List(fields.Integer())
    used_by = fields.List(fields.Integer())


class ImportCountsSchema(Schema):
    create = fields.Integer(metadata={"description": "pengguna yang dibuat (Bidang baru: "
                                                     "`new_bidang`)"})
    change = fields.Integer()
    unchanged = fields.Integer()
    reject = fields.Integer()
    new_bidang = fields.Integer()


class ImportBatchSchema(Schema):
    id = fields.UUID()
    tenant_id = fields.UUID()
    filename = fields.String()
    sha256 = fields.String()
    format = fields.String(metadata={"enum": ["csv", "xlsx"]})
    columns = fields.List(fields.String())
    ignored_columns = fields.List(fields.String())
    counts = fields.Nested(ImportCountsSchema)
    new_bidang = fields.List(fields.Nested(ImportNewBidangSchema))
    rows = fields.List(fields.Nested(ImportRowSchema))
    created_by = fields.UUID()
    created_at = Instant()
    applied_by = fields.UUID(allow_none=True)
    applied_at = Instant(allow_none=True)


class ImportBatchSummarySchema(Schema):
    id = fields.UUID()
    filename = fields.String()
    counts = fields.Nested(ImportCountsSchema)
    created_at = Instant()
    applied_at = Instant(allow_none=True)


class ImportBatchListSchema(Schema):
    imports = fields.List(fields.Nested(ImportBatchSummarySchema))


class ImportNewAccountSchema(Schema):
    row = fields.Integer()
    user_id = fields.UUID()
    username = fields.String()
    full_name = fields.String()
    activation_url = fields.String(metadata={"description": "tautan aktivasi sekali pakai; "
                                                            "hanya ditampilkan sekali ini"})
    expires_at = Instant()
    expires_at_text = fields.String()


class ImportCreatedBidangSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class ImportAppliedSchema(Schema):
    batch = fields.Nested(ImportBatchSchema)
    accounts = fields.List(fields.Nested(ImportNewAccountSchema))
    created_bidang = fields.List(fields.Nested(ImportCreatedBidangSchema))
    changed = fields.Integer()


# -- presenting -----------------------------------------------------------------------------------

def batch_view(batch: ImportBatch) -> dict[str, Any]:
    """A batch as the API and the portal show it (labels in Indonesian)."""
    plan = batch.plan
    rows = [entry | {"action_label": ACTION_LABELS[entry["action"]],
                     "role_label": Role(entry["role"]).label if entry.get("role") else None}
            for entry in plan["rows"]]
    return {"id": batch.id, "tenant_id": batch.tenant_id, "filename": batch.filename,
            "sha256": batch.sha256, "format": plan.get("format"),
            "columns": plan.get("columns", []), "ignored_columns": plan.get("ignored_columns", []),
            "counts": plan["counts"], "new_bidang": plan["new_bidang"], "rows": rows,
            "created_by": batch.created_by, "created_at": batch.created_at,
            "applied_by": batch.applied_by, "applied_at": batch.applied_at}


def apply_view(result: people_import.ApplyResult) -> dict[str, Any]:
    portal_url = resources().settings.portal_url
    return {
        "batch": batch_view(result.batch),
        "accounts": [{"row": a.row, "user_id": a.user_id, "username": a.username,
                      "full_name": a.full_name,
                      "activation_url": link_url(portal_url, a.credential.secret),
                      "expires_at": a.credential.expires_at,
                      "expires_at_text": format_datetime(a.credential.expires_at)}
                     for a in result.accounts],
        "created_bidang": [{"id": bidang_id, "name": name}
                           for name, bidang_id in result.new_bidang],
        "changed": result.changed,
    }


# -- the upload -----------------------------------------------------------------------------------

def read_import_upload(stream: IO[bytes], content_type: str | None,
                       content_length: int | None) -> tuple[str, bytes]:
    """The file of a multipart import form, read with a cap (`ApiError` 400/413/415/422):
    never more than `MAX_FILE_BYTES` of it is held, whatever the client claims."""
    if content_length is not None and content_length > MAX_FILE_BYTES + FORM_OVERHEAD:
        raise ApiError(413, TOO_LARGE)
    if not (content_type or "").startswith("multipart/form-data"):
        raise ApiError(415, "Kirim berkas sebagai multipart/form-data dengan isian `file`.")
    try:
        reader = MultipartReader(stream, content_type)
        form = reader.read_until_file()
        if form.file is None or not form.file.filename:
            raise ApiError(422, NO_FILE, {"file": [NO_FILE]})
        data = bytearray()
        for chunk in form.file.chunks:
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise ApiError(413, TOO_LARGE)
        reader.read_rest()
    except MultipartError:
        raise ApiError(400, BROKEN_FORM) from None
    return form.file.filename, bytes(data)


# -- the routes -----------------------------------------------------------------------------------


def _principal() -> Principal:
    principal = current_principal()
    if principal is None:  # pragma: no cover - login_required answered 401 already
        raise ApiError(401, "Silakan masuk terlebih dahulu.")
    return principal


@bp.post("/<uuid:tenant_id>/imports")
@documented(summary="Pratinjau impor Bidang dan pengguna dari berkas CSV atau XLSX",
            description=FORM_DESCRIPTION + " Tidak ada yang berubah selain pratinjau yang "
                        "tersimpan; terapkan dengan `.../apply`.",
            body=ImportFormSchema, body_content_type="multipart/form-data",
            responses={201: ("Pratinjau: tindakan per baris dan alasannya",
                             ImportBatchSchema)},
            headers={201: {"Location": "alamat pratinjau"}},
            errors=(400, 403, 404, 413, 415, 422))
@login_required(csrf="header")
def create_import(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    with unit_of_work() as session:  # the dinas first: an outsider learns nothing of the form
        people_import.require_importer(session, principal=principal, tenant_id=tenant_id)
    filename, data = read_import_upload(request.stream, request.content_type,
                                        request.content_length)
    with unit_of_work() as session:
        batch = people_import.preview(session, principal=principal, tenant_id=tenant_id,
                                      filename=filename, data=data, at=current_time())
        body = ImportBatchSchema().dump(batch_view(batch))
    return body, 201, {"Location": url_for("people_import_api.get_import", tenant_id=tenant_id,
                                           import_id=body["id"])}


@bp.get("/<uuid:tenant_id>/imports")
@documented(summary="Pratinjau impor terbaru dinas ini",
            responses={200: ("Impor, terbaru dulu", ImportBatchListSchema)},
            errors=(403, 404))
@login_required(csrf="header")
def list_imports(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        batches = people_import.recent_batches(session, principal=_principal(),
                                               tenant_id=tenant_id, limit=RECENT)
        return ImportBatchListSchema().dump({"imports": [
            {"id": b.id, "filename": b.filename, "counts": b.plan["counts"],
             "created_at": b.created_at, "applied_at": b.applied_at} for b in batches]})


@bp.get("/<uuid:tenant_id>/imports/<uuid:import_id>")
@documented(summary="Satu pratinjau impor", responses={200: ("Pratinjau", ImportBatchSchema)},
            errors=(403, 404))
@login_required(csrf="header")
def get_import(tenant_id: uuid.UUID, import_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        batch = people_import.get_batch(session, principal=_principal(), tenant_id=tenant_id,
                                        batch_id=import_id)
        return ImportBatchSchema().dump(batch_view(batch))


@bp.post("/<uuid:tenant_id>/imports/<uuid:import_id>/apply")
@documented(summary="Terapkan pratinjau impor (sekali)",
            description="Menjalankan persis rencana pratinjau. Pengguna baru mendapat tautan "
                        "aktivasi sekali pakai yang hanya tampil di jawaban ini. 409 bila "
                        "sudah diterapkan, atau bila data dinas berubah sejak pratinjau "
                        "(`details` menyebut barisnya).",
            body=NoBodySchema, body_required=False,
            responses={200: ("Impor diterapkan", ImportAppliedSchema)},
            errors=(400, 403, 404, 409, 415, 422))
@login_required(csrf="header")
def apply_import(tenant_id: uuid.UUID, import_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    json_body(NoBodySchema, optional=True)
    with unit_of_work() as session:
        result = people_import.apply(session, principal=principal, tenant_id=tenant_id,
                                     batch_id=import_id, at=current_time())
        return ImportAppliedSchema().dump(apply_view(result))
