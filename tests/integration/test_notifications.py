"""The in-app inbox and the e-mail digests, against the real PostgreSQL and a real local SMTP
server (aiosmtpd) the test starts: one message per person per run listing all their new items,
nothing mailed twice, and nothing marked sent when the SMTP server cannot be reached."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import free_ports
from services.workflow.mailer import Mailer
from services.workflow.notify import notify, send_digests
from services.workflow.scheduler import run_forever, run_pass
from shared.config import Settings
from shared.cycles.models import Notification
from shared.db import transaction
from shared.identity.models import User
from tests.integration.test_scheduler import DUE_AT, ESCALATE_AT, REMIND_AT
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
SENDER = "SAKIP Kota <sakip@kota.example.go.id>"
PORTAL = "https://sakip.kota.example.go.id"


class MailSink:
    """What the SMTP server received: each message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        found: dict[str, list[EmailMessage]] = {}
        with self.lock:
            for recipients, message in self.messages:
                for address in recipients:
                    found.setdefault(address, []).append(message)
        return found


@pytest.fixture
def smtp() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_ports(1)[0]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def mailer_at(port: int) -> Mailer:
    return Mailer(host="127.0.0.1", port=port, sender=SENDER, timeout=5)


def pending(factory: sessionmaker[Session]) -> dict[str, list[Notification]]:
    """Per e-mail address (users without one under ""), the notifications not yet mailed."""
    with factory() as session:
        rows = session.execute(
            select(User.email, Notification).join(User, User.id == Notification.user_id)
            .where(Notification.emailed_at.is_(None)).order_by(Notification.created_at)).all()
    found: dict[str, list[Notification]] = {}
    for address, row in rows:
        found.setdefault(address or "", []).append(row)
    return found


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_one_digest_per_person_listing_all_their_items(world: World, session_factory, smtp):
    sink, port = smtp
    for at in (REMIND_AT, DUE_AT, ESCALATE_AT):
        run_pass(session_factory, at=at)
    waiting = pending(session_factory)
    with_address = {a: items for a, items in waiting.items() if a}
    assert len(with_address) == 8  # per dinas: two staff, the kasubbag and the kepala
    assert len(waiting[""]) == 2  # the inspektur's escalations: no address, inbox only

    sent = send_digests(session_factory, mailer_at(port), at=ESCALATE_AT, portal_url=PORTAL)

    assert sent == 8
    received = sink.by_recipient()
    assert set(received) == set(with_address)
    for address, items in with_address.items():
        [message] = received[address]
        assert message["Subject"] == f"SAKIP: {len(items)} pemberitahuan baru"
        assert message["From"] == SENDER
        body = text_of(message)
        for item in items:
            assert item.subject in body
        assert PORTAL in body
    kasubbag = received["dinas-a.kasubbag@dinas-a.example.go.id"][0]
    assert kasubbag["Subject"] == "SAKIP: 2 pemberitahuan baru"  # reminder, then overdue
    assert "Pengingat" in text_of(kasubbag)
    assert "Terlambat" in text_of(kasubbag)
    staff = text_of(received["dinas-a.staf1@dinas-a.example.go.id"][0])
    assert "Rencana Kerja (Renja)" in staff  # the reminder's own list, in full
    assert "13 April 2026 pukul 08.00 WIB" in staff
    assert set(pending(session_factory)) == {""}

    assert send_digests(session_factory, mailer_at(port), at=ESCALATE_AT) == 0
    assert len(sink.messages) == 8

    kepala_id = world.a.users[world.a.username("kepala")]
    with transaction(session_factory) as session:
        notify(session, [kepala_id], tenant_id=world.a.tenant_id, kind="step.overdue",
               subject="Uji: satu lagi", body="Pemberitahuan baru.", at=ESCALATE_AT)
    assert send_digests(session_factory, mailer_at(port), at=ESCALATE_AT) == 1
    [_first, second] = sink.by_recipient()["dinas-a.kepala@dinas-a.example.go.id"]
    assert second["Subject"] == "SAKIP: 1 pemberitahuan baru"
    assert "Uji: satu lagi" in text_of(second)


def test_an_unreachable_smtp_server_marks_nothing_sent(world: World, session_factory, smtp):
    sink, port = smtp
    run_pass(session_factory, at=DUE_AT)
    with session_factory() as session:
        inbox_size = session.scalar(select(func.count()).select_from(Notification))
    before = {a: len(items) for a, items in pending(session_factory).items()}
    closed_port = free_ports(1)[0]  # nothing listens there

    assert send_digests(session_factory, mailer_at(closed_port), at=DUE_AT) == 0

    assert {a: len(items) for a, items in pending(session_factory).items()} == before
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == inbox_size
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.emailed_at.is_not(None))) == 0

    assert send_digests(session_factory, mailer_at(port), at=DUE_AT) == 8  # the next run
    assert Counter(len(to) for to, _ in sink.messages) == {1: 8}


def test_no_smtp_host_means_inbox_only(settings: Settings):
    assert Mailer.from_settings(settings) is None
    configured = dataclasses.replace(settings, smtp_host="mail.kota.example.go.id",
                                     smtp_port=587, smtp_starttls=True, smtp_username="sakip",
                                     smtp_password="rahasia", mail_from=SENDER)
    mailer = Mailer.from_settings(configured)
    assert mailer == Mailer(host="mail.kota.example.go.id", port=587, sender=SENDER,
                            starttls=True, username="sakip", password="rahasia")
    assert "rahasia" not in repr(mailer)


def test_the_loop_mails_the_digests_after_each_pass(world: World, session_factory, smtp):
    sink, port = smtp
    stop = threading.Event()

    def clock():
        stop.set()  # one round: this pass and its digests
        return DUE_AT

    run_forever(session_factory, stop=stop, interval=60, mailer=mailer_at(port),
                portal_url=PORTAL, clock=clock)

    assert len(sink.messages) == 8
    assert set(pending(session_factory)) <= {""}


def test_the_scheduler_process_runs_passes_and_mails(world: World, session_factory, settings,
                                                     smtp, tmp_path):
    """`python -m services.workflow.scheduler` on the real clock (after the world's deadlines):
    it escalates, mails the digests, and stops cleanly on SIGTERM."""
    sink, port = smtp
    env = {**os.environ, "SAKIP_ENV": "test", "SAKIP_STATE_DIR": str(tmp_path),
           "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "SCHEDULER_INTERVAL_SECONDS": "1", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
           "MAIL_FROM": SENDER, "LOG_JSON": "false", "METRICS_PORT": "0"}
    process = subprocess.Popen([sys.executable, "-m", "services.workflow.scheduler"], env=env,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(sink.messages) < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()
    assert len(sink.messages) == 8, output.decode()
    with session_factory() as session:
        kinds = Counter(session.scalars(select(Notification.kind)))
    assert kinds["step.overdue"] == 8
    assert kinds["step.escalated"] == 2
