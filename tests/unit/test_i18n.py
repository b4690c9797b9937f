"""The Indonesian way of writing dates, numbers, sizes and working time (shared/i18n.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask, render_template_string

from shared.i18n import (
    format_bytes,
    format_date,
    format_datetime,
    format_decimal,
    format_working_time,
    register_filters,
)

MONDAY_0115_UTC = datetime(2026, 4, 6, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(("time_zone", "expected"), [
    ("Asia/Jakarta", "6 April 2026 pukul 08.15 WIB"),
    ("Asia/Pontianak", "6 April 2026 pukul 08.15 WIB"),
    ("Asia/Makassar", "6 April 2026 pukul 09.15 WITA"),
    ("Asia/Jayapura", "6 April 2026 pukul 10.15 WIT"),
])
def test_datetime_in_the_tenants_time_zone(time_zone, expected):
    assert format_datetime(MONDAY_0115_UTC, time_zone) == expected


def test_datetime_defaults_to_jakarta_and_crosses_midnight_into_the_local_day():
    assert format_datetime(MONDAY_0115_UTC) == "6 April 2026 pukul 08.15 WIB"
    assert format_datetime(datetime(2026, 12, 31, 20, 5, tzinfo=UTC)) == \
        "1 Januari 2027 pukul 03.05 WIB"


def test_month_names_are_indonesian():
    months = [format_date(date(2026, m, 1)).split()[1] for m in range(1, 13)]
    assert months == ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
                      "Agustus", "September", "Oktober", "November", "Desember"]


def test_date_of_a_datetime_is_the_local_day():
    late = datetime(2026, 8, 16, 18, 30, tzinfo=UTC)  # 17 August 01.30 WIB
    assert format_date(late) == "17 Agustus 2026"
    assert format_date(late, "Europe/London") == "16 Agustus 2026"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2026, 4, 6, 8, 15))  # noqa: DTZ001 - the refused input
    with pytest.raises(ValueError, match="naive"):
        format_date(datetime(2026, 4, 6, 8, 15))  # noqa: DTZ001


@pytest.mark.parametrize(("value", "places", "expected"), [
    (87.5, 2, "87,50"),
    (Decimal("90.005"), 2, "90,01"),  # half-up, like the report's scores
    (Decimal("90.004"), 2, "90,00"),
    (1234567.891, 2, "1.234.567,89"),
    (2.5, 0, "3"),
    (0, 2, "0,00"),
    (-1.25, 1, "-1,3"),
])
def test_decimals_use_comma_and_round_half_up(value, places, expected):
    assert format_decimal(value, places) == expected


def test_decimal_places_must_not_be_negative():
    with pytest.raises(ValueError, match="places"):
        format_decimal(1, -1)


@pytest.mark.parametrize(("size", "expected"), [
    (0, "0 B"),
    (820, "820 B"),
    (1024, "1 KB"),
    (1536, "1,5 KB"),
    (1536 * 1024, "1,5 MB"),
    (50 * 1024 * 1024, "50 MB"),
    (1024 * 1024 - 1, "1 MB"),  # 1023,999 KB rounds up into the next unit
    (3 * 1024**3 + 300 * 1024**2, "3,3 GB"),
])
def test_bytes(size, expected):
    assert format_bytes(size) == expected


def test_negative_size_is_refused():
    with pytest.raises(ValueError, match="negative"):
        format_bytes(-1)


@pytest.mark.parametrize(("left", "expected"), [
    (timedelta(hours=42, minutes=30), "sisa 42 jam 30 menit waktu kerja"),
    (timedelta(hours=5), "sisa 5 jam waktu kerja"),
    (timedelta(minutes=45, seconds=59), "sisa 45 menit waktu kerja"),
    (timedelta(seconds=20), "sisa kurang dari 1 menit waktu kerja"),
    (timedelta(days=2, hours=1), "sisa 49 jam waktu kerja"),
    (timedelta(0), "batas waktu terlewati"),
    (timedelta(hours=-3), "batas waktu terlewati"),
    (None, ""),
])
def test_working_time_left(left, expected):
    assert format_working_time(left) == expected


def test_formatters_are_jinja_filters():
    app = Flask(__name__)
    register_filters(app)
    with app.app_context():
        page = render_template_string(
            "{{ at | format_datetime('Asia/Makassar') }} / {{ at | format_date }} / "
            "{{ 87.5 | format_decimal }} / {{ 1572864 | format_bytes }} / "
            "{{ left | format_working_time }}",
            at=MONDAY_0115_UTC, left=timedelta(hours=1, minutes=5))
    assert page == ("6 April 2026 pukul 09.15 WITA / 6 April 2026 / 87,50 / 1,5 MB / "
                    "sisa 1 jam 5 menit waktu kerja")
