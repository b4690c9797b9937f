"""The bulk import of a dinas's Bidang and people on the real PostgreSQL: the dry-run preview
against its apply (exactly what the preview said happens, nothing else; nothing at all before
the apply), applying twice (409) and a fresh preview of the same file finding everything
unchanged, a plan the dinas has outgrown since the preview (409, nothing written), the rejected
rows (unknown role, unknown Bidang, a NIP twice in the file, a NIP of another dinas's user, a
bidang_staff without Bidang), the API (201 preview, apply with one-time activation links, the
file refusals) and who may import (another dinas's administrator: 404; bidang_staff: 403)."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from services.intake import people, people_import
from services.intake.people_import_file import MAX_FILE_BYTES
from shared.audit import AuditEntry
from shared.db import transaction
from shared.identity.account_links import link_token_hash, redeem_link
from shared.identity.loading import principal_for
from shared.identity.models import AccountLink, Bidang, ImportBatch, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import Conflict, Invalid, NotAllowed, NotFound
from tests.integration.test_api import Api
from tests.integration.test_portal import csrf_of, log_in
from tests.world import World

AT = datetime(2026, 4, 8, 1, 0, tzinfo=UTC)
ADMIN = "/api/v1/admin/tenants"
NIP_STAF1 = "198001012005011001"  # dinas-a.staf1, given a NIP below
NIP_STAF2 = "198101012005011002"  # dinas-a.staf2
NIP_OF_B = "198201012005011003"  # dinas-b.staf1
NIP_NEW_1 = "199001012015011004"
NIP_NEW_2 = "199101012015012005"
NIP_NEW_3 = "199201012015011006"
NIP_TWICE = "199301012015012007"
NIP_BAD_ROLE = "199401012015011008"
NIP_NO_BIDANG = "199501012015012009"
NIP_BAD_BIDANG = "199601012015011010"
HEADER = "NIP;Nama Lengkap;E-mail;Bidang;Peran;Nama pengguna\n"
# What each row of the file should come to, row number -> action.
FILE = (HEADER + "".join([
    ";;;Bidang Perencanaan;;\n",                                                          # 2
    f"{NIP_NEW_1};Siti Rahmawati;siti@dinas-a.go.id;Bidang Perencanaan;Staf Bidang;\n",   # 3
    f"{NIP_NEW_2};Agus Salim;;Bidang 1;kasubbag_program;agus.salim\n",                    # 4
    f"{NIP_STAF1};Dinas A staf1;baru@dinas-a.go.id;Bidang 2;;\n",                         # 5
    f"{NIP_STAF2};Dinas A staf2;;bidang 2;Staf Bidang;\n",                                # 6
    f"{NIP_TWICE};Dwi Kembar;;Bidang 1;;\n",                                              # 7
    f"{NIP_TWICE};Dwi Kembar Lagi;;Bidang 1;;\n",                                         # 8
    f"{NIP_OF_B};Orang Dinas B;;Bidang 1;;\n",                                            # 9
    f"{NIP_BAD_ROLE};Rudi Peran;;Bidang 1;Sekretaris Dinas;\n",                           # 10
    f"{NIP_NO_BIDANG};Nina Tanpa Bidang;;;Staf Bidang;\n",                                # 11
    f"{NIP_BAD_BIDANG};Bima Salah Bidang;;Bidang Tiga;;\n",                               # 12
    f"{NIP_NEW_3};Tono Evaluator;tono@dinas-a.go.id;;Tim Evaluasi Internal SAKIP;\n",    # 13
])).encode()
EXPECTED = {2: "create", 3: "create", 4: "create", 5: "change", 6: "unchanged", 7: "reject",
            8: "reject", 9: "reject", 10: "reject", 11: "reject", 12: "reject", 13: "create"}


# -- helpers --------------------------------------------------------------------------------------

def run(session_factory, work):
    with transaction(session_factory) as session:
        return work(session)


def principal_of(session_factory, username: str) -> Principal:
    with session_factory() as session:
        return principal_for(session.scalars(select(User).where(User.username == username))
                             .one())


@pytest.fixture
def nips(world: World, session_factory) -> None:
    """The world's users have no NIP: give three of them one."""
    with transaction(session_factory) as session:
        for username, nip in (("dinas-a.staf1", NIP_STAF1), ("dinas-a.staf2", NIP_STAF2),
                              ("dinas-b.staf1", NIP_OF_B)):
            session.execute(update(User).where(User.username == username).values(nip=nip))


