"""SOP steps 1 to 4 in a real Chromium, through the portal that calls the real workflow API: the
Kepala Dinas opens the 2027 cycle, confirms step 1, uploads the SK of the evaluation team and
completes step 2; the evaluation team ticks the document list in the Bidang x document matrix,
uploads the guideline, completes step 3, sends the notice to every Bidang and completes step 4.

Everything is real: both services over HTTP on loopback, PostgreSQL, Redis, SeaweedFS S3."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from services.intake.app import create_app
from tests.samples import padded_pdf
from tests.servers import served
from tests.world import PASSWORD, World

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def live_server(settings, object_store, redis_client, world, workflow_server) -> Iterator[str]:
    """The intake service whose portal calls the workflow service (both on loopback)."""
    app = create_app(dataclasses.replace(settings, workflow_url=workflow_server))
    with served(app, "intake") as url:
        yield url
    app.extensions["sakip"].close()


def log_in(page: Page, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("navigation", name="Akun")).to_contain_text(username)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("navigation", name="Akun")).to_have_count(0)


def messages(page: Page) -> Locator:
    return page.get_by_role("region", name="Pesan")


def step(page: Page, number: int) -> Locator:
    return page.locator(f"#langkah-{number}")


def complete(page: Page, number: int, button: str) -> None:
    step(page, number).get_by_role("button", name=button).click()
    expect(messages(page)).to_contain_text(f"Langkah {number} selesai.")
    expect(step(page, number).locator("h3 .state").first).to_have_text("Selesai")
    expect(step(page, number + 1).locator("h3 .state").first).to_have_text("Berjalan")


def test_steps_one_to_four_in_a_browser(page: Page, world: World, tmp_path: Path):
    sk, guideline = tmp_path / "sk-tim-evaluasi.pdf", tmp_path / "pedoman.pdf"
    sk.write_bytes(padded_pdf(30_000, seed=1))
    guideline.write_bytes(padded_pdf(30_000, seed=2))

    log_in(page, "dinas-a.kepala")
    page.get_by_role("link", name="Siklus evaluasi").click()
    page.get_by_label("Tahun").fill("2027")
    page.get_by_role("button", name="Buka siklus").click()
    expect(messages(page)).to_contain_text("Siklus 2027 dibuka")
    expect(page.get_by_role("heading", level=1)).to_have_text("Siklus 2027 · Dinas A")
    expect(step(page, 1).locator(".step-deadline")).to_contain_text("WIB")
    complete(page, 1, "Konfirmasi rencana implementasi SAKIP")

    # Step 2: the SK, sent by the page's upload script, then the step.
    step(page, 2).get_by_label("SK Tim Evaluasi Internal SAKIP").set_input_files(sk)
    step(page, 2).get_by_role("button", name="Unggah SK").click()
    expect(messages(page)).to_contain_text("SK Tim Evaluasi Internal SAKIP tersimpan sebagai "
                                           "versi 1.")
    expect(page.locator("#dokumen-siklus")).to_contain_text(sk.name)
    complete(page, 2, "Selesaikan langkah 2")
    log_out(page)

    # Step 3: the team's document list and the guideline.
    log_in(page, "dinas-a.tim")
    page.get_by_role("link", name="Siklus evaluasi").click()
    page.get_by_role("link", name="Siklus 2027").click()
    matrix = page.locator("#form-document-list")
    for bidang, documents in (("Bidang 1", ("Indikator Kinerja Utama (IKU)",
                                            "Rencana Kerja (Renja)")),
                              ("Bidang 2", ("Perjanjian Kinerja (PK)",))):
        for document in documents:
            matrix.get_by_label(f"{bidang}: {document}").check()
    matrix.get_by_role("button", name="Simpan daftar dokumen").click()
    expect(messages(page)).to_contain_text("Daftar dokumen disimpan.")
    expect(page.locator("#form-document-list").get_by_label(
        "Bidang 2: Perjanjian Kinerja (PK)")).to_be_checked()
    step(page, 3).get_by_label("Pedoman evaluasi data kinerja").set_input_files(guideline)
    step(page, 3).get_by_role("button", name="Unggah pedoman").click()
    expect(messages(page)).to_contain_text("Pedoman evaluasi data kinerja tersimpan sebagai "
                                           "versi 1.")
    complete(page, 3, "Selesaikan langkah 3")

    # Step 4: the notice to every Bidang, then the step; collection (step 5) begins.
    step(page, 4).get_by_label("Pesan tambahan").fill("Mohon diserahkan sebelum Jumat.")
    step(page, 4).get_by_role("button", name="Kirim pemberitahuan ke setiap Bidang").click()
    expect(messages(page)).to_contain_text("Pemberitahuan terkirim ke setiap Bidang.")
    complete(page, 4, "Selesaikan langkah 4")
    expect(page.locator("#pengumpulan")).to_contain_text("Perjanjian Kinerja (PK)")
