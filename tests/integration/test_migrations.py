"""Migrations: one head, models equal the migrated schema, and UTC timestamps on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, make_engine, make_session_factory, migrate
from shared.identity.models import Tenant

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def _revision(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT version_num FROM alembic_version")))


def test_exactly_one_head():
    assert len(migrate.heads()) == 1


def test_postgresql_schema_equals_the_models(pg_url):
    migrate.check(pg_url)


def test_sqlite_schema_equals_the_models(sqlite_url):
    migrate.check(sqlite_url)


def test_upgrade_is_idempotent(pg_url, pg_engine, sqlite_url, sqlite_engine):
    for url, engine in ((pg_url, pg_engine), (sqlite_url, sqlite_engine)):
        migrate.upgrade(url)
        migrate.upgrade(url)
        assert _revision(engine) == migrate.heads()
        migrate.check(url)


def _round_trip(session: Session) -> None:
    jakarta = datetime(2026, 3, 2, 16, 30, 15, 123456, tzinfo=JAKARTA)
    tenant = Tenant(slug="dinkes", name="Dinas Kesehatan", deactivated_at=jakarta)
    session.add(tenant)
    session.commit()
    session.expire_all()
    back = session.scalars(select(Tenant.deactivated_at)).one()
    assert back == jakarta
    assert back.tzinfo is UTC
    assert back == datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    # Queries compare instants too, whatever zone the bound value is in.
    found = session.scalars(select(Tenant.slug).where(Tenant.deactivated_at == back)).one()
    assert found == "dinkes"


def _naive_is_refused(session: Session) -> None:
    naive = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - the value under test
    session.add(Tenant(slug="naive", name="Naive", deactivated_at=naive))
    with pytest.raises(StatementError, match="naive datetime refused"):
        session.flush()
    session.rollback()


def test_utc_datetime_round_trip_on_postgresql(db):
    _round_trip(db)
    stored = db.execute(text("SELECT deactivated_at AT TIME ZONE 'UTC' FROM tenants")).scalar()
    assert stored == datetime(2026, 3, 2, 9, 30, 15, 123456)  # noqa: DTZ001 - a naive UTC read
    _naive_is_refused(db)


def test_utc_datetime_round_trip_on_sqlite(sqlite_engine):
    with make_session_factory(sqlite_engine)() as session:
        _round_trip(session)
        stored = session.execute(text("SELECT deactivated_at FROM tenants")).scalar()
        assert stored == "2026-03-02 09:30:15.123456"  # naive UTC on disk
        _naive_is_refused(session)


def test_utc_datetime_without_a_database():
    kind = UTCDateTime()
    sqlite = make_engine("sqlite://")
    try:
        dialect = sqlite.dialect
        aware = datetime(2026, 1, 1, 7, 0, tzinfo=JAKARTA)
        assert kind.process_bind_param(aware, dialect) == datetime(2026, 1, 1, 0, 0)  # noqa: DTZ001
        assert kind.process_bind_param(None, dialect) is None
        assert kind.process_result_value(None, dialect) is None
        with pytest.raises(ValueError, match="naive"):
            kind.process_bind_param(datetime(2026, 1, 1), dialect)  # noqa: DTZ001
    finally:
        sqlite.dispose()
