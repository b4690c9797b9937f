"""SOP step 6 in a real Chromium, through the portal that calls the real reporting and workflow
APIs: the evaluation team answers criteria of the LKE and sees the live score (the page's script
asks the reporting service to score the form as it stands) and a consistency note appear, saves
the draft, then requests the cycle report and watches its progress bar until a real Celery worker
has built it and the download links appear.

Everything is real: the services over HTTP on loopback, the worker in a subprocess, PostgreSQL,
Redis, SeaweedFS S3."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from services.intake.app import create_app
from services.workflow.actions import close_collection
from shared.clock import now
from shared.cycles.models import Cycle
from shared.db import transaction
from tests.reporting_worker import running_worker
from tests.servers import served
from tests.world import PASSWORD, World

pytestmark = [pytest.mark.slow, pytest.mark.browser]
BUILD_TIMEOUT_MS = 90_000  # a worker's first build imports the renderers and fonts
SCORE = re.compile(r"^\d+,\d\d$")


@pytest.fixture
def live_server(settings, object_store, redis_client, world, session_factory, workflow_server,
                reporting_server) -> Iterator[str]:
    """The intake service whose portal calls the workflow and reporting services, with dinas
    A's collection closed (step 6 runs)."""
    with transaction(session_factory) as session:
        close_collection(session, session.get_one(Cycle, world.a.cycle_id),
                         principal=world.a.principals["kasubbag"], at=now(),
                         reason="Rapat evaluasi dimulai.")
    app = create_app(dataclasses.replace(settings, workflow_url=workflow_server,
                                         reporting_url=reporting_server))
    with served(app, "intake") as url:
        yield url
    app.extensions["sakip"].close()


def log_in(page: Page, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("navigation", name="Akun")).to_contain_text(username)


def messages(page: Page) -> Locator:
    return page.get_by_role("region", name="Pesan")


def answer(page: Page, code: str) -> Locator:
    return page.locator(f'select[name="jawaban-{code}"]')


def test_the_team_sees_the_live_score_saves_and_watches_the_report_being_built(
        page: Page, world: World, settings, tmp_path: Path):
    log_in(page, "dinas-a.tim")
    page.get_by_role("link", name="Siklus evaluasi").click()
    page.get_by_role("link", name="Siklus 2026").click()
    page.get_by_role("link", name="Lembar Kerja Evaluasi (LKE)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lembar Kerja Evaluasi")
    total = page.locator("#lke-total")
    expect(total).to_have_text("0,00")
    expect(page.locator("#lke-answered")).to_have_text("0")

    # Answering changes the live score; nothing is saved yet.
    answer(page, "A.1.a.1").select_option("Y")
    expect(total).not_to_have_text("0,00")
    expect(total).to_have_text(SCORE)
    expect(page.locator("#lke-answered")).to_have_text("1")
    expect(page.locator('[data-score-of="A"]').first).to_have_text(total.inner_text())
    expect(page.locator("#lke-unsaved")).to_be_visible()
    answer(page, "A.1.a.2").select_option("T")
    answer(page, "A.1.b.1").select_option("A")
    expect(page.locator("#lke-problems")).to_contain_text("A.1.b.1")
    expect(page.locator("#lke-answered")).to_have_text("3")
    live = total.inner_text()
    expect(page.locator('[data-live="total"]')).to_have_text(live)  # the bar kept in view
    expect(page.locator("#lke-live-status")).to_contain_text("belum disimpan")

    # Simpan draf: the stored score is the one shown live.
    page.locator("#kriteria-k-A_1_a_1 summary").click()
    page.get_by_label("Catatan A.1.a.1", exact=True).fill("Renstra 2025-2029 sudah ditetapkan.")
    page.get_by_label("Temuan", exact=True).fill("Indikator tujuan belum terukur.")
    page.get_by_role("button", name="Simpan draf").click()
    expect(messages(page)).to_contain_text("Draf LKE tersimpan (revisi 1)")
    expect(total).to_have_text(live)
    expect(answer(page, "A.1.a.1")).to_have_value("Y")
    expect(page.get_by_label("Catatan A.1.a.1", exact=True)).to_have_value(
        "Renstra 2025-2029 sudah ditetapkan.")
    expect(page.locator("#lke-problems")).to_contain_text("A.1.b.1")
    expect(page.locator("#lke-state")).to_have_text("Draf")

    # The report: requested while no worker runs, it waits in the queue with its bar; once a
    # real worker starts, the page's script follows the build until the files are offered.
    page.get_by_role("link", name="Laporan hasil evaluasi siklus ini").click()
    page.get_by_role("button", name="Minta laporan").click()
    expect(messages(page)).to_contain_text("Permintaan laporan diterima")
    card = page.locator("article.report")
    expect(card.locator(".report-state")).to_have_text("Menunggu giliran")
    expect(card.locator("progress")).to_be_visible()
    expect(card.locator(".report-files")).to_be_hidden()
    with running_worker(settings, tmp_path) as worker:
        expect(card.get_by_role("link", name="Unduh PDF")).to_be_visible(
            timeout=BUILD_TIMEOUT_MS)
        expect(card.get_by_role("link", name="Unduh XLSX")).to_be_visible()
        expect(card.locator(".report-state")).to_have_text("Siap diunduh")
        expect(card.locator("progress")).to_be_hidden()
        expect(card.locator('[data-file-size="pdf"]')).to_contain_text("KB")
        assert worker.process.poll() is None, worker.log()
