"""What a report says, as plain data: gathered from the database (services.reporting.gather),
fingerprinted (services.reporting.fingerprint) and rendered as PDF and XLSX
(services.reporting.render). Renderers never query; gatherers never format.

Times are aware UTC datetimes (renderers show them in the tenant's time zone, Indonesian style);
scores and rates are Decimals already rounded half-up to 2 places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class CellStatus(StrEnum):
    """One Bidang x document type cell of the completeness and timeliness matrix."""

    ON_TIME = "on_time"  # first submitted before the deadline in force for the Bidang
    LATE = "late"  # first submitted after it
    RETURNED = "returned"  # returned by the kasubbag_program and not resubmitted since
    MISSING = "missing"  # never submitted
    NOT_REQUIRED = "not_required"  # not on this Bidang's document list

    @property
    def label(self) -> str:
        return CELL_LABELS[self]


CELL_LABELS = {
    CellStatus.ON_TIME: "Tepat waktu",
    CellStatus.LATE: "Terlambat",
    CellStatus.RETURNED: "Dikembalikan",
    CellStatus.MISSING: "Tidak ada",
    CellStatus.NOT_REQUIRED: "-",
}


@dataclass(frozen=True)
class SopHeader:
    dinas: str  # the tenant's name
    sop_name: str  # e.g. "PENGUMPULAN DATA KINERJA"
    sop_number: str  # e.g. "Perwali SOP Nomor 104 Tahun 2020"
    created_on: str | None  # ISO dates as in the template file
    revised_on: str | None
    effective_on: str | None
    approver_title: str
    approver_name: str
    year: int  # the cycle's year
    time_zone: str  # the tenant's calendar time zone, e.g. "Asia/Jakarta"


@dataclass(frozen=True)
class StepLine:
    number: int
    activity: str
    executors: str  # role labels, comma separated
    planned: str  # the template's duration in words, e.g. "3 hari kerja"
    planned_hours: Decimal  # the same in working hours
    started_at: datetime | None
    due_at: datetime | None  # the deadline in force (after extensions)
    completed_at: datetime | None
    actual_hours: Decimal | None  # working hours from start to completion (or to now if active)
    state: str  # pending | active | completed | cancelled
    met: bool | None  # deadline met (None: not completed yet and not overdue)


@dataclass(frozen=True)
class ExtensionLine:
    scope: str  # a Bidang's name, or "Semua Bidang"
    due_at: datetime
    reason: str
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class DocumentTypeColumn:
    code: str
    label: str


@dataclass(frozen=True)
class BidangRow:
    bidang: str
    cells: dict[str, CellStatus]  # document type code -> status (every column present)
    required: int
    submitted: int  # on time + late + returned
    on_time: int
    reporting_rate: Decimal  # submitted / required x 100
    on_time_rate: Decimal  # on time / required x 100


@dataclass(frozen=True)
class Totals:
    required: int
    submitted: int
    on_time: int
    late: int
    returned: int
    missing: int
    reporting_rate: Decimal
    on_time_rate: Decimal


@dataclass(frozen=True)
class ScoreLine:
    code: str
    name: str
    weight: Decimal
    score: Decimal
    parts: tuple[ScoreLine, ...] = ()  # a component's sub-components


@dataclass(frozen=True)
class LkeSummary:
    rubric: str  # rubric name and version, e.g. "LKE AKIP PermenPANRB 12/2015 (versi 1)"
    state: str  # draft | final
    components: tuple[ScoreLine, ...]
    total: Decimal
    grade: str  # AA ... D
    grade_label: str  # e.g. "Sangat Memuaskan"
    findings: str
    recommendations: str


@dataclass(frozen=True)
class EvidenceLine:
    bidang: str
    document_type: str  # label
    title: str
    filename: str
    version: int
    size_bytes: int
    sha256: str
    accepted_at: datetime | None


@dataclass(frozen=True)
class CycleReportContent:
    header: SopHeader
    cycle_state: str
    opened_at: datetime
    steps: tuple[StepLine, ...]
    extensions: tuple[ExtensionLine, ...]
    document_types: tuple[DocumentTypeColumn, ...]
    bidang_rows: tuple[BidangRow, ...]
    totals: Totals
    lke: LkeSummary | None
    evidence: tuple[EvidenceLine, ...]


@dataclass(frozen=True)
class RecapRow:
    dinas: str
    cycle_state: str  # active | completed | cancelled | none (no cycle that year)
    steps_completed: int  # of `steps_total`
    steps_total: int
    current_step: str | None  # e.g. "5. Pengumpulan data"
    reporting_rate: Decimal
    on_time_rate: Decimal
    total: Decimal | None  # LKE total (None: no evaluation yet)
    grade: str | None
    report_approved: bool


@dataclass(frozen=True)
class CityRecapContent:
    city: str  # e.g. "Kota Probolinggo" (setting CITY_NAME)
    year: int
    time_zone: str
    rows: tuple[RecapRow, ...] = field(default_factory=tuple)
