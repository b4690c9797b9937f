"""The working-time calendars as administrators keep them: a tenant's time zone and office hours
and the holidays added or national dates cancelled for one tenant (whoever administers the dinas:
its kepala_dinas, or its kasubbag_program when delegated), those of the whole city (the
platform_admin), and the holiday list of a year as administrators see it
(national dates the `holidays` package only estimates are flagged).

Every change is audited and then recomputes the deadline plan of the active steps whose window it
touches (DESIGN.md "Calendar edge rules"), each moved step with an audit row of its own. No event
is emitted: every reader of a deadline (intake's collection window, the portal, the scheduler)
reads `cycle_steps` itself, and the steps' audit rows record the move.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from babel.dates import get_day_names
from sqlalchemy import exists, false, or_, select
from sqlalchemy.orm import Session

from services.workflow import deadlines
from services.workflow.cycles import SERVICE, actor_of, require_role
from shared import audit
from shared.calendar import (
    DEFAULT_OFFICE_HOURS,
    DEFAULT_TIME_ZONE,
    WorkingCalendar,
)
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.models import (
    CalendarHoliday,
    CollectionExtension,
    Cycle,
    CycleState,
    CycleStep,
    StepState,
    TenantCalendar,
)
from shared.cycles.templates import cycle_definition
from shared.i18n import LOCALE, format_date
from shared.identity.admin_scope import can_administer
from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import Conflict, Invalid, NotAllowed, NotFound
from shared.web.schemas import MAX_YEAR, MIN_YEAR, YEAR_MESSAGE

CALENDAR_KEEPERS = (Role.KEPALA_DINAS,)  # and whoever administers the dinas (admin_scope)
CITY_CALENDAR_KEEPER = Role.PLATFORM_ADMIN
MAX_NAME = 255
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DAY_NAMES: dict[int, str] = dict(get_day_names("wide", locale=LOCALE))  # 0 = Senin
PLAN_FIELDS = ("due_at", "due_soon_at", "escalate_again_at", "next_action_at", "alert_stage",
               "overdue_since")
_DEADLINE_FIELDS = ("due_at", "due_soon_at", "escalate_again_at")


class HolidaySource(StrEnum):
    NATIONAL = "national"  # the `holidays` package: public holidays and cuti bersama
    CITY = "city"  # added or cancelled city-wide by the platform_admin
    TENANT = "tenant"  # added or cancelled by the tenant's kepala_dinas


@dataclass(frozen=True)
class HolidayEntry:
    """One line of the holiday list. `cancelled` is the entry's own flag: a city or tenant
    entry with it makes a national (or city) holiday a working day after all."""

    day: date
    name: str
    source: HolidaySource
    cancelled: bool = False
    estimated: bool = False


@dataclass(frozen=True)
class OfficeHours:
    """A tenant's time zone and office hours ({"0": ["07:30", "16:00"], ...}, Monday = 0)."""

    time_zone: str
    office_hours: dict[str, list[str]]


@dataclass(frozen=True)
class CalendarView:
    """What administrators see of a tenant's calendar for one year."""

    year: int
    time_zone: str
    office_hours: dict[str, list[str]]
    holidays: list[HolidayEntry]


# -- reading --------------------------------------------------------------------------------------

def tenant_calendar(session: Session, tenant_id: uuid.UUID, *, year: int | None,
                    at: datetime) -> CalendarView:
    """The tenant's office hours and its holiday list of `year` (None: the year `at` falls in,
    in the tenant's time zone)."""
    _require_tenant(session, tenant_id)
    hours = office_hours_of(session, tenant_id)
    shown = year if year is not None else at.astimezone(ZoneInfo(hours.time_zone)).year
    require_year(shown)
    return CalendarView(year=shown, time_zone=hours.time_zone, office_hours=hours.office_hours,
                        holidays=holiday_list(session, tenant_id, shown))


def office_hours_of(session: Session, tenant_id: uuid.UUID) -> OfficeHours:
    config = session.get(TenantCalendar, tenant_id)
    if config is None:
        return OfficeHours(DEFAULT_TIME_ZONE, _stored(DEFAULT_OFFICE_HOURS))
    return OfficeHours(config.time_zone, {k: list(v) for k, v in
                                          sorted(config.office_hours.items())})


