"""Who is asking: a login session (the portal's cookie) or a personal API token (programs).

Also the portal's login itself (rate-limited, no user enumeration, audited), sign-out, the
CSRF token every form and every cookie-authenticated write must carry, and the gate that keeps a
user who must change their password (a temporary one) away from everything but that change.

A deactivated user, or a user of a deactivated dinas, is refused at login and at every use of a
session or token (`shared.identity.standing`), so deactivation works at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Literal, TypeVar, cast, overload

import redis
from flask import abort, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.clock import now
from shared.config import Settings
from shared.identity.api_tokens import TOKEN_PREFIX, resolve_api_token
from shared.identity.loading import principal_for
from shared.identity.models import User
from shared.identity.passwords import verify_password
from shared.identity.principal import Principal
from shared.identity.sessions import resolve_session, revoke_session, start_session
from shared.identity.standing import user_usable
from shared.web.resources import current_resources as resources
from shared.web.service_auth import PASSWORD_CHANGE_REQUIRED_MESSAGE

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "LOGIN_FAILED_MESSAGE", "LOGIN_LIMITED_MESSAGE",
           "PASSWORD_CHANGE_REQUIRED_MESSAGE", "SESSION_COOKIE", "TEMPORARY_EXPIRED_MESSAGE",
           "LoginOutcome", "attempt_failures", "check_csrf", "clear_attempt_failures",
           "count_attempt_failure", "csrf_token", "current_principal", "log_in", "log_out",
           "login_required", "password_change_pending", "resources", "session_lifetime",
           "settings"]

log = logging.getLogger(__name__)
SERVICE = "intake"
SESSION_COOKIE = "sakip_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_FAILED_MESSAGE = "Nama pengguna atau kata sandi salah."
LOGIN_LIMITED_MESSAGE = ("Terlalu banyak percobaan masuk yang gagal. "
                         "Silakan coba lagi dalam 15 menit.")
# Shown only to someone who typed the right (temporary) password: it reveals nothing to others.
TEMPORARY_EXPIRED_MESSAGE = ("Kata sandi sementara Anda sudah kedaluwarsa. Mintalah tautan atau "
                             "kata sandi sementara baru kepada administrator dinas Anda.")

F = TypeVar("F", bound=Callable[..., Any])
# Where a cookie-authenticated write carries its CSRF token besides the header: the form
# body, or the query string for views that stream the body themselves (uploads).
CsrfSource = Literal["header-or-form", "header-or-query", "header"]


@dataclass(frozen=True)
class LoginOutcome:
    """A session token, or the refusal to show (message and HTTP status)."""

    token: str | None = None
    message: str = ""
    status: int = 200
    # Signed in with a temporary password: the next page must be the change of password.
    must_change_password: bool = False


def settings() -> Settings:
    return resources().settings


def session_lifetime() -> timedelta:
    return timedelta(seconds=settings().session_lifetime_seconds)


# -- the principal of this request -------------------------------------------------------------

def current_principal() -> Principal | None:
    """The principal of the request (cached in `g`), from a bearer token or the cookie."""
    if "principal" not in g:
        g.principal, g.auth_kind = _authenticate()
    return cast(Principal | None, g.principal)


def password_change_pending() -> bool:
    """The signed-in user must change their (temporary) password before doing anything else."""
    current_principal()
    return bool(g.get("password_change_required", False))


def _authenticate() -> tuple[Principal | None, str | None]:
    header = request.headers.get("Authorization", "")
    g.password_change_required = False
    with resources().session_factory() as session, session.begin():
        user: User | None = None
        kind: str | None = None
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
            user = resolve_api_token(session, token) if token.startswith(TOKEN_PREFIX) else None
            kind = "token"
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie:
                user = resolve_session(session, cookie, lifetime=session_lifetime())
                kind = "session"
        if user is None:
            return None, None
        g.password_change_required = user.must_change_password
        return principal_for(user), kind


@overload
def login_required(view: F) -> F: ...


@overload
def login_required(*, csrf: CsrfSource = "header-or-form") -> Callable[[F], F]: ...


def login_required(view: F | None = None, *,
                   csrf: CsrfSource = "header-or-form") -> F | Callable[[F], F]:
    """Pages: an anonymous visitor is sent to the login page; the API answers 401.

    `@login_required` or `@login_required(csrf="header-or-query")`: the latter never reads the
    request body for the token, so a view streaming the body gets it untouched."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_principal() is None:
                if request.path.startswith("/api/"):
                    abort(401)
                from flask import redirect, url_for

                return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
            if request.method not in ("GET", "HEAD", "OPTIONS") and g.auth_kind == "session":
                check_csrf(csrf)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate(view) if view is not None else decorate


