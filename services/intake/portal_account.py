"""The portal's pages for one's own account (`/akun`: password, sessions, personal API tokens),
the anonymous page of a one-time activation/reset link (`/aktivasi/<token>`), and the gate that
sends a user holding a temporary password to the change of it before anything else.

Pages only: the rules are in `self_service` and `shared.identity.account_links`. The link page
names the account only to the holder of a live link; every dead link gets the same kind of
answer, so the page reveals nothing about which accounts exist.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from services.intake.auth import (
    PASSWORD_CHANGE_REQUIRED_MESSAGE,
    SESSION_COOKIE,
    check_csrf,
    current_principal,
    login_required,
    password_change_pending,
    resources,
)
from services.intake.clock import current_time
from services.intake.portal import _safe_next, bp, parse_uuid, signed_in, wants_json
from services.intake.self_service import (
    MAX_TOKEN_DAYS,
    SelfServiceError,
    change_password_guarded,
    create_own_token,
    own_sessions,
    own_tokens,
    revoke_other_sessions,
    revoke_own_session,
    revoke_own_token,
)
from shared.db import transaction
from shared.identity.account_links import LinkError, LinkPasswordRefused, find_link, redeem_link
from shared.identity.models import User
from shared.identity.password_policy import MAX_LENGTH, MIN_LENGTH
from shared.web.json_errors import error_response

CONFIRMATION_MISMATCH = "Konfirmasi kata sandi tidak sama dengan kata sandi baru."
FORCED_CHANGE_NOTICE = ("Anda masuk dengan kata sandi sementara. Gantilah dengan kata sandi "
                        "pilihan Anda sebelum melanjutkan.")
TOKEN_DAY_CHOICES = (30, 90, 180, 365)
# Reachable while a temporary password still has to be changed: the change itself, signing
# out, the anonymous pages, static files, and the API's description and "who am I".
OPEN_DURING_FORCED_CHANGE = frozenset({
    "portal.account_password", "portal.logout", "portal.login", "portal.activate",
    "portal.static", "account_api.change_own_password", "api.me", "api.openapi",
})


# -- the forced change of a temporary password ----------------------------------------------------

@bp.before_app_request
def _forced_password_change() -> ResponseReturnValue | None:
    """Every page and API call but a few waits until a temporary password has been changed."""
    if request.endpoint is None or request.endpoint in OPEN_DURING_FORCED_CHANGE:
        return None
    if not password_change_pending():
        return None
    if request.path.startswith("/api/") or wants_json():
        return error_response(403, PASSWORD_CHANGE_REQUIRED_MESSAGE)
    flash(PASSWORD_CHANGE_REQUIRED_MESSAGE, "error")
    return redirect(url_for("portal.account_password"), code=303)


# -- the account overview -------------------------------------------------------------------------

@bp.get("/akun")
@login_required
def account() -> ResponseReturnValue:
    principal = signed_in()
    with resources().session_factory() as session:
        user = session.get_one(User, principal.user_id)
        sessions = own_sessions(session, user_id=user.id, current_token=_session_cookie())
        tokens = own_tokens(session, user_id=user.id)
        return render_template("portal/account.html", user=user, session_count=len(sessions),
                               token_count=sum(1 for t in tokens if not t.expired))


# -- the password ---------------------------------------------------------------------------------

@bp.route("/akun/kata-sandi", methods=["GET", "POST"])
@login_required
def account_password() -> ResponseReturnValue:
    principal = signed_in()
    forced = password_change_pending()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return _password_page(forced=forced, target=target)
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirmation = request.form.get("confirm_password", "")
    if not current or not new or len(new) > MAX_LENGTH or len(current) > MAX_LENGTH:
        return _password_page(forced=forced, target=target, status=400, errors={
            "_form": ["Isi kata sandi sekarang dan kata sandi baru."]})
    if new != confirmation:
        return _password_page(forced=forced, target=target, status=422,
                              errors={"confirm_password": [CONFIRMATION_MISMATCH]})
    res = resources()
    try:
        ended = change_password_guarded(
            res.session_factory, res.redis, user_id=principal.user_id, current_password=current,
            new_password=new, keep_session_token=_session_cookie(), at=current_time())
    except SelfServiceError as refused:
        errors = refused.fields or {"_form": [refused.message]}
        return _password_page(forced=forced, target=target, status=refused.status,
                              errors=errors)
    message = "Kata sandi Anda sudah diganti."
    if ended:
        message += f" {ended} sesi lain telah dikeluarkan."
    flash(message, "success")
    return redirect(target or (url_for("portal.home") if forced else url_for("portal.account")),
                    code=303)


def _password_page(*, forced: bool, target: str | None, status: int = 200,
                   errors: dict[str, list[str]] | None = None) -> ResponseReturnValue:
    return render_template("portal/account_password.html", forced=forced, next=target,
                           errors=errors or {}, min_length=MIN_LENGTH,
                           notice=FORCED_CHANGE_NOTICE if forced else None), status


# -- login sessions -------------------------------------------------------------------------------

@bp.get("/akun/sesi")
@login_required
def account_sessions() -> ResponseReturnValue:
    principal = signed_in()
    with resources().session_factory() as session:
        sessions = own_sessions(session, user_id=principal.user_id,
                                current_token=_session_cookie())
    return render_template("portal/account_sessions.html", sessions=sessions)


@bp.post("/akun/sesi/<session_id>/akhiri")
@login_required
def account_session_revoke(session_id: str) -> ResponseReturnValue:
    principal = signed_in()
    target_id = parse_uuid(session_id)
    if _refused(lambda s: revoke_own_session(s, user_id=principal.user_id,
                                             session_id=target_id)):
        return redirect(url_for("portal.account_sessions"), code=303)
    flash("Sesi itu sudah diakhiri.", "success")
    return redirect(url_for("portal.account_sessions"), code=303)


@bp.post("/akun/sesi/akhiri-lainnya")
@login_required
def account_sessions_revoke_others() -> ResponseReturnValue:
    principal = signed_in()
    with transaction(resources().session_factory) as session:
        ended = revoke_other_sessions(session, user_id=principal.user_id,
                                      current_token=_session_cookie())
    flash(f"{ended} sesi lain telah dikeluarkan." if ended else "Tidak ada sesi lain.",
          "success")
    return redirect(url_for("portal.account_sessions"), code=303)


# -- personal API tokens --------------------------------------------------------------------------

@bp.route("/akun/token", methods=["GET", "POST"])
@login_required
def account_tokens() -> ResponseReturnValue:
    principal = signed_in()
    res = resources()
    created = None
    errors: dict[str, list[str]] = {}
    status = 200
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            days = _days(request.form.get("expires_in_days", ""))
            with transaction(res.session_factory) as session:
                created = create_own_token(session, user_id=principal.user_id, name=name,
                                           expires_in_days=days)
        except SelfServiceError as refused:
            errors, status = refused.fields or {"_form": [refused.message]}, refused.status
        except ValueError:
            errors, status = {"expires_in_days": ["Pilih masa berlaku dari daftar."]}, 422
        else:
            name = ""
    with res.session_factory() as session:
        tokens = own_tokens(session, user_id=principal.user_id)
    # The new token is in this answer only (never in a redirect, a flash or the database).
    return render_template("portal/account_tokens.html", tokens=tokens, created=created,
                           errors=errors, name=name, day_choices=TOKEN_DAY_CHOICES,
                           max_days=MAX_TOKEN_DAYS), status


@bp.post("/akun/token/<token_id>/cabut")
@login_required
def account_token_revoke(token_id: str) -> ResponseReturnValue:
    principal = signed_in()
    target_id = parse_uuid(token_id)
    if not _refused(lambda s: revoke_own_token(s, user_id=principal.user_id,
                                               token_id=target_id)):
        flash("Token sudah dicabut; program yang memakainya tidak bisa masuk lagi.", "success")
    return redirect(url_for("portal.account_tokens"), code=303)


# -- the one-time link ----------------------------------------------------------------------------

@bp.route("/aktivasi/<token>", methods=["GET", "POST"])
def activate(token: str) -> ResponseReturnValue:
    """Set the password of the account a live activation or reset link belongs to."""
    res = resources()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        check_csrf()
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors = {"confirm_password": [CONFIRMATION_MISMATCH]}
        else:
            try:
                with transaction(res.session_factory) as session:
                    redeem_link(session, token=token, new_password=new, at=current_time())
            except LinkPasswordRefused as weak:
                errors = {"new_password": weak.problems}
            except LinkError as dead:
                return _dead_link(str(dead))
            else:
                flash("Kata sandi Anda tersimpan. Silakan masuk dengan kata sandi baru.",
                      "success")
                return _no_referrer(redirect(url_for("portal.login"), code=303))
    try:
        with res.session_factory() as session:
            link, user = find_link(session, token=token, at=current_time())
            account = {"username": user.username, "full_name": user.full_name,
                       "purpose": link.purpose, "expires_at": link.expires_at}
    except LinkError as dead:
        return _dead_link(str(dead))
    page = render_template("portal/activate.html", account=account, errors=errors,
                           min_length=MIN_LENGTH, signed_in=current_principal() is not None)
    return _no_referrer(page, 422 if errors else 200)


def _dead_link(message: str) -> ResponseReturnValue:
    return _no_referrer(render_template("portal/activate.html", account=None, errors={},
                                        dead=message, min_length=MIN_LENGTH,
                                        signed_in=False), 404)


def _no_referrer(page: ResponseReturnValue, status: int | None = None) -> ResponseReturnValue:
    """The link's token is in the address: no Referer carries it to another site."""
    response = make_response(page)
    if status is not None:
        response.status_code = status
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- helpers --------------------------------------------------------------------------------------

def _session_cookie() -> str | None:
    return request.cookies.get(SESSION_COOKIE) if g.get("auth_kind") == "session" else None


def _days(value: str) -> int | None:
    """The form's validity in days ("" for until revoked); ValueError for anything else."""
    return int(value) if value.strip() else None


def _refused(change: Callable[[Session], object]) -> bool:
    """Run one self-service change in its own transaction; True when it was refused (the
    refusal is flashed and nothing is written)."""
    try:
        with transaction(resources().session_factory) as session:
            change(session)
    except SelfServiceError as refused:
        flash(refused.message, "error")
        return True
    return False

