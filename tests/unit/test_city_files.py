"""The scripted city's generated documents: exactly the planned size, of the kind intake's own
checks detect, readable by PDF and XLSX readers, and never two alike."""

from __future__ import annotations

import io

import openpyxl
import pytest
from pypdf import PdfReader

from sakip.city.files import document_file
from sakip.city.plan import MIN_FILE_BYTES
from services.intake.filetypes import FileKind, detect_kind


@pytest.mark.parametrize("size", [MIN_FILE_BYTES, 300_000, 1_234_567])
@pytest.mark.parametrize(("kind", "expected"), [("pdf", FileKind.PDF), ("xlsx", FileKind.XLSX)])
def test_a_generated_document_has_its_size_and_its_kind(kind: str, expected: FileKind,
                                                        size: int):
    body, content_type, _ext = document_file(kind, "IKU Bidang Pelayanan (2026)", size)

    assert len(body) == size
    assert detect_kind(io.BytesIO(body)) is expected
    assert content_type == expected.mime_type


def test_the_files_open_in_their_readers():
    pdf, _, _ = document_file("pdf", "Renja Bidang Sekretariat", 200_000)
    xlsx, _, _ = document_file("xlsx", "IKI Bidang Sekretariat", 200_000)

    assert "Renja Bidang Sekretariat" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).sheetnames


def test_two_titles_never_share_bytes_and_one_title_repeats():
    first, _, _ = document_file("pdf", "PK dinas-01 Bidang A", 100_000)
    again, _, _ = document_file("pdf", "PK dinas-01 Bidang A", 100_000)
    other, _, _ = document_file("pdf", "PK dinas-01 Bidang B", 100_000)

    assert first == again
    assert first != other
