"""The in-app inbox through the workflow API: each user lists and marks read only their own
notifications; anyone else's (same dinas, another dinas, the city) answers 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.cycles.models import Notification
from shared.db import transaction
from tests.workflow_client import WorkflowApi, workflow_api
from tests.world import SEEDED_AT, World

INBOX = "/api/v1/notifications"


@pytest.fixture
def api(settings: Settings, world: World) -> Iterator[WorkflowApi]:
    with workflow_api(settings) as client:
        yield client


def deliver(factory: sessionmaker[Session], world: World, username: str, count: int,
            kind: str = "step.due_soon") -> list[uuid.UUID]:
    """`count` notifications for one user of the world, one hour apart (oldest first)."""
    dinas = world.a if username in world.a.users else world.b
    with transaction(factory) as session:
        rows = [Notification(tenant_id=dinas.tenant_id, user_id=dinas.users[username], kind=kind,
                             subject=f"Pengingat {n}", body=f"Isi pengingat {n}",
                             cycle_id=dinas.cycle_id,
                             created_at=SEEDED_AT + timedelta(hours=n + 1))
                for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def ids_of(body: dict[str, object]) -> list[str]:
    notifications = body["notifications"]
    assert isinstance(notifications, list)
    return [n["id"] for n in notifications]


def test_the_inbox_lists_the_callers_own_notifications_newest_first(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    first, second, third = deliver(session_factory, world, "dinas-a.kepala", 3)
    deliver(session_factory, world, "dinas-b.kepala", 2)

    response = api.get(INBOX, world.a.principals["kepala"])
    assert response.status_code == 200
    body = response.get_json()
    assert ids_of(body) == [str(third), str(second), str(first)]
    assert body["unread"] == 3
    assert body["notifications"][0] == {
        "id": str(third), "kind": "step.due_soon", "subject": "Pengingat 2",
        "body": "Isi pengingat 2", "cycle_id": str(world.a.cycle_id), "step_id": None,
        "created_at": (SEEDED_AT + timedelta(hours=3)).isoformat(), "read_at": None}

    # Step 4's notice reached the staff of every Bidang of the dinas, each in their own inbox.
    staff = api.get(INBOX, world.a.principals["staf1"]).get_json()
    assert [(n["kind"], n["cycle_id"]) for n in staff["notifications"]] == [
        ("step.notice", str(world.a.cycle_id))]
    assert staff["unread"] == 1
    city = api.get(INBOX, world.city["inspektur"]).get_json()
    assert city == {"notifications": [], "unread": 0}


def test_marking_read(api: WorkflowApi, world: World,
                      session_factory: sessionmaker[Session]) -> None:
    kepala = world.a.principals["kepala"]
    first, second, third = deliver(session_factory, world, "dinas-a.kepala", 3)

    response = api.post(f"{INBOX}/{second}/read", kepala)
    assert response.status_code == 200
    read = response.get_json()
    assert read["id"] == str(second)
    read_at = datetime.fromisoformat(read["read_at"])
    assert read_at.tzinfo is not None
    assert read_at.utcoffset() == timedelta(0)
    assert read_at > SEEDED_AT

    unread = api.get(f"{INBOX}?unread=1", kepala).get_json()
    assert ids_of(unread) == [str(third), str(first)]
    assert unread["unread"] == 2
    everything = api.get(INBOX, kepala).get_json()
    assert ids_of(everything) == [str(third), str(second), str(first)]
    assert everything["unread"] == 2
    assert api.get(f"{INBOX}?unread=0", kepala).get_json() == everything

    again = api.post(f"{INBOX}/{second}/read", kepala)
    assert again.status_code == 200
    assert again.get_json()["read_at"] == read["read_at"]  # the first reading is kept


def test_nobody_else_sees_or_marks_a_notification(
        api: WorkflowApi, world: World, session_factory: sessionmaker[Session]) -> None:
    [mine] = deliver(session_factory, world, "dinas-a.kepala", 1)
    others = (world.a.principals["kasubbag"], world.a.principals["staf1"],
              world.b.principals["kepala"], world.city["organisasi"], world.city["admin"])
    for other in others:
        refused = api.post(f"{INBOX}/{mine}/read", other)
        assert refused.status_code == 404
        assert refused.get_json()["error"]["message"] == "Notifikasi tidak ditemukan."
        assert str(mine) not in ids_of(api.get(INBOX, other).get_json())
    with session_factory() as session:
        notification = session.get(Notification, mine)
        assert notification is not None
        assert notification.read_at is None
    assert api.get(INBOX, world.a.principals["kepala"]).get_json()["unread"] == 1


def test_inbox_refusals(api: WorkflowApi, world: World) -> None:
    kepala = world.a.principals["kepala"]
    assert api.post(f"{INBOX}/{uuid.uuid4()}/read", kepala).status_code == 404
    bad = api.get(f"{INBOX}?unread=mungkin", kepala)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"] == {
        "unread": ["Isi 1 (hanya yang belum dibaca) atau 0 (semua)."]}
    unauthenticated = api.get(INBOX, None)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
