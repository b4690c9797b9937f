"""The portal's plumbing for calling another service's REST API (<base url>/api/v1/...) on the
signed-in user's behalf: each call carries a fresh short-lived service token
(X-Sakip-Service-Token) naming the user, and the called service checks the role again itself.

JSON in and out (a multipart form to send a file), a short timeout, no proxy (a
service-to-service call). A refusal arrives as the services' common error body ({"error": {code,
message, details?, fields?}}) and is raised as the client's `ServiceCallError` subclass with the
same status, Indonesian message, `details` and `fields` (422); a service that cannot be
reached, or that refuses the portal's own token, is a 503 with a message a civil servant
understands. The workflow and reporting clients differ only in their base URL, their error class
and those two messages.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from flask import g, has_app_context

from shared.config import Settings
from shared.identity.principal import Principal
from shared.identity.service_token import issue_service_token
from shared.web.app import CORRELATION_HEADER, ERROR_MESSAGES

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-Sakip-Service-Token"  # noqa: S105 - a header name, not a secret
API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 10.0
Query = Mapping[str, str | int | None]


@dataclass
class ServiceCallError(Exception):
    """The service refused the call (its status and words), or could not be reached (503)."""

    status: int
    message: str
    details: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


E = TypeVar("E", bound=ServiceCallError)


@dataclass(frozen=True)
class ServiceWords:
    """What the logs call the service, and what the user reads when it fails the portal."""

    name: str
    unreachable: str
    refused_login: str


class ServiceClient:
    """One service's API as one user sees it; subclasses name the service."""

    error: ClassVar[type[ServiceCallError]] = ServiceCallError
    words: ClassVar[ServiceWords]

    def __init__(self, base_url: str, settings: Settings, principal: Principal, *,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        if not base_url.startswith(("http://", "https://")):  # never file:// or the like
            raise ValueError(f"{self.words.name} URL must be http(s): {base_url!r}")
        self._base = base_url.rstrip("/") + API_PREFIX
        self._secret = settings.service_token_secret
        self._principal = principal
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path: str, query: Query | None = None) -> Any:
        return self._call("GET", path, query=query)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._call("POST", path, body=dict(body or {}))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._call("PUT", path, body=dict(body))

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def post_file(self, path: str, *, fields: Mapping[str, str | list[str]],
                  file: UploadedFile) -> Any:
        """POST a multipart form: text `fields` (a list repeats the field) and one `file`
        (an uploaded file the portal already holds in memory, e.g. a template or a workbook)."""
        boundary = "sakip-" + secrets.token_hex(16)
        parts: list[bytes] = []
        for name, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                parts.append(_form_part(boundary, name, item.encode()))
        parts.append(_form_part(boundary, file.field, file.data, filename=file.filename,
                                content_type=file.content_type))
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self._call("POST", path,
                          encoded=(data, f"multipart/form-data; boundary={boundary}"))

    def _call(self, method: str, path: str, *, query: Query | None = None,
              body: dict[str, Any] | None = None,
              encoded: tuple[bytes, str] | None = None) -> Any:
        words = self.words
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json",
                   TOKEN_HEADER: issue_service_token(self._principal, secret=self._secret)}
        correlation = g.get("correlation_id") if has_app_context() else None
        if correlation:
            headers[CORRELATION_HEADER] = correlation
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif encoded is not None:  # a body already encoded, with its content type
            data, headers["Content-Type"] = encoded
        # The base URL was checked to be http(s) above.
        request = urllib.request.Request(url, data=data, headers=headers,  # noqa: S310
                                         method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 401:  # the service token itself: a configuration fault
                    log.error("%s refused the portal's service token (%s %s)", words.name,
                              method, path)
                    raise self.error(503, words.refused_login) from None
                raise refusal(exc.code, exc.read(), error=self.error,
                              unreachable=words.unreachable) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, cut off
            log.warning("%s %s %s unreachable: %s", words.name, method, path, exc)
            raise self.error(503, words.unreachable) from exc
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            log.warning("%s %s %s answered something other than JSON", words.name, method, path)
            raise self.error(503, words.unreachable) from exc


@dataclass(frozen=True)
class UploadedFile:
    """A file to send in a multipart form: its form field, name, type and bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes


def _form_part(boundary: str, name: str, value: bytes, *, filename: str | None = None,
               content_type: str | None = None) -> bytes:
    """One part of a multipart/form-data body (names quoted, CR/LF and quotes removed)."""
    def quoted(text: str) -> str:
        return text.replace("\r", "").replace("\n", "").replace('"', "")

    disposition = f'form-data; name="{quoted(name)}"'
    if filename is not None:
        disposition += f'; filename="{quoted(filename)}"'
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {quoted(content_type)}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def refusal(status: int, raw: bytes, *, error: type[E], unreachable: str) -> E:
    """The contract's {"error": {code, message, details?, fields?}}, or the status's words."""
    try:
        body = json.loads(raw)["error"]
        message = str(body["message"])
    except (ValueError, KeyError, TypeError):
        log.warning("a service answered %s without the error body", status)
        return error(status, ERROR_MESSAGES.get(status, unreachable))
    details = body.get("details") or []
    fields = body.get("fields") or {}
    return error(
        status, message,
        details=[str(d) for d in details] if isinstance(details, list) else [],
        fields={str(k): [str(m) for m in v] for k, v in fields.items() if isinstance(v, list)}
        if isinstance(fields, dict) else {})
