"""The workflow follows a Bidang's uploads (document.uploaded / document.replaced) before the
package is handed in: the document shows as "uploaded", never moving a newer state back (an
upload event arriving after the hand-in it preceded leaves the document submitted). Real
Consumer of the "workflow" group, real Redis stream, real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from services.workflow.consumer import GROUP
from services.workflow.handlers import HANDLERS
from shared.documents.events import DOCUMENT_REPLACED, DOCUMENT_UPLOADED
from shared.events import Consumer, Event
from shared.events.models import InboxEntry
from tests.intake_events import PackageEvents, intake_event
from tests.integration.test_workflow_consumer import Feed, at, count, items, package_of, packages
from tests.world import OWED, World


@pytest.fixture
def feed(redis_client: redis.Redis, session_factory: sessionmaker[Session]) -> Feed:
    stream = f"test-uploads-{uuid.uuid4().hex[:10]}"
    consumer = Consumer(redis_client, session_factory, stream=stream, group=GROUP,
                        name="test-1", handlers=HANDLERS)
    return Feed(redis_client, stream, consumer)


def version_added(package: PackageEvents, minutes: int, code: str, number: int = 1) -> Event:
    """Intake's event of version `number` of `code` put in, `minutes` into the collection."""
    kind = DOCUMENT_UPLOADED if number == 1 else DOCUMENT_REPLACED
    return intake_event(kind, tenant_id=package.tenant_id, at=at(minutes), payload={
        **package.item_ref(code), "version_number": number, "sha256": f"{number:064d}",
        "size_bytes": 1024 * number, "kind": "pdf"})


def test_an_upload_shows_the_document_uploaded_before_the_hand_in(world: World, feed: Feed,
                                                                  session_factory):
    package = package_of(world.a, 0)
    feed(version_added(package, 5, "IKU"))

    assert items(session_factory, world.a, package.bidang_id) == {"IKU": "uploaded"}
    assert packages(session_factory, world.a)[package.bidang_id] == "not_submitted"
    assert count(session_factory, InboxEntry, InboxEntry.consumer == GROUP) == 1

    feed(version_added(package, 6, "RENJA"), package.submitted(at(10), OWED))
    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "submitted")
    assert packages(session_factory, world.a)[package.bidang_id] == "submitted"


def test_an_older_upload_arriving_after_the_hand_in_leaves_it_submitted(world: World,
                                                                        feed: Feed,
                                                                        session_factory):
    package = package_of(world.a, 0)
    early_upload = version_added(package, 5, "IKU")
    feed(package.submitted(at(10), OWED))
    feed(early_upload, early_upload)  # late, and delivered twice

    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "submitted")
    assert packages(session_factory, world.a)[package.bidang_id] == "submitted"
    assert count(session_factory, InboxEntry, InboxEntry.event_id == early_upload.id) == 1


def test_an_older_upload_never_undoes_an_acceptance(world: World, feed: Feed, session_factory):
    package = package_of(world.a, 0)
    feed(package.submitted(at(10), OWED),
         *(package.document_accepted(at(11 + n), code) for n, code in enumerate(OWED)))
    feed(version_added(package, 5, "RENJA"))

    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "accepted")


def test_a_replacement_of_a_returned_document_shows_uploaded_until_handed_in_again(
        world: World, feed: Feed, session_factory):
    package = package_of(world.a, 0)
    feed(version_added(package, 5, "RENJA"), package.submitted(at(10), OWED),
         package.returned(at(11), "RENJA"))
    assert items(session_factory, world.a, package.bidang_id)["RENJA"] == "returned"

    feed(version_added(package, 20, "RENJA", number=2))
    assert items(session_factory, world.a, package.bidang_id)["RENJA"] == "uploaded"
    assert packages(session_factory, world.a)[package.bidang_id] == "returned"

    feed(package.submitted(at(30), ["RENJA"]))
    assert items(session_factory, world.a, package.bidang_id)["RENJA"] == "submitted"


def test_an_upload_claiming_another_tenant_changes_nothing(world: World, feed: Feed,
                                                           session_factory):
    forged = PackageEvents(tenant_id=world.b.tenant_id, cycle_id=world.a.cycle_id,
                           bidang_id=world.a.bidang[0])
    feed(version_added(forged, 5, "IKU"))

    assert items(session_factory, world.a, world.a.bidang[0]) == {}
