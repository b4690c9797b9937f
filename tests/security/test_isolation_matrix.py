"""One tenant-isolation matrix over every /api/ endpoint of intake, workflow and reporting, every
role and own/other tenant, generated from the three url_maps so a new endpoint cannot escape it.

Dinas B gets a real object for every path parameter (a submitted package and its versions, a
cycle document, a template variant, a holiday, a notification, a finalised LKE and a ready report,
an import batch, an acting assignment, a login session and a token), through the same
preparations as the per-service matrices in tests/integration/test_*isolation*.py. Then:

- other tenant: each user of dinas A (every tenant role) and the platform admin call every route
  with B's ids and get 404 (never 200 or 403, which would tell that the object exists); listings
  answer without anything of B; the city's read roles write nothing in B; B's rows, events and
  objects are unchanged after every route.
- own tenant: the same ids answer 200 to B's own readers, so the 404s above are about scope and
  not about ids that do not exist.

A route whose parameters the matrix cannot fill, or that it cannot classify, fails the test. The
finer role rules inside one dinas stay in the per-service tests it builds on.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from services.intake.clock import use_clock
from services.reporting.app import create_app as create_reporting_app
from services.reporting.rubrics import DEFAULT_RUBRIC, ensure_bundled_rubrics, latest_rubric
from services.workflow.app import create_app as create_workflow_app
from shared.db import transaction
from shared.db.base import Base
from shared.events.models import OutboxEvent
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import local_day
from shared.identity.models import ActingAssignment, LoginSession, User
from shared.identity.sessions import start_session
from tests.integration import test_api_isolation as intake_iso
from tests.integration import test_people_admin_api as admin_iso
from tests.integration import test_reporting_api_isolation as reporting_iso
from tests.integration import test_workflow_api_isolation as workflow_iso
from tests.integration.test_api import Api
from tests.integration.test_people_import import FILE
from tests.integration.test_people_import import preview as preview_import
from tests.integration.test_reporting_api import (
    ARCHIVE_BUCKET,
    ReportingApi,
    finalised_evaluation,
    hand_in_and_accept,
    make_ready,
    request_report,
    start_step_six,
)
from tests.integration.test_workflow_api import WorkflowApi
from tests.world import COLLECTING_AT

API = "/api/v1/"
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
METHODS_IGNORED = {"HEAD", "OPTIONS"}
TENANT_KEYS = ("staf1", "staf2", "kasubbag", "tim", "kepala")
CITY_READERS = ("kota.organisasi", "kota.inspektur")
ADMIN = "kota.admin"
CITY_USERS = "/api/v1/admin/city-users/"
# No dinas's data behind them: the API documents, the caller's own identity, the city's
# calendar, the LKE rubrics and the city recaps.
CITY_WIDE = {
    "intake": {"api.openapi", "api.me"},
    "workflow": {"api.openapi", "calendar.get_city_holidays", "calendar.post_city_holiday",
                 "calendar.delete_city_holiday"},
    "reporting": {"api.openapi", "api.list_rubrics", "api.get_rubric", "api.import_rubric",
                  "reports.request_recap", "reports.list_recaps"},
}
# The platform admin's own routes: it may act on any dinas; everyone else is refused by role
# (403 whatever the id, so the answer tells nothing about the object).
PLATFORM = {"intake": ("platform_admin_api.",)}
# Writes without a path parameter on the caller's own account: nothing of another dinas.
OWN_WRITES = {"account_api.change_own_password", "account_api.create_token",
              "account_api.revoke_other_own_sessions"}
# Writes without a path parameter that name the dinas in their body or query.
TENANT_IN_BODY = {"workflow": workflow_iso.TENANT_IN_BODY}
CITY_WRITES = {"reports.acknowledge"}  # the city's read roles acknowledge a dinas's report
# Values in `ids` that are not secrets of dinas B (codes, numbers, city-wide ids).
NOT_B = {"number", "kind", "file_format", "day", "role", "rubric_id", "slug", "city_user_id"}


@dataclasses.dataclass
class Service:
    name: str
    app: Flask
    headers: Callable[[str, str], dict[str, str]]  # (username, credential kind) -> headers
    bodies: Callable[[dict[str, str]], dict[str, dict]]  # ids -> a valid body per endpoint
    kinds: tuple[str, ...]  # the credentials it takes: a personal token, the portal's token

    def rules(self) -> list:
        rules = [r for r in self.app.url_map.iter_rules() if r.rule.startswith(API)]
        return sorted(rules, key=lambda r: (r.rule, r.endpoint))

    def call(self, rule, method: str, ids: dict[str, str], *, as_: str, kind: str = "token"):
        if rule.rule.startswith(CITY_USERS):  # the city's accounts: a city user, not B's
            ids = {**ids, "user_id": ids["city_user_id"]}
        kwargs = self.bodies(ids).get(rule.endpoint, {}) if method != "GET" else {}
        return self.app.test_client().open(filled(rule, ids), method=method,
                                           headers=self.headers(as_, kind), **kwargs)


def filled(rule, ids: dict[str, str]) -> str:
    unfilled = [name for name in PARAMETER.findall(rule.rule) if name not in ids]
    if unfilled:
        pytest.fail(f"{rule.rule}: no id of dinas B for {unfilled}; teach the isolation matrix "
                    "which object of the other dinas the parameter names")
    return PARAMETER.sub(lambda m: ids[m.group(1)], rule.rule)


def methods(rule) -> list[str]:
    return sorted(rule.methods - METHODS_IGNORED)


def is_platform(service: Service, rule) -> bool:
    return rule.endpoint.startswith(PLATFORM.get(service.name, ("\0",)))


def kind_of(service: Service, rule, method: str) -> str:
    """city / platform / own / tenant: what a call of another dinas's user must get."""
    if rule.endpoint in CITY_WIDE.get(service.name, set()):
        return "city"
    has_object = bool(PARAMETER.findall(rule.rule))
    if method == "GET" and not has_object:
        return "listing"  # scoped to the caller: answers without anything of another dinas
    if is_platform(service, rule):
        return "platform"
    if has_object or rule.endpoint in TENANT_IN_BODY.get(service.name, set()):
        return "tenant"
    if rule.endpoint in OWN_WRITES:
        return "own"
    pytest.fail(f"{method} {rule.rule} ({service.name}): a write without an object in its path; "
                "teach the isolation matrix which dinas it names")


