"""The calendar endpoints of the workflow API (/api/v1): a tenant's office hours and holiday list,
changed by its kepala_dinas, and the city-wide holidays kept by the platform_admin. Every change
re-plans the deadlines it touches (services.workflow.calendars).

Visibility: whoever may read the tenant reads its calendar (bagian_organisasi and inspektur read
every tenant); another tenant's calendar answers 404; a visible calendar the caller's role may not
change answers 403.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from services.workflow import calendars
from services.workflow.calendars import HolidaySource
from shared.calendar import DEFAULT_TIME_ZONE
from shared.clock import now
from shared.web.api_http import invalid, json_body, unit_of_work
from shared.web.openapi import documented
from shared.web.schemas import MAX_YEAR, MIN_YEAR, REQUIRED, YEAR_MESSAGE, StrictSchema, text
from shared.web.service_auth import caller, principal_required, require_visible_tenant

bp = Blueprint("calendar", __name__, url_prefix="/api/v1")

TENANT = "Perangkat daerah"
DAY_FORMAT = "Tanggal harus berformat TTTT-BB-HH, mis. 2026-04-09."
YEAR_QUERY = {"year": ("integer", "Tahun daftar hari libur (bawaan: tahun berjalan).")}


# -- schemas --------------------------------------------------------------------------------------

def _hours_field(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String(error_messages={"invalid": "Harus berupa teks."}),
                           error_messages={"invalid": 'Harus berupa pasangan jam buka dan jam '
                                                      'tutup, mis. ["07:30", "16:00"].'}),
        metadata={"description": 'Hari (0 = Senin ... 6 = Minggu) -> ["JJ:MM" buka, "JJ:MM" '
                                 "tutup]; hari yang tidak disebut adalah hari libur.",
                  "example": {"0": ["07:30", "16:00"], "4": ["07:30", "16:30"]}},
        **kwargs)


class HolidaySchema(Schema):
    day = fields.Date(required=True)
    name = fields.String(required=True)
    source = fields.String(required=True, validate=validate.OneOf([s.value for s in HolidaySource]),
                           metadata={"description": "national: paket `holidays` (libur nasional "
                                                    "dan cuti bersama); city: seluruh kota; "
                                                    "tenant: perangkat daerah ini"})
    cancelled = fields.Boolean(required=True, metadata={
        "description": "true: tanggal libur nasional (atau kota) ini tetap hari kerja"})
    estimated = fields.Boolean(required=True, metadata={
        "description": "true: tanggal libur nasional ini masih perkiraan (kalender bulan)"})


class CalendarSchema(Schema):
    year = fields.Integer(required=True, metadata={"description": "tahun daftar hari libur"})
    time_zone = fields.String(required=True, metadata={"example": DEFAULT_TIME_ZONE})
    office_hours = _hours_field(required=True)
    holidays = fields.List(fields.Nested(HolidaySchema), required=True)


class HolidayListSchema(Schema):
    year = fields.Integer(required=True)
    holidays = fields.List(fields.Nested(HolidaySchema), required=True)


class OfficeHoursRequest(StrictSchema):
    time_zone = text(64, metadata={"description": "nama zona IANA", "example": DEFAULT_TIME_ZONE})
    office_hours = _hours_field(required=True, error_messages={
        **REQUIRED, "invalid": 'Jam kerja harus berupa objek, mis. {{"0": ["07:30", "16:00"]}}.'})


class HolidayRequest(StrictSchema):
    day = fields.Date(required=True, error_messages={**REQUIRED, "invalid": DAY_FORMAT})
    name = text(calendars.MAX_NAME)
    cancelled = fields.Boolean(load_default=False, error_messages={
        "invalid": "Harus berupa true atau false."}, metadata={
        "description": "true: tanggal libur nasional (atau kota) ini menjadi hari kerja"})


# -- a tenant's calendar --------------------------------------------------------------------------

@bp.get("/tenants/<uuid:tenant_id>/calendar")
@principal_required
@documented(summary="Kalender kerja perangkat daerah: zona waktu, jam kerja, hari libur setahun",
            responses={200: ("Kalender", CalendarSchema)}, errors=(404, 422), query=YEAR_QUERY)
def get_calendar(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    require_visible_tenant(principal, tenant_id, TENANT)
    year = _year_arg()
    with unit_of_work() as session:
        view = calendars.tenant_calendar(session, tenant_id, year=year, at=now())
        return CalendarSchema().dump(view)


@bp.put("/tenants/<uuid:tenant_id>/calendar")
@principal_required
@documented(summary="Ubah zona waktu dan jam kerja (Kepala Dinas)",
            description="Batas waktu langkah yang sedang berjalan dihitung ulang.",
            body=OfficeHoursRequest, responses={200: ("Kalender", CalendarSchema)},
            errors=(403, 404, 415, 422))
def put_calendar(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    require_visible_tenant(principal, tenant_id, TENANT)
    body = json_body(OfficeHoursRequest)
    at = now()
    with unit_of_work() as session:
        calendars.set_office_hours(session, tenant_id, body["time_zone"], body["office_hours"],
                                   principal=principal, at=at)
        return CalendarSchema().dump(calendars.tenant_calendar(session, tenant_id, year=None,
                                                               at=at))


@bp.post("/tenants/<uuid:tenant_id>/calendar/holidays")
@principal_required
@documented(summary="Tambah hari libur, atau batalkan libur nasional (Kepala Dinas)",
            description="Batas waktu langkah yang rentangnya mencakup tanggal itu dihitung ulang.",
            body=HolidayRequest, responses={201: ("Hari libur", HolidaySchema)},
            errors=(403, 404, 409, 415, 422))
def post_tenant_holiday(tenant_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    require_visible_tenant(principal, tenant_id, TENANT)
    return _add(tenant_id)


@bp.delete("/tenants/<uuid:tenant_id>/calendar/holidays/<day>")
@principal_required
@documented(summary="Hapus hari libur (atau pembatalannya) yang ditambahkan (Kepala Dinas)",
            responses={204: ("Dihapus", None)}, errors=(403, 404, 422))
def delete_tenant_holiday(tenant_id: uuid.UUID, day: str) -> ResponseReturnValue:
    principal = caller()
    require_visible_tenant(principal, tenant_id, TENANT)
    return _remove(tenant_id, day)


# -- city-wide holidays ---------------------------------------------------------------------------

@bp.get("/calendar/holidays")
@principal_required
@documented(summary="Hari libur nasional dan hari libur seluruh kota setahun",
            responses={200: ("Hari libur", HolidayListSchema)}, errors=(422,), query=YEAR_QUERY)
def get_city_holidays() -> ResponseReturnValue:
    year = _year_arg()
    if year is None:
        year = now().astimezone(ZoneInfo(DEFAULT_TIME_ZONE)).year
    with unit_of_work() as session:
        return HolidayListSchema().dump(
            {"year": year, "holidays": calendars.holiday_list(session, None, year)})


@bp.post("/calendar/holidays")
@principal_required
@documented(summary="Tambah hari libur, atau batalkan libur nasional, untuk seluruh kota "
                    "(Administrator Platform)",
            description="Berlaku bagi setiap perangkat daerah yang tidak mengatur tanggal itu "
                        "sendiri; batas waktu yang tersentuh dihitung ulang.",
            body=HolidayRequest, responses={201: ("Hari libur", HolidaySchema)},
            errors=(403, 409, 415, 422))
def post_city_holiday() -> ResponseReturnValue:
    return _add(None)


@bp.delete("/calendar/holidays/<day>")
@principal_required
@documented(summary="Hapus hari libur seluruh kota (Administrator Platform)",
            responses={204: ("Dihapus", None)}, errors=(403, 404, 422))
def delete_city_holiday(day: str) -> ResponseReturnValue:
    return _remove(None, day)


# -- helpers --------------------------------------------------------------------------------------

def _add(tenant_id: uuid.UUID | None) -> ResponseReturnValue:
    body = json_body(HolidayRequest)
    with unit_of_work() as session:
        row = calendars.add_holiday(session, tenant_id=tenant_id, day=body["day"],
                                    name=body["name"], cancelled=body["cancelled"],
                                    principal=caller(), at=now())
        entry = calendars.HolidayEntry(
            day=row.day, name=row.name, cancelled=row.cancelled,
            source=HolidaySource.CITY if tenant_id is None else HolidaySource.TENANT)
        return HolidaySchema().dump(entry), 201


def _remove(tenant_id: uuid.UUID | None, day: str) -> ResponseReturnValue:
    parsed = _day(day)
    with unit_of_work() as session:
        calendars.remove_holiday(session, tenant_id=tenant_id, day=parsed, principal=caller(),
                                 at=now())
    return Response(status=204)


def _day(value: str) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise invalid("day", DAY_FORMAT)


def _year_arg() -> int | None:
    raw = request.args.get("year", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        raise invalid("year", YEAR_MESSAGE)
    return int(raw)
