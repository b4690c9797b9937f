"""The portal's city administration pages (platform_admin), on the portal blueprint: the dinas
(create with the first Kepala Dinas's one-time activation link, rename, deactivate, reactivate),
the city users and their roles, and the publication of SOP template and LKE rubric versions to
every dinas or some. Also the audit log page, read by the platform_admin (every entry) and by a
dinas's administrators (their dinas's entries).

Dinas and accounts are intake's own tables: the pages call `platform_admin` in one transaction.
Templates and rubrics belong to the workflow and reporting: the upload goes to their APIs over
HTTP (`workflow_client`, `reporting_client`), which validate the file before anything is saved;
a refused file is shown again with every line/field (or row) at fault.

A one-time link is shown on the page answering the form that created it, never put in a
redirect or a flash cookie.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import audit_view, platform_admin
from services.intake.auth import current_principal, login_required, resources
from services.intake.people import InvalidField
from services.intake.portal import bp, parse_uuid, signed_in
from services.intake.reporting_client import ReportingClient
from services.intake.service_client import ServiceCallError, ServiceClient, UploadedFile
from services.intake.workflow_client import WorkflowClient
from shared.clock import now
from shared.db import transaction
from shared.i18n import format_datetime
from shared.identity.account_links import lifetime_of, link_url
from shared.identity.models import LinkPurpose, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.publication_targets import FIELD as TARGETS_FIELD
from shared.web.errors import ServiceError

T = TypeVar("T")
MAX_TEMPLATE_BYTES = 256 * 1024  # the workflow's own limit
MAX_WORKBOOK_BYTES = 5 * 1024 * 1024  # the reporting service's own limit
CITY_ROLE_CHOICES = [(r.value, r.label) for r in platform_admin.CITY_ROLE_ORDER]
FIELD_LABELS = {"slug": "Kode singkat", "name": "Nama", "username": "Nama pengguna",
                "full_name": "Nama lengkap", "email": "E-mail", "nip": "NIP", "role": "Peran",
                "roles": "Peran", "reason": "Alasan", "file": "Berkas", "code": "Kode",
                "version": "Versi", "regulation": "Dasar hukum", "source": "Sumber",
                TARGETS_FIELD: "Perangkat daerah"}
KINDS = {"templat": "Templat SOP", "rubrik": "Rubrik LKE"}
RUBRIC_FIELDS = ("code", "version", "name", "regulation", "source")  # what the file does not say
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.context_processor
def _platform_context() -> dict[str, Any]:
    return {"platform_link": _is_platform_admin, "city_role_label": _role_label}


def _is_platform_admin() -> bool:
    principal = current_principal()
    return principal is not None and principal.has_role(Role.PLATFORM_ADMIN)


def _role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


def _admin() -> Principal:
    """The signed-in platform_admin; anyone else gets the 403 page."""
    principal = signed_in()
    if not principal.has_role(Role.PLATFORM_ADMIN):
        abort(403, description=platform_admin.ADMIN_ONLY_MESSAGE)
    return principal


def _change(call: Callable[[Session], T]) -> T | None:
    """One domain change in its own transaction. A refusal writes nothing and becomes a message
    (403/404: the error page); None then."""
    try:
        with transaction(resources().session_factory) as session:
            return call(session)
    except ServiceError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        if isinstance(exc, InvalidField):
            flash(f"{FIELD_LABELS.get(exc.field, exc.field)}: {exc.message}", "error")
        else:
            flash(exc.message, "error")
        for detail in exc.details:
            flash(detail, "error-detail")
        return None


def _link_page(title: str, who: str, token: str, expires_at: Any, back: str) -> str:
    return render_template("portal/platform_link.html", title=title, who=who,
                           url=link_url(resources().settings.portal_url, token),
                           expires_at=expires_at, back=back)


# -- dinas ---------------------------------------------------------------------------------------

@bp.get("/admin/kota")
@login_required
def platform_home() -> ResponseReturnValue:
    principal = _admin()
    with resources().session_factory() as session:
        tenants = platform_admin.list_tenants(session, principal=principal)
    return render_template("portal/platform_tenants.html", tenants=tenants, form={})


@bp.post("/admin/kota/dinas")
@login_required
def platform_create_tenant() -> ResponseReturnValue:
    principal = _admin()
    form = request.form
    at = now()
    created = _change(lambda session: platform_admin.create_tenant_with_head(
        session, principal=principal, slug=form.get("slug", ""), name=form.get("name", ""),
        kepala_username=form.get("kepala_username", ""),
        kepala_full_name=form.get("kepala_full_name", ""),
        kepala_email=form.get("kepala_email") or None,
        kepala_nip=form.get("kepala_nip") or None, at=at))
    if created is None:
        with resources().session_factory() as session:
            tenants = platform_admin.list_tenants(session, principal=principal)
        return render_template("portal/platform_tenants.html", tenants=tenants,
                               form=form.to_dict()), 422
    tenant, head, token = created
    flash(f"{tenant.name} dibuat; akun Kepala Dinas {head.username} menunggu aktivasi.",
          "success")
    return _link_page("Perangkat daerah dibuat", f"{head.full_name} ({head.username}), Kepala "
                      f"Dinas {tenant.name}", token,
                      at + lifetime_of(LinkPurpose.ACTIVATION),
                      url_for("portal.platform_tenant", tenant_id=tenant.id))


@bp.get("/admin/kota/dinas/<tenant_id>")
@login_required
def platform_tenant(tenant_id: str) -> ResponseReturnValue:
    principal = _admin()
    tid = parse_uuid(tenant_id)
    with resources().session_factory() as session:
        try:
            overview = platform_admin.get_tenant(session, principal=principal, tenant_id=tid)
        except ServiceError as exc:
            abort(exc.status, description=exc.message)
    return render_template("portal/platform_tenant.html", o=overview, form={})


@bp.post("/admin/kota/dinas/<tenant_id>/nama")
@login_required
def platform_rename_tenant(tenant_id: str) -> ResponseReturnValue:
    principal, tid = _admin(), parse_uuid(tenant_id)
    done = _change(lambda session: platform_admin.rename_tenant(
        session, principal=principal, tenant_id=tid, name=request.form.get("name", ""),
        at=now()))
    if done is not None:
        flash(f"Nama perangkat daerah sekarang {done.name}.", "success")
    return redirect(url_for("portal.platform_tenant", tenant_id=tid), code=303)


@bp.post("/admin/kota/dinas/<tenant_id>/nonaktifkan")
@login_required
def platform_deactivate_tenant(tenant_id: str) -> ResponseReturnValue:
    principal, tid = _admin(), parse_uuid(tenant_id)
    done = _change(lambda session: platform_admin.deactivate_tenant(
        session, principal=principal, tenant_id=tid, reason=request.form.get("reason", ""),
        at=now()))
    if done is not None:
        flash(f"{done.name} dinonaktifkan; penggunanya tidak dapat masuk lagi. Datanya tetap "
              "tersimpan.", "success")
    return redirect(url_for("portal.platform_tenant", tenant_id=tid), code=303)


@bp.post("/admin/kota/dinas/<tenant_id>/aktifkan")
@login_required
def platform_reactivate_tenant(tenant_id: str) -> ResponseReturnValue:
    principal, tid = _admin(), parse_uuid(tenant_id)
    done = _change(lambda session: platform_admin.reactivate_tenant(
        session, principal=principal, tenant_id=tid, reason=request.form.get("reason"),
        at=now()))
    if done is not None:
        flash(f"{done.name} aktif kembali.", "success")
    return redirect(url_for("portal.platform_tenant", tenant_id=tid), code=303)


@bp.post("/admin/kota/dinas/<tenant_id>/kepala")
@login_required
def platform_appoint_head(tenant_id: str) -> ResponseReturnValue:
    principal, tid = _admin(), parse_uuid(tenant_id)
    form = request.form
    done = _change(lambda session: platform_admin.appoint_head(
        session, principal=principal, tenant_id=tid, username=form.get("username", ""),
        full_name=form.get("full_name", ""), email=form.get("email") or None,
        nip=form.get("nip") or None, at=now()))
    if done is None:
        return redirect(url_for("portal.platform_tenant", tenant_id=tid), code=303)
    user, activation = done
    return _link_page("Akun Kepala Dinas dibuat", f"{user.full_name} ({user.username})",
                      activation.token, activation.expires_at,
                      url_for("portal.platform_tenant", tenant_id=tid))


@bp.post("/admin/kota/akun/<user_id>/tautan")
@login_required
def platform_reissue_link(user_id: str) -> ResponseReturnValue:
    principal, uid = _admin(), parse_uuid(user_id)
    back = _safe_back(request.form.get("back"))
    done = _change(lambda session: (platform_admin.reissue_activation(
        session, principal=principal, user_id=uid, at=now()), _user_label(session, uid)))
    if done is None:
        return redirect(back, code=303)
    activation, who = done
    return _link_page("Tautan aktivasi baru", who, activation.token, activation.expires_at,
                      back)


# -- city users ----------------------------------------------------------------------------------

@bp.get("/admin/kota/pengguna")
@login_required
def platform_users() -> ResponseReturnValue:
    return _users_page({})


def _users_page(form: dict[str, Any], status: int = 200) -> ResponseReturnValue:
    principal = _admin()
    with resources().session_factory() as session:
        users = platform_admin.list_city_users(session, principal=principal)
        rows = []
        for user in users:
            held = platform_admin.held_city_roles(user)
            rows.append((user, held, [(r.value, r.label) for r in platform_admin.CITY_ROLE_ORDER
                                      if r not in held]))
    return render_template("portal/platform_users.html", rows=rows, roles=CITY_ROLE_CHOICES,
                           form=form, me=principal.user_id), status


@bp.post("/admin/kota/pengguna")
@login_required
def platform_create_user() -> ResponseReturnValue:
    principal = _admin()
    form = request.form
    done = _change(lambda session: platform_admin.create_city_user(
        session, principal=principal, username=form.get("username", ""),
        full_name=form.get("full_name", ""), email=form.get("email") or None,
        nip=form.get("nip") or None, roles=form.getlist("roles"), at=now()))
    if done is None:
        return _users_page({**form.to_dict(), "roles": form.getlist("roles")}, 422)
    user, activation = done
    flash(f"Akun {user.username} dibuat; menunggu aktivasi.", "success")
    return _link_page("Pengguna tingkat kota dibuat", f"{user.full_name} ({user.username})",
                      activation.token, activation.expires_at, url_for("portal.platform_users"))


@bp.post("/admin/kota/pengguna/<user_id>/peran")
@login_required
def platform_grant_role(user_id: str) -> ResponseReturnValue:
    principal, uid = _admin(), parse_uuid(user_id)
    role = request.form.get("role", "")
    done = _change(lambda session: platform_admin.grant_city_role(
        session, principal=principal, user_id=uid, role=role, at=now()))
    if done is not None:
        flash(f"Peran {_role_label(role)} diberikan kepada {done.full_name}.", "success")
    return redirect(url_for("portal.platform_users", _anchor=f"pengguna-{uid}"), code=303)


@bp.post("/admin/kota/pengguna/<user_id>/peran/<role>/cabut")
@login_required
def platform_revoke_role(user_id: str, role: str) -> ResponseReturnValue:
    principal, uid = _admin(), parse_uuid(user_id)
    done = _change(lambda session: platform_admin.revoke_city_role(
        session, principal=principal, user_id=uid, role=role, at=now()))
    if done is not None:
        flash(f"Peran {_role_label(role)} dicabut dari {done.full_name}.", "success")
    return redirect(url_for("portal.platform_users", _anchor=f"pengguna-{uid}"), code=303)


@bp.post("/admin/kota/pengguna/<user_id>/nonaktifkan")
@login_required
def platform_deactivate_user(user_id: str) -> ResponseReturnValue:
    principal, uid = _admin(), parse_uuid(user_id)
    done = _change(lambda session: platform_admin.deactivate_city_user(
        session, principal=principal, user_id=uid, reason=request.form.get("reason"),
        at=now()))
    if done is not None:
        flash(f"Akun {done.username} dinonaktifkan.", "success")
    return redirect(url_for("portal.platform_users", _anchor=f"pengguna-{uid}"), code=303)


@bp.post("/admin/kota/pengguna/<user_id>/aktifkan")
@login_required
def platform_reactivate_user(user_id: str) -> ResponseReturnValue:
    principal, uid = _admin(), parse_uuid(user_id)
    done = _change(lambda session: platform_admin.reactivate_city_user(
        session, principal=principal, user_id=uid, reason=request.form.get("reason"),
        at=now()))
    if done is not None:
        flash(f"Akun {done.username} aktif kembali.", "success")
    return redirect(url_for("portal.platform_users", _anchor=f"pengguna-{uid}"), code=303)


# -- publishing templates and rubrics --------------------------------------------------------------

@bp.get("/admin/kota/terbitan")
@login_required
def platform_publications() -> ResponseReturnValue:
    return _publications_page()


def _publications_page(*, kind: str | None = None, problems: list[str] | None = None,
                       form: dict[str, Any] | None = None,
                       status: int = 200) -> ResponseReturnValue:
    principal = _admin()
    settings = resources().settings
    try:
        templates = WorkflowClient(settings, principal).get("/templates")["templates"]
        rubrics = ReportingClient(settings, principal).get("/rubrics")
    except ServiceCallError as exc:
        abort(exc.status, description=exc.message)
    with resources().session_factory() as session:
        tenants = list(session.scalars(select(Tenant).order_by(Tenant.name)))
    names = {str(t.id): t.name for t in tenants}

    def offered(item: dict[str, Any]) -> str:
        if item.get("tenant_id"):
            return f"Varian {names.get(item['tenant_id'], item['tenant_id'])}"
        if item.get("all_tenants", True):
            return "Semua perangkat daerah"
        return ", ".join(sorted(names.get(t, t) for t in item.get("tenant_ids", [])))

    return render_template(
        "portal/platform_publish.html", templates=templates, rubrics=rubrics,
        offered=offered, tenants=[t for t in tenants if t.active], kind=kind,
        kind_label=KINDS.get(kind or "", ""), problems=problems or [], form=form or {},
        published=lambda value: format_datetime(_instant(value))), status


@bp.post("/admin/kota/terbitan/<kind>")
@login_required
def platform_publish(kind: str) -> ResponseReturnValue:
    """Upload a template (YAML) or an LKE workbook (XLSX) for every dinas or some; the service
    checks the file and saves nothing when it is refused."""
    principal = _admin()
    if kind not in KINDS:
        abort(404)
    form = request.form
    kept = {**form.to_dict(), TARGETS_FIELD: form.getlist(TARGETS_FIELD)}
    problems: list[str] = []
    picked = form.getlist(TARGETS_FIELD) if form.get("scope") == "some" else []
    if form.get("scope") == "some" and not picked:
        problems.append("Pilih minimal satu perangkat daerah, atau terbitkan untuk semua.")
    upload = request.files.get("file")
    limit = MAX_TEMPLATE_BYTES if kind == "templat" else MAX_WORKBOOK_BYTES
    data = upload.stream.read(limit + 1) if upload is not None else b""
    if not data:
        problems.append("Pilih berkas yang akan diunggah.")
    elif len(data) > limit:
        problems.append(f"Berkas terlalu besar (paling besar {limit // 1024} KB).")
    if problems:
        return _publications_page(kind=kind, problems=problems, form=kept, status=422)
    assert upload is not None
    filename = (upload.filename or "berkas")[:100]
    client: ServiceClient
    fields: dict[str, str | list[str]] = {TARGETS_FIELD: picked}
    if kind == "templat":
        client, path, content_type = (WorkflowClient(resources().settings, principal),
                                      "/templates", "application/yaml")
    else:
        client, path, content_type = (ReportingClient(resources().settings, principal),
                                      "/rubrics/import", XLSX_TYPE)
        fields.update({name: form.get(name, "") for name in RUBRIC_FIELDS})
    try:
        answer = client.post_file(path, fields=fields, file=UploadedFile(
            field="file", filename=filename, content_type=content_type, data=data))
    except ServiceCallError as exc:
        if exc.status in (401, 403, 404, 503):
            abort(exc.status, description=exc.message)
        problems = [exc.message, *exc.details] + [
            f"{FIELD_LABELS.get(name, name)}: {' '.join(messages)}"
            for name, messages in exc.fields.items()]
        return _publications_page(kind=kind, problems=problems, form=kept, status=422)
    audience = "semua perangkat daerah" if answer.get("all_tenants") else \
        "perangkat daerah terpilih"
    flash(f"{KINDS[kind]} {answer['name']} versi {answer['version']} diterbitkan untuk "
          f"{audience}.", "success")
    return redirect(url_for("portal.platform_publications"), code=303)


# -- the audit log --------------------------------------------------------------------------------

@bp.get("/admin/audit")
@login_required
def audit_log() -> ResponseReturnValue:
    principal = signed_in()
    args = request.args
    query = audit_view.AuditQuery(
        tenant_id=_uuid_or_none(args.get("tenant_id")), action=args.get("action") or None,
        service=args.get("service") or None, since=_date_or_none(args.get("since")),
        until=_date_or_none(args.get("until")), before=_int_or_none(args.get("before")))
    with resources().session_factory() as session:
        try:
            readable = audit_view.readable_tenants(session, principal)
            page = audit_view.read_audit(session, principal=principal, query=query)
        except ServiceError as exc:
            if exc.status in (403, 404):
                abort(exc.status, description=exc.message)
            flash(exc.message, "error")
            page = audit_view.AuditPage(entries=[], next_before=None)
        tenants = readable if readable is not None else list(
            session.scalars(select(Tenant).order_by(Tenant.name)))
    filters = {k: v for k, v in args.items() if k != "before" and v}
    return render_template("portal/audit.html", page=page, tenants=tenants, filters=filters,
                           city=readable is None, services=("intake", "workflow", "reporting"))


# -- helpers -------------------------------------------------------------------------------------

def _user_label(session: Session, user_id: uuid.UUID) -> str:
    user = session.get_one(User, user_id)
    return f"{user.full_name} ({user.username})"


def _safe_back(value: str | None) -> str:
    """Back to one of these pages (never another site)."""
    if value and value.startswith("/admin/kota") and "//" not in value:
        return value
    return url_for("portal.platform_home")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _date_or_none(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        flash("Tanggal harus berformat TTTT-BB-HH.", "error")
        return None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None

