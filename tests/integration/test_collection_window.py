"""The collection window (SOP step 5) as intake enforces it, through the API and the portal:
after the deadline in force for a Bidang a hand-in is refused (409, nothing written) unless the
kepala_dinas extended it for that Bidang or the whole cycle; a template that does not refuse late
hand-ins takes them and records them as late; a closed collection takes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sakip.seeding import SEED_TEMPLATE, seed_collecting_cycle
from services.intake.clock import use_clock
from services.workflow.actions import close_collection, grant_extension
from services.workflow.cycles import publish_template
from shared.audit import AuditEntry
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.documents.models import DocumentVersion, Submission, SubmissionItem
from shared.sop.template import load_shipped_template, template_from_document
from tests.integration.test_api import Api, item_ids, outbox_types
from tests.integration.test_portal import csrf, log_in, messages, post
from tests.samples import make_pdf
from tests.world import SEEDED_AT, Dinas

DEADLINE = datetime(2026, 4, 13, 1, 0, tzinfo=UTC)  # Monday 13 April 2026, 08.00 WIB
LATE = DEADLINE + timedelta(minutes=1)
PASSED = ("Batas waktu pengumpulan (13 April 2026 pukul 08.00 WIB) sudah lewat. Penyerahan "
          "hanya dapat dilakukan bila Kepala Dinas memberikan perpanjangan.")
REASON = "Bidang sedang menyelesaikan penandatanganan dokumen."


@pytest.fixture
def api(app, session_factory, world):
    use_clock(app, lambda: LATE)
    return Api(app.test_client(), session_factory)


def ready_package(api: Api, dinas: Dinas, bidang_index: int, *, cycle_id=None) -> dict:
    """The Bidang's package with both owed documents uploaded (uploads stay open)."""
    staff = dinas.username(f"staf{bidang_index + 1}")
    package = api.package(cycle_id or dinas.cycle_id, dinas.bidang[bidang_index], as_=staff)
    for code, item_id in item_ids(package).items():
        response = api.upload(item_id, make_pdf(f"{code} {bidang_index}"), as_=staff)
        assert response.status_code == 201, response.get_json()
    return package


def submit(api: Api, dinas: Dinas, bidang_index: int, package: dict):
    return api.post(f"/packages/{package['id']}/submit",
                    as_=dinas.username(f"staf{bidang_index + 1}"))


def extend(session_factory, dinas: Dinas, *, due_at: datetime, bidang_index: int | None,
           at: datetime = LATE) -> None:
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        grant_extension(session, cycle, principal=dinas.principals["kepala"], at=at,
                        due_at=due_at, reason=REASON,
                        bidang_id=None if bidang_index is None else dinas.bidang[bidang_index])


def submission_audits(session_factory, package_id) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "submission.submitted",
            AuditEntry.target_id == package_id)))


def package_state(session_factory, package_id) -> str:
    with session_factory() as session:
        return session.get_one(Submission, package_id).state


def test_after_the_deadline_the_api_refuses_and_changes_nothing(api, world, session_factory):
    package = ready_package(api, world.a, 0)
    response = submit(api, world.a, 0, package)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == PASSED
    assert package_state(session_factory, package["id"]) == "draft"
    assert outbox_types(session_factory)["submission.submitted"] == 0
    assert submission_audits(session_factory, package["id"]) == []
    with session_factory() as session:
        states = set(session.scalars(select(SubmissionItem.state).where(
            SubmissionItem.submission_id == package["id"])))
    assert states == {"uploaded"}


def test_on_time_the_same_package_goes_in(api, app, world, session_factory):
    use_clock(app, lambda: DEADLINE)  # the deadline itself is still on time
    package = ready_package(api, world.a, 0)
    assert submit(api, world.a, 0, package).status_code == 200
    (audit,) = submission_audits(session_factory, package["id"])
    assert audit.after["late"] is False


def test_after_the_deadline_the_portal_refuses_with_the_message(app, world, session_factory,
                                                                api):
    package = ready_package(api, world.a, 0)
    staff = log_in(app, "dinas-a.staf1")
    page = staff.get(f"/paket/{package['id']}").text
    assert PASSED in page  # said before trying, instead of the button
    assert "Serahkan paket" not in page
    assert "13 April 2026 pukul 08.00 WIB" in page  # the deadline in force
    response = post(staff, f"/paket/{package['id']}/serahkan", csrf(staff))  # forged anyway
    assert response.status_code == 303
    assert PASSED in messages(staff.get(response.headers["Location"]).text)
    assert package_state(session_factory, package["id"]) == "draft"
    assert outbox_types(session_factory)["submission.submitted"] == 0


