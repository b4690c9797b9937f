"""The portal's calls to the workflow REST API (settings.workflow_url + /api/v1/...), on the
signed-in user's behalf: each call carries a fresh short-lived service token
(X-Sakip-Service-Token) naming the user, and the workflow checks the role again itself.

JSON in and out, a short timeout, no proxy (a service-to-service call). A refusal of the
workflow arrives as its contract's error body and is raised as `WorkflowCallError` with the same
status, Indonesian message, `details` (e.g. what a step still lacks) and `fields` (422); a
workflow that cannot be reached is a 503 with a message a civil servant understands.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import g, has_app_context

from shared.config import Settings
from shared.identity.principal import Principal
from shared.identity.service_token import issue_service_token
from shared.web.app import CORRELATION_HEADER, ERROR_MESSAGES

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-Sakip-Service-Token"  # noqa: S105 - a header name, not a secret
API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 10.0
UNREACHABLE_MESSAGE = ("Layanan alur kerja SOP sedang tidak dapat dihubungi. Tidak ada yang "
                       "berubah; silakan coba lagi sebentar lagi.")
REFUSED_LOGIN_MESSAGE = ("Portal tidak dapat masuk ke layanan alur kerja SOP. Tidak ada yang "
                         "berubah; hubungi administrator.")
Query = Mapping[str, str | int | None]


@dataclass
class WorkflowCallError(Exception):
    """The workflow refused the call (its status and words), or could not be reached (503)."""

    status: int
    message: str
    details: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class WorkflowClient:
    """The workflow API as one user sees it."""

    def __init__(self, settings: Settings, principal: Principal, *,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self._base = settings.workflow_url.rstrip("/") + API_PREFIX
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

    def _call(self, method: str, path: str, *, query: Query | None = None,
              body: dict[str, Any] | None = None) -> Any:
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
        # WORKFLOW_URL is checked to be http(s) when the settings load.
        request = urllib.request.Request(url, data=data, headers=headers,  # noqa: S310
                                         method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 401:  # the service token itself: a configuration fault
                    log.error("workflow refused the portal's service token (%s %s)", method,
                              path)
                    raise WorkflowCallError(503, REFUSED_LOGIN_MESSAGE) from None
                raise _refusal(exc.code, exc.read()) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, cut off
            log.warning("workflow %s %s unreachable: %s", method, path, exc)
            raise WorkflowCallError(503, UNREACHABLE_MESSAGE) from exc
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            log.warning("workflow %s %s answered something other than JSON", method, path)
            raise WorkflowCallError(503, UNREACHABLE_MESSAGE) from exc


def _refusal(status: int, raw: bytes) -> WorkflowCallError:
    """The contract's {"error": {code, message, details?, fields?}}, or the status's words."""
    try:
        error = json.loads(raw)["error"]
        message = str(error["message"])
    except (ValueError, KeyError, TypeError):
        log.warning("workflow answered %s without the error body", status)
        return WorkflowCallError(status, ERROR_MESSAGES.get(status, UNREACHABLE_MESSAGE))
    details = error.get("details") or []
    fields = error.get("fields") or {}
    return WorkflowCallError(
        status, message,
        details=[str(d) for d in details] if isinstance(details, list) else [],
        fields={str(k): [str(m) for m in v] for k, v in fields.items() if isinstance(v, list)}
        if isinstance(fields, dict) else {})
