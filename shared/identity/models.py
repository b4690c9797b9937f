"""Identity tables (owned by intake): tenants, Bidang, users, role grants, sessions, API tokens,
one-time account links (activation, password reset) and bulk-import batches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.clock import now
from shared.db.base import Base, JSONDoc, uuid_pk
from shared.identity.roles import CITY_ROLES, TENANT_ROLES


def _sql_list(roles: frozenset[str]) -> str:
    return ", ".join(f"'{r}'" for r in sorted(roles))


class Tenant(Base):
    """A dinas (perangkat daerah) of the city."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    deactivated_at: Mapped[datetime | None]
    # The kepala_dinas administers the dinas; with this on, its kasubbag_program may too.
    admin_delegated: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())


class Bidang(Base):
    """A division of a dinas; closed Bidang keep their history."""

    __tablename__ = "bidang"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now)
    closed_at: Mapped[datetime | None]


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(128), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    nip: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Home tenant of a tenant user (None for city-level users); bidang_staff also have a Bidang.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    bidang_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bidang.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # A temporary password (set by an administrator) stops working at this time.
    password_expires_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    """A role held by a user: tenant roles name their tenant, city roles name none."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "tenant_id"),
        CheckConstraint(
            f"(role IN ({_sql_list(TENANT_ROLES)}) AND tenant_id IS NOT NULL) OR "
            f"(role IN ({_sql_list(CITY_ROLES)}) AND tenant_id IS NULL)",
            name="role_matches_scope",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

    user: Mapped[User] = relationship(back_populates="grants")


class ActingAssignment(Base):
    """An acting official (Plt/Plh) holding a role for a date range (inclusive, local dates):
    escalations and reminders for the role reach them as well on those days."""

    __tablename__ = "acting_assignments"
    __table_args__ = (
        CheckConstraint("kind IN ('plt', 'plh')", name="acting_kind"),
        CheckConstraint("ends_on >= starts_on", name="acting_range"),
        Index("ix_acting_assignments_role", "role", "tenant_id", "starts_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(8))  # plt (pelaksana tugas) | plh (pelaksana harian)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None]


class LoginSession(Base):
    """A server-side login session; the cookie carries a random token, the row its hash."""

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class ApiToken(Base):
    """A personal API token for programs; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_active", "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LinkPurpose(StrEnum):
    ACTIVATION = "activation"  # a new account's first password (e.g. a new dinas's kepala_dinas)
    RESET = "reset"  # a password reset issued by an administrator


class AccountLink(Base):
    """A one-time link that lets its holder set the account's password; only its SHA-256 is
    stored, it expires, and using it (or issuing a newer one) ends it."""

    __tablename__ = "account_links"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ImportBatch(Base):
    """A bulk import of Bidang and users (CSV or XLSX) as previewed: its parsed rows and the
    plan (create / change / unchanged / reject, per row); applying it carries the plan out."""

    __tablename__ = "import_batches"

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    plan: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    applied_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime | None]
