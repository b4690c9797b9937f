"""The package rules of SOP step 5 against PostgreSQL, below HTTP."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from services.intake import packages
from services.intake.packages import Conflict, Decision
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.documents.models import Submission
from shared.storage import StoredObject
from tests.world import COLLECTING_AT


def _package(session_factory, dinas, bidang_index=0):
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        package = packages.ensure_package(session, cycle=cycle,
                                          bidang_id=dinas.bidang[bidang_index])
        return package.id, {i.document_type: i.id for i in packages.items_of(session, package)}


def _version(session_factory, principal, item_id, sha):
    upload = packages.VersionInput(
        stored=StoredObject(key=f"tenants/x/document/{uuid.uuid4().hex}", sha256=sha, size=10,
                            version_id=None),
        kind="pdf", content_type="application/pdf", filename="d.pdf", title="Dokumen",
        year=2026, notes=None)
    with transaction(session_factory) as session:
        return packages.add_version(session, principal=principal, item_id=item_id,
                                    upload=upload, at=COLLECTING_AT)


def _act(session_factory, fn, **kwargs):
    with transaction(session_factory) as session:
        return fn(session, at=COLLECTING_AT, **kwargs)


def test_a_returned_document_is_replaced_while_the_rest_is_still_reviewed(world,
                                                                          session_factory):
    staff, reviewer = world.a.principals["staf1"], world.a.principals["kasubbag"]
    package_id, items = _package(session_factory, world.a)
    for n, item_id in enumerate(items.values()):
        _version(session_factory, staff, item_id, f"{n:064x}")
    _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    _act(session_factory, packages.review_item, principal=reviewer, item_id=items["IKU"],
         decision=Decision.RETURN, reason="Tanda tangan belum ada.")

    _version(session_factory, staff, items["IKU"], "f" * 64)  # RENJA still awaits review
    with pytest.raises(Conflict):  # the one under review cannot be replaced meanwhile
        _version(session_factory, staff, items["RENJA"], "e" * 64)
    _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    with pytest.raises(Conflict, match="Tidak ada dokumen baru"):
        _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    for code in ("RENJA", "IKU"):
        _act(session_factory, packages.review_item, principal=reviewer, item_id=items[code],
             decision=Decision.ACCEPT, reason=None)
    with session_factory() as session:
        package = session.get_one(Submission, package_id)
        assert package.state == "accepted"
        assert package.accepted_at is not None


def test_withdraw_only_before_review_starts(world, session_factory):
    staff, reviewer = world.a.principals["staf1"], world.a.principals["kasubbag"]
    package_id, items = _package(session_factory, world.a)
    for n, item_id in enumerate(items.values()):
        _version(session_factory, staff, item_id, f"{n + 10:064x}")
    _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    withdrawn = _act(session_factory, packages.withdraw_package, principal=staff,
                     package_id=package_id)
    assert withdrawn.state == "draft"
    _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    _act(session_factory, packages.review_item, principal=reviewer, item_id=items["IKU"],
         decision=Decision.ACCEPT, reason=None)
    with pytest.raises(Conflict, match="sudah dimulai"):
        _act(session_factory, packages.withdraw_package, principal=staff, package_id=package_id)


def test_incomplete_package_names_what_is_missing(world, session_factory):
    staff = world.a.principals["staf1"]
    package_id, items = _package(session_factory, world.a)
    _version(session_factory, staff, items["IKU"], "a" * 64)
    with pytest.raises(Conflict) as refused:
        _act(session_factory, packages.submit_package, principal=staff, package_id=package_id)
    assert refused.value.details == ["Rencana Kerja (Renja): belum diunggah"]


def test_two_first_visits_at_once_make_one_package(world, session_factory):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def visit() -> None:
        try:
            with transaction(session_factory) as session:
                cycle = session.get_one(Cycle, world.a.cycle_id)
                barrier.wait()
                packages.ensure_package(session, cycle=cycle, bidang_id=world.a.bidang[1])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=visit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission).where(
            Submission.bidang_id == world.a.bidang[1])) == 1
