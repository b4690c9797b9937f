"""Building one report, as a command the thin Celery task calls (superset's habit).

1. Claim: a conditional UPDATE moves the report from QUEUED (or RUNNING with an expired lease) to
   RUNNING under this worker's lease; a redelivered task for a report someone else holds, or one
   already READY, finds nothing to claim and stops.
2. Lease: a heartbeat thread extends the lease while the build runs; a worker killed mid-build
   stops beating and the reaper (services.reporting.reaper) requeues the report.
3. Build: gather the content, fingerprint it, render PDF and XLSX, store both under keys named
   by the fingerprint (S3 puts are atomic: no partial object is ever visible), unless objects of
   the same fingerprint already exist (then they are reused).
4. Finish: READY with the artifacts and `report.ready`, in one transaction, only while the lease
   is still ours; or, on an error, QUEUED again for a bounded retry with backoff, and FAILED with
   `report.failed` once the attempts are spent.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from services.reporting import render
from services.reporting.content import CityRecapContent, CycleReportContent
from services.reporting.fingerprint import artifact_keys, fingerprint
from services.reporting.gather import city_recap_content, cycle_content
from shared.clock import now
from shared.db import transaction
from shared.events import new_event
from shared.events.outbox import emit
from shared.metrics_reporting import report_built
from shared.reporting.events import REPORT_FAILED, REPORT_READY
from shared.reporting.models import (
    QUEUED_RESEND_SECONDS,
    Evaluation,
    Report,
    ReportKind,
    ReportState,
)
from shared.storage import ObjectStore, StoredObject

MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = (5, 30, 120)  # after the 1st, 2nd, 3rd failed attempt
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker took the report over (our lease expired): stop without writing."""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID | None
    cycle_id: uuid.UUID | None
    year: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    state: str  # ready | failed | skipped (nothing to claim, or the lease was lost) | retry
    retry_in: int | None = None
    reused: bool = False


@dataclass(frozen=True)
class Builder:
    """What a build needs: the database, the object store, the lease length and the city's
    name (recap headers). One per worker process."""

    session_factory: sessionmaker[Session]
    store: ObjectStore
    lease_seconds: int
    city: str
    clock: Callable[[], datetime] = now


def build(builder: Builder, report_id: uuid.UUID, *, owner: str) -> Outcome:
    claimed = claim(builder, report_id, owner=owner)
    if claimed is None:
        return Outcome("skipped")
    if claimed.attempts > MAX_ATTEMPTS:
        _fail(builder, claimed, owner=owner,
              error="Pembuatan laporan terhenti berulang kali (pekerja berhenti di tengah jalan).")
        return Outcome("failed")
    started = time.perf_counter()
    try:
        with Lease(builder, claimed.id, owner=owner) as lease:
            return _build_claimed(builder, claimed, lease, owner=owner, started=started)
    except LeaseLost:
        log.warning("report lease lost, another worker builds it",
                    extra={"report_id": str(claimed.id)})
        return Outcome("skipped")
    except Exception as exc:
        log.exception("report build failed", extra={"report_id": str(claimed.id),
                                                    "attempt": claimed.attempts})
        return _retry_or_fail(builder, claimed, owner=owner, error=_describe_error(exc))


def claim(builder: Builder, report_id: uuid.UUID, *, owner: str) -> Claimed | None:
    at = builder.clock()
    with transaction(builder.session_factory) as session:
        row = session.execute(
            update(Report)
            .where(Report.id == report_id,
                   or_(Report.state == ReportState.QUEUED.value,
                       (Report.state == ReportState.RUNNING.value)
                       & (Report.lease_expires_at < at)))
            .values(state=ReportState.RUNNING.value, lease_owner=owner,
                    lease_expires_at=at + timedelta(seconds=builder.lease_seconds),
                    attempts=Report.attempts + 1, started_at=at, progress=0,
                    progress_label="Dimulai", error=None)
            .returning(Report.id, Report.kind, Report.tenant_id, Report.cycle_id, Report.year,
                       Report.attempts)
            .execution_options(synchronize_session=False)).first()
    if row is None:
        return None
    return Claimed(id=row[0], kind=row[1], tenant_id=row[2], cycle_id=row[3], year=row[4],
                   attempts=row[5])


