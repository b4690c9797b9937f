"""LKE workbooks (XLSX): an evaluator's Lembar Kriteria Evaluasi read into a rubric version, and a
rubric written out as one.

Real evaluators receive the LKE as a spreadsheet, so a new version of a rubric arrives that way.
`export_lke_workbook` writes exactly the layout `import_lke_workbook` reads:

Sheet "LKE" (required; without a sheet of that name the first sheet is read)
    Rows above the header are free (export writes the rubric's name, regulation and source in
    rows 1-3). The header row is the first of the first 20 rows naming the columns below; the
    columns are found by their titles (any order, case ignored):

    ====  ====================================  ================================================
    col   title                                 content
    ====  ====================================  ================================================
    A     Kode                                  A, A.1.a, A.1.a.1 (letters, digits, . _ -; max 32)
    B     Jenis                                 Komponen | Sub-komponen | Kriteria
    C     Komponen / Sub-komponen / Kriteria    the name, or the criterion's text
    D     Bobot                                 weight of a component or sub-component ("12,5"
                                                or 12.5; a trailing % is allowed); empty for
                                                a criterion
    E     Skala                                 a criterion's answer scale (YT, AE, ...)
    F     Kelompok                              optional display group of a sub-component
    G     Penjelasan                            optional guidance for a criterion
    H-J   Jawaban | Nilai | Catatan             the evaluator's columns; not read
    ====  ====================================  ================================================

    A Komponen row opens a component, the Sub-komponen rows under it open its sub-components, and
    the Kriteria rows under a sub-component are its criteria. A component's weight is the sum of
    its sub-components' weights, and the components' weights sum to 100.
Sheet "Skala" (optional; default Y/T = 1/0 and A-E = 1/0,75/0,5/0,25/0)
    Skala | Jawaban | Nilai: one row per answer value (0 to 1).
Sheet "Predikat" (optional; default AA >90 ... D, the published bands)
    Predikat | Nilai di atas | Sebutan, high to low; the last band's bound is empty.
Sheet "Aturan" (optional; no consistency rules)
    Kriteria | Tidak boleh melebihi | Pesan: the first criterion's answer may not exceed the
    second's.

Every problem is reported at once, in Indonesian, with its place: "Baris 12, kolom D: bobot
'12,5x' bukan angka." A file that is not an XLSX, or a zip that would inflate beyond reason, is
refused before openpyxl opens it.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from shared.reporting.rubric import (
    CODE_PATTERN,
    RubricDefinition,
    RubricError,
    canonical_decimal,
    rubric_from_dict,
)

MAX_FILE_BYTES = 10 * 1024 * 1024  # an LKE is a few hundred rows: tens of kilobytes
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_ROWS = 5000
MAX_COLUMNS = 26
MAX_ERRORS = 100
HEADER_SEARCH_ROWS = 20

LKE_SHEET, SCALE_SHEET, GRADE_SHEET, RULE_SHEET = "LKE", "Skala", "Predikat", "Aturan"
KIND_COMPONENT, KIND_SUBCOMPONENT, KIND_CRITERION = "Komponen", "Sub-komponen", "Kriteria"
LKE_COLUMNS = ("Kode", "Jenis", "Komponen / Sub-komponen / Kriteria", "Bobot", "Skala",
               "Kelompok", "Penjelasan", "Jawaban", "Nilai", "Catatan")
SCALE_COLUMNS = ("Skala", "Jawaban", "Nilai")
GRADE_COLUMNS = ("Predikat", "Nilai di atas", "Sebutan")
RULE_COLUMNS = ("Kriteria", "Tidak boleh melebihi", "Pesan")
# Column title (lower case) -> field; a few titles evaluators' sheets use for the same thing.
_LKE_TITLES = {
    "kode": "code", "no": "code", "no.": "code",
    "jenis": "kind", "tingkat": "kind",
    "komponen / sub-komponen / kriteria": "text", "komponen/sub-komponen/kriteria": "text",
    "uraian": "text",
    "bobot": "weight",
    "skala": "scale", "jenis jawaban": "scale",
    "kelompok": "group",
    "penjelasan": "guidance", "keterangan": "guidance",
}
_KINDS = {"komponen": KIND_COMPONENT, "sub-komponen": KIND_SUBCOMPONENT,
          "sub komponen": KIND_SUBCOMPONENT, "subkomponen": KIND_SUBCOMPONENT,
          "kriteria": KIND_CRITERION}
DEFAULT_SCALES = {"YT": {"Y": Decimal(1), "T": Decimal(0)},
                  "AE": {"A": Decimal(1), "B": Decimal("0.75"), "C": Decimal("0.5"),
                         "D": Decimal("0.25"), "E": Decimal(0)}}
DEFAULT_GRADES = (("AA", Decimal(90), "Sangat Memuaskan"), ("A", Decimal(80), "Memuaskan"),
                  ("BB", Decimal(70), "Sangat Baik"), ("B", Decimal(60), "Baik"),
                  ("CC", Decimal(50), "Cukup"), ("C", Decimal(30), "Kurang"),
                  ("D", None, "Sangat Kurang"))
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_CODE = re.compile(CODE_PATTERN)


@dataclass(frozen=True)
class RowError:
    """One problem of the workbook: where it is (sheet, 1-based row, column letter; None when it
    concerns the whole file or sheet) and what it is (`message`, Indonesian, without the place).
    `str()` is the whole sentence: "Baris 12, kolom D: bobot '12,5x' bukan angka."."""

    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        place = []
        if self.sheet and (self.sheet != LKE_SHEET or self.row is None):
            place.append(f"lembar {self.sheet}")
        if self.row is not None:
            place.append(f"baris {self.row}")
        if self.column is not None:
            place.append(f"kolom {self.column}")
        sentence = f"{', '.join(place)}: {self.message}" if place else self.message
        return sentence[:1].upper() + sentence[1:]


class WorkbookError(ValueError):
    """The workbook cannot become a rubric; `errors` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(self.details))

    @property
    def details(self) -> list[str]:
        return [str(e) for e in self.errors]


