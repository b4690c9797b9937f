"""The portal in a real Chromium, as the people of the SOP use it: a Bidang's staff member
uploads IKU and Renja (the page's own script, with its progress bar) and hands in the package;
the Kasubbag Program returns IKU with a reason and accepts Renja; the staff member reads the
reason, replaces IKU and hands it in again; the Kasubbag Program accepts it.

Everything is real: the intake app over HTTP on loopback, PostgreSQL, Redis, SeaweedFS S3."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.samples import padded_pdf
from tests.world import PASSWORD, World

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STAFF = "dinas-a.staf1"
KASUBBAG = "dinas-a.kasubbag"
IKU = "Indikator Kinerja Utama (IKU)"
RENJA = "Rencana Kerja (Renja)"
REASON = "Tanda tangan Kepala Dinas belum ada"
PDF_SIZE = 300_000

# The page replaces the progress element's attributes as the upload goes (value, max, hidden)
# and reloads as soon as it is done: watch them from the document's start and keep what was
# seen in sessionStorage, which outlives the reload. Init scripts are not subject to the CSP.
PROGRESS_RECORDER = """
(() => {
  const KEY = "sakip-test-progress";
  new MutationObserver((records) => {
    const seen = JSON.parse(sessionStorage.getItem(KEY) || "[]");
    for (const record of records) {
      const el = record.target;
      if (el instanceof HTMLProgressElement && el.classList.contains("upload-progress")) {
        seen.push({value: el.value, max: el.max, hidden: el.hidden});
      }
    }
    sessionStorage.setItem(KEY, JSON.stringify(seen));
  }).observe(document, {subtree: true, attributes: true,
                        attributeFilter: ["value", "max", "hidden"]});
})();
"""
TAKE_PROGRESS = """
() => {
  const seen = JSON.parse(sessionStorage.getItem("sakip-test-progress") || "[]");
  sessionStorage.removeItem("sakip-test-progress");
  return seen;
}
"""


# -- what a user does ------------------------------------------------------------------------------

def log_in(page: Page, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("navigation", name="Akun")).to_contain_text(username)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk ke Portal SAKIP")).to_be_visible()
    expect(messages(page)).to_contain_text("Anda sudah keluar.")
    expect(page.get_by_role("navigation", name="Akun")).to_have_count(0)


def messages(page: Page) -> Locator:
    return page.get_by_role("region", name="Pesan")


def item(page: Page, label: str) -> Locator:
    """The section of one required document."""
    return page.locator("section.item").filter(has=page.locator("h2", has_text=label))


def item_state(page: Page, label: str) -> Locator:
    return item(page, label).locator("h2 .state")


def version_rows(page: Page, label: str) -> Locator:
    return item(page, label).locator("table.versions tbody tr")


def upload(page: Page, label: str, path: Path, *, title: str, year: int,
           version: int) -> list[dict[str, Any]]:
    """Fill the item's upload form and send it with the page's script; wait for the reload
    that shows the new version. Answers the progress bar's states seen during the upload."""
    section = item(page, label)
    expect(version_rows(page, label)).to_have_count(version - 1)
    page.evaluate(TAKE_PROGRESS)  # start from a clean record
    section.get_by_label("Judul dokumen").fill(title)
    section.get_by_label("Tahun").fill(str(year))
    section.get_by_label("Berkas").set_input_files(path)
    section.get_by_role("button", name="Unggah").click()
    # The reload: the flash message and the new row are only on the reloaded page.
    expect(messages(page)).to_contain_text(
        f"Berkas {path.name} tersimpan sebagai versi {version}.")
    rows = version_rows(page, label)
    expect(rows).to_have_count(version)
    newest = rows.first
    expect(newest.locator("td").nth(0)).to_have_text(str(version))
    expect(newest.locator("td").nth(1)).to_contain_text(title)
    expect(newest.locator("td").nth(2)).to_have_text(path.name)
    expect(newest).to_contain_text("oleh Dinas A staf1")
    seen: list[dict[str, Any]] = page.evaluate(TAKE_PROGRESS)
    return seen


def assert_progress_went_to_the_end(seen: list[dict[str, Any]], size: int) -> None:
    shown = [state for state in seen if not state["hidden"]]
    assert shown, f"the progress bar was never shown: {seen}"
    last = shown[-1]
    # max is the request body's length as the browser counts it: the file and the fields
    assert last["max"] > size, seen
    assert last["value"] == last["max"], f"the progress bar stopped short: {seen}"


def write_pdf(directory: Path, name: str, seed: int) -> Path:
    path = directory / name
    path.write_bytes(padded_pdf(PDF_SIZE, seed=seed))
    return path


# -- the round ---------------------------------------------------------------------------------

