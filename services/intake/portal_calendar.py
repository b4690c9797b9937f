"""The portal's working-time calendar pages, on the portal blueprint: the city's holiday list for
the platform_admin (holidays added for the whole city, national holidays and cuti bersama
cancelled when a joint ministerial decree changes them), and a dinas's office hours and local
holidays for its administrators (its kepala_dinas, or its kasubbag_program when delegated).

The calendars are the workflow's: every read and change goes to the workflow calendar API over
HTTP on the user's behalf (`workflow_client`), which checks the role again and re-plans the
deadlines a change touches. A refusal is shown as a message with what is wrong; 403/404 as the
error page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from services.intake.auth import login_required, resources
from services.intake.portal import bp, parse_uuid, signed_in
from services.intake.workflow_client import WorkflowCallError, WorkflowClient
from shared.i18n import format_date
from shared.identity.admin_scope import require_administrator
from shared.identity.models import Tenant
from shared.identity.roles import Role
from shared.web.errors import ServiceError
from shared.web.schemas import MAX_YEAR, MIN_YEAR

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")  # 0 = Senin
TIME_ZONES = (("Asia/Jakarta", "WIB (Asia/Jakarta)"), ("Asia/Makassar", "WITA (Asia/Makassar)"),
              ("Asia/Jayapura", "WIT (Asia/Jayapura)"))
SOURCE_LABELS = {"national": "Nasional", "city": "Seluruh kota", "tenant": "Dinas ini"}
CITY_ONLY_MESSAGE = "Hanya Administrator Platform yang dapat mengubah hari libur seluruh kota."
FIELD_LABELS = {"day": "Tanggal", "name": "Nama", "time_zone": "Zona waktu",
                "office_hours": "Jam kerja", "cancelled": "Pembatalan", "year": "Tahun"}


@dataclass(frozen=True)
class HolidayRow:
    day: date
    day_label: str
    name: str
    source: str
    source_label: str
    cancelled: bool  # this entry makes the day a working day
    estimated: bool
    removable: bool  # an entry of the calendar being edited
    cancellable: bool  # a holiday from above this calendar, not yet cancelled here


@dataclass(frozen=True)
class DayHours:
    weekday: int
    name: str
    open: bool
    opens: str
    closes: str


# -- the city's holidays --------------------------------------------------------------------------

@bp.get("/admin/kota/kalender")
@login_required
def city_calendar() -> ResponseReturnValue:
    _city_keeper()
    year = _year()
    answer = _fetch(lambda c: c.holidays(None, year=year))
    return render_template(
        "portal/calendar_admin.html", scope="city", title="Hari libur seluruh kota",
        year=answer["year"], rows=_rows(answer["holidays"], own="city"), hours=None,
        time_zones=TIME_ZONES, zone=None, tenant=None,
        add_url=url_for("portal.city_holiday_add"),
        remove_endpoint="portal.city_holiday_remove", remove_args={},
        page_endpoint="portal.city_calendar", page_args={})


@bp.post("/admin/kota/kalender/libur")
@login_required
def city_holiday_add() -> ResponseReturnValue:
    _city_keeper()
    return _add_holiday(None, url_for("portal.city_calendar", tahun=_form_year()))


@bp.post("/admin/kota/kalender/libur/<day>/hapus")
@login_required
def city_holiday_remove(day: str) -> ResponseReturnValue:
    _city_keeper()
    return _remove_holiday(None, day, url_for("portal.city_calendar", tahun=_form_year()))


def _city_keeper() -> None:
    if not signed_in().has_role(Role.PLATFORM_ADMIN):
        abort(403, description=CITY_ONLY_MESSAGE)


# -- a dinas's office hours and holidays ----------------------------------------------------------

@bp.get("/admin/dinas/<tenant_id>/kalender")
@login_required
def tenant_calendar(tenant_id: str) -> ResponseReturnValue:
    tenant = _administered(tenant_id)
    year = _year()
    answer = _fetch(lambda c: c.holidays(tenant.id, year=year))
    return render_template(
        "portal/calendar_admin.html", scope="tenant", title=f"Kalender kerja {tenant.name}",
        year=answer["year"], rows=_rows(answer["holidays"], own="tenant"),
        hours=_hours(answer["office_hours"]), time_zones=TIME_ZONES, zone=answer["time_zone"],
        tenant=tenant, add_url=url_for("portal.tenant_holiday_add", tenant_id=tenant.id),
        remove_endpoint="portal.tenant_holiday_remove", remove_args={"tenant_id": tenant.id},
        page_endpoint="portal.tenant_calendar", page_args={"tenant_id": tenant.id})


@bp.post("/admin/dinas/<tenant_id>/kalender/jam-kerja")
@login_required
def tenant_office_hours(tenant_id: str) -> ResponseReturnValue:
    tenant = _administered(tenant_id)
    back = url_for("portal.tenant_calendar", tenant_id=tenant.id, _anchor="jam-kerja")
    hours = office_hours_from_form(request.form)
    _act(lambda c: c.set_office_hours(tenant.id, time_zone=request.form.get("time_zone", ""),
                                      office_hours=hours),
         "Jam kerja disimpan; batas waktu langkah yang berjalan dihitung ulang.")
    return redirect(back, code=303)


@bp.post("/admin/dinas/<tenant_id>/kalender/libur")
@login_required
def tenant_holiday_add(tenant_id: str) -> ResponseReturnValue:
    tenant = _administered(tenant_id)
    return _add_holiday(tenant.id, url_for("portal.tenant_calendar", tenant_id=tenant.id,
                                           tahun=_form_year()))


@bp.post("/admin/dinas/<tenant_id>/kalender/libur/<day>/hapus")
@login_required
def tenant_holiday_remove(tenant_id: str, day: str) -> ResponseReturnValue:
    tenant = _administered(tenant_id)
    return _remove_holiday(tenant.id, day, url_for("portal.tenant_calendar",
                                                   tenant_id=tenant.id, tahun=_form_year()))


def _administered(tenant_id: str) -> Tenant:
    """The dinas, when the signed-in user administers it (another dinas: 404; a member who
    does not administer it: 403)."""
    tid = parse_uuid(tenant_id)
    with resources().session_factory() as session:
        try:
            return require_administrator(session, signed_in(), tid)
        except ServiceError as exc:
            abort(exc.status, description=exc.message)


def office_hours_from_form(form: Any) -> dict[str, list[str]]:
    """{"0": ["07:30", "16:00"], ...} from the form's per-day fields (a day not ticked open is
    left out: closed). The workflow checks the times themselves."""
    hours: dict[str, list[str]] = {}
    for weekday in range(7):
        if form.get(f"open_{weekday}"):
            hours[str(weekday)] = [form.get(f"opens_{weekday}", "").strip(),
                                   form.get(f"closes_{weekday}", "").strip()]
    return hours


# -- helpers -------------------------------------------------------------------------------------

def _client() -> WorkflowClient:
    return WorkflowClient(resources().settings, signed_in())


def _fetch(call: Callable[[WorkflowClient], Any]) -> Any:
    try:
        return call(_client())
    except WorkflowCallError as exc:
        abort(exc.status, description=exc.message)


def _act(call: Callable[[WorkflowClient], Any], success: str) -> bool:
    try:
        call(_client())
    except WorkflowCallError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        flash(exc.message, "error")
        for detail in exc.details:
            flash(detail, "error-detail")
        for name, messages in exc.fields.items():
            flash(f"{FIELD_LABELS.get(name, name)}: {' '.join(messages)}", "error-detail")
        return False
    flash(success, "success")
    return True


def _add_holiday(tenant_id: uuid.UUID | None, back: str) -> ResponseReturnValue:
    form = request.form
    try:
        day = date.fromisoformat(form.get("day", ""))
    except ValueError:
        flash("Isi tanggal dengan benar (TTTT-BB-HH).", "error")
        return redirect(back, code=303)
    cancelled = form.get("cancelled") == "1"
    name = form.get("name", "").strip()
    _act(lambda c: c.add_holiday(tenant_id, day=day, name=name, cancelled=cancelled),
         f"{format_date(day)}: hari libur nasional dibatalkan (menjadi hari kerja)."
         if cancelled else f"{format_date(day)}: {name} ditambahkan sebagai hari libur.")
    return redirect(back, code=303)


def _remove_holiday(tenant_id: uuid.UUID | None, day: str, back: str) -> ResponseReturnValue:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    _act(lambda c: c.remove_holiday(tenant_id, parsed),
         f"Entri tanggal {format_date(parsed)} dihapus dari kalender.")
    return redirect(back, code=303)


def _rows(holidays: list[dict[str, Any]], *, own: str) -> list[HolidayRow]:
    """The year's list as administrators act on it: the entries of the calendar being edited
    can be removed; a holiday from above it (national, or the city's for a dinas) can be
    cancelled here unless this calendar already has an entry for that day."""
    own_days = {h["day"] for h in holidays if h["source"] == own}
    rows = []
    for h in holidays:
        day = date.fromisoformat(h["day"])
        rows.append(HolidayRow(
            day=day, day_label=format_date(day), name=h["name"], source=h["source"],
            source_label=SOURCE_LABELS.get(h["source"], h["source"]),
            cancelled=bool(h["cancelled"]), estimated=bool(h.get("estimated")),
            removable=h["source"] == own,
            cancellable=h["source"] != own and not h["cancelled"]
            and h["day"] not in own_days))
    return rows


def _hours(office_hours: dict[str, list[str]]) -> list[DayHours]:
    return [DayHours(weekday=d, name=DAY_NAMES[d], open=str(d) in office_hours,
                     opens=office_hours.get(str(d), ["07:30", "16:00"])[0],
                     closes=office_hours.get(str(d), ["07:30", "16:00"])[1])
            for d in range(7)]


def _year() -> int | None:
    raw = request.args.get("tahun", "")
    if raw.isdigit() and MIN_YEAR <= int(raw) <= MAX_YEAR:
        return int(raw)
    return None


def _form_year() -> int | None:
    raw = request.form.get("year", "")
    return int(raw) if raw.isdigit() and MIN_YEAR <= int(raw) <= MAX_YEAR else None