def people_of(session_factory, tenant_id: uuid.UUID) -> dict[str, dict]:
    """Every account of the dinas by username, with what an import may set."""
    with session_factory() as session:
        names = {b.id: b.name for b in session.scalars(select(Bidang))}
        return {u.username: {"nip": u.nip, "full_name": u.full_name, "email": u.email,
                             "role": people.tenant_role(u), "bidang": names.get(u.bidang_id),
                             "active": u.active}
                for u in session.scalars(select(User).where(User.tenant_id == tenant_id))}


def bidang_of(session_factory, tenant_id: uuid.UUID) -> set[str]:
    with session_factory() as session:
        return set(session.scalars(select(Bidang.name).where(Bidang.tenant_id == tenant_id)))


def audit_mark(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


def audit_actions(session_factory, tenant_id: uuid.UUID, since: int) -> list[str]:
    """The actions audited for the dinas after the `since` mark (the world's seeding not)."""
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.id > since)
            .order_by(AuditEntry.id)))


def preview(session_factory, principal: Principal, tenant_id: uuid.UUID, data: bytes = FILE,
            filename: str = "pegawai.csv") -> ImportBatch:
    def work(session):
        batch = people_import.preview(session, principal=principal, tenant_id=tenant_id,
                                      filename=filename, data=data, at=AT)
        session.expunge(batch)
        return batch

    return run(session_factory, work)


def apply(session_factory, principal: Principal, batch_id: uuid.UUID):
    return run(session_factory, lambda session: people_import.apply(
        session, principal=principal, batch_id=batch_id, at=AT))


def actions(plan: dict) -> dict[int, str]:
    return {entry["row"]: entry["action"] for entry in plan["rows"]}


def entry(plan: dict, number: int) -> dict:
    return next(e for e in plan["rows"] if e["row"] == number)


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def form(data: bytes, filename: str = "pegawai.xlsx") -> dict:
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=filename)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


class ImportApi(Api):
    def call(self, method: str, path: str, *, as_: str | None, **kwargs):
        return self.client.open(path, method=method, headers=self.headers(as_), **kwargs)


@pytest.fixture
def api(app, session_factory, world) -> ImportApi:
    return ImportApi(app.test_client(), session_factory)


def error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


# -- the dry run against its apply ----------------------------------------------------------------

