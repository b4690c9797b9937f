"""The principal: an authenticated user with the roles they hold, per tenant or city-wide."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from shared.identity.roles import Role


@dataclass(frozen=True)
class Grant:
    role: Role
    tenant_id: uuid.UUID | None  # None for the city-level roles


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    grants: frozenset[Grant]
    bidang_id: uuid.UUID | None = None

    @classmethod
    def of(cls, *, user_id: uuid.UUID, username: str,
           grants: Iterable[tuple[str, uuid.UUID | None]],
           bidang_id: uuid.UUID | None = None) -> Principal:
        return cls(user_id=user_id, username=username, bidang_id=bidang_id,
                   grants=frozenset(Grant(Role(role), tenant) for role, tenant in grants))

    def has_role(self, role: Role, tenant_id: uuid.UUID | None = None) -> bool:
        """City roles are held without a tenant; tenant roles are held for one tenant."""
        if role.is_tenant_role:
            return Grant(role, tenant_id) in self.grants
        return Grant(role, None) in self.grants

    def roles_in(self, tenant_id: uuid.UUID) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if g.tenant_id == tenant_id)

    @property
    def tenant_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(g.tenant_id for g in self.grants if g.tenant_id is not None)
