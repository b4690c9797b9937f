"""A tenant's working-time calendar, read from the workflow's tables."""

from __future__ import annotations

import uuid
from datetime import time

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.calendar import DEFAULT_OFFICE_HOURS, DEFAULT_TIME_ZONE, WorkingCalendar
from shared.cycles.models import CalendarHoliday, TenantCalendar


def calendar_for(session: Session, tenant_id: uuid.UUID) -> WorkingCalendar:
    """Office hours and time zone of the tenant (defaults when unset), the national holidays,
    and the holidays added or cancelled city-wide and by the tenant (the tenant's word wins)."""
    config = session.get(TenantCalendar, tenant_id)
    rows = session.scalars(
        select(CalendarHoliday)
        .where(or_(CalendarHoliday.tenant_id.is_(None), CalendarHoliday.tenant_id == tenant_id))
        .order_by(CalendarHoliday.tenant_id.is_not(None))  # city-wide first, tenant overrides
    ).all()
    decided = {row.day: row.cancelled for row in rows}
    return WorkingCalendar(
        time_zone=config.time_zone if config else DEFAULT_TIME_ZONE,
        office_hours=_office_hours(config.office_hours) if config else dict(DEFAULT_OFFICE_HOURS),
        added_holidays=frozenset(day for day, cancelled in decided.items() if not cancelled),
        cancelled_holidays=frozenset(day for day, cancelled in decided.items() if cancelled),
    )


def _office_hours(stored: dict[str, list[str]]) -> dict[int, tuple[time, time]]:
    """{"0": ["07:30", "16:00"], ...} (Monday = 0) as times."""
    return {int(day): (time.fromisoformat(hours[0]), time.fromisoformat(hours[1]))
            for day, hours in stored.items()}
