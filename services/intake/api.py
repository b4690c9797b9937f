"""The intake REST API under /api/v1 (JSON; personal API tokens or the portal's session)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
