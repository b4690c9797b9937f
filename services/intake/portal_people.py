"""The portal's pages for a dinas's administrators, on the portal blueprint: its users
(`/admin/dinas/<tenant_id>/pengguna`, one user's page, create, change, deactivate, reactivate,
reset the password, and the kepala_dinas's delegation), its Bidang (`.../bidang`) and its acting
officials (`.../plt`).

Pages only: `people` decides (another dinas is a 404 page, a member without the right a 403
page with the reason). A one-time credential (activation link, reset link or temporary
password) is shown in the answer to the POST that made it and never again: it is not put in a
flash message (the flash cookie is signed, not secret) and the pages are never cached. A refused
change shows why, with the form as it was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import people
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.people_views import (
    acting_views,
    bidang_views,
    credential_view,
    person_view,
    person_views,
)
from services.intake.portal import bp, parse_uuid, signed_in
from shared.db import transaction
from shared.identity.admin_scope import administered_tenants, require_administrator
from shared.identity.loading import local_day
from shared.identity.models import User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import ServiceError

T = TypeVar("T")
ROLE_CHOICES = [(r.value, r.label) for r in (Role.BIDANG_STAFF, Role.KASUBBAG_PROGRAM,
                                              Role.TIM_EVALUASI, Role.KEPALA_DINAS)]
ACTING_ROLE_CHOICES = [(r.value, r.label) for r in people.ACTING_ROLES]
FIELD_LABELS = {"username": "Nama pengguna", "full_name": "Nama lengkap", "nip": "NIP",
                "email": "E-mail", "role": "Peran", "bidang_id": "Bidang", "name": "Nama Bidang",
                "credential": "Cara aktivasi", "method": "Cara atur ulang",
                "user_id": "Pengguna", "kind": "Jenis", "starts_on": "Tanggal mulai",
                "ends_on": "Tanggal selesai", "reason": "Dasar penunjukan"}
ADMIN_ROLES = frozenset({Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM})
CREDENTIAL_WORDS = {
    "link": "Tautan aktivasi ini hanya ditampilkan sekali. Salin dan serahkan kepada yang "
            "bersangkutan; tautan berlaku sampai",
    "temporary": "Kata sandi sementara ini hanya ditampilkan sekali. Serahkan kepada yang "
                 "bersangkutan; kata sandi wajib diganti saat masuk pertama dan berlaku sampai",
}


# -- the menu link --------------------------------------------------------------------------------

@bp.context_processor
def _admin_context() -> dict[str, Any]:
    return {"admin_link": _admin_link}


def _admin_link() -> str | None:
    """The administration page of the (first) dinas the signed-in user administers."""
    principal = current_principal()
    if principal is None or not any(g.role in ADMIN_ROLES and g.tenant_id is not None
                                    for g in principal.grants):
        return None
    with resources().session_factory() as session:
        tenants = administered_tenants(session, principal)
    return url_for("portal.admin_people", tenant_id=tenants[0].id) if tenants else None


# -- plumbing -------------------------------------------------------------------------------------

def _read(tenant_id: str, read: Callable[[Session, Principal, uuid.UUID], T]) -> T:
    """A page's read as an administrator of the dinas (404/403 as error pages)."""
    principal, tid = signed_in(), parse_uuid(tenant_id)
    try:
        with resources().session_factory() as session:
            return read(session, principal, tid)
    except ServiceError as exc:
        _error_page(exc)
        raise  # pragma: no cover - abort raised already


def _change(change: Callable[[Session], T]) -> T | None:
    """One change in its own transaction; a refusal becomes a message (404/403: an error page)
    and nothing is written."""
    try:
        with transaction(resources().session_factory) as session:
            return change(session)
    except ServiceError as exc:
        _error_page(exc)
        if isinstance(exc, people.InvalidField):
            flash(f"{FIELD_LABELS.get(exc.field, exc.field)}: {exc.message}", "error")
        else:
            flash(exc.message, "error")
            for detail in exc.details:
                flash(detail, "error-detail")
        return None


def _error_page(exc: ServiceError) -> None:
    if exc.status == 404:
        abort(404)
    if exc.status == 403:
        abort(403, description=exc.message)


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


def _optional_uuid(name: str) -> uuid.UUID | None:
    value = _form(name)
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise people.InvalidField(name, "Pilihan tidak dikenal.") from None


