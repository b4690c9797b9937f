"""The SOP state machine on PostgreSQL: steps in order, each completing only when its guard holds
(with what is missing otherwise), the corrections, extensions and template versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from sakip.seeding import SEED_TEMPLATE, upload_cycle_document
from services.workflow import actions
from services.workflow.cycles import (
    cancel_cycle,
    complete_step,
    get_cycle,
    open_cycle,
    publish_template,
    reopen_step,
    steps_of,
)
from shared.audit import AuditEntry
from shared.cycles.collection import collection_deadline
from shared.cycles.models import CollectionClosure, Cycle, SopTemplate
from shared.db import transaction
from shared.documents.models import CycleDocumentKind
from shared.events.models import OutboxEvent
from shared.sop.template import TEMPLATES_DIR, load_shipped_template, parse_template
from shared.web.errors import Conflict, GuardFailed, Invalid, NotAllowed, NotFound
from tests.world import SEEDED_AT

WIB = timedelta(hours=7)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - WIB


def template(session) -> SopTemplate:  # type: ignore[no-untyped-def]
    return publish_template(session, load_shipped_template(*SEED_TEMPLATE))


def states(session, cycle) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.state for s in steps_of(session, cycle)]


def open_2027(session, world, at):  # type: ignore[no-untyped-def]
    return open_cycle(session, tenant_id=world.a.tenant_id, year=2027, template=template(session),
                      at=at, principal=world.a.principals["kasubbag"])


def test_a_one_hour_step_started_before_good_friday_is_due_on_monday(session_factory, world):
    with transaction(session_factory) as session:
        cycle = open_cycle(session, tenant_id=world.a.tenant_id, year=2025,
                           template=template(session), at=wib(2026, 4, 2, 15, 45),
                           principal=world.a.principals["kepala"])
        first = steps_of(session, cycle)[0]
        assert first.due_at == wib(2026, 4, 6, 8, 15)
        assert states(session, cycle) == ["active"] + ["pending"] * 5


def test_only_the_kepala_dinas_or_kasubbag_opens_and_a_year_opens_once(session_factory, world):
    with transaction(session_factory) as session:
        with pytest.raises(NotAllowed):
            open_cycle(session, tenant_id=world.a.tenant_id, year=2027,
                       template=template(session), at=SEEDED_AT,
                       principal=world.a.principals["staf1"])
        with pytest.raises(NotAllowed):  # a role in another tenant is no role here
            open_cycle(session, tenant_id=world.a.tenant_id, year=2027,
                       template=template(session), at=SEEDED_AT,
                       principal=world.b.principals["kepala"])
        with pytest.raises(Conflict, match="2026 sudah dibuka"):
            open_cycle(session, tenant_id=world.a.tenant_id, year=2026,
                       template=template(session), at=SEEDED_AT,
                       principal=world.a.principals["kepala"])


def test_each_guard_says_what_is_missing_until_its_output_exists(session_factory, world,
                                                                 object_store):
    a = world.a
    kepala, tim, kasubbag = a.principals["kepala"], a.principals["tim"], a.principals["kasubbag"]
    at = SEEDED_AT + timedelta(days=1)
    with transaction(session_factory) as session:
        cycle = open_2027(session, world, at)
        with pytest.raises(GuardFailed) as caught:
            complete_step(session, cycle, 1, at=at, principal=kasubbag)
        assert caught.value.details == [
            "Konfirmasi oleh Kepala Dinas: langkah ini diselesaikan oleh Kepala Dinas sendiri."]
        with pytest.raises(Conflict, match="Langkah 2 belum dimulai"):
            complete_step(session, cycle, 2, at=at, principal=kepala)
        complete_step(session, cycle, 1, at=at, principal=kepala)

        with pytest.raises(GuardFailed) as caught:
            complete_step(session, cycle, 2, at=at, principal=kepala)
        assert caught.value.details == ["SK Tim Evaluasi Internal SAKIP belum diunggah."]
        with pytest.raises(NotAllowed):
            complete_step(session, cycle, 2, at=at, principal=tim)
        upload_cycle_document(session, object_store, cycle=cycle,
                              kind=CycleDocumentKind.SK_TIM_EVALUASI, principal=kepala, at=at)
        complete_step(session, cycle, 2, at=at, principal=kepala)

        with pytest.raises(GuardFailed) as caught:
            complete_step(session, cycle, 3, at=at, principal=tim)
        assert len(caught.value.details) == 2
        with pytest.raises(Invalid):
            actions.set_document_list(session, cycle, owed={a.bidang[0]: ["NOT_A_TYPE"]},
                                      principal=tim, at=at)
        actions.set_document_list(session, cycle, owed={a.bidang[0]: ["IKU"],
                                                        a.bidang[1]: ["IKU", "LKJIP"]},
                                  principal=tim, at=at)
        with pytest.raises(GuardFailed, match="belum dapat diselesaikan") as caught:
            complete_step(session, cycle, 3, at=at, principal=tim)
        assert caught.value.details == ["Pedoman evaluasi data kinerja belum diunggah."]
        upload_cycle_document(session, object_store, cycle=cycle,
                              kind=CycleDocumentKind.PEDOMAN_EVALUASI, principal=tim, at=at)
        complete_step(session, cycle, 3, at=at, principal=tim)

        with pytest.raises(GuardFailed):
            complete_step(session, cycle, 4, at=at, principal=kasubbag)
        actions.send_notice(session, cycle, principal=kasubbag, at=at, message="Segera.")
        complete_step(session, cycle, 4, at=at, principal=kasubbag)
        assert states(session, cycle) == ["completed"] * 4 + ["active", "pending"]

        with pytest.raises(GuardFailed) as caught:
            complete_step(session, cycle, 5, at=at, principal=kasubbag)
        assert caught.value.details == [
            "Bidang 1: Indikator Kinerja Utama (IKU) belum diterima.",
            "Bidang 2: Indikator Kinerja Utama (IKU), "
            "Laporan Kinerja Instansi Pemerintah (LKjIP) belum diterima."]


def test_closing_the_collection_records_who_misses_what_and_step_6_waits_for_the_report(
        session_factory, world):
    a = world.a
    at = SEEDED_AT + timedelta(hours=2)
    with transaction(session_factory) as session:
        cycle = get_cycle(session, a.cycle_id)
        with pytest.raises(NotAllowed):
            actions.close_collection(session, cycle, principal=a.principals["staf1"], at=at,
                                     reason="x")
        with pytest.raises(Invalid, match="Alasan wajib diisi"):
            actions.close_collection(session, cycle, principal=a.principals["kasubbag"], at=at,
                                     reason="  ")
        actions.close_collection(session, cycle, principal=a.principals["kasubbag"], at=at,
                                 reason="Rapat evaluasi dimajukan.")
        closure = session.scalars(select(CollectionClosure)).one()
        assert closure.missing == {str(b): ["IKU", "RENJA"] for b in a.bidang}
        assert states(session, cycle) == ["completed"] * 5 + ["active"]
        with pytest.raises(GuardFailed) as caught:
            complete_step(session, cycle, 6, at=at, principal=a.principals["tim"])
        assert caught.value.details == [
            "Laporan hasil evaluasi SAKIP internal belum disetujui Kepala Dinas."]


def test_reopening_a_step_sends_the_later_ones_back_to_pending(session_factory, world):
    a = world.a
    at = SEEDED_AT + timedelta(hours=1)
    with transaction(session_factory) as session:
        cycle = get_cycle(session, a.cycle_id)
        with pytest.raises(NotAllowed):
            reopen_step(session, cycle, 3, at=at, principal=a.principals["tim"], reason="x")
        with pytest.raises(Conflict, match="belum selesai"):
            reopen_step(session, cycle, 5, at=at, principal=a.principals["kepala"], reason="x")
        step = reopen_step(session, cycle, 3, at=at, principal=a.principals["kepala"],
                           reason="Daftar dokumen perlu ditambah PK.")
        assert states(session, cycle) == ["completed"] * 2 + ["active"] + ["pending"] * 3
        assert step.due_at == wib(2026, 4, 7, 9, 0)  # one working day from 09.00 WIB
        resets = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "step.reset", AuditEntry.tenant_id == a.tenant_id))
        assert resets == 2  # step 4 (completed) and step 5 (active); step 6 was pending
        # The list may be changed again, the notice must be sent again after the reopen.
        actions.set_document_list(session, cycle, owed={b: ["IKU", "PK"] for b in a.bidang},
                                  principal=a.principals["tim"], at=at)
        complete_step(session, cycle, 3, at=at, principal=a.principals["tim"])
        with pytest.raises(GuardFailed):
            complete_step(session, cycle, 4, at=at, principal=a.principals["tim"])


def test_a_cancelled_cycle_stops_and_its_year_can_be_opened_again(session_factory, world):
    a = world.a
    at = SEEDED_AT + timedelta(hours=1)
    with transaction(session_factory) as session:
        cycle = get_cycle(session, a.cycle_id)
        with pytest.raises(NotAllowed):
            cancel_cycle(session, cycle, at=at, principal=a.principals["kasubbag"], reason="x")
        cancel_cycle(session, cycle, at=at, principal=a.principals["kepala"],
                     reason="Salah memilih templat.")
        assert states(session, cycle) == ["completed"] * 4 + ["cancelled"] * 2
        assert all(s.next_action_at is None for s in steps_of(session, cycle))
        with pytest.raises(Conflict, match="dibatalkan"):
            complete_step(session, cycle, 5, at=at, principal=a.principals["kasubbag"])
        again = open_cycle(session, tenant_id=a.tenant_id, year=2026, template=template(session),
                           at=at, principal=a.principals["kepala"])
        assert again.id != cycle.id


def test_extensions_for_one_bidang_or_the_whole_cycle(session_factory, world):
    a = world.a
    kepala = a.principals["kepala"]
    at = SEEDED_AT + timedelta(days=2)
    with transaction(session_factory) as session:
        cycle = get_cycle(session, a.cycle_id)
        original = wib(2026, 4, 13, 8, 0)
        assert collection_deadline(session, cycle.id, a.bidang[0]) == original
        with pytest.raises(NotAllowed):
            actions.grant_extension(session, cycle, principal=a.principals["kasubbag"], at=at,
                                    due_at=original + timedelta(days=1), reason="x")
        with pytest.raises(Invalid, match="setelah batas waktu"):
            actions.grant_extension(session, cycle, principal=kepala, at=at,
                                    due_at=original - timedelta(hours=1), reason="x")
        with pytest.raises(Invalid, match="masa depan"):
            actions.grant_extension(session, cycle, principal=kepala,
                                    at=original + timedelta(days=5),
                                    due_at=original + timedelta(days=1), reason="x")
        actions.grant_extension(session, cycle, principal=kepala, at=at, bidang_id=a.bidang[0],
                                due_at=wib(2026, 4, 15, 12, 0), reason="Kepala bidang cuti.")
        assert collection_deadline(session, cycle.id, a.bidang[0]) == wib(2026, 4, 15, 12, 0)
        assert collection_deadline(session, cycle.id, a.bidang[1]) == original
        assert steps_of(session, cycle)[4].due_at == original
        actions.grant_extension(session, cycle, principal=kepala, at=at,
                                due_at=wib(2026, 4, 17, 12, 0), reason="Server kantor mati.")
        step = steps_of(session, cycle)[4]
        assert step.due_at == wib(2026, 4, 17, 12, 0)
        assert step.next_action_at is not None
        assert step.next_action_at < step.due_at  # the reminder is armed again
        assert collection_deadline(session, cycle.id, a.bidang[1]) == wib(2026, 4, 17, 12, 0)


def test_a_running_cycle_keeps_its_template_version_and_variants_stay_with_their_tenant(
        session_factory, world):
    document = yaml.safe_load((TEMPLATES_DIR / "pengumpulan-data-kinerja.v1.yaml").read_text())
    document["version"] = 2
    document["steps"][0]["duration"] = {"amount": 2, "unit": "working_days"}
    variant = parse_template(yaml.safe_dump(document, allow_unicode=True))
    with transaction(session_factory) as session:
        v2 = publish_template(session, variant, tenant_id=world.b.tenant_id)
        with pytest.raises(Conflict, match="sudah diterbitkan dengan isi lain"):
            publish_template(session, parse_template(yaml.safe_dump(
                {**document, "name": "LAIN"}, allow_unicode=True)), tenant_id=world.b.tenant_id)
        running = session.get_one(Cycle, world.a.cycle_id)
        assert session.get_one(SopTemplate, running.template_id).version == 1
        with pytest.raises(NotFound):
            open_cycle(session, tenant_id=world.a.tenant_id, year=2027, template=v2,
                       at=SEEDED_AT, principal=world.a.principals["kepala"])
        cycle = open_cycle(session, tenant_id=world.b.tenant_id, year=2027, template=v2,
                           at=SEEDED_AT, principal=world.b.principals["kepala"])
        assert steps_of(session, cycle)[0].due_at == wib(2026, 4, 8, 8, 0)


def test_every_transition_has_its_audit_row_and_its_event(session_factory, world):
    with session_factory() as session:
        audited = session.scalars(select(AuditEntry.action).where(
            AuditEntry.tenant_id == world.a.tenant_id,
            AuditEntry.action.in_(["cycle.opened", "step.started", "step.completed"]))
            .order_by(AuditEntry.id)).all()
        evented = session.scalars(select(OutboxEvent.type).where(
            OutboxEvent.tenant_id == world.a.tenant_id,
            OutboxEvent.type.in_(["cycle.opened", "step.started", "step.completed"]))
            .order_by(OutboxEvent.seq)).all()
    expected = ["cycle.opened", "step.started"] + ["step.completed", "step.started"] * 4
    assert audited == expected
    assert evented == expected