class _Errors:
    """Collects the problems; a row without a sheet named is a row of the LKE sheet."""

    def __init__(self) -> None:
        self.items: list[RowError] = []

    def add(self, text: str, *, sheet: str | None = None, row: int | None = None,
            column: int | None = None) -> None:
        if sheet is None and row is not None:
            sheet = LKE_SHEET
        if sheet is None and row is None:
            text = text[:1].upper() + text[1:]  # stands alone, no place before it
        self.items.append(RowError(sheet=sheet, row=row,
                                   column=get_column_letter(column) if column else None,
                                   message=text))

    def raise_if_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_ERRORS]
            if len(self.items) > MAX_ERRORS:
                shown.append(RowError(None, None, None,
                                      f"... dan {len(self.items) - MAX_ERRORS} masalah lain."))
            raise WorkbookError(shown)


# -- import -----------------------------------------------------------------------------------

def import_lke_workbook(data: bytes | IO[bytes], *, code: str, version: int, name: str,
                        regulation: str, source: str) -> RubricDefinition:
    """Read an LKE workbook into a rubric version (not stored: see services/reporting/rubrics.py).
    Raises WorkbookError listing every problem."""
    errors = _Errors()
    _check_identity(errors, code=code, version=version, name=name, regulation=regulation,
                    source=source)
    raw = data if isinstance(data, bytes) else data.read(MAX_FILE_BYTES + 1)
    workbook = _open_workbook(raw, errors)
    if workbook is None:  # refused: nothing more can be read
        raise WorkbookError(errors.items)
    try:
        sheets = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
        scales = _read_scales(sheets.get(SCALE_SHEET.lower()), errors)
        grades = _read_grades(sheets.get(GRADE_SHEET.lower()), errors)
        lke = sheets.get(LKE_SHEET.lower()) or (workbook.worksheets[0]
                                               if workbook.worksheets else None)
        components, codes = _read_lke(lke, scales, errors)
        rules = _read_rules(sheets.get(RULE_SHEET.lower()), codes, errors)
    finally:
        workbook.close()
    errors.raise_if_any()
    document = {
        "code": code, "version": version, "name": name, "regulation": regulation,
        "source": source,
        "scales": {s: {a: canonical_decimal(v) for a, v in values.items()}
                   for s, values in scales.items()},
        "grades": grades, "components": components, "rules": rules,
    }
    try:
        return rubric_from_dict(document, source_name="LKE")
    except RubricError as exc:  # a check above missed something: still say so, not crash
        raise WorkbookError([RowError(None, None, None, f"Isi LKE tidak sah: {exc}")]) from exc