def holiday_list(session: Session, tenant_id: uuid.UUID | None, year: int) -> list[HolidayEntry]:
    """The national holidays of `year`, the city's entries and (for a tenant) the tenant's own,
    ordered by day (national, city, tenant on the same day)."""
    query = select(CalendarHoliday).where(CalendarHoliday.day >= date(year, 1, 1),
                                          CalendarHoliday.day <= date(year, 12, 31))
    scope = or_(CalendarHoliday.tenant_id.is_(None),
                false() if tenant_id is None else CalendarHoliday.tenant_id == tenant_id)
    manual = [HolidayEntry(day=row.day, name=row.name, cancelled=row.cancelled,
                           source=HolidaySource.CITY if row.tenant_id is None
                           else HolidaySource.TENANT)
              for row in session.scalars(query.where(scope))]
    order = list(HolidaySource)
    return sorted([*national_holiday_entries(year), *manual],
                  key=lambda e: (e.day, order.index(e.source)))


@cache
def national_holiday_entries(year: int) -> tuple[HolidayEntry, ...]:
    """Indonesia's public holidays and cuti bersama of `year`, named in Indonesian; a date the
    package computes from a lunar calendar it has no official table for is `estimated` (the
    package marks those with its "(perkiraan)" label, which is removed from the name here)."""
    found = holidays.country_holidays("ID", years=year, categories=("public", "government"),
                                      language="id")
    labels = [_label_pattern(found.tr(label)) for label in
              (found.estimated_label, found.observed_estimated_label) if label]
    entries = []
    for day, joined in sorted(found.items()):
        names, estimated = [], False
        for name in joined.split("; "):  # the package joins the names of one date with "; "
            bare = next((m.group(1) for p in labels if (m := p.match(name))), None)
            estimated = estimated or bare is not None
            names.append(bare or name)
        entries.append(HolidayEntry(day=day, name="; ".join(names), estimated=estimated,
                                    source=HolidaySource.NATIONAL))
    return tuple(entries)


def _label_pattern(label: str) -> re.Pattern[str]:
    """"%s (perkiraan)" as a pattern capturing the name."""
    before, _, after = label.partition("%s")
    return re.compile(f"^{re.escape(before)}(.+){re.escape(after)}$")


# -- office hours ---------------------------------------------------------------------------------

def set_office_hours(session: Session, tenant_id: uuid.UUID, time_zone: str,
                     office_hours: Mapping[Any, Any], *, principal: Principal | None,
                     at: datetime) -> OfficeHours:
    """The dinas's administrator sets its time zone and office hours (a weekday left out is
    closed); every active step of the tenant is re-planned."""
    _require_tenant_keeper(session, principal, tenant_id, "mengubah jam kerja")
    _require_tenant(session, tenant_id)
    zone = validate_time_zone(time_zone)
    hours = validate_office_hours(office_hours)
    before = office_hours_of(session, tenant_id)
    after = OfficeHours(zone, _stored(hours))
    if before == after:
        return before
    config = session.get(TenantCalendar, tenant_id)
    if config is None:
        config = TenantCalendar(tenant_id=tenant_id)
        session.add(config)
    config.time_zone, config.office_hours, config.updated_at = zone, after.office_hours, at
    session.flush()
    audit.record(session, service=SERVICE, action="calendar.office_hours_set",
                 target_type="tenant_calendar", target_id=tenant_id, tenant_id=tenant_id,
                 **actor_of(principal), before=_office_hours_audit(before),
                 after=_office_hours_audit(after))
    recompute_deadlines(session, tenant_ids=[tenant_id], changed_days=None, at=at,
                        principal=principal, reason="Jam kerja atau zona waktu diubah.")
    return after


def validate_time_zone(name: str) -> str:
    text = (name or "").strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Zona waktu {text!r} tidak dikenal: gunakan nama zona IANA, "
                      "mis. Asia/Jakarta, Asia/Makassar atau Asia/Jayapura.") from None
    return text


