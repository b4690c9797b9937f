"""The workflow API inside dinas A, generated from the workflow app's URL map (every blueprint
under /api/v1): every reader of A reads, the platform admin reads nothing, and the city's
read-only roles may write nothing (403). The tenant matrix over every route (dinas A's users and
the platform admin with dinas B's ids: 404, nothing changed; personal and service tokens) is
tests/security/test_isolation_matrix.py, built on `prepare` and `bodies` here."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import (
    CalendarHoliday,
    CollectionClosure,
    CollectionExtension,
    Cycle,
    CycleRequirement,
    CycleStep,
    Notification,
    SopTemplate,
    StepNotice,
    TenantCalendar,
)
from shared.db import transaction
from shared.events.models import OutboxEvent
from tests.integration.test_workflow_api import WorkflowApi, template_text

API = "/api/v1"
NOT_SCOPED = {"api.openapi"}  # no tenant data behind it
CITY_WIDE = f"{API}/calendar/"  # the city's own holidays: no tenant's data, platform_admin's
OWN_INBOX = f"{API}/notifications"  # the caller's own inbox: anyone else's entry is not there
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
METHODS_IGNORED = {"HEAD", "OPTIONS"}
A_USERS = ("staf1", "staf2", "kasubbag", "tim", "kepala")
CITY_READERS = ("kota.organisasi", "kota.inspektur")
HOLIDAY = date(2026, 8, 21)


def bodies(ids: dict[str, str]) -> dict[str, dict]:
    """A body each write would accept if the object were the caller's, so that only the scope
    (or the role) can refuse it; an endpoint not listed here is called without a body."""
    return {
        "api.publish_template": {"query_string": {"tenant_id": ids["tenant_id"]},
                                 "data": template_text(f"bocor-{ids['slug']}").encode(),
                                 "content_type": "application/yaml"},
        "api.open_cycle": {"json": {"tenant_id": ids["tenant_id"], "year": 2031,
                                    "template_id": ids["template_id"]}},
        "api.cancel_cycle": {"json": {"reason": "Coba-coba."}},
        "api.complete_step": {"json": {"note": "Coba-coba."}},
        "api.reopen_step": {"json": {"reason": "Coba-coba."}},
        "api.put_document_list": {"json": {"owed": {ids["bidang_id"]: ["IKU"]}}},
        "api.send_notice": {"json": {"message": "Coba-coba."}},
        "api.close_collection": {"json": {"reason": "Coba-coba."}},
        "api.grant_extension": {"json": {"bidang_id": None, "reason": "Coba-coba.",
                                         "due_at": (now() + timedelta(days=40)).isoformat()}},
        "calendar.put_calendar": {"json": {"time_zone": "Asia/Makassar",
                                           "office_hours": {"0": ["08:00", "15:00"]}}},
        "calendar.post_tenant_holiday": {"json": {"day": "2026-08-24", "name": "Coba-coba"}},
    }


# Routes without path parameters that name a tenant in their body or query.
TENANT_IN_BODY = {"api.publish_template", "api.open_cycle"}


@pytest.fixture
def wf(settings, object_store, redis_client, session_factory, world):
    from services.workflow.app import create_app

    application = create_app(settings)
    yield WorkflowApi(application, session_factory, settings)
    application.extensions["sakip"].close()


def prepare(wf: WorkflowApi, session_factory, dinas) -> dict[str, str]:
    """Ids of objects of `dinas` for every parameter: its cycle, a template variant of its own,
    a holiday of its calendar and a notification in one of its users' inboxes."""
    published = wf.publish(template_text(f"varian-{dinas.slug}"), as_=dinas.username("kepala"),
                           tenant_id=dinas.tenant_id)
    assert published.status_code == 201, published.get_json()
    with transaction(session_factory) as session:
        session.add(CalendarHoliday(tenant_id=dinas.tenant_id, day=HOLIDAY,
                                    name="Libur daerah"))
        notification = session.scalars(select(Notification.id).where(
            Notification.tenant_id == dinas.tenant_id)).first()
    assert notification is not None  # the world's step 4 notified every Bidang's staff
    return {"cycle_id": str(dinas.cycle_id), "number": "5", "tenant_id": str(dinas.tenant_id),
            "template_id": published.get_json()["id"], "day": HOLIDAY.isoformat(),
            "notification_id": str(notification), "bidang_id": str(dinas.bidang[0]),
            "slug": dinas.slug}