def test_the_preview_changes_nothing_and_the_apply_does_exactly_what_it_said(
        world, session_factory, nips):
    kepala = world.a.principals["kepala"]
    tenant = world.a.tenant_id
    before_people = people_of(session_factory, tenant)
    before_bidang = bidang_of(session_factory, tenant)
    other_dinas = people_of(session_factory, world.b.tenant_id)
    mark = audit_mark(session_factory)

    batch = preview(session_factory, kepala, tenant)
    plan = batch.plan
    assert actions(plan) == EXPECTED
    assert plan["counts"] == {"create": 3, "change": 1, "unchanged": 1, "reject": 6,
                              "new_bidang": 1}
    assert plan["new_bidang"] == [{"name": "Bidang Perencanaan", "declared_in": [2],
                                   "used_by": [3]}]
    assert entry(plan, 5)["changes"] == [
        {"field": "email", "label": "E-mail", "before": "dinas-a.staf1@dinas-a.example.go.id",
         "after": "baru@dinas-a.go.id"},
        {"field": "bidang", "label": "Bidang", "before": "Bidang 1", "after": "Bidang 2"}]
    # the reasons, per rejected row, in Indonesian
    assert "baris 8" in entry(plan, 7)["reasons"][0]
    assert "baris 7" in entry(plan, 8)["reasons"][0]
    assert entry(plan, 9)["reasons"] == [f"NIP {NIP_OF_B} sudah terdaftar untuk pengguna di "
                                         "luar dinas ini."]
    assert entry(plan, 10)["reasons"][0].startswith('Peran "Sekretaris Dinas" tidak dikenal')
    assert entry(plan, 11)["reasons"] == ["Staf Bidang harus terikat pada satu Bidang: isi "
                                          "kolom Bidang."]
    assert entry(plan, 12)["reasons"][0].startswith('Bidang "Bidang Tiga" tidak dikenal')
    # a dry run: nothing but the batch and its audit row
    assert people_of(session_factory, tenant) == before_people
    assert bidang_of(session_factory, tenant) == before_bidang
    assert audit_actions(session_factory, tenant, mark) == ["people_import.previewed"]
    with session_factory() as session:
        stored = session.get_one(ImportBatch, batch.id)
        assert stored.applied_at is None
        assert stored.created_by == kepala.user_id
        assert [r["row"] for r in stored.rows] == list(EXPECTED)

    result = apply(session_factory, kepala, batch.id)

    after = people_of(session_factory, tenant)
    # every create and change row, and nothing else, as the plan's values say
    planned = {e["username"]: e for e in plan["rows"]
               if e["kind"] == "person" and e["action"] in ("create", "change")}
    changed = {name for name in after if after[name] != before_people.get(name)}
    assert changed == set(planned) == {NIP_NEW_1, "agus.salim", "dinas-a.staf1", NIP_NEW_3}
    for username, planned_entry in planned.items():
        person = after[username]
        assert person["nip"] == planned_entry["nip"]
        assert person["full_name"] == planned_entry["full_name"]
        assert person["role"] == Role(planned_entry["role"])
        assert person["bidang"] == planned_entry["bidang"]
        if planned_entry["email"]:
            assert person["email"] == planned_entry["email"]
    assert after["dinas-a.staf1"] == before_people["dinas-a.staf1"] | {
        "email": "baru@dinas-a.go.id", "bidang": "Bidang 2"}
    assert after["agus.salim"]["email"] is None
    assert after[NIP_NEW_3]["bidang"] is None
    assert bidang_of(session_factory, tenant) == before_bidang | {"Bidang Perencanaan"}
    with session_factory() as session:
        nips_now = set(session.scalars(select(User.nip).where(User.nip.is_not(None))))
    for rejected in (NIP_TWICE, NIP_BAD_ROLE, NIP_NO_BIDANG, NIP_BAD_BIDANG):
        assert rejected not in nips_now
    assert people_of(session_factory, world.b.tenant_id) == other_dinas
    # the new accounts' one-time activation links, in the result only (stored as hashes)
    assert sorted(a.row for a in result.accounts) == [3, 4, 13]
    assert result.changed == 1
    assert [name for name, _ in result.new_bidang] == ["Bidang Perencanaan"]
    with session_factory() as session:
        for account in result.accounts:
            link = session.scalars(select(AccountLink).where(
                AccountLink.user_id == account.user_id)).one()
            assert link.purpose == "activation"
            assert link.token_hash == link_token_hash(account.credential.secret)
            assert account.credential.secret not in str(session.get_one(
                ImportBatch, batch.id).plan)
        stored = session.get_one(ImportBatch, batch.id)
        assert stored.applied_at == AT
        assert stored.applied_by == kepala.user_id
    # each change audited by people, the preview and the apply by the import
    actions_logged = audit_actions(session_factory, tenant, mark)
    assert actions_logged[0] == "people_import.previewed"
    assert actions_logged[-1] == "people_import.applied"
    assert actions_logged.count("user.created") == 3
    assert actions_logged.count("user.updated") == 1
    assert actions_logged.count("bidang.created") == 1
    # a new person sets their own password with their link
    siti = next(a for a in result.accounts if a.row == 3)
    user = run(session_factory, lambda session: redeem_link(
        session, token=siti.credential.secret, new_password="Matahari-terbit-di-Bukit-7",
        at=AT).username)
    assert user == NIP_NEW_1


def test_applying_twice_is_refused_and_the_same_file_again_finds_everything_unchanged(
        world, session_factory, nips):
    kepala = world.a.principals["kepala"]
    tenant = world.a.tenant_id
    batch = preview(session_factory, kepala, tenant)
    apply(session_factory, kepala, batch.id)
    applied = people_of(session_factory, tenant)

    with pytest.raises(Conflict, match="sudah diterapkan"):
        apply(session_factory, kepala, batch.id)

    again = preview(session_factory, kepala, tenant)
    assert actions(again.plan) == {
        number: ("unchanged" if action in ("create", "change") else action)
        for number, action in EXPECTED.items()}
    assert again.plan["new_bidang"] == []
    result = apply(session_factory, kepala, again.id)
    assert result.accounts == []
    assert result.changed == 0
    assert people_of(session_factory, tenant) == applied


