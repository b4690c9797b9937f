"""The test world of the reports: `tests/world.py`'s two dinas, with dinas-a's cycle collected
(SOP step 5 played through, step 6 active) and dinas-b's still collecting, plus a dinas with no
cycle and a deactivated one for the city recap (fixture `reporting_world` in tests/conftest.py).

dinas-a's 2026 cycle (`ReportingWorld.cycle_id`) runs on the dinas's own variant of the SOP that
takes late hand-ins (the shipped one refuses them, so a "late" cell could not exist): the
kepala_dinas cancelled the cycle `build_world` opened on the city template and opened it again
on the variant (`cancelled_cycle_id`). Its collection (sakip.seeding.seed_collection, times in
working time from step 5's start S, Monday 6 April 2026 08.10 WIB, due D = S + 5 working days):

| Bidang   | IKU      | RENJA    | PK       | LKJIP           |
|----------|----------|----------|----------|-----------------|
| Bidang 1 | on time  | LATE     | returned | on time (after a return, replaced before D) |
| Bidang 2 | on time  | on time  | on time  | - (not required) |   <- extension D + 3 working days
| Bidang 3 | missing  | missing  | -        | -               |   <- IKU uploaded, never handed in

Required 9, submitted 7 (on time 5, late 1, returned 1), missing 2: reporting rate 77.78,
on-time rate 55.56. Bidang 1: 100.00 / 50.00; Bidang 2: 100.00 / 100.00; Bidang 3: 0.00 / 0.00.
The kasubbag_program closed the collection (Bidang 1's PK and Bidang 3 missing): step 5 completed
late (after D), steps 1-4 on time, step 6 active.

dinas-b's 2026 cycle (the world's, city template) is collecting: its Bidang 1 handed in IKU and
RENJA on time, both accepted; its Bidang 2 has only uploaded an IKU draft.

The bundled LKE rubrics are published (`rubric_id`: PermenPANRB 12/2015); no evaluation exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sakip.seeding import (
    BidangPlan,
    Fate,
    PlayedCollection,
    seed_collected_cycle,
    seed_collection,
)
from services.intake.accounts import create_bidang, create_tenant, create_user
from services.reporting.rubrics import DEFAULT_RUBRIC, ensure_bundled_rubrics, latest_rubric
from services.workflow.cycles import cancel_cycle, get_cycle
from shared.db import transaction
from shared.identity.loading import principal_for
from shared.identity.models import Tenant
from shared.identity.roles import Role
from shared.storage import ObjectStore
from tests.world import PASSWORD, SEEDED_AT, Dinas, World, build_world

YEAR = SEEDED_AT.year
CANCELLED_AT = SEEDED_AT + timedelta(minutes=5)
OPENED_AT = SEEDED_AT + timedelta(minutes=10)  # Monday 6 April 2026, 08.10 WIB: steps 1-4 done
CANCEL_REASON = "Dibuka ulang dengan templat perangkat daerah yang menerima penyerahan terlambat."
EXTENSION_REASON = ("Kepala Bidang 2 menjalankan dinas luar; dokumen baru dapat ditandatangani "
                    "setelah kembali.")
A_DOCUMENTS = ("IKU", "RENJA", "PK", "LKJIP")  # the matrix's columns, in the template's order


@dataclass(frozen=True)
class Cell:
    bidang: str  # the Bidang's name
    document_type: str  # code


@dataclass
class ReportingWorld:
    world: World
    year: int
    cycle_id: uuid.UUID  # dinas-a's collected cycle (step 6 active)
    cancelled_cycle_id: uuid.UUID  # dinas-a's first cycle of the year, cancelled
    b_cycle_id: uuid.UUID  # dinas-b's cycle, collecting
    bidang: dict[str, uuid.UUID]  # dinas-a's Bidang by name
    expected: dict[Cell, str]  # dinas-a's matrix: CellStatus values ("not_required" left out)
    late: Cell
    returned: Cell
    returned_item_id: uuid.UUID
    returned_reason: str
    missing: tuple[Cell, ...]
    extension_bidang: str
    extension_reason: str
    extension_due_at: datetime
    accepted_sha256s: dict[Cell, str]  # every accepted version of dinas-a's cycle
    accepted_version_ids: dict[Cell, uuid.UUID]
    late_sha256: str  # the accepted (late) version's
    b_accepted_sha256: dict[Cell, str]  # dinas-b's: must never show in dinas-a's content
    played: PlayedCollection
    quiet_tenant_id: uuid.UUID  # "Dinas C": active, no cycle (recap: "none")
    retired_tenant_id: uuid.UUID  # "Dinas Lama": deactivated (not in the recap)
    collected_at: datetime  # step 5 completed (the closure)
    rubric_id: uuid.UUID  # the bundled default rubric (PermenPANRB 12/2015), published
    names: dict[str, str] = field(default_factory=dict)  # slug -> tenant name

    @property
    def a(self) -> Dinas:
        return self.world.a

    @property
    def dinas(self) -> Dinas:
        """dinas-a, whose cycle is collected."""
        return self.world.a

    @property
    def dinas_name(self) -> str:
        return self.names["dinas-a"]

    @property
    def late_bidang(self) -> str:
        return self.late.bidang

    @property
    def accepted_sha256(self) -> str:
        """One known accepted SHA-256 (the late RENJA's accepted version)."""
        return self.late_sha256

    @property
    def b(self) -> Dinas:
        return self.world.b


def build_reporting_world(factory: sessionmaker[Session], store: ObjectStore) -> ReportingWorld:
    world = build_world(factory, store)
    with transaction(factory) as session:
        a, b = world.a, world.b
        kepala = a.principals["kepala"]
        cancel_cycle(session, get_cycle(session, a.cycle_id), at=CANCELLED_AT, principal=kepala,
                     reason=CANCEL_REASON)
        tenant_a = session.get_one(Tenant, a.tenant_id)
        third = create_bidang(session, tenant=tenant_a, name="Bidang 3")
        staf3 = create_user(session, username=a.username("staf3"), full_name="Dinas A staf3",
                            password=PASSWORD, roles=[(Role.BIDANG_STAFF, a.tenant_id)],
                            tenant_id=a.tenant_id, bidang_id=third.id)
        a.users[staf3.username] = staf3.id
        a.principals["staf3"] = principal_for(staf3)
        one, two = a.bidang
        a.bidang.append(third.id)
        bidang = {"Bidang 1": one, "Bidang 2": two, "Bidang 3": third.id}
        plan = {
            one: BidangPlan({"IKU": Fate.ON_TIME, "RENJA": Fate.LATE, "PK": Fate.RETURNED,
                             "LKJIP": Fate.RESUBMITTED}),
            two: BidangPlan({"IKU": Fate.ON_TIME, "RENJA": Fate.ON_TIME, "PK": Fate.ON_TIME},
                            extension=EXTENSION_REASON),
            third.id: BidangPlan({"IKU": Fate.MISSING, "RENJA": Fate.MISSING}),
        }
        played = seed_collected_cycle(
            session, store, tenant_id=a.tenant_id, year=YEAR, at=OPENED_AT, plan=plan,
            kepala=kepala, tim=a.principals["tim"], kasubbag=a.principals["kasubbag"],
            staff_of={one: a.principals["staf1"], two: a.principals["staf2"],
                      third.id: a.principals["staf3"]})
        cancelled_cycle_id, a.cycle_id = a.cycle_id, played.cycle.id

        b_played = seed_collection(
            session, store, cycle=get_cycle(session, b.cycle_id),
            plan={b.bidang[0]: BidangPlan({"IKU": Fate.ON_TIME, "RENJA": Fate.ON_TIME}),
                  b.bidang[1]: BidangPlan({"IKU": Fate.MISSING, "RENJA": Fate.MISSING})},
            kepala=b.principals["kepala"], kasubbag=b.principals["kasubbag"],
            staff_of={b.bidang[0]: b.principals["staf1"], b.bidang[1]: b.principals["staf2"]},
            close=False)

        quiet = create_tenant(session, slug="dinas-c", name="Dinas C")
        retired = create_tenant(session, slug="dinas-lama", name="Dinas Lama")
        retired.active = False
        retired.deactivated_at = SEEDED_AT
        session.flush()
        ensure_bundled_rubrics(session)
        default_rubric = latest_rubric(session, DEFAULT_RUBRIC)
        assert default_rubric is not None

        name_of = {v: k for k, v in bidang.items()}
        expected = {Cell(name_of[b_id], code): fate.cell
                    for (b_id, code), fate in played.fates.items()}
        accepted = {Cell(name_of[b_id], code): version
                    for (b_id, code), version in played.accepted.items()}
        b_names = {b.bidang[0]: "Bidang 1", b.bidang[1]: "Bidang 2"}
        late = Cell("Bidang 1", "RENJA")
        returned = Cell("Bidang 1", "PK")
        assert played.completed_at is not None
        return ReportingWorld(
            world=world, year=YEAR, cycle_id=played.cycle.id,
            cancelled_cycle_id=cancelled_cycle_id, b_cycle_id=b.cycle_id, bidang=bidang,
            expected=expected, late=late, returned=returned,
            returned_item_id=played.items[one, "PK"],
            returned_reason=played.returns[one, "PK"],
            missing=(Cell("Bidang 3", "IKU"), Cell("Bidang 3", "RENJA")),
            extension_bidang="Bidang 2", extension_reason=EXTENSION_REASON,
            extension_due_at=played.extensions[two].due_at,
            accepted_sha256s={cell: v.sha256 for cell, v in accepted.items()},
            accepted_version_ids={cell: v.id for cell, v in accepted.items()},
            late_sha256=accepted[late].sha256,
            b_accepted_sha256={Cell(b_names[b_id], code): v.sha256
                               for (b_id, code), v in b_played.accepted.items()},
            played=played, quiet_tenant_id=quiet.id, retired_tenant_id=retired.id,
            collected_at=played.completed_at, rubric_id=default_rubric.id,
            names={"dinas-a": "Dinas A", "dinas-b": "Dinas B", "dinas-c": "Dinas C"})
