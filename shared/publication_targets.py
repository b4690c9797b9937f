"""Which dinas a city-wide publication (an SOP template version, an LKE rubric version) is offered
to: every dinas, or only those the platform_admin picked.

The workflow (templates, `sop_template_tenants`) and reporting (rubrics, `lke_rubric_tenants`)
store the choice the same way: an `all_tenants` flag on the published row and, when it is off, one
link row per dinas. This module holds what both do with it: reading the picked dinas from a form
or a query string, checking them, storing and comparing them, the words of the audit rows, and the
one SQL condition "offered to one of these dinas" every listing filters with.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, exists, insert, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import tenant_scope
from shared.web.errors import Invalid

FIELD = "tenant_ids"
BAD_ID_MESSAGE = "Perangkat daerah {value!r} bukan UUID yang valid."
EMPTY_MESSAGE = "Pilih minimal satu perangkat daerah, atau terbitkan untuk semua."


@dataclass(frozen=True)
class Targets:
    """Every dinas (`all_tenants`), or exactly `tenant_ids`."""

    all_tenants: bool
    tenant_ids: frozenset[uuid.UUID] = frozenset()

    def offers(self, tenant_id: uuid.UUID) -> bool:
        return self.all_tenants or tenant_id in self.tenant_ids


EVERY_TENANT = Targets(all_tenants=True)


class Published(Protocol):
    """A published row with targets (SopTemplate, Rubric)."""

    id: Any
    all_tenants: Any


@dataclass(frozen=True)
class LinkTable:
    """Where a kind of publication keeps its picked dinas: the link model's owner column (the
    template's or rubric's id) and its tenant column."""

    owner: InstrumentedAttribute[uuid.UUID]
    tenant: InstrumentedAttribute[uuid.UUID]


# -- reading the choice ---------------------------------------------------------------------------

def parse_tenant_ids(values: Iterable[str]) -> list[uuid.UUID] | None:
    """The dinas picked in a form or a query string (`tenant_ids` repeated, comma-separated, or
    both); None when nothing was sent (every dinas). Invalid names each value that is no UUID."""
    parts = [part.strip() for value in values for part in str(value).split(",")]
    parts = [part for part in parts if part]
    if not parts:
        return None
    found: list[uuid.UUID] = []
    problems: list[str] = []
    for part in parts:
        try:
            found.append(uuid.UUID(part))
        except ValueError:
            problems.append(BAD_ID_MESSAGE.format(value=part[:64]))
    if problems:
        raise Invalid("Pilihan perangkat daerah tidak valid.", problems)
    return list(dict.fromkeys(found))


def checked_targets(session: Session, tenant_ids: Collection[uuid.UUID] | None) -> Targets:
    """None: every dinas. Otherwise those dinas, each of which must exist and be active (Invalid
    lists every one that is not); an empty choice is refused."""
    if tenant_ids is None:
        return EVERY_TENANT
    wanted = set(tenant_ids)
    if not wanted:
        raise Invalid(EMPTY_MESSAGE)
    rows = {tenant.id: tenant for tenant in session.scalars(
        select(Tenant).where(Tenant.id.in_(wanted)))}
    problems = [f"Perangkat daerah {tenant_id} tidak ditemukan." for tenant_id in
                sorted(wanted - rows.keys(), key=str)]
    problems += [f"Perangkat daerah {rows[t].name} sudah dinonaktifkan." for t in
                 sorted(wanted & rows.keys(), key=str) if not rows[t].active]
    if problems:
        raise Invalid("Pilihan perangkat daerah tidak valid.", problems)
    return Targets(all_tenants=False, tenant_ids=frozenset(wanted))


# -- storing and reading the stored choice --------------------------------------------------------

def stored_targets(session: Session, link: LinkTable, row: Published) -> Targets:
    if row.all_tenants:
        return EVERY_TENANT
    return Targets(all_tenants=False, tenant_ids=frozenset(
        session.scalars(select(link.tenant).where(link.owner == row.id))))


def stored_targets_of(session: Session, link: LinkTable,
                      rows: Iterable[Published]) -> dict[Any, Targets]:
    """The targets of many rows with one query."""
    rows = list(rows)
    picked: dict[Any, set[uuid.UUID]] = {row.id: set() for row in rows if not row.all_tenants}
    if picked:
        for owner, tenant_id in session.execute(
                select(link.owner, link.tenant).where(link.owner.in_(picked))):
            picked[owner].add(tenant_id)
    return {row.id: EVERY_TENANT if row.all_tenants
            else Targets(all_tenants=False, tenant_ids=frozenset(picked[row.id]))
            for row in rows}


def store_targets(session: Session, link: LinkTable, row: Published, targets: Targets) -> None:
    """Make `targets` the row's targets (its flag and its link rows)."""
    table = link.owner.class_.__table__
    owner, tenant = link.owner.key, link.tenant.key
    session.execute(delete(table).where(table.c[owner] == row.id))
    row.all_tenants = targets.all_tenants
    if not targets.all_tenants:
        session.execute(insert(table), [{owner: row.id, tenant: tenant_id}
                                        for tenant_id in sorted(targets.tenant_ids, key=str)])
    session.flush()


def offered_to(link: LinkTable, *, all_column: Any, id_column: Any,
               tenant_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """SQL: the row is offered to one of `tenant_ids` (every dinas, or one of them picked)."""
    if not tenant_ids:
        return all_column.is_(true())
    return or_(all_column.is_(true()),
               exists().where(link.owner == id_column, link.tenant.in_(list(tenant_ids))))


def offer_scope(principal: Principal) -> frozenset[uuid.UUID] | None:
    """The dinas whose offer the principal sees: their own; None for the city (its read roles,
    and the platform_admin who publishes), which sees every publication."""
    scope = tenant_scope(principal)
    if scope.all_tenants_readable or principal.has_role(Role.PLATFORM_ADMIN):
        return None
    return scope.readable


# -- showing the choice ---------------------------------------------------------------------------

def targets_audit(session: Session, targets: Targets) -> dict[str, Any]:
    """The audit row's words for `targets`: every dinas, or the picked dinas's slugs."""
    if targets.all_tenants:
        return {"all_tenants": True}
    slugs = sorted(session.scalars(select(Tenant.slug).where(
        Tenant.id.in_(targets.tenant_ids))))
    return {"all_tenants": False, "tenants": slugs}


def visible_ids(targets: Targets, readable: Collection[uuid.UUID] | None) -> list[uuid.UUID]:
    """The picked dinas a caller may be told about: all of them for the city (`readable` None),
    otherwise only the caller's own (another dinas is never named to a dinas)."""
    ids = targets.tenant_ids if readable is None else targets.tenant_ids & set(readable)
    return sorted(ids, key=str)
