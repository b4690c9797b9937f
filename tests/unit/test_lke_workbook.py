"""The LKE workbook: a bundled rubric exported and imported back is the same rubric; a workbook an
evaluator made is read with Indonesian decimal commas; every problem is named by sheet, row and
column in Indonesian; files that are not XLSX, or that would inflate beyond reason, are refused
before openpyxl opens them."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from shared.reporting.rubric import bundled_rubrics, rubric_from_dict
from shared.reporting.workbook import (
    LKE_COLUMNS,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_ENTRIES,
    RowError,
    WorkbookError,
    export_lke_workbook,
    import_lke_workbook,
)

IDENTITY: dict[str, Any] = {
    "code": "lke-kota", "version": 1, "name": "LKE Kota", "regulation": "Peraturan Wali Kota",
    "source": "Buku kerja LKE tim evaluasi"}
HEADER = ["Kode", "Jenis", "Komponen / Sub-komponen / Kriteria", "Bobot", "Skala"]
GOOD_ROWS: list[list[Any]] = [
    ["A", "Komponen", "Perencanaan", 60],
    ["A.a", "Sub-komponen", "Pemenuhan", "12,5"],
    ["A.a.1", "Kriteria", "Dokumen ada", None, "YT"],
    ["A.b", "Sub-komponen", "Kualitas", 47.5],
    ["A.b.1", "Kriteria", "Dokumen bermutu", None, "AE"],
    ["A.b.2", "Kriteria", "Dokumen selaras", None, "ae"],
    ["B", "Komponen", "Pelaporan", "40%"],
    ["B.a", "Sub-komponen", "Laporan", 40],
    ["B.a.1", "Kriteria", "Laporan disusun", None, "YT"],
]


def book(rows: list[list[Any]], *, header: list[str] | None = None, title_rows: int = 2,
         sheets: dict[str, list[list[Any]]] | None = None, lke_title: str = "LKE") -> bytes:
    """A workbook as an evaluator would make it: title rows, then the header, then the rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = lke_title
    for n in range(title_rows):
        sheet.append([f"Judul {n + 1}"])
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    for name, content in (sheets or {}).items():
        extra = workbook.create_sheet(name)
        for row in content:
            extra.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def problems(data: bytes, **identity: Any) -> list[str]:
    with pytest.raises(WorkbookError) as caught:
        import_lke_workbook(data, **{**IDENTITY, **identity})
    return caught.value.details


# -- round trip and layout ----------------------------------------------------------------------

@pytest.mark.parametrize("definition", bundled_rubrics(), ids=lambda d: d.code)
def test_an_exported_bundled_rubric_imports_back_unchanged(definition: Any) -> None:
    data = export_lke_workbook(definition)
    again = import_lke_workbook(io.BytesIO(data), code=definition.code,
                                version=definition.version, name=definition.name,
                                regulation=definition.regulation, source=definition.source)
    assert again == definition
    assert again.to_dict() == definition.to_dict()


def test_the_export_looks_like_an_evaluators_lke() -> None:
    definition = bundled_rubrics()[0]
    workbook = openpyxl.load_workbook(io.BytesIO(export_lke_workbook(definition)))
    assert workbook.sheetnames == ["LKE", "Skala", "Predikat", "Aturan"]
    sheet = workbook["LKE"]
    assert sheet["A1"].value == definition.name
    assert [c.value for c in sheet[5]] == list(LKE_COLUMNS)
    assert [c.value for c in sheet[6]][:4] == ["A", "Komponen", "Perencanaan Kinerja", 30]
    assert [c.value for c in sheet[7]][:6] == ["A.1.a", "Sub-komponen", "Pemenuhan Renstra", 2,
                                               None, "Perencanaan Strategis"]
    assert [c.value for c in sheet[8]][:5] == ["A.1.a.1", "Kriteria", "Renstra telah disusun",
                                               None, "YT"]
    validations = sheet.data_validations.dataValidation
    assert sorted(v.formula1 for v in validations) == ['"A,B,C,D,E"', '"Y,T"']
    assert "H8" in str(next(v.sqref for v in validations if v.formula1 == '"Y,T"'))
    assert [c.value for c in workbook["Skala"][2]] == ["YT", "Y", 1]
    assert [c.value for c in workbook["Predikat"][8]] == ["D", None, "Sangat Kurang"]
    assert [c.value for c in workbook["Aturan"][2]] == ["A.1.b.1", "A.1.a.2", None]