# -- dinas B, with a real object behind every parameter ------------------------------------------

def fingerprint(session_factory, object_store, tenant_id: uuid.UUID, *,
                accounts: bool = True) -> dict[str, object]:
    """Every row of the dinas (each table with a tenant_id and, with `accounts`, its users'
    sessions and tokens: not when its own users call, which marks their token used), every
    event and every object of it: what a leaked write would change."""
    agg = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    where = {t.name: "tenant_id = :tid" for t in Base.metadata.sorted_tables
             if "tenant_id" in t.columns}
    if accounts:
        where |= {name: "user_id IN (SELECT id FROM users WHERE tenant_id = :tid)"
                  for name in ("login_sessions", "api_tokens")}
    with session_factory() as session:
        found: dict[str, object] = {
            name: session.scalar(text(f'{agg} FROM "{name}" t WHERE {cond}'),
                                 {"tid": tenant_id})
            for name, cond in where.items()}
        found["outbox events"] = session.scalar(select(func.count()).select_from(OutboxEvent))
    found["objects"] = sorted(object_store.keys(f"tenants/{tenant_id}/"))
    return found


@dataclasses.dataclass
class Matrix:
    services: list[Service]
    prepare: Callable[..., dict[str, str]]  # a dinas -> ids of its objects, one per parameter
    ids: dict[str, str]  # dinas B's
    recap_id: str  # a city recap: a report of no dinas


