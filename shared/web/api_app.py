"""A service's JSON API app (workflow, reporting): the shared service base, the API's blueprints
under /api/v1 with one error plumbing (shared.web.api_http), and answers no cache keeps (they are
per user, and may carry short-lived download links)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Flask, Response, request

from shared.config import Settings
from shared.web.api_http import register_errors
from shared.web.app import create_service_app


def create_api_app(service: str, settings: Settings | None,
                   blueprints: Iterable[Blueprint]) -> Flask:
    app = create_service_app(service, settings)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_errors(app)
    app.after_request(not_cached)
    return app


def not_cached(response: Response) -> Response:
    """No cache keeps an API answer: they are per user, and some carry one-time links,
    tokens or people's details."""
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
