"""What an upload really is, decided from its bytes: never from the client's type or file name.

Uploads are checked against an allow-list of kinds (`FileKind`): PDF, DOCX, XLSX, ODT, ODS, JPEG
and PNG. The steps, all pure Python over the file-like object they are given:

1. `sniff` looks at the first `SNIFF_BYTES` bytes. PDF, JPEG and PNG are recognised by their
   signatures at offset 0; a ZIP local header gives `Container.ZIP` ("an Office candidate,
   decided after the archive is checked"); anything else (executables, HTML, SVG, scripts, text,
   legacy OLE Office files, empty input) gives None and is rejected.
2. `inspect_office_archive` checks a ZIP candidate from its metadata first (entry count, declared
   sizes, compression ratios, encryption, unsafe names, overlapping entries) and only then inflates
   every entry through a bounded decompressor that stops one byte past the entry's declared size,
   so no check ever expands more than the declared sizes (themselves capped). What is left is
   classified as DOCX, XLSX, ODT or ODS, or rejected.
3. `detect_kind` ties both together and applies the caller's allow-list; `check_declared` rejects
   a client type or file extension that contradicts the real kind; `sanitize_filename` makes the
   display name kept for the user (never used in object keys).

Every rejection is a `RejectedFile` carrying a stable machine `reason_code` (see `Reason`) and a
message in Bahasa Indonesia for the civil servant who uploaded the file.
"""

from __future__ import annotations

import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from enum import Enum, StrEnum
from itertools import pairwise
from typing import BinaryIO, Final

MIB: Final = 1024 * 1024

SNIFF_BYTES: Final = 16
"""Leading bytes `sniff` looks at (the PNG signature plus its IHDR chunk header)."""

DEFAULT_MAX_ENTRIES: Final = 2000
DEFAULT_MAX_TOTAL_UNCOMPRESSED: Final = 200 * MIB
DEFAULT_MAX_RATIO: Final = 100
RATIO_FLOOR: Final = 100 * 1024
"""Entries declaring at most this many bytes are exempt from the ratio check (Apache POI's
"grace entry size"): small XML parts legitimately compress very well."""

_CHUNK: Final = 64 * 1024
_MIMETYPE_MAX: Final = 128  # an ODF `mimetype` entry declaring more than this is not one


class FileKind(StrEnum):
    """A kind of document the platform accepts, identified from its bytes."""

    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    ODT = "odt"
    ODS = "ods"
    JPEG = "jpeg"
    PNG = "png"

    @property
    def mime_type(self) -> str:
        """The canonical MIME type, e.g. ``application/pdf``."""
        return _MIME_TYPES[self]

    @property
    def extension(self) -> str:
        """The usual extension with its dot, e.g. ``.pdf`` (``.jpg`` for JPEG)."""
        return f".{_EXTENSIONS[self][0]}"

    @property
    def label(self) -> str:
        """How the kind is named to users (Bahasa Indonesia)."""
        return _LABELS[self]


ALL_KINDS: Final = frozenset(FileKind)
OFFICE_KINDS: Final = frozenset({FileKind.DOCX, FileKind.XLSX, FileKind.ODT, FileKind.ODS})

_MIME_TYPES: Final[dict[FileKind, str]] = {
    FileKind.PDF: "application/pdf",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileKind.ODT: "application/vnd.oasis.opendocument.text",
    FileKind.ODS: "application/vnd.oasis.opendocument.spreadsheet",
    FileKind.JPEG: "image/jpeg",
    FileKind.PNG: "image/png",
}

# Extensions (no dot, lower case) a file of the kind may carry; the first is the usual one. A DOCX
# named .doc or an XLSX named .xls is tolerated: Office opens them, and users do rename files.
_EXTENSIONS: Final[dict[FileKind, tuple[str, ...]]] = {
    FileKind.PDF: ("pdf",),
    FileKind.DOCX: ("docx", "doc"),
    FileKind.XLSX: ("xlsx", "xls"),
    FileKind.ODT: ("odt",),
    FileKind.ODS: ("ods",),
    FileKind.JPEG: ("jpg", "jpeg", "jpe", "jfif"),
    FileKind.PNG: ("png",),
}