# -- CSRF ----------------------------------------------------------------------------------------

def csrf_token() -> str:
    """Bound to the login session (or to the visitor cookie before login)."""
    binding = request.cookies.get(SESSION_COOKIE) or "anonymous"
    return hmac.new(settings().secret_key.encode(), f"csrf:{binding}".encode(),
                    hashlib.sha256).hexdigest()


def check_csrf(source: CsrfSource = "header-or-form") -> None:
    sent = request.headers.get(CSRF_HEADER)
    if not sent and source == "header":  # the JSON API: never a form field
        abort(400, description=f"Token CSRF wajib dikirim di header {CSRF_HEADER}.")
    if not sent:
        fallback = request.args if source == "header-or-query" else request.form
        sent = fallback.get(CSRF_FIELD, "")
    # bytes: compare_digest refuses str with non-ASCII characters (a 500 instead of a 400)
    if not hmac.compare_digest(sent.encode(), csrf_token().encode()):
        abort(400, description="Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.")


# -- logging in and out ----------------------------------------------------------------------------

def log_in(session: Session, client: redis.Redis, *, username: str, password: str,
           ip: str | None, user_agent: str | None, at: datetime | None = None) -> LoginOutcome:
    """Check the credentials and open a session. A refusal says the same for an unknown user,
    a wrong password and a deactivated account or dinas (accounts cannot be discovered) and is
    audited: the caller commits the session's transaction in both cases. A temporary password
    past its `password_expires_at` (compared with `at`, default now) is refused with its own
    message, only after the password itself was right."""
    username = username.strip().lower()[:128]
    limit_key = f"sakip:login-failures:{username}:{ip or '-'}"
    if attempt_failures(client, limit_key) >= LOGIN_FAILURES_ALLOWED:
        return LoginOutcome(message=LOGIN_LIMITED_MESSAGE, status=429)
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user_usable(session, user):
        return _refused(session, client, limit_key, user=user, username=username, ip=ip,
                        reason="credentials" if user is None or not valid else "inactive")
    if user.password_expires_at is not None and user.password_expires_at <= (at or now()):
        outcome = _refused(session, client, limit_key, user=user, username=username, ip=ip,
                           reason="temporary_password_expired")
        return LoginOutcome(message=TEMPORARY_EXPIRED_MESSAGE, status=outcome.status)
    clear_attempt_failures(client, limit_key)
    token = start_session(session, user=user, lifetime=session_lifetime(), ip=ip,
                          user_agent=user_agent)
    audit.record(session, service=SERVICE, action="login", target_type="user", target_id=user.id,
                 tenant_id=user.tenant_id, actor_user_id=user.id, after={"ip": ip})
    return LoginOutcome(token=token, must_change_password=user.must_change_password)


def _refused(session: Session, client: redis.Redis, limit_key: str, *, user: User | None,
             username: str, ip: str | None, reason: str) -> LoginOutcome:
    count_attempt_failure(client, limit_key)
    audit.record(session, service=SERVICE, action="login.failed", target_type="user",
                 target_id=user.id if user else None,
                 tenant_id=user.tenant_id if user else None,
                 actor=f"anonymous:{ip or '-'}", after={"username": username, "reason": reason})
    return LoginOutcome(message=LOGIN_FAILED_MESSAGE, status=401)


def log_out(session: Session, token: str, principal: Principal | None) -> None:
    if revoke_session(session, token) and principal is not None:
        audit.record(session, service=SERVICE, action="logout", target_type="user",
                     target_id=principal.user_id, actor_user_id=principal.user_id)


# Failed attempts (logins, wrong current passwords) counted in Redis under a key, for
# LOGIN_WINDOW_SECONDS after the last one.

def attempt_failures(client: redis.Redis, key: str) -> int:
    try:
        return int(cast(bytes | None, client.get(key)) or 0)
    except redis.RedisError as exc:  # the limit is a brake, not a gate: never lock everyone out
        log.warning("attempt limit unavailable: %s", exc)
        return 0


def count_attempt_failure(client: redis.Redis, key: str) -> None:
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, LOGIN_WINDOW_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("attempt limit unavailable: %s", exc)


def clear_attempt_failures(client: redis.Redis, key: str) -> None:
    try:
        client.delete(key)
    except redis.RedisError as exc:
        log.warning("attempt limit unavailable: %s", exc)
