"""`sakip backup` and `sakip restore` against real PostgreSQL and S3: the reporting world (uploaded
documents of two dinas, plus an approved report copied into the object-locked archive) is backed
up, restored into a NEW empty database and NEW buckets, and every row count and SHA-256 is checked
against the source."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from minio.commonconfig import GOVERNANCE
from sqlalchemy import make_url, select, text

from sakip.backup import row_counts
from sakip.cli import main
from services.reporting.archive import Archive, archive_key
from shared.clock import now
from shared.config import Settings
from shared.db import make_engine, make_session_factory, transaction
from shared.documents.models import CycleDocument, DocumentVersion
from shared.reporting.models import Report
from shared.storage import ObjectStore
from tests.conftest import DEFAULT_TEST_DATABASE_URL


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A new, empty database (no schema at all) on the test server, dropped afterwards."""
    base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    name = f"sakip_restore_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base.render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def source(settings: Settings, reporting_world, object_store: ObjectStore,
           session_factory) -> Settings:
    """The reporting world with its own archive bucket holding one approved report's PDF."""
    src = dataclasses.replace(settings, s3_archive_bucket=f"arsip-{uuid.uuid4().hex[:10]}")
    archive = Archive.from_settings(src)
    with transaction(session_factory) as session:
        version = session.scalars(select(DocumentVersion).limit(1)).one()
        report = Report(kind="cycle", tenant_id=reporting_world.a.tenant_id,
                        cycle_id=reporting_world.cycle_id, year=reporting_world.year,
                        state="approved", pdf_key=version.object_key, pdf_sha256=version.sha256,
                        pdf_size=version.size_bytes)
        session.add(report)
        session.flush()
        archived = archive.put_report(object_store, source_key=version.object_key,
                                      key=archive_key(report), sha256=version.sha256, at=now())
        report.archive_key, report.archive_version_id = archived.key, archived.version_id
    return src


def _env(settings: Settings) -> dict[str, str]:
    return {"SAKIP_ENV": "test", "SAKIP_STATE_DIR": str(settings.state_dir),
            "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "S3_ENDPOINT": settings.s3_endpoint, "S3_ACCESS_KEY": settings.s3_access_key,
            "S3_SECRET_KEY": settings.s3_secret_key, "S3_BUCKET": settings.s3_bucket,
            "S3_ARCHIVE_BUCKET": settings.s3_archive_bucket, "LOG_JSON": "false"}


def _target(source: Settings, database_url: str) -> Settings:
    suffix = uuid.uuid4().hex[:10]
    return dataclasses.replace(source, database_url=database_url,
                               s3_bucket=f"restore-{suffix}",
                               s3_archive_bucket=f"restore-arsip-{suffix}")


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "tar"])
def test_backup_then_restore_into_empty_servers_keeps_every_row_and_document(
        source, empty_pg_url, session_factory, pg_engine, tmp_path, packed):
    dest = tmp_path / ("backup.tar.gz" if packed else "backup")
    runner = CliRunner()
    result = runner.invoke(main, ["backup", str(dest)], env=_env(source))
    assert result.exit_code == 0, result.output
    assert "postgresql database" in result.output

    target = _target(source, empty_pg_url)
    result = runner.invoke(main, ["restore", str(dest)], env=_env(target))
    assert result.exit_code == 0, result.output
    assert "every row count and SHA-256 matches" in result.output

    source_engine = pg_engine
    target_engine = make_engine(empty_pg_url)
    try:
        expected = row_counts(source_engine)
        assert expected["document_versions"] > 0
        assert row_counts(target_engine) == expected

        store = ObjectStore.from_settings(target)
        with make_session_factory(target_engine)() as session:
            versions = session.scalars(select(DocumentVersion)).all()
            documents = session.scalars(select(CycleDocument)).all()
            report = session.scalars(select(Report)).one()
        with session_factory() as session:
            source_versions = {(v.id, v.object_key, v.sha256)
                               for v in session.scalars(select(DocumentVersion))}
            source_report = session.scalars(select(Report)).one()
        assert {(v.id, v.object_key, v.sha256) for v in versions} == source_versions
        for row in [*versions, *documents]:
            stored = store.describe(row.object_key)  # read back from the NEW bucket
            assert (stored.sha256, stored.size) == (row.sha256, row.size_bytes)

        # The archived copy: present in the new archive bucket, still locked, and the report
        # points at its new version id.
        archive = Archive.from_settings(target)
        assert report.archive_version_id != source_report.archive_version_id
        held = archive.retention(report.archive_key, report.archive_version_id)
        assert held is not None
        assert held.mode == GOVERNANCE
        response = archive.client.get_object(target.s3_archive_bucket, report.archive_key,
                                             version_id=report.archive_version_id)
        try:
            assert hashlib.sha256(response.read()).hexdigest() == report.pdf_sha256
        finally:
            response.close()
            response.release_conn()
    finally:
        target_engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(source, tmp_path):
    dest = tmp_path / "backup"
    runner = CliRunner()
    assert runner.invoke(main, ["backup", str(dest)], env=_env(source)).exit_code == 0
    # The source database itself is not empty: refused before anything is written.
    target = _target(source, source.database_url)
    result = runner.invoke(main, ["restore", str(dest)], env=_env(target))
    assert result.exit_code != 0
    assert "not empty" in result.output
    assert not ObjectStore.from_settings(target).client.bucket_exists(target.s3_bucket)