_LABELS: Final[dict[FileKind, str]] = {
    FileKind.PDF: "PDF",
    FileKind.DOCX: "dokumen Word (DOCX)",
    FileKind.XLSX: "lembar kerja Excel (XLSX)",
    FileKind.ODT: "dokumen OpenDocument (ODT)",
    FileKind.ODS: "lembar kerja OpenDocument (ODS)",
    FileKind.JPEG: "gambar JPEG",
    FileKind.PNG: "gambar PNG",
}

_ZIP_TYPES: Final = ("application/zip", "application/x-zip-compressed", "application/x-zip")

# Declared client types that agree with each kind (browsers and OSes disagree on a few).
_DECLARED_TYPES: Final[dict[FileKind, frozenset[str]]] = {
    FileKind.PDF: frozenset({"application/pdf", "application/x-pdf", "application/acrobat"}),
    FileKind.DOCX: frozenset({_MIME_TYPES[FileKind.DOCX], "application/msword", *_ZIP_TYPES}),
    FileKind.XLSX: frozenset({_MIME_TYPES[FileKind.XLSX], "application/vnd.ms-excel",
                              *_ZIP_TYPES}),
    FileKind.ODT: frozenset({_MIME_TYPES[FileKind.ODT],
                             "application/x-vnd.oasis.opendocument.text", *_ZIP_TYPES}),
    FileKind.ODS: frozenset({_MIME_TYPES[FileKind.ODS],
                             "application/x-vnd.oasis.opendocument.spreadsheet", *_ZIP_TYPES}),
    FileKind.JPEG: frozenset({"image/jpeg", "image/jpg", "image/pjpeg"}),
    FileKind.PNG: frozenset({"image/png", "image/x-png"}),
}

# Declared types that say nothing about the content: never a mismatch.
_GENERIC_TYPES: Final = frozenset({
    "", "application/octet-stream", "binary/octet-stream", "application/unknown",
    "application/x-unknown", "application/download", "application/force-download",
    "application/x-download",
})

# Extensions that name some other type. Anything not here and not a kind's extension (".1",
# ".Budi" in "Laporan Pak.Budi") is taken as part of the name, not as a contradiction.
_FOREIGN_EXTENSIONS: Final = frozenset({
    "dot", "docm", "dotx", "dotm", "xlsm", "xlsb", "xlt", "xltx", "xltm", "ppt", "pptx", "pptm",
    "pps", "ppsx", "pot", "potx", "odp", "odg", "odf", "odb", "ott", "ots", "rtf", "wpd", "txt",
    "csv", "tsv", "md", "htm", "html", "xhtml", "shtml", "mht", "mhtml", "xml", "xsl", "svg",
    "svgz", "js", "mjs", "json", "php", "asp", "aspx", "jsp", "cgi", "exe", "dll", "com", "scr",
    "pif", "cpl", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "jse", "wsf", "wsh",
    "hta", "lnk", "reg", "inf", "sh", "bash", "zsh", "py", "pyc", "pl", "rb", "jar", "class",
    "apk", "ipa", "app", "dmg", "iso", "img", "bin", "elf", "so", "zip", "rar", "7z", "gz", "tgz",
    "bz2", "xz", "tar", "cab", "gif", "bmp", "tif", "tiff", "webp", "heic", "heif", "ico", "psd",
    "ai", "eps", "ps", "xps", "oxps", "djvu", "mp3", "mp4", "m4a", "avi", "mov", "mkv", "wav",
    "wmv", "flv", "epub", "mobi", "eml", "msg", "ics", "vcf", "url", "desktop",
})
_KNOWN_EXTENSIONS: Final = _FOREIGN_EXTENSIONS.union(*_EXTENSIONS.values())

# Invisible characters that reorder or hide text (the "laporan\u202efdp.exe" trick).
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE: Final = frozenset("\u200b\u2060\ufeff")
_RESERVED: Final = frozenset('<>:"|?*\'`/\\')
_FALLBACK_STEM: Final = "dokumen"