@pytest.fixture
def matrix(app, settings, object_store, session_factory, world):
    """The three services on the test servers and dinas B filled with one object per
    parameter (the per-service isolation tests' own preparations, then what they lack)."""
    intake = Api(app.test_client(), session_factory)
    workflow_app = create_workflow_app(settings)
    reporting_app = create_reporting_app(
        dataclasses.replace(settings, s3_archive_bucket=ARCHIVE_BUCKET))
    use_clock(app, lambda: COLLECTING_AT)
    wf = WorkflowApi(workflow_app, session_factory, settings)
    rp = ReportingApi(reporting_app, session_factory, settings)

    def prepare(dinas) -> dict[str, str]:
        ids = intake_iso.prepare(intake, dinas)  # Bidang 1's package submitted, documents
        ids |= workflow_iso.prepare(wf, session_factory, dinas)  # variant, holiday, notice
        hand_in_and_accept(session_factory, dinas, bidang_index=1)  # Bidang 2 accepted
        start_step_six(session_factory, dinas)
        finalised_evaluation(rp, dinas)
        report = request_report(rp, dinas)
        make_ready(session_factory, object_store, report["id"])
        ids |= {"report_id": report["id"], "file_format": "pdf"}
        ids |= own_objects(session_factory, dinas)
        ids |= {"rubric_id": rubric_id(session_factory), "role": "inspektur",
                "city_user_id": str(world.city["inspektur"].user_id)}
        return ids

    try:
        ids = prepare(world.b)
        services = [
            Service("intake", app, lambda user, _kind: intake.headers(user), lambda _ids: {
                **{k: v() for k, v in intake_iso.BODIES.items()},
                **{k: {"json": v} for k, v in admin_iso.BODIES.items()}}, kinds=("token",)),
            Service("workflow", workflow_app, wf.headers, workflow_iso.bodies,
                    kinds=("token", "service")),
            Service("reporting", reporting_app, rp.headers, lambda _ids: reporting_iso.BODIES,
                    kinds=("token", "service")),
        ]
        yield Matrix(services=services, prepare=prepare, ids=ids,
                     recap_id=reporting_iso.city_recap(rp))
    finally:
        workflow_app.extensions["sakip"].close()
        reporting_app.extensions["sakip"].close()


def own_objects(session_factory, b) -> dict[str, str]:
    """The objects the service preparations do not make: people administration, accounts."""
    kepala = b.principals["kepala"]
    batch = preview_import(session_factory, kepala, b.tenant_id, data=FILE)
    with transaction(session_factory) as session:
        assignment = ActingAssignment(
            user_id=b.users[b.username("tim")], role="kasubbag_program", tenant_id=b.tenant_id,
            kind="plh", starts_on=local_day() + timedelta(days=30),
            ends_on=local_day() + timedelta(days=31), reason="Cuti.",
            assigned_by=kepala.user_id)
        session.add(assignment)
        staff = session.get_one(User, b.users[b.username("staf1")])
        start_session(session, user=staff, lifetime=timedelta(hours=1))
        token, _plaintext = create_api_token(session, user=staff, name="skrip")
        session.flush()
        login = session.scalars(select(LoginSession.id)
                                .where(LoginSession.user_id == staff.id)).one()
        return {"tenant_id": str(b.tenant_id), "bidang_id": str(b.bidang[0]),
                "user_id": str(staff.id), "assignment_id": str(assignment.id),
                "import_id": str(batch.id), "session_id": str(login),
                "token_id": str(token.id)}


def rubric_id(session_factory) -> str:
    with transaction(session_factory) as session:
        ensure_bundled_rubrics(session)
        rubric = latest_rubric(session, DEFAULT_RUBRIC)
        assert rubric is not None
        return str(rubric.id)


# -- the matrix ---------------------------------------------------------------------------------