def _check_identity(errors: _Errors, *, code: str, version: int, name: str, regulation: str,
                    source: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9-]{2,63}", code or ""):
        errors.add(f"kode rubrik '{code}' tidak sah: huruf kecil, angka dan tanda hubung, "
                   "3-64 karakter, diawali huruf.")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        errors.add(f"versi rubrik '{version}' tidak sah: bilangan bulat mulai 1.")
    for label, value, limit in (("nama", name, 255), ("peraturan", regulation, 4000),
                                ("sumber", source, 4000)):
        if not (value or "").strip():
            errors.add(f"{label} rubrik wajib diisi.")
        elif len(value) > limit:
            errors.add(f"{label} rubrik paling panjang {limit} karakter.")


def _open_workbook(raw: bytes, errors: _Errors) -> Any:
    """The workbook, read-only, after checking that the bytes are a sane XLSX zip."""
    not_xlsx = "berkas bukan buku kerja XLSX (Excel 2007 ke atas) yang sah."
    if len(raw) > MAX_FILE_BYTES:
        errors.add(f"berkas terlalu besar (lebih dari {MAX_FILE_BYTES // (1024 * 1024)} MB).")
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                errors.add(f"berkas ditolak: berisi {len(entries)} bagian (paling banyak "
                           f"{MAX_ZIP_ENTRIES}).")
                return None
            inflated = sum(entry.file_size for entry in entries)
            if inflated > MAX_UNCOMPRESSED_BYTES:
                errors.add("berkas ditolak: isinya setelah dibuka melebihi "
                           f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB.")
                return None
            names = {entry.filename for entry in entries}
            if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
                errors.add(not_xlsx)
                return None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        errors.add(not_xlsx)
        return None
    try:
        with warnings.catch_warnings():
            # openpyxl warns about spreadsheet features it drops (styles, extensions): harmless.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on malformed parts; all mean the same here
        errors.add(not_xlsx)
        return None


def _rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS),
                                    start=1):
        if number > MAX_ROWS:
            if any(_text(v) for v in values):
                yield number, ()  # the caller reports "too many rows"
            return
        yield number, tuple(values)