_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls and encrypted Office
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"
_ZIP_LOCAL: Final = b"PK\x03\x04"
_ZIP_EOCD: Final = b"PK\x05\x06"
_ZIP64_LOCATOR: Final = b"PK\x06\x07"
_ZIP64_EOCD: Final = b"PK\x06\x06"
_LOCAL_HEADER: Final = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_ODF_MIMETYPES: Final[dict[bytes, FileKind]] = {
    b"application/vnd.oasis.opendocument.text": FileKind.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": FileKind.ODS,
}
_ENCRYPTION_FLAGS: Final = 0x0001 | 0x0040 | 0x2000  # encrypted, strong encryption, masked CD
_DATA_DESCRIPTOR_FLAG: Final = 0x0008
_DATA_DESCRIPTOR_MIN: Final = 12  # crc + sizes; the signature and ZIP64 sizes only add to it


class Reason(StrEnum):
    """Stable machine codes of `RejectedFile.reason_code`."""

    EMPTY = "empty"  # no bytes at all
    UNKNOWN_TYPE = "unknown_type"  # not one of the kinds (or an archive that is no Office file)
    NOT_ALLOWED = "not_allowed"  # a known kind the caller does not accept here
    TYPE_MISMATCH = "type_mismatch"  # declared type or extension contradicts the bytes
    CORRUPT_ARCHIVE = "corrupt_archive"  # not a valid or consistent ZIP
    ZIP_BOMB = "zip_bomb"  # expands abnormally, lies about its sizes, or overlaps entries
    ARCHIVE_TOO_LARGE = "archive_too_large"  # too many entries or too much declared content
    ENCRYPTED = "encrypted"  # encrypted archive entries
    UNSAFE_PATH = "unsafe_path"  # absolute, parent-relative or NUL-bearing entry names
    MACROS = "macros"  # an Office document carrying macros (VBA project, ODF Basic/scripts)


_MESSAGES: Final[dict[Reason, str]] = {
    Reason.EMPTY: "Berkas kosong. Pilih berkas dokumen yang berisi data, lalu unggah kembali.",
    Reason.CORRUPT_ARCHIVE: "Berkas arsip Office rusak atau tidak valid. Simpan ulang dokumen "
    "dari aplikasinya, lalu unggah kembali.",
    Reason.ZIP_BOMB: "Berkas arsip Office tidak wajar (ukuran isinya tidak sesuai) dan ditolak "
    "demi keamanan. Simpan ulang dokumen dari aplikasinya, lalu unggah kembali.",
    Reason.ARCHIVE_TOO_LARGE: "Isi berkas Office terlalu besar atau terdiri dari terlalu banyak "
    "bagian untuk diproses. Perkecil dokumen atau bagi menjadi beberapa berkas.",
    Reason.ENCRYPTED: "Berkas dilindungi kata sandi atau terenkripsi. Hapus kata sandinya, lalu "
    "unggah kembali.",
    Reason.UNSAFE_PATH: "Berkas arsip Office berisi nama bagian yang tidak aman dan ditolak demi "
    "keamanan.",
    Reason.UNKNOWN_TYPE: "Berkas arsip ini bukan dokumen Office yang dikenali (DOCX, XLSX, ODT "
    "atau ODS).",
    Reason.MACROS: "Berkas Office ini berisi makro dan ditolak demi keamanan. Simpan sebagai "
    "dokumen biasa tanpa makro (DOCX, XLSX, ODT atau ODS), lalu unggah kembali.",
}


class RejectedFile(ValueError):
    """An upload refused for what its bytes are (or claim to be).

    `reason_code` is one of `Reason` (stable, for logs, metrics and API clients); `message_id` is
    the message in Bahasa Indonesia to show the uploader.
    """

    def __init__(self, reason_code: str, message_id: str) -> None:
        super().__init__(message_id)
        self.reason_code = reason_code
        self.message_id = message_id

    def __repr__(self) -> str:
        return f"RejectedFile({self.reason_code!r}, {self.message_id!r})"


class Container(Enum):
    """A container format whose kind is only known after looking inside it."""

    ZIP = "zip"


