"""The portal's bulk-import page for a dinas's administrators, on the portal blueprint:

- `/admin/dinas/<tenant_id>/impor`: the upload form (CSV or XLSX) and the latest previews;
- `/admin/dinas/<tenant_id>/impor/<batch_id>`: a preview -- per row the action (dibuat, diubah,
  tidak berubah, ditolak), the changes before -> after and the reasons, the Bidang to create --
  with the button that applies it;
- applying answers with the page itself listing each new account's one-time activation link:
  shown this once, never stored in plain text (reloading the page does not apply twice: 409).

The upload is read from the request body with a cap (`people_import_api.read_import_upload`),
so its CSRF token travels in the form's action (query string), never in the body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from services.intake import people_import
from services.intake.auth import login_required, resources
from services.intake.clock import current_time
from services.intake.people_import_api import apply_view, batch_view, read_import_upload
from services.intake.people_import_file import FIELD_LABELS, FIELDS, MAX_FILE_BYTES, MAX_ROWS
from services.intake.portal import bp, parse_uuid, signed_in
from shared.db import transaction
from shared.identity.roles import Role
from shared.web.api_http import ApiError
from shared.web.errors import ServiceError

T = TypeVar("T")
ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLE_CHOICES = [(r.label, r.value) for r in (Role.BIDANG_STAFF, Role.KASUBBAG_PROGRAM,
                                             Role.TIM_EVALUASI, Role.KEPALA_DINAS)]
ACTION_STYLES = {"create": "state-accepted", "change": "state-submitted",
                 "unchanged": "state-missing", "reject": "state-returned"}


def _refused(call: Callable[[], T]) -> T:
    """403/404 as error pages (with the domain's words)."""
    try:
        return call()
    except ServiceError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        raise


@bp.get("/admin/dinas/<tenant_id>/impor")
@login_required
def people_import_page(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    with resources().session_factory() as session:
        tenant = _refused(lambda: people_import.require_importer(
            session, principal=principal, tenant_id=tid))
        batches = people_import.recent_batches(session, principal=principal, tenant_id=tid)
        return render_template("portal/admin_import.html", tenant=tenant, batches=batches,
                               view=None, result=None, **_page_facts())


@bp.post("/admin/dinas/<tenant_id>/impor")
@login_required(csrf="header-or-query")
def people_import_upload(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    with resources().session_factory() as session:  # an outsider learns nothing of the form
        _refused(lambda: people_import.require_importer(session, principal=principal,
                                                        tenant_id=tid))
    back = redirect(url_for("portal.people_import_page", tenant_id=tid), code=303)
    try:
        filename, data = read_import_upload(request.stream, request.content_type,
                                            request.content_length)
        with transaction(resources().session_factory) as session:
            batch = people_import.preview(session, principal=principal, tenant_id=tid,
                                          filename=filename, data=data, at=current_time())
            batch_id = batch.id
    except ApiError as exc:
        flash(exc.message, "error")
        return back
    except ServiceError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        for detail in exc.details:
            flash(detail, "error-detail")
        return back
    return redirect(url_for("portal.people_import_preview", tenant_id=tid, batch_id=batch_id),
                    code=303)


@bp.get("/admin/dinas/<tenant_id>/impor/<batch_id>")
@login_required
def people_import_preview(tenant_id: str, batch_id: str) -> ResponseReturnValue:
    principal, tid, bid = signed_in(), parse_uuid(tenant_id), parse_uuid(batch_id)
    with resources().session_factory() as session:
        tenant = _refused(lambda: people_import.require_importer(
            session, principal=principal, tenant_id=tid))
        batch = _refused(lambda: people_import.get_batch(
            session, principal=principal, tenant_id=tid, batch_id=bid))
        return render_template("portal/admin_import.html", tenant=tenant, batches=[],
                               view=batch_view(batch), result=None, **_page_facts())


@bp.post("/admin/dinas/<tenant_id>/impor/<batch_id>/terapkan")
@login_required
def people_import_apply(tenant_id: str, batch_id: str) -> ResponseReturnValue:
    principal, tid, bid = signed_in(), parse_uuid(tenant_id), parse_uuid(batch_id)
    try:
        with transaction(resources().session_factory) as session:
            tenant = people_import.require_importer(session, principal=principal,
                                                    tenant_id=tid)
            result = people_import.apply(session, principal=principal, tenant_id=tid,
                                         batch_id=bid, at=current_time())
            shown = apply_view(result)
            tenant_name = tenant.name
    except ServiceError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        for detail in exc.details:
            flash(detail, "error-detail")
        return redirect(url_for("portal.people_import_preview", tenant_id=tid, batch_id=bid),
                        code=303)
    flash(f"Impor diterapkan: {len(shown['accounts'])} akun baru, {shown['changed']} diubah, "
          f"{len(shown['created_bidang'])} Bidang baru.", "success")
    return render_template("portal/admin_import.html",
                           tenant={"id": tid, "name": tenant_name}, batches=[],
                           view=shown["batch"], result=shown, **_page_facts())


def _page_facts() -> dict[str, object]:
    return {"field_labels": FIELD_LABELS, "fields": FIELDS, "role_choices": ROLE_CHOICES,
            "action_styles": ACTION_STYLES, "accept": ACCEPT, "max_rows": MAX_ROWS,
            "max_bytes": MAX_FILE_BYTES}
