"""The reporting API inside a dinas, generated from the reporting app's URL map (every blueprint
under /api/v1): the city-wide routes show nothing of a dinas; inside dinas A every reader reads,
the bidang staff is refused (403), the platform admin sees nothing (404); each write refuses every
role of the dinas that may not do it (403, WRITERS), and the city's read roles write nothing but
their receipt. The tenant matrix over every route (dinas A's users and the platform admin with
dinas B's ids and a city recap: 404, nothing changed) is tests/security/test_isolation_matrix.py,
built on `prepare`, `city_recap`, `BODIES` and `WRITERS` here."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shared.audit import AuditEntry
from shared.events.models import OutboxEvent
from shared.reporting.models import Evaluation, EvaluationAnswer, Report, ReportReceipt
from tests.integration.test_reporting_api import (  # noqa: F401 - fixtures
    ReportingApi,
    finalised_evaluation,
    hand_in_and_accept,
    make_ready,
    reporting_app,
    reporting_settings,
    request_report,
    start_step_six,
)

API = "/api/v1"
# City-wide routes: no dinas's data behind them (the rubrics, the city recaps, this document).
CITY_WIDE = {"api.openapi", "api.list_rubrics", "api.get_rubric", "api.import_rubric",
             "reports.request_recap", "reports.list_recaps"}
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
METHODS_IGNORED = {"HEAD", "OPTIONS"}
A_USERS = ("staf1", "staf2", "kasubbag", "tim", "kepala")
A_READERS = ("tim", "kasubbag", "kepala")
CITY_READERS = ("kota.organisasi", "kota.inspektur")
# Who of a dinas may do each write of the API; everyone else of the dinas is refused (403).
WRITERS = {
    "evaluation.put_evaluation": {"tim"},
    "evaluation.preview_evaluation": {"tim"},
    "evaluation.finalise_evaluation": {"tim"},
    "evaluation.reopen_evaluation": {"tim"},
    "reports.request_report": {"tim", "kasubbag", "kepala"},
    "reports.approve": {"kepala"},
    "reports.return_report": {"kepala"},
    "reports.acknowledge": set(),  # the city's read roles acknowledge
}
CITY_WRITES = {"reports.acknowledge"}
BODIES = {
    "evaluation.put_evaluation": {"json": {"findings": "Bocor."}},
    "evaluation.preview_evaluation": {"json": {"findings": "Bocor."}},
    "evaluation.reopen_evaluation": {"json": {"reason": "Coba-coba."}},
    "reports.return_report": {"json": {"reason": "Coba-coba."}},
}


@pytest.fixture
def api(reporting_app, session_factory, reporting_settings):  # noqa: F811 - fixtures
    return ReportingApi(reporting_app, session_factory, reporting_settings)


def prepare(api, session_factory, object_store, dinas) -> dict[str, str]:
    """Ids of objects of `dinas` for every parameter: its cycle in step 6 with an accepted
    document, its final LKE, a ready report built from it."""
    hand_in_and_accept(session_factory, dinas)
    start_step_six(session_factory, dinas)
    finalised_evaluation(api, dinas)
    report = request_report(api, dinas)
    make_ready(session_factory, object_store, report["id"])
    return {"cycle_id": str(dinas.cycle_id), "report_id": report["id"], "file_format": "pdf",
            "tenant_id": str(dinas.tenant_id)}


def city_recap(api) -> str:
    response = api.post("/recaps", as_="kota.organisasi", json={"year": 2026})
    assert response.status_code == 202
    return str(response.get_json()["id"])


def snapshot(session_factory, tenant_id) -> tuple:
    """Everything of one dinas a leaked write could change (and every event)."""
    with session_factory() as session:
        def rows(*columns, where):
            return sorted(map(tuple, session.execute(select(*columns).where(where)).all()),
                          key=repr)

        return (
            session.scalar(select(func.count()).select_from(OutboxEvent)),
            session.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.tenant_id == tenant_id)),
            rows(Evaluation.id, Evaluation.state, Evaluation.revision, Evaluation.total,
                 Evaluation.findings, where=Evaluation.tenant_id == tenant_id),
            rows(EvaluationAnswer.criterion, EvaluationAnswer.answer, EvaluationAnswer.note,
                 where=EvaluationAnswer.tenant_id == tenant_id),
            rows(Report.id, Report.state, Report.decision, Report.archive_key,
                 where=Report.tenant_id == tenant_id),
            rows(ReportReceipt.id, where=ReportReceipt.tenant_id == tenant_id),
        )


def api_rules(api) -> list:
    rules = [r for r in api.client.application.url_map.iter_rules()
             if r.rule.startswith(f"{API}/")]
    assert len(rules) >= 17
    return sorted(rules, key=lambda r: (r.rule, r.endpoint))


def dinas_rules(api) -> list:
    return [r for r in api_rules(api) if r.endpoint not in CITY_WIDE]


def filled(rule, ids: dict[str, str]) -> str:
    names = PARAMETER.findall(rule.rule)
    unfilled = [name for name in names if name not in ids]
    if unfilled:
        pytest.fail(f"{rule.rule}: no id for {unfilled}; teach this test which object of the "
                    "other dinas the parameter names")
    return PARAMETER.sub(lambda m: ids[m.group(1)], rule.rule)


def methods(rule) -> list[str]:
    return sorted(rule.methods - METHODS_IGNORED)


def call(api, rule, method: str, ids: dict[str, str], *, as_: str, kind: str = "token"):
    kwargs = BODIES.get(rule.endpoint, {}) if method != "GET" else {}
    return api.client.open(filled(rule, ids), method=method, headers=api.headers(as_, kind),
                          **kwargs)


@pytest.mark.evidence(
    "isolation",
    "Read the rubrics, city recaps and API document as a dinas head, the platform admin and "
    "the city's read roles.",
    "None showed any id of another dinas.")
def test_the_city_wide_routes_show_nothing_of_a_dinas(api, world, session_factory,
                                                      object_store):
    ids_of_b = prepare(api, session_factory, object_store, world.b)
    for rule in api_rules(api):
        if rule.endpoint not in CITY_WIDE or "GET" not in rule.methods:
            continue
        if PARAMETER.findall(rule.rule):
            continue  # one rubric: city-wide data by its own id
        for caller in (world.a.username("kepala"), "kota.admin", *CITY_READERS):
            response = api.client.get(rule.rule, headers=api.headers(caller))
            assert response.status_code in (200, 403), (rule.rule, caller)
            text = response.get_data(as_text=True)
            leaked = [k for k, v in ids_of_b.items() if k != "file_format" and v in text]
            assert not leaked, (rule.rule, caller, leaked)


@pytest.mark.evidence(
    "security",
    "Read the LKE, evidence and reports of dinas A as each role.",
    "Its readers got 200, bidang_staff 403, the platform admin 404.")
def test_inside_dinas_a_its_readers_read_staff_is_refused_and_the_admin_sees_nothing(
        api, world, session_factory, object_store):
    ids = prepare(api, session_factory, object_store, world.a)
    readers = [world.a.username(key) for key in A_READERS] + list(CITY_READERS)
    for rule in dinas_rules(api):
        if "GET" not in rule.methods:
            continue
        for reader in readers:
            response = call(api, rule, "GET", ids, as_=reader)
            assert response.status_code == 200, (rule.rule, reader, response.get_json())
        for staff in ("staf1", "staf2"):
            response = call(api, rule, "GET", ids, as_=world.a.username(staff))
            assert response.status_code == 403, (rule.rule, staff)
            assert response.get_json()["error"]["message"], rule.rule
        response = call(api, rule, "GET", ids, as_="kota.admin")
        assert response.status_code == 404, (rule.rule, "kota.admin")


@pytest.mark.evidence(
    "security",
    "Called every reporting write (LKE, report request, approval, return) as each role of the"
    " dinas not allowed to.",
    "Each answered 403 with a message; nothing changed.")
def test_each_write_refuses_the_roles_of_the_dinas_that_may_not_do_it(
        api, world, session_factory, object_store):
    ids = prepare(api, session_factory, object_store, world.a)
    before = snapshot(session_factory, world.a.tenant_id)
    for rule in dinas_rules(api):
        for method in methods(rule):
            if method == "GET":
                continue
            if rule.endpoint not in WRITERS:
                pytest.fail(f"{method} {rule.rule}: teach this test who may write it (WRITERS)")
            for key in A_USERS:
                if key in WRITERS[rule.endpoint]:
                    continue
                response = call(api, rule, method, ids, as_=world.a.username(key), kind="service")
                where = f"{method} {rule.rule} as {key}"
                assert response.status_code == 403, (where, response.get_json())
                assert response.get_json()["error"]["message"], where
                assert snapshot(session_factory, world.a.tenant_id) == before, where


@pytest.mark.evidence(
    "security",
    "The bagian_organisasi and the inspektur called every reporting write of a dinas but the "
    "acknowledgement.",
    "Each answered 403 and nothing changed.")
@pytest.mark.parametrize("reader", CITY_READERS)
def test_the_city_read_roles_write_nothing_in_a_dinas(api, world, session_factory, object_store,
                                                      reader):
    ids = prepare(api, session_factory, object_store, world.a)
    before = snapshot(session_factory, world.a.tenant_id)
    for rule in dinas_rules(api):
        if rule.endpoint in CITY_WRITES:
            continue
        for method in methods(rule):
            if method == "GET":
                continue
            response = call(api, rule, method, ids, as_=reader, kind="service")
            where = f"{method} {rule.rule} as {reader}"
            assert response.status_code == 403, (where, response.get_json())
            assert response.get_json()["error"]["message"], where
            assert snapshot(session_factory, world.a.tenant_id) == before, where
