"""The OpenAPI 3 document of the intake API, built from the blueprint's own routes and the
marshmallow schemas the views load and dump with (apispec + its MarshmallowPlugin).

Each view declares what it takes and answers with `@documented(...)`; `build_spec` walks the
app's URL map, so a route cannot be missing from the document: a view of the blueprint without a
declaration makes the build fail (and the test of the document with it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema
from werkzeug.routing import Rule

from services.intake.auth import SESSION_COOKIE
from services.intake.schemas import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])
TITLE = "SAKIP intake API"
API_VERSION = "1"
OPENAPI_VERSION = "3.0.3"
BEARER = "bearerAuth"
COOKIE = "portalSession"
ATTRIBUTE = "openapi_operation"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?"
                        r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_CONVERTER_SCHEMAS: dict[str, dict[str, str]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
}
ERROR_DESCRIPTIONS = {
    400: "Permintaan rusak (mis. formulir unggahan tidak lengkap, token CSRF tidak ada).",
    401: "Belum masuk: token API tidak ada, salah, kedaluwarsa atau dicabut.",
    403: "Data terlihat, tetapi peran Anda tidak boleh melakukan tindakan ini.",
    404: "Tidak ada, atau di luar cakupan Anda (dinas lain, Bidang lain).",
    409: "Bertentangan dengan keadaan data (mis. paket belum lengkap: lihat `details`).",
    413: "Berkas melebihi batas ukuran.",
    415: "Jenis berkas atau jenis isi permintaan tidak diterima.",
    422: "Isian tidak valid: lihat `fields`.",
    503: "Penyimpanan atau basis data sedang tidak dapat dihubungi.",
}


class UndocumentedRoute(LookupError):
    """A route of the API has no `@documented` declaration."""


@dataclass(frozen=True)
class Operation:
    summary: str
    # status -> (description, schema of the JSON body or None)
    responses: Mapping[int, tuple[str, type[Schema] | None]]
    errors: tuple[int, ...] = ()
    body: type[Schema] | None = None
    body_content_type: str = "application/json"
    body_required: bool = True
    authenticated: bool = True
    description: str = ""
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)

    def to_openapi(self, rule: Rule) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "operationId": rule.endpoint.split(".", 1)[-1],
            "summary": self.summary,
            "tags": [_tag(rule)],
            "responses": {str(status): _response(description, schema,
                                                 self.headers.get(status, {}))
                          for status, (description, schema) in self.responses.items()},
        }
        if self.description:
            operation["description"] = self.description
        errors = (401, *self.errors) if self.authenticated else self.errors
        for status in sorted(set(errors)):
            operation["responses"][str(status)] = f"Error{status}"
        parameters = path_parameters(rule)
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            operation["requestBody"] = {"required": self.body_required, "content": {
                self.body_content_type: {"schema": self.body}}}
        if not self.authenticated:
            operation["security"] = []
        return operation


def documented(**declaration: Any) -> Callable[[F], F]:
    """Declare a view's summary, bodies and answers for the OpenAPI document."""
    operation = Operation(**declaration)

    def mark(view: F) -> F:
        view.__dict__[ATTRIBUTE] = operation
        return view

    return mark


def openapi_path(rule: Rule) -> str:
    """Flask's `/packages/<uuid:package_id>` as OpenAPI's `/packages/{package_id}`."""
    return _PARAMETER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)


def path_parameters(rule: Rule) -> list[dict[str, Any]]:
    return [{"name": m.group("name"), "in": "path", "required": True,
             "schema": dict(_CONVERTER_SCHEMAS.get(m.group("converter") or "", {"type": "string"}))}
            for m in _PARAMETER.finditer(rule.rule)]


def api_rules(app: Flask, blueprint: str = "api") -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{blueprint}.")),
                  key=lambda r: (r.rule, r.endpoint))


def build_spec(app: Flask, blueprint: str = "api") -> dict[str, Any]:
    spec = APISpec(
        title=TITLE, version=API_VERSION, openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "Dokumen kinerja SAKIP: siklus, paket dokumen per Bidang, unggahan, "
                             "penyerahan dan pemeriksaan. Semua waktu dalam ISO 8601 (UTC)."},
        security=[{BEARER: []}, {COOKIE: []}],
    )
    spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer",
        "description": "Token API pribadi (`sakip_pat_...`), dibuat dengan `sakip token create`.",
    })
    spec.components.security_scheme(COOKIE, {
        "type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
        "description": "Sesi portal; setiap penulisan juga mengirim header X-CSRF-Token.",
    })
    spec.components.schema("Error", schema=ErrorSchema)
    for status, description in ERROR_DESCRIPTIONS.items():
        spec.components.response(f"Error{status}", _response(description, ErrorSchema, {}))
    for rule in api_rules(app, blueprint):
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, ATTRIBUTE, None)
        if not isinstance(operation, Operation):
            raise UndocumentedRoute(f"{rule.endpoint} ({rule.rule}) has no @documented "
                                    "declaration")
        methods = sorted(set(rule.methods or ()) - IGNORED_METHODS)
        spec.path(path=openapi_path(rule),
                  operations={m.lower(): operation.to_openapi(rule) for m in methods})
    return spec.to_dict()


def _response(description: str, schema: type[Schema] | None,
              headers: Mapping[str, str]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    if headers:
        response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                               for name, text in headers.items()}
    return response


def _tag(rule: Rule) -> str:
    first = rule.rule.split("/")[3:4]  # /api/v1/<first>/...
    return first[0] if first and first[0] and "." not in first[0] else "meta"
