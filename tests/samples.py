"""Real sample files of every accepted kind (and a zip bomb), built in code: none is committed."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from functools import cache

from sakip.seeding import placeholder_pdf
from services.intake.filetypes import FileKind
from shared.storage import ObjectStore


def document_keys(store: ObjectStore, tenant_id: uuid.UUID) -> list[str]:
    """The keys of a tenant's package documents (not the cycle's own SK and guideline)."""
    return [k for k in store.keys(f"tenants/{tenant_id}/") if "/document/" in k]


def make_pdf(text: str | None = None) -> bytes:
    """A minimal valid one-page PDF (see `sakip.seeding.placeholder_pdf`)."""
    return placeholder_pdf(text)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png() -> bytes:
    """A real 1x1 red RGBA PNG."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")  # filter byte + one RGBA pixel
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", pixels)
            + _png_chunk(b"IEND", b""))


def make_jpeg() -> bytes:
    """A JPEG/JFIF header: SOI, an APP0 JFIF segment, EOI."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
Entry = tuple[str, bytes, int]


def build_zip(entries: list[Entry]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 5))
            archive.writestr(info, data, compress_type=method, compresslevel=9)
    return buf.getvalue()


CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns='
                 b'"http://schemas.openxmlformats.org/package/2006/content-types"/>')
RELS = b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
DOCUMENT = (b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>Laporan Kinerja</w:t></w:r></w:p></w:body></w:document>")


def docx_entries(document: bytes = DOCUMENT) -> list[Entry]:
    return [("[Content_Types].xml", CONTENT_TYPES, DEFLATED), ("_rels/.rels", RELS, DEFLATED),
            ("word/document.xml", document, DEFLATED)]


def xlsx_entries() -> list[Entry]:
    return [("[Content_Types].xml", CONTENT_TYPES, DEFLATED), ("_rels/.rels", RELS, DEFLATED),
            ("xl/workbook.xml", b"<workbook><sheets/></workbook>", DEFLATED),
            ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData/></worksheet>", DEFLATED)]


def odf_entries(mimetype: bytes) -> list[Entry]:
    return [("mimetype", mimetype, STORED),
            ("content.xml", b"<office:document-content/>", DEFLATED),
            ("META-INF/manifest.xml", b"<manifest:manifest/>", DEFLATED)]


ODT_MIME = b"application/vnd.oasis.opendocument.text"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def make_docx() -> bytes:
    return build_zip(docx_entries())


SAMPLES: dict[FileKind, bytes] = {
    FileKind.PDF: make_pdf(),
    FileKind.DOCX: make_docx(),
    FileKind.XLSX: build_zip(xlsx_entries()),
    FileKind.ODT: build_zip(odf_entries(ODT_MIME)),
    FileKind.ODS: build_zip(odf_entries(ODS_MIME)),
    FileKind.JPEG: make_jpeg(),
    FileKind.PNG: make_png(),
}


@cache
def zip_bomb() -> bytes:
    """50 MiB of zeros in word/document.xml, deflated to about 50 KB (ratio ~1000)."""
    return build_zip(docx_entries(b"\x00" * (50 * 1024 * 1024)))




def padded_pdf(size: int, seed: int = 0) -> bytes:
    """A PDF of about `size` bytes: the minimal PDF followed by a comment block of filler
    (distinct per seed, so two files never have the same SHA-256)."""
    base = make_pdf()
    filler = max(0, size - len(base))
    line = b"%% sakip sample %d " % seed
    return base + (line * (filler // len(line) + 1))[:filler]
