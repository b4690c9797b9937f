"""The demo tenant: the SOP's own agency, with a few Bidang and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.accounts import create_bidang, create_tenant, create_user
from shared.identity.models import Tenant
from shared.identity.roles import Role

DEMO_TENANT_SLUG = "dpmptsp-naker-probolinggo"
DEMO_TENANT_NAME = "Dinas Penanaman Modal, PTSP dan Tenaga Kerja Kota Probolinggo"
DEMO_PASSWORD = "sakip-demo-2026"  # noqa: S105 - demo accounts; production refuses to start with them
DEMO_BIDANG = (
    "Sekretariat",
    "Bidang Penanaman Modal",
    "Bidang Pelayanan Perizinan",
    "Bidang Tenaga Kerja",
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role
    bidang: str | None = None


DEMO_USERS = (
    DemoUser("staf.penanaman", "Rina Wulandari", Role.BIDANG_STAFF, "Bidang Penanaman Modal"),
    DemoUser("staf.perizinan", "Agus Santoso", Role.BIDANG_STAFF, "Bidang Pelayanan Perizinan"),
    DemoUser("kasubbag.program", "Dewi Lestari", Role.KASUBBAG_PROGRAM),
    DemoUser("tim.evaluasi", "Bambang Prasetyo", Role.TIM_EVALUASI),
    DemoUser("kepala.dinas", "Hendra Gunawan", Role.KEPALA_DINAS),
    DemoUser("bagian.organisasi", "Sri Rahayu", Role.BAGIAN_ORGANISASI),
    DemoUser("inspektur", "Joko Susilo", Role.INSPEKTUR),
    DemoUser("admin.platform", "Admin Platform", Role.PLATFORM_ADMIN),
)


def seed_demo(session: Session) -> Tenant:
    """Create the demo tenant and its users; a second call changes nothing."""
    existing = session.scalar(select(Tenant).where(Tenant.slug == DEMO_TENANT_SLUG))
    if existing is not None:
        return existing
    actor = "system:seed-demo"
    tenant = create_tenant(session, slug=DEMO_TENANT_SLUG, name=DEMO_TENANT_NAME, actor=actor)
    bidang = {name: create_bidang(session, tenant=tenant, name=name, actor=actor)
              for name in DEMO_BIDANG}
    for u in DEMO_USERS:
        tenant_id = tenant.id if u.role.is_tenant_role else None
        create_user(session, username=u.username, full_name=u.full_name, password=DEMO_PASSWORD,
                    roles=[(u.role, tenant_id)], tenant_id=tenant_id,
                    bidang_id=bidang[u.bidang].id if u.bidang else None, is_demo=True,
                    actor=actor)
    return tenant
