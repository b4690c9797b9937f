"""The error answer of every JSON API: `{"error": {code, message, fields?, details?}}`."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from shared.web.schemas import ErrorSchema

INVALID_MESSAGE = "Data yang dikirim tidak valid."
WWW_AUTHENTICATE = 'Bearer realm="sakip"'


def error_response(status: int, message: str, *, fields: dict[str, list[str]] | None = None,
                   details: list[str] | None = None) -> Response:
    error: dict[str, Any] = {"code": status, "message": message}
    if fields:
        error["fields"] = fields
    if details:
        error["details"] = details
    response = jsonify(ErrorSchema().dump({"error": error}))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response
