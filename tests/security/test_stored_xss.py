"""Stored XSS and formula injection: hostile text saved where users type it (document titles,
notes and file names, return reasons, extension reasons, LKE findings and recommendations) is
shown harmlessly by the portal's pages, printed literally in the report PDF and kept as text in
the XLSX, with the content gathered from the database as the report worker does.

The input side (the forms accept and store such text) and the renderers on hand-built content
are covered by tests/integration/test_portal.py::test_*escaped* (titles and notes),
tests/unit/test_render.py (::test_cycle_pdf_prints_markup_in_findings_as_typed,
::test_cycle_xlsx_neutralises_formula_injection_in_every_text) and
tests/integration/test_report_worker.py (the worker's XLSX of a formula recommendation).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from services.reporting import render
from services.reporting.gather import cycle_content
from shared.cycles.models import CollectionExtension
from shared.db import transaction
from shared.documents.models import DocumentVersion, ItemReview, SubmissionItem
from shared.reporting.models import Evaluation
from tests.integration.test_portal import log_in
from tests.integration.test_report_gather import add_evaluation
from tests.reporting_world import ReportingWorld

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"><img src=x onerror=alert(1)>'
HYPERLINK = '=HYPERLINK("http://x")'
AT_FORMULA = "@SUM(1)"
PAYLOADS = (SCRIPT, ATTRIBUTE_BREAKOUT, HYPERLINK, AT_FORMULA)
# What must never reach a page unescaped.
RAW_MARKUP = ("<script>alert", "<img src=x", "onerror=alert(1)>")
REPORT_AT = datetime(2026, 4, 20, 3, 0, tzinfo=UTC)


def _payload(index: int) -> str:
    return PAYLOADS[index % len(PAYLOADS)]


def plant_payloads(factory, world: ReportingWorld) -> None:
    """Every free text of dinas-a's collected cycle (and its LKE) becomes a payload."""
    add_evaluation(factory, world)
    with transaction(factory) as session:
        versions = session.scalars(select(DocumentVersion)
                                   .where(DocumentVersion.tenant_id == world.a.tenant_id)
                                   .order_by(DocumentVersion.id)).all()
        for index, version in enumerate(versions):
            version.title = _payload(index)
            version.notes = _payload(index + 1)
            version.filename = f"{_payload(index + 2)}.pdf"
        session.execute(update(SubmissionItem)
                        .where(SubmissionItem.tenant_id == world.a.tenant_id,
                               SubmissionItem.return_reason.is_not(None))
                        .values(return_reason=SCRIPT))
        session.execute(update(ItemReview)
                        .where(ItemReview.tenant_id == world.a.tenant_id,
                               ItemReview.reason.is_not(None))
                        .values(reason=ATTRIBUTE_BREAKOUT))
        session.execute(update(CollectionExtension)
                        .where(CollectionExtension.cycle_id == world.cycle_id)
                        .values(reason=HYPERLINK))
        session.execute(update(Evaluation).where(Evaluation.cycle_id == world.cycle_id)
                        .values(findings=f"{SCRIPT} {ATTRIBUTE_BREAKOUT}",
                                recommendations=AT_FORMULA))


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.evidence(
    "security", "Script tags, attribute break-outs and =HYPERLINK/@SUM formulas stored as "
    "document titles, notes and file names, extension reasons and LKE findings, then the cycle "
    "report built from the database as PDF and XLSX.",
    "The PDF printed every payload literally as text; the XLSX held no formula cell and every "
    "text starting with = + - @ began with an apostrophe.")
def test_report_pdf_and_xlsx_of_hostile_data_show_it_as_text(reporting_world, session_factory):
    plant_payloads(session_factory, reporting_world)
    with session_factory() as session:
        content = cycle_content(session, reporting_world.cycle_id, at=REPORT_AT)
    titles = [line.title for line in content.evidence]
    names = [line.filename for line in content.evidence]
    assert set(titles) <= set(PAYLOADS)
    assert len(set(titles)) > 1
    assert content.extensions
    assert content.lke is not None
    pdf = render.cycle_report_pdf(content, generated_at=REPORT_AT)
    text = flat("\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))
    for payload in (*PAYLOADS, *titles, *names):  # findings, reasons, titles, file names
        assert flat(payload) in text, payload
    book = load_workbook(io.BytesIO(render.cycle_report_xlsx(content, generated_at=REPORT_AT)))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(("=", "+", "@")) or
                (t.startswith("-") and t != "-")]
    formulas = {t for t in (HYPERLINK, AT_FORMULA, *titles, *names) if t.startswith(("=", "@"))}
    for formula in formulas:
        assert "'" + formula in texts, formula
    assert SCRIPT in texts  # markup is kept as the text it is


@pytest.mark.evidence(
    "security", "The same stored payloads viewed on every portal page of the cycle (packages, "
    "cycle, LKE, reports) by the kasubbag program and the evaluation team.",
    "No page carried the markup unescaped; the escaped payloads were shown as text.")
def test_portal_pages_escape_hostile_data(portal_app, reporting_world, session_factory):
    plant_payloads(session_factory, reporting_world)
    with session_factory() as session:
        packages = session.scalars(select(SubmissionItem.submission_id)
                                   .where(SubmissionItem.tenant_id == reporting_world.a.tenant_id)
                                   .distinct()).all()
    cycle = reporting_world.cycle_id
    urls = [f"/paket/{p}" for p in packages] + [
        f"/siklus/{cycle}", f"/siklus/{cycle}/lke", f"/siklus/{cycle}/laporan", "/siklus"]
    shown = ""
    for key in ("kasubbag", "tim"):
        client = log_in(portal_app, reporting_world.a.username(key))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (key, url, response.status_code)
            for raw in RAW_MARKUP:
                assert raw not in response.text, (key, url, raw)
            shown += response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "=HYPERLINK(&#34;http://x&#34;)" in shown
    assert AT_FORMULA in shown
