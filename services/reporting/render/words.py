"""What the reports say, in Bahasa Indonesia: titles, section and column names, state labels, and
the formatters both renderers share, so the PDF and the XLSX never word the same thing twice
differently. Numbers and dates are written by `shared.i18n` ("87,50", "6 April 2026 pukul 08.15
WIB"); this module only adds the report's own conventions (a dash for "nothing", hours without
needless decimals, percentages)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from shared.i18n import format_date, format_datetime, format_decimal

REPORT_TITLE = "Laporan Hasil Evaluasi SAKIP Internal"
RECAP_TITLE = "Rekapitulasi Hasil Evaluasi SAKIP Internal"
LKE_MISSING = "LKE belum diisi"
NOTHING = "-"
WHOLE_DINAS = "Total dinas"

# Section titles; the XLSX sheet of a section carries the same name.
SUMMARY = "Ringkasan"
STEPS = "Tahapan"
MATRIX = "Matriks"
LKE = "LKE"
FINDINGS = "Temuan"
EVIDENCE = "Lampiran Bukti"
RECAP = "Rekap"
CHART = "Grafik"

SECTION_HEADINGS = {
    SUMMARY: "Identitas SOP dan ringkasan",
    STEPS: "Tahapan SOP: rencana dan realisasi (waktu kerja)",
    MATRIX: "Matriks kelengkapan dan ketepatan waktu dokumen",
    LKE: "Lembar Kerja Evaluasi (LKE)",
    FINDINGS: "Temuan dan rekomendasi",
    EVIDENCE: "Lampiran: bukti dokumen yang diterima (soft copy)",
}

STEP_STATES = {
    "pending": "Belum dimulai",
    "active": "Berjalan",
    "completed": "Selesai",
    "cancelled": "Dibatalkan",
}
CYCLE_STATES = {
    "active": "Berjalan",
    "completed": "Selesai",
    "cancelled": "Dibatalkan",
    "none": "Belum ada siklus",
}
LKE_STATES = {"draft": "Draf (belum final)", "final": "Final"}

DEADLINE_MET = "Terpenuhi"
DEADLINE_BREACHED = "Terlewati"
YES, NO = "Ya", "Tidak"


def label(labels: dict[str, str], code: str) -> str:
    """The Indonesian label of a state code; an unknown code is shown as it is, not dropped."""
    return labels.get(code, code)


def number(value: Decimal | int | None, places: int = 2) -> str:
    """A score or rate, "87,50"; nothing is "-"."""
    return NOTHING if value is None else format_decimal(value, places)


def percent(value: Decimal | None) -> str:
    """A rate, "87,50%"."""
    return NOTHING if value is None else f"{format_decimal(value, 2)}%"


def hours(value: Decimal | None) -> str:
    """Working hours, without decimals when whole: "24 jam kerja", "22,50 jam kerja"."""
    if value is None:
        return NOTHING
    places = 0 if value == value.to_integral_value() else 2
    return f"{format_decimal(value, places)} jam kerja"


def moment(value: datetime | None, time_zone: str) -> str:
    """A moment in the tenant's zone, "6 April 2026 pukul 08.15 WIB"; nothing is "-"."""
    return NOTHING if value is None else format_datetime(value, time_zone)


def day(value: date | datetime | None, time_zone: str) -> str:
    """A day in the tenant's zone, "6 April 2026"."""
    return NOTHING if value is None else format_date(value, time_zone)


def iso_day(value: str | None) -> date | None:
    """An SOP header date (ISO, as in the template file); a malformed one is no date at all."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def sop_day(value: str | None) -> str:
    """An SOP header date written out, "4 Maret 2020"; the raw text when it is not ISO."""
    parsed = iso_day(value)
    if parsed is None:
        return value or NOTHING
    return format_date(parsed)


def deadline(met: bool | None) -> str:
    return NOTHING if met is None else (DEADLINE_MET if met else DEADLINE_BREACHED)


def yes_no(flag: bool) -> str:
    return YES if flag else NO


def progress(done: int, total: int) -> str:
    """Steps completed: "5/6"."""
    return f"{done}/{total}"


def generated(value: datetime, time_zone: str) -> str:
    return f"Dibuat pada {format_datetime(value, time_zone)}"