def _date(name: str) -> date:
    try:
        return date.fromisoformat(_form(name))
    except ValueError:
        raise people.InvalidField(name, "Tulis tanggal sebagai YYYY-MM-DD.") from None


def _role(name: str = "role") -> Role:
    try:
        return Role(_form(name))
    except ValueError:
        raise people.InvalidField(name, "Peran tidak dikenal untuk pengguna dinas.") from None


def _credential(credential: people.Credential) -> dict[str, Any]:
    shown = credential_view(credential, portal_url=resources().settings.portal_url)
    shown["words"] = CREDENTIAL_WORDS[credential.kind]
    return shown


def _tenant_facts(session: Session, principal: Principal, tid: uuid.UUID) -> dict[str, Any]:
    tenant = require_administrator(session, principal, tid)
    return {"tenant": tenant, "is_head": principal.has_role(Role.KEPALA_DINAS, tid)}


def _bidang_of(session: Session, principal: Principal, tid: uuid.UUID) -> list[dict[str, Any]]:
    """Every Bidang of the dinas (the forms offer the open ones)."""
    return bidang_views(session, people.list_bidang(session, principal=principal,
                                                    tenant_id=tid))


# -- users ----------------------------------------------------------------------------------------

def _people_page(tenant_id: str, *, form: dict[str, str] | None = None,
                 credential: dict[str, Any] | None = None, created: str | None = None,
                 status: int = 200) -> ResponseReturnValue:
    def read(session: Session, principal: Principal, tid: uuid.UUID) -> dict[str, Any]:
        facts = _tenant_facts(session, principal, tid)
        users = person_views(session, people.list_people(session, principal=principal,
                                                          tenant_id=tid))
        return facts | {"users": users, "bidang": _bidang_of(session, principal, tid)}

    page = _read(tenant_id, read)
    return render_template("portal/admin_people.html", **page, form=form or {},
                           credential=credential, created=created, roles=ROLE_CHOICES,
                           section="pengguna"), status


@bp.get("/admin/dinas/<tenant_id>/pengguna")
@login_required
def admin_people(tenant_id: str) -> ResponseReturnValue:
    return _people_page(tenant_id)