def test_restore_refuses_a_bucket_that_is_not_empty(source, empty_pg_url, tmp_path):
    dest = tmp_path / "backup"
    runner = CliRunner()
    assert runner.invoke(main, ["backup", str(dest)], env=_env(source)).exit_code == 0
    target = _target(source, empty_pg_url)
    result = runner.invoke(main, ["restore", str(dest)],
                           env={**_env(target), "S3_BUCKET": source.s3_bucket})
    assert result.exit_code != 0
    assert "is not empty" in result.output
    engine = make_engine(empty_pg_url)
    try:
        assert row_counts(engine) == {}
    finally:
        engine.dispose()


def test_restore_refuses_a_damaged_backup(source, empty_pg_url, tmp_path):
    dest = tmp_path / "backup"
    runner = CliRunner()
    assert runner.invoke(main, ["backup", str(dest)], env=_env(source)).exit_code == 0
    victim = next(p for p in sorted((dest / "objects" / "working").iterdir()))
    victim.write_bytes(victim.read_bytes() + b"x")
    result = runner.invoke(main, ["restore", str(dest)], env=_env(_target(source, empty_pg_url)))
    assert result.exit_code != 0
    assert "damaged" in result.output


def test_backup_and_restore_of_the_embedded_sqlite_database(settings, tmp_path: Path):
    state = tmp_path / "state"
    env = {**_env(settings), "DATABASE_URL": "", "SAKIP_STATE_DIR": str(state),
           "S3_BUCKET": f"sqlite-{uuid.uuid4().hex[:10]}",
           "S3_ARCHIVE_BUCKET": f"sqlite-arsip-{uuid.uuid4().hex[:10]}"}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(main, ["seed", "demo"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["backup", str(tmp_path / "b.tar")], env=env)
    assert result.exit_code == 0, result.output
    assert "sqlite database" in result.output

    restored = {**env, "SAKIP_STATE_DIR": str(tmp_path / "restored"),
                "S3_BUCKET": f"sqlite-r-{uuid.uuid4().hex[:10]}",
                "S3_ARCHIVE_BUCKET": f"sqlite-ra-{uuid.uuid4().hex[:10]}"}
    result = runner.invoke(main, ["restore", str(tmp_path / "b.tar")], env=restored)
    assert result.exit_code == 0, result.output
    source_engine = make_engine(f"sqlite:///{state / 'sakip.db'}")
    target_engine = make_engine(f"sqlite:///{tmp_path / 'restored' / 'sakip.db'}")
    try:
        assert row_counts(target_engine) == row_counts(source_engine)
        assert row_counts(target_engine)["tenants"] == 1
    finally:
        source_engine.dispose()
        target_engine.dispose()
