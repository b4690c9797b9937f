"""The audit log: rows carry the correlation id, and the database refuses to change them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.audit import AuditEntry, record
from shared.db import make_engine, make_session_factory, migrate
from shared.identity.models import Tenant
from shared.logging import correlation


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _write_entry(session: Session) -> AuditEntry:
    tenant = Tenant(slug="dinkes", name="Dinas Kesehatan")
    session.add(tenant)
    session.flush()
    with correlation("abc"):
        entry = record(session, service="intake", action="tenant.renamed", target_type="tenant",
                       target_id=tenant.id, tenant_id=tenant.id, actor="admin",
                       before={"name": "Dinkes"}, after={"name": "Dinas Kesehatan"},
                       reason="nama resmi")
    session.commit()
    return entry


def _assert_append_only(session: Session, entry: AuditEntry) -> None:
    for sql in ("UPDATE audit_log SET action = 'forged' WHERE id = :id",
                "DELETE FROM audit_log WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql), {"id": entry.id})
        session.rollback()
    entry.reason = "rewritten"
    with pytest.raises(DBAPIError, match="append-only"):
        session.commit()
    session.rollback()
    session.delete(entry)
    with pytest.raises(DBAPIError, match="append-only"):
        session.commit()
    session.rollback()
    session.expire_all()
    stored = session.scalars(select(AuditEntry)).one()
    assert (stored.action, stored.reason) == ("tenant.renamed", "nama resmi")


def test_record_writes_a_row_with_the_correlation_id(db):
    entry = _write_entry(db)
    db.expire_all()
    stored = db.scalars(select(AuditEntry).where(AuditEntry.id == entry.id)).one()
    assert stored.correlation_id == "abc"
    assert stored.actor == "admin"
    assert stored.target_id == str(stored.tenant_id)
    assert stored.before == {"name": "Dinkes"}
    assert stored.after == {"name": "Dinas Kesehatan"}
    assert stored.occurred_at.tzinfo is not None


def test_record_outside_a_correlation_and_without_actor(db):
    entry = record(db, service="workflow", action="scan", target_type="scheduler")
    db.commit()
    assert entry.correlation_id is None
    assert entry.actor == "system"


def test_postgresql_refuses_update_and_delete_of_audit_rows(db):
    _assert_append_only(db, _write_entry(db))


def test_sqlite_refuses_update_and_delete_of_audit_rows(sqlite_engine):
    with make_session_factory(sqlite_engine)() as session:
        _assert_append_only(session, _write_entry(session))
