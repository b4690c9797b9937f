"""The city's administration API under /api/v1/admin (JSON; personal API tokens or the portal's
session with its X-CSRF-Token): the dinas (tenants) and the city users and roles for the
platform_admin (`platform_admin`), and the audit log for whoever administers something
(`audit_view`).

An activation link is in the answer that created it, once; only its hash is stored. Refusals are
the API's usual `{"error": {code, message, fields?, details?}}`: 403 for a caller who is not the
platform_admin, 404 for what does not exist (or, in the audit log, another dinas), 409 for a
state that does not allow the change (the last platform_admin, a dinas already closed), 422 with
`fields` for a bad body.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import Session

from services.intake import audit_view, platform_admin
from services.intake.auth import current_principal, login_required, resources
from services.intake.openapi import documented
from services.intake.people import InvalidField
from shared.clock import now
from shared.i18n import format_datetime
from shared.identity.account_links import lifetime_of, link_url
from shared.identity.models import LinkPurpose, User
from shared.identity.principal import Principal
from shared.identity.roles import CITY_ROLES
from shared.web.api_http import ApiError, json_body, register_errors, unit_of_work
from shared.web.json_errors import error_response
from shared.web.schemas import (
    REQUIRED,
    UUID_MESSAGES,
    Instant,
    NoBodySchema,
    StrictSchema,
    text,
)

bp = Blueprint("platform_admin_api", __name__, url_prefix="/api/v1/admin")
register_errors(bp)

REQUIRED_MESSAGES: dict[str, Any] = REQUIRED
CITY_ROLE_VALUES = sorted(r.value for r in CITY_ROLES)
ROLE_MESSAGE = "Peran tingkat kota: " + ", ".join(CITY_ROLE_VALUES) + "."
ADMIN_ERRORS = (403, 404, 409, 415, 422)


@bp.errorhandler(InvalidField)
def _invalid_field(exc: InvalidField) -> ResponseReturnValue:
    return error_response(422, exc.message, fields={exc.field: [exc.message]})



# -- schemas ---------------------------------------------------------------------------------------

def _optional_text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=max_length,
                                                  error=f"Paling panjang {max_length} karakter."),
                         error_messages={"invalid": "Harus berupa teks."}, **kwargs)


class PersonRequest(StrictSchema):
    username = text(128, metadata={"example": "kadis.kesehatan"})
    full_name = text(255)
    email = _optional_text(255)
    nip = _optional_text(32, metadata={"description": "18 angka"})


class TenantCreateRequest(StrictSchema):
    slug = text(64, metadata={"description": "kode singkat (huruf kecil, angka, tanda hubung)",
                              "example": "dinas-kesehatan"})
    name = text(255, metadata={"example": "Dinas Kesehatan"})
    kepala = fields.Nested(PersonRequest, required=True, error_messages=REQUIRED_MESSAGES,
                           metadata={"description": "Kepala Dinas pertama"})


class RenameRequest(StrictSchema):
    name = text(255)


class ReasonRequest(StrictSchema):
    reason = _optional_text(2000, metadata={"description": "wajib untuk penonaktifan"})


class CityUserRequest(PersonRequest):
    roles = fields.List(fields.String(validate=validate.OneOf(CITY_ROLE_VALUES,
                                                              error=ROLE_MESSAGE)),
                        required=True, error_messages=REQUIRED_MESSAGES,
                        metadata={"description": "peran tingkat kota (minimal satu)"})


class RoleRequest(StrictSchema):
    role = fields.String(required=True, error_messages=REQUIRED_MESSAGES,
                         validate=validate.OneOf(CITY_ROLE_VALUES, error=ROLE_MESSAGE))


class PersonSchema(Schema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    nip = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    roles = fields.List(fields.String(), required=True)


class TenantSchema(Schema):
    id = fields.UUID(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = Instant(required=True)
    deactivated_at = Instant(allow_none=True)
    admin_delegated = fields.Boolean(required=True)
    users = fields.Integer(required=True, metadata={"description": "jumlah akun"})
    active_users = fields.Integer(required=True)
    heads = fields.List(fields.Nested(PersonSchema), required=True,
                        metadata={"description": "akun Kepala Dinas"})


class TenantListSchema(Schema):
    tenants = fields.List(fields.Nested(TenantSchema), required=True)


class ActivationSchema(Schema):
    url = fields.String(required=True, metadata={"description": "tautan aktivasi sekali pakai; "
                                                                "hanya ditampilkan sekali"})
    expires_at = Instant(required=True)


class TenantCreatedSchema(Schema):
    tenant = fields.Nested(TenantSchema, required=True)
    kepala = fields.Nested(PersonSchema, required=True)
    activation = fields.Nested(ActivationSchema, required=True)


class AccountCreatedSchema(Schema):
    user = fields.Nested(PersonSchema, required=True)
    activation = fields.Nested(ActivationSchema, required=True)


class CityUserListSchema(Schema):
    users = fields.List(fields.Nested(PersonSchema), required=True)


class AuditQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    tenant_id = fields.UUID(load_default=None, error_messages=UUID_MESSAGES)
    action = fields.String(load_default=None, validate=validate.Length(max=64))
    service = fields.String(load_default=None, validate=validate.Length(max=32))
    actor_id = fields.UUID(load_default=None, error_messages=UUID_MESSAGES)
    since = fields.Date(load_default=None, error_messages={"invalid": "Format TTTT-BB-HH."})
    until = fields.Date(load_default=None, error_messages={"invalid": "Format TTTT-BB-HH."})
    before = fields.Integer(load_default=None, strict=False, validate=validate.Range(min=1),
                            error_messages={"invalid": "Harus berupa angka."})
    limit = fields.Integer(load_default=audit_view.DEFAULT_LIMIT, strict=False,
                           validate=validate.Range(min=1, max=audit_view.MAX_LIMIT,
                                                   error=f"Antara 1 dan {audit_view.MAX_LIMIT}."),
                           error_messages={"invalid": "Harus berupa angka."})


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    occurred_at = Instant(required=True)
    occurred_at_wib = fields.String(required=True, metadata={
        "example": "6 April 2026 pukul 08.15 WIB"})
    tenant_id = fields.UUID(allow_none=True, metadata={"description": "None: tingkat kota"})
    tenant_name = fields.String(allow_none=True)
    actor_user_id = fields.UUID(allow_none=True)
    actor_name = fields.String(required=True)
    actor_username = fields.String(allow_none=True)
    action = fields.String(required=True)
    action_label = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    service = fields.String(required=True)


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next_before = fields.Integer(allow_none=True, metadata={
        "description": "kirim sebagai `before` untuk halaman berikutnya; null: halaman terakhir"})


AUDIT_QUERY = {
    "tenant_id": ("string", "hanya perangkat daerah ini (UUID)"),
    "action": ("string", "satu tindakan, mis. tenant.renamed; akhiri dengan '.' atau '*' untuk "
                         "awalan, mis. tenant."),
    "service": ("string", "intake, workflow atau reporting"),
    "actor_id": ("string", "hanya tindakan pengguna ini (UUID)"),
    "since": ("string", "sejak tanggal ini (TTTT-BB-HH, WIB)"),
    "until": ("string", "sampai tanggal ini (TTTT-BB-HH, WIB)"),
    "before": ("integer", "halaman berikutnya: `next_before` halaman sebelumnya"),
    "limit": ("integer", f"banyaknya entri (1-{audit_view.MAX_LIMIT}, bawaan "
                         f"{audit_view.DEFAULT_LIMIT})"),
}


# -- dinas ---------------------------------------------------------------------------------------

@bp.get("/tenants")
@login_required
@documented(summary="Semua perangkat daerah (Administrator Platform)",
            responses={200: ("Perangkat daerah", TenantListSchema)}, errors=(403,))
def list_tenants() -> ResponseReturnValue:
    with resources().session_factory() as session:
        found = platform_admin.list_tenants(session, principal=_principal())
        return _dump(TenantListSchema(), {"tenants": [tenant_view(o) for o in found]})


@bp.post("/tenants")
@login_required(csrf="header")
@documented(summary="Buat perangkat daerah beserta Kepala Dinas pertamanya (Administrator "
                    "Platform)",
            description="Jawabannya memuat tautan aktivasi sekali pakai untuk Kepala Dinas; "
                        "tautan itu tidak dapat dilihat lagi.",
            body=TenantCreateRequest,
            responses={201: ("Dibuat", TenantCreatedSchema)}, errors=ADMIN_ERRORS)
def create_tenant() -> ResponseReturnValue:
    principal = _principal()
    body = json_body(TenantCreateRequest)
    at = now()
    with unit_of_work() as session:
        tenant, head, token = platform_admin.create_tenant_with_head(
            session, principal=principal, slug=body["slug"], name=body["name"],
            kepala_username=body["kepala"]["username"],
            kepala_full_name=body["kepala"]["full_name"], kepala_email=body["kepala"]["email"],
            kepala_nip=body["kepala"]["nip"], at=at)
        overview = platform_admin.get_tenant(session, principal=principal, tenant_id=tenant.id)
        activation = platform_admin.Activation(token, at + lifetime_of(LinkPurpose.ACTIVATION))
        return _dump(TenantCreatedSchema(), {
            "tenant": tenant_view(overview), "kepala": person_view(head),
            "activation": activation_view(activation)}, 201)


@bp.get("/tenants/<uuid:tenant_id>")
@login_required
@documented(summary="Satu perangkat daerah (Administrator Platform)",
            responses={200: ("Perangkat daerah", TenantSchema)}, errors=(403, 404))
def get_tenant(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with resources().session_factory() as session:
        overview = platform_admin.get_tenant(session, principal=_principal(), tenant_id=tenant_id)
        return _dump(TenantSchema(), tenant_view(overview))


@bp.patch("/tenants/<uuid:tenant_id>")
@login_required(csrf="header")
@documented(summary="Ganti nama perangkat daerah (Administrator Platform)", body=RenameRequest,
            responses={200: ("Perangkat daerah", TenantSchema)}, errors=ADMIN_ERRORS)
def rename_tenant(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(RenameRequest)
    with unit_of_work() as session:
        platform_admin.rename_tenant(session, principal=principal, tenant_id=tenant_id,
                                     name=body["name"], at=now())
        return _tenant_answer(session, principal, tenant_id)


@bp.post("/tenants/<uuid:tenant_id>/deactivate")
@login_required(csrf="header")
@documented(summary="Nonaktifkan perangkat daerah (Administrator Platform)",
            description="Tidak ada yang dihapus. Penggunanya keluar saat itu juga dan tidak "
                        "dapat masuk selama perangkat daerah nonaktif; siklus baru tidak dapat "
                        "dibuka. `reason` wajib.",
            body=ReasonRequest, responses={200: ("Perangkat daerah", TenantSchema)},
            errors=ADMIN_ERRORS)
def deactivate_tenant(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(ReasonRequest)
    with unit_of_work() as session:
        platform_admin.deactivate_tenant(session, principal=principal, tenant_id=tenant_id,
                                         reason=body["reason"] or "", at=now())
        return _tenant_answer(session, principal, tenant_id)


@bp.post("/tenants/<uuid:tenant_id>/reactivate")
@login_required(csrf="header")
@documented(summary="Aktifkan kembali perangkat daerah (Administrator Platform)",
            body=ReasonRequest, body_required=False,
            responses={200: ("Perangkat daerah", TenantSchema)}, errors=ADMIN_ERRORS)
def reactivate_tenant(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(ReasonRequest, optional=True)
    with unit_of_work() as session:
        platform_admin.reactivate_tenant(session, principal=principal, tenant_id=tenant_id,
                                         reason=body["reason"], at=now())
        return _tenant_answer(session, principal, tenant_id)


@bp.post("/tenants/<uuid:tenant_id>/heads")
@login_required(csrf="header")
@documented(summary="Buat akun Kepala Dinas lain untuk perangkat daerah (Administrator "
                    "Platform), dengan tautan aktivasinya",
            body=PersonRequest, responses={201: ("Dibuat", AccountCreatedSchema)},
            errors=ADMIN_ERRORS)
def appoint_head(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(PersonRequest)
    with unit_of_work() as session:
        user, activation = platform_admin.appoint_head(
            session, principal=principal, tenant_id=tenant_id, username=body["username"],
            full_name=body["full_name"], email=body["email"], nip=body["nip"], at=now())
        return _dump(AccountCreatedSchema(), {"user": person_view(user),
                                              "activation": activation_view(activation)}, 201)


@bp.post("/users/<uuid:user_id>/activation-link")
@login_required(csrf="header")
@documented(summary="Tautan aktivasi baru untuk pengguna tingkat kota atau Kepala Dinas "
                    "(Administrator Platform); tautan sebelumnya tidak berlaku lagi",
            body=NoBodySchema, body_required=False,
            responses={201: ("Diterbitkan", ActivationSchema)}, errors=ADMIN_ERRORS)
def reissue_activation(user_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    json_body(NoBodySchema, optional=True)
    with unit_of_work() as session:
        activation = platform_admin.reissue_activation(session, principal=principal,
                                                       user_id=user_id, at=now())
        return _dump(ActivationSchema(), activation_view(activation), 201)


# -- city users and roles ------------------------------------------------------------------------

@bp.get("/city-users")
@login_required
@documented(summary="Pengguna tingkat kota dan perannya (Administrator Platform)",
            responses={200: ("Pengguna", CityUserListSchema)}, errors=(403,))
def list_city_users() -> ResponseReturnValue:
    with resources().session_factory() as session:
        users = platform_admin.list_city_users(session, principal=_principal())
        return _dump(CityUserListSchema(), {"users": [person_view(u) for u in users]})


@bp.post("/city-users")
@login_required(csrf="header")
@documented(summary="Buat pengguna tingkat kota dengan perannya (Administrator Platform)",
            description="Jawabannya memuat tautan aktivasi sekali pakai.",
            body=CityUserRequest, responses={201: ("Dibuat", AccountCreatedSchema)},
            errors=ADMIN_ERRORS)
def create_city_user() -> ResponseReturnValue:
    principal = _principal()
    body = json_body(CityUserRequest)
    with unit_of_work() as session:
        user, activation = platform_admin.create_city_user(
            session, principal=principal, username=body["username"],
            full_name=body["full_name"], email=body["email"], nip=body["nip"],
            roles=body["roles"], at=now())
        return _dump(AccountCreatedSchema(), {"user": person_view(user),
                                              "activation": activation_view(activation)}, 201)


@bp.get("/city-users/<uuid:user_id>")
@login_required
@documented(summary="Satu pengguna tingkat kota (Administrator Platform)",
            responses={200: ("Pengguna", PersonSchema)}, errors=(403, 404))
def get_city_user(user_id: uuid.UUID) -> ResponseReturnValue:
    with resources().session_factory() as session:
        user = platform_admin.get_city_user(session, principal=_principal(), user_id=user_id)
        return _dump(PersonSchema(), person_view(user))


@bp.post("/city-users/<uuid:user_id>/roles")
@login_required(csrf="header")
@documented(summary="Berikan peran tingkat kota (Administrator Platform)", body=RoleRequest,
            responses={200: ("Pengguna", PersonSchema)}, errors=ADMIN_ERRORS)
def grant_city_role(user_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(RoleRequest)
    with unit_of_work() as session:
        user = platform_admin.grant_city_role(session, principal=principal, user_id=user_id,
                                              role=body["role"], at=now())
        return _dump(PersonSchema(), person_view(user))


@bp.delete("/city-users/<uuid:user_id>/roles/<role>")
@login_required(csrf="header")
@documented(summary="Cabut peran tingkat kota (Administrator Platform)",
            description="Administrator Platform aktif yang terakhir tidak dapat dicabut "
                        "perannya (409).",
            responses={200: ("Pengguna", PersonSchema)}, errors=(403, 404, 409, 422))
def revoke_city_role(user_id: uuid.UUID, role: str) -> ResponseReturnValue:
    principal = _principal()
    with unit_of_work() as session:
        user = platform_admin.revoke_city_role(session, principal=principal, user_id=user_id,
                                               role=role, at=now())
        return _dump(PersonSchema(), person_view(user))


@bp.post("/city-users/<uuid:user_id>/deactivate")
@login_required(csrf="header")
@documented(summary="Nonaktifkan pengguna tingkat kota (Administrator Platform)",
            description="Sesinya berakhir saat itu juga. Administrator Platform aktif yang "
                        "terakhir tidak dapat dinonaktifkan (409).",
            body=ReasonRequest, body_required=False,
            responses={200: ("Pengguna", PersonSchema)}, errors=ADMIN_ERRORS)
def deactivate_city_user(user_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(ReasonRequest, optional=True)
    with unit_of_work() as session:
        user = platform_admin.deactivate_city_user(session, principal=principal,
                                                   user_id=user_id, reason=body["reason"],
                                                   at=now())
        return _dump(PersonSchema(), person_view(user))


@bp.post("/city-users/<uuid:user_id>/reactivate")
@login_required(csrf="header")
@documented(summary="Aktifkan kembali pengguna tingkat kota (Administrator Platform)",
            body=ReasonRequest, body_required=False,
            responses={200: ("Pengguna", PersonSchema)}, errors=ADMIN_ERRORS)
def reactivate_city_user(user_id: uuid.UUID) -> ResponseReturnValue:
    principal = _principal()
    body = json_body(ReasonRequest, optional=True)
    with unit_of_work() as session:
        user = platform_admin.reactivate_city_user(session, principal=principal,
                                                   user_id=user_id, reason=body["reason"],
                                                   at=now())
        return _dump(PersonSchema(), person_view(user))


# -- the audit log -------------------------------------------------------------------------------

@bp.get("/audit")
@login_required
@documented(summary="Log audit: entri perangkat daerah yang Anda kelola (Kepala Dinas, atau "
                    "Kasubbag Program yang diberi delegasi); semua entri bagi Administrator "
                    "Platform",
            description="Terbaru dahulu, dari setiap layanan; siapa, tindakan, sebelum, sesudah, "
                        "alasan, waktu (juga dalam WIB).",
            query=AUDIT_QUERY, responses={200: ("Entri", AuditPageSchema)},
            errors=(403, 404, 422))
def read_audit() -> ResponseReturnValue:
    wanted = AuditQuerySchema().load(request.args)
    with resources().session_factory() as session:
        page = audit_view.read_audit(session, principal=_principal(),
                                     query=audit_view.AuditQuery(**wanted))
        return _dump(AuditPageSchema(), {
            "entries": [audit_entry_view(e) for e in page.entries],
            "next_before": page.next_before})


# -- views of the rows ---------------------------------------------------------------------------

def person_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name,
            "email": user.email, "nip": user.nip, "active": user.active,
            "roles": sorted({g.role for g in user.grants})}


def tenant_view(overview: platform_admin.TenantOverview) -> dict[str, Any]:
    tenant = overview.tenant
    return {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "active": tenant.active,
            "created_at": tenant.created_at, "deactivated_at": tenant.deactivated_at,
            "admin_delegated": tenant.admin_delegated, "users": overview.users,
            "active_users": overview.active_users,
            "heads": [person_view(u) for u in overview.heads]}


def activation_view(activation: platform_admin.Activation) -> dict[str, Any]:
    return {"url": link_url(resources().settings.portal_url, activation.token),
            "expires_at": activation.expires_at}


def audit_entry_view(entry: audit_view.AuditRow) -> dict[str, Any]:
    return {**entry.__dict__, "occurred_at_wib": format_datetime(entry.occurred_at)}


# -- helpers -------------------------------------------------------------------------------------

def _principal() -> Principal:
    principal = current_principal()
    if principal is None:  # login_required has answered 401 already
        raise ApiError(401, "Silakan masuk terlebih dahulu.")
    return principal


def _dump(schema: Schema, data: Any, status: int = 200) -> ResponseReturnValue:
    return jsonify(schema.dump(data)), status


def _tenant_answer(session: Session, principal: Principal,
                   tenant_id: uuid.UUID) -> ResponseReturnValue:
    overview = platform_admin.get_tenant(session, principal=principal, tenant_id=tenant_id)
    return _dump(TenantSchema(), tenant_view(overview))
