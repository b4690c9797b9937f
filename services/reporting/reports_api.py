"""The report endpoints of the reporting API (/api/v1): request a cycle report or a city recap
(202 at once; a Celery worker builds it), follow its progress, download its files through a
short-lived link, the kepala_dinas's approval or return, and the city's receipt.

A cycle report is seen by whoever reads its cycle's LKE; a city recap by bagian_organisasi and
inspektur only (for anyone else it does not exist: 404)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from services.reporting import access, presenters, reports
from services.reporting.api import dumped
from services.reporting.archive import Archive, ArchiveError
from services.reporting.schemas import (
    DownloadSchema,
    ReasonSchema,
    RecapQuerySchema,
    RecapRequestSchema,
    ReceiptSchema,
    ReportSchema,
)
from shared.clock import now
from shared.web.api_http import ApiError, json_body, unit_of_work
from shared.web.openapi import documented
from shared.web.service_auth import caller, principal_required, resources

bp = Blueprint("reports", __name__, url_prefix="/api/v1")

ARCHIVE_EXTENSION = "reporting.archive"
ARCHIVE_DOWN = ("Arsip laporan sedang tidak dapat ditulis; laporan belum disetujui. Silakan "
                "coba lagi sebentar lagi.")
LOCATION = {202: {"Location": "alamat laporan: ikuti kemajuannya di sana"}}


def archive_of_app() -> Archive:
    """The app's archive client (made on first use: the archive bucket is only needed to
    approve)."""
    archive = current_app.extensions.get(ARCHIVE_EXTENSION)
    if archive is None:
        archive = current_app.extensions[ARCHIVE_EXTENSION] = Archive.from_settings(
            resources().settings)
    if not isinstance(archive, Archive):  # pragma: no cover - only this module sets it
        raise TypeError(f"{ARCHIVE_EXTENSION} is not an Archive")
    return archive


def _accepted(view: dict[str, Any], report_id: uuid.UUID) -> ResponseReturnValue:
    """202 with the queued report, and where to follow its progress."""
    return (jsonify(ReportSchema().dump(view)), 202,
            {"Location": url_for("reports.get_report", report_id=report_id)})


# -- requesting and listing ------------------------------------------------------------------------

@bp.post("/cycles/<uuid:cycle_id>/reports")
@principal_required
@documented(summary="Minta laporan hasil evaluasi siklus (Tim Evaluasi, Kasubbag Program, "
                    "Kepala Dinas)",
            description="Dijawab 202 seketika; laporan disusun pekerja di latar belakang. Ikuti "
                        "kemajuannya di `Location`.",
            responses={202: ("Laporan diantrekan", ReportSchema)}, headers=LOCATION,
            errors=(403, 404, 409))
def request_report(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id)
        report = reports.request_cycle_report(session, cycle, principal=principal, at=now(),
                                              settings=resources().settings)
        view = presenters.report_view(session, report, principal)
        report_id = report.id
    return _accepted(view, report_id)


@bp.get("/cycles/<uuid:cycle_id>/reports")
@principal_required
@documented(summary="Laporan siklus, terbaru dahulu",
            responses={200: ("Laporan", ReportSchema(many=True))}, errors=(403, 404))
def list_reports(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id)
        access.require_dinas_reader(principal, cycle.tenant_id, "Laporan")
        return dumped(ReportSchema(many=True), presenters.report_views(
            session, reports.reports_of_cycle(session, cycle.id), principal))


@bp.post("/recaps")
@principal_required
@documented(summary="Minta rekap kota satu tahun (Bagian Organisasi, Inspektur)",
            body=RecapRequestSchema, responses={202: ("Rekap diantrekan", ReportSchema)},
            headers=LOCATION, errors=(403, 409, 415, 422))
def request_recap() -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        access.require_role(principal, None, access.RECEIVERS, "meminta rekap kota")
        body = json_body(RecapRequestSchema)
        report = reports.request_city_recap(session, year=body["year"], principal=principal,
                                            at=now(), settings=resources().settings)
        view = presenters.report_view(session, report, principal)
        report_id = report.id
    return _accepted(view, report_id)


@bp.get("/recaps")
@principal_required
@documented(summary="Rekap kota, terbaru dahulu (Bagian Organisasi, Inspektur)",
            query={"year": ("integer", "hanya tahun ini")},
            responses={200: ("Rekap", ReportSchema(many=True))}, errors=(403, 422))
def list_recaps() -> ResponseReturnValue:
    principal = caller()
    access.require_role(principal, None, access.RECEIVERS, "melihat rekap kota")
    year = RecapQuerySchema().load(request.args.to_dict()).get("year")
    with unit_of_work() as session:
        return dumped(ReportSchema(many=True), presenters.report_views(
            session, reports.recaps(session, year=year), principal))


# -- one report ------------------------------------------------------------------------------------

@bp.get("/reports/<uuid:report_id>")
@principal_required
@documented(summary="Satu laporan: kemajuan penyusunan, berkas, keputusan, tanda terima",
            responses={200: ("Laporan", ReportSchema)}, errors=(403, 404))
def get_report(report_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        report = reports.get_report(session, report_id)
        reports.require_readable(principal, report)
        return dumped(ReportSchema(), presenters.report_view(session, report, principal))


@bp.get("/reports/<uuid:report_id>/files/<any(pdf, xlsx):file_format>")
@principal_required
@documented(summary="Tautan unduh berkas laporan (berlaku 5 menit)",
            description="404 bila laporan belum siap atau tidak terlihat. Setiap unduhan "
                        "dicatat di jejak audit.",
            responses={200: ("Tautan unduh", DownloadSchema)}, errors=(403, 404))
def download(report_id: uuid.UUID, file_format: str) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        report = reports.get_report(session, report_id)
        reports.require_readable(principal, report)
        link = reports.download(session, report, file_format, principal=principal,
                                store=resources().object_store, at=now())
        return dumped(DownloadSchema(), {"url": link.url, "expires_at": link.expires_at,
                                         "filename": link.filename})


@bp.post("/reports/<uuid:report_id>/approve")
@principal_required
@documented(summary="Setujui laporan (Kepala Dinas): diarsipkan terkunci dan diteruskan",
            description="Hanya laporan siklus yang sudah siap, disusun dari LKE final yang "
                        "berlaku, dan belum diputuskan (409 dengan `details` bila tidak).",
            responses={200: ("Laporan disetujui", ReportSchema)}, errors=(403, 404, 409, 503))
def approve(report_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        report = reports.get_report(session, report_id, for_update=True)
        reports.require_readable(principal, report)
        try:
            reports.approve(session, report, principal=principal,
                            store=resources().object_store, archive_store=archive_of_app(),
                            at=now())
        except ArchiveError as exc:
            raise ApiError(503, ARCHIVE_DOWN) from exc
        return dumped(ReportSchema(), presenters.report_view(session, report, principal))


@bp.post("/reports/<uuid:report_id>/return")
@principal_required
@documented(summary="Kembalikan laporan kepada tim evaluasi dengan alasan (Kepala Dinas): LKE "
                    "kembali menjadi draf",
            body=ReasonSchema, responses={200: ("Laporan dikembalikan", ReportSchema)},
            errors=(403, 404, 409, 415, 422))
def return_report(report_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        report = reports.get_report(session, report_id, for_update=True)
        reports.require_readable(principal, report)
        if report.tenant_id is not None:
            access.require_role(principal, report.tenant_id, access.DECIDERS,
                                "mengembalikan laporan")
        body = json_body(ReasonSchema)
        reports.return_to_team(session, report, principal=principal, reason=body["reason"],
                               at=now())
        return dumped(ReportSchema(), presenters.report_view(session, report, principal))


@bp.post("/reports/<uuid:report_id>/acknowledge")
@principal_required
@documented(summary="Konfirmasi penerimaan laporan yang disetujui (Bagian Organisasi, "
                    "Inspektur); sekali per pengguna",
            responses={201: ("Tanda terima dicatat", ReceiptSchema),
                       200: ("Sudah dikonfirmasi sebelumnya", ReceiptSchema)},
            errors=(403, 404, 409))
def acknowledge(report_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        report = reports.get_report(session, report_id, for_update=True)
        reports.require_readable(principal, report)
        receipt, created = reports.acknowledge(session, report, principal=principal, at=now())
        return dumped(ReceiptSchema(), presenters.receipt_view(session, receipt),
                      201 if created else 200)
