"""The staff portal's pages (the one origin the browser talks to), in Bahasa Indonesia.

Pages only: every rule lives in `packages`, `upload_flow` and `auth`; a view finds what the
principal may see (NotFound is a 404 page, never a 403 with data), calls one domain function in
one transaction, and answers with a page or a redirect carrying a flash message.

The upload view streams the request body itself (`upload_flow`), so it must not touch
`request.form`/`request.files`: its CSRF token comes from the header (XHR) or the query string
(the no-JavaScript form's action), never from the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from services.intake import packages
from services.intake.auth import (
    SESSION_COOKIE,
    check_csrf,
    csrf_token,
    current_principal,
    log_in,
    log_out,
    login_required,
    resources,
    session_lifetime,
)
from services.intake.clock import current_time
from services.intake.downloads import download_link
from services.intake.filetypes import ALL_KINDS
from services.intake.summaries import summarize, visible_tenants
from services.intake.upload_flow import UploadRefused, upload_document
from services.intake.window import collection_window
from shared.cycles.collection import active_cycle
from shared.cycles.models import Cycle, CycleState
from shared.db import transaction
from shared.documents.models import ItemState, PackageState
from shared.i18n import register_filters
from shared.identity.models import Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import tenant_scope
from shared.identity.sessions import revoke_session
from shared.web.app import ERROR_MESSAGES

bp = Blueprint("portal", __name__, template_folder="templates", static_folder="static",
               static_url_path="/portal-static")

SERVICE = "intake"
FLASH_COOKIE = "sakip_flash"  # Flask's signed session cookie: it carries flash messages only
NOT_FOUND_MESSAGE = "Halaman atau data tidak ditemukan."
IDENTICAL_UPLOAD_MESSAGE = "Berkas yang sama sudah diunggah sebelumnya; tidak ada versi baru."
ACCEPTED_EXTENSIONS = ",".join(sorted({kind.extension for kind in ALL_KINDS} | {".jpeg"}))
T = TypeVar("T")
READER_ROLES = frozenset({Role.KASUBBAG_PROGRAM, Role.TIM_EVALUASI, Role.KEPALA_DINAS})


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    app.config.update(
        SESSION_COOKIE_NAME=FLASH_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["SAKIP_SETTINGS"].is_production,
    )
    register_filters(app)


@bp.context_processor
def _template_context() -> dict[str, Any]:
    return {"principal": current_principal(), "csrf_token": csrf_token,
            "role_labels": _role_labels}


@bp.after_request
def _no_store(response: Response) -> Response:
    """Pages show one user's documents: no shared or browser cache keeps them."""
    if request.endpoint != "portal.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# -- errors ----------------------------------------------------------------------------------

@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException) -> ResponseReturnValue:
    """The portal's errors as pages (as JSON for the upload script); the rest of the service
    keeps the JSON answers of shared.web.app."""
    code = exc.code or 500
    if code == 404:
        message = NOT_FOUND_MESSAGE
    elif exc.description and exc.description != type(exc).description:
        message = exc.description  # our own words, e.g. the CSRF or a domain refusal
    else:
        message = ERROR_MESSAGES.get(code, "Terjadi kesalahan.")
    if wants_json():
        return json_error(code, message)
    return render_template("portal/error.html", code=code, message=message), code


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == \
        "application/json"


def json_error(status: int, message: str,
                fields: dict[str, list[str]] | None = None) -> ResponseReturnValue:
    return jsonify(error={"code": status, "message": message, "fields": fields or {}}), status


def _refuse(exc: packages.PackageError) -> None:
    """A refusal the user may know about: 404/403 as error pages, the rest as a message."""
    if exc.status in (403, 404):
        abort(exc.status, description=exc.message)
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error-detail")


# -- signing in and out ----------------------------------------------------------------------

