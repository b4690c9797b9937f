"""Working-time arithmetic against a deliberately naive oracle that walks the clock minute by
minute, with the holidays read straight from the `holidays` package (not through the code under
test), plus hand-computed cases around Good Friday and Lebaran 2026."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.calendar import DurationUnit, WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
MINUTE = timedelta(minutes=1)
HOURS = {0: (time(7, 30), time(16)), 1: (time(7, 30), time(16)), 2: (time(7, 30), time(16)),
         3: (time(7, 30), time(16)), 4: (time(7, 30), time(16, 30))}
CALENDAR = WorkingCalendar()


@cache
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year,
                                               categories=("public", "government")))


def _holiday(day: date) -> bool:
    return day in _holidays_of(day.year)


def _working_day(day: date) -> bool:
    return day.weekday() in HOURS and not _holiday(day)


def _in_office(t: datetime) -> bool:
    """Is the minute starting at t (local) an office minute?"""
    if not _working_day(t.date()):
        return False
    opening, closing = HOURS[t.weekday()]
    return opening <= t.time() < closing


def oracle_add_minutes(start: datetime, minutes: int) -> datetime:
    t, remaining = start.astimezone(WIB), minutes
    while remaining:
        if _in_office(t):
            remaining -= 1
        t += MINUTE
    return t


def oracle_add_days(start: datetime, days: int) -> datetime:
    t = start.astimezone(WIB)
    while not _in_office(t):  # a start outside office hours counts from the next opening
        t += MINUTE
    day = t.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not _working_day(day):
            day += timedelta(days=1)
    opening, closing = HOURS[day.weekday()]
    at = min(max(t.time(), opening), closing)
    return datetime.combine(day, at, WIB)


# Hypothesis takes naive bounds and local wall-clock times; the zone is attached afterwards.
starts = st.datetimes(min_value=datetime(2025, 12, 1),  # noqa: DTZ001
                      max_value=datetime(2027, 1, 31)).map(  # noqa: DTZ001
    lambda d: d.replace(second=0, microsecond=0, tzinfo=WIB))


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WIB)


@given(start=starts, hours=st.integers(min_value=1, max_value=24))
def test_working_hours_match_the_minute_walk(start, hours):
    due = CALENDAR.add(start, hours, DurationUnit.WORKING_HOURS)
    assert due == oracle_add_minutes(start, hours * 60)
    assert CALENDAR.working_time_between(start, due) == timedelta(hours=hours)


@given(start=starts, days=st.integers(min_value=1, max_value=10))
def test_working_days_match_the_day_walk(start, days):
    due = CALENDAR.add(start, days, DurationUnit.WORKING_DAYS)
    assert due == oracle_add_days(start, days)
    assert due.astimezone(WIB).date() > start.date()


@given(start=starts, days=st.integers(min_value=1, max_value=9))
def test_more_days_never_end_earlier(start, days):
    assert (CALENDAR.add(start, days, DurationUnit.WORKING_DAYS)
            < CALENDAR.add(start, days + 1, DurationUnit.WORKING_DAYS))


@pytest.mark.parametrize(("start", "amount", "unit", "due"), [
    # The example: Thursday 2 April 2026 15.45, before Good Friday: 1 jam -> Monday 08.15.
    (wib(2026, 4, 2, 15, 45), 1, DurationUnit.WORKING_HOURS, wib(2026, 4, 6, 8, 15)),
    # Friday closes at 16.30.
    (wib(2026, 4, 10, 16, 0), 1, DurationUnit.WORKING_HOURS, wib(2026, 4, 13, 8, 0)),
    # Saturday counts from Monday's opening.
    (wib(2026, 4, 11, 10, 0), 1, DurationUnit.WORKING_DAYS, wib(2026, 4, 14, 7, 30)),
    # 5 hari from Monday 6 April 08.00: Monday 13 April 08.00.
    (wib(2026, 4, 6, 8, 0), 5, DurationUnit.WORKING_DAYS, wib(2026, 4, 13, 8, 0)),
    # Friday 16.15 + 1 hari: Monday has no 16.15, clamped to its closing at 16.00.
    (wib(2026, 4, 10, 16, 15), 1, DurationUnit.WORKING_DAYS, wib(2026, 4, 13, 16, 0)),
    # Across Lebaran 2026 (18-24 March holidays and cuti bersama): 1 hari from 17 March.
    (wib(2026, 3, 17, 9, 0), 1, DurationUnit.WORKING_DAYS, wib(2026, 3, 25, 9, 0)),
    # Calendar days ignore office hours.
    (wib(2026, 4, 2, 15, 45), 3, DurationUnit.CALENDAR_DAYS, wib(2026, 4, 5, 15, 45)),
])
def test_hand_computed_deadlines(start, amount, unit, due):
    assert CALENDAR.add(start, amount, unit) == due


def test_added_and_cancelled_holidays_move_deadlines():
    start = datetime(2026, 4, 6, 8, 0, tzinfo=WIB)
    extra_day_off = WorkingCalendar(added_holidays=frozenset({date(2026, 4, 8)}))
    assert extra_day_off.add(start, 5, DurationUnit.WORKING_DAYS) == datetime(
        2026, 4, 14, 8, 0, tzinfo=WIB)
    good_friday_worked = WorkingCalendar(cancelled_holidays=frozenset({date(2026, 4, 3)}))
    assert good_friday_worked.add(datetime(2026, 4, 2, 15, 45, tzinfo=WIB), 1,
                                  DurationUnit.WORKING_HOURS) == datetime(
        2026, 4, 3, 8, 15, tzinfo=WIB)


def test_other_time_zones_keep_their_own_office_hours():
    wita = WorkingCalendar(time_zone="Asia/Makassar")
    start = datetime(2026, 4, 6, 0, 0, tzinfo=ZoneInfo("UTC"))  # 08.00 WITA
    assert wita.add(start, 1, DurationUnit.WORKING_HOURS) == datetime(
        2026, 4, 6, 9, 0, tzinfo=ZoneInfo("Asia/Makassar"))
