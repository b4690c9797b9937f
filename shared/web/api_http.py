"""A service API's plumbing (workflow, reporting) shared by its blueprints: loading a JSON body
with a marshmallow schema (422 with Indonesian field messages), one transaction per request, and
the error answers
(a ServiceError becomes `{"error": {code, message, details?}}` with its own status)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Flask, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from shared.db import transaction
from shared.web.errors import ServiceError
from shared.web.json_errors import INVALID_MESSAGE, error_response
from shared.web.resources import current_resources
from shared.web.schemas import NUL_MESSAGE, indonesian_errors
from shared.web.service_auth import UNAUTHENTICATED_MESSAGE

JSON_ONLY_MESSAGE = "Kirim data sebagai JSON (Content-Type: application/json)."


class ApiError(Exception):
    """A refusal worded by the API itself (status, Indonesian message, field errors)."""

    def __init__(self, status: int, message: str,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or {}


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming one field."""
    return ApiError(422, INVALID_MESSAGE, {field: [message]})


def json_body(schema: Schema | type[Schema], *, optional: bool = False) -> Any:
    """The request's JSON object loaded by `schema` (ValidationError -> 422 with `fields`).
    `optional`: an empty body loads as `{}` (actions whose fields are all optional)."""
    loader = schema() if isinstance(schema, type) else schema
    if not request.get_data(cache=True).strip():
        if optional:
            return loader.load({})
        raise ApiError(422, INVALID_MESSAGE, {"_schema": ["Badan permintaan wajib diisi."]})
    if not request.is_json:
        raise ApiError(415, JSON_ONLY_MESSAGE)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(422, INVALID_MESSAGE,
                       {"_schema": ["Badan permintaan harus berupa objek JSON."]})
    with_nul = nul_fields(data)
    if with_nul:
        raise ApiError(422, INVALID_MESSAGE, {key: [NUL_MESSAGE] for key in with_nul})
    return loader.load(data)


def nul_fields(data: dict[str, Any]) -> list[str]:
    """The fields of a JSON object with a NUL character in their name or anywhere in their
    value. PostgreSQL text cannot hold NUL: such a body is refused (422) before it reaches the
    database, which would fail with a server error."""
    return [key for key, value in data.items() if _holds_nul(key) or _holds_nul(value)]


def _holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value has a NUL character in any string (key or value) in it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction for the request: committed when the view's work succeeds, rolled back on
    any refusal (so a refused request changes nothing)."""
    with transaction(current_resources().session_factory) as session:
        yield session


def register_errors(target: Blueprint | Flask) -> None:
    """Answer the service's refusals, invalid bodies and a missing login as the contract's JSON
    (other HTTP errors already answer JSON through the app's own handler)."""
    target.register_error_handler(ServiceError, _service_error)
    target.register_error_handler(ApiError, _api_error)
    target.register_error_handler(ValidationError, _invalid)
    target.register_error_handler(401, _unauthenticated)


def _service_error(exc: ServiceError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, details=exc.details)


def _api_error(exc: ApiError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, fields=exc.fields)


def _invalid(exc: ValidationError) -> ResponseReturnValue:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return error_response(422, INVALID_MESSAGE, fields=indonesian_errors(messages))


def _unauthenticated(_exc: Exception) -> ResponseReturnValue:
    return error_response(401, UNAUTHENTICATED_MESSAGE)

