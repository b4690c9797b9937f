"""Whether an account may be used at all: the user is active and so is their dinas.

Deactivating a user or a whole dinas must stop every way in at once (login, live sessions,
personal API tokens, the portal's service token to the other services), so each of those paths
asks here rather than looking at `User.active` alone. City users (no tenant) depend on their own
flag only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.identity.models import Tenant, User


def account_usable(user: User, tenant: Tenant | None) -> bool:
    """`tenant` is the user's home tenant row (None for a city user)."""
    return user.active and (tenant is None or tenant.active)


def user_usable(session: Session, user: User) -> bool:
    """The same, loading the user's tenant."""
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id is not None else None
    return account_usable(user, tenant)