@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_principal() is not None:
            return redirect(target or url_for("portal.home"))
        return render_template("portal/login.html", next=target, username="")
    check_csrf()
    if request.headers.get("Sec-Fetch-Site") == "cross-site":  # login CSRF from another site
        abort(400, description="Permintaan masuk dari situs lain ditolak.")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return render_template("portal/login.html", next=target, username=username,
                               message="Isi nama pengguna dan kata sandi."), 400
    res = resources()
    with transaction(res.session_factory) as session:  # commits the audit of a refusal too
        outcome = log_in(session, res.redis, username=username, password=password,
                         ip=request.remote_addr, user_agent=request.user_agent.string or None,
                         at=current_time())
        previous = request.cookies.get(SESSION_COOKIE)
        if outcome.token is not None and previous:
            revoke_session(session, previous)
    if outcome.token is None:
        return render_template("portal/login.html", next=target, username=username,
                               message=outcome.message), outcome.status
    if outcome.must_change_password:  # a temporary password: its change comes first
        target = url_for("portal.account_password", next=target)
    response = redirect(target or url_for("portal.home"), code=303)
    response.set_cookie(SESSION_COOKIE, outcome.token, path="/", httponly=True,
                        samesite="Lax", secure=_secure_cookie(),
                        max_age=int(session_lifetime().total_seconds()))
    return response


