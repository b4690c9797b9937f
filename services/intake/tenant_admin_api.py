"""The tenant administration API under /api/v1/admin/tenants/<tenant_id>/: a dinas's Bidang,
user accounts (with their one-time credentials), acting officials (Plt/Plh) and the delegation
of the administration to the kasubbag_program -- the same actions as the portal's pages.

Authentication is the intake API's (a personal API token, or the portal's session with the
X-CSRF-Token header on writes). `people` decides who may: another dinas (or one of its users,
Bidang or assignments) answers 404, a member of the dinas without the right 403, a clash with
the data 409 and a bad value 422 with the field at fault under `fields`. Each request is one
transaction: a refusal changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from services.intake import people
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.openapi import documented
from services.intake.people_views import (
    acting_views,
    bidang_views,
    credential_view,
    person_view,
    person_views,
)
from services.intake.tenant_admin_schemas import (
    ActingAssignmentListSchema,
    ActingAssignmentRequestSchema,
    ActingAssignmentSchema,
    AdminDelegationRequestSchema,
    AdminDelegationSchema,
    AdminReasonSchema,
    AdminResetPasswordSchema,
    OneTimeCredentialSchema,
    TenantBidangListSchema,
    TenantBidangRequestSchema,
    TenantBidangSchema,
    TenantUserCreatedSchema,
    TenantUserCreateSchema,
    TenantUserListSchema,
    TenantUserSchema,
    TenantUserUpdateSchema,
)
from shared.identity.admin_scope import require_administrator
from shared.identity.models import Tenant, User
from shared.identity.principal import Principal
from shared.web.api_http import ApiError, json_body, register_errors, unit_of_work
from shared.web.errors import NotFound
from shared.web.json_errors import INVALID_MESSAGE, error_response

bp = Blueprint("tenant_admin", __name__, url_prefix="/api/v1/admin/tenants")
register_errors(bp)

TENANT = "/<uuid:tenant_id>"
READ_ERRORS = (403, 404)
WRITE_ERRORS = (400, 403, 404, 409, 415, 422)


@bp.errorhandler(people.InvalidField)
def _invalid_field(exc: people.InvalidField) -> ResponseReturnValue:
    return error_response(422, INVALID_MESSAGE, fields={exc.field: [exc.message]})



def _administrator(session: Session, tenant_id: uuid.UUID) -> Principal:
    """The caller, once known to administer the dinas (404/403 otherwise): checked before the
    body is read, so an outsider learns nothing from a validation answer."""
    principal = current_principal()
    if principal is None:  # login_required has answered 401 already
        raise ApiError(401, "Silakan masuk terlebih dahulu.")
    require_administrator(session, principal, tenant_id)
    return principal


def _person_of(session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """`user_id` when it is an account of the dinas in the address (else 404)."""
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("Pengguna")
    return user_id


def _credential(credential: people.Credential) -> dict[str, Any]:
    return credential_view(credential, portal_url=resources().settings.portal_url)


# -- Bidang ---------------------------------------------------------------------------------------

@bp.get(f"{TENANT}/bidang")
@documented(summary="Bidang dinas (yang terbuka dulu)", errors=READ_ERRORS,
            description="Untuk Kepala Dinas, atau Kasubbag Program bila diberi delegasi.",
            responses={200: ("Bidang", TenantBidangListSchema)})
@login_required(csrf="header")
def list_bidang(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        rows = people.list_bidang(session, principal=principal, tenant_id=tenant_id)
        return TenantBidangListSchema().dump({"bidang": bidang_views(session, rows)})


@bp.post(f"{TENANT}/bidang")
@documented(summary="Buat Bidang", body=TenantBidangRequestSchema, errors=WRITE_ERRORS,
            responses={201: ("Bidang baru", TenantBidangSchema)})
@login_required(csrf="header")
def create_bidang(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(TenantBidangRequestSchema)
        bidang = people.create_bidang(session, principal=principal, tenant_id=tenant_id,
                                      name=body["name"], at=current_time())
        return TenantBidangSchema().dump(bidang_views(session, [bidang])[0]), 201


@bp.patch(f"{TENANT}/bidang/<uuid:bidang_id>")
@documented(summary="Ganti nama Bidang", body=TenantBidangRequestSchema, errors=WRITE_ERRORS,
            responses={200: ("Bidang", TenantBidangSchema)})
@login_required(csrf="header")
def rename_bidang(tenant_id: uuid.UUID, bidang_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(TenantBidangRequestSchema)
        bidang = people.rename_bidang(session, principal=principal, tenant_id=tenant_id,
                                      bidang_id=bidang_id, name=body["name"], at=current_time())
        return TenantBidangSchema().dump(bidang_views(session, [bidang])[0])


@bp.post(f"{TENANT}/bidang/<uuid:bidang_id>/close")
@documented(summary="Tutup Bidang (riwayatnya tetap; tidak ikut siklus baru)",
            errors=WRITE_ERRORS, responses={200: ("Bidang", TenantBidangSchema)})
@login_required(csrf="header")
def close_bidang(tenant_id: uuid.UUID, bidang_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        bidang = people.close_bidang(session, principal=principal, tenant_id=tenant_id,
                                     bidang_id=bidang_id, at=current_time())
        return TenantBidangSchema().dump(bidang_views(session, [bidang])[0])


@bp.post(f"{TENANT}/bidang/<uuid:bidang_id>/reopen")
@documented(summary="Buka kembali Bidang yang ditutup", errors=WRITE_ERRORS,
            responses={200: ("Bidang", TenantBidangSchema)})
@login_required(csrf="header")
def reopen_bidang(tenant_id: uuid.UUID, bidang_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        bidang = people.reopen_bidang(session, principal=principal, tenant_id=tenant_id,
                                      bidang_id=bidang_id, at=current_time())
        return TenantBidangSchema().dump(bidang_views(session, [bidang])[0])


# -- users ----------------------------------------------------------------------------------------

@bp.get(f"{TENANT}/users")
@documented(summary="Pengguna dinas (yang aktif dulu)", errors=READ_ERRORS,
            responses={200: ("Pengguna", TenantUserListSchema)})
@login_required(csrf="header")
def list_users(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        users = people.list_people(session, principal=principal, tenant_id=tenant_id)
        return TenantUserListSchema().dump({"users": person_views(session, users)})


@bp.post(f"{TENANT}/users")
@documented(
    summary="Buat akun pengguna dinas, dengan tautan aktivasi atau kata sandi sementara",
    description="`credential`: `link` (bawaan; tautan aktivasi sekali pakai, 3 hari) atau "
                "`temporary` (kata sandi sementara, 3 hari, wajib diganti saat masuk pertama). "
                "Jawabannya memuat rahasia itu SEKALI saja.",
    body=TenantUserCreateSchema, errors=WRITE_ERRORS,
    responses={201: ("Akun baru dan kredensialnya (sekali tampil)", TenantUserCreatedSchema)})
@login_required(csrf="header")
def create_user(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(TenantUserCreateSchema)
        user, credential = people.create_person(
            session, principal=principal, tenant_id=tenant_id, username=body["username"],
            full_name=body["full_name"], nip=body.get("nip"), email=body.get("email"),
            role=body["role"], bidang_id=body["bidang_id"], credential=body["credential"],
            at=current_time())
        return TenantUserCreatedSchema().dump({"user": person_view(session, user),
                                           "credential": _credential(credential)}), 201


@bp.get(f"{TENANT}/users/<uuid:user_id>")
@documented(summary="Satu pengguna dinas", errors=READ_ERRORS,
            responses={200: ("Pengguna", TenantUserSchema)})
@login_required(csrf="header")
def get_user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        user = people.get_person(session, principal=principal,
                                 user_id=_person_of(session, tenant_id, user_id))
        return TenantUserSchema().dump(person_view(session, user))


@bp.patch(f"{TENANT}/users/<uuid:user_id>")
@documented(summary="Ubah nama, e-mail, NIP, peran atau Bidang pengguna",
            description="Hanya isian yang dikirim yang diubah; null mengosongkan NIP, e-mail "
                        "atau Bidang. Kepala Dinas aktif terakhir tidak dapat diberi peran lain "
                        "(409).",
            body=TenantUserUpdateSchema, errors=WRITE_ERRORS,
            responses={200: ("Pengguna", TenantUserSchema)})
@login_required(csrf="header")
def update_user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(TenantUserUpdateSchema)
        changes = {name: body[name] for name in
                   ("full_name", "email", "nip", "role", "bidang_id") if name in body}
        user = people.update_person(session, principal=principal,
                                    user_id=_person_of(session, tenant_id, user_id),
                                    at=current_time(), **changes)
        return TenantUserSchema().dump(person_view(session, user))


@bp.post(f"{TENANT}/users/<uuid:user_id>/deactivate")
@documented(summary="Nonaktifkan akun: sesi dan token API-nya berhenti saat itu juga",
            body=AdminReasonSchema, body_required=False, errors=WRITE_ERRORS,
            responses={200: ("Pengguna", TenantUserSchema)})
@login_required(csrf="header")
def deactivate_user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(AdminReasonSchema, optional=True)
        user = people.deactivate_person(session, principal=principal,
                                        user_id=_person_of(session, tenant_id, user_id),
                                        at=current_time(), reason=body.get("reason"))
        return TenantUserSchema().dump(person_view(session, user))


@bp.post(f"{TENANT}/users/<uuid:user_id>/reactivate")
@documented(summary="Aktifkan kembali akun", body=AdminReasonSchema, body_required=False,
            errors=WRITE_ERRORS, responses={200: ("Pengguna", TenantUserSchema)})
@login_required(csrf="header")
def reactivate_user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(AdminReasonSchema, optional=True)
        user = people.reactivate_person(session, principal=principal,
                                        user_id=_person_of(session, tenant_id, user_id),
                                        at=current_time(), reason=body.get("reason"))
        return TenantUserSchema().dump(person_view(session, user))


@bp.post(f"{TENANT}/users/<uuid:user_id>/reset-password")
@documented(summary="Atur ulang kata sandi: tautan sekali pakai atau kata sandi sementara",
            description="`method`: `link` (24 jam) atau `temporary` (3 hari; kata sandi lama "
                        "langsung tidak berlaku dan sesinya berakhir). Sekali tampil.",
            body=AdminResetPasswordSchema, errors=WRITE_ERRORS,
            responses={200: ("Kredensial (sekali tampil)", OneTimeCredentialSchema)})
@login_required(csrf="header")
def reset_password(tenant_id: uuid.UUID, user_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(AdminResetPasswordSchema)
        credential = people.reset_password(session, principal=principal,
                                           user_id=_person_of(session, tenant_id, user_id),
                                           method=body["method"], at=current_time())
        return OneTimeCredentialSchema().dump(_credential(credential))


# -- acting officials -----------------------------------------------------------------------------

@bp.get(f"{TENANT}/acting")
@documented(summary="Penunjukan Plt/Plh dinas (terbaru dulu, yang dicabut juga)",
            errors=READ_ERRORS, responses={200: ("Penunjukan", ActingAssignmentListSchema)})
@login_required(csrf="header")
def list_acting(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        rows = people.list_acting(session, principal=principal, tenant_id=tenant_id)
        return ActingAssignmentListSchema().dump({"acting": acting_views(session, rows)})


@bp.post(f"{TENANT}/acting")
@documented(summary="Tunjuk Plt/Plh untuk satu peran selama rentang tanggal",
            description="Tanggal lokal, inklusif. Selama rentang itu pengguna memegang hak "
                        "peran tersebut di semua layanan. Satu Plt/Plh per peran pada satu "
                        "waktu (409).",
            body=ActingAssignmentRequestSchema, errors=WRITE_ERRORS,
            responses={201: ("Penunjukan", ActingAssignmentSchema)})
@login_required(csrf="header")
def assign_acting(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(ActingAssignmentRequestSchema)
        row = people.assign_acting(session, principal=principal, tenant_id=tenant_id,
                                   at=current_time(), **body)
        return ActingAssignmentSchema().dump(acting_views(session, [row])[0]), 201


@bp.post(f"{TENANT}/acting/<uuid:assignment_id>/revoke")
@documented(summary="Cabut penunjukan Plt/Plh", body=AdminReasonSchema,
            body_required=False, errors=WRITE_ERRORS,
            responses={200: ("Penunjukan", ActingAssignmentSchema)})
@login_required(csrf="header")
def revoke_acting(tenant_id: uuid.UUID, assignment_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(AdminReasonSchema, optional=True)
        row = people.revoke_acting(session, principal=principal, tenant_id=tenant_id,
                                   assignment_id=assignment_id, at=current_time(),
                                   reason=body.get("reason"))
        return ActingAssignmentSchema().dump(acting_views(session, [row])[0])


# -- delegation -----------------------------------------------------------------------------------

@bp.get(f"{TENANT}/delegation")
@documented(summary="Apakah Kasubbag Program ikut mengelola dinas", errors=READ_ERRORS,
            responses={200: ("Delegasi", AdminDelegationSchema)})
@login_required(csrf="header")
def get_delegation(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        _administrator(session, tenant_id)
        tenant = session.get_one(Tenant, tenant_id)
        return AdminDelegationSchema().dump({"tenant_id": tenant.id,
                                        "admin_delegated": tenant.admin_delegated})


@bp.put(f"{TENANT}/delegation")
@documented(summary="Beri atau cabut delegasi administrasi kepada Kasubbag Program",
            description="Hanya Kepala Dinas (atau Plt/Plh-nya).",
            body=AdminDelegationRequestSchema, errors=WRITE_ERRORS,
            responses={200: ("Delegasi", AdminDelegationSchema)})
@login_required(csrf="header")
def set_delegation(tenant_id: uuid.UUID) -> ResponseReturnValue:
    with unit_of_work() as session:
        principal = _administrator(session, tenant_id)
        body = json_body(AdminDelegationRequestSchema)
        tenant = people.set_delegation(session, principal=principal, tenant_id=tenant_id,
                                       delegated=body["delegated"], at=current_time())
        return AdminDelegationSchema().dump({"tenant_id": tenant.id,
                                        "admin_delegated": tenant.admin_delegated})
