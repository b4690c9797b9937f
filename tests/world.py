"""A small city for tests: two dinas (A and B), each with two Bidang, one user per tenant role
(two bidang_staff: one per Bidang), the city-level users, and a cycle of each dinas collecting
(SOP step 5) in which every Bidang owes IKU and RENJA. Built through the owners' own functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sakip.seeding import seed_collecting_cycle
from services.intake.accounts import create_bidang, create_tenant, create_user
from shared.db import transaction
from shared.identity.loading import principal_for
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.storage import ObjectStore

PASSWORD = "kata-sandi-uji-coba"
OWED = ("IKU", "RENJA")
SEEDED_AT = datetime(2026, 4, 6, 1, 0, tzinfo=UTC)  # Monday 6 April 2026, 08.00 WIB
# Inside every world cycle's collection window (due Monday 13 April 2026, 08.00 WIB): the time
# the intake app of the tests acts at (services.intake.clock), so hand-ins are on time.
COLLECTING_AT = SEEDED_AT + timedelta(days=2)  # Wednesday 8 April 2026, 08.00 WIB


@dataclass
class Dinas:
    tenant_id: uuid.UUID
    slug: str
    bidang: list[uuid.UUID]
    cycle_id: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # username -> id
    principals: dict[str, Principal] = field(default_factory=dict)  # role key -> principal

    def username(self, key: str) -> str:
        return f"{self.slug}.{key}"


@dataclass
class World:
    a: Dinas
    b: Dinas
    city: dict[str, Principal]
    city_users: dict[str, str]  # role key -> username


TENANT_USERS = {
    "staf1": (Role.BIDANG_STAFF, 0),
    "staf2": (Role.BIDANG_STAFF, 1),
    "kasubbag": (Role.KASUBBAG_PROGRAM, None),
    "tim": (Role.TIM_EVALUASI, None),
    "kepala": (Role.KEPALA_DINAS, None),
}
CITY_USERS = {
    "organisasi": Role.BAGIAN_ORGANISASI,
    "inspektur": Role.INSPEKTUR,
    "admin": Role.PLATFORM_ADMIN,
}


def build_world(factory: sessionmaker[Session], store: ObjectStore, *,
                at: datetime = SEEDED_AT) -> World:
    with transaction(factory) as session:
        a = _dinas(session, store, "dinas-a", "Dinas A", at)
        b = _dinas(session, store, "dinas-b", "Dinas B", at)
        city: dict[str, Principal] = {}
        city_users: dict[str, str] = {}
        for key, role in CITY_USERS.items():
            user = create_user(session, username=f"kota.{key}", full_name=f"Pengguna {key}",
                               password=PASSWORD, roles=[(role, None)])
            city[key] = principal_for(user)
            city_users[key] = user.username
        return World(a=a, b=b, city=city, city_users=city_users)


def _dinas(session: Session, store: ObjectStore, slug: str, name: str,
           at: datetime) -> Dinas:
    tenant = create_tenant(session, slug=slug, name=name)
    bidang = [create_bidang(session, tenant=tenant, name=f"Bidang {n}").id for n in (1, 2)]
    dinas = Dinas(tenant_id=tenant.id, slug=slug, bidang=bidang, cycle_id=uuid.uuid4())
    for key, (role, bidang_index) in TENANT_USERS.items():
        user = create_user(session, username=dinas.username(key), full_name=f"{name} {key}",
                           password=PASSWORD, roles=[(role, tenant.id)], tenant_id=tenant.id,
                           bidang_id=bidang[bidang_index] if bidang_index is not None else None,
                           email=f"{dinas.username(key)}@{slug}.example.go.id")
        dinas.users[user.username] = user.id
        dinas.principals[key] = principal_for(user)
    cycle = seed_collecting_cycle(session, store, tenant_id=tenant.id, year=at.year, at=at,
                                  owed={b: OWED for b in bidang},
                                  kepala=dinas.principals["kepala"], tim=dinas.principals["tim"])
    dinas.cycle_id = cycle.id
    return dinas