class Lease:
    """The build's hold on its report: a heartbeat thread extends `lease_expires_at` every third
    of the lease; `progress()` records the worker's progress and raises LeaseLost once another
    worker has taken the report over."""

    def __init__(self, builder: Builder, report_id: uuid.UUID, *, owner: str) -> None:
        self._builder, self._report_id, self._owner = builder, report_id, owner
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{report_id}",
                                        daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def progress(self, percent: int, label: str) -> None:
        if self._lost.is_set() or not self._update(progress=percent, progress_label=label):
            raise LeaseLost(str(self._report_id))

    def _beat(self) -> None:
        interval = max(0.2, self._builder.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                if not self._update():
                    self._lost.set()
                    return
            except Exception:  # a missed beat is retried; the lease has room for two
                log.warning("report lease heartbeat failed", exc_info=True)

    def _update(self, **values: Any) -> bool:
        at = self._builder.clock()
        with transaction(self._builder.session_factory) as session:
            result = session.execute(
                update(Report)
                .where(Report.id == self._report_id, Report.lease_owner == self._owner,
                       Report.state == ReportState.RUNNING.value)
                .values(lease_expires_at=at + timedelta(seconds=self._builder.lease_seconds),
                        **values)
                .execution_options(synchronize_session=False))
            return bool(getattr(result, "rowcount", 0))


def _build_claimed(builder: Builder, claimed: Claimed, lease: Lease, *, owner: str,
                   started: float) -> Outcome:
    lease.progress(5, "Mengumpulkan data")
    content, revision = _gather(builder, claimed)
    digest = fingerprint(content, renderer_version=render.RENDERER_VERSION)
    keys = artifact_keys(tenant_id=claimed.tenant_id, cycle_id=claimed.cycle_id,
                         year=claimed.year, fingerprint=digest)
    stored = _existing(builder.store, keys)
    reused = stored is not None
    if stored is None:
        generated_at = builder.clock()
        lease.progress(25, "Menyusun PDF")
        pdf = _render(content, "pdf", generated_at)
        lease.progress(60, "Menyusun XLSX")
        xlsx = _render(content, "xlsx", generated_at)
        lease.progress(85, "Menyimpan berkas")
        stored = {fmt: builder.store.put_stream(keys[fmt], io.BytesIO(body),
                                                content_type=CONTENT_TYPES[fmt])
                  for fmt, body in (("xlsx", xlsx), ("pdf", pdf))}
    seconds = round(time.perf_counter() - started, 3)
    if not _finish(builder, claimed, owner=owner, fingerprint=digest, stored=stored,
                   seconds=seconds, reused=reused, evaluation_revision=revision):
        raise LeaseLost(str(claimed.id))
    report_built(kind=claimed.kind, seconds=seconds)
    return Outcome("ready", reused=reused)


def _gather(builder: Builder,
            claimed: Claimed) -> tuple[CycleReportContent | CityRecapContent, int | None]:
    """The report's content, and the revision of the LKE it shows (read in the same snapshot:
    the approval checks that the report shows the LKE as it was finalised)."""
    at = builder.clock()
    with builder.session_factory() as session, session.begin():
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        if claimed.kind == ReportKind.CYCLE.value and claimed.cycle_id is not None:
            revision = session.scalar(select(Evaluation.revision).where(
                Evaluation.cycle_id == claimed.cycle_id))
            return cycle_content(session, claimed.cycle_id, at=at), revision
        return city_recap_content(session, year=claimed.year, city=builder.city, at=at), None


def _render(content: CycleReportContent | CityRecapContent, fmt: str,
            generated_at: datetime) -> bytes:
    if isinstance(content, CycleReportContent):
        renderer = render.cycle_report_pdf if fmt == "pdf" else render.cycle_report_xlsx
        return renderer(content, generated_at=generated_at)
    recap_renderer = render.city_recap_pdf if fmt == "pdf" else render.city_recap_xlsx
    return recap_renderer(content, generated_at=generated_at)


def _existing(store: ObjectStore, keys: dict[str, str]) -> dict[str, StoredObject] | None:
    """The artifacts of the same inputs, when both were stored by an earlier build."""
    if not all(store.exists(key) for key in keys.values()):
        return None
    return {fmt: store.describe(key) for fmt, key in keys.items()}


def _finish(builder: Builder, claimed: Claimed, *, owner: str, fingerprint: str,
            stored: dict[str, StoredObject], seconds: float, reused: bool,
            evaluation_revision: int | None) -> bool:
    at = builder.clock()
    pdf, xlsx = stored["pdf"], stored["xlsx"]
    with transaction(builder.session_factory) as session:
        result = session.execute(
            update(Report)
            .where(Report.id == claimed.id, Report.lease_owner == owner,
                   Report.state == ReportState.RUNNING.value)
            .values(state=ReportState.READY.value, progress=100, progress_label="Selesai",
                    fingerprint=fingerprint, pdf_key=pdf.key, pdf_sha256=pdf.sha256,
                    pdf_size=pdf.size, xlsx_key=xlsx.key, xlsx_sha256=xlsx.sha256,
                    xlsx_size=xlsx.size, finished_at=at, build_seconds=seconds,
                    evaluation_revision=evaluation_revision,
                    lease_owner=None, lease_expires_at=None, error=None)
            .execution_options(synchronize_session=False))
        if not getattr(result, "rowcount", 0):
            return False
        emit(session, new_event(REPORT_READY, tenant_id=claimed.tenant_id, payload={
            **_ref(claimed), "fingerprint": fingerprint, "pdf_sha256": pdf.sha256,
            "xlsx_sha256": xlsx.sha256, "build_seconds": seconds, "reused": reused}))
    return True


def _retry_or_fail(builder: Builder, claimed: Claimed, *, owner: str, error: str) -> Outcome:
    if claimed.attempts >= MAX_ATTEMPTS:
        _fail(builder, claimed, owner=owner, error=error)
        return Outcome("failed")
    backoff = RETRY_BACKOFF_SECONDS[min(claimed.attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
    at = builder.clock()
    with transaction(builder.session_factory) as session:
        session.execute(
            update(Report)
            .where(Report.id == claimed.id, Report.lease_owner == owner,
                   Report.state == ReportState.RUNNING.value)
            .values(state=ReportState.QUEUED.value, lease_owner=None,
                    lease_expires_at=at + timedelta(seconds=backoff + QUEUED_RESEND_SECONDS),
                    progress=0, progress_label=f"Dicoba lagi ({claimed.attempts}/{MAX_ATTEMPTS})",
                    error=error)
            .execution_options(synchronize_session=False))
    return Outcome("retry", retry_in=backoff)


def _fail(builder: Builder, claimed: Claimed, *, owner: str, error: str) -> None:
    at = builder.clock()
    with transaction(builder.session_factory) as session:
        result = session.execute(
            update(Report)
            .where(Report.id == claimed.id, Report.lease_owner == owner,
                   Report.state == ReportState.RUNNING.value)
            .values(state=ReportState.FAILED.value, lease_owner=None, lease_expires_at=None,
                    progress_label="Gagal", error=error, finished_at=at)
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0):
            emit(session, new_event(REPORT_FAILED, tenant_id=claimed.tenant_id, payload={
                **_ref(claimed), "error": error, "attempts": claimed.attempts}))


def _ref(claimed: Claimed) -> dict[str, Any]:
    return {"report_id": claimed.id, "kind": claimed.kind, "cycle_id": claimed.cycle_id,
            "year": claimed.year}


def _describe_error(exc: BaseException) -> str:
    """What the report's page says went wrong (the log keeps the traceback)."""
    name = type(exc).__name__
    if "Storage" in name or "S3" in name:
        return "Penyimpanan berkas tidak dapat dihubungi; laporan akan dicoba lagi."
    if "SoftTimeLimit" in name:
        return "Pembuatan laporan melewati batas waktu."
    return f"Laporan tidak dapat disusun ({name})."
