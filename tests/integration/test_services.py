"""Each service's app, built by its factory, against the test session's real servers."""

from __future__ import annotations

import dataclasses

import pytest

from services.intake.app import create_app as create_intake
from services.intake.seed import seed_demo
from services.reporting.app import create_app as create_reporting
from services.workflow.app import create_app as create_workflow
from shared.config import ConfigError
from shared.db import transaction
from shared.web.app import refuse_demo_accounts
from shared.web.resources import Resources

FACTORIES = {"intake": create_intake, "workflow": create_workflow, "reporting": create_reporting}


@pytest.fixture(params=sorted(FACTORIES))
def client(request, settings, object_store):
    app = FACTORIES[request.param](settings)
    yield app.test_client()
    app.extensions["sakip"].close()


def test_liveness_and_readiness(client):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"] == {"database": "ok", "redis": "ok", "object_storage": "ok"}


def test_readiness_names_what_is_unreachable(settings, object_store):
    broken = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0",
                                 s3_bucket="no-such-bucket")
    app = create_workflow(broken)
    response = app.test_client().get("/readyz")
    app.extensions["sakip"].close()
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("gagal")
    assert response.json["checks"]["object_storage"].startswith("gagal")


def test_metrics_count_requests_by_route_template(client):
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert "sakip_http_requests_total{" in body
    assert 'endpoint="/healthz"' in body
    assert "sakip_http_request_duration_seconds_bucket{" in body


def test_correlation_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Correlation-ID": "abcdef123456"})
    assert given.headers["X-Correlation-ID"] == "abcdef123456"
    made = client.get("/healthz", headers={"X-Correlation-ID": "bad id!"})
    assert made.headers["X-Correlation-ID"] not in ("", "bad id!")


def test_unknown_route_answers_in_indonesian(client):
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Data yang dicari tidak ditemukan."


def test_portal_home_is_indonesian(settings, object_store):
    app = create_intake(settings)
    page = app.test_client().get("/").get_data(as_text=True)
    app.extensions["sakip"].close()
    assert '<html lang="id">' in page
    assert "Pengumpulan Data Kinerja" in page


def test_production_refuses_demo_accounts(settings, session_factory):
    with transaction(session_factory) as session:
        seed_demo(session)
    resources = Resources(settings)
    try:
        with pytest.raises(ConfigError, match="demo accounts"):
            refuse_demo_accounts(resources)
    finally:
        resources.close()


def test_demo_seed_is_idempotent(session_factory):
    from sqlalchemy import func, select

    from shared.identity.models import Bidang, Tenant, User

    for _ in range(2):
        with transaction(session_factory) as session:
            seed_demo(session)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 1
        assert session.scalar(select(func.count()).select_from(Bidang)) == 4
        assert session.scalar(select(func.count()).select_from(User)) == 8
