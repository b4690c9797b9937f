"""The report renderers: pure functions from gathered content (services.reporting.content) to the
bytes of a PDF or an XLSX. No database, no object storage, no clock: the build passes the moment
the report is generated, and the same content and moment give the same bytes.

`RENDERER_VERSION` is part of each artifact's fingerprint: bump it whenever the output changes,
so reports built by an older renderer are rebuilt rather than reused.
"""

from __future__ import annotations

from services.reporting.render.pdf import city_recap_pdf, cycle_report_pdf
from services.reporting.render.xlsx import city_recap_xlsx, cycle_report_xlsx

RENDERER_VERSION = "1"

__all__ = [
    "RENDERER_VERSION",
    "city_recap_pdf",
    "city_recap_xlsx",
    "cycle_report_pdf",
    "cycle_report_xlsx",
]