def _text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _number(value: Any, *, percent: bool = False) -> Decimal | None:
    """A cell as a Decimal: a number, or text with a decimal comma ("12,5"); None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    text = _text(value).replace(" ", "")
    if percent and text.endswith("%"):
        text = text[:-1]
    if "," in text:
        text = text.replace(".", "").replace(",", ".")  # 1.234,5 -> 1234.5
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def _header(sheet: Any, titles: dict[str, str], needed: tuple[str, ...], shown: tuple[str, ...],
            sheet_name: str, errors: _Errors) -> tuple[int, dict[str, int]] | None:
    """The header row's number and the column (1-based) of each field it names (`needed`, whose
    titles are `shown` when the header is missing)."""
    for number, values in _rows(sheet):
        if number > HEADER_SEARCH_ROWS:
            break
        columns: dict[str, int] = {}
        for index, value in enumerate(values, start=1):
            field = titles.get(_text(value).lower())
            if field is not None and field not in columns:
                columns[field] = index
        if all(field in columns for field in needed):
            return number, columns
    errors.add(f"tidak ada baris judul kolom ({', '.join(shown)}) di {HEADER_SEARCH_ROWS} "
               "baris pertama.", sheet=sheet_name)
    return None


def _cell(values: tuple[Any, ...], column: int | None) -> Any:
    if column is None or column > len(values):
        return None
    return values[column - 1]


def _read_lke(sheet: Any, scales: dict[str, dict[str, Decimal]],
              errors: _Errors) -> tuple[list[dict[str, Any]], set[str]]:
    components: list[dict[str, Any]] = []
    codes: dict[str, int] = {}
    if sheet is None:
        errors.add("buku kerja tidak memiliki lembar LKE.")
        return components, set()
    found = _header(sheet, _LKE_TITLES, ("code", "kind", "text", "weight", "scale"),
                    LKE_COLUMNS[:5], LKE_SHEET, errors)
    if found is None:
        return components, set()
    header_row, col = found
    rows_of: dict[int, int] = {}  # id(component or sub-component dict) -> its row
    component: dict[str, Any] | None = None
    sub: dict[str, Any] | None = None
    for number, values in _rows(sheet):
        if number <= header_row:
            continue
        if not values:
            errors.add(f"lembar LKE paling banyak {MAX_ROWS} baris.", sheet=LKE_SHEET)
            break
        cells = {field: _cell(values, index) for field, index in col.items()}
        if not any(_text(cells.get(f)) for f in ("code", "kind", "text", "weight", "scale")):
            continue
        kind_text = _text(cells["kind"])
        kind = _KINDS.get(kind_text.lower())
        code = _text(cells["code"])
        text = _text(cells["text"])
        if kind is None:
            errors.add(f"jenis '{kind_text}' tidak dikenal; isi Komponen, Sub-komponen, atau "
                       "Kriteria." if kind_text else "jenis wajib diisi (Komponen, Sub-komponen,"
                       " atau Kriteria).", row=number, column=col["kind"])
            continue
        if not code:
            errors.add(f"kode {kind.lower()} wajib diisi.", row=number, column=col["code"])
        elif not _CODE.fullmatch(code):
            errors.add(f"kode '{code}' tidak sah: huruf, angka, titik, garis bawah atau tanda "
                       "hubung, paling panjang 32 karakter.", row=number, column=col["code"])
        elif code in codes:
            errors.add(f"kode '{code}' sudah dipakai di baris {codes[code]}.", row=number,
                       column=col["code"])
        else:
            codes[code] = number
        if not text:
            what = "teks kriteria" if kind == KIND_CRITERION else f"nama {kind.lower()}"
            errors.add(f"{what} wajib diisi.", row=number, column=col["text"])
        elif len(text) > (4000 if kind == KIND_CRITERION else 255):
            errors.add("teks terlalu panjang.", row=number, column=col["text"])
        if kind == KIND_CRITERION:
            scale = _text(cells["scale"]).upper()
            if not scale:
                errors.add("skala kriteria wajib diisi.", row=number, column=col["scale"])
            elif scale not in scales:
                errors.add(f"skala '{scale}' tidak dikenal; skala yang ada: "
                           f"{', '.join(scales)}.", row=number, column=col["scale"])
            if sub is None:
                errors.add("kriteria harus berada di bawah sebuah sub-komponen.", row=number,
                           column=col["kind"])
                continue
            criterion = {"code": code, "text": text, "scale": scale}
            guidance = _text(cells.get("guidance"))
            if guidance:
                criterion["guidance"] = guidance
            sub["criteria"].append(criterion)
            continue
        weight = _weight(cells["weight"], number, col["weight"], errors)
        if kind == KIND_COMPONENT:
            component = {"code": code, "name": text, "weight": weight, "subcomponents": []}
            rows_of[id(component)] = number
            components.append(component)
            sub = None
        else:
            if component is None:
                errors.add("sub-komponen harus berada di bawah sebuah komponen.", row=number,
                           column=col["kind"])
                continue
            sub = {"code": code, "name": text, "weight": weight, "criteria": []}
            group = _text(cells.get("group"))
            if group:
                sub["group"] = group
            rows_of[id(sub)] = number
            component["subcomponents"].append(sub)
    _check_structure(components, rows_of, col["weight"], errors)
    return _with_plain_weights(components), set(codes)


def _weight(value: Any, row: int, column: int, errors: _Errors) -> Decimal | None:
    if _text(value) == "":
        errors.add("bobot wajib diisi.", row=row, column=column)
        return None
    weight = _number(value, percent=True)
    if weight is None:
        errors.add(f"bobot '{_text(value)}' bukan angka.", row=row, column=column)
        return None
    if not Decimal(0) < weight <= 100:
        errors.add(f"bobot {_id(weight)} harus lebih dari 0 dan paling besar 100.", row=row,
                   column=column)
        return None
    return weight


def _check_structure(components: list[dict[str, Any]], rows_of: dict[int, int],
                     weight_column: int, errors: _Errors) -> None:
    if not components:
        errors.add("lembar LKE kosong: tidak ada komponen di bawah baris judul kolom.",
                   sheet=LKE_SHEET)
        return
    for comp in components:
        row = rows_of[id(comp)]
        if not comp["subcomponents"]:
            errors.add(f"komponen {comp['code']} tidak memiliki sub-komponen.", row=row)
        for sub in comp["subcomponents"]:
            if not sub["criteria"]:
                errors.add(f"sub-komponen {sub['code']} tidak memiliki kriteria.",
                           row=rows_of[id(sub)])
        weights = [s["weight"] for s in comp["subcomponents"]]
        if comp["weight"] is not None and weights and None not in weights:
            total = sum(weights, Decimal(0))
            if total != comp["weight"]:
                errors.add(f"bobot komponen {comp['code']} ({_id(comp['weight'])}) tidak sama "
                           f"dengan jumlah bobot sub-komponennya ({_id(total)}).", row=row,
                           column=weight_column)
    weights = [c["weight"] for c in components]
    if None not in weights:
        total = sum(weights, Decimal(0))
        if total != 100:
            errors.add(f"jumlah bobot komponen {_id(total)}, seharusnya 100.", sheet=LKE_SHEET)


def _with_plain_weights(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for comp in components:
        if comp["weight"] is not None:
            comp["weight"] = canonical_decimal(comp["weight"])
        for sub in comp["subcomponents"]:
            if sub["weight"] is not None:
                sub["weight"] = canonical_decimal(sub["weight"])
    return components


def _read_scales(sheet: Any, errors: _Errors) -> dict[str, dict[str, Decimal]]:
    if sheet is None:
        return {scale: dict(values) for scale, values in DEFAULT_SCALES.items()}
    titles = {"skala": "scale", "jawaban": "answer", "nilai": "value"}
    found = _header(sheet, titles, ("scale", "answer", "value"), SCALE_COLUMNS, SCALE_SHEET,
                    errors)
    scales: dict[str, dict[str, Decimal]] = {}
    if found is None:
        return scales
    header_row, col = found
    for number, values in _rows(sheet):
        if number <= header_row or not values:
            continue
        scale = _text(_cell(values, col["scale"])).upper()
        answer = _text(_cell(values, col["answer"])).upper()
        raw_value = _cell(values, col["value"])
        if not (scale or answer or _text(raw_value)):
            continue
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,15}", scale):
            errors.add(f"kode skala '{scale}' tidak sah (huruf besar, angka, garis bawah).",
                       sheet=SCALE_SHEET, row=number, column=col["scale"])
            continue
        if not re.fullmatch(r"[A-Z0-9]{1,8}", answer):
            errors.add(f"jawaban '{answer}' tidak sah (huruf besar atau angka, paling panjang "
                       "8).", sheet=SCALE_SHEET, row=number, column=col["answer"])
            continue
        value = _number(raw_value)
        if value is None or not Decimal(0) <= value <= 1:
            errors.add(f"nilai '{_text(raw_value)}' harus angka 0 sampai 1.", sheet=SCALE_SHEET,
                       row=number, column=col["value"])
            continue
        if answer in scales.get(scale, {}):
            errors.add(f"jawaban {answer} sudah ada pada skala {scale}.", sheet=SCALE_SHEET,
                       row=number, column=col["answer"])
            continue
        scales.setdefault(scale, {})[answer] = value
    for scale, answers in scales.items():
        if len(answers) < 2:
            errors.add(f"skala {scale} harus memiliki paling sedikit dua jawaban.",
                       sheet=SCALE_SHEET)
    if not scales:
        errors.add("lembar Skala kosong.", sheet=SCALE_SHEET)
    return scales


def _read_grades(sheet: Any, errors: _Errors) -> list[dict[str, Any]]:
    if sheet is None:
        return [{"grade": g, "above": None if a is None else canonical_decimal(a), "label": lb}
                for g, a, lb in DEFAULT_GRADES]
    titles = {"predikat": "grade", "nilai di atas": "above", "di atas": "above",
              "sebutan": "label", "keterangan": "label"}
    found = _header(sheet, titles, ("grade", "above", "label"), GRADE_COLUMNS, GRADE_SHEET,
                    errors)
    grades: list[dict[str, Any]] = []
    if found is None:
        return grades
    header_row, col = found
    previous: Decimal | None = None
    rows: list[int] = []
    for number, values in _rows(sheet):
        if number <= header_row or not values:
            continue
        grade = _text(_cell(values, col["grade"])).upper()
        raw_above = _cell(values, col["above"])
        label = _text(_cell(values, col["label"]))
        if not (grade or label or _text(raw_above)):
            continue
        if not re.fullmatch(r"[A-Z]{1,4}", grade):
            errors.add(f"predikat '{grade}' tidak sah (1-4 huruf).", sheet=GRADE_SHEET,
                       row=number, column=col["grade"])
        if not label:
            errors.add("sebutan predikat wajib diisi.", sheet=GRADE_SHEET, row=number,
                       column=col["label"])
        above: Decimal | None = None
        if _text(raw_above):
            above = _number(raw_above)
            if above is None or above > 100:
                errors.add(f"batas '{_text(raw_above)}' harus angka 0 sampai 100.",
                           sheet=GRADE_SHEET, row=number, column=col["above"])
                above = None
            elif previous is not None and above >= previous:
                errors.add("predikat diurutkan dari tertinggi: batasnya harus lebih kecil dari "
                           f"batas baris sebelumnya ({_id(previous)}).", sheet=GRADE_SHEET,
                           row=number, column=col["above"])
            else:
                previous = above
        elif grades and grades[-1]["above"] is None:
            errors.add("hanya predikat terakhir (terendah) yang batasnya kosong.",
                       sheet=GRADE_SHEET, row=rows[-1], column=col["above"])
        rows.append(number)
        grades.append({"grade": grade, "above": None if above is None else
                       canonical_decimal(above), "label": label})
    if not grades:
        errors.add("lembar Predikat kosong.", sheet=GRADE_SHEET)
    elif grades[-1]["above"] is not None:
        errors.add("batas predikat terakhir (terendah) harus kosong.", sheet=GRADE_SHEET,
                   row=rows[-1], column=col["above"])
    return grades


def _read_rules(sheet: Any, codes: set[str], errors: _Errors) -> list[dict[str, Any]]:
    if sheet is None:
        return []
    titles = {"kriteria": "criterion", "tidak boleh melebihi": "not_above",
              "tidak melebihi": "not_above", "pesan": "message"}
    found = _header(sheet, titles, ("criterion", "not_above"), RULE_COLUMNS[:2], RULE_SHEET,
                    errors)
    rules: list[dict[str, Any]] = []
    if found is None:
        return rules
    header_row, col = found
    for number, values in _rows(sheet):
        if number <= header_row or not values:
            continue
        criterion = _text(_cell(values, col["criterion"]))
        bound = _text(_cell(values, col["not_above"]))
        message = _text(_cell(values, col.get("message")))
        if not (criterion or bound or message):
            continue
        ok = True
        for code, column in ((criterion, col["criterion"]), (bound, col["not_above"])):
            if code not in codes:
                errors.add(f"kriteria '{code}' tidak ada di lembar LKE." if code else
                           "kode kriteria wajib diisi.", sheet=RULE_SHEET, row=number,
                           column=column)
                ok = False
        if ok and criterion == bound:
            errors.add("kriteria tidak dapat dibatasi oleh dirinya sendiri.", sheet=RULE_SHEET,
                       row=number, column=col["not_above"])
            ok = False
        if ok:
            rule = {"criterion": criterion, "not_above": bound}
            if message:
                rule["message"] = message
            rules.append(rule)
    return rules


def _id(value: Decimal) -> str:
    """A number the Indonesian way, as short as it is exact: 12,5; 30."""
    return canonical_decimal(value).replace(".", ",")


# -- export -----------------------------------------------------------------------------------

def export_lke_workbook(definition: RubricDefinition) -> bytes:
    """The rubric as an LKE workbook in the layout the importer reads (module docstring), with
    drop-down lists of each criterion's answers in the Jawaban column for the evaluator."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = LKE_SHEET
    _put_text(sheet, 1, 1, definition.name).font = Font(bold=True, size=14)
    _put_text(sheet, 2, 1, definition.regulation)
    _put_text(sheet, 3, 1, f"Sumber: {definition.source}").font = Font(italic=True, size=9)
    header_row = 5
    for index, title in enumerate(LKE_COLUMNS, start=1):
        _put_text(sheet, header_row, index, title).font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    answers_of = {
        scale: DataValidation(type="list", formula1='"' + ",".join(values) + '"',
                              allow_blank=True)
        for scale, values in definition.scales.items()}
    for validation in answers_of.values():
        sheet.add_data_validation(validation)
    row = header_row
    for comp in definition.components:
        row += 1
        _put_row(sheet, row, (comp.code, KIND_COMPONENT, comp.name), comp.weight, bold=True)
        for sub in comp.subcomponents:
            row += 1
            _put_row(sheet, row, (sub.code, KIND_SUBCOMPONENT, sub.name), sub.weight, bold=True)
            if sub.group:
                _put_text(sheet, row, 6, sub.group)
            for criterion in sub.criteria:
                row += 1
                _put_row(sheet, row, (criterion.code, KIND_CRITERION, criterion.text), None)
                _put_text(sheet, row, 5, criterion.scale)
                if criterion.guidance:
                    _put_text(sheet, row, 7, criterion.guidance)
                answers_of[criterion.scale].add(sheet.cell(row=row, column=8))
    for letter, width in zip("ABCDEFGHIJ", (12, 14, 80, 8, 8, 24, 40, 10, 8, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    for cells in sheet.iter_rows(min_row=header_row + 1, min_col=3, max_col=3):
        cells[0].alignment = Alignment(wrap_text=True, vertical="top")

    scales = workbook.create_sheet(SCALE_SHEET)
    _put_table(scales, SCALE_COLUMNS, [(s, a, v) for s, values in definition.scales.items()
                                       for a, v in values.items()])
    grades = workbook.create_sheet(GRADE_SHEET)
    _put_table(grades, GRADE_COLUMNS, [(g.grade, g.above, g.label) for g in definition.grades])
    rules = workbook.create_sheet(RULE_SHEET)
    _put_table(rules, RULE_COLUMNS, [(r.criterion, r.not_above, r.message)
                                     for r in definition.rules])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _put_text(sheet: Any, row: int, column: int, value: str) -> Any:
    """A text cell that stays text: a leading "=" is not turned into a formula."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    cell.data_type = "s"
    return cell


def _put_row(sheet: Any, row: int, texts: tuple[str, str, str], weight: Decimal | None, *,
             bold: bool = False) -> None:
    for column, value in enumerate(texts, start=1):
        cell = _put_text(sheet, row, column, value)
        if bold:
            cell.font = Font(bold=True)
    if weight is not None:
        sheet.cell(row=row, column=4, value=weight)


def _put_table(sheet: Any, titles: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    for column, title in enumerate(titles, start=1):
        _put_text(sheet, 1, column, title).font = Font(bold=True)
    for number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, Decimal):
                sheet.cell(row=number, column=column, value=value)
            else:
                _put_text(sheet, number, column, str(value))
    for column in range(1, len(titles) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 24
