"""The roles of the SOP's executors, and which of them act for one tenant or the whole city."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    BIDANG_STAFF = "bidang_staff"
    KASUBBAG_PROGRAM = "kasubbag_program"
    TIM_EVALUASI = "tim_evaluasi"
    KEPALA_DINAS = "kepala_dinas"
    BAGIAN_ORGANISASI = "bagian_organisasi"
    INSPEKTUR = "inspektur"
    PLATFORM_ADMIN = "platform_admin"

    @property
    def is_tenant_role(self) -> bool:
        return self in TENANT_ROLES

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


TENANT_ROLES = frozenset(
    {Role.BIDANG_STAFF, Role.KASUBBAG_PROGRAM, Role.TIM_EVALUASI, Role.KEPALA_DINAS}
)
CITY_READ_ROLES = frozenset({Role.BAGIAN_ORGANISASI, Role.INSPEKTUR})
CITY_ROLES = CITY_READ_ROLES | {Role.PLATFORM_ADMIN}

ROLE_LABELS = {
    Role.BIDANG_STAFF: "Staf Bidang",
    Role.KASUBBAG_PROGRAM: "Kasubbag Program",
    Role.TIM_EVALUASI: "Tim Evaluasi Internal SAKIP",
    Role.KEPALA_DINAS: "Kepala Dinas",
    Role.BAGIAN_ORGANISASI: "Bagian Organisasi",
    Role.INSPEKTUR: "Inspektur",
    Role.PLATFORM_ADMIN: "Administrator Platform",
}