def test_an_apply_refuses_a_plan_the_dinas_has_outgrown(world, session_factory, nips):
    kepala = world.a.principals["kepala"]
    tenant = world.a.tenant_id
    batch = preview(session_factory, kepala, tenant)
    # meanwhile an administrator creates one of the file's people by hand
    run(session_factory, lambda session: people.create_person(
        session, principal=kepala, tenant_id=tenant, username="siti", full_name="Siti R.",
        nip=NIP_NEW_1, email=None, role=Role.TIM_EVALUASI, bidang_id=None, at=AT))
    before = people_of(session_factory, tenant)

    with pytest.raises(Conflict, match="berubah sejak pratinjau") as refused:
        apply(session_factory, kepala, batch.id)
    assert refused.value.details == ["Baris 3: semula Dibuat, kini Diubah."]
    assert people_of(session_factory, tenant) == before
    assert "Bidang Perencanaan" not in bidang_of(session_factory, tenant)
    with session_factory() as session:
        assert session.get_one(ImportBatch, batch.id).applied_at is None


def test_who_may_import(world, session_factory, nips):
    tenant = world.a.tenant_id
    small = HEADER.encode() + f"{NIP_NEW_1};Siti;;Bidang 1;;\n".encode()
    with pytest.raises(NotFound):  # another dinas's administrator
        preview(session_factory, world.b.principals["kepala"], tenant, small)
    with pytest.raises(NotFound):  # the city
        preview(session_factory, world.city["admin"], tenant, small)
    for member in ("staf1", "tim", "kasubbag"):
        with pytest.raises(NotAllowed):
            preview(session_factory, world.a.principals[member], tenant, small)
    batch = preview(session_factory, world.a.principals["kepala"], tenant, small)
    with pytest.raises(NotFound):
        apply(session_factory, world.b.principals["kepala"], batch.id)
    with pytest.raises(NotAllowed):
        apply(session_factory, world.a.principals["staf1"], batch.id)
    # a kasubbag_program the kepala_dinas delegated the administration to
    run(session_factory, lambda session: session.execute(
        update(Tenant).where(Tenant.id == tenant).values(admin_delegated=True)))
    kasubbag = world.a.principals["kasubbag"]
    result = apply(session_factory, kasubbag, batch.id)
    assert [a.username for a in result.accounts] == [NIP_NEW_1]


def test_a_delegated_kasubbag_cannot_make_or_change_a_kepala_dinas(world, session_factory):
    tenant = world.a.tenant_id
    run(session_factory, lambda session: session.execute(
        update(Tenant).where(Tenant.id == tenant).values(admin_delegated=True)))
    run(session_factory, lambda session: session.execute(
        update(User).where(User.username == "dinas-a.kepala").values(nip=NIP_STAF1)))
    data = (HEADER + f"{NIP_NEW_1};Calon Kepala;;;Kepala Dinas;\n"
            f"{NIP_STAF1};Kepala Baru Namanya;;;;\n").encode()
    batch = preview(session_factory, world.a.principals["kasubbag"], tenant, data)
    assert actions(batch.plan) == {2: "reject", 3: "reject"}
    assert entry(batch.plan, 2)["reasons"] == ["Hanya Kepala Dinas yang dapat membuat akun "
                                               "Kepala Dinas."]


def test_an_unreadable_file_is_refused_whole_and_nothing_is_stored(world, session_factory):
    with pytest.raises(Invalid, match="kolom NIP dan Nama"):
        preview(session_factory, world.a.principals["kepala"], world.a.tenant_id,
                b"Nama;Surel\nBudi;budi@x.go.id\n")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


# -- the API --------------------------------------------------------------------------------------

