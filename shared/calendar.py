"""Working time: a tenant's office hours and holidays, and the SOP's durations counted in them.

"1 jam" is one working hour, "1 hari" one working day (DESIGN.md "Calendar edge rules"):
- hours count only office hours; a start outside office hours counts from the next opening;
- N working days end at the same office time on the Nth following working day, clamped to that
  day's office hours;
- holidays are the national holidays and cuti bersama of the `holidays` package (country ID,
  categories public and government), plus additions, minus cancellations.
All inputs and outputs are timezone-aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TIME_ZONE = "Asia/Jakarta"
# Monday=0 ... Sunday=6: Mon-Thu 07:30-16:00, Fri 07:30-16:30, weekend closed.
DEFAULT_OFFICE_HOURS: dict[int, tuple[time, time]] = {
    **{d: (time(7, 30), time(16, 0)) for d in range(4)},
    4: (time(7, 30), time(16, 30)),
}
_MAX_SEARCH_DAYS = 3660  # a calendar with no working day in ten years is a configuration error


class DurationUnit(StrEnum):
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. it has no working day at all)."""


@cache
def national_holidays(year: int) -> dict[date, str]:
    """Indonesia's public holidays and cuti bersama (government) of one year."""
    found = holidays.country_holidays("ID", years=year, categories=("public", "government"))
    return dict(found.items())


@dataclass(frozen=True)
class WorkingCalendar:
    time_zone: str = DEFAULT_TIME_ZONE
    office_hours: dict[int, tuple[time, time]] = field(
        default_factory=lambda: dict(DEFAULT_OFFICE_HOURS)
    )
    added_holidays: frozenset[date] = frozenset()
    cancelled_holidays: frozenset[date] = frozenset()
    use_national_holidays: bool = True

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    # -- days -------------------------------------------------------------------------------
    def is_holiday(self, day: date) -> bool:
        if day in self.cancelled_holidays:
            return False
        return day in self.added_holidays or (
            self.use_national_holidays and day in national_holidays(day.year)
        )

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.office_hours and not self.is_holiday(day)

    def hours_of(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing of a working day, as aware local datetimes."""
        opening, closing = self.office_hours[day.weekday()]
        return (datetime.combine(day, opening, self.tz), datetime.combine(day, closing, self.tz))

    def next_working_day(self, day: date) -> date:
        for offset in range(1, _MAX_SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError("the calendar has no working day")

    # -- instants ---------------------------------------------------------------------------
    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when the office is open then, else the next opening (local time)."""
        local = _aware(at).astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day):
            opening, closing = self.hours_of(day)
            if local < opening:
                return opening
            if local < closing:
                return local
        return self.hours_of(self.next_working_day(day))[0]

    def add(self, start: datetime, amount: int, unit: DurationUnit) -> datetime:
        """`start` plus a duration of the SOP, in UTC."""
        if amount < 0:
            raise CalendarError("a duration cannot be negative")
        if unit is DurationUnit.CALENDAR_DAYS:
            return (_aware(start) + timedelta(days=amount)).astimezone(UTC)
        if unit is DurationUnit.WORKING_HOURS:
            return self.add_working_time(start, timedelta(hours=amount))
        return self.add_working_days(start, amount)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        at = self.next_opening(start)
        remaining = duration
        while True:
            closing = self.hours_of(at.date())[1]
            available = closing - at
            if remaining <= available:
                return (at + remaining).astimezone(UTC)
            remaining -= available
            at = self.hours_of(self.next_working_day(at.date()))[0]

    def add_working_days(self, start: datetime, days: int) -> datetime:
        at = self.next_opening(start)
        day = at.date()
        for _ in range(days):
            day = self.next_working_day(day)
        opening, closing = self.hours_of(day)
        end = datetime.combine(day, at.timetz().replace(tzinfo=None), self.tz)
        return min(max(end, opening), closing).astimezone(UTC)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time from `start` to `end` (zero when `end` is not after `start`)."""
        at, end = self.next_opening(start), _aware(end).astimezone(self.tz)
        total = timedelta()
        while at < end:
            closing = self.hours_of(at.date())[1]
            total += min(closing, end) - at
            at = self.hours_of(self.next_working_day(at.date()))[0]
        return total

    def holidays_between(self, first: date, last: date) -> Iterable[date]:
        day = first
        while day <= last:
            if self.is_holiday(day):
                yield day
            day += timedelta(days=1)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise CalendarError("naive datetime refused: pass a timezone-aware value")
    return value
