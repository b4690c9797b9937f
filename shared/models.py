"""Imports every model module so Base.metadata knows every table (for Alembic and tests)."""

from shared.audit import AuditEntry
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.models import ApiToken, Bidang, LoginSession, RoleGrant, Tenant, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Bidang",
    "InboxEntry",
    "LoginSession",
    "OutboxEvent",
    "RoleGrant",
    "Tenant",
    "User",
]