def test_the_api_previews_an_xlsx_and_applies_it_once(api, world, settings, session_factory,
                                                      nips):
    tenant = world.a.tenant_id
    data = xlsx([["Daftar pegawai Dinas A"],
                 ["NIP", "Nama", "E-mail", "Bidang", "Peran"],
                 [NIP_NEW_1, "Siti Rahmawati", "siti@dinas-a.go.id", "Bidang 1", "Staf Bidang"],
                 [NIP_STAF1, "Dinas A staf1", None, "Bidang 2", None],
                 [NIP_OF_B, "Orang Dinas B", None, "Bidang 1", None]])
    response = api.call("POST", f"{ADMIN}/{tenant}/imports", as_="dinas-a.kepala",
                        **form(data))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{ADMIN}/{tenant}/imports/{body['id']}")
    assert response.headers["Cache-Control"] == "no-store"
    assert body["format"] == "xlsx"
    assert body["filename"] == "pegawai.xlsx"
    assert body["counts"] == {"create": 1, "change": 1, "unchanged": 0, "reject": 1,
                              "new_bidang": 0}
    rows = {r["row"]: r for r in body["rows"]}
    assert rows[3]["action"] == "create"
    assert rows[3]["action_label"] == "Dibuat"
    assert rows[3]["role_label"] == "Staf Bidang"
    assert rows[4]["changes"] == [{"field": "bidang", "label": "Bidang", "before": "Bidang 1",
                                   "after": "Bidang 2"}]
    assert rows[5]["action_label"] == "Ditolak"
    assert rows[5]["reasons"]

    shown = api.call("GET", f"{ADMIN}/{tenant}/imports/{body['id']}", as_="dinas-a.kepala")
    assert shown.status_code == 200
    assert shown.get_json() == body
    listed = api.call("GET", f"{ADMIN}/{tenant}/imports", as_="dinas-a.kepala").get_json()
    assert [i["id"] for i in listed["imports"]] == [body["id"]]

    applied = api.call("POST", f"{ADMIN}/{tenant}/imports/{body['id']}/apply",
                       as_="dinas-a.kepala")
    assert applied.status_code == 200, applied.get_json()
    answer = applied.get_json()
    assert answer["changed"] == 1
    [account] = answer["accounts"]
    assert account["username"] == NIP_NEW_1
    assert account["full_name"] == "Siti Rahmawati"
    assert re.fullmatch(re.escape(settings.portal_url.rstrip("/")) + r"/aktivasi/[\w-]{40,}",
                        account["activation_url"])
    assert account["expires_at_text"].endswith("WIB")
    assert answer["batch"]["applied_at"] is not None
    # shown once: the batch read again carries no link
    again = api.call("GET", f"{ADMIN}/{tenant}/imports/{body['id']}", as_="dinas-a.kepala")
    assert account["activation_url"].rsplit("/", 1)[1] not in again.text

    twice = api.call("POST", f"{ADMIN}/{tenant}/imports/{body['id']}/apply",
                     as_="dinas-a.kepala")
    assert twice.status_code == 409
    assert "sudah diterapkan" in error(twice)["message"]


def test_the_api_refuses_outsiders_404_and_members_without_the_right_403(
        api, world, session_factory):
    tenant = world.a.tenant_id
    data = xlsx([["NIP", "Nama", "Bidang"], [NIP_NEW_1, "Siti", "Bidang 1"]])
    created = api.call("POST", f"{ADMIN}/{tenant}/imports", as_="dinas-a.kepala", **form(data))
    batch_id = created.get_json()["id"]
    calls = [("POST", f"{ADMIN}/{tenant}/imports", form(data)),
             ("GET", f"{ADMIN}/{tenant}/imports", {}),
             ("GET", f"{ADMIN}/{tenant}/imports/{batch_id}", {}),
             ("POST", f"{ADMIN}/{tenant}/imports/{batch_id}/apply", {})]
    expected = {"dinas-b.kepala": 404, "kota.admin": 404, "kota.inspektur": 404,
                "dinas-a.staf1": 403, "dinas-a.tim": 403, "dinas-a.kasubbag": 403, None: 401}
    for method, path, kwargs in calls:
        for caller, status in expected.items():
            response = api.call(method, path, as_=caller, **kwargs)
            assert response.status_code == status, (method, path, caller, response.get_json())
            if status == 403:
                assert error(response)["message"].startswith("Hanya Kepala Dinas")
    # dinas A's batch through dinas B's address, by dinas B's own kepala_dinas
    for method, path in (("GET", f"{ADMIN}/{world.b.tenant_id}/imports/{batch_id}"),
                         ("POST", f"{ADMIN}/{world.b.tenant_id}/imports/{batch_id}/apply")):
        assert api.call(method, path, as_="dinas-b.kepala").status_code == 404
    with session_factory() as session:
        assert session.get_one(ImportBatch, uuid.UUID(batch_id)).applied_at is None
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 1


