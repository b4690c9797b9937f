"""Calendar administration through the workflow API, and the deadlines it moves.

The world's step 5 (collection, 5 working days) started Monday 6 April 2026 08.00 WIB, so it is
due Monday 13 April 08.00 WIB (Mon 6 .. Fri 10 April has no national holiday). Hand-computed:
- its reminder at 75 % of its 43 office hours (Mon 8 + Tue 8.5 + Wed 8.5 + Thu 8.5 + Fri 9 +
  Mon 0.5) is Thursday 9 April 14.45; its second escalation one working day after the deadline,
  Tuesday 14 April 08.00;
- with Thursday 9 April a holiday: due Tuesday 14 April 08.00, reminder Friday 10 April 14.45,
  second escalation Wednesday 15 April 08.00;
- with Saturday an office day (07.30-12.00): due Saturday 11 April 08.00, second escalation
  Monday 13 April 08.00.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.workflow.actions import grant_extension
from services.workflow.calendars import national_holiday_entries
from services.workflow.cycles import get_cycle
from shared.audit import AuditEntry
from shared.calendar import national_holidays
from shared.config import Settings
from shared.cycles.collection import collection_step
from shared.cycles.models import CalendarHoliday, CycleStep, TenantCalendar
from shared.db import transaction
from tests.workflow_client import WorkflowApi, workflow_api
from tests.world import World

WIB = ZoneInfo("Asia/Jakarta")
RECOMPUTED = "step.deadline_recomputed"


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, day, hour, minute, tzinfo=WIB)


@pytest.fixture
def api(settings: Settings, world: World) -> Iterator[WorkflowApi]:
    with workflow_api(settings) as client:
        yield client


def step5(factory: sessionmaker[Session], cycle_id: uuid.UUID) -> CycleStep:
    with factory() as session:
        step = collection_step(session, cycle_id)
        assert step is not None
        return step


def audit_rows(factory: sessionmaker[Session], action: str,
               target_id: object | None = None) -> list[AuditEntry]:
    with factory() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        if target_id is not None:
            query = query.where(AuditEntry.target_id == str(target_id))
        return list(session.scalars(query.order_by(AuditEntry.id)))


def holidays_path(tenant_id: uuid.UUID, day: str | None = None) -> str:
    path = f"/api/v1/tenants/{tenant_id}/calendar/holidays"
    return f"{path}/{day}" if day else path


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


# -- a tenant's holidays ---------------------------------------------------------------------------

def test_a_tenant_holiday_moves_only_that_tenants_deadline_and_removing_it_moves_it_back(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    kepala = world.a.principals["kepala"]
    before_b = step5(session_factory, world.b.cycle_id)
    assert step5(session_factory, world.a.cycle_id).due_at == wib(13, 8)

    added = api.post(holidays_path(world.a.tenant_id), kepala,
                     json={"day": "2026-04-09", "name": "Rapat kerja daerah"})
    assert added.status_code == 201, added.get_json()
    assert added.get_json() == {"day": "2026-04-09", "name": "Rapat kerja daerah",
                                "source": "tenant", "cancelled": False, "estimated": False}

    moved = step5(session_factory, world.a.cycle_id)
    assert moved.due_at == wib(14, 8)
    assert moved.due_soon_at == wib(10, 14, 45)
    assert moved.escalate_again_at == wib(15, 8)
    assert moved.next_action_at == moved.due_soon_at  # nothing was sent yet: remind first
    untouched = step5(session_factory, world.b.cycle_id)
    assert (untouched.due_at, untouched.due_soon_at, untouched.escalate_again_at) == (
        before_b.due_at, before_b.due_soon_at, before_b.escalate_again_at)
    assert untouched.due_at == wib(13, 8)

    [row] = audit_rows(session_factory, RECOMPUTED, moved.id)
    assert row.tenant_id == world.a.tenant_id
    assert row.actor_user_id == kepala.user_id
    assert row.before is not None
    assert row.after is not None
    assert datetime.fromisoformat(row.before["due_at"]) == wib(13, 8)
    assert datetime.fromisoformat(row.after["due_at"]) == wib(14, 8)
    assert row.reason is not None
    assert "9 April 2026" in row.reason
    assert audit_rows(session_factory, RECOMPUTED, untouched.id) == []
    [change] = audit_rows(session_factory, "calendar.holiday_added")
    assert change.tenant_id == world.a.tenant_id
    assert change.after == {"day": "2026-04-09", "name": "Rapat kerja daerah",
                            "cancelled": False, "scope": "tenant"}

    removed = api.delete(holidays_path(world.a.tenant_id, "2026-04-09"), kepala)
    assert removed.status_code == 204
    back = step5(session_factory, world.a.cycle_id)
    assert (back.due_at, back.due_soon_at, back.escalate_again_at) == (
        wib(13, 8), wib(9, 14, 45), wib(14, 8))
    rows = audit_rows(session_factory, RECOMPUTED, back.id)
    assert len(rows) == 2
    assert rows[1].after is not None
    assert datetime.fromisoformat(rows[1].after["due_at"]) == wib(13, 8)
    assert len(audit_rows(session_factory, "calendar.holiday_removed")) == 1


def test_a_holiday_outside_the_window_changes_nothing(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    before = step5(session_factory, world.a.cycle_id)
    response = api.post(holidays_path(world.a.tenant_id), world.a.principals["kepala"],
                        json={"day": "2026-04-15", "name": "Libur daerah"})
    assert response.status_code == 201
    after = step5(session_factory, world.a.cycle_id)
    assert (after.due_at, after.due_soon_at, after.escalate_again_at, after.next_action_at) == (
        before.due_at, before.due_soon_at, before.escalate_again_at, before.next_action_at)
    assert audit_rows(session_factory, RECOMPUTED) == []
    assert len(audit_rows(session_factory, "calendar.holiday_added")) == 1


def test_cancelling_a_national_holiday_is_listed_beside_it(
        api: WorkflowApi, world: World) -> None:
    kepala = world.a.principals["kepala"]
    response = api.post(holidays_path(world.a.tenant_id), kepala, json={
        "day": "2026-05-14", "name": "Tetap masuk kerja", "cancelled": True})
    assert response.status_code == 201
    assert response.get_json()["cancelled"] is True

    listed = api.get(f"/api/v1/tenants/{world.a.tenant_id}/calendar?year=2026", kepala)
    assert listed.status_code == 200
    same_day = [h for h in listed.get_json()["holidays"] if h["day"] == "2026-05-14"]
    assert [(h["source"], h["cancelled"]) for h in same_day] == [
        ("national", False), ("tenant", True)]
    other = api.get(f"/api/v1/tenants/{world.b.tenant_id}/calendar?year=2026",
                    world.b.principals["kepala"]).get_json()["holidays"]
    assert [h["source"] for h in other if h["day"] == "2026-05-14"] == ["national"]


def test_a_whole_cycle_extension_keeps_its_deadline_when_a_holiday_is_added(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    kepala = world.a.principals["kepala"]
    with transaction(session_factory) as session:
        grant_extension(session, get_cycle(session, world.a.cycle_id), principal=kepala,
                        at=wib(7, 9), due_at=wib(15, 10), reason="Banyak Bidang sedang dinas luar")
    extended = step5(session_factory, world.a.cycle_id)
    assert extended.due_at == wib(15, 10)

    response = api.post(holidays_path(world.a.tenant_id), kepala,
                        json={"day": "2026-04-09", "name": "Rapat kerja daerah"})
    assert response.status_code == 201
    after = step5(session_factory, world.a.cycle_id)
    assert after.due_at == wib(15, 10)  # the extension is a fixed instant
    assert after.escalate_again_at == wib(16, 10)
    assert after.due_soon_at is not None
    assert extended.due_soon_at is not None
    assert after.due_soon_at > extended.due_soon_at  # the reminder counts working time
    [row] = audit_rows(session_factory, RECOMPUTED, after.id)
    assert row.before is not None
    assert row.after is not None
    assert row.before["due_at"] == row.after["due_at"]
    assert row.before["due_soon_at"] != row.after["due_soon_at"]


# -- office hours ----------------------------------------------------------------------------------

def test_office_hours_change_replans_the_tenants_active_steps(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    kepala = world.a.principals["kepala"]
    path = f"/api/v1/tenants/{world.a.tenant_id}/calendar"
    default = api.get(path, kepala).get_json()
    assert default["time_zone"] == "Asia/Jakarta"
    assert default["office_hours"] == {**{str(d): ["07:30", "16:00"] for d in range(4)},
                                       "4": ["07:30", "16:30"]}
    hours = {**default["office_hours"], "5": ["07:30", "12:00"]}

    response = api.put(path, kepala, json={"time_zone": "Asia/Jakarta", "office_hours": hours})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["office_hours"] == hours
    assert api.get(path, kepala).get_json()["office_hours"] == hours

    moved = step5(session_factory, world.a.cycle_id)
    assert moved.due_at == wib(11, 8)
    assert moved.escalate_again_at == wib(13, 8)
    assert step5(session_factory, world.b.cycle_id).due_at == wib(13, 8)
    [row] = audit_rows(session_factory, RECOMPUTED, moved.id)
    assert row.after is not None
    assert datetime.fromisoformat(row.after["due_at"]) == wib(11, 8)
    [change] = audit_rows(session_factory, "calendar.office_hours_set")
    assert change.before is not None
    assert change.after is not None
    assert change.before["office_hours"] == default["office_hours"]
    assert change.after["office_hours"] == hours


# -- city-wide holidays ----------------------------------------------------------------------------

def test_a_city_holiday_moves_every_dinas_that_does_not_decide_that_day_itself(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    admin = world.city["admin"]
    holiday = {"day": "2026-04-09", "name": "Hari Jadi Kota"}
    assert api.post("/api/v1/calendar/holidays", admin, json=holiday).status_code == 201
    a, b = (step5(session_factory, d.cycle_id) for d in (world.a, world.b))
    assert (a.due_at, b.due_at) == (wib(14, 8), wib(14, 8))
    [city] = audit_rows(session_factory, "calendar.holiday_added")
    assert city.tenant_id is None
    assert city.actor_user_id == admin.user_id

    # Dinas B works that day after all: only B's deadline goes back.
    cancelled = api.post(holidays_path(world.b.tenant_id), world.b.principals["kepala"],
                         json={**holiday, "cancelled": True})
    assert cancelled.status_code == 201, cancelled.get_json()
    assert step5(session_factory, world.b.cycle_id).due_at == wib(13, 8)
    assert step5(session_factory, world.a.cycle_id).due_at == wib(14, 8)
    b_rows = len(audit_rows(session_factory, RECOMPUTED, b.id))
    assert b_rows == 2

    # The city withdraws the holiday, then declares it again: B (its own word) never moves.
    assert api.delete("/api/v1/calendar/holidays/2026-04-09", admin).status_code == 204
    assert step5(session_factory, world.a.cycle_id).due_at == wib(13, 8)
    assert api.post("/api/v1/calendar/holidays", admin, json=holiday).status_code == 201
    assert step5(session_factory, world.a.cycle_id).due_at == wib(14, 8)
    assert step5(session_factory, world.b.cycle_id).due_at == wib(13, 8)
    assert len(audit_rows(session_factory, RECOMPUTED, b.id)) == b_rows
    assert len(audit_rows(session_factory, RECOMPUTED, a.id)) == 3

    listed = api.get("/api/v1/calendar/holidays?year=2026", admin).get_json()
    assert {"day": "2026-04-09", "name": "Hari Jadi Kota", "source": "city",
            "cancelled": False, "estimated": False} in listed["holidays"]


# -- the list administrators see -------------------------------------------------------------------

def test_estimated_national_holidays_are_flagged(api: WorkflowApi, world: World) -> None:
    response = api.get(f"/api/v1/tenants/{world.a.tenant_id}/calendar?year=2027",
                       world.city["inspektur"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["year"] == 2027
    by_day = {h["day"]: h for h in body["holidays"]}
    assert by_day["2027-03-10"] == {"day": "2027-03-10", "name": "Hari Raya Idul Fitri",
                                    "source": "national", "cancelled": False, "estimated": True}
    assert by_day["2027-01-01"]["estimated"] is False
    assert by_day["2027-01-01"]["name"] == "Tahun Baru Masehi"
    assert not any("perkiraan" in h["name"] for h in body["holidays"])


@pytest.mark.parametrize("year", [2026, 2027, 2028, 2035])
def test_the_administrators_list_has_exactly_the_dates_deadlines_count_with(year: int) -> None:
    listed = national_holiday_entries(year)
    assert [e.day for e in listed] == sorted(national_holidays(year))
    assert any(e.estimated for e in listed) == (year != 2026)


# -- refusals --------------------------------------------------------------------------------------

def test_who_may_read_and_change_a_calendar(api: WorkflowApi, world: World) -> None:
    path = f"/api/v1/tenants/{world.a.tenant_id}/calendar"
    hours = {"time_zone": "Asia/Jakarta", "office_hours": {"0": ["08:00", "15:00"]}}
    for reader in (world.a.principals["staf1"], world.city["organisasi"]):
        assert api.get(path, reader).status_code == 200
    assert api.get(path, None).status_code == 401
    # outside the caller's scope: 404, never 403
    for outsider in (world.b.principals["kepala"], world.city["admin"]):
        assert api.get(path, outsider).status_code == 404
        assert api.put(path, outsider, json=hours).status_code == 404
        refused = api.post(holidays_path(world.a.tenant_id), outsider,
                           json={"day": "2026-04-09", "name": "x"})
        assert refused.status_code == 404
    assert api.get(f"/api/v1/tenants/{uuid.uuid4()}/calendar",
                   world.city["inspektur"]).status_code == 404
    # visible, but not theirs to change: 403 in Indonesian
    for reader in (world.a.principals["kasubbag"], world.city["inspektur"]):
        refused = api.put(path, reader, json=hours)
        assert refused.status_code == 403
        assert error_of(refused)["message"] == "Hanya Kepala Dinas yang dapat mengubah jam kerja."
        refused = api.post(holidays_path(world.a.tenant_id), reader,
                           json={"day": "2026-04-09", "name": "x"})
        assert refused.status_code == 403
    for not_admin in (world.a.principals["kepala"], world.city["organisasi"]):
        refused = api.post("/api/v1/calendar/holidays", not_admin,
                           json={"day": "2026-04-09", "name": "x"})
        assert refused.status_code == 403
        assert "Administrator Platform" in error_of(refused)["message"]


def test_invalid_calendars_are_refused_and_change_nothing(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    kepala = world.a.principals["kepala"]
    path = f"/api/v1/tenants/{world.a.tenant_id}/calendar"

    refused = api.put(path, kepala, json={"time_zone": "Asia/Jakarta", "office_hours": {
        "0": ["16:00", "07:30"], "1": ["7.30", "16:00"], "9": ["07:30", "16:00"],
        "2": ["07:30"]}})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["message"] == "Jam kerja tidak valid."
    assert set(error["details"]) == {
        "Jam buka hari Senin (16:00) harus sebelum jam tutup (07:30).",
        "Jam '7.30' pada hari Selasa tidak valid: gunakan format JJ:MM, mis. 07:30.",
        "Hari '9' tidak dikenal: gunakan 0 (Senin) sampai 6 (Minggu).",
        'Jam kerja hari Rabu harus berupa pasangan jam buka dan jam tutup, mis. '
        '["07:30", "16:00"].'}
    closed = api.put(path, kepala, json={"time_zone": "Asia/Jakarta", "office_hours": {}})
    assert error_of(closed)["details"] == [
        "Minimal satu hari kerja dalam seminggu harus mempunyai jam kerja."]
    zone = api.put(path, kepala, json={"time_zone": "Mars/Olympus",
                                       "office_hours": {"0": ["07:30", "16:00"]}})
    assert zone.status_code == 422
    assert "Zona waktu 'Mars/Olympus' tidak dikenal" in error_of(zone)["message"]
    shape = api.put(path, kepala, json={"time_zone": "Asia/Jakarta", "office_hours": "senin",
                                        "extra": 1})
    assert shape.status_code == 422
    assert error_of(shape)["fields"] == {
        "office_hours": ['Jam kerja harus berupa objek, mis. {"0": ["07:30", "16:00"]}.'],
        "extra": ["Isian tidak dikenal."]}

    holidays = holidays_path(world.a.tenant_id)
    bad_day = api.post(holidays, kepala, json={"day": "2026-13-01", "name": "x"})
    assert bad_day.status_code == 422
    assert error_of(bad_day)["fields"] == {
        "day": ["Tanggal harus berformat TTTT-BB-HH, mis. 2026-04-09."]}
    nothing_to_cancel = api.post(holidays, kepala, json={
        "day": "2026-04-08", "name": "x", "cancelled": True})
    assert nothing_to_cancel.status_code == 422
    assert error_of(nothing_to_cancel)["message"] == (
        "Tanggal 8 April 2026 bukan hari libur nasional atau kota, jadi tidak ada yang dapat "
        "dibatalkan.")
    already = api.post(holidays, kepala, json={"day": "2026-04-03", "name": "x"})
    assert already.status_code == 422
    assert error_of(already)["message"] == (
        "Tanggal 3 April 2026 sudah hari libur (Wafat Yesus Kristus).")
    assert api.post(holidays, kepala, json={"day": "2026-04-20", "name": "x"}).status_code == 201
    twice = api.post(holidays, kepala, json={"day": "2026-04-20", "name": "y"})
    assert twice.status_code == 409
    assert "sudah tercatat" in error_of(twice)["message"]
    missing = api.delete(holidays_path(world.a.tenant_id, "2026-04-21"), kepala)
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Hari libur tanggal 21 April 2026 tidak ditemukan."
    assert api.delete(holidays_path(world.a.tenant_id, "21-04-2026"), kepala).status_code == 422
    assert api.get(f"{path}?year=tahun", kepala).status_code == 422

    with session_factory() as session:
        assert session.get(TenantCalendar, world.a.tenant_id) is None
        assert [h.day.isoformat() for h in session.scalars(select(CalendarHoliday))] == [
            "2026-04-20"]
    assert step5(session_factory, world.a.cycle_id).due_at == wib(13, 8)
    assert audit_rows(session_factory, RECOMPUTED) == []
