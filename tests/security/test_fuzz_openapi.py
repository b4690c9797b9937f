"""Schemathesis over the OpenAPI documents of the intake, workflow and reporting APIs: requests
generated from each document (valid and invalid ones), sent as a real user of the world to the
service's Flask app, must never be answered with a 5xx.

Bounded so the three runs together stay under about a minute: few examples per operation, no
deadline, derandomized (the same cases every run, so a red CI run reproduces locally)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode

from services.reporting.app import create_app as create_reporting_app
from services.workflow.app import create_app as create_workflow_app
from shared.config import Settings
from tests.integration.test_api import bearer

OPENAPI = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 5
FUZZ = hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                           database=None, suppress_health_check=list(HealthCheck))


def fuzz(app: Flask, headers: dict[str, str], statuses: Counter[int],
         known_ids: dict[str, str]) -> list[str]:
    """Every operation of `app`'s document, in both generation modes; the failures found (and
    every answer's status counted in `statuses`). Path parameters named in `known_ids` are fixed
    to those real ids, so the requests get past the lookup into the views' deeper code."""
    schema = schemathesis.openapi.from_wsgi(OPENAPI, app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the document itself is wrong there
            failures.append(f"invalid operation: {result.err()}")
            continue
        operation = result.ok()
        fixed = {p.name: known_ids[p.name] for p in operation.path_parameters
                 if p.name in known_ids}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def probe(case: Any) -> None:
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error])

            try:
                probe()
            except Exception as error:  # collected, all reported together below
                failures.append(f"{operation.label} ({mode.value}): {error}")
    return failures


@pytest.fixture
def served_apps(app, settings: Settings) -> Iterator[dict[str, Flask]]:
    workflow, reporting = create_workflow_app(settings), create_reporting_app(settings)
    yield {"intake": app, "workflow": workflow, "reporting": reporting}
    for application in (workflow, reporting):
        application.extensions["sakip"].close()


@pytest.mark.slow
@pytest.mark.evidence(
    "bad input",
    "Schemathesis sent valid and invalid requests generated from the OpenAPI documents of the "
    "intake, workflow and reporting APIs, as a dinas head (on its own cycle's real ids) and as "
    "the platform admin (on generated ids).",
    "No request was answered with a 5xx.")
@pytest.mark.parametrize("service", ["intake", "workflow", "reporting"])
def test_generated_requests_never_get_a_server_error(served_apps, world, session_factory,
                                                     service):
    statuses: Counter[int] = Counter()
    real = {"cycle_id": str(world.a.cycle_id), "tenant_id": str(world.a.tenant_id),
            "bidang_id": str(world.a.bidang[0])}
    failures = [failure
                for username, known_ids in ((world.a.username("kepala"), real),
                                            (world.city_users["admin"], {}))
                for failure in fuzz(served_apps[service], bearer(session_factory, username),
                                    statuses, known_ids)]
    assert not failures, "\n\n".join(failures)
    # the credential held: most requests reached the views instead of stopping at 401
    assert statuses[401] < statuses.total() / 2, statuses
