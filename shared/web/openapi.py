"""OpenAPI 3 documents of the services' JSON APIs, built from the app's own routes and the
marshmallow schemas the views load and dump with (apispec + its MarshmallowPlugin).

Each view declares what it takes and answers with `@documented(...)`; `build_spec` walks the
app's URL map, so a route cannot be missing from the document: a view of a documented blueprint
without a declaration makes the build fail (and the test of the document with it). What differs
between services (title, security schemes, the words for each error status, which blueprints) is
an `ApiDocument`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema
from werkzeug.routing import Rule

from shared.web.schemas import ErrorSchema
from shared.web.service_auth import SERVICE_TOKEN_HEADER

F = TypeVar("F", bound=Callable[..., Any])
API_VERSION = "1"
OPENAPI_VERSION = "3.0.3"
BEARER = "bearerAuth"
BEARER_SCHEME: dict[str, Any] = {
    "type": "http", "scheme": "bearer",
    "description": "Token API pribadi (`sakip_pat_...`), dibuat dengan `sakip token create`.",
}
ATTRIBUTE = "openapi_operation"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?"
                        r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_CONVERTER_SCHEMAS: dict[str, dict[str, str]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
}


class UndocumentedRoute(LookupError):
    """A route of the API has no `@documented` declaration."""


class UndescribedError(LookupError):
    """An operation answers an error status its document has no `Error<status>` for (the
    reference would dangle: clients and schemathesis cannot resolve it)."""


@dataclass(frozen=True)
class ApiDocument:
    """What one service's document says about itself."""

    title: str
    description: str
    # name -> OpenAPI security scheme; every operation accepts any one of them
    security_schemes: Mapping[str, Mapping[str, Any]]
    # status -> what that error means in this API (each becomes the component `Error<status>`)
    error_descriptions: Mapping[int, str]
    blueprints: tuple[str, ...] = ("api",)
    error_schema: type[Schema] = ErrorSchema


@dataclass(frozen=True)
class Operation:
    summary: str
    # status -> (description, schema of the JSON body or None)
    responses: Mapping[int, tuple[str, type[Schema] | None]]
    errors: tuple[int, ...] = ()
    body: type[Schema] | None = None
    body_content_type: str = "application/json"
    # further accepted bodies: content type -> schema (None: a plain string)
    other_bodies: Mapping[str, type[Schema] | None] = field(default_factory=dict)
    body_required: bool = True
    authenticated: bool = True
    description: str = ""
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    query: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (type, text)

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
        parameters = path_parameters(rule) + [
            {"name": name, "in": "query", "required": False, "description": text,
             "schema": {"type": kind}} for name, (kind, text) in self.query.items()]
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            content: dict[str, Any] = {self.body_content_type: {"schema": self.body}}
            for content_type, schema in self.other_bodies.items():
                content[content_type] = {"schema": schema if schema is not None
                                         else {"type": "string"}}
            operation["requestBody"] = {"required": self.body_required, "content": content}
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


def api_rules(app: Flask, blueprints: str | tuple[str, ...] = "api") -> list[Rule]:
    """The routes of the named blueprints, in a stable order."""
    names = (blueprints,) if isinstance(blueprints, str) else blueprints
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint.split(".", 1)[0] in names
                   and "." in r.endpoint),
                  key=lambda r: (r.rule, r.endpoint))


def build_spec(app: Flask, document: ApiDocument) -> dict[str, Any]:
    spec = APISpec(
        title=document.title, version=API_VERSION, openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": document.description},
        security=[{name: []} for name in document.security_schemes],
    )
    for name, scheme in document.security_schemes.items():
        spec.components.security_scheme(name, dict(scheme))
    spec.components.schema("Error", schema=document.error_schema)
    for status, description in document.error_descriptions.items():
        spec.components.response(f"Error{status}",
                                 _response(description, document.error_schema, {}))
    for rule in api_rules(app, document.blueprints):
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, ATTRIBUTE, None)
        if not isinstance(operation, Operation):
            raise UndocumentedRoute(f"{rule.endpoint} ({rule.rule}) has no @documented "
                                    "declaration")
        undescribed = set(operation.errors) - set(document.error_descriptions)
        if undescribed:
            raise UndescribedError(f"{rule.endpoint} ({rule.rule}) answers "
                                   f"{sorted(undescribed)}, which the document does not "
                                   "describe (ApiDocument.error_descriptions)")
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


SERVICE_TOKEN = "serviceToken"  # noqa: S105 - a security scheme's name
SERVICE_TOKEN_SCHEME = {
    "type": "apiKey", "in": "header", "name": SERVICE_TOKEN_HEADER,
    "description": "Token bertanda tangan berumur pendek dari portal staf, atas nama pengguna "
                   "yang sedang masuk."}
API_PREFIX = "/api/"


def api_blueprints(app: Flask) -> tuple[str, ...]:
    """The names of the app's blueprints mounted under /api/ (every one must be documented)."""
    return tuple(sorted(name for name, blueprint in app.blueprints.items()
                        if (blueprint.url_prefix or "").startswith(API_PREFIX)))


def build_api_spec(app: Flask, document: ApiDocument) -> dict[str, Any]:
    """The document of every blueprint a service API mounts under /api/."""
    return build_spec(app, replace(document, blueprints=api_blueprints(app)))