@bp.post("/keluar")
@login_required
def logout() -> ResponseReturnValue:
    res = resources()
    with transaction(res.session_factory) as session:
        log_out(session, request.cookies.get(SESSION_COOKIE, ""), current_principal())
    flash("Anda sudah keluar.", "success")
    response = redirect(url_for("portal.login"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=_secure_cookie())
    return response


def _safe_next(value: str | None) -> str | None:
    """Only a path of this site: never another host ("//host", "/\\host", "https://...")."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def _secure_cookie() -> bool:
    return request.is_secure or resources().settings.is_production


# -- the dashboard -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PackageRow:
    id: uuid.UUID
    bidang_name: str
    state: str
    state_label: str
    accepted: int
    required: int
    submitted_at: datetime | None


@dataclass
class TenantListing:
    tenant: Tenant
    cycle: Cycle | None
    time_zone: str = "Asia/Jakarta"
    rows: list[PackageRow] = field(default_factory=list)


@bp.get("/")
def home() -> ResponseReturnValue:
    principal = current_principal()
    if principal is None:
        return render_template("portal/welcome.html")
    res = resources()
    with transaction(res.session_factory) as session:  # may start packages not yet started
        listings: list[TenantListing] = []
        own: list[uuid.UUID] = []
        for tenant_id in sorted(principal.tenant_ids):
            roles = principal.roles_in(tenant_id)
            if roles & READER_ROLES:
                listing = _listing(session, principal, tenant_id)
                if listing is not None:
                    listings.append(listing)
            elif Role.BIDANG_STAFF in roles:
                cycle = active_cycle(session, tenant_id)
                if cycle is not None:
                    own += [p.id for p in packages.packages_of_cycle(session, principal, cycle)]
        city = tenant_scope(principal).all_tenants_readable
        tenants = visible_tenants(session, None) if city else []
    if len(own) == 1 and not listings and not city:
        return redirect(url_for("portal.package", package_id=own[0]))
    return render_template(
        "portal/dashboard.html", listings=listings, own=own, city=city, tenants=tenants,
        staff=any(Role.BIDANG_STAFF in principal.roles_in(t) for t in principal.tenant_ids),
        admin_only=principal.has_role(Role.PLATFORM_ADMIN) and not principal.tenant_ids
        and not city,
    )


@bp.get("/dinas/<tenant_id>")
@login_required
def tenant(tenant_id: str) -> ResponseReturnValue:
    principal = signed_in()
    tid = parse_uuid(tenant_id)
    if not tenant_scope(principal).can_read(tid):
        abort(404)
    with transaction(resources().session_factory) as session:
        listing = _listing(session, principal, tid)
    if listing is None:
        abort(404)
    return render_template("portal/tenant.html", listing=listing)


def _listing(session: Session, principal: Principal,
             tenant_id: uuid.UUID) -> TenantListing | None:
    """Every package of the tenant's active cycle the principal may see, by Bidang."""
    found = session.get(Tenant, tenant_id)
    if found is None or not found.active:
        return None
    cycle = active_cycle(session, tenant_id)
    listing = TenantListing(tenant=found, cycle=cycle)
    if cycle is None:
        return listing
    for package in packages.packages_of_cycle(session, principal, cycle):
        summary = summarize(session, package, with_versions=False)
        listing.time_zone = summary.calendar.time_zone
        listing.rows.append(PackageRow(
            id=summary.id, bidang_name=summary.bidang_name, state=summary.state,
            state_label=summary.state_label,
            accepted=sum(i.state == ItemState.ACCEPTED for i in summary.items),
            required=len(summary.items), submitted_at=summary.submitted_at))
    listing.rows.sort(key=lambda row: row.bidang_name)
    return listing


# -- a package -----------------------------------------------------------------------------------

@bp.get("/paket/<package_id>")
@login_required
def package(package_id: str) -> ResponseReturnValue:
    principal = signed_in()
    pid = parse_uuid(package_id)
    with resources().session_factory() as session:
        found = _found(lambda: packages.get_package(session, principal, pid))
        at = current_time()
        summary = summarize(session, found, at=at)
        cycle = session.get_one(Cycle, found.cycle_id)
        cycle_open = cycle.state == CycleState.ACTIVE
        hand_in_refusal = collection_window(session, cycle, found.bidang_id).refusal(at)
        uploaders = user_names(session, {v.uploaded_by for i in summary.items for v in i.versions})
    owner = (principal.has_role(Role.BIDANG_STAFF, summary.tenant_id)
             and principal.bidang_id == summary.bidang_id)
    passed = summary.deadline is not None and at >= summary.deadline
    time_left = summary.working_time_left  # None once the package is accepted
    # The Bidang hands in what is not with the kasubbag yet; submitting an incomplete package
    # answers with the list of what is missing.
    to_hand_in = any(i.state in (ItemState.MISSING, ItemState.UPLOADED, ItemState.RETURNED)
                     for i in summary.items)
    return render_template(
        "portal/package.html", summary=summary, uploaders=uploaders,
        time_zone=summary.calendar.time_zone,
        time_left=timedelta(0) if passed and time_left is not None else time_left,
        can_upload=owner and cycle_open,  # per item: not while submitted, never once accepted
        can_submit=owner and to_hand_in and hand_in_refusal is None,
        can_withdraw=owner and summary.state == PackageState.SUBMITTED
        and hand_in_refusal is None,
        hand_in_refusal=hand_in_refusal if owner and to_hand_in else None,
        can_review=principal.has_role(Role.KASUBBAG_PROGRAM, summary.tenant_id),
        accepted_extensions=ACCEPTED_EXTENSIONS,
        max_upload_bytes=resources().settings.max_upload_bytes,
        item_states=ItemState,
    )


@bp.post("/paket/<package_id>/serahkan")
@login_required
def submit(package_id: str) -> ResponseReturnValue:
    principal = signed_in()
    pid = parse_uuid(package_id)
    done = _act(lambda session: packages.submit_package(session, principal=principal,
                                                        package_id=pid, at=current_time()))
    if done:
        flash("Paket dokumen sudah diserahkan kepada Kasubbag Program untuk diperiksa.",
              "success")
    return _back_to(pid)


@bp.post("/paket/<package_id>/tarik")
@login_required
def withdraw(package_id: str) -> ResponseReturnValue:
    principal = signed_in()
    pid = parse_uuid(package_id)
    done = _act(lambda session: packages.withdraw_package(session, principal=principal,
                                                          package_id=pid, at=current_time()))
    if done:
        flash("Paket dokumen ditarik kembali; dokumen dapat diganti lalu diserahkan lagi.",
              "success")
    return _back_to(pid)


@bp.post("/dokumen/<item_id>/periksa")
@login_required
def review(item_id: str) -> ResponseReturnValue:
    principal = signed_in()
    iid = parse_uuid(item_id)
    pid = _package_of_item(principal, iid)
    try:
        decision = packages.Decision(request.form.get("decision", ""))
    except ValueError:
        flash("Pilih keputusan: terima atau kembalikan dokumen.", "error")
        return _back_to(pid, iid)
    reason = request.form.get("reason")
    done = _act(lambda session: packages.review_item(
        session, principal=principal, item_id=iid, decision=decision, reason=reason,
        at=current_time()))
    if done:
        flash("Dokumen diterima." if decision is packages.Decision.ACCEPT
              else "Dokumen dikembalikan kepada Bidang beserta alasannya.", "success")
    return _back_to(pid, iid)


@bp.post("/dokumen/<item_id>/unggah")
@login_required(csrf="header-or-query")
def upload(item_id: str) -> ResponseReturnValue:
    """Stream one soft copy to storage. The script (Accept: application/json) gets JSON; the
    plain form gets a redirect back to the package with a message."""
    principal = signed_in()
    iid = parse_uuid(item_id)
    try:
        result = upload_document(resources(), principal, iid, body=request.stream,
                                 content_type=request.content_type,
                                 content_length=request.content_length)
    except UploadRefused as exc:
        if wants_json():
            return json_error(exc.status, exc.message, exc.fields)
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        for name, messages in exc.fields.items():
            flash(f"{FIELD_LABELS.get(name, name)}: {' '.join(messages)}", "error-detail")
        return _back_to(_package_of_item(principal, iid), iid)
    version = result.version
    message = (f"Berkas {version.filename} tersimpan sebagai versi {version.number}."
               if result.created else IDENTICAL_UPLOAD_MESSAGE)
    flash(message, "success" if result.created else "info")  # shown after the page reloads
    if wants_json():
        return jsonify(message=message, created=result.created, version={
            "id": str(version.id), "number": version.number, "filename": version.filename,
            "size_bytes": version.size_bytes, "sha256": version.sha256,
        }), 201 if result.created else 200
    return _back_to(_package_of_item(principal, iid), iid)


FIELD_LABELS = {"title": "Judul", "year": "Tahun", "notes": "Catatan", "file": "Berkas",
                "document_type": "Jenis dokumen"}


@bp.get("/versi/<version_id>/unduh")
@login_required
def download(version_id: str) -> ResponseReturnValue:
    principal, vid = signed_in(), parse_uuid(version_id)
    url = _found(lambda: download_link(resources(), principal, vid, via="portal"))
    return redirect(url, code=302)


# -- helpers -----------------------------------------------------------------------------------

def signed_in() -> Principal:
    principal = current_principal()
    assert principal is not None  # login_required let the request in
    return principal


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _found(find: Callable[[], T]) -> T:
    try:
        return find()
    except packages.NotFound:
        abort(404)


def _act(change: Callable[[Session], object]) -> bool:
    """Run one domain change in its own transaction; a refusal becomes a message or an error
    page and nothing is written."""
    try:
        with transaction(resources().session_factory) as session:
            change(session)
    except packages.PackageError as exc:
        _refuse(exc)
        return False
    return True


def _package_of_item(principal: Principal, item_id: uuid.UUID) -> uuid.UUID:
    with resources().session_factory() as session:
        item, _ = _found(lambda: packages.get_item(session, principal, item_id))
        return item.submission_id


def _back_to(package_id: uuid.UUID, item_id: uuid.UUID | None = None) -> ResponseReturnValue:
    anchor = f"dokumen-{item_id}" if item_id else None
    return redirect(url_for("portal.package", package_id=package_id, _anchor=anchor), code=303)


def user_names(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def _role_labels(principal: Principal) -> list[str]:
    return sorted({grant.role.label for grant in principal.grants})