@bp.post("/admin/dinas/<tenant_id>/pengguna")
@login_required
def admin_create_person(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    form = {k: _form(k) for k in ("username", "full_name", "nip", "email", "role",
                                  "bidang_id", "credential")}

    def create(session: Session) -> tuple[User, people.Credential]:
        return people.create_person(
            session, principal=principal, tenant_id=tid, username=form["username"],
            full_name=form["full_name"], nip=form["nip"] or None, email=form["email"] or None,
            role=_role(), bidang_id=_optional_uuid("bidang_id"),
            credential="temporary" if form["credential"] == "temporary" else "link",
            at=current_time())

    made = _change(create)
    if made is None:
        return _people_page(tenant_id, form=form, status=422)
    user, credential = made
    flash(f"Akun {user.username} dibuat.", "success")
    return _people_page(tenant_id, credential=_credential(credential), created=user.username,
                        status=201)


def _person_page(tenant_id: str, user_id: str, *, credential: dict[str, Any] | None = None,
                 status: int = 200) -> ResponseReturnValue:
    uid = parse_uuid(user_id)

    def read(session: Session, principal: Principal, tid: uuid.UUID) -> dict[str, Any]:
        facts = _tenant_facts(session, principal, tid)
        user = session.get(User, uid)
        if user is None or user.tenant_id != tid:
            abort(404)
        found = people.get_person(session, principal=principal, user_id=uid)
        return facts | {"person": person_view(session, found),
                        "bidang": _bidang_of(session, principal, tid),
                        "is_self": found.id == principal.user_id}

    page = _read(tenant_id, read)
    return render_template("portal/admin_person.html", **page, credential=credential,
                           roles=ROLE_CHOICES, section="pengguna"), status


@bp.get("/admin/dinas/<tenant_id>/pengguna/<user_id>")
@login_required
def admin_person(tenant_id: str, user_id: str) -> ResponseReturnValue:
    return _person_page(tenant_id, user_id)


def _person_action(tenant_id: str, user_id: str,
                   act: Callable[[Session, Principal, uuid.UUID], object],
                   success: str) -> ResponseReturnValue:
    """A change of one user, then back to their page."""
    principal, tid, uid = signed_in(), parse_uuid(tenant_id), parse_uuid(user_id)

    def change(session: Session) -> object:
        user = session.get(User, uid)
        if user is None or user.tenant_id != tid:
            abort(404)
        return act(session, principal, uid)

    if _change(change) is not None:
        flash(success, "success")
    return redirect(url_for("portal.admin_person", tenant_id=tid, user_id=uid), code=303)


@bp.post("/admin/dinas/<tenant_id>/pengguna/<user_id>/ubah")
@login_required
def admin_update_person(tenant_id: str, user_id: str) -> ResponseReturnValue:
    return _person_action(tenant_id, user_id, lambda session, principal, uid:
                          people.update_person(
                              session, principal=principal, user_id=uid,
                              full_name=_form("full_name"), email=_form("email") or None,
                              nip=_form("nip") or None, role=_role(),
                              bidang_id=_optional_uuid("bidang_id"), at=current_time()),
                          "Data pengguna disimpan.")


@bp.post("/admin/dinas/<tenant_id>/pengguna/<user_id>/nonaktifkan")
@login_required
def admin_deactivate_person(tenant_id: str, user_id: str) -> ResponseReturnValue:
    return _person_action(tenant_id, user_id, lambda session, principal, uid:
                          people.deactivate_person(session, principal=principal, user_id=uid,
                                                   at=current_time(),
                                                   reason=_form("alasan") or None),
                          "Akun dinonaktifkan; sesi dan token API-nya sudah berhenti.")


@bp.post("/admin/dinas/<tenant_id>/pengguna/<user_id>/aktifkan")
@login_required
def admin_reactivate_person(tenant_id: str, user_id: str) -> ResponseReturnValue:
    return _person_action(tenant_id, user_id, lambda session, principal, uid:
                          people.reactivate_person(session, principal=principal, user_id=uid,
                                                   at=current_time()),
                          "Akun diaktifkan kembali.")


@bp.post("/admin/dinas/<tenant_id>/pengguna/<user_id>/atur-ulang")
@login_required
def admin_reset_password(tenant_id: str, user_id: str) -> ResponseReturnValue:
    principal, tid, uid = signed_in(), parse_uuid(tenant_id), parse_uuid(user_id)
    method: people.CredentialKind = "temporary" if _form("method") == "temporary" else "link"

    def reset(session: Session) -> people.Credential:
        user = session.get(User, uid)
        if user is None or user.tenant_id != tid:
            abort(404)
        return people.reset_password(session, principal=principal, user_id=uid,
                                     method=method, at=current_time())

    credential = _change(reset)
    if credential is None:
        return redirect(url_for("portal.admin_person", tenant_id=tid, user_id=uid), code=303)
    return _person_page(tenant_id, user_id, credential=_credential(credential))


@bp.post("/admin/dinas/<tenant_id>/delegasi")
@login_required
def admin_delegation(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    delegated = _form("delegasi") == "ya"
    done = _change(lambda session: people.set_delegation(
        session, principal=principal, tenant_id=tid, delegated=delegated, at=current_time()))
    if done is not None:
        flash("Kasubbag Program kini ikut mengelola dinas ini." if delegated
              else "Delegasi administrasi kepada Kasubbag Program dicabut.", "success")
    return redirect(url_for("portal.admin_people", tenant_id=tid), code=303)


# -- Bidang ---------------------------------------------------------------------------------------

def _bidang_page(tenant_id: str, *, form: dict[str, str] | None = None,
                 status: int = 200) -> ResponseReturnValue:
    def read(session: Session, principal: Principal, tid: uuid.UUID) -> dict[str, Any]:
        return _tenant_facts(session, principal, tid) | {
            "bidang": _bidang_of(session, principal, tid)}

    page = _read(tenant_id, read)
    return render_template("portal/admin_bidang.html", **page, form=form or {},
                           section="bidang"), status


@bp.get("/admin/dinas/<tenant_id>/bidang")
@login_required
def admin_bidang(tenant_id: str) -> ResponseReturnValue:
    return _bidang_page(tenant_id)


@bp.post("/admin/dinas/<tenant_id>/bidang")
@login_required
def admin_create_bidang(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    name = _form("name")
    made = _change(lambda session: people.create_bidang(
        session, principal=principal, tenant_id=tid, name=name, at=current_time()))
    if made is None:
        return _bidang_page(tenant_id, form={"name": name}, status=422)
    flash(f"Bidang {made.name} dibuat.", "success")
    return redirect(url_for("portal.admin_bidang", tenant_id=tid), code=303)


def _bidang_action(tenant_id: str, bidang_id: str,
                   act: Callable[..., Any], success: str) -> ResponseReturnValue:
    principal, tid, bid = signed_in(), parse_uuid(tenant_id), parse_uuid(bidang_id)
    done = _change(lambda session: act(session, principal=principal, tenant_id=tid,
                                       bidang_id=bid, at=current_time()))
    if done is not None:
        flash(success.format(name=done.name), "success")
    return redirect(url_for("portal.admin_bidang", tenant_id=tid), code=303)


@bp.post("/admin/dinas/<tenant_id>/bidang/<bidang_id>/ubah")
@login_required
def admin_rename_bidang(tenant_id: str, bidang_id: str) -> ResponseReturnValue:
    name = _form("name")
    return _bidang_action(tenant_id, bidang_id,
                          lambda session, **kw: people.rename_bidang(session, name=name, **kw),
                          "Nama Bidang disimpan: {name}.")


@bp.post("/admin/dinas/<tenant_id>/bidang/<bidang_id>/tutup")
@login_required
def admin_close_bidang(tenant_id: str, bidang_id: str) -> ResponseReturnValue:
    return _bidang_action(tenant_id, bidang_id, people.close_bidang,
                          "Bidang {name} ditutup; riwayatnya tetap tersimpan.")


@bp.post("/admin/dinas/<tenant_id>/bidang/<bidang_id>/buka")
@login_required
def admin_reopen_bidang(tenant_id: str, bidang_id: str) -> ResponseReturnValue:
    return _bidang_action(tenant_id, bidang_id, people.reopen_bidang,
                          "Bidang {name} dibuka kembali.")


# -- acting officials -----------------------------------------------------------------------------

def _acting_page(tenant_id: str, *, form: dict[str, str] | None = None,
                 status: int = 200) -> ResponseReturnValue:
    def read(session: Session, principal: Principal, tid: uuid.UUID) -> dict[str, Any]:
        facts = _tenant_facts(session, principal, tid)
        rows = acting_views(session, people.list_acting(session, principal=principal,
                                                         tenant_id=tid))
        candidates = session.scalars(select(User).where(User.tenant_id == tid,
                                                        User.active.is_(True))
                                     .order_by(User.full_name)).all()
        return facts | {"acting": rows, "candidates": person_views(session, candidates)}

    page = _read(tenant_id, read)
    return render_template("portal/admin_acting.html", **page, form=form or {},
                           roles=ACTING_ROLE_CHOICES, today=local_day(),
                           section="plt"), status


@bp.get("/admin/dinas/<tenant_id>/plt")
@login_required
def admin_acting(tenant_id: str) -> ResponseReturnValue:
    return _acting_page(tenant_id)


@bp.post("/admin/dinas/<tenant_id>/plt")
@login_required
def admin_assign_acting(tenant_id: str) -> ResponseReturnValue:
    principal, tid = signed_in(), parse_uuid(tenant_id)
    form = {k: _form(k) for k in ("user_id", "role", "kind", "starts_on", "ends_on", "reason")}

    def assign(session: Session) -> object:
        user_id = _optional_uuid("user_id")
        if user_id is None:
            raise people.InvalidField("user_id", "Pilih pengguna yang ditunjuk.")
        kind: people.ActingKind = "plh" if form["kind"] == "plh" else "plt"
        return people.assign_acting(
            session, principal=principal, tenant_id=tid, user_id=user_id, role=_role(),
            kind=kind, starts_on=_date("starts_on"), ends_on=_date("ends_on"),
            reason=form["reason"], at=current_time())

    if _change(assign) is None:
        return _acting_page(tenant_id, form=form, status=422)
    flash("Penunjukan Plt/Plh disimpan.", "success")
    return redirect(url_for("portal.admin_acting", tenant_id=tid), code=303)


@bp.post("/admin/dinas/<tenant_id>/plt/<assignment_id>/cabut")
@login_required
def admin_revoke_acting(tenant_id: str, assignment_id: str) -> ResponseReturnValue:
    principal, tid, aid = signed_in(), parse_uuid(tenant_id), parse_uuid(assignment_id)
    done = _change(lambda session: people.revoke_acting(
        session, principal=principal, tenant_id=tid, assignment_id=aid, at=current_time(),
        reason=_form("alasan") or None))
    if done is not None:
        flash("Penunjukan Plt/Plh dicabut.", "success")
    return redirect(url_for("portal.admin_acting", tenant_id=tid), code=303)

