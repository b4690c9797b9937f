"""Who administers a dinas: its kepala_dinas (an acting Plt/Plh Kepala Dinas included, through
the principal's acting grants), or its kasubbag_program when the kepala_dinas has delegated the
administration (`Tenant.admin_delegated`). A deactivated dinas has no administrators.

Refusals follow the tenant scope: a dinas the principal holds no role in is not found (404,
never a 403 telling it exists); a member of the dinas without the right gets a 403.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import NotAllowed, NotFound

NOT_ADMINISTRATOR_MESSAGE = ("Hanya Kepala Dinas, atau Kasubbag Program bila diberi delegasi, "
                             "yang dapat mengelola dinas ini.")
HEAD_ONLY_MESSAGE = "Hanya Kepala Dinas yang dapat {what}."


def is_member(principal: Principal, tenant_id: uuid.UUID) -> bool:
    """The principal holds some role in the dinas (an acting role of today included)."""
    return tenant_id in principal.tenant_ids


def may_administer(principal: Principal, tenant: Tenant) -> bool:
    """`can_administer` for a tenant row already loaded."""
    if not tenant.active:
        return False
    if principal.has_role(Role.KEPALA_DINAS, tenant.id):
        return True
    return tenant.admin_delegated and principal.has_role(Role.KASUBBAG_PROGRAM, tenant.id)


def can_administer(session: Session, principal: Principal, tenant_id: uuid.UUID) -> bool:
    """The principal may manage the dinas's Bidang, users, acting officials and calendar."""
    if not is_member(principal, tenant_id):
        return False
    tenant = session.get(Tenant, tenant_id)
    return tenant is not None and may_administer(principal, tenant)


def require_administrator(session: Session, principal: Principal,
                          tenant_id: uuid.UUID) -> Tenant:
    """The tenant, when the principal administers it: NotFound (404) for a dinas outside the
    principal's own (or deactivated), NotAllowed (403) for a member who may not administer."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not tenant.active or not is_member(principal, tenant_id):
        raise NotFound("Dinas")
    if not may_administer(principal, tenant):
        raise NotAllowed(NOT_ADMINISTRATOR_MESSAGE)
    return tenant


def require_head(session: Session, principal: Principal, tenant_id: uuid.UUID,
                 what: str) -> Tenant:
    """Like `require_administrator`, but only the kepala_dinas (or its Plt/Plh) passes: for
    what a delegated kasubbag_program must not do (the delegation itself, the Kepala Dinas's
    own account and role)."""
    tenant = require_administrator(session, principal, tenant_id)
    if not principal.has_role(Role.KEPALA_DINAS, tenant_id):
        raise NotAllowed(HEAD_ONLY_MESSAGE.format(what=what))
    return tenant


def administered_tenants(session: Session, principal: Principal) -> list[Tenant]:
    """The dinas the principal administers, by name (for the portal's menu)."""
    if not principal.tenant_ids:
        return []
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_(principal.tenant_ids))
                              .order_by(Tenant.name))
    return [t for t in tenants if may_administer(principal, t)]