def unknown(ids: dict[str, str]) -> dict[str, str]:
    """The same parameters, every id replaced by one that exists nowhere."""
    def fresh(value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            return value
        return str(uuid.uuid4())

    return {k: fresh(v) for k, v in ids.items()}


def leaked(response, ids: dict[str, str]) -> list[str]:
    body = response.get_data(as_text=True)
    return [k for k, v in ids.items() if k not in NOT_B and v in body]


@pytest.mark.evidence(
    "isolation",
    "Called every /api/ route of intake, workflow and reporting (generated from their url_maps) "
    "as every tenant role of dinas A, the platform admin and the city's read roles, with ids "
    "of objects that really exist in dinas B.",
    "Each object of B answered 404 to A's users and the platform admin (never 200 or 403), "
    "listings showed nothing of B, the city's read roles wrote nothing, and no row, event or "
    "object of B changed.")
@pytest.mark.parametrize("credential", ["token", "service"])
def test_every_api_route_hides_the_other_dinas_from_every_role(
        matrix, world, session_factory, object_store, credential):
    ids = matrix.ids
    recap = {**ids, "report_id": matrix.recap_id}
    outsiders = [world.a.username(key) for key in TENANT_KEYS] + [ADMIN]
    before = fingerprint(session_factory, object_store, world.b.tenant_id)
    checked = 0
    for service in matrix.services:
        if credential not in service.kinds:
            continue
        rules = service.rules()
        assert len(rules) >= 15, service.name
        for rule in rules:
            filled(rule, ids)  # every parameter has an object of B behind it
            for method in methods(rule):
                kind = kind_of(service, rule, method)
                if kind == "city":
                    continue
                for caller in outsiders:
                    if caller == ADMIN and is_platform(service, rule):
                        continue  # the platform admin's own routes: any dinas, by design
                    response = service.call(rule, method, ids, as_=caller, kind=credential)
                    where = f"{service.name}: {method} {rule.rule} as {caller}"
                    status = response.status_code
                    if kind == "tenant":
                        assert status == 404, (where, response.get_json())
                        assert response.get_json()["error"]["code"] == 404, where
                        if "report_id" in rule.rule:  # a city recap is nobody's of a dinas
                            hidden = service.call(rule, method, recap, as_=caller,
                                                  kind=credential)
                            assert hidden.status_code == 404, (where, "recap")
                    elif kind == "platform":  # refused by role (or the body first), the
                        # same for B's id as for one that exists nowhere
                        assert status in (403, 422), (where, response.get_json())
                        nowhere = service.call(rule, method, unknown(ids), as_=caller,
                                           kind=credential)
                        assert nowhere.status_code == status, where
                    elif kind == "listing":
                        assert status in (200, 403), (where, response.get_json())
                    assert status < 500, where
                    assert not leaked(response, ids), (where, leaked(response, ids))
                    checked += 1
                if kind == "tenant" and method != "GET" and rule.endpoint not in CITY_WRITES:
                    for reader in CITY_READERS:
                        response = service.call(rule, method, ids, as_=reader, kind=credential)
                        where = f"{service.name}: {method} {rule.rule} as {reader}"
                        assert response.status_code in (403, 404, 409), (
                            where, response.get_json())
                        checked += 1
            assert fingerprint(session_factory, object_store, world.b.tenant_id) == before, (
                f"{service.name}: {rule.rule} changed dinas B")
    assert checked > (500 if credential == "token" else 200)


# Who of dinas B (or the platform admin) reads each object: the first that answers 200 proves
# that the id the matrix used is real.
OWNERS = ("dinas-b.kepala", "dinas-b.tim", "dinas-b.staf1", "kota.inspektur", ADMIN)


@pytest.mark.evidence(
    "isolation",
    "Read every /api/ route with path parameters, with the same ids of dinas B, as B's own "
    "users, the city's read roles and the platform admin.",
    "Each answered 200 to its readers: the 404s of the matrix are about scope, not about ids "
    "that do not exist.")
def test_the_ids_of_the_matrix_are_real_objects_of_the_other_dinas(matrix):
    for service in matrix.services:
        for rule in service.rules():
            if "GET" not in rule.methods or not PARAMETER.findall(rule.rule):
                continue
            statuses = {}
            for owner in OWNERS:
                statuses[owner] = service.call(rule, "GET", matrix.ids, as_=owner).status_code
                if statuses[owner] == 200:
                    break
            assert 200 in statuses.values(), (service.name, rule.rule, statuses)



# -- role checks inside one dinas ----------------------------------------------------------------

# Who of a dinas may do each write (SOP roles); every other role of the dinas is refused with 403.
# staf1 is Bidang 1's staff: the objects are Bidang 1's, so staf2 (Bidang 2) gets 404 where the
# write is a Bidang's own, and a write on a user's own object (OWNED) is 404 to everyone else.
WRITERS = {
    "intake": {
        "api.upload_version": {"staf1"}, "api.submit_package": {"staf1"},
        "api.withdraw_package": {"staf1"}, "api.review_item": {"kasubbag"},
        "api.upload_cycle_document": {"kasubbag", "kepala"},
        "tenant_admin.": {"kepala"}, "people_import_api.": {"kepala"},  # unless delegated
        "account_api.revoke_session": {"staf1"}, "account_api.revoke_token": {"staf1"},
    },
    "workflow": {
        "api.open_cycle": {"kepala", "kasubbag"}, "api.publish_template": {"kepala"},
        "api.cancel_cycle": {"kepala"}, "api.reopen_step": {"kepala"},
        "api.grant_extension": {"kepala"}, "api.close_collection": {"kasubbag"},
        "api.put_document_list": {"kasubbag", "tim"}, "api.send_notice": {"kasubbag", "tim"},
        "calendar.put_calendar": {"kasubbag", "kepala"},
        "calendar.post_tenant_holiday": {"kasubbag", "kepala"},
        "calendar.delete_tenant_holiday": {"kasubbag", "kepala"},
        "inbox.read_notification": {"staf1"},
    },
    "reporting": {f"{k}": v for k, v in reporting_iso.WRITERS.items()},
}
BIDANG_OWN = {"item_id", "package_id", "version_id"}  # parameters naming Bidang 1's objects
OWNED = {"account_api.revoke_session", "account_api.revoke_token", "inbox.read_notification"}
# Who may complete a step depends on the step: tests/integration/test_workflow_api.py
# (test_step_completion_refusals) walks each step with each role.
BY_STEP = {"api.complete_step"}


def writers_of(service: Service, rule) -> set[str]:
    table = WRITERS[service.name]
    found = [v for k, v in table.items() if rule.endpoint == k
             or (k.endswith(".") and rule.endpoint.startswith(k))]
    if not found:
        pytest.fail(f"{service.name}: {rule.endpoint}: teach the role checks who may do it "
                    "(WRITERS)")
    return found[0]


@pytest.mark.evidence(
    "security",
    "Called every write of the three APIs on dinas A's own objects as each role of dinas A "
    "that the SOP does not give the action (generated from the url_maps).",
    "Each was refused: 403 for the wrong role, 404 for another Bidang's staff or another "
    "user's own object; nothing of dinas A changed.")
def test_each_write_is_done_only_by_its_sop_role(matrix, world, session_factory, object_store):
    ids = matrix.prepare(world.a)
    before = fingerprint(session_factory, object_store, world.a.tenant_id, accounts=False)
    checked = 0
    for service in matrix.services:
        for rule in service.rules():
            for method in methods(rule):
                if (method == "GET" or kind_of(service, rule, method) != "tenant"
                        or rule.endpoint in BY_STEP):
                    continue
                allowed = writers_of(service, rule)
                for key in TENANT_KEYS:
                    if key in allowed:
                        continue
                    expected = 403
                    if rule.endpoint in OWNED or (
                            key == "staf2" and BIDANG_OWN & set(PARAMETER.findall(rule.rule))):
                        expected = 404
                    response = service.call(rule, method, ids, as_=world.a.username(key))
                    where = f"{service.name}: {method} {rule.rule} as {key}"
                    assert response.status_code == expected, (where, response.get_json())
                    assert response.get_json()["error"]["message"], where
                    checked += 1
            after = fingerprint(session_factory, object_store, world.a.tenant_id, accounts=False)
            assert after == before, (
                f"{service.name}: {rule.rule} changed dinas A")
    assert checked > 100