def validate_office_hours(office_hours: Mapping[Any, Any]) -> dict[int, tuple[time, time]]:
    """{"0": ["07:30", "16:00"], ...} (Monday = 0) checked and parsed; Invalid lists every
    problem."""
    problems: list[str] = []
    hours: dict[int, tuple[time, time]] = {}
    for key, value in office_hours.items():
        weekday = _weekday(key)
        if weekday is None:
            problems.append(f"Hari {key!r} tidak dikenal: gunakan 0 (Senin) sampai 6 (Minggu).")
            continue
        if weekday in hours:
            problems.append(f"Hari {DAY_NAMES[weekday]} disebut lebih dari sekali.")
            continue
        name = DAY_NAMES[weekday]
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(isinstance(v, str) for v in value)):
            problems.append(f"Jam kerja hari {name} harus berupa pasangan jam buka dan jam "
                            'tutup, mis. ["07:30", "16:00"].')
            continue
        wrong = [v for v in value if not _HH_MM.match(v)]
        if wrong:
            problems.extend(f"Jam {v!r} pada hari {name} tidak valid: gunakan format JJ:MM, "
                            "mis. 07:30." for v in wrong)
            continue
        opening, closing = (time.fromisoformat(v) for v in value)
        if opening >= closing:
            problems.append(f"Jam buka hari {name} ({value[0]}) harus sebelum jam tutup "
                            f"({value[1]}).")
            continue
        hours[weekday] = (opening, closing)
    if not problems and not hours:
        problems.append("Minimal satu hari kerja dalam seminggu harus mempunyai jam kerja.")
    if problems:
        raise Invalid("Jam kerja tidak valid.", problems)
    return dict(sorted(hours.items()))


def _weekday(key: Any) -> int | None:
    text = str(key).strip()
    return int(text) if text in {str(d) for d in range(7)} else None


def _stored(hours: Mapping[int, tuple[time, time]]) -> dict[str, list[str]]:
    return {str(day): [opening.strftime("%H:%M"), closing.strftime("%H:%M")]
            for day, (opening, closing) in sorted(hours.items())}


def _office_hours_audit(hours: OfficeHours) -> dict[str, Any]:
    return {"time_zone": hours.time_zone, "office_hours": hours.office_hours}


# -- holidays -------------------------------------------------------------------------------------

def add_holiday(session: Session, *, tenant_id: uuid.UUID | None, day: date, name: str,
                cancelled: bool = False, principal: Principal | None,
                at: datetime) -> CalendarHoliday:
    """A holiday for one tenant (its kepala_dinas) or the whole city (tenant_id None, the
    platform_admin); with `cancelled`, a national (or, for a tenant, city) holiday that is a
    working day after all. The active steps whose window covers the day are re-planned."""
    _require_keeper(session, principal, tenant_id)
    label = (name or "").strip()
    if not label:
        raise Invalid("Nama hari libur wajib diisi.")
    if len(label) > MAX_NAME:
        raise Invalid(f"Nama hari libur paling panjang {MAX_NAME} karakter.")
    require_year(day.year)
    shown = format_date(day)
    if _manual_row(session, tenant_id, day) is not None:
        raise Conflict(f"Tanggal {shown} sudah tercatat di kalender ini; hapus dulu "
                       "sebelum mengubahnya.")
    underlying = _underlying_holiday(session, tenant_id, day)
    where = "nasional atau kota" if tenant_id is not None else "nasional"
    if cancelled and underlying is None:
        raise Invalid(f"Tanggal {shown} bukan hari libur {where}, jadi tidak ada yang dapat "
                      "dibatalkan.")
    if not cancelled and underlying is not None:
        raise Invalid(f"Tanggal {shown} sudah hari libur ({underlying}).")
    row = CalendarHoliday(tenant_id=tenant_id, day=day, name=label, cancelled=cancelled,
                          created_at=at)
    session.add(row)
    session.flush()
    audit.record(session, service=SERVICE, action="calendar.holiday_added",
                 target_type="calendar_holiday", target_id=row.id, tenant_id=tenant_id,
                 **actor_of(principal), after=_holiday_audit(row))
    what = (f"Hari libur {underlying} pada {shown} dibatalkan (menjadi hari kerja)"
            if cancelled else f"Hari libur {label} ditambahkan pada {shown}")
    _recompute_for_day(session, tenant_id, day, at=at, principal=principal,
                       reason=f"{what}{_scope_words(tenant_id)}.")
    return row


