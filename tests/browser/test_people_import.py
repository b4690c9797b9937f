"""One bulk import in a real Chromium, as a Kepala Dinas does it: an XLSX staff list (built with
openpyxl here: a title row, a new Bidang declared on a row of its own, two new people, one
existing person moved to another Bidang, a row with an unknown role) is uploaded; the preview
shows each row's action with the reasons of the rejected one; applying it shows the new
accounts' one-time activation links, and the new people are on the dinas's people page.

Everything is real: the intake app over HTTP on loopback, PostgreSQL, Redis, SeaweedFS S3."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from shared.db import transaction
from shared.identity.models import Bidang, User
from tests.world import PASSWORD, World

pytestmark = [pytest.mark.slow, pytest.mark.browser]

KEPALA = "dinas-a.kepala"
NIP_STAF1 = "198001012005011001"
NIP_SITI = "199001012015012004"
NIP_AGUS = "199101012015011005"
NIP_RUDI = "199201012015011006"


def log_in(page: Page, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("navigation", name="Akun")).to_contain_text(username)


def staff_list(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Pegawai"
    for row in (["Daftar pegawai Dinas A, April 2026"],
                ["NIP", "Nama Lengkap", "E-mail", "Bidang", "Peran"],
                [None, None, None, "Bidang Perencanaan", None],
                [NIP_SITI, "Siti Rahmawati", "siti@dinas-a.go.id", "Bidang Perencanaan",
                 "Staf Bidang"],
                [NIP_AGUS, "Agus Salim", None, None, "Tim Evaluasi Internal SAKIP"],
                [NIP_STAF1, "Dinas A staf1", None, "Bidang 2", None],
                [NIP_RUDI, "Rudi Hartono", None, "Bidang 1", "Sekretaris"]):
        sheet.append(row)
    for column in "ABCDE":  # NIPs typed as text, as the page asks
        sheet.column_dimensions[column].width = 24
    workbook.save(path)
    return path


def test_a_kepala_dinas_imports_people_from_an_xlsx(page: Page, world: World, session_factory,
                                                    tmp_path: Path) -> None:
    with transaction(session_factory) as session:
        session.execute(update(User).where(User.username == "dinas-a.staf1")
                        .values(nip=NIP_STAF1))
    tenant = world.a.tenant_id
    log_in(page, KEPALA)
    page.goto(f"/admin/dinas/{tenant}/impor")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Impor Bidang dan pengguna")

    staff = staff_list(tmp_path / "pegawai.xlsx")
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(str(staff))
    page.get_by_role("button", name="Unggah dan lihat pratinjau").click()

    expect(page.get_by_role("heading", name="Pratinjau impor")).to_be_visible()
    expect(page.locator("#import-counts")).to_contain_text(
        "2 pengguna dibuat, 1 diubah, 0 tidak berubah, 1 ditolak, 1 Bidang baru")
    expect(page.locator("#new-bidang")).to_contain_text("Bidang Perencanaan")
    rows = page.locator("tr.import-row")
    expect(rows).to_have_count(5)
    expect(page.locator('tr[data-row="4"]')).to_contain_text("Dibuat")
    expect(page.locator('tr[data-row="4"]')).to_contain_text("Siti Rahmawati")
    expect(page.locator('tr[data-row="6"]')).to_contain_text("Diubah")
    expect(page.locator('tr[data-row="6"]')).to_contain_text("Bidang: Bidang 1 → Bidang 2")
    rejected = page.locator('tr[data-row="7"]')
    expect(rejected).to_contain_text("Ditolak")
    expect(rejected).to_contain_text('Peran "Sekretaris" tidak dikenal')
    with session_factory() as session:  # a dry run so far
        assert session.scalar(select(User.id).where(User.nip == NIP_SITI)) is None

    page.get_by_role("button", name="Terapkan impor").click()

    expect(page.get_by_role("region", name="Pesan")).to_contain_text(
        "Impor diterapkan: 2 akun baru, 1 diubah, 1 Bidang baru.")
    accounts = page.locator("#new-accounts tbody tr")
    expect(accounts).to_have_count(2)
    expect(accounts.nth(0)).to_contain_text("Siti Rahmawati")
    expect(accounts.nth(1)).to_contain_text("Agus Salim")
    for link in page.locator(".activation-link").all_inner_texts():
        assert re.search(r"/aktivasi/[\w-]{40,}$", link), link
    expect(page.get_by_role("button", name="Terapkan impor")).to_have_count(0)

    page.goto(f"/admin/dinas/{tenant}/pengguna")
    expect(page.locator("main")).to_contain_text("Siti Rahmawati")
    expect(page.locator("main")).to_contain_text("Agus Salim")
    expect(page.locator("main")).not_to_contain_text("Rudi Hartono")
    with session_factory() as session:
        siti = session.scalars(select(User).where(User.nip == NIP_SITI)).one()
        assert session.get_one(Bidang, siti.bidang_id).name == "Bidang Perencanaan"