def _reject(reason: Reason) -> RejectedFile:
    return RejectedFile(reason, _MESSAGES[reason])


def _kinds_text(kinds: Iterable[FileKind]) -> str:
    order = list(FileKind)
    return ", ".join(k.name for k in sorted(kinds, key=order.index))


def _unknown_type(allowed: frozenset[FileKind], head: bytes = b"") -> RejectedFile:
    hint = ""
    if head.startswith(_OLE_MAGIC):
        hint = (" Format lama (DOC/XLS) dan berkas Office berkata sandi tidak didukung: simpan "
                "ulang sebagai DOCX, XLSX atau PDF tanpa kata sandi.")
    return RejectedFile(
        Reason.UNKNOWN_TYPE,
        f"Jenis berkas tidak dikenali atau tidak didukung.{hint} "
        f"Jenis berkas yang diterima: {_kinds_text(allowed)}.",
    )


def _not_allowed(kind: FileKind | None, allowed: frozenset[FileKind]) -> RejectedFile:
    what = f"Berkas {kind.label}" if kind else "Berkas arsip atau dokumen Office"
    return RejectedFile(
        Reason.NOT_ALLOWED,
        f"{what} tidak diterima untuk unggahan ini. "
        f"Jenis berkas yang diterima: {_kinds_text(allowed)}.",
    )


def _type_mismatch(kind: FileKind) -> RejectedFile:
    return RejectedFile(
        Reason.TYPE_MISMATCH,
        f"Isi berkas tidak sesuai dengan jenisnya: isinya {kind.label}, tetapi nama atau jenis "
        "berkas yang dikirim menyatakan lain. Periksa kembali berkas yang dipilih.",
    )


# --- sniffing ---------------------------------------------------------------------------------


def sniff(head: bytes) -> FileKind | Container | None:
    """What the leading bytes say, strictly at offset 0.

    Returns PDF (``%PDF-``), JPEG (``FF D8 FF``) or PNG (signature and IHDR chunk header) as a
    `FileKind`; `Container.ZIP` for a ZIP local header, meaning the kind is decided by
    `inspect_office_archive`; None for anything else, which is to be rejected. Only the first
    `SNIFF_BYTES` bytes matter.
    """
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith(_PNG_MAGIC):
        return FileKind.PNG
    if head.startswith(_ZIP_LOCAL):
        return Container.ZIP
    return None


# --- ZIP archives -----------------------------------------------------------------------------


