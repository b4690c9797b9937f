"""Who is asking a service API (workflow, reporting): a program with its personal API token
(`Authorization: Bearer sakip_pat_...`), or the staff portal calling on a user's behalf with the
short-lived signed service token (`X-Sakip-Service-Token`).

The service token only proves who the user is: the user row is read again (a deactivated user, or
a user of a deactivated dinas, is refused) and the principal is built from the roles the user
holds now, so a role revoked after the token was signed no longer counts. The domain functions
then check the role themselves. A user who must still change a temporary password is refused
(403) until they have.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request
from sqlalchemy.orm import Session

from shared.identity.api_tokens import TOKEN_PREFIX, resolve_api_token
from shared.identity.loading import principal_for
from shared.identity.models import User
from shared.identity.principal import Principal
from shared.identity.scope import tenant_scope
from shared.identity.service_token import InvalidServiceToken, verify_service_token
from shared.identity.standing import user_usable
from shared.web.errors import NotFound
from shared.web.json_errors import error_response
from shared.web.resources import Resources
from shared.web.resources import current_resources as resources

__all__ = ["PASSWORD_CHANGE_REQUIRED_MESSAGE", "SERVICE_TOKEN_HEADER", "UNAUTHENTICATED_MESSAGE",
           "caller", "current_principal", "principal_required", "require_visible_tenant",
           "resources"]

F = TypeVar("F", bound=Callable[..., Any])
SERVICE_TOKEN_HEADER = "X-Sakip-Service-Token"  # noqa: S105 - a header name, not a secret
UNAUTHENTICATED_MESSAGE = ("Silakan masuk terlebih dahulu: kirim token API di header "
                           "Authorization: Bearer <token>.")
PASSWORD_CHANGE_REQUIRED_MESSAGE = (
    "Anda harus mengganti kata sandi sementara terlebih dahulu "  # noqa: S105 - a message
    "(Akun saya > Kata sandi, atau POST /api/v1/me/password).")


def current_principal() -> Principal | None:
    """The principal of the request (cached in `g`); None when no valid credential was sent."""
    if "principal" not in g:
        g.principal, g.password_change_required = _authenticate(resources())
    return cast(Principal | None, g.principal)


def caller() -> Principal:
    """The principal of a view behind `principal_required` (never None there)."""
    principal = current_principal()
    if principal is None:  # pragma: no cover - principal_required answered 401 already
        raise RuntimeError("caller() outside a principal_required view")
    return principal


def principal_required(view: F) -> F:
    """Answer 401 (JSON, with WWW-Authenticate) unless a valid credential came with the request."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return error_response(401, UNAUTHENTICATED_MESSAGE)
        if g.password_change_required:
            return error_response(403, PASSWORD_CHANGE_REQUIRED_MESSAGE)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def require_visible_tenant(principal: Principal, tenant_id: uuid.UUID,
                           what: str = "Data") -> None:
    """NotFound (404, never 403) when the tenant lies outside what `principal` may read."""
    if not tenant_scope(principal).can_read(tenant_id):
        raise NotFound(what)


def _authenticate(res: Resources) -> tuple[Principal | None, bool]:
    """The principal (None: no valid credential) and whether its user must first change a
    temporary password."""
    service_token = request.headers.get(SERVICE_TOKEN_HEADER, "").strip()
    authorization = request.headers.get("Authorization", "")
    if not service_token and not authorization.startswith("Bearer "):
        return None, False
    with res.session_factory() as session, session.begin():
        if service_token:
            user = _service_token_user(session, res, service_token)
        else:
            token = authorization.removeprefix("Bearer ").strip()
            user = resolve_api_token(session, token) if token.startswith(TOKEN_PREFIX) else None
        if user is None:
            return None, False
        return principal_for(user), user.must_change_password


def _service_token_user(session: Session, res: Resources, token: str) -> User | None:
    settings = res.settings
    try:
        claimed = verify_service_token(token, secret=settings.service_token_secret,
                                       max_age_seconds=settings.service_token_ttl_seconds)
    except (InvalidServiceToken, ValueError):  # ValueError: no secret configured
        return None
    user = session.get(User, claimed.user_id)
    if user is None or user.username != claimed.username or not user_usable(session, user):
        return None
    return user