def test_return_replace_resubmit_accept_in_a_browser(page: Page, world: World,
                                                     tmp_path: Path) -> None:
    page.context.add_init_script(PROGRESS_RECORDER)
    iku_v1 = write_pdf(tmp_path, "iku-2026.pdf", seed=1)
    renja_v1 = write_pdf(tmp_path, "renja-2026.pdf", seed=2)
    iku_v2 = write_pdf(tmp_path, "iku-2026-bertanda-tangan.pdf", seed=3)

    # 1. The Bidang's staff member logs in and lands on the Bidang's package.
    log_in(page, STAFF)
    expect(page.get_by_role("heading", name="Paket dokumen Bidang 1")).to_be_visible()
    expect(page.locator("#package-state")).to_have_text("Belum diserahkan")
    package_url = page.url
    assert re.search(r"/paket/[0-9a-f-]{36}$", package_url), package_url

    # 2. Two documents through the upload forms: the script shows its progress bar.
    for label, path, title in ((IKU, iku_v1, "IKU Dinas A 2026"),
                                    (RENJA, renja_v1, "Renja Dinas A 2026")):
        expect(item_state(page, label)).to_have_text("Belum diunggah")
        seen = upload(page, label, path, title=title, year=2026, version=1)
        assert_progress_went_to_the_end(seen, PDF_SIZE)
        expect(item_state(page, label)).to_have_text("Diunggah")

    # 3. Hand the package in.
    page.get_by_role("button", name="Serahkan paket kepada Kasubbag Program").click()
    expect(messages(page)).to_contain_text("Paket dokumen sudah diserahkan")
    expect(page.locator("#package-state")).to_have_text("Menunggu pemeriksaan")
    expect(page.locator("form.upload-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Tarik kembali paket")).to_be_visible()

    # 4. The Kasubbag Program returns IKU with a reason and accepts Renja.
    log_out(page)
    log_in(page, KASUBBAG)
    listing = page.get_by_role("table", name="Paket dokumen siklus 2026")
    bidang_row = listing.get_by_role("row").filter(
        has=page.get_by_role("link", name="Bidang 1", exact=True))
    expect(bidang_row).to_contain_text("Menunggu pemeriksaan")
    expect(bidang_row).to_contain_text("0 dari 2")
    bidang_row.get_by_role("link", name="Bidang 1", exact=True).click()
    expect(page).to_have_url(package_url)
    expect(page.get_by_role("button", name="Terima dokumen")).to_have_count(2)
    expect(page.locator("form.upload-form")).to_have_count(0)

    iku = item(page, IKU)
    iku.get_by_label("Alasan pengembalian").fill(REASON)
    iku.get_by_role("button", name="Kembalikan dokumen").click()
    expect(messages(page)).to_contain_text("Dokumen dikembalikan kepada Bidang")
    expect(item_state(page, IKU)).to_have_text("Dikembalikan")

    item(page, RENJA).get_by_role("button", name="Terima dokumen").click()
    expect(messages(page)).to_contain_text("Dokumen diterima.")
    expect(item_state(page, RENJA)).to_have_text("Diterima")
    expect(page.locator("#package-state")).to_have_text("Ada dokumen dikembalikan")

    # 5. The staff member reads the reason, replaces IKU and hands the package in again.
    log_out(page)
    log_in(page, STAFF)
    expect(page).to_have_url(package_url)
    expect(item_state(page, IKU)).to_have_text("Dikembalikan")
    expect(item(page, IKU).locator(".return-reason")).to_contain_text(
        "Alasan pengembalian:")
    expect(item(page, IKU).locator(".reason-text")).to_have_text(REASON)
    expect(item(page, RENJA).locator("form.upload-form")).to_have_count(0)  # accepted: final
    seen = upload(page, IKU, iku_v2, title="IKU Dinas A 2026 (bertanda tangan)", year=2026,
                  version=2)
    assert_progress_went_to_the_end(seen, PDF_SIZE)
    expect(version_rows(page, IKU).nth(1).locator("td").nth(2)).to_have_text(iku_v1.name)
    page.get_by_role("button", name="Serahkan paket kepada Kasubbag Program").click()
    expect(messages(page)).to_contain_text("Paket dokumen sudah diserahkan")
    expect(page.locator("#package-state")).to_have_text("Menunggu pemeriksaan")
    expect(item_state(page, IKU)).to_have_text("Diserahkan")
    expect(page.get_by_text(REASON)).to_have_count(0)

    # 6. The Kasubbag Program accepts IKU: the whole package is accepted.
    log_out(page)
    log_in(page, KASUBBAG)
    page.goto(package_url)
    expect(page.get_by_role("button", name="Terima dokumen")).to_have_count(1)
    item(page, IKU).get_by_role("button", name="Terima dokumen").click()
    expect(messages(page)).to_contain_text("Dokumen diterima.")
    expect(page.locator("#package-state")).to_have_text("Diterima")
    expect(item_state(page, IKU)).to_have_text("Diterima")
    expect(item_state(page, RENJA)).to_have_text("Diterima")
    expect(page.get_by_role("button", name="Terima dokumen")).to_have_count(0)

    screenshot = tmp_path / "paket-diterima.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 20_000, screenshot.stat().st_size
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
