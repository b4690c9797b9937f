"""How the platform writes dates, numbers and sizes for its users: the Indonesian way (Babel,
locale "id"), e.g. "6 April 2026 pukul 08.15 WIB", "87,50", "1,5 MB".

Datetimes are stored in UTC and shown in the tenant's time zone; a naive datetime is refused
rather than guessed. The same functions are the portal's Jinja filters (`register_filters`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal as babel_format_decimal
from flask import Flask

LOCALE = "id"
DEFAULT_TIME_ZONE = "Asia/Jakarta"
# "6 April 2026 pukul 08.15 WIB": Indonesian month names, a dot between hours and minutes, and
# the zone's Indonesian abbreviation (WIB, WITA, WIT) from the CLDR data Babel carries.
DATETIME_PATTERN = "d MMMM y 'pukul' HH.mm z"
DATE_PATTERN = "d MMMM y"
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")
DEADLINE_PASSED = "batas waktu terlewati"


def format_datetime(value: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """`value` in `time_zone`: "6 April 2026 pukul 08.15 WIB"."""
    return babel_format_datetime(_aware(value), DATETIME_PATTERN, tzinfo=ZoneInfo(time_zone),
                                 locale=LOCALE)


def format_date(value: date | datetime, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """A day, "6 April 2026"; a datetime is first placed in `time_zone`."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(ZoneInfo(time_zone)).date()
    return babel_format_date(value, DATE_PATTERN, locale=LOCALE)


def format_decimal(value: Decimal | float | int, places: int = 2) -> str:
    """`value` rounded half-up to `places` decimals, Indonesian separators: "1.234,50"."""
    if places < 0:
        raise ValueError("places must not be negative")
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return babel_format_decimal(rounded, format=pattern, locale=LOCALE,
                                decimal_quantization=False)


def format_bytes(size: int) -> str:
    """A size in binary units with at most one decimal: "820 B", "2 KB", "1,5 MB"."""
    if size < 0:
        raise ValueError("a size is not negative")
    amount = Decimal(size)
    unit = 0
    while amount >= 1024 and unit < len(BYTE_UNITS) - 1:
        amount /= 1024
        unit += 1
    rounded = amount.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded >= 1024 and unit < len(BYTE_UNITS) - 1:  # 1023,96 KB shows as 1 MB
        rounded, unit = (rounded / 1024).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), unit + 1
    text = babel_format_decimal(rounded, format="#,##0.#", locale=LOCALE,
                                decimal_quantization=True)
    return f"{text} {BYTE_UNITS[unit]}"


def format_working_time(left: timedelta | None) -> str:
    """Working (office) time left before a deadline: "sisa 42 jam 30 menit waktu kerja";
    nothing left: "batas waktu terlewati"; no deadline: ""."""
    if left is None:
        return ""
    if left <= timedelta(0):
        return DEADLINE_PASSED
    minutes = int(left.total_seconds() // 60)
    if minutes == 0:
        return "sisa kurang dari 1 menit waktu kerja"
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} jam"] if hours else []) + ([f"{minutes} menit"] if minutes else [])
    return f"sisa {' '.join(parts)} waktu kerja"


def register_filters(app: Flask) -> None:
    """The formatters as Jinja filters of `app`."""
    for function in (format_datetime, format_date, format_decimal, format_bytes,
                     format_working_time):
        app.add_template_filter(function)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: pass a timezone-aware value")
    return value
