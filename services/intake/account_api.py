"""The API's self-service under /api/v1/me: the caller's own password, login sessions and personal
API tokens (the same rules as the portal's /akun pages: `self_service`).

A blueprint of its own under /api/v1 (mounted by the app, documented with the rest of intake's
API): the same authentication as the documents API (personal token, or the portal's session with
X-CSRF-Token on writes), the same error answers. Its routes concern the caller's own account
only, never a dinas's data, so another user's session or token id answers 404. A new token's
plaintext is in the 201 answer only; the API never shows it again.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, g, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from services.intake.auth import SESSION_COOKIE, current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.openapi import documented
from services.intake.self_service import (
    MAX_TOKEN_DAYS,
    SelfServiceError,
    change_password_guarded,
    create_own_token,
    own_sessions,
    own_tokens,
    revoke_other_sessions,
    revoke_own_session,
    revoke_own_token,
)
from shared.db import transaction
from shared.identity.api_tokens import MAX_NAME_LENGTH
from shared.identity.password_policy import MAX_LENGTH
from shared.identity.principal import Principal
from shared.web.api_http import json_body, register_errors
from shared.web.json_errors import error_response
from shared.web.schemas import REQUIRED, Instant, StrictSchema, text

bp = Blueprint("account_api", __name__, url_prefix="/api/v1")
register_errors(bp)

# -- bodies ---------------------------------------------------------------------------------------


class OwnPasswordChangeSchema(StrictSchema):
    current_password = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_LENGTH, error="Wajib diisi."),
        error_messages={**REQUIRED, "invalid": "Harus berupa teks."}, load_only=True)
    new_password = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_LENGTH, error="Wajib diisi."),
        error_messages={**REQUIRED, "invalid": "Harus berupa teks."}, load_only=True,
        metadata={"description": "Minimal 12 karakter, bukan kata sandi umum, tidak memuat "
                                 "nama pengguna atau nama Anda."})


class OwnPasswordChangedSchema(Schema):
    other_sessions_ended = fields.Integer(
        required=True, metadata={"description": "sesi lain yang diakhiri karena penggantian"})


class OwnSessionSchema(Schema):
    id = fields.UUID(required=True)
    created_at = Instant(required=True)
    last_seen_at = Instant(required=True)
    expires_at = Instant(required=True)
    ip_address = fields.String(allow_none=True)
    browser = fields.String(required=True, metadata={"description": "mis. Firefox di Windows"})
    current = fields.Boolean(required=True, metadata={"description": "sesi permintaan ini"})


class OwnSessionListSchema(Schema):
    sessions = fields.List(fields.Nested(OwnSessionSchema), required=True)


class OwnSessionsEndedSchema(Schema):
    ended = fields.Integer(required=True)


class OwnTokenSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "awal token, pengenal saja"})
    created_at = Instant(required=True)
    last_used_at = Instant(allow_none=True)
    expires_at = Instant(allow_none=True)
    expired = fields.Boolean(required=True)


class OwnTokenListSchema(Schema):
    tokens = fields.List(fields.Nested(OwnTokenSchema), required=True)


class OwnTokenCreateSchema(StrictSchema):
    name = text(MAX_NAME_LENGTH)
    expires_in_days = fields.Integer(
        load_default=None, allow_none=True, strict=True,
        validate=validate.Range(min=1, max=MAX_TOKEN_DAYS,
                                error=f"Masa berlaku 1 sampai {MAX_TOKEN_DAYS} hari."),
        error_messages={"invalid": "Harus berupa bilangan bulat."},
        metadata={"description": "kosong: berlaku sampai dicabut"})


class NewOwnTokenSchema(OwnTokenSchema):
    token = fields.String(required=True,
                          metadata={"description": "token lengkap: hanya ditampilkan sekali ini"})


# -- errors ---------------------------------------------------------------------------------------

@bp.errorhandler(SelfServiceError)
def _self_service_refused(exc: SelfServiceError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, fields=exc.fields)



def _me() -> Principal:
    principal = current_principal()
    if principal is None:  # login_required has answered 401 already
        raise SelfServiceError("Silakan masuk terlebih dahulu.", status=401)
    return principal


def _session_cookie() -> str | None:
    """The login session of this request (None when it came with a personal token)."""
    return request.cookies.get(SESSION_COOKIE) if g.get("auth_kind") == "session" else None


# -- the password ---------------------------------------------------------------------------------

@bp.post("/me/password")
@documented(
    summary="Ganti kata sandi Anda sendiri",
    description="Kata sandi sekarang wajib; kata sandi baru mengikuti kebijakan (minimal 12 "
                "karakter, bukan kata sandi umum, tidak memuat nama pengguna atau nama). Semua "
                "sesi lain diakhiri. Satu-satunya tindakan yang boleh selama kata sandi "
                "sementara belum diganti. Lima kali salah dalam 15 menit: 429.",
    body=OwnPasswordChangeSchema,
    responses={200: ("Kata sandi diganti", OwnPasswordChangedSchema)},
    errors=(400, 415, 422, 429))
@login_required(csrf="header")
def change_own_password() -> ResponseReturnValue:
    principal = _me()
    body: dict[str, Any] = json_body(OwnPasswordChangeSchema)
    res = resources()
    ended = change_password_guarded(
        res.session_factory, res.redis, user_id=principal.user_id,
        current_password=body["current_password"], new_password=body["new_password"],
        keep_session_token=_session_cookie(), at=current_time())
    return OwnPasswordChangedSchema().dump({"other_sessions_ended": ended})


# -- login sessions -------------------------------------------------------------------------------

@bp.get("/me/sessions")
@documented(summary="Sesi masuk Anda yang masih berlaku",
            description="Kapan dimulai dan terakhir dipakai, alamat IP, peramban; `current` "
                        "menandai sesi permintaan ini (tidak ada bila memakai token API).",
            responses={200: ("Sesi, terakhir dipakai dulu", OwnSessionListSchema)})
@login_required(csrf="header")
def list_own_sessions() -> ResponseReturnValue:
    principal = _me()
    with resources().session_factory() as session:
        sessions = own_sessions(session, user_id=principal.user_id,
                                current_token=_session_cookie())
    return OwnSessionListSchema().dump({"sessions": sessions})


@bp.delete("/me/sessions/<uuid:session_id>")
@documented(summary="Akhiri satu sesi masuk Anda",
            responses={204: ("Sesi diakhiri", None)}, errors=(400, 404))
@login_required(csrf="header")
def revoke_session(session_id: uuid.UUID) -> ResponseReturnValue:
    principal = _me()
    with transaction(resources().session_factory) as session:
        revoke_own_session(session, user_id=principal.user_id, session_id=session_id)
    return Response(status=204)


@bp.post("/me/sessions/revoke-others")
@documented(summary="Keluar dari semua sesi lain",
            description="Semua sesi Anda diakhiri kecuali sesi permintaan ini (dengan token API: "
                        "semua sesi portal).",
            body=None, responses={200: ("Jumlah sesi yang diakhiri", OwnSessionsEndedSchema)},
            errors=(400,))
@login_required(csrf="header")
def revoke_other_own_sessions() -> ResponseReturnValue:
    principal = _me()
    with transaction(resources().session_factory) as session:
        ended = revoke_other_sessions(session, user_id=principal.user_id,
                                      current_token=_session_cookie())
    return OwnSessionsEndedSchema().dump({"ended": ended})


# -- personal API tokens --------------------------------------------------------------------------

@bp.get("/me/tokens")
@documented(summary="Token API pribadi Anda yang belum dicabut",
            description="Token itu sendiri tidak pernah ditampilkan lagi; `prefix` membantu "
                        "membedakannya.",
            responses={200: ("Token, terbaru dulu", OwnTokenListSchema)})
@login_required(csrf="header")
def list_own_tokens() -> ResponseReturnValue:
    principal = _me()
    with resources().session_factory() as session:
        tokens = own_tokens(session, user_id=principal.user_id)
    return OwnTokenListSchema().dump({"tokens": tokens})


@bp.post("/me/tokens")
@documented(summary="Buat token API pribadi",
            description="Token lengkap ada di jawaban ini saja; yang disimpan hanya SHA-256-nya. "
                        "Paling banyak 20 token aktif (409 bila lebih).",
            body=OwnTokenCreateSchema,
            responses={201: ("Token baru", NewOwnTokenSchema)}, errors=(400, 409, 415, 422))
@login_required(csrf="header")
def create_token() -> ResponseReturnValue:
    principal = _me()
    body: dict[str, Any] = json_body(OwnTokenCreateSchema)
    with transaction(resources().session_factory) as session:
        created = create_own_token(session, user_id=principal.user_id, name=body["name"],
                                   expires_in_days=body["expires_in_days"])
    answer = {**vars(created.view), "token": created.plaintext}
    return NewOwnTokenSchema().dump(answer), 201


@bp.delete("/me/tokens/<uuid:token_id>")
@documented(summary="Cabut token API pribadi",
            description="Berlaku seketika: permintaan berikutnya dengan token itu dijawab 401.",
            responses={204: ("Token dicabut", None)}, errors=(400, 404))
@login_required(csrf="header")
def revoke_token(token_id: uuid.UUID) -> ResponseReturnValue:
    principal = _me()
    with transaction(resources().session_factory) as session:
        revoke_own_token(session, user_id=principal.user_id, token_id=token_id)
    return Response(status=204)
