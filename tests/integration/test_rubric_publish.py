"""Publishing rubric versions in the real database: once per code and version, audited, the same
content again is a no-op and other content under the same version a Conflict; the bundled files
are published on demand and the latest version is found."""

from __future__ import annotations

import threading
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sakip.cli import main
from services.intake.accounts import create_user
from services.reporting.rubrics import (
    DEFAULT_RUBRIC,
    ensure_bundled_rubrics,
    latest_rubric,
    publish_rubric,
)
from shared.audit import AuditEntry
from shared.db import make_engine, make_session_factory, transaction
from shared.db.base import Base
from shared.identity.roles import Role
from shared.reporting.models import Rubric
from shared.reporting.rubric import RubricDefinition, bundled_rubrics, rubric_from_dict
from shared.reporting.workbook import export_lke_workbook
from shared.web.errors import Conflict
from tests.world import PASSWORD


def p12() -> RubricDefinition:
    return next(r for r in bundled_rubrics() if r.code == DEFAULT_RUBRIC)


def edited(definition: RubricDefinition, *, version: int | None = None,
           text: str = "Renstra telah disusun dan ditetapkan") -> RubricDefinition:
    document = definition.to_dict()
    document["components"][0]["subcomponents"][0]["criteria"][0]["text"] = text
    if version is not None:
        document["version"] = version
    return rubric_from_dict(document)


def audits(factory: sessionmaker[Session]) -> list[AuditEntry]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "rubric.published").order_by(AuditEntry.id)))


def admin(factory: sessionmaker[Session]) -> uuid.UUID:
    with transaction(factory) as session:
        return create_user(session, username="admin-rubrik", full_name="Admin Rubrik",
                           password=PASSWORD, roles=[(Role.PLATFORM_ADMIN, None)],
                           tenant_id=None).id


def test_publishing_stores_the_definition_and_audits_it(session_factory):
    by = admin(session_factory)
    with transaction(session_factory) as session:
        rubric = publish_rubric(session, p12(), by=by)
        rubric_id = rubric.id
    with session_factory() as session:
        stored = session.get_one(Rubric, rubric_id)
        assert (stored.code, stored.version, stored.name, stored.published_by) == (
            "permenpanrb-12-2015", 1, "LKE AKIP PermenPANRB Nomor 12 Tahun 2015", by)
        assert stored.definition == p12().to_dict()
        assert rubric_from_dict(stored.definition) == p12()
    [entry] = audits(session_factory)
    assert (entry.target_type, entry.target_id, entry.actor_user_id, entry.service) == (
        "rubric", str(rubric_id), by, "reporting")
    assert entry.after == {"code": "permenpanrb-12-2015", "version": 1,
                           "name": "LKE AKIP PermenPANRB Nomor 12 Tahun 2015", "criteria": 92,
                           "all_tenants": True}


def test_publishing_the_same_version_again_is_a_no_op(session_factory):
    with transaction(session_factory) as session:
        first = publish_rubric(session, p12(), by=None).id
    with transaction(session_factory) as session:
        again = publish_rubric(session, p12(), by=None).id
        same_twice = publish_rubric(session, p12(), by=None).id
    assert first == again == same_twice
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Rubric)) == 1
    [entry] = audits(session_factory)
    assert entry.actor == "system:reporting"


def test_other_content_under_a_published_version_is_refused(session_factory):
    with transaction(session_factory) as session:
        publish_rubric(session, p12(), by=None)
    with transaction(session_factory) as session, pytest.raises(Conflict) as caught:
        publish_rubric(session, edited(p12()), by=None)
    assert caught.value.message == (
        "Rubrik permenpanrb-12-2015 versi 1 sudah diterbitkan dengan isi lain; terbitkan "
        "sebagai versi baru.")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Rubric)) == 1
    assert len(audits(session_factory)) == 1


def test_a_new_version_is_published_and_becomes_the_latest(session_factory):
    with transaction(session_factory) as session:
        assert latest_rubric(session, DEFAULT_RUBRIC) is None
        publish_rubric(session, p12(), by=None)
        newer = publish_rubric(session, edited(p12(), version=2), by=None)
    with session_factory() as session:
        latest = latest_rubric(session, DEFAULT_RUBRIC)
        assert latest is not None
        assert (latest.id, latest.version) == (newer.id, 2)
        assert latest_rubric(session, "permenpanrb-88-2021") is None
    assert len(audits(session_factory)) == 2


def test_the_bundled_rubrics_are_published_once(session_factory):
    with transaction(session_factory) as session:
        first = [r.id for r in ensure_bundled_rubrics(session)]
    with transaction(session_factory) as session:
        second = [r.id for r in ensure_bundled_rubrics(session)]
        codes = [(r.code, r.version) for r in session.scalars(
            select(Rubric).order_by(Rubric.code))]
    assert first == second
    assert codes == [("permenpanrb-12-2015", 1), ("permenpanrb-88-2021", 1)]
    assert len(audits(session_factory)) == 2


def test_two_publishers_racing_on_one_version_get_one_row(session_factory):
    """Both transactions insert the same version at once: the database's unique key lets one
    win, the other waits for it and then finds the winner's row (same content, no error)."""
    results: list[uuid.UUID] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def publish() -> None:
        try:
            with transaction(session_factory) as session:
                barrier.wait(timeout=10)
                results.append(publish_rubric(session, p12(), by=None).id)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(results) == 2
    assert results[0] == results[1]
    assert len(audits(session_factory)) == 1


def test_publishing_works_on_the_embedded_sqlite_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sakip.db'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            first = [r.id for r in ensure_bundled_rubrics(session)]
        with transaction(factory) as session:
            assert [r.id for r in ensure_bundled_rubrics(session)] == first
            with pytest.raises(Conflict):
                publish_rubric(session, edited(p12()), by=None)
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Rubric)) == 2
    finally:
        engine.dispose()


def test_sakip_rubric_import_publishes_a_workbook(settings, session_factory, tmp_path):
    path = tmp_path / "lke.xlsx"
    path.write_bytes(export_lke_workbook(edited(p12(), version=3)))
    env = {"DATABASE_URL": settings.database_url, "SAKIP_ENV": "test",
           "SAKIP_STATE_DIR": str(settings.state_dir)}
    args = ["rubric", "import", str(path), "--code", DEFAULT_RUBRIC, "--version", "3",
            "--name", p12().name, "--regulation", p12().regulation, "--source", p12().source]
    for _ in range(2):  # the second time: already published, no change
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 0, result.output
        assert "rubric permenpanrb-12-2015 v3 published (92 criteria)" in result.output
    with session_factory() as session:
        stored = latest_rubric(session, DEFAULT_RUBRIC)
        assert stored is not None
        assert rubric_from_dict(stored.definition) == edited(p12(), version=3)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    result = CliRunner().invoke(main, [*args[:2], str(bad), *args[3:]], env=env)
    assert result.exit_code != 0
    assert "Berkas bukan buku kerja XLSX" in result.output