def _read_upto(fileobj: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of file (raw streams may return short reads)."""
    parts: list[bytes] = []
    while size > 0:
        part = fileobj.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _declared_entry_count(fileobj: BinaryIO) -> int | None:
    """The entry count the end-of-central-directory record declares, read before zipfile parses
    (and holds in memory) the whole central directory. None when there is no such record."""
    end = fileobj.seek(0, 2)
    tail_size = min(end, 22 + 0xFFFF + 20 + 56)
    fileobj.seek(end - tail_size)
    tail = _read_upto(fileobj, tail_size)
    at = tail.rfind(_ZIP_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    count: int = struct.unpack_from("<H", tail, at + 10)[0]
    # Like zipfile: a ZIP64 locator right before the record means the ZIP64 record counts.
    record = at - 20 - 56
    if record >= 0 and tail[at - 20:at - 16] == _ZIP64_LOCATOR and (
            tail[record:record + 4] == _ZIP64_EOCD):
        count = struct.unpack_from("<Q", tail, record + 32)[0]
    return count


def _is_unsafe_name(name: str) -> bool:
    if "\x00" in name or name.startswith(("/", "\\")):
        return True
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return True
    return any(part == ".." for part in name.replace("\\", "/").split("/"))


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    # zipfile decodes names as UTF-8 when flag bit 11 is set, else as cp437 (both reversible).
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def _check_metadata(infos: list[zipfile.ZipInfo], *, max_entries: int,
                    max_total_uncompressed: int, max_ratio: float) -> None:
    """Every check that needs only the central directory; nothing is read or inflated."""
    if len(infos) > max_entries:
        raise _reject(Reason.ARCHIVE_TOO_LARGE)
    names: set[str] = set()
    for info in infos:
        if info.flag_bits & _ENCRYPTION_FLAGS:
            raise _reject(Reason.ENCRYPTED)
        if _is_unsafe_name(info.orig_filename):
            raise _reject(Reason.UNSAFE_PATH)
        if info.orig_filename in names:  # two parts of one name: readers disagree on which wins
            raise _reject(Reason.CORRUPT_ARCHIVE)
        names.add(info.orig_filename)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _reject(Reason.CORRUPT_ARCHIVE)  # Office and ODF use only these two
    if sum(info.file_size for info in infos) > max_total_uncompressed:
        raise _reject(Reason.ARCHIVE_TOO_LARGE)
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            raise _reject(Reason.ZIP_BOMB)


def _data_offsets(fileobj: BinaryIO, infos: list[zipfile.ZipInfo],
                  start_dir: int) -> dict[str, int]:
    """Where each entry's data starts, after checking the local headers and that the entries lie
    one after another from offset 0 up to the central directory without overlapping (overlapping
    entries are how non-recursive zip bombs reuse one compressed kernel)."""
    spans: list[tuple[int, int, int, bytes, zipfile.ZipInfo]] = []  # start, data, end, name, info
    for info in infos:
        if info.header_offset < 0:  # the directory points before the start of the file
            raise _reject(Reason.CORRUPT_ARCHIVE)
        fileobj.seek(info.header_offset)
        header = _read_upto(fileobj, _LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise _reject(Reason.CORRUPT_ARCHIVE)
        sig, _, _, method, *_, name_len, extra_len = _LOCAL_HEADER.unpack(header)
        if sig != _ZIP_LOCAL or method != info.compress_type:
            raise _reject(Reason.CORRUPT_ARCHIVE)
        local_name = _read_upto(fileobj, name_len)
        data_start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        end = data_start + info.compress_size
        if info.flag_bits & _DATA_DESCRIPTOR_FLAG:
            end += _DATA_DESCRIPTOR_MIN
        spans.append((info.header_offset, data_start, end, local_name, info))
    spans.sort(key=lambda span: span[0])
    if spans[0][0] != 0:
        raise _reject(Reason.CORRUPT_ARCHIVE)  # something precedes the first entry
    for previous, span in pairwise(spans):
        if span[0] < previous[2]:
            raise _reject(Reason.ZIP_BOMB)
    if spans[-1][2] > start_dir:
        raise _reject(Reason.CORRUPT_ARCHIVE)  # the last entry runs into the central directory
    for _, _, _, local_name, info in spans:
        if local_name != _raw_name(info):  # readers going by local headers would see other parts
            raise _reject(Reason.CORRUPT_ARCHIVE)
    return {info.orig_filename: data_start for _, data_start, _, _, info in spans}


def _read_entry(fileobj: BinaryIO, info: zipfile.ZipInfo, data_start: int,
                keep: int = 0) -> bytes:
    """Inflate one entry, never producing more than its declared size plus one byte, and check
    its size and CRC. Returns its first `keep` bytes.

    More output than declared means the central directory lies about the size: a zip bomb.
    """
    declared = info.file_size
    remaining_in = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED and remaining_in != declared:
        raise _reject(Reason.ZIP_BOMB if remaining_in > declared else Reason.CORRUPT_ARCHIVE)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    fileobj.seek(data_start)
    produced = 0
    crc = 0
    kept = b""
    pending = b""
    finished = False
    while not finished:
        if not pending and remaining_in > 0:
            pending = fileobj.read(min(_CHUNK, remaining_in))
            if not pending:
                raise _reject(Reason.CORRUPT_ARCHIVE)  # truncated
            remaining_in -= len(pending)
        limit = min(_CHUNK, declared - produced + 1)  # >= 1: max_length 0 would mean "no limit"
        if inflater is None:
            out, pending = pending[:limit], pending[limit:]
            finished = not pending and remaining_in == 0
        else:
            try:
                out = inflater.decompress(pending, limit)
            except zlib.error:
                raise _reject(Reason.CORRUPT_ARCHIVE) from None
            pending = inflater.unconsumed_tail
            finished = inflater.eof or (not out and not pending and remaining_in == 0)
        produced += len(out)
        if produced > declared:
            raise _reject(Reason.ZIP_BOMB)
        crc = zlib.crc32(out, crc)
        if len(kept) < keep:
            kept += out[:keep - len(kept)]
    if inflater is not None and not inflater.eof:
        raise _reject(Reason.CORRUPT_ARCHIVE)  # the deflate stream stops short
    if produced != declared or crc != info.CRC:
        raise _reject(Reason.CORRUPT_ARCHIVE)
    return kept


def _classify(fileobj: BinaryIO, infos: list[zipfile.ZipInfo],
              offsets: dict[str, int]) -> FileKind:
    names = {info.orig_filename.lower() for info in infos}
    ooxml = "[content_types].xml" in names
    docx = ooxml and "word/document.xml" in names
    xlsx = ooxml and "xl/workbook.xml" in names
    odf: FileKind | None = None
    first = min(infos, key=lambda info: info.header_offset)
    if (first.orig_filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
            and first.file_size <= _MIMETYPE_MAX and "content.xml" in names):
        content = _read_entry(fileobj, first, offsets[first.orig_filename], keep=_MIMETYPE_MAX)
        odf = _ODF_MIMETYPES.get(content)
    found = [kind for kind, hit in ((FileKind.DOCX, docx), (FileKind.XLSX, xlsx)) if hit]
    if odf is not None:
        found.append(odf)
    if len(found) != 1:  # none (a plain zip, a JAR, an EPUB, ...) or ambiguous
        raise _reject(Reason.UNKNOWN_TYPE)
    if _carries_macros(names):
        raise _reject(Reason.MACROS)
    return found[0]


def _carries_macros(names: set[str]) -> bool:
    """A VBA project (word/ or xl/vbaProject.bin, e.g. a .docm renamed .docx) or ODF Basic and
    script libraries. Names are already lower-cased."""
    return any(name.rsplit("/", 1)[-1].startswith("vbaproject") or
               name.startswith(("basic/", "scripts/")) for name in names)


_ZIP_ERRORS: Final = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError,
                      struct.error, NotImplementedError, OverflowError)


def inspect_office_archive(fileobj: BinaryIO, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                           max_total_uncompressed: int = DEFAULT_MAX_TOTAL_UNCOMPRESSED,
                           max_ratio: float = DEFAULT_MAX_RATIO) -> FileKind:
    """Check a ZIP upload (seekable) and say which Office kind it is: DOCX, XLSX, ODT or ODS.

    Raises `RejectedFile` with: ``corrupt_archive`` (not a valid or self-consistent ZIP: bad
    central directory, local headers disagreeing with it, data before the first entry, methods
    other than stored/deflate, duplicate names, bad CRC or sizes); ``archive_too_large`` (more than
    `max_entries` entries or more than `max_total_uncompressed` declared bytes); ``zip_bomb`` (an
    entry over `RATIO_FLOOR` bytes expanding more than `max_ratio` times, overlapping entries, or
    an entry inflating past its declared size); ``encrypted``; ``unsafe_path`` (absolute names,
    ``..`` components, NUL bytes); ``unknown_type`` (a valid ZIP that is no Office document).

    Nothing is inflated beyond the declared sizes (plus one byte per entry), and those are capped
    by `max_total_uncompressed` before any inflating starts.
    """
    declared_count = _declared_entry_count(fileobj)
    if declared_count is not None and declared_count > max_entries:
        raise _reject(Reason.ARCHIVE_TOO_LARGE)
    try:
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
            start_dir = archive.start_dir
    except _ZIP_ERRORS:
        raise _reject(Reason.CORRUPT_ARCHIVE) from None
    if not infos:
        raise _reject(Reason.CORRUPT_ARCHIVE)
    _check_metadata(infos, max_entries=max_entries,
                    max_total_uncompressed=max_total_uncompressed, max_ratio=max_ratio)
    offsets = _data_offsets(fileobj, infos, start_dir)
    kind = _classify(fileobj, infos, offsets)
    for info in sorted(infos, key=lambda info: info.header_offset):
        _read_entry(fileobj, info, offsets[info.orig_filename])
    return kind


# --- the whole decision -----------------------------------------------------------------------


def detect_kind(fileobj: BinaryIO, *, allowed: frozenset[FileKind] = ALL_KINDS) -> FileKind:
    """The real kind of an upload (a seekable binary stream), if it is one of `allowed`.

    Raises `RejectedFile`: ``empty``, ``unknown_type``, ``not_allowed``, or any archive reason of
    `inspect_office_archive`. The stream is left rewound to offset 0.
    """
    try:
        fileobj.seek(0)
        head = _read_upto(fileobj, SNIFF_BYTES)
        if not head:
            raise _reject(Reason.EMPTY)
        sniffed = sniff(head)
        if sniffed is None:
            raise _unknown_type(allowed, head)
        if sniffed is Container.ZIP:
            if not allowed & OFFICE_KINDS:  # no inflating at all for uploads that cannot pass
                raise _not_allowed(None, allowed)
            try:
                kind = inspect_office_archive(fileobj)
            except RejectedFile as error:
                if error.reason_code != Reason.UNKNOWN_TYPE:
                    raise
                raise _unknown_type(allowed) from None
        else:
            kind = sniffed
        if kind not in allowed:
            raise _not_allowed(kind, allowed)
        return kind
    finally:
        fileobj.seek(0)


def _clean_name(name: str) -> str:
    """The last path component of `name`, NFC, without control, bidi, invisible or reserved
    characters, its whitespace collapsed to single spaces."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept: list[str] = []
    for ch in name:
        if ch.isspace():
            kept.append(" ")
        elif (ch in _BIDI_CONTROLS or ch in _INVISIBLE or ch in _RESERVED
              or unicodedata.category(ch) in ("Cc", "Cs")):
            continue
        else:
            kept.append(ch)
    name = unicodedata.normalize("NFC", "".join(kept))
    return " ".join(name.split())


def _split_extension(name: str) -> tuple[str, str | None]:
    """(stem, extension without dot, lower case) when the name ends in a known extension."""
    stem, dot, ext = name.rpartition(".")
    if dot and ext.lower() in _KNOWN_EXTENSIONS:
        return stem, ext.lower()
    return name, None


def check_declared(kind: FileKind, declared_content_type: str | None,
                   filename: str | None) -> None:
    """Reject (``type_mismatch``) a client-declared type or a file extension contradicting the
    real `kind`, e.g. a PNG named ``laporan.pdf`` or a PDF declared as ``image/png``.

    Missing or generic declared types (``application/octet-stream``) and names without a known
    extension are fine.
    """
    if declared_content_type is not None:
        declared = declared_content_type.split(";", 1)[0].strip().lower()
        if declared not in _GENERIC_TYPES and declared not in _DECLARED_TYPES[kind]:
            raise _type_mismatch(kind)
    if filename is not None:
        _, ext = _split_extension(_clean_name(filename))
        if ext is not None and ext not in _EXTENSIONS[kind]:
            raise _type_mismatch(kind)


def sanitize_filename(name: str | None, *, kind: FileKind, max_length: int = 120) -> str:
    """The display name kept for the user; never used to build storage keys.

    Keeps only the last path component (``/`` and ``\\``), drops control, bidi-override and
    invisible characters and ``<>:"|?*'`` and backquotes, collapses whitespace, NFC-normalises,
    strips leading/trailing dots and spaces, replaces a known extension (or appends one) so the
    name ends in `kind.extension`, and truncates the stem to fit `max_length` characters. Falls
    back to ``dokumen.<ext>`` when nothing is left.
    """
    ext = kind.extension
    if max_length < len(ext) + 1:
        raise ValueError(f"max_length must be at least {len(ext) + 1} for {kind.name}")
    stem, _ = _split_extension(_clean_name(name or ""))
    stem = stem.strip(" .")
    stem = stem[:max_length - len(ext)].rstrip(" .")
    if not stem:
        stem = _FALLBACK_STEM[:max_length - len(ext)]
    return f"{stem}{ext}"
