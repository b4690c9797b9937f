"""Real sample files of every accepted kind (and a zip bomb), built in code: none is committed."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import cache

from services.intake.filetypes import FileKind


def make_pdf(text: str | None = None) -> bytes:
    """A minimal valid one-page PDF with a correct cross-reference table; with `text`, the page
    has a content stream saying it (so each text makes a different file)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    if text is not None:
        content = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
        objects[2] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


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