def test_text_that_looks_like_a_formula_stays_text() -> None:
    definition = bundled_rubrics()[0]
    document = definition.to_dict()
    document["components"][0]["subcomponents"][0]["criteria"][0]["text"] = "=HYPERLINK(\"x\")"
    tricky = rubric_from_dict(document)
    data = export_lke_workbook(tricky)
    cell = openpyxl.load_workbook(io.BytesIO(data))["LKE"]["C8"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("x")', "s")
    assert import_lke_workbook(data, code=tricky.code, version=1, name=tricky.name,
                               regulation=tricky.regulation, source=tricky.source) == tricky


# -- an evaluator's workbook --------------------------------------------------------------------

def test_an_evaluators_workbook_with_decimal_commas_is_read() -> None:
    definition = import_lke_workbook(book(GOOD_ROWS), **IDENTITY)
    assert [(c.code, c.weight) for c in definition.components] == [
        ("A", Decimal(60)), ("B", Decimal(40))]
    assert [s.weight for s in definition.components[0].subcomponents] == [
        Decimal("12.5"), Decimal("47.5")]
    assert [c.scale for c in definition.criteria()] == ["YT", "AE", "AE", "YT"]
    assert definition.scales["AE"]["B"] == Decimal("0.75")  # default scales
    assert definition.grades[0].grade == "AA"  # default bands
    assert definition.rules == ()
    assert (definition.code, definition.version, definition.source) == (
        "lke-kota", 1, "Buku kerja LKE tim evaluasi")


def test_columns_are_found_by_title_and_extra_sheets_are_read() -> None:
    header = ["No", "Uraian", "Tingkat", "Skala", "Bobot", "Kelompok", "Penjelasan", "Jawaban"]
    rows = [["1", "Satu", "Komponen", None, 100],
            ["1.a", "Sub", "sub komponen", None, "100,0", "Pemenuhan"],
            ["1.a.1", "Ada dokumen", "KRITERIA", "YTX", None, None, "Lihat SK", "Y"],
            ["1.a.2", "Dokumen baik", "Kriteria", "YTX", None]]
    sheets = {"Skala": [["Skala", "Jawaban", "Nilai"], ["YTX", "Y", 1], ["YTX", "T", "0,0"],
                        ["YTX", "S", "0,5"]],
              "Predikat": [["Predikat", "Nilai di atas", "Sebutan"], ["L", "50", "Lulus"],
                           ["G", None, "Gagal"]],
              "Aturan": [["Kriteria", "Tidak boleh melebihi", "Pesan"],
                         ["1.a.2", "1.a.1", "Periksa dokumen."]]}
    definition = import_lke_workbook(book(rows, header=header, sheets=sheets), **IDENTITY)
    assert definition.scales == {"YTX": {"Y": Decimal(1), "T": Decimal(0), "S": Decimal("0.5")}}
    assert [(g.grade, g.above) for g in definition.grades] == [("L", Decimal(50)), ("G", None)]
    assert definition.rules[0].message == "Periksa dokumen."
    sub = definition.components[0].subcomponents[0]
    assert (sub.group, sub.criteria[0].guidance) == ("Pemenuhan", "Lihat SK")


def test_a_workbook_without_an_lke_sheet_reads_its_first_sheet() -> None:
    assert import_lke_workbook(book(GOOD_ROWS, lke_title="Lembar1"), **IDENTITY).components


# -- row-level errors ---------------------------------------------------------------------------

def test_a_weight_that_is_not_a_number_names_its_row_and_column() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[1][3] = "12,5x"  # row 4 of the sheet (two title rows, the header)
    assert problems(book(rows)) == ["Baris 5, kolom D: bobot '12,5x' bukan angka."]


def test_an_unknown_scale_is_named() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[2][4] = "ABC"
    assert problems(book(rows)) == [
        "Baris 6, kolom E: skala 'ABC' tidak dikenal; skala yang ada: YT, AE."]


def test_weights_that_do_not_add_up_are_named() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[3][3] = 47  # A = 60 but 12,5 + 47 = 59,5
    rows[7][3] = 40
    assert problems(book(rows)) == [
        "Baris 4, kolom D: bobot komponen A (60) tidak sama dengan jumlah bobot sub-komponennya "
        "(59,5).",
    ]
    rows[0][3] = 59.5
    assert problems(book(rows)) == ["Lembar LKE: jumlah bobot komponen 99,5, seharusnya 100."]


def test_a_duplicate_code_names_both_rows() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[5][0] = "A.b.1"
    assert problems(book(rows)) == ["Baris 9, kolom A: kode 'A.b.1' sudah dipakai di baris 8."]


def test_every_problem_is_reported_at_once() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[2][1] = "Bagian"  # unknown kind
    rows[1][2] = None  # no name
    rows[5][0] = "A b 2"  # bad code
    rows[4][4] = None  # no scale
    rows[7][3] = -1  # weight out of range
    assert problems(book(rows), code="X", version=0, name=" ") == [
        "Kode rubrik 'X' tidak sah: huruf kecil, angka dan tanda hubung, 3-64 karakter, "
        "diawali huruf.",
        "Versi rubrik '0' tidak sah: bilangan bulat mulai 1.",
        "Nama rubrik wajib diisi.",
        "Baris 5, kolom C: nama sub-komponen wajib diisi.",
        "Baris 6, kolom B: jenis 'Bagian' tidak dikenal; isi Komponen, Sub-komponen, atau "
        "Kriteria.",
        "Baris 8, kolom E: skala kriteria wajib diisi.",
        "Baris 9, kolom A: kode 'A b 2' tidak sah: huruf, angka, titik, garis bawah atau tanda "
        "hubung, paling panjang 32 karakter.",
        "Baris 11, kolom D: bobot -1 harus lebih dari 0 dan paling besar 100.",
        "Baris 5: sub-komponen A.a tidak memiliki kriteria.",  # its only criterion was refused
    ]


def test_row_errors_carry_their_place() -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[1][3] = "dua"
    with pytest.raises(WorkbookError) as caught:
        import_lke_workbook(book(rows), **IDENTITY)
    assert caught.value.errors == [RowError("LKE", 5, "D", "bobot 'dua' bukan angka.")]
    assert str(caught.value) == "Baris 5, kolom D: bobot 'dua' bukan angka."


def test_an_empty_sheet_is_refused() -> None:
    assert problems(book([])) == [
        "Lembar LKE: lembar LKE kosong: tidak ada komponen di bawah baris judul kolom."]
    assert problems(book([], header=["Nomor", "Isi"])) == [
        "Lembar LKE: tidak ada baris judul kolom (Kode, Jenis, Komponen / Sub-komponen / "
        "Kriteria, Bobot, Skala) di 20 baris pertama."]


def test_components_and_subcomponents_must_not_be_empty() -> None:
    rows = [["A", "Komponen", "Satu", 50], ["B", "Komponen", "Dua", 50],
            ["B.a", "Sub-komponen", "Kosong", 50]]
    assert problems(book(rows)) == [
        "Baris 4: komponen A tidak memiliki sub-komponen.",
        "Baris 6: sub-komponen B.a tidak memiliki kriteria.",
    ]


def test_the_extra_sheets_are_checked_row_by_row() -> None:
    sheets = {"Skala": [["Skala", "Jawaban", "Nilai"], ["YT", "Y", 1], ["YT", "T", "nol"],
                        ["AE", "A", 2]],
              "Predikat": [["Predikat", "Nilai di atas", "Sebutan"], ["AA", 50, "Baik"],
                           ["A", 60, "Lebih baik"], ["D", 10, "Buruk"]],
              "Aturan": [["Kriteria", "Tidak boleh melebihi"], ["A.b.1", "Z.1"],
                         ["A.b.1", "A.b.1"]]}
    assert problems(book(GOOD_ROWS, sheets=sheets)) == [
        "Lembar Skala, baris 3, kolom C: nilai 'nol' harus angka 0 sampai 1.",
        "Lembar Skala, baris 4, kolom C: nilai '2' harus angka 0 sampai 1.",
        "Lembar Skala: skala YT harus memiliki paling sedikit dua jawaban.",
        "Lembar Predikat, baris 3, kolom B: predikat diurutkan dari tertinggi: batasnya harus "
        "lebih kecil dari batas baris sebelumnya (50).",
        "Lembar Predikat, baris 4, kolom B: batas predikat terakhir (terendah) harus kosong.",
        "Baris 8, kolom E: skala 'AE' tidak dikenal; skala yang ada: YT.",
        "Baris 9, kolom E: skala 'AE' tidak dikenal; skala yang ada: YT.",
        "Lembar Aturan, baris 2, kolom B: kriteria 'Z.1' tidak ada di lembar LKE.",
        "Lembar Aturan, baris 3, kolom B: kriteria tidak dapat dibatasi oleh dirinya sendiri.",
    ]


# -- refused files ------------------------------------------------------------------------------

NOT_XLSX = ["Berkas bukan buku kerja XLSX (Excel 2007 ke atas) yang sah."]


def test_a_file_that_is_not_an_xlsx_is_refused() -> None:
    assert problems(b"%PDF-1.7 not a workbook") == NOT_XLSX
    assert problems(b"") == NOT_XLSX
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "halo")
    assert problems(plain_zip.getvalue()) == NOT_XLSX
    fake = io.BytesIO()
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/workbook.xml", "not xml at all <")
    assert problems(fake.getvalue()) == NOT_XLSX


def test_a_zip_bomb_is_refused_before_it_is_opened() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/workbook.xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (MAX_UNCOMPRESSED_BYTES + 1))
    assert len(bomb.getvalue()) < 1024 * 1024  # small on disk
    assert problems(bomb.getvalue()) == [
        "Berkas ditolak: isinya setelah dibuka melebihi 50 MB."]


def test_a_zip_of_too_many_parts_is_refused() -> None:
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"part{n}.xml", "")
    assert problems(many.getvalue()) == [
        f"Berkas ditolak: berisi {MAX_ZIP_ENTRIES + 1} bagian (paling banyak "
        f"{MAX_ZIP_ENTRIES})."]


def test_a_huge_upload_is_refused_unread() -> None:
    stream = io.BytesIO(b"PK" + b"\0" * (10 * 1024 * 1024 + 10))
    assert problems(stream.getvalue()) == ["Berkas terlalu besar (lebih dari 10 MB)."]
    stream.seek(0)
    with pytest.raises(WorkbookError, match="terlalu besar"):
        import_lke_workbook(stream, **IDENTITY)
