"""`scoped()` on real rows: one dinas never sees another's; city readers see all; admins none."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.identity.loading import principal_for
from shared.identity.models import Bidang, RoleGrant, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import scoped


@dataclass
class City:
    a: Tenant
    b: Tenant
    bidang_a: set[uuid.UUID]
    bidang_b: set[uuid.UUID]
    users: dict[str, User]

    def principal(self, username: str) -> Principal:
        return principal_for(self.users[username])


def _user(db: Session, username: str, grants: list[tuple[Role, Tenant | None]],
          tenant: Tenant | None = None) -> User:
    user = User(username=username, full_name=username.title(), password_hash="x",
                tenant_id=tenant.id if tenant else None,
                grants=[RoleGrant(role=r.value, tenant_id=t.id if t else None)
                        for r, t in grants])
    db.add(user)
    return user


@pytest.fixture
def city(db: Session) -> City:
    a = Tenant(slug="dinkes", name="Dinas Kesehatan")
    b = Tenant(slug="disdik", name="Dinas Pendidikan")
    db.add_all([a, b])
    db.flush()
    bidang_a = [Bidang(tenant_id=a.id, name=n) for n in ("Pelayanan", "Pencegahan", "Sekretariat")]
    bidang_b = [Bidang(tenant_id=b.id, name=n) for n in ("Pendidikan Dasar", "Sekretariat")]
    db.add_all(bidang_a + bidang_b)
    users = {
        "kasubbag_a": _user(db, "kasubbag_a", [(Role.KASUBBAG_PROGRAM, a)], a),
        "staff_b": _user(db, "staff_b", [(Role.BIDANG_STAFF, b)], b),
        "inspektur": _user(db, "inspektur", [(Role.INSPEKTUR, None)]),
        "bagor": _user(db, "bagor", [(Role.BAGIAN_ORGANISASI, None)]),
        "admin": _user(db, "admin", [(Role.PLATFORM_ADMIN, None)]),
        "admin_b": _user(db, "admin_b", [(Role.PLATFORM_ADMIN, None), (Role.KEPALA_DINAS, b)]),
        "both": _user(db, "both", [(Role.TIM_EVALUASI, a), (Role.TIM_EVALUASI, b)]),
    }
    db.commit()
    return City(a, b, {x.id for x in bidang_a}, {x.id for x in bidang_b}, users)


def _visible_bidang(db: Session, principal: Principal) -> set[uuid.UUID]:
    return set(db.scalars(scoped(principal, select(Bidang.id), Bidang.tenant_id)))


def test_a_tenant_user_never_sees_the_other_tenant(db, city):
    assert _visible_bidang(db, city.principal("kasubbag_a")) == city.bidang_a
    assert _visible_bidang(db, city.principal("staff_b")) == city.bidang_b


def test_scope_survives_extra_conditions_and_joins(db, city):
    principal = city.principal("kasubbag_a")
    by_name = scoped(principal, select(Bidang).where(Bidang.name == "Sekretariat"),
                     Bidang.tenant_id)
    assert [x.tenant_id for x in db.scalars(by_name)] == [city.a.id]
    joined = scoped(principal, select(Tenant.slug).join(Bidang, Bidang.tenant_id == Tenant.id),
                    Bidang.tenant_id).distinct()
    assert list(db.scalars(joined)) == ["dinkes"]
    asking_for_b = scoped(principal, select(Bidang).where(Bidang.tenant_id == city.b.id),
                          Bidang.tenant_id)
    assert list(db.scalars(asking_for_b)) == []


@pytest.mark.parametrize("username", ["inspektur", "bagor"])
def test_city_readers_see_every_tenant(db, city, username):
    assert _visible_bidang(db, city.principal(username)) == city.bidang_a | city.bidang_b


def test_platform_admin_sees_no_tenant_data(db, city):
    assert _visible_bidang(db, city.principal("admin")) == set()
    tenants = scoped(city.principal("admin"), select(Tenant.id), Tenant.id)
    assert list(db.scalars(tenants)) == []


def test_platform_admin_with_a_tenant_role_sees_that_tenant(db, city):
    assert _visible_bidang(db, city.principal("admin_b")) == city.bidang_b


def test_a_user_with_grants_in_two_tenants_sees_both(db, city):
    assert _visible_bidang(db, city.principal("both")) == city.bidang_a | city.bidang_b
