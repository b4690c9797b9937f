"""The staff portal's pages (the one origin the browser talks to)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("portal", __name__, template_folder="templates")


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("home.html")