def test_an_extension_for_one_bidang_lets_only_that_bidang_in(api, app, world,
                                                              session_factory):
    first, second = ready_package(api, world.a, 0), ready_package(api, world.a, 1)
    new_deadline = DEADLINE + timedelta(days=3)
    extend(session_factory, world.a, due_at=new_deadline, bidang_index=0)

    assert submit(api, world.a, 0, first).status_code == 200
    refused = submit(api, world.a, 1, second)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == PASSED
    assert package_state(session_factory, second["id"]) == "draft"
    (audit,) = submission_audits(session_factory, first["id"])
    assert audit.after["late"] is False  # within its extended deadline

    staff = log_in(app, "dinas-a.staf1")  # the page shows the extended deadline in force
    assert "16 April 2026 pukul 08.00 WIB" in staff.get(f"/paket/{first['id']}").text
    # Once the extension has run out too, the Bidang is refused again.
    use_clock(app, lambda: new_deadline + timedelta(seconds=1))
    withdrawn = api.post(f"/packages/{first['id']}/withdraw", as_="dinas-a.staf1")
    assert withdrawn.status_code == 409  # withdrawn now, it could not be handed in again
    assert package_state(session_factory, first["id"]) == "submitted"


def test_a_whole_cycle_extension_lets_every_bidang_in(api, world, session_factory):
    packages = [ready_package(api, world.a, n) for n in (0, 1)]
    extend(session_factory, world.a, due_at=DEADLINE + timedelta(days=7), bidang_index=None)
    for n, package in enumerate(packages):
        assert submit(api, world.a, n, package).status_code == 200
    # Dinas B's cycle was not extended.
    other = ready_package(api, world.b, 0)
    assert submit(api, world.b, 0, other).status_code == 409


def test_a_closed_collection_takes_nothing_even_on_time(api, app, world, session_factory):
    use_clock(app, lambda: SEEDED_AT + timedelta(days=1))
    package = ready_package(api, world.a, 0)
    with transaction(session_factory) as session:
        close_collection(session, session.get_one(Cycle, world.a.cycle_id),
                         principal=world.a.principals["kasubbag"], at=SEEDED_AT,
                         reason="Rapat evaluasi dimajukan.")
    response = submit(api, world.a, 0, package)
    assert response.status_code == 409
    assert "sudah ditutup" in response.get_json()["error"]["message"]
    assert package_state(session_factory, package["id"]) == "draft"


def test_a_template_that_takes_late_hand_ins_records_them_as_late(api, world, session_factory,
                                                                  object_store):
    """Dinas B's 2025 cycle runs on its own variant of the SOP that takes late hand-ins,
    collecting since SEEDED_AT like the world's cycles."""
    shipped = load_shipped_template(*SEED_TEMPLATE)
    variant = template_from_document(
        {**shipped.raw, "version": 90,
         "deadlines": {**shipped.raw["deadlines"], "refuse_submissions_after_deadline": False}},
        source="varian dinas-b")
    with transaction(session_factory) as session:
        template = publish_template(session, variant, tenant_id=world.b.tenant_id)
        cycle_id = seed_collecting_cycle(
            session, object_store, tenant_id=world.b.tenant_id, year=2025, at=SEEDED_AT,
            owed={b: ("IKU",) for b in world.b.bidang}, kepala=world.b.principals["kepala"],
            tim=world.b.principals["tim"], template=template).id

    package = ready_package(api, world.b, 0, cycle_id=cycle_id)
    response = submit(api, world.b, 0, package)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "submitted"
    (audit,) = submission_audits(session_factory, package["id"])
    assert audit.after["late"] is True
    with session_factory() as session:
        first_submitted = session.scalars(
            select(DocumentVersion.first_submitted_at).join(
                SubmissionItem, SubmissionItem.id == DocumentVersion.item_id)
            .where(SubmissionItem.submission_id == package["id"])).one()
    assert first_submitted == LATE > DEADLINE
    # The same Dinas's cycle on the shipped SOP still refuses.
    assert submit(api, world.b, 0, ready_package(api, world.b, 0)).status_code == 409
