"""Reading a bulk-import file of people (CSV or XLSX) into rows of text, safely.

A dinas keeps its staff list in a spreadsheet, so an import arrives as one: the first sheet of an
XLSX workbook, or a CSV (UTF-8, separated by `,` `;` or tab). The header row is the first of the
first `HEADER_SEARCH_ROWS` rows naming at least the NIP and Nama columns; columns are found by
their titles in any order, case, spacing and punctuation ignored, with the titles people
actually write ("Nama Lengkap", "Surel", "Unit Kerja", "Hak Akses", ...). Unknown columns are
ignored and listed. Rows with no text at all are skipped.

Nothing about the file is trusted: its kind is decided from its bytes, its size and rows are
capped, and an XLSX goes through `filetypes.inspect_office_archive` (entry count, declared and
real inflated sizes, compression ratios, macros) before openpyxl opens it. What this module
refuses is refused as a whole (`ImportFileError`, Indonesian); what is wrong with one row is the
planner's business (`people_import`), except a NIP Excel has already mangled into a number,
which only the reader can see (`SourceRow.problems`).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import openpyxl

from services.intake import filetypes
from services.intake.filetypes import Container, FileKind, RejectedFile

MIB: Final = 1024 * 1024
MAX_FILE_BYTES: Final = 2 * MIB  # a dinas of 2,000 people is ~150 KB of CSV
MAX_ROWS: Final = 2000  # data rows (empty rows not counted)
MAX_SCANNED_ROWS: Final = 10 * MAX_ROWS  # physical rows, empty ones included
MAX_COLUMNS: Final = 30
MAX_CELL_CHARS: Final = 1000
HEADER_SEARCH_ROWS: Final = 10
XLSX_MAX_ENTRIES: Final = 200
XLSX_MAX_UNCOMPRESSED: Final = 25 * MIB

NIP, FULL_NAME, EMAIL, BIDANG, ROLE, USERNAME = (
    "nip", "full_name", "email", "bidang", "role", "username")
FIELDS: Final = (NIP, FULL_NAME, EMAIL, BIDANG, ROLE, USERNAME)
FIELD_LABELS: Final = {NIP: "NIP", FULL_NAME: "Nama", EMAIL: "E-mail", BIDANG: "Bidang",
                       ROLE: "Peran", USERNAME: "Nama pengguna"}
REQUIRED_FIELDS: Final = (NIP, FULL_NAME)
# Column titles reduced to letters and digits (see `title_key`) -> field.
_TITLES: Final = {
    **dict.fromkeys(("nip", "nipbaru", "nomorindukpegawai", "nipnrp"), NIP),
    **dict.fromkeys(("nama", "namalengkap", "namapegawai", "namadangelar",
                     "namalengkapdangelar", "namalengkapbesertagelar"), FULL_NAME),
    **dict.fromkeys(("email", "surel", "alamatemail", "alamatsurel", "emailsurel",
                     "suratelektronik"), EMAIL),
    **dict.fromkeys(("bidang", "namabidang", "bidangbagian", "bagian", "unitkerja",
                     "bidangunitkerja"), BIDANG),
    **dict.fromkeys(("peran", "role", "peranaplikasi", "perandiaplikasi", "hakakses",
                     "perankode", "kodeperan"), ROLE),
    **dict.fromkeys(("namapengguna", "username", "akun", "namaakun", "userid"), USERNAME),
}
_PARENTHESES = re.compile(r"\([^)]*\)")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_DELIMITERS: Final = (",", ";", "\t")

TOO_LARGE = f"Berkas terlalu besar: paling banyak {MAX_FILE_BYTES // MIB} MB."
NOT_SUPPORTED = ("Berkas bukan CSV (UTF-8) atau lembar kerja Excel XLSX. Berkas Excel lama "
                 "(.xls) simpan dulu sebagai XLSX atau \"CSV UTF-8\", lalu unggah kembali.")
NOT_UTF8 = ("Berkas CSV harus berkodekan UTF-8. Di Excel: Simpan Sebagai > \"CSV UTF-8 "
            "(dibatasi koma)\", lalu unggah kembali.")
NUMERIC_NIP = ("NIP tersimpan sebagai angka, sehingga Excel membulatkan digit terakhirnya; "
               "format kolom NIP sebagai Teks lalu ketik ulang NIP-nya.")


class ImportFileError(ValueError):
    """The file cannot be read as an import at all; `message` says why (Indonesian) and
    `details` lists particulars (e.g. the columns found)."""

    def __init__(self, message: str, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


@dataclass(frozen=True)
class SourceRow:
    """One data row: its number as the spreadsheet shows it, its cells as text by field ('' when
    empty or when the file has no such column), and what the reader found wrong with it."""

    number: int
    cells: dict[str, str]
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> str:
        return self.cells.get(name, "")

    @property
    def empty(self) -> bool:
        return not any(self.cells.values())

    def to_json(self) -> dict[str, Any]:
        return {"row": self.number, "cells": dict(self.cells), "problems": list(self.problems)}


@dataclass(frozen=True)
class SourceFile:
    """A file read: its format, the fields its header names, the titles it ignored, its rows."""

    format: str  # "csv" | "xlsx"
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()
    rows: list[SourceRow] = field(default_factory=list)


def title_key(title: str) -> str:
    """A column title reduced for matching: parenthesised notes dropped, then letters and
    digits only, lower case ("E-mail (opsional)" -> "email", "Nama Pengguna*" ->
    "namapengguna")."""
    return _NOT_ALNUM.sub("", _PARENTHESES.sub("", title.casefold()))


def field_of_title(title: str) -> str | None:
    return _TITLES.get(title_key(title))


def read_people_file(data: bytes) -> SourceFile:
    """The rows of an import file (CSV or XLSX, told apart by their bytes)."""
    if not data:
        raise ImportFileError("Berkas kosong. Pilih berkas CSV atau XLSX yang berisi data.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(TOO_LARGE)
    sniffed = filetypes.sniff(data[:filetypes.SNIFF_BYTES])
    if sniffed is not None and sniffed is not Container.ZIP:  # a PDF, an image: not a table
        raise ImportFileError(NOT_SUPPORTED)
    fmt = "xlsx" if sniffed is Container.ZIP else "csv"
    physical = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    try:
        return _source(fmt, physical)
    finally:
        physical.close()  # an XLSX is closed even when reading stopped early


# -- the two formats ------------------------------------------------------------------------------

def _xlsx_rows(data: bytes) -> Generator[tuple[int, list[Any]]]:
    try:
        kind = filetypes.inspect_office_archive(io.BytesIO(data), max_entries=XLSX_MAX_ENTRIES,
                                                max_total_uncompressed=XLSX_MAX_UNCOMPRESSED)
    except RejectedFile as refused:
        raise ImportFileError(refused.message_id) from None
    if kind is not FileKind.XLSX:
        raise ImportFileError(f"Berkas ini {kind.label}; kirim lembar kerja Excel (XLSX) "
                              "atau CSV.")
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (styles, extensions): harmless here.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on malformed parts; all mean the same here
        raise ImportFileError("Lembar kerja XLSX rusak atau tidak dapat dibaca. Simpan ulang "
                              "dari Excel, lalu unggah kembali.") from None
    try:
        if not workbook.worksheets:
            raise ImportFileError("Buku kerja tidak berisi lembar kerja.")
        sheet = workbook.worksheets[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number, values in enumerate(
                    sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                yield number, list(values)
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Generator[tuple[int, list[Any]]]:
    if b"\x00" in data:
        raise ImportFileError(NOT_SUPPORTED)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(NOT_UTF8) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text),
                        strict=False)
    try:
        for number, values in enumerate(reader, start=1):
            yield number, list(values[:MAX_COLUMNS])
    except csv.Error as error:
        raise ImportFileError(f"Berkas CSV tidak dapat dibaca: {error}.") from None


def _delimiter(text: str) -> str:
    """The separator of the first non-empty line: the one it uses most (`,` on a tie)."""
    for line in text.splitlines()[:HEADER_SEARCH_ROWS]:
        if line.strip():
            return max(_DELIMITERS, key=line.count)
    return ","


# -- header and rows ------------------------------------------------------------------------------

def _source(fmt: str, physical: Iterator[tuple[int, list[Any]]]) -> SourceFile:
    header: dict[int, str] | None = None
    ignored: tuple[str, ...] = ()
    rows: list[SourceRow] = []
    for number, values in physical:
        if number > MAX_SCANNED_ROWS:
            raise ImportFileError(f"Berkas terlalu panjang: paling banyak {MAX_ROWS} baris "
                                  "data.")
        if header is None:
            if number > HEADER_SEARCH_ROWS:
                break
            found = _header(values)
            if found is not None:
                header, ignored = found
            continue
        row = _row(number, values, header)
        if row.empty:
            continue
        if len(rows) == MAX_ROWS:
            raise ImportFileError(f"Berkas terlalu panjang: paling banyak {MAX_ROWS} baris "
                                  "data. Bagi menjadi beberapa berkas.")
        rows.append(row)
    if header is None:
        raise ImportFileError(
            f"Baris judul kolom tidak ditemukan di {HEADER_SEARCH_ROWS} baris pertama: "
            "harus ada kolom NIP dan Nama.",
            [f"Kolom yang dikenali: {', '.join(FIELD_LABELS[f] for f in FIELDS)}."])
    if not rows:
        raise ImportFileError("Berkas tidak berisi baris data di bawah judul kolom.")
    return SourceFile(format=fmt, columns=tuple(f for f in FIELDS if f in header.values()),
                      ignored_columns=ignored, rows=rows)


def _header(values: list[Any]) -> tuple[dict[int, str], tuple[str, ...]] | None:
    """column index -> field, and the titles ignored, when `values` is the header row."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for index, value in enumerate(values):
        title = cell_text(value)
        if not title:
            continue
        name = field_of_title(title)
        if name is None:
            ignored.append(title)
        elif name in seen:
            duplicates.append(f"Kolom {FIELD_LABELS[name]} muncul dua kali: \"{seen[name]}\" "
                              f"dan \"{title}\".")
        else:
            seen[name] = title
            columns[index] = name
    if not all(name in seen for name in REQUIRED_FIELDS):
        return None
    if duplicates:
        raise ImportFileError("Judul kolom ganda: setiap kolom hanya boleh ada sekali.",
                              duplicates)
    return columns, tuple(ignored)


def _row(number: int, values: list[Any], header: dict[int, str]) -> SourceRow:
    cells = dict.fromkeys(header.values(), "")
    problems: list[str] = []
    for index, name in header.items():
        value = values[index] if index < len(values) else None
        if name == NIP and isinstance(value, float):
            problems.append(NUMERIC_NIP)
        cells[name] = cell_text(value)
    return SourceRow(number=number, cells=cells, problems=tuple(problems))


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", whitespace collapsed, capped."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:MAX_CELL_CHARS]