def snapshot(session_factory, tenant_id) -> tuple:
    """Everything of one tenant a leaked write could change."""
    with session_factory() as session:
        def rows(*columns, where):
            return sorted(map(tuple, session.execute(select(*columns).where(where)).all()),
                          key=repr)

        return (
            session.scalar(select(func.count()).select_from(OutboxEvent)),
            session.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.tenant_id == tenant_id)),
            rows(Cycle.id, Cycle.state, Cycle.cancel_reason, where=Cycle.tenant_id == tenant_id),
            rows(CycleStep.id, CycleStep.state, CycleStep.due_at, CycleStep.completed_at,
                 where=CycleStep.tenant_id == tenant_id),
            rows(CycleRequirement.bidang_id, CycleRequirement.document_type,
                 where=CycleRequirement.tenant_id == tenant_id),
            rows(StepNotice.id, where=StepNotice.tenant_id == tenant_id),
            rows(CollectionClosure.id, where=CollectionClosure.tenant_id == tenant_id),
            rows(CollectionExtension.id, where=CollectionExtension.tenant_id == tenant_id),
            rows(SopTemplate.id, where=SopTemplate.tenant_id == tenant_id),
            rows(TenantCalendar.time_zone, TenantCalendar.office_hours,
                 where=TenantCalendar.tenant_id == tenant_id),
            rows(CalendarHoliday.day, CalendarHoliday.cancelled,
                 where=CalendarHoliday.tenant_id == tenant_id),
            rows(Notification.id, Notification.read_at,
                 where=Notification.tenant_id == tenant_id),
        )


def api_rules(wf: WorkflowApi) -> list:
    rules = [r for r in wf.client.application.url_map.iter_rules()
             if r.rule.startswith(f"{API}/") and r.endpoint not in NOT_SCOPED]
    assert len(rules) >= 16
    return sorted(rules, key=lambda r: (r.rule, r.endpoint))


def filled(rule, ids: dict[str, str]) -> str:
    names = PARAMETER.findall(rule.rule)
    unfilled = [name for name in names if name not in ids]
    if unfilled:
        pytest.fail(f"{rule.rule}: no id for {unfilled}; teach this test which object of the "
                    "other dinas the parameter names")
    return PARAMETER.sub(lambda m: ids[m.group(1)], rule.rule)


def methods(rule) -> list[str]:
    return sorted(rule.methods - METHODS_IGNORED)


def call(wf: WorkflowApi, rule, method: str, ids: dict[str, str], *, as_: str, kind: str):
    kwargs = bodies(ids).get(rule.endpoint, {}) if method != "GET" else {}
    return wf.client.open(filled(rule, ids), method=method, headers=wf.headers(as_, kind),
                          **kwargs)


@pytest.mark.evidence(
    "isolation",
    "Read every workflow route of dinas A as each user of A, the city's read roles and the "
    "platform admin.",
    "A's users and the city's read roles read (200); the platform admin got 404.")
def test_inside_dinas_a_every_reader_reads_and_the_platform_admin_reads_nothing(
        wf, world, session_factory):
    ids = prepare(wf, session_factory, world.a)
    own_staff = world.a.username("staf1")
    with session_factory() as session:  # a notification of staf1's own
        ids["notification_id"] = str(session.scalars(select(Notification.id).where(
            Notification.user_id == world.a.users[own_staff])).first())
    readers = [world.a.username(key) for key in A_USERS] + list(CITY_READERS)
    for rule in api_rules(wf):
        if "GET" not in rule.methods or not PARAMETER.findall(rule.rule):
            continue
        for reader in readers:
            response = call(wf, rule, "GET", ids, as_=reader, kind="token")
            assert response.status_code == 200, (rule.rule, reader, response.get_json())
        response = call(wf, rule, "GET", ids, as_="kota.admin", kind="token")
        assert response.status_code == 404, (rule.rule, "kota.admin")


@pytest.mark.evidence(
    "security",
    "The bagian_organisasi and the inspektur called every workflow write of a dinas.",
    "Each answered 403 (404 for another user's notification) and nothing changed.")
@pytest.mark.parametrize("reader", CITY_READERS)
def test_the_city_read_roles_write_nothing_in_a_dinas(wf, world, session_factory, reader):
    ids = prepare(wf, session_factory, world.a)
    before = snapshot(session_factory, world.a.tenant_id)
    for rule in api_rules(wf):
        if rule.rule.startswith(CITY_WIDE):
            continue
        for method in methods(rule):
            if method == "GET":
                continue
            if not PARAMETER.findall(rule.rule) and rule.endpoint not in TENANT_IN_BODY:
                pytest.fail(f"{method} {rule.rule}: teach this test which tenant it names")
            response = call(wf, rule, method, ids, as_=reader, kind="service")
            where = f"{method} {rule.rule} as {reader}"
            expected = 404 if rule.rule.startswith(OWN_INBOX) else 403
            assert response.status_code == expected, (where, response.get_json())
            assert response.get_json()["error"]["message"], where
            assert snapshot(session_factory, world.a.tenant_id) == before, where