def remove_holiday(session: Session, *, tenant_id: uuid.UUID | None, day: date,
                   principal: Principal | None, at: datetime) -> None:
    """Delete a holiday (or a cancellation) added by hand; the day is again what the national
    (and city) calendar says, and the active steps whose window covers it are re-planned."""
    _require_keeper(session, principal, tenant_id)
    shown = format_date(day)
    row = _manual_row(session, tenant_id, day)
    if row is None:
        raise NotFound(f"Hari libur tanggal {shown}")
    before = _holiday_audit(row)
    session.delete(row)
    session.flush()
    audit.record(session, service=SERVICE, action="calendar.holiday_removed",
                 target_type="calendar_holiday", target_id=row.id, tenant_id=tenant_id,
                 **actor_of(principal), before=before)
    what = (f"Pembatalan hari libur pada {shown} dihapus" if row.cancelled
            else f"Hari libur {row.name} pada {shown} dihapus")
    _recompute_for_day(session, tenant_id, day, at=at, principal=principal,
                       reason=f"{what}{_scope_words(tenant_id)}.")


def _require_keeper(session: Session, principal: Principal | None,
                    tenant_id: uuid.UUID | None) -> None:
    if tenant_id is not None:
        _require_tenant_keeper(session, principal, tenant_id, "mengubah hari libur")
        _require_tenant(session, tenant_id)
    elif principal is not None and not principal.has_role(CITY_CALENDAR_KEEPER):
        raise NotAllowed(f"Hanya {CITY_CALENDAR_KEEPER.label} yang dapat mengubah hari libur "
                         "seluruh kota.")


def _require_tenant_keeper(session: Session, principal: Principal | None,
                           tenant_id: uuid.UUID, what: str) -> None:
    """The kepala_dinas, or the kasubbag_program when the administration of the dinas is
    delegated to them (shared.identity.admin_scope)."""
    if principal is not None and can_administer(session, principal, tenant_id):
        return
    require_role(principal, tenant_id, CALENDAR_KEEPERS, what)


def _require_tenant(session: Session, tenant_id: uuid.UUID) -> None:
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("Perangkat daerah")


def require_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(YEAR_MESSAGE)


def _manual_row(session: Session, tenant_id: uuid.UUID | None,
                day: date) -> CalendarHoliday | None:
    scope = (CalendarHoliday.tenant_id.is_(None) if tenant_id is None
             else CalendarHoliday.tenant_id == tenant_id)
    return session.scalars(select(CalendarHoliday).where(scope, CalendarHoliday.day == day)
                           .with_for_update()).first()


def _underlying_holiday(session: Session, tenant_id: uuid.UUID | None, day: date) -> str | None:
    """The holiday `day` is without the entries of the scope being changed: for a tenant, the
    national calendar as the city amends it; for the city, the national calendar."""
    if tenant_id is not None:
        city = _manual_row(session, None, day)
        if city is not None:
            return None if city.cancelled else city.name
    return next((e.name for e in national_holiday_entries(day.year) if e.day == day), None)


def _holiday_audit(row: CalendarHoliday) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "name": row.name, "cancelled": row.cancelled,
            "scope": HolidaySource.TENANT.value if row.tenant_id else HolidaySource.CITY.value}


def _scope_words(tenant_id: uuid.UUID | None) -> str:
    return "" if tenant_id is not None else " untuk seluruh kota"


def _recompute_for_day(session: Session, tenant_id: uuid.UUID | None, day: date, *,
                       at: datetime, principal: Principal | None, reason: str) -> None:
    """A tenant's change touches that tenant; a city-wide one every tenant that has no entry of
    its own for the day (the tenant's word wins)."""
    if tenant_id is not None:
        tenant_ids: list[uuid.UUID] = [tenant_id]
    else:
        own_entry = exists().where(CalendarHoliday.tenant_id == Tenant.id,
                                   CalendarHoliday.day == day)
        tenant_ids = list(session.scalars(select(Tenant.id).where(~own_entry)))
    recompute_deadlines(session, tenant_ids=tenant_ids, changed_days={day}, at=at,
                        principal=principal, reason=reason)


# -- recomputing deadlines ------------------------------------------------------------------------

