"""The workflow service's API in tests: its Flask test client, calling as a user of the world
with the portal's signed service token (X-Sakip-Service-Token)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.test import TestResponse

from services.workflow.app import create_app
from shared.config import Settings
from shared.identity.principal import Principal
from shared.identity.service_token import issue_service_token
from shared.web.service_auth import SERVICE_TOKEN_HEADER


class WorkflowApi:
    def __init__(self, client: Any, secret: str) -> None:
        self.client, self.secret = client, secret

    def call(self, method: str, path: str, principal: Principal | None, *,
             json: Any = None, **kwargs: Any) -> TestResponse:
        """`method path` as `principal` (None: without any credential)."""
        headers = ({SERVICE_TOKEN_HEADER: issue_service_token(principal, secret=self.secret)}
                   if principal is not None else {})
        return self.client.open(path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path: str, principal: Principal | None, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, principal, **kwargs)

    def post(self, path: str, principal: Principal | None, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, principal, **kwargs)

    def put(self, path: str, principal: Principal | None, **kwargs: Any) -> TestResponse:
        return self.call("PUT", path, principal, **kwargs)

    def delete(self, path: str, principal: Principal | None, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, principal, **kwargs)


@contextmanager
def workflow_api(settings: Settings) -> Iterator[WorkflowApi]:
    app = create_app(settings)
    try:
        yield WorkflowApi(app.test_client(), settings.service_token_secret)
    finally:
        app.extensions["sakip"].close()
