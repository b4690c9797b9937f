"""marshmallow schemas of the tenant administration API (/api/v1/admin/tenants/...): requests are
loaded strictly (unknown fields refused, Indonesian messages) and only typed here -- the values
themselves (lengths, NIP, e-mail, uniqueness) are judged by `people`, which names the field at
fault; answers are dumped from plain dicts built by `tenant_admin_api`. The OpenAPI document is
built from these same classes."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from services.intake.people import ACTING_KINDS, ACTING_ROLES, CREDENTIAL_KINDS
from shared.identity.roles import TENANT_ROLES
from shared.web.schemas import REQUIRED, UUID_MESSAGES, Instant, StrictSchema, enum_of

TEXT_MESSAGES: dict[str, Any] = {**REQUIRED, "invalid": "Harus berupa teks."}
DATE_MESSAGES: dict[str, Any] = {**REQUIRED,
                                 "invalid": "Tulis tanggal sebagai YYYY-MM-DD, mis. 2026-04-13."}
TENANT_ROLE_VALUES = sorted(r.value for r in TENANT_ROLES)


def _string(*, required: bool = True, allow_none: bool = False,
            description: str = "") -> fields.String:
    return fields.String(required=required, allow_none=allow_none,
                         error_messages=TEXT_MESSAGES, metadata={"description": description})


def _choice(values: list[str] | tuple[str, ...], message: str, *, required: bool = True,
            **extra: Any) -> fields.String:
    return fields.String(required=required, validate=validate.OneOf(values, error=message),
                         error_messages=TEXT_MESSAGES, metadata={"enum": list(values)}, **extra)


# -- requests -------------------------------------------------------------------------------------

class TenantBidangRequestSchema(StrictSchema):
    name = _string(description="nama Bidang, unik di dinas")


class TenantUserCreateSchema(StrictSchema):
    username = _string(description="3-128 karakter: huruf kecil, angka, titik, _ atau -")
    full_name = _string()
    nip = _string(required=False, allow_none=True, description="18 angka (spasi diabaikan)")
    email = _string(required=False, allow_none=True)
    role = _choice(TENANT_ROLE_VALUES, "Peran tidak dikenal untuk pengguna dinas.")
    bidang_id = fields.UUID(load_default=None, allow_none=True, error_messages=UUID_MESSAGES,
                            metadata={"description": "wajib untuk bidang_staff"})
    credential = _choice(CREDENTIAL_KINDS, "Pilih link atau temporary.", required=False,
                         load_default="link")


class TenantUserUpdateSchema(StrictSchema):
    """Only the fields sent are changed; null clears an optional one."""

    full_name = _string(required=False)
    nip = _string(required=False, allow_none=True)
    email = _string(required=False, allow_none=True)
    role = _choice(TENANT_ROLE_VALUES, "Peran tidak dikenal untuk pengguna dinas.",
                   required=False)
    bidang_id = fields.UUID(required=False, allow_none=True, error_messages=UUID_MESSAGES)


class AdminReasonSchema(StrictSchema):
    reason = _string(required=False, allow_none=True)


class AdminResetPasswordSchema(StrictSchema):
    method = _choice(CREDENTIAL_KINDS, "Pilih link atau temporary.")


class ActingAssignmentRequestSchema(StrictSchema):
    user_id = fields.UUID(required=True, error_messages=UUID_MESSAGES)
    role = _choice([r.value for r in ACTING_ROLES],
                   "Plt/Plh hanya untuk Kepala Dinas, Kasubbag Program atau Tim Evaluasi.")
    kind = _choice(ACTING_KINDS, "Jenis penunjukan: plt atau plh.")
    starts_on = fields.Date(required=True, error_messages=DATE_MESSAGES)
    ends_on = fields.Date(required=True, error_messages=DATE_MESSAGES,
                          metadata={"description": "inklusif"})
    reason = _string(description="dasar penunjukan, mis. nomor surat perintah")


class AdminDelegationRequestSchema(StrictSchema):
    delegated = fields.Boolean(required=True, error_messages={
        **REQUIRED, "invalid": "Harus berupa true atau false."})


# -- answers --------------------------------------------------------------------------------------

class TenantBidangSchema(StrictSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    closed_at = Instant(allow_none=True)
    staff = fields.Integer(metadata={"description": "active bidang_staff in it"})


class TenantBidangListSchema(StrictSchema):
    bidang = fields.List(fields.Nested(TenantBidangSchema))


class TenantUserSchema(StrictSchema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    nip = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String(allow_none=True, metadata=enum_of(sorted(TENANT_ROLES)))
    role_label = fields.String(allow_none=True)
    bidang_id = fields.UUID(allow_none=True)
    bidang_name = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    must_change_password = fields.Boolean()
    deactivated_at = Instant(allow_none=True)
    created_at = Instant()


class TenantUserListSchema(StrictSchema):
    users = fields.List(fields.Nested(TenantUserSchema))


class OneTimeCredentialSchema(StrictSchema):
    kind = fields.String(required=True, metadata={"enum": list(CREDENTIAL_KINDS)})
    secret = fields.String(required=True, metadata={
        "description": "the link's token or the temporary password: shown once, never again"})
    url = fields.String(allow_none=True, metadata={"description": "the activation/reset link"})
    expires_at = Instant(required=True)


class TenantUserCreatedSchema(StrictSchema):
    user = fields.Nested(TenantUserSchema, required=True)
    credential = fields.Nested(OneTimeCredentialSchema, required=True)


class ActingAssignmentSchema(StrictSchema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    role_label = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(ACTING_KINDS)})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(required=True)
    revoked_at = Instant(allow_none=True)


class ActingAssignmentListSchema(StrictSchema):
    acting = fields.List(fields.Nested(ActingAssignmentSchema))


class AdminDelegationSchema(StrictSchema):
    tenant_id = fields.UUID(required=True)
    admin_delegated = fields.Boolean(required=True)