@pytest.mark.parametrize(("body", "status", "words"), [
    ("not multipart", 415, "multipart/form-data"),
    ("no file", 422, "Pilih berkas"),
    ("too large", 413, "terlalu besar"),
    ("a pdf", 422, "bukan CSV"),
    ("no header", 422, "kolom NIP dan Nama"),
])
def test_the_api_refuses_files_it_cannot_read(api, world, body, status, words):
    path = f"{ADMIN}/{world.a.tenant_id}/imports"
    if body == "not multipart":
        kwargs: dict = {"json": {"file": "x"}}
    elif body == "no file":
        boundary, data = encode_multipart({"catatan": "tanpa berkas"})
        kwargs = {"data": data, "content_type": f"multipart/form-data; boundary={boundary}"}
    elif body == "too large":
        kwargs = form(b"NIP,Nama\n" + b"1" * MAX_FILE_BYTES, "besar.csv")
    elif body == "a pdf":
        kwargs = form(b"%PDF-1.7\n" + b"0" * 200, "pegawai.pdf")
    else:
        kwargs = form(b"Nomor,Nama Lengkap\n1,Budi\n", "pegawai.csv")
    response = api.call("POST", path, as_="dinas-a.kepala", **kwargs)
    assert response.status_code == status, response.get_json()
    assert words in error(response)["message"]


def test_the_openapi_document_has_the_import_routes(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    create = document["paths"][f"{ADMIN}/{{tenant_id}}/imports"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert {"201", "403", "404", "413", "422"} <= set(create["responses"])
    assert {"200", "409"} <= set(
        document["paths"][f"{ADMIN}/{{tenant_id}}/imports/{{import_id}}/apply"]["post"]
        ["responses"])
    assert "get" in document["paths"][f"{ADMIN}/{{tenant_id}}/imports/{{import_id}}"]


# -- the portal page ------------------------------------------------------------------------------

def test_the_portal_page_previews_and_applies(app, world, nips):
    tenant = world.a.tenant_id
    browser = log_in(app, "dinas-a.kepala")
    page = browser.get(f"/admin/dinas/{tenant}/impor")
    assert page.status_code == 200
    token = csrf_of(page.text)
    upload = form(HEADER.encode() + f"{NIP_NEW_1};Siti;;Bidang 1;;\n".encode(), "pegawai.csv")
    # the upload's CSRF token travels in the query string, never in the streamed body
    assert browser.post(f"/admin/dinas/{tenant}/impor", **upload).status_code == 400
    response = browser.post(f"/admin/dinas/{tenant}/impor?csrf_token={token}", **upload)
    assert response.status_code == 303
    preview_page = browser.get(response.headers["Location"])
    assert "Pratinjau impor" in preview_page.text
    assert 'data-action="create"' in preview_page.text
    apply_path = response.headers["Location"] + "/terapkan"
    done = browser.post(apply_path, data={"csrf_token": csrf_of(preview_page.text)})
    assert done.status_code == 200
    assert "/aktivasi/" in done.text
    assert done.headers["Cache-Control"] == "no-store"
    again = browser.post(apply_path, data={"csrf_token": csrf_of(preview_page.text)},
                         follow_redirects=True)
    assert "sudah diterapkan" in again.text
    assert "/aktivasi/" not in again.text


def test_the_portal_page_refuses_who_may_not_import(app, world):
    tenant = world.a.tenant_id
    assert log_in(app, "dinas-a.staf1").get(f"/admin/dinas/{tenant}/impor").status_code == 403
    assert log_in(app, "dinas-b.kepala").get(f"/admin/dinas/{tenant}/impor").status_code == 404
