"""Fixtures for real infrastructure: a Redis and a SeaweedFS S3 server the test session starts
and owns, and a fresh PostgreSQL database (on TEST_DATABASE_URL's server) migrated by Alembic.

Every test that uses `db` starts from empty tables: they are truncated after each test, so code
under test may commit on connections of its own (relay, consumer, services) like in production.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import RedisServer, SeaweedS3
from services.intake.app import create_app as create_intake_app
from services.intake.clock import use_clock
from services.workflow.app import create_app as create_workflow_app
from shared.config import Settings, load_settings
from shared.db import make_engine, make_session_factory, migrate
from shared.db.base import Base
from shared.identity import passwords
from shared.storage import ObjectStore
from tests import evidence
from tests.reporting_world import ReportingWorld, build_reporting_world
from tests.servers import served
from tests.world import COLLECTING_AT, World, build_world

passwords.use_low_cost_for_tests()  # real Argon2id, cheaper: the suite creates many accounts
hypothesis_settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
hypothesis_settings.register_profile("dev", max_examples=50, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
S3_ACCESS_KEY = "sakip-test"
S3_SECRET_KEY = "sakip-test-secret-key"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Reads (never changes) the evidence markers behind docs/resilience-and-security.md."""
    evidence.gather(items)


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def redis_server(infra_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(infra_dir / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def s3_server(infra_dir: Path) -> Iterator[SeaweedS3]:
    server = SeaweedS3(infra_dir / "s3", S3_ACCESS_KEY, S3_SECRET_KEY)
    server.start()
    yield server
    server.stop(timeout=5)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own for this test session, created on the test server and dropped."""
    base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    name = f"sakip_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base.render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(pg_engine)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    """One bucket per session: SeaweedFS gives every bucket volumes of its own, and keys are
    unique per tenant anyway (tests make fresh tenants)."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(pg_url: str, redis_server: RedisServer, s3_server: SeaweedS3, s3_bucket: str,
             tmp_path: Path) -> Settings:
    """Settings pointing at the test session's own servers."""
    return load_settings({
        "SAKIP_ENV": "test",
        "SAKIP_STATE_DIR": str(tmp_path),
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_server.url,
        "S3_ENDPOINT": s3_server.endpoint,
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "S3_BUCKET": s3_bucket,
        "LOG_JSON": "false",
    })


@pytest.fixture
def object_store(settings: Settings) -> ObjectStore:
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    return store


@pytest.fixture
def world(session_factory: sessionmaker[Session], object_store: ObjectStore) -> World:
    """Two dinas collecting in SOP step 5, with one user per role (tests/world.py)."""
    return build_world(session_factory, object_store)


@pytest.fixture
def reporting_world(session_factory: sessionmaker[Session],
                    object_store: ObjectStore) -> ReportingWorld:
    """The world with dinas-a's cycle collected through step 5 (step 6 active), dinas-b's
    collecting, a dinas with no cycle and a deactivated one (tests/reporting_world.py)."""
    return build_reporting_world(session_factory, object_store)


@pytest.fixture
def app(settings: Settings, object_store: ObjectStore,
        redis_client: redis.Redis) -> Iterator[Flask]:
    """The intake service on the test servers (Redis flushed: login limits start afresh),
    acting at COLLECTING_AT: inside the world's collection window."""
    application = create_intake_app(settings)
    use_clock(application, lambda: COLLECTING_AT)
    yield application
    application.extensions["sakip"].close()


@pytest.fixture
def workflow_server(settings: Settings, object_store: ObjectStore,
                    redis_client: redis.Redis) -> Iterator[str]:
    """The real workflow service (its REST API) on http://127.0.0.1:<free port>."""
    application = create_workflow_app(settings)
    with served(application, "workflow") as url:
        yield url
    application.extensions["sakip"].close()


@pytest.fixture
def reporting_server(settings: Settings, object_store: ObjectStore,
                     redis_client: redis.Redis) -> Iterator[str]:
    """The real reporting service (its REST API) on http://127.0.0.1:<free port>."""
    # Imported here: only the tests that serve it pay for (and depend on) the whole service.
    from services.reporting.app import create_app as create_reporting_app

    application = create_reporting_app(settings)
    with served(application, "reporting") as url:
        yield url
    application.extensions["sakip"].close()


@pytest.fixture
def portal_app(settings: Settings, workflow_server: str, reporting_server: str) -> Iterator[Flask]:
    """The intake service (real clock) whose portal calls `workflow_server` and
    `reporting_server` over HTTP."""
    application = create_intake_app(dataclasses.replace(
        settings, workflow_url=workflow_server, reporting_url=reporting_server))
    yield application
    application.extensions["sakip"].close()
