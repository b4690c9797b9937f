"""Realistic soft copies of an exact size for the scripted city: a valid PDF (one page naming the
document, padded with an incompressible stream object) and a valid XLSX (an openpyxl workbook
with a small table, padded with an incompressible stored media member). Each file is drawn
from its title, so two documents never share bytes and a run can be repeated."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from collections.abc import Callable

from sakip.city.plan import MIN_FILE_BYTES
from sakip.seeding import assemble_pdf

PDF_CONTENT_TYPE = "application/pdf"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PADDING_MEMBER = "xl/media/image1.bin"


def _noise(title: str, size: int) -> bytes:
    """`size` incompressible bytes drawn from `title` (repeatable, distinct per title)."""
    seed = int.from_bytes(hashlib.sha256(title.encode()).digest()[:8], "big")
    return random.Random(seed).randbytes(size)  # noqa: S311 - filler, not a secret


def _escape(text: str) -> bytes:
    safe = text.encode("latin-1", errors="replace")
    return safe.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pdf(title: str, padding: int) -> bytes:
    content = b"BT /F1 14 Tf 72 760 Td (" + _escape(title) + b") Tj ET"
    pad = _noise(title, padding)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        # An embedded attachment-like stream: what makes a scanned annex large.
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(pad), pad),
    ]
    return assemble_pdf(objects)


def pdf_file(title: str, size: int) -> bytes:
    """A valid one-page PDF saying `title`, exactly `size` bytes (at least MIN_FILE_BYTES)."""
    return _exact(lambda padding: _pdf(title, padding), max(size, MIN_FILE_BYTES))


def _workbook(title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data Kinerja"
    sheet.append([title])
    sheet.append(["No", "Indikator", "Target", "Realisasi", "Capaian (%)"])
    rng = random.Random(title)  # noqa: S311 - sample figures, not a secret
    for number in range(1, 13):
        target = rng.randint(50, 100)
        actual = rng.randint(40, 110)
        sheet.append([number, f"Indikator {number}", target, actual,
                      round(actual * 100 / target, 2)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx(base: bytes, title: str, padding: int) -> bytes:
    buffer = io.BytesIO(base)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo(_PADDING_MEMBER, date_time=(2026, 1, 1, 0, 0, 0)),
                         _noise(title, padding), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def xlsx_file(title: str, size: int) -> bytes:
    """A valid XLSX workbook with a table headed `title`, exactly `size` bytes."""
    base = _workbook(title)
    return _exact(lambda padding: _xlsx(base, title, padding), max(size, MIN_FILE_BYTES))


def document_file(kind: str, title: str, size: int) -> tuple[bytes, str, str]:
    """(bytes, content type, file extension) of a `kind` ("pdf" or "xlsx") soft copy."""
    if kind == "xlsx":
        return xlsx_file(title, size), XLSX_CONTENT_TYPE, "xlsx"
    if kind == "pdf":
        return pdf_file(title, size), PDF_CONTENT_TYPE, "pdf"
    raise ValueError(f"unknown file kind {kind!r}")


def _exact(build: Callable[[int], bytes], size: int) -> bytes:
    """Grow the padding of `build(padding)` until the file is exactly `size` bytes."""
    padding = 0
    for _ in range(8):
        body: bytes = build(padding)
        if len(body) == size:
            return body
        padding = max(0, padding + size - len(body))
    raise ValueError(f"cannot build a file of exactly {size} bytes")