def recompute_deadlines(session: Session, *, tenant_ids: Iterable[uuid.UUID],
                        changed_days: Collection[date] | None, at: datetime,
                        principal: Principal | None,
                        reason: str | None = None) -> list[CycleStep]:
    """Re-plan the active steps of the tenants whose window covers a changed day (None: every
    active step), from their start with the template's duration in the tenant's calendar as it
    is now. A whole-cycle extension of the collection keeps its fixed deadline (only its reminder
    and second escalation move). Each step whose plan moved gets an audit row; the moved steps
    are returned."""
    ids = list(dict.fromkeys(tenant_ids))
    if not ids:
        return []
    rows = session.execute(
        select(CycleStep, Cycle).join(Cycle, Cycle.id == CycleStep.cycle_id)
        .where(CycleStep.tenant_id.in_(ids), CycleStep.state == StepState.ACTIVE,
               Cycle.state == CycleState.ACTIVE, CycleStep.started_at.is_not(None))
        .order_by(CycleStep.id).with_for_update(of=CycleStep)).all()
    why = reason or _default_reason(changed_days)
    calendars: dict[uuid.UUID, WorkingCalendar] = {}
    moved = []
    for step, cycle in rows:
        calendar = calendars.get(step.tenant_id)
        if calendar is None:
            calendar = calendars[step.tenant_id] = calendar_for(session, step.tenant_id)
        before = {f: getattr(step, f) for f in PLAN_FIELDS}
        probe = _replanned(session, step, cycle, calendar, at)
        after = {f: getattr(probe, f) for f in PLAN_FIELDS}
        if all(before[f] == after[f] for f in _DEADLINE_FIELDS):
            continue
        if changed_days is not None and not _window_covers(step, before, after, calendar,
                                                           changed_days):
            continue
        for name, value in after.items():
            setattr(step, name, value)
        audit.record(session, service=SERVICE, action="step.deadline_recomputed",
                     target_type="step", target_id=step.id, tenant_id=step.tenant_id,
                     **actor_of(principal), before=_deadline_audit(step.number, before),
                     after=_deadline_audit(step.number, after), reason=why)
        moved.append(step)
    session.flush()
    return moved


def _replanned(session: Session, step: CycleStep, cycle: Cycle, calendar: WorkingCalendar,
               at: datetime) -> CycleStep:
    """A detached copy of `step` with its plan as the calendar gives it now."""
    assert step.started_at is not None
    definition = cycle_definition(session, cycle)
    duration = definition.step(step.number).duration
    fixed = _whole_cycle_extension(session, step) if step.number == COLLECTION_STEP else None
    probe = CycleStep(number=step.number, started_at=step.started_at,
                      alert_stage=step.alert_stage, overdue_since=step.overdue_since)
    deadlines.plan(probe, definition=definition, calendar=calendar, at=at,
                   due_at=fixed or calendar.add(step.started_at, duration.amount, duration.unit))
    return probe


def _whole_cycle_extension(session: Session, step: CycleStep) -> datetime | None:
    """The collection deadline a whole-cycle extension fixed since the step (last) started."""
    return session.scalars(select(CollectionExtension.due_at).where(
        CollectionExtension.cycle_id == step.cycle_id, CollectionExtension.bidang_id.is_(None),
        CollectionExtension.granted_at >= step.started_at)
        .order_by(CollectionExtension.due_at.desc())).first()


def _window_covers(step: CycleStep, before: Mapping[str, Any], after: Mapping[str, Any],
                   calendar: WorkingCalendar, days: Collection[date]) -> bool:
    """Does a changed day fall between the step's start and the last instant of its plan (the
    old plan or the new one)?"""
    assert step.started_at is not None
    ends = [v for plan in (before, after) for f in ("due_at", "escalate_again_at")
            if (v := plan[f]) is not None]
    first = step.started_at.astimezone(calendar.tz).date()
    last = max(ends).astimezone(calendar.tz).date() if ends else first
    return any(first <= day <= last for day in days)


def _deadline_audit(number: int, plan: Mapping[str, Any]) -> dict[str, Any]:
    return {"number": number, **{f: plan[f].isoformat() if plan[f] is not None else None
                                 for f in _DEADLINE_FIELDS}}


def _default_reason(days: Collection[date] | None) -> str:
    if not days:
        return "Kalender kerja diubah."
    return "Kalender kerja diubah pada " + ", ".join(format_date(d) for d in sorted(days)) + "."
