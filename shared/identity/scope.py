"""The tenant scope of a principal, built in one place, and the one filter every query uses.

- tenant roles: their own tenant(s), read and write;
- bagian_organisasi, inspektur: every tenant, read-only;
- platform_admin: administers tenants but reads no tenant's data unless also given a role there.
A write always names exactly one tenant inside the principal's write scope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false

from shared.identity.principal import Principal
from shared.identity.roles import CITY_READ_ROLES

S = TypeVar("S", bound=Select[Any])


class OutOfScope(LookupError):
    """The tenant is not in the principal's scope; callers answer 404, never 403 with data."""


@dataclass(frozen=True)
class TenantScope:
    readable: frozenset[uuid.UUID]
    writable: frozenset[uuid.UUID]
    all_tenants_readable: bool = False

    def can_read(self, tenant_id: uuid.UUID) -> bool:
        return self.all_tenants_readable or tenant_id in self.readable

    def can_write(self, tenant_id: uuid.UUID) -> bool:
        return tenant_id in self.writable

    def apply(self, stmt: S, tenant_column: Any) -> S:
        """Restrict a SELECT to the rows of tenants this scope may read."""
        if self.all_tenants_readable:
            return stmt
        if not self.readable:
            return stmt.where(false())
        return stmt.where(tenant_column.in_(self.readable))

    def require_read(self, tenant_id: uuid.UUID) -> None:
        if not self.can_read(tenant_id):
            raise OutOfScope(tenant_id)

    def require_write(self, tenant_id: uuid.UUID) -> uuid.UUID:
        if not self.can_write(tenant_id):
            raise OutOfScope(tenant_id)
        return tenant_id


def tenant_scope(principal: Principal) -> TenantScope:
    own = principal.tenant_ids
    city_reader = any(g.role in CITY_READ_ROLES for g in principal.grants)
    return TenantScope(readable=own, writable=own, all_tenants_readable=city_reader)


def scoped(principal: Principal, stmt: S, tenant_column: Any) -> S:
    """`stmt` restricted to what `principal` may read: the one filter every query goes through."""
    return tenant_scope(principal).apply(stmt, tenant_column)
