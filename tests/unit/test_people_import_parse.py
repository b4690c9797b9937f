"""Reading a people-import file (CSV or XLSX) and planning it, without a database: the column
titles people write, the limits and the zip-bomb guard, and every planning rule on a made-up
directory of the dinas."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import openpyxl
import pytest

from services.intake import people_import_file
from services.intake.people_import_file import (
    MAX_ROWS,
    ImportFileError,
    SourceRow,
    field_of_title,
    read_people_file,
)
from services.intake.people_import_plan import (
    Directory,
    KnownBidang,
    KnownPerson,
    parse_role,
    plan_import,
)
from shared.identity.roles import Role

TENANT = uuid.uuid4()
OTHER_TENANT = uuid.uuid4()
ACTOR = uuid.uuid4()
NIP_A = "198001012005011001"
NIP_B = "198502022010012002"
NIP_C = "199003032015031003"
HEADER = "NIP,Nama,E-mail,Bidang,Peran\n"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[object]], *, first_sheet_rows: list[list[object]] | None = None
               ) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in first_sheet_rows if first_sheet_rows is not None else rows:
        sheet.append(row)
    if first_sheet_rows is not None:
        other = workbook.create_sheet("Lain")
        for row in rows:
            other.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- column titles --------------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "field"), [
    ("NIP", "nip"), ("nip baru", "nip"), ("Nomor Induk Pegawai", "nip"),
    ("Nama", "full_name"), ("NAMA LENGKAP", "full_name"), ("Nama Pegawai", "full_name"),
    ("E-mail", "email"), ("Email", "email"), ("e_mail", "email"), ("Surel", "email"),
    ("Alamat E-mail (opsional)", "email"),
    ("Bidang", "bidang"), ("Unit Kerja", "bidang"), ("Bidang/Bagian", "bidang"),
    ("Peran", "role"), ("Hak Akses", "role"), ("Peran*", "role"),
    ("Nama pengguna", "username"), ("Username", "username"), ("Nama Pengguna (opsional)",
                                                             "username"),
    ("Jabatan", None), ("No.", None), ("", None),
])
def test_column_titles_are_matched_tolerantly(title, field):
    assert field_of_title(title) == field


@pytest.mark.parametrize(("text", "role"), [
    ("Staf Bidang", Role.BIDANG_STAFF), ("bidang_staff", Role.BIDANG_STAFF),
    ("staf", Role.BIDANG_STAFF), ("STAF  BIDANG", Role.BIDANG_STAFF),
    ("Kasubbag Program", Role.KASUBBAG_PROGRAM), ("kasubbag_program", Role.KASUBBAG_PROGRAM),
    ("Tim Evaluasi Internal SAKIP", Role.TIM_EVALUASI), ("tim evaluasi", Role.TIM_EVALUASI),
    ("Kepala Dinas", Role.KEPALA_DINAS), ("kepala_dinas", Role.KEPALA_DINAS),
])
def test_roles_by_label_code_or_short_form(text, role):
    assert parse_role(text) == (role, None)


def test_unknown_and_city_roles_are_refused_with_a_reason():
    role, reason = parse_role("Sekretaris")
    assert role is None
    assert reason is not None
    assert "Sekretaris" in reason
    assert "Staf Bidang" in reason
    role, reason = parse_role("inspektur")
    assert role is None
    assert reason is not None
    assert "tingkat kota" in reason


# -- reading CSV ----------------------------------------------------------------------------------

def test_csv_with_comma_reads_every_column():
    source = read_people_file(csv_bytes(
        HEADER + f"{NIP_A},Budi Santoso,budi@dinas.go.id,Bidang 1,Staf Bidang\n"))
    assert source.format == "csv"
    assert source.columns == ("nip", "full_name", "email", "bidang", "role")
    [row] = source.rows
    assert row.number == 2
    assert row.cells == {"nip": NIP_A, "full_name": "Budi Santoso", "email": "budi@dinas.go.id",
                         "bidang": "Bidang 1", "role": "Staf Bidang"}


def test_csv_with_semicolons_a_bom_title_rows_quotes_and_unknown_columns():
    text = ("\ufeffDaftar pegawai Dinas A;;\n"
            "\n"
            "No.;Nama Lengkap;NIP;Unit Kerja;Jabatan\n"
            f"1;\"Santoso; Budi\";{NIP_A};Bidang 1;Kepala Seksi\n"
            ";;;;\n"
            f"2;  Siti   Aminah ;{NIP_B};;\n")
    source = read_people_file(csv_bytes(text))
    assert source.columns == ("nip", "full_name", "bidang")
    assert source.ignored_columns == ("No.", "Jabatan")
    assert [(r.number, r.get("full_name"), r.get("nip"), r.get("bidang"), r.get("email"))
            for r in source.rows] == [(4, "Santoso; Budi", NIP_A, "Bidang 1", ""),
                                      (6, "Siti Aminah", NIP_B, "", "")]


def test_csv_that_is_not_utf8_is_refused_with_how_to_save_it():
    with pytest.raises(ImportFileError, match="UTF-8"):
        read_people_file(csv_bytes(HEADER + f"{NIP_A},Bu\u00f1o,,,\n", "latin-1"))


def test_a_file_without_nip_and_nama_columns_is_refused():
    with pytest.raises(ImportFileError, match="kolom NIP dan Nama") as refused:
        read_people_file(csv_bytes("Nama,E-mail\nBudi,budi@x.go.id\n"))
    assert "Nama pengguna" in refused.value.details[0]


def test_a_column_named_twice_is_refused():
    with pytest.raises(ImportFileError, match="Judul kolom ganda") as refused:
        read_people_file(csv_bytes(f"NIP,Nama,Surel,E-mail\n{NIP_A},Budi,a@x.go.id,b@x.go.id\n"))
    assert refused.value.details == ['Kolom E-mail muncul dua kali: "Surel" dan "E-mail".']


def test_header_only_empty_pdf_and_legacy_excel_files_are_refused():
    with pytest.raises(ImportFileError, match="tidak berisi baris data"):
        read_people_file(csv_bytes(HEADER))
    with pytest.raises(ImportFileError, match="kosong"):
        read_people_file(b"")
    with pytest.raises(ImportFileError, match="bukan CSV"):
        read_people_file(b"%PDF-1.7\n" + b"x" * 100)
    with pytest.raises(ImportFileError, match=r"\.xls"):  # an OLE compound file
        read_people_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)


def test_size_and_row_limits():
    with pytest.raises(ImportFileError, match="terlalu besar"):
        read_people_file(b"NIP,Nama\n" + b"x" * people_import_file.MAX_FILE_BYTES)
    lines = "".join(f"{n:018d},Orang {n}\n" for n in range(MAX_ROWS + 1))
    with pytest.raises(ImportFileError, match="terlalu panjang"):
        read_people_file(csv_bytes("NIP,Nama\n" + lines))
    lines = "".join(f"{n:018d},Orang {n}\n" for n in range(MAX_ROWS))
    assert len(read_people_file(csv_bytes("NIP,Nama\n" + lines)).rows) == MAX_ROWS


# -- reading XLSX ---------------------------------------------------------------------------------

def test_xlsx_first_sheet_below_a_title_row_with_numbers_as_cells():
    data = xlsx_bytes([["Daftar pegawai"], ["NIP", "Nama", "Peran", "Nama pengguna"],
                       [NIP_A, "Budi", "kasubbag_program", 12345],
                       [None, None, None, None],
                       [NIP_B, "Siti", None, 2.0]])
    source = read_people_file(data)
    assert source.format == "xlsx"
    assert [(r.number, r.get("nip"), r.get("full_name"), r.get("role"), r.get("username"),
             r.problems) for r in source.rows] == [
        (3, NIP_A, "Budi", "kasubbag_program", "12345", ()),
        (5, NIP_B, "Siti", "", "2", ())]


def test_xlsx_reads_the_first_sheet_only():
    data = xlsx_bytes([["NIP", "Nama"], [NIP_B, "Lain"]],
                      first_sheet_rows=[["NIP", "Nama"], [NIP_A, "Pertama"]])
    assert [r.get("full_name") for r in read_people_file(data).rows] == ["Pertama"]


def test_a_nip_excel_stored_as_a_number_is_flagged_on_its_row():
    # Excel (and openpyxl) keep 15 significant digits of a number: an 18-digit NIP typed as
    # a number comes back as 1.98001012005011e+17, its last digits gone.
    data = xlsx_bytes([["NIP", "Nama"], [int(NIP_A), "Budi"]])
    [found] = read_people_file(data).rows
    assert found.problems == (people_import_file.NUMERIC_NIP,)
    assert found.get("nip") != NIP_A


def test_a_zip_bomb_is_refused_before_openpyxl_opens_it(monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("openpyxl opened a refused archive")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    monkeypatch.setattr(people_import_file.openpyxl, "load_workbook", never)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (30 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < people_import_file.MAX_FILE_BYTES
    with pytest.raises(ImportFileError, match="Office"):
        read_people_file(data)


def test_a_zip_that_is_no_workbook_and_a_broken_xlsx_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("catatan.txt", "halo")
    with pytest.raises(ImportFileError):
        read_people_file(buffer.getvalue())
    data = xlsx_bytes([["NIP", "Nama"], [NIP_A, "Budi"]])
    with pytest.raises(ImportFileError):
        read_people_file(data[: len(data) // 2])


# -- planning -------------------------------------------------------------------------------------

BIDANG_1 = KnownBidang(id=uuid.uuid4(), name="Bidang Keuangan", closed=False)
BIDANG_2 = KnownBidang(id=uuid.uuid4(), name="Bidang Umum", closed=False)
CLOSED = KnownBidang(id=uuid.uuid4(), name="Bidang Lama", closed=True)


def person(nip: str, *, role: Role = Role.BIDANG_STAFF, tenant: uuid.UUID = TENANT,
           bidang: KnownBidang | None = BIDANG_1, active: bool = True,
           user_id: uuid.UUID | None = None, email: str | None = "lama@dinas.go.id",
           name: str = "Orang Lama") -> KnownPerson:
    return KnownPerson(user_id=user_id or uuid.uuid4(), tenant_id=tenant,
                       username=f"u{nip[-4:]}", full_name=name, email=email,
                       roles=frozenset({role}), role=role,
                       bidang_id=bidang.id if bidang else None, active=active)


_NIPS: dict[uuid.UUID, str] = {}  # the NIP each known person was made with


def directory(*known: KnownPerson, head: bool = True,
              usernames: dict[str, uuid.UUID] | None = None,
              heads: frozenset[uuid.UUID] | None = None) -> Directory:
    return Directory(
        tenant_id=TENANT, actor_user_id=ACTOR, actor_is_head=head,
        people={_NIPS[p.user_id]: p for p in known},
        usernames=usernames or {}, bidang=[BIDANG_1, BIDANG_2, CLOSED],
        heads=heads if heads is not None else frozenset({ACTOR}))


def known(nip: str, **kwargs) -> KnownPerson:
    found = person(nip, **kwargs)
    _NIPS[found.user_id] = nip
    return found


def row(number: int, nip: str = "", name: str = "", email: str = "", bidang: str = "",
        role: str = "", username: str = "", problems: tuple[str, ...] = ()) -> SourceRow:
    return SourceRow(number=number, cells={"nip": nip, "full_name": name, "email": email,
                                           "bidang": bidang, "role": role,
                                           "username": username}, problems=problems)


def plan_of(*rows: SourceRow, known_dir: Directory | None = None) -> dict:
    return plan_import(list(rows), known_dir or directory())


def entry(plan: dict, number: int) -> dict:
    return next(e for e in plan["rows"] if e["row"] == number)


def test_a_new_person_is_created_with_defaults():
    plan = plan_of(row(2, NIP_A, "Budi Santoso", "budi@dinas.go.id", "bidang keuangan"))
    created = entry(plan, 2)
    assert created["action"] == "create"
    assert created["reasons"] == []
    assert created["notes"] == ["Peran tidak diisi: Staf Bidang."]
    assert created["set"] == {"username": NIP_A, "full_name": "Budi Santoso", "nip": NIP_A,
                              "email": "budi@dinas.go.id", "role": "bidang_staff",
                              "bidang": {"id": str(BIDANG_1.id)}}
    assert created["bidang"] == "Bidang Keuangan"  # as the dinas spells it
    assert plan["counts"] == {"create": 1, "change": 0, "unchanged": 0, "reject": 0,
                              "new_bidang": 0}


def test_a_nip_written_with_spaces_and_a_username_of_the_file():
    plan = plan_of(row(2, "19800101 200501 1 001", "Budi", bidang="Bidang Umum",
                       role="Kasubbag Program", username="Budi.S"))
    created = entry(plan, 2)
    assert created["action"] == "create"
    assert created["set"]["nip"] == NIP_A
    assert created["set"]["username"] == "budi.s"
    assert created["set"]["role"] == "kasubbag_program"


def test_every_reason_of_a_rejected_row_is_given_at_once():
    plan = plan_of(row(7, "12345", "", "bukan-email", "Bidang 9", "Sekretaris"))
    rejected = entry(plan, 7)
    assert rejected["action"] == "reject"
    assert rejected["set"] == {}
    assert rejected["changes"] == []
    reasons = " | ".join(rejected["reasons"])
    assert 'NIP "12345" tidak valid' in reasons
    assert 'E-mail "bukan-email" tidak valid' in reasons
    assert 'Bidang "Bidang 9" tidak dikenal' in reasons
    assert 'Peran "Sekretaris" tidak dikenal' in reasons


def test_missing_nip_and_name():
    plan = plan_of(row(3, "", "Budi", bidang="Bidang Umum"),
                   row(4, NIP_A, "", bidang="Bidang Umum"))
    assert entry(plan, 3)["reasons"] == ["NIP wajib diisi."]
    assert entry(plan, 4)["reasons"] == ["Nama wajib diisi untuk pengguna baru."]


def test_a_duplicate_nip_in_the_file_rejects_every_row_carrying_it():
    plan = plan_of(row(2, NIP_A, "Budi", bidang="Bidang Umum"),
                   row(3, NIP_B, "Siti", bidang="Bidang Umum"),
                   row(5, "1980 0101 2005 0110 01", "Budi lagi", bidang="Bidang Umum"))
    assert entry(plan, 2)["action"] == entry(plan, 5)["action"] == "reject"
    assert entry(plan, 2)["reasons"] == [f"NIP {NIP_A} tercantum juga di baris 5; setiap NIP "
                                         "hanya boleh satu baris."]
    assert "baris 2" in entry(plan, 5)["reasons"][0]
    assert entry(plan, 3)["action"] == "create"


def test_a_nip_held_by_a_user_of_another_dinas_is_rejected_without_naming_it():
    elsewhere = known(NIP_A, tenant=OTHER_TENANT)
    plan = plan_of(row(2, NIP_A, "Budi", bidang="Bidang Umum"), known_dir=directory(elsewhere))
    assert entry(plan, 2)["action"] == "reject"
    assert entry(plan, 2)["reasons"] == [f"NIP {NIP_A} sudah terdaftar untuk pengguna di luar "
                                         "dinas ini."]
    assert entry(plan, 2)["user_id"] is None


def test_a_bidang_staff_without_bidang_is_rejected():
    plan = plan_of(row(2, NIP_A, "Budi"), row(3, NIP_B, "Siti", role="Tim Evaluasi"))
    assert entry(plan, 2)["reasons"] == ["Staf Bidang harus terikat pada satu Bidang: isi kolom "
                                         "Bidang."]
    assert entry(plan, 3)["action"] == "create"  # only a Staf Bidang needs one


def test_an_unknown_bidang_is_rejected_with_a_suggestion():
    plan = plan_of(row(2, NIP_A, "Budi", bidang="Bidang Keuangn"))
    [reason] = entry(plan, 2)["reasons"]
    assert reason.startswith('Bidang "Bidang Keuangn" tidak dikenal di dinas ini.')
    assert reason.endswith('Maksud Anda "Bidang Keuangan"?')
    assert plan["new_bidang"] == []


def test_a_bidang_declared_on_its_own_row_is_planned_separately_and_used():
    plan = plan_of(row(2, bidang="Bidang Perencanaan"),
                   row(3, NIP_A, "Budi", bidang="bidang perencanaan"),
                   row(4, bidang="Bidang Umum"),
                   row(5, bidang="Bidang Lama"))
    assert entry(plan, 2)["action"] == "create"
    assert entry(plan, 2)["kind"] == "bidang"
    assert entry(plan, 3)["set"]["bidang"] == {"new": "Bidang Perencanaan"}
    assert entry(plan, 4)["action"] == "unchanged"  # exists already
    assert entry(plan, 5)["action"] == "reject"  # closed
    assert plan["new_bidang"] == [{"name": "Bidang Perencanaan", "declared_in": [2],
                                   "used_by": [3]}]
    assert plan["counts"]["new_bidang"] == 1


def test_a_closed_bidang_takes_no_new_people():
    plan = plan_of(row(2, NIP_A, "Budi", bidang="Bidang Lama"))
    assert entry(plan, 2)["reasons"] == ["Bidang Bidang Lama sudah ditutup; pilih Bidang yang "
                                         "masih terbuka."]


def test_an_existing_person_changes_field_by_field_and_empty_cells_leave_values():
    budi = known(NIP_A, bidang=BIDANG_1, email="lama@dinas.go.id", name="Budi")
    plan = plan_of(row(2, NIP_A, "Budi Santoso", "", "Bidang Umum", "Kasubbag Program"),
                   known_dir=directory(budi))
    changed = entry(plan, 2)
    assert changed["action"] == "change"
    assert changed["user_id"] == str(budi.user_id)
    assert changed["changes"] == [
        {"field": "full_name", "label": "Nama", "before": "Budi", "after": "Budi Santoso"},
        {"field": "role", "label": "Peran", "before": "Staf Bidang",
         "after": "Kasubbag Program"},
        {"field": "bidang", "label": "Bidang", "before": "Bidang Keuangan",
         "after": "Bidang Umum"},
    ]
    assert changed["set"] == {"full_name": "Budi Santoso", "role": "kasubbag_program",
                              "bidang": {"id": str(BIDANG_2.id)}}


def test_an_existing_person_as_the_file_says_is_unchanged():
    budi = known(NIP_A, bidang=BIDANG_1, email="Budi@Dinas.go.id", name="Budi")
    plan = plan_of(row(2, NIP_A, "Budi", "budi@dinas.go.id", "BIDANG KEUANGAN", "staf",
                       username="lain"),
                   known_dir=directory(budi))
    same = entry(plan, 2)
    assert same["action"] == "unchanged"
    assert same["changes"] == []
    assert same["notes"] == [f"Nama pengguna tidak diubah lewat impor (tetap {budi.username})."]


def test_a_username_already_taken_or_twice_in_the_file():
    taken = {"budi": uuid.uuid4(), NIP_C: uuid.uuid4()}
    plan = plan_of(row(2, NIP_A, "Budi", bidang="Bidang Umum", username="budi"),
                   row(3, NIP_B, "Siti", bidang="Bidang Umum", username="siti"),
                   row(4, "199001012015011004", "Siti Lain", bidang="Bidang Umum",
                       username="Siti"),
                   row(5, NIP_C, "Cici", bidang="Bidang Umum"),
                   known_dir=directory(usernames=taken))
    assert entry(plan, 2)["reasons"] == ["Nama pengguna budi sudah dipakai."]
    assert entry(plan, 3)["reasons"] == ["Nama pengguna siti dipakai juga di baris 4."]
    assert entry(plan, 4)["reasons"] == ["Nama pengguna siti dipakai juga di baris 3."]
    assert entry(plan, 5)["reasons"] == [f"Nama pengguna {NIP_C} sudah dipakai. Isi kolom Nama "
                                         "pengguna untuk orang ini."]


def test_what_only_the_kepala_dinas_may_do():
    head = known(NIP_B, role=Role.KEPALA_DINAS, bidang=None, name="Kepala")
    rows = (row(2, NIP_A, "Calon Kepala", role="Kepala Dinas"),
            row(3, NIP_B, "Kepala Baru Namanya"))
    as_kasubbag = plan_of(*rows, known_dir=directory(head, head=False,
                                                     heads=frozenset({head.user_id})))
    assert entry(as_kasubbag, 2)["reasons"] == ["Hanya Kepala Dinas yang dapat membuat akun "
                                                "Kepala Dinas."]
    assert entry(as_kasubbag, 3)["reasons"] == ["Hanya Kepala Dinas yang dapat mengubah akun "
                                                "Kepala Dinas."]
    as_head = plan_of(*rows, known_dir=directory(head, heads=frozenset({head.user_id})))
    assert [entry(as_head, n)["action"] for n in (2, 3)] == ["create", "change"]


def test_own_role_and_the_last_kepala_dinas_role_stay():
    me = known(NIP_A, role=Role.KEPALA_DINAS, bidang=None, user_id=ACTOR)
    other_head = known(NIP_B, role=Role.KEPALA_DINAS, bidang=None)
    plan = plan_of(row(2, NIP_A, "", role="Tim Evaluasi"), row(3, NIP_B, "", role="kasubbag"),
                   known_dir=directory(me, other_head,
                                       heads=frozenset({other_head.user_id})))
    assert entry(plan, 2)["reasons"] == ["Peran Anda sendiri tidak dapat diubah lewat impor."]
    assert entry(plan, 3)["reasons"] == ["Orang Lama adalah satu-satunya Kepala Dinas yang "
                                         "aktif, sehingga perannya tidak dapat diubah."]


def test_a_deactivated_account_is_not_changed_but_may_be_listed():
    gone = known(NIP_A, active=False, name="Budi")
    plan = plan_of(row(2, NIP_A, "Budi"), known_dir=directory(gone))
    assert entry(plan, 2)["action"] == "unchanged"
    assert entry(plan, 2)["notes"] == ["Akun ini nonaktif."]
    plan = plan_of(row(2, NIP_A, "Budi Baru"), known_dir=directory(gone))
    assert entry(plan, 2)["action"] == "reject"
    assert "nonaktif" in entry(plan, 2)["reasons"][0]


def test_a_staff_member_becoming_staff_needs_a_bidang():
    tim = known(NIP_A, role=Role.TIM_EVALUASI, bidang=None)
    plan = plan_of(row(2, NIP_A, "", role="Staf Bidang"), known_dir=directory(tim))
    assert entry(plan, 2)["action"] == "reject"
    plan = plan_of(row(2, NIP_A, "", role="Staf Bidang", bidang="Bidang Umum"),
                   known_dir=directory(tim))
    assert entry(plan, 2)["action"] == "change"


def test_a_reader_problem_rejects_its_row():
    plan = plan_of(row(2, "198001012005011000", "Budi", bidang="Bidang Umum",
                       problems=(people_import_file.NUMERIC_NIP,)))
    assert entry(plan, 2)["reasons"] == [people_import_file.NUMERIC_NIP]


def test_planning_is_deterministic_and_json_ready():
    rows = [row(2, bidang="Bidang Baru"), row(3, NIP_A, "Budi", bidang="Bidang Baru"),
            row(4, NIP_B, "Siti", role="x")]
    first, second = plan_of(*rows), plan_of(*rows)
    assert first == second
    assert json.loads(json.dumps(first)) == first
